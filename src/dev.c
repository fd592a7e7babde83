/* SPDX-License-Identifier: MIT */
/*
 * Device health: a device breaks once (a GPU timeout, a reset, a driver
 * failure), leaves the rotation, and takes the pipeline with it when it
 * was the last one working. The stages report here; pushes read it.
 */
#include "config.h"

#include "internal.h"

void gp_break(struct gp_dev *d, int status)
{
	struct gpupipe *p = d->p;
	int none = 0;

	if (!atomic_compare_exchange_strong(&d->broken, &none, status))
		return;
	none = 0;
	atomic_compare_exchange_strong(&p->first_broken, &none, status);
	/* The last working device takes the pipeline with it, reporting
	 * what broke the first. */
	if (atomic_fetch_sub(&p->working, 1) == 1) {
		none = 0;
		atomic_compare_exchange_strong(&p->broken, &none,
					       atomic_load(&p->first_broken));
	}
	/* Pushers asleep for a slot of this device pick another, or learn
	 * that none is left. */
	gp_wake_signal(&p->free_wake, true);
}

int gp_broken_status(const struct gp_dev *d)
{
	return atomic_load(&d->broken) == GPUPIPE_DEVICE_LOST
		       ? GPUPIPE_DEVICE_LOST
		       : GPUPIPE_FAILED;
}

const char *gp_broken_reason(int broken)
{
	switch (broken) {
	case GPUPIPE_TIMEDOUT:
		return "the GPU did not finish a batch within fence_timeout_ms";
	case GPUPIPE_DEVICE_LOST:
		return "the GPU was reset (device lost)";
	default:
		return "the GL driver failed";
	}
}
