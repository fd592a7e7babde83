/* SPDX-License-Identifier: MIT */
/* The error table, gpupipe_strerror and the thread-local errmsg. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* Large enough for a shader info log of a few dozen lines. */
static _Thread_local char errmsg[4096];

const char *gpupipe_strerror(int code)
{
	switch (code) {
	case GPUPIPE_OK:
		return "success";
#define X(name, value, text) \
	case GPUPIPE_##name: \
		return text;
		GPUPIPE_ERRNO_MAP(X)
#undef X
	}
	return "unknown error";
}

const char *gpupipe_error_name(int code)
{
	switch (code) {
	case GPUPIPE_OK:
		return "GPUPIPE_OK";
#define X(name, value, text) \
	case GPUPIPE_##name: \
		return "GPUPIPE_" #name;
		GPUPIPE_ERRNO_MAP(X)
#undef X
	}
	return "GPUPIPE_UNKNOWN";
}

const char *gpupipe_status_name(int status)
{
	static const char *const names[] = {
		[GPUPIPE_DONE] = "DONE",
		[GPUPIPE_FAILED] = "FAILED",
		[GPUPIPE_CANCELLED] = "CANCELLED",
		[GPUPIPE_TIMEDOUT] = "TIMEDOUT",
		[GPUPIPE_DEVICE_LOST] = "DEVICE_LOST",
	};

	if (status < 0 || status >= (int)(sizeof(names) / sizeof(names[0])))
		return "UNKNOWN";
	return names[status];
}

const char *gpupipe_errmsg(void)
{
	return errmsg;
}

int gp_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return code;
}

void gp_error_clear(void)
{
	errmsg[0] = '\0';
}
