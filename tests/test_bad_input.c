/* SPDX-License-Identifier: MIT */
/*
 * The bad-input table: every public function called with what it must
 * refuse, and the code each case gets. The table below is the reference
 * (the man pages' ERRORS sections list the same codes per function); the
 * program runs every row and prints it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static gpupipe *live; /* a working pipeline for the calls that need one */

static int create_with(struct gpupipe_config c)
{
	gpupipe *p = NULL;
	int ret = gpupipe_create(&c, &p);

	if (!ret)
		gpupipe_destroy(p);
	return ret;
}

#define CASE(name, expr) static int name(void) { expr }

CASE(c_null_cfg, { gpupipe *p; return gpupipe_create(NULL, &p); })
CASE(c_null_out, { struct gpupipe_config c = test_basic_config();
		   return gpupipe_create(&c, NULL); })
CASE(c_null_shader, { struct gpupipe_config c = test_basic_config();
		      c.shader_source = NULL; return create_with(c); })
CASE(c_zero_in, { struct gpupipe_config c = test_basic_config(); c.in_bytes = 0;
		  return create_with(c); })
CASE(c_zero_out, { struct gpupipe_config c = test_basic_config(); c.out_bytes = 0;
		   return create_with(c); })
CASE(c_huge_in, { struct gpupipe_config c = test_basic_config(); c.in_bytes = SIZE_MAX;
		  return create_with(c); })
CASE(c_overflow_out, { struct gpupipe_config c = test_basic_config();
		       c.out_bytes = SIZE_MAX / 64; c.depth = 200;
		       return create_with(c); })
CASE(c_over_block, { struct gpupipe_config c = test_basic_config();
		     c.in_bytes = (size_t)1 << 40; return create_with(c); })
CASE(c_depth, { struct gpupipe_config c = test_basic_config();
		c.depth = GPUPIPE_MAX_DEPTH + 1; return create_with(c); })
CASE(c_batch, { struct gpupipe_config c = test_basic_config();
		c.max_batch = GPUPIPE_MAX_BATCH + 1; return create_with(c); })
CASE(c_prep_threads, { struct gpupipe_config c = test_basic_config();
		       c.prep_threads = 65; return create_with(c); })
CASE(c_post_threads, { struct gpupipe_config c = test_basic_config();
		       c.post_threads = 65; return create_with(c); })
CASE(c_null_prep, { struct gpupipe_config c = test_basic_config(); c.prep_cb = NULL;
		    return create_with(c); })
CASE(c_null_done, { struct gpupipe_config c = test_basic_config(); c.done_cb = NULL;
		    return create_with(c); })
CASE(c_weights_bytes, { struct gpupipe_config c = test_basic_config();
			c.weights_bytes = 4; return create_with(c); })
CASE(c_display, { struct gpupipe_config c = test_basic_config();
		  c.display = (enum gpupipe_display)-1;
		  return create_with(c); })
CASE(c_device, { struct gpupipe_config c = test_basic_config();
		 c.display = GPUPIPE_DISPLAY_DEVICE; c.device_index = 63;
		 return create_with(c); })
CASE(c_wait, { struct gpupipe_config c = test_basic_config();
	       c.wait = (enum gpupipe_wait)-1; return create_with(c); })
CASE(c_flags, { struct gpupipe_config c = test_basic_config(); c.flags = ~0u;
		return create_with(c); })
CASE(c_groups, { struct gpupipe_config c = test_basic_config(); c.groups[2] = 1u << 30;
		 return create_with(c); })
CASE(c_bad_glsl, { struct gpupipe_config c = test_basic_config();
		   c.shader_source = "#version 430\nvoid main() { x = 1; }\n";
		   return create_with(c); })
CASE(c_no_output, { struct gpupipe_config c = test_basic_config();
		    c.shader_source = "#version 430\n"
			"layout(local_size_x = 1) in;\n"
			"layout(std430, binding = 0) buffer I { uint x[]; };\n"
			"void main() { x[0] = 1u; }\n";
		    return create_with(c); })
CASE(c_small_output, { struct gpupipe_config c = test_basic_config();
		       c.shader_source = "#version 430\n"
			"layout(local_size_x = 1) in;\n"
			"layout(std430, binding = 2) buffer O { uint o[64]; };\n"
			"void main() { o[0] = 1u; }\n";
		       c.out_bytes = 16; return create_with(c); })
CASE(c_share_alone, { struct gpupipe_config c = test_basic_config();
		      c.share_context = &c; return create_with(c); })
CASE(d_self, { return gpupipe_destroy(NULL); })
CASE(p_null, { return gpupipe_push(NULL, NULL, 0); })
CASE(p_flags, { return gpupipe_push(live, NULL, 0x10); })
CASE(pt_null, { uint64_t q; return gpupipe_push_timed(NULL, NULL, 0, 0, &q); })
CASE(pt_flags, { uint64_t q;
		 return gpupipe_push_timed(live, NULL, 0x10, 0, &q); })
CASE(pt_no_seq, { return gpupipe_push_timed(live, NULL, 0, -1, NULL); })
CASE(v_string, { return gpupipe_version() ? 0 : GPUPIPE_EINVAL; })
CASE(v_number, { return gpupipe_version_number() >= 0 ? 0 : GPUPIPE_EINVAL; })
CASE(dr_null, { return gpupipe_drain(NULL, 0); })
CASE(dr_negative, { return gpupipe_drain(live, -5); })
CASE(ca_null, { return gpupipe_cancel(NULL); })
CASE(i_null, { struct gpupipe_info i; return gpupipe_get_info(NULL, &i); })
CASE(i_null_out, { return gpupipe_get_info(live, NULL); })
CASE(s_null, { struct gpupipe_stats s; return gpupipe_get_stats(NULL, &s); })
CASE(s_null_out, { return gpupipe_get_stats(live, NULL); })
CASE(t_null, { return gpupipe_trace_begin(NULL, 1, 0); })
CASE(t_zero, { return gpupipe_trace_begin(live, 0, 0); })
CASE(t_huge, { return gpupipe_trace_begin(live, SIZE_MAX, 0); })
CASE(t_flags, { return gpupipe_trace_begin(live, 4, 0x100); })
CASE(te_none, { struct gpupipe_trace_record *r; size_t n;
		return gpupipe_trace_end(live, &r, &n); })
CASE(te_null, { size_t n; return gpupipe_trace_end(live, NULL, &n); })
CASE(k_null, { return gpupipe_job_keep(NULL); })
CASE(k_outside, { struct gpupipe_job j; memset(&j, 0, sizeof(j));
		  return gpupipe_job_keep(&j); })
CASE(r_null, { return gpupipe_release(live, NULL); })
CASE(r_foreign, { struct gpupipe_job j; memset(&j, 0, sizeof(j));
		  return gpupipe_release(live, &j); })
CASE(l_null, { char *s; return gpupipe_load_shader(NULL, &s); })
CASE(l_missing, { char *s;
		  return gpupipe_load_shader("/nonexistent.comp", &s); })
CASE(l_dir, { char *s; return gpupipe_load_shader("/", &s); })
CASE(c_ndevices, { struct gpupipe_config c = test_basic_config();
		   c.display = GPUPIPE_DISPLAY_DEVICES;
		   c.ndevices = GPUPIPE_MAX_DEVICES + 1; return create_with(c); })
CASE(c_ndevices_alone, { struct gpupipe_config c = test_basic_config();
			 c.ndevices = 1; return create_with(c); })
CASE(c_devices_interop, { struct gpupipe_config c = test_basic_config();
			  c.display = GPUPIPE_DISPLAY_DEVICES;
			  c.egl_display = (void *)1; return create_with(c); })
CASE(ld_null_count, { struct gpupipe_device d;
		      return gpupipe_list_devices(&d, 1, NULL); })
CASE(ld_null_devices, { unsigned n;
			return gpupipe_list_devices(NULL, 4, &n); })

static const struct row {
	const char *call, *input;
	int (*run)(void);
	int code;
} table[] = {
	{ "gpupipe_create", "cfg NULL", c_null_cfg, GPUPIPE_EINVAL },
	{ "gpupipe_create", "out NULL", c_null_out, GPUPIPE_EINVAL },
	{ "gpupipe_create", "shader_source NULL", c_null_shader,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "in_bytes 0", c_zero_in, GPUPIPE_EINVAL },
	{ "gpupipe_create", "out_bytes 0", c_zero_out, GPUPIPE_EINVAL },
	{ "gpupipe_create", "in_bytes SIZE_MAX", c_huge_in, GPUPIPE_EINVAL },
	{ "gpupipe_create", "out_bytes x slots overflows", c_overflow_out,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "in_bytes over the driver's SSBO limit",
	  c_over_block, GPUPIPE_EINVAL },
	{ "gpupipe_create", "depth GPUPIPE_MAX_DEPTH + 1", c_depth,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "max_batch GPUPIPE_MAX_BATCH + 1", c_batch,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "prep_threads 65", c_prep_threads,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "post_threads 65", c_post_threads,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "prep_cb NULL", c_null_prep, GPUPIPE_EINVAL },
	{ "gpupipe_create", "done_cb NULL", c_null_done, GPUPIPE_EINVAL },
	{ "gpupipe_create", "weights_bytes without weights", c_weights_bytes,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "display -1", c_display, GPUPIPE_EINVAL },
	{ "gpupipe_create", "device_index 63 (no such device)", c_device,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "wait -1", c_wait, GPUPIPE_EINVAL },
	{ "gpupipe_create", "flags ~0", c_flags, GPUPIPE_EINVAL },
	{ "gpupipe_create", "groups[2] above the driver's limit", c_groups,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "GLSL that does not compile", c_bad_glsl,
	  GPUPIPE_ESHADER },
	{ "gpupipe_create", "a shader without binding 2", c_no_output,
	  GPUPIPE_ESHADER },
	{ "gpupipe_create", "out_bytes below the output block", c_small_output,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "share_context without egl_display",
	  c_share_alone, GPUPIPE_EINVAL },
	{ "gpupipe_create", "ndevices GPUPIPE_MAX_DEVICES + 1", c_ndevices,
	  GPUPIPE_EINVAL },
	{ "gpupipe_create", "ndevices 1, the default display",
	  c_ndevices_alone, GPUPIPE_EINVAL },
	{ "gpupipe_create", "display DEVICES and egl_display",
	  c_devices_interop, GPUPIPE_EINVAL },
	{ "gpupipe_destroy", "NULL (a no-op)", d_self, 0 },
	{ "gpupipe_push", "p NULL", p_null, GPUPIPE_EINVAL },
	{ "gpupipe_push", "unknown flags", p_flags, GPUPIPE_EINVAL },
	{ "gpupipe_push_timed", "p NULL", pt_null, GPUPIPE_EINVAL },
	{ "gpupipe_push_timed", "unknown flags", pt_flags, GPUPIPE_EINVAL },
	{ "gpupipe_push_timed", "seq NULL (allowed)", pt_no_seq, 0 },
	{ "gpupipe_drain", "p NULL", dr_null, GPUPIPE_EINVAL },
	{ "gpupipe_drain", "timeout -5, nothing pending",
	  dr_negative, 0 },
	{ "gpupipe_cancel", "p NULL", ca_null, GPUPIPE_EINVAL },
	{ "gpupipe_get_info", "p NULL", i_null, GPUPIPE_EINVAL },
	{ "gpupipe_get_info", "info NULL", i_null_out, GPUPIPE_EINVAL },
	{ "gpupipe_get_stats", "p NULL", s_null, GPUPIPE_EINVAL },
	{ "gpupipe_get_stats", "stats NULL", s_null_out, GPUPIPE_EINVAL },
	{ "gpupipe_trace_begin", "p NULL", t_null, GPUPIPE_EINVAL },
	{ "gpupipe_trace_begin", "capacity 0", t_zero, GPUPIPE_EINVAL },
	{ "gpupipe_trace_begin", "capacity SIZE_MAX", t_huge, GPUPIPE_EINVAL },
	{ "gpupipe_trace_begin", "unknown flags", t_flags, GPUPIPE_EINVAL },
	{ "gpupipe_trace_end", "no trace running", te_none, GPUPIPE_EINVAL },
	{ "gpupipe_trace_end", "records NULL", te_null, GPUPIPE_EINVAL },
	{ "gpupipe_job_keep", "job NULL", k_null, GPUPIPE_EINVAL },
	{ "gpupipe_job_keep", "outside a done_cb", k_outside, GPUPIPE_EINVAL },
	{ "gpupipe_release", "job NULL", r_null, GPUPIPE_EINVAL },
	{ "gpupipe_release", "a job not of this pipeline", r_foreign,
	  GPUPIPE_EINVAL },
	{ "gpupipe_load_shader", "path NULL", l_null, GPUPIPE_EINVAL },
	{ "gpupipe_load_shader", "a missing file", l_missing, GPUPIPE_EINVAL },
	{ "gpupipe_load_shader", "a directory", l_dir, GPUPIPE_EINVAL },
	{ "gpupipe_list_devices", "count NULL", ld_null_count,
	  GPUPIPE_EINVAL },
	{ "gpupipe_list_devices", "devices NULL, max 4", ld_null_devices,
	  GPUPIPE_EINVAL },
	{ "gpupipe_version", "no argument (never NULL)", v_string, 0 },
	{ "gpupipe_version_number", "no argument (never fails)", v_number, 0 },
};

/* "functions return 0 ... and a negative GPUPIPE_E* code on failure;
 * gpupipe_errmsg() then holds the details": each row gets its code, a
 * message, and advice from gpupipe_strerror. */
static void test_table(void)
{
	unsigned i;

	printf("\n    %-20s %-46s %s\n", "call", "input", "code");
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		int got = r->run();

		printf("    %-20s %-46s %s%s\n", r->call, r->input,
		       gpupipe_error_name(got),
		       got == r->code ? "" : "  <-- expected other");
		CU_ASSERT_EQUAL(got, r->code);
		if (r->code) {
			CU_ASSERT(gpupipe_errmsg()[0] != '\0');
			CU_ASSERT(strcmp(gpupipe_strerror(got),
					 "unknown error") != 0);
		}
	}
}

int main(void)
{
	struct gpupipe_config c;
	CU_pSuite s;
	int ret;

	test_init(120);
	c = test_basic_config();
	if (gpupipe_create(&c, &live)) {
		fprintf(stderr, "%s\n", gpupipe_errmsg());
		return 1;
	}
	s = CU_add_suite("bad input", NULL, NULL);
	CU_add_test(s, "the bad-input table", test_table);
	ret = test_run("bad_input");
	gpupipe_destroy(live);
	return ret;
}
