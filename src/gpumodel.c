/* SPDX-License-Identifier: MIT */
/*
 * The GPU model of the fault-injection build (fault.h says what it does).
 * llvmpipe runs each dispatch while the submit thread makes it, so its
 * fences are signalled when made: the paths that wait for a pending fence,
 * poll it again, time it out or see the GPU reset never run on it. The
 * model gives each fence a time at which it signals and holds it pending
 * until then, in the GL wrappers of fault.c:
 *
 *   each submit context's work runs on a modelled GPU of its own, one
 *   batch after another: a fence signals batch_us, plus item_us per
 *   glDispatchCompute since the fence before it, after the later of its
 *   making and the signal of the fence before it (a timer query after
 *   the dispatches is written before the batch_us, which stands for the
 *   batch's closing barrier);
 *   a hang: work made from then on never finishes, until a reset; a
 *   wait that has waited TDR_NS for hung work resets the GPU, as a
 *   driver's watchdog would (so a test that hangs the GPU and then
 *   waits in glFinish cannot wait for ever);
 *   a reset: every context that exists is lost (its waits return at once
 *   as if signalled, each GL call leaves GL_CONTEXT_LOST), and each one
 *   reports the reset once, on its first glGetGraphicsResetStatus after
 *   it, as the robustness extension says (GL 4.5, section 2.3.2).
 *
 * A timer query made after the modelled work is available only once that
 * work has finished, so reading a result waits like the GPU would.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "gl.h"

#define NEVER UINT64_MAX
/* How long a modelled wait sleeps before it looks again. */
#define WAIT_STEP_NS 500000ull
/* How long a wait for hung work lasts before the watchdog resets. */
#define TDR_NS 30000000000ull

static _Atomic bool model_on;
static _Atomic unsigned long model_batch_ns, model_item_ns;
static _Atomic bool model_hung;
static _Atomic unsigned long model_pending; /* polls that found it pending */
/* Bumped by gp_model_clear: a thread's state of an earlier model is
 * stale. */
static _Atomic unsigned model_gen = 1;

/* Fences made under the model, with when each signals. */
#define FENCES 4096
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const void *fence;
	uint64_t done_ns;
} fences[FENCES];

/* The library's contexts, and whether each is lost and has said so. */
#define CONTEXTS 256
static struct {
	const void *ctx;
	bool lost, reported;
} contexts[CONTEXTS];
static _Atomic unsigned resets; /* any context lost since the last clear */

/* This thread's current context, and its modelled GPU: when the work made
 * so far finishes, and the dispatches since the last fence. */
static _Thread_local const void *current_ctx;
static _Thread_local uint64_t gpu_free_ns;
static _Thread_local unsigned long dispatches;
static _Thread_local unsigned thread_gen;

/* Timer queries made on this thread (the submit thread makes and reads
 * them all), with when each is written. */
#define QUERIES 2048
static _Thread_local struct {
	unsigned id;
	uint64_t ready_ns;
} queries[QUERIES];

void gpupipe_fault_gpu(unsigned batch_us, unsigned item_us)
{
	atomic_store(&model_batch_ns, batch_us * 1000ul);
	atomic_store(&model_item_ns, item_us * 1000ul);
	atomic_store(&model_on, true);
}

void gpupipe_fault_gpu_hang(void)
{
	atomic_store(&model_hung, true);
}

void gpupipe_fault_gpu_reset(void)
{
	unsigned i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < CONTEXTS; i++)
		if (contexts[i].ctx && !contexts[i].lost) {
			contexts[i].lost = true;
			contexts[i].reported = false;
		}
	atomic_fetch_add(&resets, 1);
	atomic_store(&model_hung, false);
	pthread_mutex_unlock(&lock);
}

unsigned long gpupipe_fault_gpu_pending(void)
{
	return atomic_load(&model_pending);
}

void gp_model_clear(void)
{
	unsigned i;

	pthread_mutex_lock(&lock);
	atomic_store(&model_on, false);
	atomic_store(&model_hung, false);
	atomic_store(&model_pending, 0);
	atomic_fetch_add(&model_gen, 1);
	atomic_store(&resets, 0);
	for (i = 0; i < FENCES; i++)
		fences[i].fence = NULL;
	for (i = 0; i < CONTEXTS; i++)
		contexts[i].lost = contexts[i].reported = false;
	pthread_mutex_unlock(&lock);
}

/* ---- contexts --------------------------------------------------------- */

void gp_model_context_created(const void *ctx)
{
	unsigned i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < CONTEXTS && contexts[i].ctx; i++)
		;
	if (i < CONTEXTS) {
		contexts[i].ctx = ctx;
		contexts[i].lost = contexts[i].reported = false;
	}
	pthread_mutex_unlock(&lock);
}

void gp_model_context_destroyed(const void *ctx)
{
	unsigned i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < CONTEXTS; i++)
		if (contexts[i].ctx == ctx)
			contexts[i].ctx = NULL;
	pthread_mutex_unlock(&lock);
}

void gp_model_made_current(const void *ctx)
{
	current_ctx = ctx;
	gpu_free_ns = 0;
	dispatches = 0;
}

/* Calls f on the current context's entry under the lock; false if the
 * context is not one of the library's, or no context was ever lost. */
static bool with_context(bool (*f)(unsigned i))
{
	unsigned i;
	bool r = false;

	if (!atomic_load(&resets) || !current_ctx)
		return false;
	pthread_mutex_lock(&lock);
	for (i = 0; i < CONTEXTS; i++)
		if (contexts[i].ctx == current_ctx) {
			r = f(i);
			break;
		}
	pthread_mutex_unlock(&lock);
	return r;
}

static bool is_lost(unsigned i)
{
	return contexts[i].lost;
}

static bool report_once(unsigned i)
{
	bool first = contexts[i].lost && !contexts[i].reported;

	contexts[i].reported = true;
	return first;
}

bool gp_model_lost(void)
{
	return with_context(is_lost);
}

bool gp_model_reset_status(unsigned *status)
{
	if (with_context(report_once)) {
		*status = GL_UNKNOWN_CONTEXT_RESET;
		return true;
	}
	/* Reported already: a lost context stays lost, and says NO_ERROR. */
	*status = GL_NO_ERROR;
	return gp_model_lost();
}

/* ---- work, fences and queries ------------------------------------------ */

/* This thread's modelled GPU, afresh if the model was cleared since. */
static void thread_state(void)
{
	unsigned gen = atomic_load(&model_gen);

	if (thread_gen == gen)
		return;
	thread_gen = gen;
	gpu_free_ns = 0;
	dispatches = 0;
	memset(queries, 0, sizeof(queries));
}

/* When the dispatches made so far on this thread's context have run, and
 * (with close) the batch's closing work too, which a fence waits for. */
static uint64_t work_done_ns(bool close)
{
	uint64_t now = gp_now_ns(), start, ns;

	if (atomic_load(&model_hung) || gpu_free_ns == NEVER)
		return NEVER;
	start = gpu_free_ns > now ? gpu_free_ns : now;
	ns = atomic_load(&model_item_ns) * dispatches;
	if (close)
		ns += atomic_load(&model_batch_ns);
	return start + ns;
}

void gp_model_dispatched(void)
{
	if (!atomic_load(&model_on))
		return;
	thread_state();
	dispatches++;
}

void gp_model_fence_made(const void *fence)
{
	unsigned i;
	uint64_t done;

	if (!fence || !atomic_load(&model_on))
		return;
	thread_state();
	done = work_done_ns(true);
	gpu_free_ns = done;
	dispatches = 0;
	pthread_mutex_lock(&lock);
	/* An entry of the same name is stale: its delete failed. */
	for (i = 0; i < FENCES && fences[i].fence && fences[i].fence != fence;
	     i++)
		;
	if (i < FENCES) {
		fences[i].fence = fence;
		fences[i].done_ns = done;
	}
	pthread_mutex_unlock(&lock);
}

void gp_model_fence_deleted(const void *fence)
{
	unsigned i;

	if (!fence)
		return;
	pthread_mutex_lock(&lock);
	for (i = 0; i < FENCES; i++)
		if (fences[i].fence == fence)
			fences[i].fence = NULL;
	pthread_mutex_unlock(&lock);
}

static uint64_t fence_done_ns(const void *fence)
{
	uint64_t done = 0;
	unsigned i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < FENCES; i++)
		if (fences[i].fence == fence) {
			done = fences[i].done_ns;
			break;
		}
	pthread_mutex_unlock(&lock);
	return done;
}

/* Sleep until done_ns, at most timeout_ns, or until the context is lost
 * or the model is cleared; true if the work is done (or the context lost)
 * by then. Hung work (NEVER) waited for TDR_NS resets the GPU. */
static bool wait_until(uint64_t done_ns, uint64_t timeout_ns)
{
	uint64_t now = gp_now_ns(), start = now;
	uint64_t end = timeout_ns > NEVER - now ? NEVER : now + timeout_ns;

	while (now < done_ns && !gp_model_lost() && atomic_load(&model_on)) {
		uint64_t step = done_ns - now < WAIT_STEP_NS ? done_ns - now
							      : WAIT_STEP_NS;
		struct timespec ts = { 0, 0 };

		if (now >= end)
			return false;
		if (done_ns == NEVER && now - start >= TDR_NS) {
			gpupipe_fault_gpu_reset();
			return true;
		}
		if (end - now < step)
			step = end - now;
		ts.tv_nsec = (long)step;
		nanosleep(&ts, NULL);
		now = gp_now_ns();
	}
	return true;
}

bool gp_model_fence_wait(const void *fence, uint64_t timeout_ns)
{
	uint64_t done;

	if (!atomic_load(&model_on) || gp_model_lost())
		return true;
	done = fence_done_ns(fence);
	if (done <= gp_now_ns())
		return true;
	if (!timeout_ns) {
		atomic_fetch_add(&model_pending, 1);
		return false;
	}
	return wait_until(done, timeout_ns);
}

void gp_model_finish(void)
{
	if (!atomic_load(&model_on))
		return;
	thread_state();
	gpu_free_ns = work_done_ns(true);
	dispatches = 0;
	wait_until(gpu_free_ns, NEVER);
}

static unsigned query_at(unsigned id)
{
	unsigned i = id % QUERIES, n;

	for (n = 0; n < QUERIES; n++, i = (i + 1) % QUERIES)
		if (queries[i].id == id || !queries[i].id)
			return i;
	return QUERIES;
}

void gp_model_query_counter(unsigned id)
{
	unsigned i;

	if (!atomic_load(&model_on) || !id)
		return;
	thread_state();
	i = query_at(id);
	if (i == QUERIES)
		return;
	queries[i].id = id;
	/* Written once the work made before it has run. */
	queries[i].ready_ns = dispatches ? work_done_ns(false) : gpu_free_ns;
}

bool gp_model_query_ready(unsigned id, bool wait)
{
	unsigned i;

	if (!atomic_load(&model_on) || !id || gp_model_lost())
		return true;
	thread_state();
	i = query_at(id);
	if (i == QUERIES || queries[i].id != id)
		return true;
	if (queries[i].ready_ns <= gp_now_ns())
		return true;
	return wait ? wait_until(queries[i].ready_ns, NEVER) : false;
}
