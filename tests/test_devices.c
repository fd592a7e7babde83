/* SPDX-License-Identifier: MIT */
/*
 * One pipeline over several devices (GPUPIPE_DISPLAY_DEVICES). Without a
 * GPU, the same EGL device named twice or three times makes as many
 * "devices": each has its own contexts, GL objects, submit and readback
 * threads and slots, on one shared display. Checked: every item completes
 * exactly once, in push order across devices (or, with a post pool, once
 * each), with the right output; items go to every device; the
 * configuration's bad combinations get GPUPIPE_EINVAL. Failure isolation
 * (a device that times out leaves rotation, the others go on) needs
 * fault injection: tests/test_faults.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

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
	return test_run("devices");
}
