/* SPDX-License-Identifier: MIT */
/*
 * One pipeline over several devices (GPUPIPE_DISPLAY_DEVICES). Without a
 * GPU, the same EGL device named twice or three times makes as many
 * "devices": each has its own contexts, GL objects, submit and readback
 * threads and slots, on one shared display. Checked: every item completes
 * exactly once, in push order across devices (or, with a post pool, once
 * each), with the right output; items go to every device; the
 * configuration's bad combinations get GPUPIPE_EINVAL. In the
 * fault-injection build, with its delay points (src/fault.h): a done_cb
 * held on one device's item leaves the other device's readback thread
 * going, and a slowed delivery strands no item. Failure isolation (a
 * device that times out leaves rotation, the others go on) needs fault
 * injection too: tests/test_faults.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#ifdef GPUPIPE_FAULT_INJECTION
#include "fault.h"
#endif

#define MAX_ITEMS 6000

static atomic_uint per_device[GPUPIPE_MAX_DEVICES];
static gpupipe_done_fn harness_done;

/* Counts each completion's device, then does the harness's checks. */
static void count_done(struct gpupipe_job *job, void *user_data)
{
	if (job->device < GPUPIPE_MAX_DEVICES)
		atomic_fetch_add(&per_device[job->device], 1);
	harness_done(job, user_data);
}

static void run_devices(unsigned ndev, unsigned batch, unsigned post,
			unsigned prep_delay_us, uint64_t n)
{
	struct harness h;
	struct gpupipe_info info;
	struct gpupipe_stats st;
	unsigned i;

	memset(per_device, 0, sizeof(per_device));
	harness_init(&h, 64, 3, batch, 3, MAX_ITEMS);
	harness_same_device(&h, ndev);
	h.cfg.post_threads = post;
	h.unordered = post > 0;
	h.prep_delay_us = prep_delay_us;
	h.fail_every = 97;
	harness_done = h.cfg.done_cb;
	h.cfg.done_cb = count_done;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(gpupipe_get_info(h.p, &info), 0);
	CU_ASSERT_EQUAL(info.display, GPUPIPE_DISPLAY_DEVICES);
	CU_ASSERT_EQUAL(info.ndevices, ndev);
	CU_ASSERT_EQUAL(info.slots, ndev * info.depth * info.max_batch);
	for (i = 0; i < ndev; i++)
		CU_ASSERT_EQUAL(info.devices[i], 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, n), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 60000), 0);
	CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
	CU_ASSERT_EQUAL(st.devices_broken, 0);
	CU_ASSERT_EQUAL(st.broken, 0);
	{
		uint64_t failed = 0, id;

		for (id = 0; id < n; id++)
			failed += harness_fails(-1, 97, id);
		harness_check(&h, n, n - failed);
	}
	printf("    %u devices, batch %u, %u post threads: items per device",
	       ndev, batch, post);
	for (i = 0; i < ndev; i++) {
		printf(" %u", atomic_load(&per_device[i]));
		/* Each device had its share of the work. */
		CU_ASSERT_TRUE(atomic_load(&per_device[i]) >= n / ndev / 4);
	}
	printf("\n");
	harness_fini(&h);
}

static void test_two_devices_in_order(void)
{
	run_devices(2, 4, 0, 0, 4000);
}

static void test_three_devices_prep_delays(void)
{
	run_devices(3, 1, 0, 150, 1500);
}

static void test_two_devices_post_pool(void)
{
	run_devices(2, 8, 2, 50, 3000);
}

/* Every hardware device: none on a machine with only llvmpipe, which is
 * left out of "all" unless named. */
static void test_all_devices(void)
{
	struct gpupipe_device d[GPUPIPE_MAX_DEVICES];
	struct gpupipe_config c = test_basic_config();
	unsigned n = 0, i, hw = 0;
	gpupipe *p = NULL;
	int ret;

	CU_ASSERT_EQUAL_FATAL(gpupipe_list_devices(d, GPUPIPE_MAX_DEVICES, &n),
			      0);
	for (i = 0; i < n && i < GPUPIPE_MAX_DEVICES; i++)
		hw += !d[i].software;
	c.display = GPUPIPE_DISPLAY_DEVICES;
	ret = gpupipe_create(&c, &p);
	if (!hw) {
		CU_ASSERT_EQUAL(ret, GPUPIPE_ENOTSUP);
		CU_ASSERT_PTR_NOT_NULL(strstr(gpupipe_errmsg(), "hardware"));
	} else {
		struct gpupipe_info info;

		CU_ASSERT_EQUAL_FATAL(ret, 0);
		CU_ASSERT_EQUAL(gpupipe_get_info(p, &info), 0);
		CU_ASSERT_EQUAL(info.ndevices, hw);
		CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
	}
	printf("    %u EGL device(s), %u hardware: create over all %s\n", n, hw,
	       gpupipe_error_name(ret));
}

/* A device index the EGL client does not list fails create and leaves
 * nothing behind, even after other devices opened. */
static void test_missing_device(void)
{
	struct gpupipe_config c = test_basic_config();
	gpupipe *p = NULL;
	int threads = count_threads(), fds = count_fds();

	c.display = GPUPIPE_DISPLAY_DEVICES;
	c.ndevices = 2;
	c.devices[0] = 0;
	c.devices[1] = 63;
	CU_ASSERT_EQUAL(gpupipe_create(&c, &p), GPUPIPE_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(gpupipe_errmsg(), "device_index 63"));
	CU_ASSERT_EQUAL(count_threads(), threads);
	CU_ASSERT_EQUAL(count_fds(), fds);
}

#ifdef GPUPIPE_FAULT_INJECTION
/* Generous bounds on things that take milliseconds: a case that reaches
 * one has hung (and says so) instead of waiting for the watchdog. */
#define HANG_S 20

/* Sleep until *flag is set or seconds pass; whether it was set. */
static bool wait_flag(atomic_int *flag, double seconds)
{
	double end = test_now_s() + seconds;

	while (!atomic_load(flag) && test_now_s() < end)
		usleep(1000);
	return atomic_load(flag);
}

/* Item 0's done_cb holds until the test lets it go; prep counts each
 * item's device. */
static struct {
	gpupipe_prep_fn prep;
	gpupipe_done_fn done;
	atomic_uint items[GPUPIPE_MAX_DEVICES]; /* prepared, by device */
	atomic_uint prepared;
	atomic_int held;          /* item 0's done_cb is holding */
	atomic_int release;       /* let it return */
	unsigned held_device;     /* item 0's device */
} hold;

static int hold_prep(struct gpupipe_job *job, void *user_data)
{
	if (job->device < GPUPIPE_MAX_DEVICES)
		atomic_fetch_add(&hold.items[job->device], 1);
	atomic_fetch_add(&hold.prepared, 1);
	return hold.prep(job, user_data);
}

static void hold_done(struct gpupipe_job *job, void *user_data)
{
	if (job->seq == 0) {
		hold.held_device = job->device;
		atomic_store(&hold.held, 1);
		/* Bounded: a broken library fails the case, never hangs.
		 * Longer than the test's own bounds, which fail first. */
		wait_flag(&hold.release, 3 * HANG_S);
	}
	hold.done(job, user_data);
}

/*
 * gpupipe.h: "done_cbs run in push order, one at a time, unless
 * post_threads asks for a pool"; gpupipe(7): "done_cb runs in push order
 * across devices (whichever readback thread finds the next items done
 * calls it, one at a time)". And it runs with no library lock held: while
 * a done_cb of one device's item does not return, the other device's
 * readback thread goes on waiting its fences and handing its items over
 * to in-order completion (the delay point order_stored counts each item
 * handed over), where they wait behind the held one; before, it blocked
 * on the lock the held done_cb ran under. Released, every item completes
 * exactly once, in push order, with its output right.
 */
static void test_held_done_cb_other_device_goes_on(void)
{
	const uint64_t n = 17;
	struct harness h;
	struct gpupipe_stats st;
	unsigned other, want = 0;
	unsigned long stored = 0;
	double end;

	memset(&hold, 0, sizeof(hold));
	gpupipe_fault_reset();
	gpupipe_fault_delay("order_stored", 1); /* to count, not to wait */
	/* Two devices of 6 x 2 slots: the 17 items fit with none freed. */
	harness_init(&h, 64, 6, 2, 2, n);
	harness_same_device(&h, 2);
	h.cfg.flags = GPUPIPE_FIXED_BATCH;
	hold.prep = h.cfg.prep_cb;
	hold.done = h.cfg.done_cb;
	h.cfg.prep_cb = hold_prep;
	h.cfg.done_cb = hold_done;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 1), 0);
	CU_ASSERT_TRUE(wait_flag(&hold.held, HANG_S));
	/* Pushed while item 0's done_cb holds: every other item. */
	CU_ASSERT_EQUAL(harness_push(&h, 1, n - 1), 0);
	end = test_now_s() + HANG_S;
	while (atomic_load(&hold.prepared) < n && test_now_s() < end)
		usleep(1000);
	CU_ASSERT_EQUAL(atomic_load(&hold.prepared), n);
	other = !hold.held_device;
	want = atomic_load(&hold.items[other]);
	CU_ASSERT_TRUE(want >= 2); /* both devices got items */
	while ((stored = gpupipe_fault_delayed("order_stored")) < want &&
	       test_now_s() < end)
		usleep(1000);
	printf("    item 0 on device %u held; device %u handed over %lu of "
	       "its %u items meanwhile%s\n", hold.held_device, other, stored,
	       want, stored < want ? " (timed out)" : "");
	CU_ASSERT_TRUE(stored >= want);
	/* One at a time, in push order: none completed behind item 0. */
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 0);

	atomic_store(&hold.release, 1);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, HANG_S * 1000), 0);
	harness_check(&h, n, n);
	CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
	CU_ASSERT_EQUAL(st.pushed, n);
	CU_ASSERT_EQUAL(st.completed[GPUPIPE_DONE], n);
	CU_ASSERT_EQUAL(st.completed[GPUPIPE_FAILED] +
				st.completed[GPUPIPE_CANCELLED] +
				st.completed[GPUPIPE_TIMEDOUT] +
				st.completed[GPUPIPE_DEVICE_LOST], 0);
	CU_ASSERT_EQUAL(st.in_flight, 0);
	harness_fini(&h);
	/* Every item handed over once (the threads are joined). */
	CU_ASSERT_EQUAL(gpupipe_fault_delayed("order_stored"), n);
	gpupipe_fault_reset();
}

/*
 * gpupipe.h: "every item that gpupipe_push accepts gets exactly one
 * done_cb". With the thread delivering in push order slowed after each
 * run it takes (order_deliver), the other readback threads store their
 * items and leave while it calls done_cbs; each item is delivered, by it
 * or by the next thread to deliver, and none is left waiting with nobody
 * to deliver it. Pushed a few at a time, each group drained before the
 * next: a stranded item has no later one to free it, and its drain times
 * out.
 */
static void test_three_devices_none_stranded(void)
{
	const uint64_t n = 1500;
	struct harness h;
	uint64_t id = 0, failed = 0, k, timeouts = 0;

	gpupipe_fault_reset();
	gpupipe_fault_delay("order_deliver", 200);
	gpupipe_fault_delay("order_stored", 1);
	harness_init(&h, 64, 3, 4, 3, n);
	harness_same_device(&h, 3);
	h.fail_every = 97;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	while (id < n) {
		k = 1 + test_input(id, 1) % 8;
		if (k > n - id)
			k = n - id;
		CU_ASSERT_EQUAL(harness_push(&h, id, k), 0);
		id += k;
		if (gpupipe_drain(h.p, 5000)) {
			timeouts++;
			break; /* fail once, not once per group */
		}
	}
	CU_ASSERT_EQUAL(timeouts, 0);
	/* The rest at once: whatever was stranded has later items now. */
	CU_ASSERT_EQUAL(harness_push(&h, id, n - id), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, HANG_S * 1000), 0);
	for (id = 0; id < n; id++)
		failed += harness_fails(-1, 97, id);
	harness_check(&h, n, n - failed);
	harness_fini(&h);
	printf("    %lu runs delivered, %lu items handed over, %llu drains "
	       "timed out\n", gpupipe_fault_delayed("order_deliver"),
	       gpupipe_fault_delayed("order_stored"),
	       (unsigned long long)timeouts);
	CU_ASSERT_TRUE(gpupipe_fault_delayed("order_deliver") > 0);
	CU_ASSERT_EQUAL(gpupipe_fault_delayed("order_stored"), n);
	gpupipe_fault_reset();
}
#endif

int main(void)
{
	CU_pSuite s;

	test_init(300);
	s = CU_add_suite("devices", NULL, NULL);
	CU_add_test(s, "two devices: exactly once, in push order",
		    test_two_devices_in_order);
	CU_add_test(s, "three devices, batches of one, prep delays",
		    test_three_devices_prep_delays);
	CU_add_test(s, "two devices with a post pool: exactly once",
		    test_two_devices_post_pool);
	CU_add_test(s, "every hardware device", test_all_devices);
	CU_add_test(s, "a device the client does not list",
		    test_missing_device);
#ifdef GPUPIPE_FAULT_INJECTION
	CU_add_test(s, "a held done_cb: the other device goes on",
		    test_held_done_cb_other_device_goes_on);
	CU_add_test(s, "three devices, slow delivery: none stranded",
		    test_three_devices_none_stranded);
#endif
	return test_run("devices");
}
