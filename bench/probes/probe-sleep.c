/* SPDX-License-Identifier: MIT */
/*
 * probe-sleep: how late a timed sleep ends on this machine, with the
 * thread's default timer slack and with a slack of 1 ns (what gpupipe's
 * submit and readback threads set; gpupipe(7), Threads). The submit
 * thread holds an open batch and polls fences with timed futex waits, so
 * a sleep that ends late leaves the GPU idle for the difference. Each
 * row: a futex wait on an absolute CLOCK_MONOTONIC deadline (as
 * src/queue.c's) and a relative nanosleep, for each length; how much
 * later than asked each ended, median, 90th percentile and maximum of
 * --reps sleeps. No GPU needed.
 *
 *   probe-sleep [--reps N]
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe-util.h"

#define MAX_REPS 100000

/* One sleep of len_ns; how many ns after its end it returned. */
static uint64_t sleep_once(int futex, uint64_t len_ns)
{
	static uint32_t word; /* never changes: only the deadline ends it */
	uint64_t end = probe_now_ns() + len_ns, t;
	struct timespec ts;

	if (futex) {
		ts.tv_sec = (time_t)(end / 1000000000u);
		ts.tv_nsec = (long)(end % 1000000000u);
		while (syscall(SYS_futex, &word,
			       FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &ts,
			       NULL, FUTEX_BITSET_MATCH_ANY) == -1 &&
		       errno == EINTR)
			;
	} else {
		ts.tv_sec = 0;
		ts.tv_nsec = (long)len_ns;
		nanosleep(&ts, NULL);
	}
	t = probe_now_ns();
	return t > end ? t - end : 0;
}

static void row(const char *slack, int futex, uint64_t len_ns, unsigned reps,
		uint64_t *late)
{
	unsigned i;

	for (i = 0; i < reps; i++)
		late[i] = sleep_once(futex, len_ns);
	qsort(late, reps, sizeof(*late), probe_cmp_u64);
	printf("%-8s %-10s %6.0f %9.1f %9.1f %9.1f\n", slack,
	       futex ? "futex" : "nanosleep", len_ns / 1e3,
	       late[reps / 2] / 1e3, late[(reps * 9) / 10] / 1e3,
	       late[reps - 1] / 1e3);
}

int main(int argc, char **argv)
{
	static const uint64_t lens[] = { 10000, 50000, 200000 };
	unsigned reps = 200, s, f, k;
	long dflt = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	uint64_t *late;
	int rc = probe_reps_option(argc, argv, MAX_REPS, &reps);

	if (rc >= 0)
		return rc;
	late = calloc(reps, sizeof(*late));
	if (!late) {
		fprintf(stderr, "probe-sleep: out of memory\n");
		return 1;
	}
	printf("# probe-sleep: us late, %u sleeps each; default slack %ld ns\n",
	       reps, dflt);
	printf("%-8s %-10s %6s %9s %9s %9s\n", "slack", "sleep", "us",
	       "p50", "p90", "max");
	for (s = 0; s < 2; s++) {
		prctl(PR_SET_TIMERSLACK, s ? 1UL : (unsigned long)dflt, 0, 0,
		      0);
		for (f = 0; f < 2; f++)
			for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
				row(s ? "1ns" : "default", !f, lens[k], reps,
				    late);
	}
	free(late);
	return 0;
}
