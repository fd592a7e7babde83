/* SPDX-License-Identifier: MIT */
/*
 * fences.c: every fence of a device, from its creation and flush on the
 * submit thread, through the hand-off of its batch to readback and the
 * polls before it (GPUPIPE_WAIT_SIGNALLED), to its deletion; and the
 * batches that carry the fences to readback.
 */
#ifndef GPUPIPE_FENCES_H
#define GPUPIPE_FENCES_H

#include "internal.h"

/*
 * A batch: the slots submit hands to readback together, under one fence
 * or none (an item that failed or was cancelled before dispatch travels
 * alone, without; so does a batch whose fence could not be made, its
 * items failed). Readback waits its fence, then walks its slots.
 */
struct gp_batch {
	struct cds_wfcq_node node; /* in the device's flight_q */
	struct gp_list slots;      /* IN_FLIGHT, in dispatch order */
	void *fence;               /* GLsync; NULL: nothing to wait for */
	bool dispatched;           /* its slots were dispatched */
	unsigned gl_error;         /* GLenum: its dispatches' first error,
				    * read before it closed */
	/* GPUPIPE_WAIT_SIGNALLED: submit's poll gave up on the fence
	 * (readback: TIMEDOUT), or failed (the fence was not seen
	 * signalled, nor a reset ruled out). */
	bool expired, unchecked;
	/* Readback's wait: the status of the batch's dispatched items. */
	int status, error;
	char msg[GP_MSG_BYTES];
};

static inline struct gp_batch *gp_batch_of_node(struct cds_wfcq_node *n)
{
	return n ? gp_container_of(n, struct gp_batch, node) : NULL;
}

/* Create (before the threads start): d's flights ring, its ring of spent
 * fences and its batches; nonzero when out of memory. gp_fences_fini
 * frees what init made. */
GP_HIDDEN int gp_fences_init(struct gp_dev *d);
GP_HIDDEN void gp_fences_fini(struct gp_dev *d);

/* ---- the submit thread, d's submit context current --------------------- */

/* Before the first batch: whether timestamps work on this driver. */
GP_HIDDEN void gp_fences_start(struct gp_dev *d);
/* A new batch, for the slots about to be dispatched (never NULL). */
GP_HIDDEN struct gp_batch *gp_fences_open(struct gp_dev *d);
/* Hand s, READY and not dispatched, to readback in a batch of its own. */
GP_HIDDEN void gp_fences_pass(struct gp_dev *d, struct gp_slot *s);
/* Fence b's dispatches, flush, and track or hand over b; a failed fence
 * fails its items (giving up *turn, the caller's turn at the driver,
 * while glFinish waits). True when b is in flight under its fence. */
GP_HIDDEN bool gp_fences_close(struct gp_dev *d, struct gp_batch *b,
			       bool *turn);
/* Fenced batches not yet done with (their hand-off or their time). */
GP_HIDDEN unsigned gp_fences_in_flight(struct gp_dev *d);
/* Whether the oldest fence is due to be polled now. */
GP_HIDDEN bool gp_fences_due(struct gp_dev *d);
/* Look at the oldest fences: hand over what has signalled, read times. */
GP_HIDDEN void gp_fences_poll(struct gp_dev *d);
/* When to poll again (CLOCK_MONOTONIC ns); 0: nothing to wait for. */
GP_HIDDEN uint64_t gp_fences_next_poll(struct gp_dev *d);
/* When the newest batch in flight should be done; 0 if none is. */
GP_HIDDEN uint64_t gp_fences_newest_due(struct gp_dev *d);
/* The submit thread is about to sleep: with nothing in flight, the GPU
 * pace is measured afresh after. */
GP_HIDDEN void gp_fences_idle(struct gp_dev *d);
/* Delete the fences readback is done with. */
GP_HIDDEN void gp_fences_delete_spent(struct gp_dev *d);

/* ---- the readback thread ------------------------------------------------ */

/* Done with b's fence: submit deletes it in its own context. */
GP_HIDDEN void gp_fences_spent(struct gp_dev *d, struct gp_batch *b);
/* Done with b and its slot list: back to submit for a new batch. */
GP_HIDDEN void gp_fences_free_batch(struct gp_dev *d, struct gp_batch *b);

#endif /* GPUPIPE_FENCES_H */
