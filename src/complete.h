/* SPDX-License-Identifier: MIT */
/*
 * complete.c: completion. An item's done_cb, its counts, its slot freed or
 * kept; in push order across the devices' readback threads, or on the
 * post pool. Its synchronization table is at the top of complete.c.
 */
#ifndef GPUPIPE_COMPLETE_H
#define GPUPIPE_COMPLETE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "internal.h"

/* One thread of the post pool (post_threads > 0). */
struct gp_post_thread {
	struct gpupipe *p;
	unsigned index;
	pthread_t thread;
	bool started;
	clockid_t cpu_clock;
};

/*
 * Readback thread of s's device d, post_threads 0, s DONE (its fence
 * waited, its status set): complete s in push order across devices. s
 * waits in p->order until every earlier item has completed; done_cbs run
 * one at a time, in push order, with no library lock held, on whichever
 * readback thread finds the next items done. Returns without waiting for
 * another device's done_cb: at once when another thread is delivering
 * (that thread completes s), else after the done_cbs of every item now
 * next in line, s's and others'.
 */
GP_HIDDEN void gp_complete_in_order(struct gp_dev *d, struct gp_slot *s);

/* Call done_cb for a DONE slot, count it, free it unless kept. Called
 * with no library lock held. */
GP_HIDDEN void gp_complete(struct gpupipe *p, struct gp_slot *s);

/* A post thread: completes what readback hands to p->post_q, as it comes,
 * until p->stop. */
GP_HIDDEN void *gp_post_main(void *arg);

#endif /* GPUPIPE_COMPLETE_H */
