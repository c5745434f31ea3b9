/*
 * pool.c - see pool.h.
 *
 * Per thread and size class: two magazines (loaded, prev), each holding up to
 * MAG free blocks. alloc pops from loaded; if empty, swaps with prev; if both
 * are empty, trades an empty magazine for a full one at the class's depot
 * (or mallocs a fresh block). free is the mirror image. The depot keeps at
 * most DEPOT_MAX full magazines per class; past that, blocks go back to
 * malloc, so a burst does not pin memory for ever.
 */
#include "core/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#endif

#include "core/common.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ACRT_NO_POOL 1
#endif

#define MAG 64
#define DEPOT_MAX 1024
#define HDR 16
#define BIG 0xffu

/* Usable sizes: with the header, every block is a whole number of cache lines
 * and starts on one, so blocks owned by different threads (a value being
 * freed by the sink next to one being filled by the source) never share a
 * line. */
static const uint32_t class_size[] = {48, 112, 176, 240, 368, 496};
#define N_CLASSES (sizeof class_size / sizeof class_size[0])
_Static_assert(ACRT__POOL_MAX_BLOCK == 496, "pool.h's ACRT__POOL_MAX_BLOCK is the largest class");

typedef struct mag {
	struct mag *next;
	uint32_t n;
	void *items[MAG];
} mag;

typedef struct depot {
	pthread_mutex_t mu;
	mag *full, *empty; /* protected by mu */
	size_t n_full;
} depot;

static depot depots[N_CLASSES];
static pthread_once_t depots_once = PTHREAD_ONCE_INIT;

typedef struct tcache {
	mag *loaded[N_CLASSES], *prev[N_CLASSES];
	bool registered;
} tcache;

static _Thread_local tcache tc;
static pthread_key_t tc_key;

static void
tc_destructor(void *unused)
{
	(void)unused;
	acrt__pool_thread_flush();
}

static void
depots_init(void)
{
	for (size_t i = 0; i < N_CLASSES; i++)
		pthread_mutex_init(&depots[i].mu, NULL);
	(void)pthread_key_create(&tc_key, tc_destructor);
}

static inline unsigned
class_of(size_t n)
{
#ifdef ACRT_NO_POOL
	(void)n;
	return BIG; /* sanitizer builds: every block straight from malloc */
#endif
	for (unsigned c = 0; c < N_CLASSES; c++)
		if (n <= class_size[c])
			return c;
	return BIG;
}

static mag *
depot_take(unsigned c, bool want_full)
{
	depot *d = &depots[c];
	mag *m;
	pthread_mutex_lock(&d->mu);
	if (want_full) {
		if ((m = d->full) != NULL) {
			d->full = m->next;
			d->n_full--;
		}
	} else if ((m = d->empty) != NULL) {
		d->empty = m->next;
	}
	pthread_mutex_unlock(&d->mu);
	if (m == NULL && !want_full && (m = malloc(sizeof *m)) != NULL)
		m->n = 0;
	return m;
}

static void
depot_give(unsigned c, mag *m)
{
	if (m == NULL)
		return;
	depot *d = &depots[c];
	pthread_mutex_lock(&d->mu);
	if (m->n == 0) {
		m->next = d->empty;
		d->empty = m;
		m = NULL;
	} else if (d->n_full < DEPOT_MAX) {
		m->next = d->full;
		d->full = m;
		d->n_full++;
		m = NULL;
	}
	pthread_mutex_unlock(&d->mu);
	if (m != NULL) {
		for (uint32_t i = 0; i < m->n; i++)
			free(m->items[i]);
		free(m);
	}
}

static void
tc_register(void)
{
	pthread_once(&depots_once, depots_init);
	(void)pthread_setspecific(tc_key, &tc);
	tc.registered = true;
}

/* The next block this thread will hand out of class c is asked for now,
 * for writing: a block freed by another thread (a sink's, in a pipeline)
 * is still in that core's cache, and fetching it costs about as much as
 * checking a line of JSON. Fetched while the caller works on this one, it
 * is here when it is needed. */
static inline void
prefetch_block(const unsigned char *b, unsigned c)
{
	for (uint32_t off = 0; off < class_size[c] + HDR; off += ACRT__CACHELINE)
#if defined(__x86_64__)
		/* PREFETCHW (fetch in the state a write needs); in the 0F 0D opcode
		 * group that x86-64 CPUs without it run as a no-op */
		__asm__ volatile("prefetchw %0"
		                 :
		                 : "m"(*(const volatile unsigned char *)(b + off)));
#else
		__builtin_prefetch(b + off, 1, 3);
#endif
}

static inline void *
block_with_header(unsigned char *b, unsigned c)
{
	b[0] = (unsigned char)c;
	return b + HDR;
}

static void *
alloc_slow(unsigned c)
{
	if (!tc.registered)
		tc_register();
	mag *l = tc.loaded[c], *p = tc.prev[c];
	if (p != NULL && p->n > 0) {
		tc.loaded[c] = p;
		tc.prev[c] = l;
		return p->items[--p->n];
	}
	mag *full = depot_take(c, true);
	if (full != NULL) {
		depot_give(c, p); /* empty or NULL */
		tc.prev[c] = l;
		tc.loaded[c] = full;
		return full->items[--full->n];
	}
	return aligned_alloc(ACRT__CACHELINE, class_size[c] + HDR);
}

void *
acrt__pool_alloc(size_t n)
{
	unsigned c = class_of(n);
	if (acrt__likely(c != BIG)) {
		mag *l = tc.loaded[c];
		unsigned char *b;
		if (acrt__likely(l != NULL && l->n > 0)) {
			b = l->items[--l->n];
			if (acrt__likely(l->n > 0))
				prefetch_block(l->items[l->n - 1], c);
		} else if ((b = alloc_slow(c)) == NULL)
			return NULL;
		return block_with_header(b, c);
	}
	if (n > SIZE_MAX - HDR)
		return NULL;
	unsigned char *b = malloc(n + HDR);
	return b != NULL ? block_with_header(b, BIG) : NULL;
}

static void
free_slow(unsigned c, void *b)
{
	if (!tc.registered)
		tc_register();
	mag *l = tc.loaded[c], *p = tc.prev[c];
	if (p != NULL && p->n < MAG) {
		tc.loaded[c] = p;
		tc.prev[c] = l;
		p->items[p->n++] = b;
		return;
	}
	mag *empty = depot_take(c, false);
	if (empty == NULL) {
		free(b);
		return;
	}
	depot_give(c, p); /* full or NULL */
	tc.prev[c] = l;
	tc.loaded[c] = empty;
	empty->items[empty->n++] = b;
}

void
acrt__pool_free(void *p)
{
	if (p == NULL)
		return;
	unsigned char *b = (unsigned char *)p - HDR;
	unsigned c = b[0];
	if (c == BIG) {
		free(b);
		return;
	}
	mag *l = tc.loaded[c];
	if (acrt__likely(l != NULL && l->n < MAG)) {
		l->items[l->n++] = b;
		return;
	}
	free_slow(c, b);
}

void
acrt__pool_thread_flush(void)
{
	if (!tc.registered)
		return;
	for (unsigned c = 0; c < N_CLASSES; c++) {
		depot_give(c, tc.loaded[c]);
		depot_give(c, tc.prev[c]);
		tc.loaded[c] = tc.prev[c] = NULL;
	}
}

/*
 * jansson drops its last reference with a release-only atomic (jansson.h,
 * JSON_INTERNAL_DECREF), so the thread that frees a value is not ordered after
 * the reads of another thread that held it. Values are shared across threads
 * as soon as a component shallow-copies its input (json_copy, as the example
 * plugin does): the sink reads and drops the output while the component drops
 * the input, and whichever drops last frees the shared values. jansson frees
 * only after that decrement, so an acquire fence before each free completes the
 * usual pattern (decrement with release; fence acquire; free): every free is
 * ordered after all that the other holders did. It costs nothing on x86.
 *
 * GCC's TSan does not model fences; TSan builds say the same with a sync object
 * that every drop of an event's tree releases (acrt__pool_json_drop) and every
 * jansson free acquires.
 */
#ifdef __SANITIZE_THREAD__
static char json_drops;

void
acrt__pool_json_drop(void)
{
	__tsan_release(&json_drops);
}
#endif

static void
json_free(void *p)
{
#ifdef __SANITIZE_THREAD__
	__tsan_acquire(&json_drops);
#else
	atomic_thread_fence(memory_order_acquire);
#endif
	acrt__pool_free(p);
}

static void
install_json(void)
{
	json_set_alloc_funcs(acrt__pool_alloc, json_free);
}

/* Installed before main() so that no JSON value ever crosses allocators. */
__attribute__((constructor)) static void
pool_ctor(void)
{
	acrt__pool_install_json();
}

void
acrt__pool_install_json(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_json);
}
