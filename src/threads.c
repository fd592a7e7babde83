/* SPDX-License-Identifier: MIT */
/*
 * What every thread of the library shares, below the stages: the start
 * handshake (a thread reports that it runs, or why it cannot), the fork
 * guard, the marker of "this thread is in a callback of p", and the
 * timer slack of the threads whose sleeps are timed to the GPU. The
 * stages call down into it; nothing here calls a stage (the thread
 * function is passed in), so no module circle runs through it.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "internal.h"

void gp_thread_setup(const char *role, unsigned n, bool numbered,
		     clockid_t *cpu_clock)
{
	char name[16];

	if (numbered)
		snprintf(name, sizeof(name), "gp-%s%u", role, n);
	else
		snprintf(name, sizeof(name), "gp-%s", role);
	pthread_setname_np(pthread_self(), name);
	pthread_getcpuclockid(pthread_self(), cpu_clock);
}

/*
 * Linux ends a timed sleep of a normal thread up to its timer slack late,
 * 50 us by default: as long as a whole batch of tiny items on the H100.
 * The submit thread's holds and fence polls and the readback thread's
 * waits are timed to the GPU, so theirs is 1 ns.
 */
void gp_thread_timely(void)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

/* The pipeline whose prep_cb or done_cb this thread is running. */
_Thread_local const struct gpupipe *gp_in_callback;

/*
 * fork(): the child has none of the pipeline's threads, so a push, drain
 * or destroy there would wait for ever. Once a process has created a
 * pipeline, every call that could wait answers GPUPIPE_EBROKEN in a forked
 * child instead.
 */
static atomic_int forked;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
	atomic_store(&forked, 1);
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

void gp_fork_guard_init(void)
{
	pthread_once(&atfork_once, register_atfork);
}

int gp_check_fork(const char *call)
{
	if (!atomic_load_explicit(&forked, memory_order_relaxed))
		return 0;
	return gp_error(GPUPIPE_EBROKEN, "%s: this process was forked after "
			"it created a pipeline; pipelines and their threads "
			"do not survive fork(), and gpupipe cannot be used in "
			"the child", call);
}

void gp_start_report(struct gpupipe *p, int result)
{
	pthread_mutex_lock(&p->start.lock);
	if (result && !p->start.result) {
		p->start.result = result;
		snprintf(p->start.msg, sizeof(p->start.msg), "%s",
			 gpupipe_errmsg());
	}
	p->start.pending--;
	pthread_cond_signal(&p->start.cond);
	pthread_mutex_unlock(&p->start.lock);
}

/*
 * Start one thread and wait until it runs or says why it cannot. Library
 * threads block every signal, so the application's handlers never run on
 * them. *started tells the caller to join the thread, even on failure.
 */
int gp_thread_start(struct gpupipe *p, pthread_t *thread, bool *started,
		    void *(*fn)(void *), void *arg, const char *what)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_lock(&p->start.lock);
	p->start.pending = 1;
	p->start.result = 0;
	pthread_mutex_unlock(&p->start.lock);

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = gp_thread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return gp_error(GPUPIPE_ETHREAD, "cannot start the %s thread: "
				"pthread_create: %s", what, strerror(rc));
	*started = true;

	pthread_mutex_lock(&p->start.lock);
	while (p->start.pending)
		pthread_cond_wait(&p->start.cond, &p->start.lock);
	rc = p->start.result;
	pthread_mutex_unlock(&p->start.lock);
	if (rc)
		return gp_error(rc, "%s", p->start.msg);
	return 0;
}
