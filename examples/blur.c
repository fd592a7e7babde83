/* SPDX-License-Identifier: MIT */
/*
 * blur: a Gaussian blur of a PNG image on the GPU, tile by tile through a
 * gpupipe pipeline, checked against the same blur on the CPU.
 *
 *   blur IN.png OUT.png [RADIUS]     blur a real image (RADIUS 1..8,
 *                                    default 3)
 *   blur --selftest                  draw an image, write and read it back
 *                                    as PNG, blur it, check it
 *   blur -h | --help                 the usage
 *
 * Each item is one 64 x 64 tile: prep_cb copies the tile and a halo of
 * `radius` pixels around it (clamped at the image's edges) into the
 * mapped input; the shader (shaders/blur.comp) weighs the neighbourhood
 * with separable Gaussian weights from the shared buffer (binding 1), in
 * premultiplied alpha; done_cb copies the blurred tile into the output
 * image. libpng (Debian's libpng-dev) reads and writes the PNG data.
 *
 *   cc blur.c $(pkg-config --cflags --libs gpupipe libpng) -lm -o blur
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, under -std=c11 too */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpupipe.h>
#include <png.h>

/* Where blur.comp is: $GPUPIPE_SHADER_DIR, else the installed folder
 * (pkg-config --variable=shaderdir gpupipe), else ./shaders. */
#ifndef BLUR_SHADER_DIR
#define BLUR_SHADER_DIR "/usr/local/share/gpupipe"
#endif
#ifndef BLUR_SOURCE_SHADER_DIR
#define BLUR_SOURCE_SHADER_DIR "shaders"
#endif

#define TILE 64
#define MAX_RADIUS 8
#define DEFAULT_RADIUS 3

struct image {
	uint32_t w, h;
	uint32_t *px; /* RGBA8, as libpng's PNG_FORMAT_RGBA lays it out */
};

struct blur {
	struct image in, out;
	uint32_t radius, tiles_x, tiles_y;
	float weights[2 * MAX_RADIUS + 1];
	unsigned failed;
};

static uint32_t clampi(int64_t v, uint32_t hi)
{
	return v < 0 ? 0 : v >= (int64_t)hi ? hi - 1 : (uint32_t)v;
}

static int prep(struct gpupipe_job *job, void *user)
{
	const struct blur *b = user;
	uint32_t t = (uint32_t)(uintptr_t)job->item;
	uint32_t x0 = t % b->tiles_x * TILE, y0 = t / b->tiles_x * TILE;
	uint32_t tw = b->in.w - x0 < TILE ? b->in.w - x0 : TILE;
	uint32_t th = b->in.h - y0 < TILE ? b->in.h - y0 : TILE;
	uint32_t r = b->radius, stride = tw + 2 * r, x, y;
	uint32_t *dst = job->input;

	for (y = 0; y < th + 2 * r; y++) {
		const uint32_t *row = b->in.px +
			(size_t)clampi((int64_t)y0 + y - r, b->in.h) * b->in.w;

		for (x = 0; x < stride; x++)
			dst[y * stride + x] =
				row[clampi((int64_t)x0 + x - r, b->in.w)];
	}
	job->params[0] = tw;
	job->params[1] = th;
	job->params[2] = r;
	job->groups[0] = (tw + 7) / 8;
	job->groups[1] = (th + 7) / 8;
	return 0;
}

static void done(struct gpupipe_job *job, void *user)
{
	struct blur *b = user;
	uint32_t t = (uint32_t)(uintptr_t)job->item;
	uint32_t x0 = t % b->tiles_x * TILE, y0 = t / b->tiles_x * TILE;
	uint32_t tw = b->in.w - x0 < TILE ? b->in.w - x0 : TILE;
	uint32_t th = b->in.h - y0 < TILE ? b->in.h - y0 : TILE;
	const uint32_t *src = job->output;
	uint32_t y;

	if (job->status != GPUPIPE_DONE) {
		fprintf(stderr, "tile %u: %s: %s\n", t,
			gpupipe_status_name(job->status), job->message);
		b->failed++;
		return;
	}
	for (y = 0; y < th; y++)
		memcpy(b->out.px + (size_t)(y0 + y) * b->out.w + x0,
		       src + (size_t)y * tw, tw * sizeof(uint32_t));
}

/*
 * The same blur on the CPU, in the same float arithmetic and rounding as
 * blur.comp: in premultiplied alpha, because a transparent pixel has no
 * colour. Averaging straight RGBA, as both once did, mixed the black of a
 * transparent background into white text's edges (their semi-transparent
 * pixels' mean colour fell from 255 to 183), and this check agreed.
 */
static uint32_t cpu_pixel(const struct blur *b, uint32_t x, uint32_t y)
{
	float acc[4] = { 0, 0, 0, 0 }; /* premultiplied r, g, b; alpha */
	int r = (int)b->radius, dx, dy, c;
	uint32_t v = 0;

	for (dy = -r; dy <= r; dy++) {
		const uint32_t *row = b->in.px +
			(size_t)clampi((int64_t)y + dy, b->in.h) * b->in.w;

		for (dx = -r; dx <= r; dx++) {
			uint32_t px = row[clampi((int64_t)x + dx, b->in.w)];
			float wa = b->weights[dy + r] * b->weights[dx + r] *
				   ((float)(px >> 24) / 255.0f);

			for (c = 0; c < 3; c++)
				acc[c] += wa * ((float)(px >> (8 * c) & 0xff) /
						255.0f);
			acc[3] += wa;
		}
	}
	/* Colour back from premultiplied: / alpha, 0 where alpha is 0. */
	for (c = 0; c < 3; c++)
		acc[c] = acc[3] > 0 ? acc[c] / acc[3] : 0;
	for (c = 0; c < 4; c++) {
		float f = acc[c] < 0 ? 0 : acc[c] > 1 ? 1 : acc[c];

		v |= (uint32_t)floorf(f * 255.0f + 0.5f) << (8 * c);
	}
	return v;
}

static void cpu_blur(const struct blur *b, struct image *ref)
{
	uint32_t x, y;

	for (y = 0; y < b->in.h; y++)
		for (x = 0; x < b->in.w; x++)
			ref->px[(size_t)y * ref->w + x] = cpu_pixel(b, x, y);
}

static int read_png(const char *path, struct image *img)
{
	png_image pi;

	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path)) {
		fprintf(stderr, "blur: %s: %s\n", path, pi.message);
		return -1;
	}
	pi.format = PNG_FORMAT_RGBA;
	img->w = pi.width;
	img->h = pi.height;
	img->px = malloc(PNG_IMAGE_SIZE(pi));
	if (!img->px || !png_image_finish_read(&pi, NULL, img->px, 0, NULL)) {
		fprintf(stderr, "blur: %s: %s\n", path, pi.message);
		png_image_free(&pi);
		return -1;
	}
	return 0;
}

/*
 * Writes img as PNG to f, open on path, and closes f. The PNG is made in
 * memory and written here, not with png_image_write_to_file: that one says
 * only "Write Error" when a write fails, and removes the file it was given
 * (as root, /dev/full itself). An error names path and errno's reason.
 */
static int write_png(FILE *f, const char *path, const struct image *img)
{
	png_alloc_size_t size = 0;
	const char *msg = NULL;
	png_image pi;
	void *mem = NULL;

	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	pi.width = img->w;
	pi.height = img->h;
	pi.format = PNG_FORMAT_RGBA;
	if (!png_image_write_get_memory_size(pi, size, 0, img->px, 0, NULL))
		msg = pi.message;
	else if (!(mem = malloc(size)))
		msg = strerror(ENOMEM);
	else if (!png_image_write_to_memory(&pi, mem, &size, 0, img->px, 0,
					    NULL))
		msg = pi.message;
	else if (fwrite(mem, 1, size, f) != size || fflush(f))
		msg = strerror(errno);
	if (fclose(f) && !msg)
		msg = strerror(errno);
	free(mem);
	if (msg) {
		fprintf(stderr, "blur: %s: %s\n", path, msg);
		return -1;
	}
	return 0;
}

/* A test card: gradients, a checkerboard and a disc, so edges and flat
 * areas both show in the comparison; a third of the squares transparent
 * (their colour kept, as the blur must ignore it), a third with alpha
 * falling from left to right, so premultiplied blending is checked too. */
static void draw(struct image *img, uint32_t w, uint32_t h)
{
	uint32_t x, y;

	img->w = w;
	img->h = h;
	img->px = malloc((size_t)w * h * 4);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			uint32_t r = x * 255 / w, g = y * 255 / h;
			uint32_t b = ((x / 16 + y / 16) & 1) ? 230 : 20;
			uint32_t a = (x / 16 + y / 16) % 3 == 0 ? 0 :
				     (x / 16 + y / 16) % 3 == 1 ? 255 :
				     255 - x * 255 / w;
			int dx = (int)x - (int)w / 2, dy = (int)y - (int)h / 2;

			if (dx * dx + dy * dy < (int)(h * h / 9))
				r = g = b = a = 250;
			img->px[(size_t)y * w + x] = r | g << 8 | b << 16 |
						     a << 24;
		}
}

static char *load_shader(const char *argv0)
{
	const char *env = getenv("GPUPIPE_SHADER_DIR");
	const char *dirs[] = { env, BLUR_SHADER_DIR, BLUR_SOURCE_SHADER_DIR };
	char path[4096];
	char *src;
	unsigned i;

	for (i = 0; i < 3; i++) {
		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/blur.comp", dirs[i]);
		if (gpupipe_load_shader(path, &src) == 0)
			return src;
	}
	fprintf(stderr, "%s: cannot find blur.comp (set GPUPIPE_SHADER_DIR): "
		"%s\n", argv0, gpupipe_errmsg());
	return NULL;
}


static void usage(FILE *f)
{
	fprintf(f,
	"usage: blur IN.png OUT.png [RADIUS]  blur IN.png into OUT.png\n"
	"       blur --selftest               blur a drawn test card\n"
	"       blur -h | --help              print this and exit\n"
	"RADIUS: the Gaussian's radius in pixels, %d..%d (default %d).\n"
	"Colour is blended in premultiplied alpha: transparent pixels add\n"
	"none. The GPU's result is checked against the same blur on the\n"
	"CPU. Exit status: 0 done; 1 failed (unreadable input, unwritable\n"
	"output, GPU and CPU more than 1/255 apart); 2 bad arguments.\n",
		1, MAX_RADIUS, DEFAULT_RADIUS);
}

struct args {
	const char *in, *out; /* in NULL: --selftest */
	uint32_t radius;
};

/* 0: run; 1: --help done; -1: bad arguments, said on stderr. */
static int parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	long r;
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 1;
		}
	a->in = a->out = NULL;
	a->radius = DEFAULT_RADIUS;
	if (argc == 2 && !strcmp(argv[1], "--selftest"))
		return 0;
	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "blur: unknown option %s\n", argv[i]);
			goto bad;
		}
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "blur: %s\n", argc < 3 ? "IN.png and OUT.png?" :
			"too many arguments");
		goto bad;
	}
	a->in = argv[1];
	a->out = argv[2];
	if (argc == 3)
		return 0;
	errno = 0;
	r = strtol(argv[3], &end, 10);
	if (errno || end == argv[3] || *end || r < 1 || r > MAX_RADIUS) {
		fprintf(stderr, "blur: radius %s is not %d..%d\n", argv[3], 1,
			MAX_RADIUS);
		goto bad;
	}
	a->radius = (uint32_t)r;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* Separable Gaussian weights, sigma = radius / 2, sum 1. */
static void set_weights(struct blur *b)
{
	float s = 0, sigma = (float)b->radius / 2.0f;
	int k, r = (int)b->radius;

	for (k = -r; k <= r; k++)
		s += b->weights[k + r] = expf(-(float)(k * k) /
					      (2 * sigma * sigma));
	for (k = 0; k <= 2 * r; k++)
		b->weights[k] /= s;
}

/* Every tile through the pipeline; 0, or -1 when it could not start. */
static int run_gpu(struct blur *b, const char *argv0)
{
	struct gpupipe_config cfg;
	gpupipe *p;
	uint64_t i, n = (uint64_t)b->tiles_x * b->tiles_y;
	char *shader = load_shader(argv0);
	int ret;

	if (!shader)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.shader_source = shader;
	cfg.in_bytes = (TILE + 2 * MAX_RADIUS) * (TILE + 2 * MAX_RADIUS) * 4;
	cfg.out_bytes = TILE * TILE * 4;
	cfg.weights = b->weights;
	cfg.weights_bytes = sizeof(b->weights);
	cfg.prep_threads = 2;
	cfg.prep_cb = prep;
	cfg.done_cb = done;
	cfg.user_data = b;
	ret = gpupipe_create(&cfg, &p);
	free(shader);
	if (ret) {
		fprintf(stderr, "gpupipe_create: %s\n%s\n",
			gpupipe_strerror(ret), gpupipe_errmsg());
		return -1;
	}
	for (i = 0; i < n; i++)
		gpupipe_push(p, (void *)(uintptr_t)i, 0);
	gpupipe_drain(p, -1);
	gpupipe_destroy(p);
	return 0;
}

/* --selftest's input: the test card, through a PNG file and back. */
static int selftest_input(struct image *img)
{
	char path[] = "/tmp/gpupipe-blur-XXXXXX";
	int fd = mkstemp(path), ret;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");

	if (!f) {
		fprintf(stderr, "blur: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	draw(img, 517, 389);
	ret = write_png(f, path, img);
	free(img->px);
	img->px = NULL;
	if (!ret)
		ret = read_png(path, img);
	unlink(path);
	return ret;
}

int main(int argc, char **argv)
{
	struct args a;
	struct blur b;
	struct image ref = { 0, 0, NULL };
	FILE *out = NULL;
	uint64_t i, worst = 0, off = 0;
	double sum = 0;
	int ret = parse_args(argc, argv, &a), c;

	if (ret)
		return ret > 0 ? 0 : 2;
	memset(&b, 0, sizeof(b));
	b.radius = a.radius;
	if (a.in ? read_png(a.in, &b.in) : selftest_input(&b.in))
		return 1;
	/* Opened before the work, so that a path that cannot be written
	 * fails at once; a write that fails later fails the same way. */
	ret = 1; /* until the end: each early exit frees what was made */
	if (a.out && !(out = fopen(a.out, "wb"))) {
		fprintf(stderr, "blur: %s: %s\n", a.out, strerror(errno));
		goto done;
	}
	b.out = b.in;
	b.out.px = calloc((size_t)b.in.w * b.in.h, 4);
	ref = b.in;
	ref.px = calloc((size_t)b.in.w * b.in.h, 4);
	b.tiles_x = (b.in.w + TILE - 1) / TILE;
	b.tiles_y = (b.in.h + TILE - 1) / TILE;
	set_weights(&b);
	if (!b.out.px || !ref.px)
		fprintf(stderr, "blur: %s\n", strerror(ENOMEM));
	if (!b.out.px || !ref.px || run_gpu(&b, argv[0])) {
		if (out)
			fclose(out);
		goto done;
	}
	cpu_blur(&b, &ref);
	for (i = 0; i < (uint64_t)b.in.w * b.in.h; i++)
		for (c = 0; c < 4; c++) {
			int d = abs((int)(b.out.px[i] >> (8 * c) & 0xff) -
				    (int)(ref.px[i] >> (8 * c) & 0xff));

			worst = (uint64_t)d > worst ? (uint64_t)d : worst;
			off += d > 1;
			sum += d;
		}
	/* The summary only after the output is written: a failed write
	 * says so, once, and nothing else. */
	if (out && write_png(out, a.out, &b.out))
		goto done; /* write_png closed out */
	printf("blur: %ux%u image, radius %u, %u tiles: largest difference "
	       "from the CPU blur %llu/255, %llu channels off by more than 1, "
	       "mean %.4f\n", b.in.w, b.in.h, b.radius, b.tiles_x * b.tiles_y,
	       (unsigned long long)worst, (unsigned long long)off,
	       sum / ((double)b.in.w * b.in.h * 4));
	/* Float sums in another order may round 1/255 apart, never more. */
	ret = b.failed || worst > 1 ? 1 : 0;
done:
	free(b.in.px);
	free(b.out.px);
	free(ref.px);
	return ret;
}
