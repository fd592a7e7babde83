/* SPDX-License-Identifier: MIT */
/*
 * batchsize.c: how many items a device's submit thread puts under one
 * fence. Fed by three calls (an item pushed, an item completed, a batch
 * closed); the last answers with the next target.
 */
#ifndef GPUPIPE_BATCHSIZE_H
#define GPUPIPE_BATCHSIZE_H

#include "internal.h"

enum gp_search_phase {
	GP_SEARCH_GROW,   /* doubling while the pace improves */
	GP_SEARCH_STEADY, /* at the best size; probing now and then */
	GP_SEARCH_PROBE   /* one epoch at a neighbour of the best size */
};

/* One epoch's verdict on one batch size. */
struct gp_measure {
	unsigned target;
	uint64_t pace_ns; /* wall time per item completed */
	uint64_t lat_ns;  /* median latency of the items completed */
};

/* The search, held by the submit thread (no other thread reads it); its
 * fields are batchsize.c's. */
struct gp_batchsize {
	unsigned target;       /* items per batch it aims at */
	enum gp_search_phase phase;
	struct gp_measure best;   /* the incumbent: best size measured */
	struct gp_measure last[3];/* its last epochs: best is their median */
	unsigned nlast;
	unsigned steady;       /* steady epochs since the last probe */
	unsigned probe_every;  /* steady epochs between probes now */
	bool probe_down;       /* direction of the next probe */
	bool met;              /* some epoch met the latency budget */
	uint64_t lat1_ns;      /* median latency at batches of one */
	/* the epoch being measured */
	unsigned ep_batches;   /* batches closed since the (re)start */
	bool ep_on;            /* warm-up over, measuring */
	uint64_t ep_mark;      /* items pushed before the (re)start */
	uint64_t ep_t0, ep_done0;
	uint64_t lat0[GP_LAT_BUCKETS]; /* d->lat_hist at ep_t0 */
	bool debug;            /* GPUPIPE_DEBUG_SEARCH: log each epoch */
};

/* Submit thread, before its first batch: the first target. */
GP_HIDDEN unsigned gp_batchsize_start(struct gp_dev *d,
				      struct gp_batchsize *bs);
/* Any pushing thread: an item was given to d (before its seq). */
GP_HIDDEN void gp_batchsize_pushed(struct gp_dev *d);
/* The completing thread, once the item's done_cb has returned: its
 * latency, gpupipe_push called to done_cb start. */
GP_HIDDEN void gp_batchsize_completed(struct gp_dev *d, uint64_t latency_ns);
/* Submit thread: a batch closed under a fence; the next target. */
GP_HIDDEN unsigned gp_batchsize_closed(struct gp_dev *d,
				       struct gp_batchsize *bs);

#endif /* GPUPIPE_BATCHSIZE_H */
