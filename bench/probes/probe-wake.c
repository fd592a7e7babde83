/* SPDX-License-Identifier: MIT */
/*
 * probe-wake: what a wakeup and a clock read cost on this machine. A
 * push into a pool of sleeping prep threads costs the pusher a
 * FUTEX_WAKE (src/queue.c); on a virtual machine that wake may also send
 * an interrupt to an idle virtual CPU, and the pusher pays for it
 * (doc/performance.md, "Two modes of tiny"). Rows, each the median, 90th
 * percentile and maximum of --reps in nanoseconds:
 *
 *   clock_gettime     CLOCK_MONOTONIC (gp_now_ns), then the thread's
 *                     CPU clock (what the bench reads per thread)
 *   futex_wake idle   FUTEX_WAKE with nobody waiting: the system call
 *   futex_wake sleeper, after GAP us
 *                     the waker's time in FUTEX_WAKE when another thread
 *                     has slept GAP microseconds in FUTEX_WAIT, and
 *   woken after       the time from before that call until the sleeper
 *                     runs again
 *
 * No GPU needed.
 *
 *   probe-wake [--reps N]
 */
#include "config.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe-util.h"

#define MAX_REPS 100000

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void print_row(const char *what, uint64_t *ns, unsigned reps)
{
	qsort(ns, reps, sizeof(*ns), probe_cmp_u64);
	printf("%-34s %9llu %9llu %9llu\n", what,
	       (unsigned long long)ns[reps / 2],
	       (unsigned long long)ns[(reps * 9) / 10],
	       (unsigned long long)ns[reps - 1]);
}

static void futex_op(_Atomic uint32_t *word, int op, uint32_t val)
{
	syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

/* One clock read, timed over a run of 64 so the timer's own cost
 * divides out. */
static void clock_row(const char *what, clockid_t clock, uint64_t *ns,
		      unsigned reps)
{
	volatile uint64_t sink = 0;
	unsigned i, j;

	for (i = 0; i < reps; i++) {
		uint64_t t0 = probe_now_ns();

		for (j = 0; j < 64; j++)
			sink += clock_ns(clock);
		ns[i] = (probe_now_ns() - t0) / 64;
	}
	(void)sink;
	print_row(what, ns, reps);
}

/* The sleeper: waits while `word` holds its last value; each time it
 * wakes, stores when it ran and says it is about to sleep again. */
struct pingpong {
	_Atomic uint32_t word;
	_Atomic uint32_t asleep; /* the value the sleeper waits on */
	_Atomic uint64_t ran_ns;
	_Atomic int quit;
};

static void *sleeper(void *arg)
{
	struct pingpong *pp = arg;
	uint32_t seen = atomic_load(&pp->word);

	while (!atomic_load(&pp->quit)) {
		atomic_store(&pp->asleep, seen + 1);
		while (atomic_load(&pp->word) == seen)
			syscall(SYS_futex, &pp->word,
				FUTEX_WAIT | FUTEX_PRIVATE_FLAG, seen, NULL,
				NULL, 0);
		atomic_store(&pp->ran_ns, probe_now_ns());
		seen = atomic_load(&pp->word);
	}
	return NULL;
}

static void wake_rows(unsigned gap_us, uint64_t *call, uint64_t *woken,
		      unsigned reps)
{
	struct pingpong pp = { 0 };
	struct timespec gap = { 0, (long)gap_us * 1000 };
	pthread_t th;
	char what[64];
	unsigned i;

	if (pthread_create(&th, NULL, sleeper, &pp)) {
		fprintf(stderr, "probe-wake: pthread_create failed\n");
		exit(1);
	}
	for (i = 0; i < reps; i++) {
		uint32_t next = (uint32_t)i + 1;
		uint64_t t0, t1;

		/* The sleeper announced it sleeps on value i; give it the
		 * gap to be in the kernel (and its CPU idle). */
		while (atomic_load(&pp.asleep) != next)
			;
		nanosleep(&gap, NULL);
		atomic_store(&pp.ran_ns, 0);
		t0 = probe_now_ns();
		atomic_store(&pp.word, next);
		futex_op(&pp.word, FUTEX_WAKE, 1);
		t1 = probe_now_ns();
		while (!atomic_load(&pp.ran_ns))
			;
		call[i] = t1 - t0;
		woken[i] = atomic_load(&pp.ran_ns) - t0;
	}
	atomic_store(&pp.quit, 1);
	atomic_fetch_add(&pp.word, 1);
	futex_op(&pp.word, FUTEX_WAKE, 1);
	pthread_join(th, NULL);
	snprintf(what, sizeof(what), "futex_wake sleeper, after %u us",
		 gap_us);
	print_row(what, call, reps);
	snprintf(what, sizeof(what), "  woken after (%u us)", gap_us);
	print_row(what, woken, reps);
}

int main(int argc, char **argv)
{
	static const unsigned gaps[] = { 5, 50, 500 };
	_Atomic uint32_t idle = 0;
	unsigned reps = 2000, i;
	uint64_t *a, *b;
	int rc = probe_reps_option(argc, argv, MAX_REPS, &reps);

	if (rc >= 0)
		return rc;
	a = calloc(reps, sizeof(*a));
	b = calloc(reps, sizeof(*b));
	if (!a || !b) {
		fprintf(stderr, "probe-wake: out of memory\n");
		return 1;
	}
	printf("# probe-wake: ns, %u of each; %ld CPUs online\n", reps,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-34s %9s %9s %9s\n", "what", "p50", "p90", "max");
	clock_row("clock_gettime MONOTONIC", CLOCK_MONOTONIC, a, reps);
	clock_row("clock_gettime THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID,
		  a, reps);
	for (i = 0; i < reps; i++) {
		uint64_t t0 = probe_now_ns();

		futex_op(&idle, FUTEX_WAKE, 1);
		a[i] = probe_now_ns() - t0;
	}
	print_row("futex_wake idle (nobody waits)", a, reps);
	for (i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++)
		wake_rows(gaps[i], a, b, reps);
	free(a);
	free(b);
	return 0;
}
