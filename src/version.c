/* SPDX-License-Identifier: MIT */
/* The library's version, as gpupipe.h spelt it when the library was built
 * (configure takes PACKAGE_VERSION from the same lines). */
#include "config.h"

#include "gpupipe.h"

_Static_assert(GPUPIPE_VERSION_MINOR < 1000 && GPUPIPE_VERSION_PATCH < 1000,
	       "GPUPIPE_VERSION_NUMBER gives MINOR and PATCH three digits");

const char *gpupipe_version(void)
{
	return GPUPIPE_VERSION;
}

int gpupipe_version_number(void)
{
	return GPUPIPE_VERSION_NUMBER;
}
