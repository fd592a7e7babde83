/* SPDX-License-Identifier: MIT */
/*
 * probe-mapping: how fast the CPU writes a persistently mapped input
 * buffer and reads a persistently mapped output buffer, per set of storage
 * and mapping flags and per copy method, without the library
 * (doc/performance.md, "Mapping flags and copy methods"). The stream
 * workload (1 MiB in, 1 MiB out per item) is bound by its prep and post
 * threads' copies, not by the GPU.
 *
 * Output side: a compute shader fills the buffer, then a client-mapped
 * barrier, a fence and a wait, as gpupipe does; the CPU then reads it in
 * 1 MiB pieces with memcpy, with plain 16-byte loads, and with
 * non-temporal (streaming) loads, and the contents are checked. Input
 * side: the CPU writes 1 MiB pieces with memcpy and with non-temporal
 * stores, and a shader reads them back to check. One thread; GB/s,
 * medians of the repetitions.
 *
 *   probe-mapping [--device N] [--reps N]
 */
#include "config.h"

#include <getopt.h>
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <epoxy/gl.h>

#include "egl-setup.h"
#include "probe-util.h"

#define BUF_BYTES (16u << 20)
#define PIECE (1u << 20)
#define MAX_REPS 15

struct flags {
	const char *name;
	GLbitfield storage, map;
};

#define R GL_MAP_READ_BIT
#define W GL_MAP_WRITE_BIT
#define P GL_MAP_PERSISTENT_BIT
#define C GL_MAP_COHERENT_BIT
#define CS GL_CLIENT_STORAGE_BIT

static const struct flags out_flags[] = {
	{ "read, coherent, client storage (gpupipe's)", R | P | C | CS,
	  R | P | C },
	{ "read, coherent", R | P | C, R | P | C },
	{ "read, not coherent, client storage", R | P | CS, R | P },
	{ "read, not coherent", R | P, R | P },
	{ "read+write, coherent, client storage", R | W | P | C | CS,
	  R | W | P | C },
};

static const struct flags in_flags[] = {
	{ "write, coherent (gpupipe's)", W | P | C, W | P | C },
	{ "write, coherent, client storage", W | P | C | CS, W | P | C },
	{ "read+write, coherent, client storage", R | W | P | C | CS,
	  R | W | P | C },
};

static const char fill_src[] =
	"#version 430\n"
	"layout(local_size_x = 256) in;\n"
	"layout(std430, binding = 0) buffer B { uint b[]; };\n"
	"layout(std430, binding = 1) buffer S { uint bad; };\n"
	"uniform uint mode;\n" /* 0: fill, 1: check b[i] == i ^ key */
	"uniform uint key;\n"
	"void main() {\n"
	"  uint i = gl_GlobalInvocationID.x;\n"
	"  if (mode == 0u) b[i] = i * 3u + key;\n"
	"  else if (b[i] != (i ^ key)) atomicAdd(bad, 1u);\n"
	"}\n";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

__attribute__((target("sse4.1"))) static void
read_stream(void *dst, const void *src, size_t n)
{
	__m128i *d = dst;
	__m128i *s = (__m128i *)src;
	size_t i;

	for (i = 0; i < n / 16; i += 4) {
		__m128i a = _mm_stream_load_si128(s + i);
		__m128i b = _mm_stream_load_si128(s + i + 1);
		__m128i c = _mm_stream_load_si128(s + i + 2);
		__m128i e = _mm_stream_load_si128(s + i + 3);

		_mm_store_si128(d + i, a);
		_mm_store_si128(d + i + 1, b);
		_mm_store_si128(d + i + 2, c);
		_mm_store_si128(d + i + 3, e);
	}
}

static void read_plain(void *dst, const void *src, size_t n)
{
	__m128i *d = dst;
	const __m128i *s = src;
	size_t i;

	for (i = 0; i < n / 16; i++)
		_mm_store_si128(d + i, _mm_load_si128(s + i));
}

static void copy_memcpy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

static void write_stream(void *dst, const void *src, size_t n)
{
	__m128i *d = dst;
	const __m128i *s = src;
	size_t i;

	for (i = 0; i < n / 16; i++)
		_mm_stream_si128(d + i, _mm_load_si128(s + i));
	_mm_sfence();
}

typedef void (*copy_fn)(void *, const void *, size_t);

static GLuint prog, bad_buf;
static GLint u_mode, u_key;

static void gpu_pass(GLuint buf, unsigned mode, unsigned key)
{
	GLsync f;

	glUseProgram(prog);
	glUniform1ui(u_mode, mode);
	glUniform1ui(u_key, key);
	glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, buf);
	glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, bad_buf);
	glDispatchCompute(BUF_BYTES / 4 / 256, 1, 1);
	glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT |
			GL_BUFFER_UPDATE_BARRIER_BIT);
	f = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
	glFlush();
	glClientWaitSync(f, GL_SYNC_FLUSH_COMMANDS_BIT, 10000000000ull);
	glDeleteSync(f);
}

/* A buffer of BUF_BYTES made and mapped with fl's flags, bound to
 * GL_SHADER_STORAGE_BUFFER; NULL, having said so, if it cannot be mapped. */
static void *map_buffer(const char *side, const struct flags *fl,
			GLuint *buf)
{
	void *map;

	glGenBuffers(1, buf);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, *buf);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, BUF_BYTES, NULL,
			fl->storage);
	map = glMapBufferRange(GL_SHADER_STORAGE_BUFFER, 0, BUF_BYTES,
			       fl->map);
	if (!map) {
		printf("%-4s %-44s cannot map (0x%x)\n", side, fl->name,
		       glGetError());
		glDeleteBuffers(1, buf);
	}
	return map;
}

static void unmap_buffer(GLuint buf)
{
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, buf);
	glUnmapBuffer(GL_SHADER_STORAGE_BUFFER);
	glDeleteBuffers(1, &buf);
}

/* One line: the median and best GB/s of reps repetitions. */
static void print_rate(const char *side, const struct flags *fl,
		       const char *way, double *gbs, unsigned reps, int rc)
{
	qsort(gbs, reps, sizeof(gbs[0]), cmp_double);
	printf("%-4s %-44s %-16s %6.2f GB/s (max %6.2f)%s\n", side, fl->name,
	       way, gbs[reps / 2], gbs[reps - 1], rc ? "  WRONG DATA" : "");
}

/* Copy BUF_BYTES in PIECE-sized calls; GB/s. */
static double timed_copy(copy_fn fn, void *dst, const void *src)
{
	uint64_t t0 = probe_now_ns();
	unsigned k;

	for (k = 0; k < BUF_BYTES / PIECE; k++)
		fn((uint8_t *)dst + k * PIECE, (const uint8_t *)src + k * PIECE,
		   PIECE);
	return BUF_BYTES / (double)(probe_now_ns() - t0);
}

static int probe_out(const struct flags *fl, unsigned reps, void *host)
{
	static const struct {
		const char *name;
		copy_fn fn;
	} ways[] = {
		{ "memcpy", copy_memcpy },
		{ "16-byte loads", read_plain },
		{ "streaming loads", read_stream },
	};
	GLuint buf;
	uint32_t *map = map_buffer("out", fl, &buf);
	const uint32_t *h = host;
	unsigned w, r, k;
	int rc = 0;

	if (!map)
		return 1;
	for (w = 0; w < 3; w++) {
		double gbs[MAX_REPS];

		for (r = 0; r < reps; r++) {
			gpu_pass(buf, 0, r + 1); /* fresh data, cold caches */
			gbs[r] = timed_copy(ways[w].fn, host, map);
			for (k = 0; k < BUF_BYTES / 4; k += 4099)
				if (h[k] != k * 3u + r + 1)
					rc = 1;
		}
		print_rate("out", fl, ways[w].name, gbs, reps, rc);
	}
	unmap_buffer(buf);
	return rc;
}

/* Whether the GPU sees key's pattern (k ^ key) in buf; see fill_src. */
static bool gpu_sees(GLuint buf, uint32_t key)
{
	const uint32_t zero = 0;
	uint32_t bad = 1;

	glBindBuffer(GL_SHADER_STORAGE_BUFFER, bad_buf);
	glBufferSubData(GL_SHADER_STORAGE_BUFFER, 0, 4, &zero);
	gpu_pass(buf, 1, key);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, bad_buf);
	glGetBufferSubData(GL_SHADER_STORAGE_BUFFER, 0, 4, &bad);
	return bad == 0;
}

static int probe_in(const struct flags *fl, unsigned reps, uint32_t *host)
{
	static const struct {
		const char *name;
		copy_fn fn;
	} ways[] = {
		{ "memcpy", copy_memcpy },
		{ "streaming stores", write_stream },
	};
	GLuint buf;
	void *map = map_buffer("in", fl, &buf);
	unsigned w, r, k;
	int rc = 0;

	if (!map)
		return 1;
	for (w = 0; w < 2; w++) {
		double gbs[MAX_REPS];

		for (r = 0; r < reps; r++) {
			uint32_t key = 0x9e3779b9u * (r + 1 + 16 * w);

			for (k = 0; k < BUF_BYTES / 4; k++)
				host[k] = k ^ key;
			gpu_pass(buf, 0, 0); /* the GPU touched it last */
			gbs[r] = timed_copy(ways[w].fn, map, host);
			if (!gpu_sees(buf, key))
				rc = 1;
		}
		print_rate("in", fl, ways[w].name, gbs, reps, rc);
	}
	unmap_buffer(buf);
	return rc;
}

/* The fill/check program and its counter of wrong elements. */
static int make_program(void)
{
	const char *src = fill_src;
	GLuint sh = glCreateShader(GL_COMPUTE_SHADER);
	GLint ok = 0;

	glShaderSource(sh, 1, &src, NULL);
	glCompileShader(sh);
	prog = glCreateProgram();
	glAttachShader(prog, sh);
	glLinkProgram(prog);
	glDeleteShader(sh);
	glGetProgramiv(prog, GL_LINK_STATUS, &ok);
	u_mode = glGetUniformLocation(prog, "mode");
	u_key = glGetUniformLocation(prog, "key");
	glGenBuffers(1, &bad_buf);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, bad_buf);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, 4, NULL,
			GL_DYNAMIC_STORAGE_BIT);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "reps", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned reps = 5, i;
	int device = -1, c, rc = 0;
	char err[256];
	EGLDisplay dpy;
	EGLContext ctx;
	void *host;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': device = atoi(optarg); break;
		case 'r': reps = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: probe-mapping [--device N] "
				"[--reps N]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "probe-mapping: --reps 1..%d\n", MAX_REPS);
		return 2;
	}
	dpy = bench_egl_display(device, err, sizeof(err));
	if (dpy == EGL_NO_DISPLAY) {
		fprintf(stderr, "probe-mapping: %s\n", err);
		return 1;
	}
	ctx = bench_egl_context(dpy, EGL_NO_CONTEXT, false);
	if (ctx == EGL_NO_CONTEXT ||
	    !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
		fprintf(stderr, "probe-mapping: no GL context (0x%x)\n",
			eglGetError());
		return 1;
	}
	printf("renderer: %s | %s\n", (const char *)glGetString(GL_RENDERER),
	       (const char *)glGetString(GL_VERSION));
	if (make_program() || posix_memalign(&host, 64, BUF_BYTES)) {
		fprintf(stderr, "probe-mapping: no program or no memory\n");
		return 1;
	}
	memset(host, 1, BUF_BYTES);
	for (i = 0; i < sizeof(out_flags) / sizeof(out_flags[0]); i++)
		rc |= probe_out(&out_flags[i], reps, host);
	for (i = 0; i < sizeof(in_flags) / sizeof(in_flags[0]); i++)
		rc |= probe_in(&in_flags[i], reps, host);
	free(host);
	glDeleteBuffers(1, &bad_buf);
	glDeleteProgram(prog);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	eglTerminate(dpy);
	return rc;
}
