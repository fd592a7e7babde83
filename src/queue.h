/* SPDX-License-Identifier: MIT */
/*
 * queue.c: the queues between the stages (liburcu's wait-free queues),
 * every sleep and wakeup of the pipeline, the turns at the driver, and a
 * one-producer one-consumer ring.
 *
 * Synchronization table (as liburcu's urcu/wfcqueue.h has one). "x" means
 * the two calls may run at once on the same object, from any threads:
 *
 *                       push  push_list  pop_try  pop_wait  peek_wait  empty
 *   gp_queue_push        x       x          x        x          x        x
 *   gp_queue_push_list   x       x          x        x          x        x
 *   gp_queue_pop_try     x       x          M        M          -        x
 *   gp_queue_pop_wait    x       x          M        M          -        x
 *   gp_queue_peek_wait   x       x          -        -          -        x
 *   gp_queue_empty       x       x          x        x          x        x
 *
 *   M: only on a queue made with multi_consumer (the pops then take
 *      liburcu's dequeue lock); otherwise one consumer thread only.
 *   -: never (peek_wait is for a queue whose one consumer also pops).
 *
 * Ordering: everything a producer wrote before gp_queue_push(q, n) (or
 * push_list) happens before what the consumer does after a pop or peek
 * returns n (release/acquire through liburcu, annotated for TSan). Nodes
 * of one producer come out in the order pushed; a list pushed whole comes
 * out contiguous, in its order.
 *
 * gp_wake: any number of waiters and signallers at once; a change a
 * producer makes before gp_wake_signal is seen by a waiter's re-check
 * after gp_wake_prepare (seq_cst), so no wakeup is lost.
 * gp_turns: gp_turn_take and gp_turn_give from any threads; turns are
 * served first come, first served, and a turn's GL calls happen before
 * the next holder's (p->turns.lock).
 * gp_ring: gp_ring_push on one thread, gp_ring_pop on one other thread;
 * a value pushed is popped once, with what the pusher wrote before it
 * visible to the popper (release/acquire).
 * gp_list: private to one thread until handed over with push_list.
 */
#ifndef GPUPIPE_QUEUE_H
#define GPUPIPE_QUEUE_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

#ifndef GP_HIDDEN
#define GP_HIDDEN __attribute__((visibility("hidden")))
#endif

/*
 * What different threads write per item lives on separate cache lines:
 * a line two threads write in turn moves between their cores at each
 * write (on the H100's machine the prep threads' CPU counters, 48 bytes
 * apart, took 70 % of gp_prep_main's own time in a profile). GP_LINE is
 * liburcu's line for the machine (128 bytes on x86: the adjacent-line
 * prefetcher moves lines in pairs); GP_OWN_LINE starts a member on a
 * line of its own. Structures with such members are allocated with
 * gp_calloc_lines, since calloc aligns to 16 bytes only.
 */
#define GP_LINE CAA_CACHE_LINE_SIZE
#define GP_OWN_LINE alignas(GP_LINE)

/*
 * An event count: the sleep/wake half of every queue, and of the waits on
 * counters (free slots, completions). A waiter calls gp_wake_prepare,
 * re-checks its condition, then gp_wake_wait or gp_wake_cancel; a
 * producer changes the condition, then calls gp_wake_signal. A wakeup is
 * never lost, and signal costs no system call when nobody sleeps.
 */
struct gp_wake {
	_Atomic uint32_t gen;
	_Atomic uint32_t sleepers;
};

GP_HIDDEN void gp_wake_init(struct gp_wake *w);
GP_HIDDEN uint32_t gp_wake_prepare(struct gp_wake *w);
GP_HIDDEN void gp_wake_cancel(struct gp_wake *w);
/* Sleep until signalled after prepare, or until the absolute
 * CLOCK_MONOTONIC deadline_ns (0: none). */
GP_HIDDEN void gp_wake_wait(struct gp_wake *w, uint32_t gen,
			    uint64_t deadline_ns);
GP_HIDDEN void gp_wake_signal(struct gp_wake *w, bool all);
/* Wake at most n of the sleepers. */
GP_HIDDEN void gp_wake_signal_n(struct gp_wake *w, int n);

/* A liburcu wait-free queue with its event count, on three lines: what
 * both sides only read, what consumers write at each pop (the head and
 * its dequeue lock), what producers write at each push (the tail, and
 * the wakeup's counters, which consumers write only to sleep). */
struct gp_queue {
	GP_OWN_LINE bool multi_consumer; /* dequeue under liburcu's lock */
	bool baton;          /* wakeups passed on by the woken (below) */
	GP_OWN_LINE struct cds_wfcq_head head;
	GP_OWN_LINE struct cds_wfcq_tail tail;
	struct gp_wake wake;
	_Atomic uint32_t armed;
	_Atomic bool lazy;   /* pushes leave nodes to a wakeup on its way */
};

GP_HIDDEN void gp_queue_init(struct gp_queue *q, bool multi_consumer);
/*
 * A queue for a pool of consumers that pass the wakeup on (a baton), so
 * that a burst of pushes costs the pusher one wakeup, not one each (on
 * a virtual machine a wakeup costs the waker 1.5 us; probe-wake). While
 * the queue is lazy, a push wakes a consumer only when no wakeup is on
 * its way (`armed` clear); the consumer that clears `armed` pops, and
 * wakes the next if nodes remain, before it runs anything else. So a
 * node waits for a woken consumer to reach the queue, never for another
 * consumer's work to end while one sleeps (a consumer that finds a push
 * between liburcu's two stores waits for its link rather than sleep with
 * the wakeup). Not lazy, every push wakes one, as on any queue: each
 * further consumer then starts a wake latency sooner, which long work per
 * node is worth. Lazy from the start. pop_wait only (not peek_wait);
 * multi_consumer. tests/test_queue drives it alone.
 */
GP_HIDDEN void gp_queue_init_baton(struct gp_queue *q);
/* Whether pushes to a baton queue are lazy (any thread, any time). */
GP_HIDDEN void gp_queue_set_lazy(struct gp_queue *q, bool lazy);
GP_HIDDEN void gp_queue_fini(struct gp_queue *q);
GP_HIDDEN void gp_queue_push(struct gp_queue *q, struct cds_wfcq_node *n);
/* A private list of nodes (no locking), to hand over as one splice. */
struct gp_list {
	struct __cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	unsigned count;
};

GP_HIDDEN void gp_list_init(struct gp_list *l);
GP_HIDDEN void gp_list_append(struct gp_list *l, struct cds_wfcq_node *n);
/* First node, without taking it; NULL when empty. */
GP_HIDDEN struct cds_wfcq_node *gp_list_first(struct gp_list *l);
GP_HIDDEN struct cds_wfcq_node *gp_list_next(struct gp_list *l,
					     struct cds_wfcq_node *n);
/* Append the whole list to q as one hand-off; l is empty after. */
GP_HIDDEN void gp_queue_push_list(struct gp_queue *q, struct gp_list *l);

/* Next node, or NULL when none is ready now; never sleeps. */
GP_HIDDEN struct cds_wfcq_node *gp_queue_pop_try(struct gp_queue *q);
/* Next node, sleeping while the queue is empty; NULL once *stop is set
 * (checked after every wakeup) or at deadline_ns (0: none). */
GP_HIDDEN struct cds_wfcq_node *gp_queue_pop_wait(struct gp_queue *q,
						  const _Atomic int *stop,
						  uint64_t deadline_ns);
/* Like gp_queue_pop_wait, but the node stays first in q until popped
 * (a queue with one consumer only). */
GP_HIDDEN struct cds_wfcq_node *gp_queue_peek_wait(struct gp_queue *q,
						   const _Atomic int *stop,
						   uint64_t deadline_ns);
GP_HIDDEN void gp_queue_wake_all(struct gp_queue *q);
/* Whether q holds no node now (a hint to its one consumer). */
GP_HIDDEN bool gp_queue_empty(struct gp_queue *q);

/*
 * Turns at the GL driver, for a pipeline over several devices: NVIDIA's
 * driver makes every GL call 11-12x slower while two threads of a process
 * make GL calls at once, and not when they take turns (doc/performance.md,
 * 'Several GPUs'). A submit thread holds a turn over a batch and its
 * fence polls, a readback thread over its wait; first come, first served.
 * Only for items small enough to batch (a batch target above 1): heavy
 * ones make few calls, and on two H200s sgemm scaled worse taking turns.
 * With `on` false (one device, or GPUPIPE_WAIT_BLOCK, whose readback
 * blocks in GL) nobody takes turns.
 */
struct gp_turns {
	bool on;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t next, serving; /* tickets: handed out, being served */
};

GP_HIDDEN void gp_turns_init(struct gp_turns *t, bool on);
GP_HIDDEN void gp_turns_fini(struct gp_turns *t);
/* Take a turn if turns are on and want is true; returns whether it
 * did, and then the caller gives it back. */
GP_HIDDEN bool gp_turn_take(struct gp_turns *t, bool want);
GP_HIDDEN void gp_turn_give(struct gp_turns *t);

/* A bounded ring of pointers between one producer and one consumer
 * thread, without locks or system calls. */
struct gp_ring {
	void **items;
	unsigned cap;
	_Atomic unsigned head, tail; /* consumer's, producer's */
};

GP_HIDDEN int gp_ring_init(struct gp_ring *r, unsigned cap);
GP_HIDDEN void gp_ring_fini(struct gp_ring *r);
/* False when the ring is full. */
GP_HIDDEN bool gp_ring_push(struct gp_ring *r, void *v);
/* NULL when the ring is empty. */
GP_HIDDEN void *gp_ring_pop(struct gp_ring *r);

#endif /* GPUPIPE_QUEUE_H */
