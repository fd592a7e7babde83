/* SPDX-License-Identifier: MIT */
/*
 * test_queue: the prep queue's wakeups (the baton of src/queue.h), on the
 * queue alone. The queue is internal, so this program compiles
 * src/queue.c into itself. Consumer threads stand for prep threads; a
 * node's "prep_cb" holds its consumer until the case opens a gate, so a
 * node that waits behind another consumer's work while one sleeps is
 * never taken before the gate opens, and the case sees it (bounded
 * waits: HANG_S, then a failure, not a hang).
 */
#include "queue.c"

#include <stdio.h>
#include <string.h>

#include <urcu/system.h>
#include <urcu/uatomic.h>

#include "common.h"

#ifdef GPUPIPE_FAULT_INJECTION
/* The library's allocation hook; the queue alone allocates plainly. */
void *gp_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}
#endif

#define HANG_S 20
#define MAX_CONSUMERS 8

struct pool {
	struct gp_queue q;
	_Atomic int stop;
	_Atomic int gate;     /* 0: a consumer holds its node */
	_Atomic int holding;  /* consumers holding a node */
	_Atomic unsigned taken;
	pthread_t th[MAX_CONSUMERS];
	unsigned n;
};

static void *consumer(void *arg)
{
	struct pool *pl = arg;

	while (gp_queue_pop_wait(&pl->q, &pl->stop, 0)) {
		atomic_fetch_add(&pl->taken, 1);
		atomic_fetch_add(&pl->holding, 1);
		while (!atomic_load(&pl->gate))
			usleep(100);
		atomic_fetch_sub(&pl->holding, 1);
	}
	return NULL;
}

static void pool_start(struct pool *pl, unsigned n)
{
	unsigned i;

	memset(pl, 0, sizeof(*pl));
	gp_queue_init_baton(&pl->q);
	pl->n = n;
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&pl->th[i], NULL,
						     consumer, pl), 0);
}

/* Until n consumers sleep on the queue (and a little longer, so that
 * they are in the kernel), or HANG_S. */
static bool wait_asleep(struct pool *pl, unsigned n)
{
	double end = test_now_s() + HANG_S;

	while (atomic_load(&pl->q.wake.sleepers) != n)
		if (test_now_s() > end)
			return false;
		else
			usleep(200);
	usleep(20000);
	return true;
}

/* Until `want` consumers hold a node at once, or HANG_S. */
static bool wait_holding(struct pool *pl, int want)
{
	double end = test_now_s() + HANG_S;

	while (atomic_load(&pl->holding) < want)
		if (test_now_s() > end)
			return false;
		else
			usleep(200);
	return true;
}

static void pool_stop(struct pool *pl)
{
	unsigned i;

	atomic_store(&pl->gate, 1);
	atomic_store(&pl->stop, 1);
	gp_queue_wake_all(&pl->q);
	for (i = 0; i < pl->n; i++)
		pthread_join(pl->th[i], NULL);
	gp_queue_fini(&pl->q);
}

/*
 * queue.h: "a node waits for a woken consumer to reach the queue, never
 * for another consumer's work to end while one sleeps." Four consumers
 * asleep, four lazy pushes (one wakeup from the pushing thread): all four
 * nodes are held at once, so each consumer woke the next. Then the same
 * with the queue eager.
 */
static void test_burst_reaches_all(void)
{
	static struct cds_wfcq_node nodes[8];
	struct pool pl;
	int lazy, i;

	for (lazy = 1; lazy >= 0; lazy--) {
		pool_start(&pl, 4);
		gp_queue_set_lazy(&pl.q, lazy);
		CU_ASSERT_FATAL(wait_asleep(&pl, 4));
		for (i = 0; i < 4; i++)
			gp_queue_push(&pl.q, &nodes[lazy * 4 + i]);
		CU_ASSERT(wait_holding(&pl, 4));
		pool_stop(&pl);
		CU_ASSERT_EQUAL(atomic_load(&pl.taken), 4);
	}
}

/*
 * The same sentence, with a push caught between its two stores: liburcu
 * appends by exchanging the tail, then linking the old tail to the node;
 * in between, the node before it cannot be dequeued (CDS_WFCQ_WOULDBLOCK).
 * P0 pushes n0 (lazy: it wakes a consumer, which finds n0 blocked); P1,
 * caught in between, links n1 20 ms later and signals, lazily or
 * eagerly. Both nodes must be held at once: one wakeup stood for n0 and
 * must not be lost to the wait (it was, in review, before take_linked).
 */
static void test_push_between_stores(void)
{
	static struct cds_wfcq_node nodes[4];
	struct cds_wfcq_node *old;
	struct pool pl;
	int lazy;

	for (lazy = 1; lazy >= 0; lazy--) {
		struct cds_wfcq_node *n0 = &nodes[lazy * 2];
		struct cds_wfcq_node *n1 = &nodes[lazy * 2 + 1];

		pool_start(&pl, 2);
		CU_ASSERT_FATAL(wait_asleep(&pl, 2));
		cds_wfcq_node_init(n0);
		cds_wfcq_node_init(n1);
		cds_wfcq_enqueue(&pl.q.head, &pl.q.tail, n0);
		old = uatomic_xchg(&pl.q.tail.p, n1); /* P1, first store */
		push_signal(&pl.q, 1);                /* P0, lazy */
		usleep(20000);
		CU_ASSERT_EQUAL(atomic_load(&pl.taken), 0);
		gp_queue_set_lazy(&pl.q, lazy);
		CMM_STORE_SHARED(old->next, n1);      /* P1, second store */
		push_signal(&pl.q, 1);
		CU_ASSERT(wait_holding(&pl, 2));
		pool_stop(&pl);
		CU_ASSERT_EQUAL(atomic_load(&pl.taken), 2);
	}
}

/* ---- many producers and consumers ------------------------------------- */

#define PRODUCERS 3
#define PER_PRODUCER 20000
#define STUCK_MS 2000

struct mix {
	struct gp_queue q;
	_Atomic int stop;
	_Atomic unsigned taken;
	_Atomic unsigned char seen[PRODUCERS * PER_PRODUCER];
	struct cds_wfcq_node nodes[PRODUCERS * PER_PRODUCER];
};

struct mix_arg {
	struct mix *m;
	unsigned seed, idx;
};

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void jitter(unsigned *s)
{
	unsigned r = rnd(s) % 64;

	if (r == 0)
		usleep(rnd(s) % 40);
	else if (r < 6)
		sched_yield();
}

static void *mix_consumer(void *arg)
{
	struct mix_arg *a = arg;
	struct mix *m = a->m;
	unsigned *s = &a->seed;
	struct cds_wfcq_node *n;

	while ((n = gp_queue_pop_wait(&m->q, &m->stop, 0))) {
		atomic_fetch_add(&m->seen[n - m->nodes], 1);
		atomic_fetch_add(&m->taken, 1);
		/* Now and then a long prep_cb, so that at times no consumer
		 * sleeps when a push comes. */
		if (rnd(s) % 16 == 0)
			usleep(rnd(s) % 200);
		else
			jitter(s);
		if (rnd(s) % 500 == 0)
			gp_queue_set_lazy(&m->q, rnd(s) & 1);
	}
	return NULL;
}

static void *mix_producer(void *arg)
{
	struct mix_arg *a = arg;
	struct mix *m = a->m;
	unsigned *s = &a->seed;
	unsigned i = a->idx * PER_PRODUCER, end = i + PER_PRODUCER;

	while (i < end) {
		if (rnd(s) % 4 == 0 && i + 8 <= end) {
			struct gp_list l;
			unsigned k = 1 + rnd(s) % 8, j;

			gp_list_init(&l);
			for (j = 0; j < k; j++)
				gp_list_append(&l, &m->nodes[i++]);
			gp_queue_push_list(&m->q, &l);
		} else {
			gp_queue_push(&m->q, &m->nodes[i++]);
		}
		/* Pauses, so that the consumers run dry and sleep between
		 * bursts. */
		if (rnd(s) % 8 == 0)
			usleep(rnd(s) % 300);
		else
			jitter(s);
	}
	return NULL;
}

/*
 * queue.h: "No node is left behind" (queue.c, the baton), and each node
 * comes out once: three producers push 60 000 nodes, one at a time and in
 * lists, to three consumers, with random pauses and the queue flipped
 * between lazy and eager at random by the consumers. Every node is taken
 * exactly once; the queue never sits non-empty with every consumer asleep.
 */
static void test_mixed_pushes(void)
{
	/* Aligned as its queue's lines ask (GP_OWN_LINE); calloc is not. */
	struct mix *m = gp_lines_alloc(1, sizeof(*m));
	pthread_t prod[PRODUCERS], cons[3];
	struct mix_arg args[PRODUCERS + 3];
	unsigned i, stuck = 0, last = 0, bad = 0;
	double end;

	CU_ASSERT_FATAL(m != NULL);
	gp_queue_init_baton(&m->q);
	for (i = 0; i < PRODUCERS + 3; i++) {
		args[i].m = m;
		args[i].seed = 7919u * (i + 1);
		args[i].idx = i < 3 ? 0 : i - 3;
	}
	for (i = 0; i < 3; i++)
		pthread_create(&cons[i], NULL, mix_consumer, &args[i]);
	for (i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, mix_producer, &args[3 + i]);
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	end = test_now_s() + HANG_S;
	while (atomic_load(&m->taken) < PRODUCERS * PER_PRODUCER &&
	       test_now_s() < end) {
		unsigned now = atomic_load(&m->taken);

		/* Asleep, all three, with nodes queued, for 2 s (a woken
		 * consumer counts as asleep until it runs, and a loaded
		 * machine may run it late): lost. */
		if (now == last && atomic_load(&m->q.wake.sleepers) == 3 &&
		    !gp_queue_empty(&m->q)) {
			if (++stuck == STUCK_MS)
				break;
		} else {
			stuck = 0;
		}
		last = now;
		usleep(1000);
	}
	CU_ASSERT(stuck < STUCK_MS);
	CU_ASSERT_EQUAL(atomic_load(&m->taken), PRODUCERS * PER_PRODUCER);
	/* Once all is taken and every consumer sleeps, no wakeup may be
	 * left on its way: the next push would count on it and wake nobody
	 * (queue.c, the baton: a consumer clears `armed` before it sleeps). */
	end = test_now_s() + HANG_S;
	while ((atomic_load(&m->q.wake.sleepers) != 3 ||
		atomic_load(&m->q.armed)) && test_now_s() < end)
		usleep(1000);
	CU_ASSERT_EQUAL(atomic_load(&m->q.armed), 0);
	atomic_store(&m->stop, 1);
	gp_queue_wake_all(&m->q);
	for (i = 0; i < 3; i++)
		pthread_join(cons[i], NULL);
	for (i = 0; i < PRODUCERS * PER_PRODUCER; i++)
		bad += atomic_load(&m->seen[i]) != 1;
	CU_ASSERT_EQUAL(bad, 0);
	gp_queue_fini(&m->q);
	free(m);
}

int main(void)
{
	CU_pSuite s;

	test_init(300);
	s = CU_add_suite("queue", NULL, NULL);
	CU_add_test(s, "a burst of pushes reaches every sleeping consumer",
		    test_burst_reaches_all);
	CU_add_test(s, "a push caught between its two stores",
		    test_push_between_stores);
	CU_add_test(s, "many producers, lists, lazy flipped at random",
		    test_mixed_pushes);
	return test_run("test_queue");
}
