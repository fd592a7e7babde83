/* SPDX-License-Identifier: MIT */
/*
 * Handles. The gpupipe pointer an application holds is not the address of
 * the pipeline but the name of an entry in a table that lives as long as
 * the process: entry index and generation, with the low bit set so that no
 * real pointer is mistaken for one. The entry holds the pipeline and one
 * word: its generation, two flags and the number of calls inside it.
 *
 * Every public call on a pipeline enters through its entry (the count goes
 * up) and leaves (it goes down). Destroy marks the entry DESTROYING (a
 * second destroy is refused), does its work while calls still come and go,
 * then marks it CLOSED (no call enters any more), waits until no call is
 * inside, frees the pipeline and moves the entry to its next generation.
 * A call that comes later, or with a handle from an earlier generation,
 * fails with GPUPIPE_ESHUTDOWN (anything that is no handle at all, with
 * GPUPIPE_EINVAL): it never reads freed memory, and no clock bounds any of
 * this.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

#define CHUNK 256u        /* entries allocated at once */
#define CHUNKS 256u       /* so at most 65536 pipelines at once */
#define CALLS_MASK 0x3fffffffull
#define DESTROYING (1ull << 30)
#define CLOSED (1ull << 31)
#define GEN_SHIFT 32
#if UINTPTR_MAX > 0xffffffffu
#define HANDLE_GEN_MASK 0xffffffffull
#else
#define HANDLE_GEN_MASK 0x7fffull /* 32-bit pointers: 15 bits of it */
#endif

struct entry {
	_Atomic uint64_t word;         /* gen | CLOSED | DESTROYING | calls */
	struct gpupipe *_Atomic p;
	unsigned next_free;            /* under table_lock */
};

static struct entry *_Atomic chunks[CHUNKS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned nentries;          /* entries made so far */
static unsigned free_head = UINT32_MAX;
/* Destroys waiting for the last call to leave a CLOSED entry. */
static struct gp_wake calls_left;

static gpupipe *encode(unsigned index, uint64_t gen)
{
	return (gpupipe *)(uintptr_t)(((gen & HANDLE_GEN_MASK) << 17 |
				       (uintptr_t)index << 1) | 1u);
}

static unsigned index_of(const gpupipe *h)
{
	return (unsigned)((uintptr_t)h >> 1 & 0xffff);
}

/* The entry h names and the generation it names, or NULL. */
static struct entry *decode(const gpupipe *h, uint64_t *gen)
{
	uintptr_t v = (uintptr_t)h;
	unsigned index = index_of(h);
	struct entry *c;

	if (!(v & 1) || index >= CHUNK * CHUNKS)
		return NULL;
	c = atomic_load_explicit(&chunks[index / CHUNK], memory_order_acquire);
	if (!c)
		return NULL;
	*gen = (uint64_t)(v >> 17) & HANDLE_GEN_MASK;
	return &c[index % CHUNK];
}

static bool same_gen(uint64_t word, uint64_t gen)
{
	return (word >> GEN_SHIFT & HANDLE_GEN_MASK) == gen;
}

int gp_handle_new(struct gpupipe *p, gpupipe **out)
{
	struct entry *e;
	unsigned index;

	pthread_mutex_lock(&table_lock);
	if (free_head == UINT32_MAX) {
		if (nentries == CHUNK * CHUNKS) {
			pthread_mutex_unlock(&table_lock);
			return gp_error(GPUPIPE_ENOMEM, "gpupipe_create: %u "
					"pipelines exist already; destroy one",
					CHUNK * CHUNKS);
		}
		if (!chunks[nentries / CHUNK]) {
			e = gp_calloc(CHUNK, sizeof(*e));
			if (!e) {
				pthread_mutex_unlock(&table_lock);
				return gp_error(GPUPIPE_ENOMEM, "cannot allocate "
						"pipeline handles");
			}
			atomic_store_explicit(&chunks[nentries / CHUNK], e,
					      memory_order_release);
		}
		free_head = nentries++;
		chunks[free_head / CHUNK][free_head % CHUNK].next_free =
			UINT32_MAX;
	}
	index = free_head;
	e = &chunks[index / CHUNK][index % CHUNK];
	free_head = e->next_free;
	pthread_mutex_unlock(&table_lock);
	atomic_store(&e->p, p);
	*out = encode(index, atomic_load(&e->word) >> GEN_SHIFT);
	return 0;
}

int gp_handle_enter(const gpupipe *h, const char *fn, struct gpupipe **p)
{
	uint64_t gen = 0, w;
	struct entry *e;

	if (!h)
		return gp_error(GPUPIPE_EINVAL, "%s: p is NULL", fn);
	e = decode(h, &gen);
	if (!e)
		return gp_error(GPUPIPE_EINVAL, "%s: p is not a pipeline "
				"(gpupipe_create gives one)", fn);
	w = atomic_load(&e->word);
	do {
		if (!same_gen(w, gen) || (w & CLOSED))
			return gp_error(GPUPIPE_ESHUTDOWN, "%s: this pipeline "
					"was destroyed", fn);
	} while (!atomic_compare_exchange_weak(&e->word, &w, w + 1));
	*p = atomic_load(&e->p);
	return 0;
}

void gp_handle_exit(const gpupipe *h)
{
	uint64_t gen = 0, w;
	struct entry *e = decode(h, &gen);

	w = atomic_fetch_sub(&e->word, 1);
	if ((w & CLOSED) && (w & CALLS_MASK) == 1)
		gp_wake_signal(&calls_left, true);
}

int gp_handle_begin_destroy(const gpupipe *h)
{
	uint64_t gen = 0, w;
	struct entry *e = decode(h, &gen);

	w = atomic_fetch_or(&e->word, DESTROYING);
	if (w & DESTROYING)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_destroy: this "
				"pipeline is being destroyed already");
	return 0;
}

void gp_handle_close(const gpupipe *h)
{
	uint64_t gen = 0;
	struct entry *e = decode(h, &gen);
	uint32_t wake_gen;

	atomic_fetch_or(&e->word, CLOSED);
	for (;;) {
		wake_gen = gp_wake_prepare(&calls_left);
		if (!(atomic_load(&e->word) & CALLS_MASK)) {
			gp_wake_cancel(&calls_left);
			return;
		}
		gp_wake_wait(&calls_left, wake_gen, 0);
	}
}

void gp_handle_free(const gpupipe *h)
{
	uint64_t gen = 0;
	struct entry *e = decode(h, &gen);
	unsigned index = index_of(h);

	atomic_store(&e->p, NULL);
	/* The next generation, open, no calls: stale handles fail. */
	atomic_store(&e->word, ((gen + 1) & HANDLE_GEN_MASK) << GEN_SHIFT);
	pthread_mutex_lock(&table_lock);
	e->next_free = free_head;
	free_head = index;
	pthread_mutex_unlock(&table_lock);
}
