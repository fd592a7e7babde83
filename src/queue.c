/* SPDX-License-Identifier: MIT */
/*
 * The queues between stages and every sleep and wakeup of the pipeline.
 *
 * The queues are liburcu's wait-free concurrent queues (cds_wfcq): enqueue
 * never blocks or fails, and a node's own memory is the link, so the
 * pipeline allocates nothing per item. They are unbounded lists; the bound
 * on memory is the slot pool (slots.c), not the queues.
 *
 * liburcu's "blocking" dequeue does not wait for work: it returns NULL on
 * an empty queue, and only waits (spinning, then polling every 10 ms) for
 * an enqueuer caught between its two stores. We never use it: a consumer
 * takes CDS_WFCQ_WOULDBLOCK as "nothing yet" and sleeps on the queue's
 * event count, which the enqueuer signals once its append is complete.
 *
 * ThreadSanitizer cannot see the ordering liburcu 0.13 gives (its queue is
 * inline asm in a library built without instrumentation), so each
 * hand-off is annotated as a release by the producer and an acquire by the
 * consumer, on the node's address, as liburcu 0.15 does itself.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#if defined(__SANITIZE_THREAD__)
#define GP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GP_TSAN 1
#endif
#endif

/*
 * liburcu orders only a node's own content; the slot around it was
 * written before the hand-off and must be seen after it too. On hardware
 * that takes a release fence before enqueue and an acquire fence after
 * dequeue. ThreadSanitizer does not model fences, so it gets the
 * annotations instead.
 */
#ifdef GP_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define hand_off_release(n) __tsan_release(n)
#define hand_off_acquire(n) __tsan_acquire(n)
#else
#define hand_off_release(n) \
	((void)(n), atomic_thread_fence(memory_order_release))
#define hand_off_acquire(n) \
	((void)(n), atomic_thread_fence(memory_order_acquire))
#endif

/* ---- event count ------------------------------------------------------ */

static void futex_wait(_Atomic uint32_t *addr, uint32_t val,
		       uint64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;

	if (deadline_ns) {
		/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		tsp = &ts;
	}
	/* EINTR, EAGAIN (the word changed) and ETIMEDOUT all send the
	 * caller back to re-check its condition. */
	syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val,
		tsp, NULL, FUTEX_BITSET_MATCH_ANY);
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL,
		NULL, 0);
}

void gp_wake_init(struct gp_wake *w)
{
	atomic_init(&w->gen, 0);
	atomic_init(&w->sleepers, 0);
}

/*
 * Waiter and signaller each do a read-modify-write on `sleepers` after
 * changing (or before re-checking) the condition. RMWs on one variable
 * are totally ordered: either the signaller's comes second and sees the
 * sleeper, then bumps gen so the futex wait returns at once; or it comes
 * first, and the waiter's RMW reads from it, which makes the signaller's
 * change visible to the waiter's re-check. No wakeup is lost, and no
 * standalone fence is needed (ThreadSanitizer cannot check those).
 */
uint32_t gp_wake_prepare(struct gp_wake *w)
{
	atomic_fetch_add(&w->sleepers, 1);
	return atomic_load(&w->gen);
}

void gp_wake_cancel(struct gp_wake *w)
{
	atomic_fetch_sub(&w->sleepers, 1);
}

void gp_wake_wait(struct gp_wake *w, uint32_t gen, uint64_t deadline_ns)
{
	if (atomic_load(&w->gen) == gen)
		futex_wait(&w->gen, gen, deadline_ns);
	atomic_fetch_sub(&w->sleepers, 1);
}

void gp_wake_signal_n(struct gp_wake *w, int n)
{
	/* A read-modify-write that writes nothing new; see above. */
	if (atomic_fetch_add(&w->sleepers, 0) == 0)
		return;
	atomic_fetch_add(&w->gen, 1);
	futex_wake(&w->gen, n);
}

void gp_wake_signal(struct gp_wake *w, bool all)
{
	gp_wake_signal_n(w, all ? INT_MAX : 1);
}

/* ---- queues ----------------------------------------------------------- */

void gp_queue_init(struct gp_queue *q, bool multi_consumer)
{
	cds_wfcq_init(&q->head, &q->tail);
	gp_wake_init(&q->wake);
	q->multi_consumer = multi_consumer;
	q->baton = false;
	atomic_init(&q->armed, 0);
	atomic_init(&q->lazy, false);
}

void gp_queue_init_baton(struct gp_queue *q)
{
	gp_queue_init(q, true);
	q->baton = true;
	atomic_init(&q->lazy, true);
}

void gp_queue_set_lazy(struct gp_queue *q, bool lazy)
{
	/* Read first: the pushers read it per push, so write it only when
	 * it changes. */
	if (atomic_load_explicit(&q->lazy, memory_order_relaxed) != lazy)
		atomic_store_explicit(&q->lazy, lazy, memory_order_relaxed);
}

/*
 * The baton. `armed` set means a wakeup is on its way: some consumer
 * will clear it (one waking up, or one about to sleep) and then look at
 * the queue. A lazy push that finds it set leaves its node to that
 * consumer; every other push sets it and wakes a sleeper as any queue
 * does (if nobody sleeps, the next consumer to sleep clears it and finds
 * the node). The consumer that clears it, having popped, wakes the next
 * when nodes remain (the pass). Every set and clear is a read-modify-
 * write of `armed`, so they are totally ordered: a push that found it set
 * comes before the clear, and the clearing consumer sees that push's
 * node. It may not be able to take it yet: a later push can be between
 * its two stores (liburcu's CDS_WFCQ_WOULDBLOCK); then the consumer
 * waits for that push to link its node (take_linked) instead of going
 * back to sleep with the wakeup it holds. No node is left behind, and
 * none waits for a consumer's work while another sleeps.
 */
static void baton_signal(struct gp_queue *q)
{
	if (atomic_fetch_or(&q->armed, 1))
		return;
	gp_wake_signal(&q->wake, false);
}

/* After a push of n nodes: wake as many consumers, or (lazy) one unless
 * a wakeup is on its way. */
static void push_signal(struct gp_queue *q, int n)
{
	if (q->baton && atomic_load_explicit(&q->lazy, memory_order_relaxed))
		baton_signal(q);
	else
		gp_wake_signal_n(&q->wake, n);
}

static bool baton_clear(struct gp_queue *q)
{
	return q->baton && atomic_exchange(&q->armed, 0);
}

static struct cds_wfcq_node *baton_pass(struct gp_queue *q,
					struct cds_wfcq_node *n, bool held)
{
	if (held && !gp_queue_empty(q))
		baton_signal(q);
	return n;
}

void gp_queue_fini(struct gp_queue *q)
{
	cds_wfcq_destroy(&q->head, &q->tail);
}

void gp_queue_push(struct gp_queue *q, struct cds_wfcq_node *n)
{
	cds_wfcq_node_init(n);
	hand_off_release(n);
	cds_wfcq_enqueue(&q->head, &q->tail, n);
	push_signal(q, 1);
}

void gp_list_init(struct gp_list *l)
{
	__cds_wfcq_init(&l->head, &l->tail);
	l->count = 0;
}

void gp_list_append(struct gp_list *l, struct cds_wfcq_node *n)
{
	cds_wfcq_node_init(n);
	cds_wfcq_enqueue(&l->head, &l->tail, n);
	l->count++;
}

struct cds_wfcq_node *gp_list_first(struct gp_list *l)
{
	return __cds_wfcq_first_blocking(&l->head, &l->tail);
}

struct cds_wfcq_node *gp_list_next(struct gp_list *l, struct cds_wfcq_node *n)
{
	return __cds_wfcq_next_blocking(&l->head, &l->tail, n);
}

void gp_queue_push_list(struct gp_queue *q, struct gp_list *l)
{
	int wake;
#ifdef GP_TSAN
	struct cds_wfcq_node *n;

	__cds_wfcq_for_each_blocking(&l->head, &l->tail, n)
		hand_off_release(n);
#else
	hand_off_release(&l->head);
#endif
	if (!l->count)
		return;
	wake = l->count > INT_MAX ? INT_MAX : (int)l->count;
	/* One splice: one hand-off, and one wakeup call that wakes as many
	 * consumers as the list has items (a post pool runs them at once). */
	__cds_wfcq_splice_blocking(&q->head, &q->tail, &l->head, &l->tail);
	l->count = 0;
	push_signal(q, wake);
}

struct cds_wfcq_node *gp_queue_pop_try(struct gp_queue *q)
{
	struct cds_wfcq_node *n;

	if (cds_wfcq_empty(&q->head, &q->tail))
		return NULL;
	if (q->multi_consumer)
		cds_wfcq_dequeue_lock(&q->head, &q->tail);
	n = __cds_wfcq_dequeue_nonblocking(&q->head, &q->tail);
	if (q->multi_consumer)
		cds_wfcq_dequeue_unlock(&q->head, &q->tail);
	if (n == CDS_WFCQ_WOULDBLOCK || n == NULL)
		return NULL;
	hand_off_acquire(n);
	return n;
}

/* The first node, left in q: for a queue with one consumer only. */
static struct cds_wfcq_node *peek_try(struct gp_queue *q)
{
	struct cds_wfcq_node *n;

	assert(!q->multi_consumer);
	n = __cds_wfcq_first_nonblocking(&q->head, &q->tail);
	if (n == CDS_WFCQ_WOULDBLOCK || n == NULL)
		return NULL;
	hand_off_acquire(n);
	return n;
}

/*
 * The next node, or NULL when q is empty. On a baton queue, while a push
 * is between its two stores (q not empty, yet no node to give), wait for
 * it to link rather than report nothing: this consumer may hold the
 * wakeup that stands for the node before it, and a push's second store
 * follows its first at once (liburcu's own blocking dequeue waits so).
 */
static struct cds_wfcq_node *take_linked(struct gp_queue *q, bool take)
{
	struct cds_wfcq_node *n;

	for (;;) {
		n = take ? gp_queue_pop_try(q) : peek_try(q);
		if (n || !q->baton || gp_queue_empty(q))
			return n;
		sched_yield();
	}
}

static struct cds_wfcq_node *next_wait(struct gp_queue *q,
				       const _Atomic int *stop,
				       uint64_t deadline_ns, bool take)
{
	struct cds_wfcq_node *n;
	uint32_t gen;
	bool held = false; /* this consumer cleared `armed` (baton) */

	assert(take || !q->baton);
	for (;;) {
		n = take_linked(q, take);
		if (n)
			return baton_pass(q, n, held);
		held = false; /* empty: what it stood for was taken */
		if (stop && atomic_load(stop))
			return NULL;
		if (deadline_ns && gp_now_ns() >= deadline_ns)
			return NULL;
		gen = gp_wake_prepare(&q->wake);
		held = baton_clear(q);
		n = take_linked(q, take);
		if (n) {
			gp_wake_cancel(&q->wake);
			return baton_pass(q, n, held);
		}
		if (stop && atomic_load(stop)) {
			gp_wake_cancel(&q->wake);
			return NULL;
		}
		gp_wake_wait(&q->wake, gen, deadline_ns);
		held = baton_clear(q);
	}
}

struct cds_wfcq_node *gp_queue_pop_wait(struct gp_queue *q,
					const _Atomic int *stop,
					uint64_t deadline_ns)
{
	return next_wait(q, stop, deadline_ns, true);
}

struct cds_wfcq_node *gp_queue_peek_wait(struct gp_queue *q,
					 const _Atomic int *stop,
					 uint64_t deadline_ns)
{
	return next_wait(q, stop, deadline_ns, false);
}

bool gp_queue_empty(struct gp_queue *q)
{
	return cds_wfcq_empty(&q->head, &q->tail);
}

void gp_queue_wake_all(struct gp_queue *q)
{
	gp_wake_signal(&q->wake, true);
}

/* ---- a ring with one producer and one consumer ------------------------ */

/* The capacity is rounded up to a power of two, so that the free-running
 * counters index the same slot across their wrap at 2^32. */
int gp_ring_init(struct gp_ring *r, unsigned cap)
{
	unsigned pow2 = 1;

	while (pow2 < cap)
		pow2 *= 2;
	r->items = gp_calloc(pow2, sizeof(*r->items));
	r->cap = pow2;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return r->items ? 0 : -1;
}

void gp_ring_fini(struct gp_ring *r)
{
	free(r->items);
	r->items = NULL;
}

bool gp_ring_push(struct gp_ring *r, void *v)
{
	unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (tail - atomic_load_explicit(&r->head, memory_order_acquire) ==
	    r->cap)
		return false;
	r->items[tail & (r->cap - 1)] = v;
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

void *gp_ring_pop(struct gp_ring *r)
{
	unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed);
	void *v;

	if (head == atomic_load_explicit(&r->tail, memory_order_acquire))
		return NULL;
	v = r->items[head & (r->cap - 1)];
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return v;
}

/* ---- turns at the GL driver ---------------------------------------------- */

void gp_turns_init(struct gp_turns *t, bool on)
{
	t->on = on;
	t->next = t->serving = 0;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
}

void gp_turns_fini(struct gp_turns *t)
{
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
}

/* A ticket, then wait for it: turns go in the order they were asked
 * for, so no device's thread waits behind another's twice. */
bool gp_turn_take(struct gp_turns *t, bool want)
{
	uint64_t mine;

	if (!t->on || !want)
		return false;
	pthread_mutex_lock(&t->lock);
	mine = t->next++;
	while (t->serving != mine)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
	return true;
}

void gp_turn_give(struct gp_turns *t)
{
	pthread_mutex_lock(&t->lock);
	t->serving++;
	if (t->next != t->serving)
		pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}
