/*
 * event.c - event allocation (magazine cache), refcounting, the lazy JSON parse
 * and lazy serialisation, headers and the W3C trace context.
 *
 * Allocation follows Bonwick's magazines: each thread holds two magazines of
 * up to MAG free blocks; alloc pops from one, free pushes to one, and only when
 * both are empty (or full) does the thread trade a whole magazine with the
 * shared depot under its mutex. A pipeline whose source allocates and whose
 * sink frees thus moves blocks back in batches of MAG, with one lock per MAG
 * events on each side. Sanitizer builds bypass the cache so that ASan sees
 * every use-after-free.
 */
#include "core/event.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ACRT_NO_POOL 1
#endif

#define MAG 64
#define DEPOT_MAX_FULL 4096 /* beyond this many spare magazines, free to malloc */

typedef struct mag {
	struct mag *next;
	uint32_t n;
	void *items[MAG];
} mag;

static struct {
	pthread_mutex_t mu;
	mag *full;  /* protected by mu */
	mag *empty; /* protected by mu */
	size_t n_full;
	atomic_int_fast64_t allocs, frees; /* flushed from threads */
	atomic_uint_fast64_t next_id_block;
} depot = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct tcache {
	mag *loaded, *prev;
	int64_t allocs, frees;
	uint64_t id_next, id_end;
	bool registered;
} tcache;

static _Thread_local tcache tc;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;

static void
tc_destructor(void *unused)
{
	(void)unused;
	acrt__event_thread_flush();
}

static void
tc_key_init(void)
{
	(void)pthread_key_create(&tc_key, tc_destructor);
}

static void
tc_register(void)
{
	pthread_once(&tc_once, tc_key_init);
	(void)pthread_setspecific(tc_key, &tc);
	tc.registered = true;
}

/* Counters move to the globals in batches so that alloc/free touch no shared line. */
static void
tc_flush_counts(void)
{
	if (tc.allocs)
		atomic_fetch_add_explicit(&depot.allocs, tc.allocs, memory_order_relaxed);
	if (tc.frees)
		atomic_fetch_add_explicit(&depot.frees, tc.frees, memory_order_relaxed);
	tc.allocs = tc.frees = 0;
}

static mag *
depot_get(bool want_full)
{
	mag *m = NULL;
	pthread_mutex_lock(&depot.mu);
	if (want_full) {
		if ((m = depot.full) != NULL) {
			depot.full = m->next;
			depot.n_full--;
		}
	} else if ((m = depot.empty) != NULL) {
		depot.empty = m->next;
	}
	pthread_mutex_unlock(&depot.mu);
	if (m == NULL && !want_full) {
		m = malloc(sizeof *m);
		if (m != NULL)
			m->n = 0;
	}
	return m;
}

static void
mag_release_items(mag *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		free(m->items[i]);
	m->n = 0;
}

static void
depot_put(mag *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&depot.mu);
	if (m->n == 0) {
		m->next = depot.empty;
		depot.empty = m;
		m = NULL;
	} else if (depot.n_full < DEPOT_MAX_FULL) {
		m->next = depot.full;
		depot.full = m;
		depot.n_full++;
		m = NULL;
	}
	pthread_mutex_unlock(&depot.mu);
	if (m != NULL) { /* depot full: give the blocks back to malloc */
		mag_release_items(m);
		free(m);
	}
}

static void *
block_alloc(void)
{
	tc.allocs++;
#ifdef ACRT_NO_POOL
	return malloc(sizeof(acrt_event));
#else
	if (acrt__likely(tc.loaded != NULL && tc.loaded->n > 0))
		return tc.loaded->items[--tc.loaded->n];
	if (!tc.registered)
		tc_register();
	if (tc.prev != NULL && tc.prev->n > 0) {
		mag *t = tc.loaded;
		tc.loaded = tc.prev;
		tc.prev = t;
		return tc.loaded->items[--tc.loaded->n];
	}
	tc_flush_counts();
	mag *full = depot_get(true);
	if (full != NULL) {
		depot_put(tc.prev); /* prev is empty here (or NULL) */
		tc.prev = tc.loaded;
		tc.loaded = full;
		return tc.loaded->items[--tc.loaded->n];
	}
	return malloc(sizeof(acrt_event));
#endif
}

static void
block_free(void *p)
{
	tc.frees++;
#ifdef ACRT_NO_POOL
	free(p);
#else
	if (acrt__likely(tc.loaded != NULL && tc.loaded->n < MAG)) {
		tc.loaded->items[tc.loaded->n++] = p;
		return;
	}
	if (!tc.registered)
		tc_register();
	if (tc.prev != NULL && tc.prev->n < MAG) {
		mag *t = tc.loaded;
		tc.loaded = tc.prev;
		tc.prev = t;
		tc.loaded->items[tc.loaded->n++] = p;
		return;
	}
	tc_flush_counts();
	mag *empty = depot_get(false);
	if (empty == NULL) {
		free(p);
		return;
	}
	depot_put(tc.prev); /* prev is full here (or NULL) */
	tc.prev = tc.loaded;
	tc.loaded = empty;
	tc.loaded->items[tc.loaded->n++] = p;
#endif
}

void
acrt__event_thread_flush(void)
{
	tc_flush_counts();
	depot_put(tc.loaded);
	depot_put(tc.prev);
	tc.loaded = tc.prev = NULL;
}

int64_t
acrt__event_live(void)
{
	return (int64_t)atomic_load(&depot.allocs) + tc.allocs - (int64_t)atomic_load(&depot.frees) -
	       tc.frees;
}

/* Ids are unique in the process and increase per thread: each thread takes
 * blocks of 4096 from a global counter. */
static uint64_t
next_id(void)
{
	if (acrt__unlikely(tc.id_next == tc.id_end)) {
		tc.id_next = atomic_fetch_add(&depot.next_id_block, 4096) + 1;
		tc.id_end = tc.id_next + 4096;
	}
	return tc.id_next++;
}

static void
random_bytes(uint8_t *out, size_t n)
{
	while (n > 0) {
		uint64_t r = acrt__rand64();
		size_t k = n < 8 ? n : 8;
		memcpy(out, &r, k);
		out += k;
		n -= k;
	}
}

acrt_event *
acrt__event_alloc(const acrt_event *parent)
{
	acrt_event *ev = block_alloc();
	if (ev == NULL)
		return NULL;
	atomic_init(&ev->refs, 1);
	ev->kind = ACRT__EV_DATA;
	ev->draft = 1;
	ev->owns_data = 0;
	ev->id = next_id();
	ev->time_ns = acrt__wall_ns();
	if (parent != NULL)
		memcpy(ev->trace_id, parent->trace_id, sizeof ev->trace_id);
	else
		random_bytes(ev->trace_id, sizeof ev->trace_id);
	random_bytes(ev->span_id, sizeof ev->span_id);
	ev->ctype = NULL;
	ev->ctype_owned = NULL;
	ev->headers = NULL;
	ev->n_headers = 0;
	ev->len = 0;
	atomic_init(&ev->data, NULL);
	atomic_init(&ev->json, NULL);
	ev->barrier_id = 0;
	return ev;
}

acrt_event *
acrt__event_new_barrier(uint64_t barrier_id)
{
	acrt_event *ev = acrt__event_alloc(NULL);
	if (ev == NULL)
		return NULL;
	ev->kind = ACRT__EV_BARRIER;
	ev->barrier_id = barrier_id;
	acrt__event_seal(ev);
	return ev;
}

static void
event_destroy(acrt_event *ev)
{
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	if (j != NULL)
		json_decref(j);
	char *d = atomic_load_explicit(&ev->data, memory_order_acquire);
	if (d != NULL && d != (char *)ev->inline_buf) {
		if (ev->owns_data)
			acrt__free(d);
		else
			free(d); /* from json_dumps: jansson's default allocator */
	}
	for (uint32_t i = 0; i < ev->n_headers; i++) {
		acrt__free(ev->headers[i].key);
		acrt__free(ev->headers[i].value);
	}
	acrt__free(ev->headers);
	acrt__free(ev->ctype_owned);
	block_free(ev);
}

acrt_event *
acrt_event_ref(acrt_event *ev)
{
	if (ev != NULL)
		atomic_fetch_add_explicit(&ev->refs, 1, memory_order_relaxed);
	return ev;
}

void
acrt_event_unref(acrt_event *ev)
{
	if (ev == NULL)
		return;
	if (atomic_fetch_sub_explicit(&ev->refs, 1, memory_order_release) == 1) {
		atomic_thread_fence(memory_order_acquire);
		event_destroy(ev);
	}
}

static const char *
intern_ctype(acrt_event *ev, const char *ct)
{
	static const char *const known[] = {"application/json", "application/octet-stream",
	                                    "text/plain"};
	if (ct == NULL)
		return known[1];
	for (size_t i = 0; i < ACRT__ARRAY_LEN(known); i++)
		if (strcmp(ct, known[i]) == 0)
			return known[i];
	ev->ctype_owned = acrt__strdup(ct);
	return ev->ctype_owned;
}

/* Shared by acrt_event_new (public) and the runtime: parent may be NULL. */
acrt_event *
acrt__event_new_bytes(const acrt_event *parent, const void *data, size_t len, const char *ct)
{
	if (len > UINT32_MAX)
		return NULL;
	acrt_event *ev = acrt__event_alloc(parent);
	if (ev == NULL)
		return NULL;
	char *buf;
	if (len <= ACRT__EV_INLINE) {
		buf = (char *)ev->inline_buf;
	} else {
		buf = acrt__malloc(len);
		if (buf == NULL)
			goto fail;
		ev->owns_data = 1;
	}
	if (len > 0)
		memcpy(buf, data, len);
	ev->len = (uint32_t)len;
	atomic_store_explicit(&ev->data, buf, memory_order_relaxed);
	ev->ctype = intern_ctype(ev, ct);
	if (ev->ctype == NULL)
		goto fail;
	return ev;
fail:
	acrt_event_unref(ev);
	return NULL;
}

acrt_event *
acrt__event_new_json(const acrt_event *parent, json_t *json)
{
	if (json == NULL)
		return NULL;
	acrt_event *ev = acrt__event_alloc(parent);
	if (ev == NULL) {
		json_decref(json);
		return NULL;
	}
	ev->ctype = "application/json";
	atomic_store_explicit(&ev->json, json, memory_order_relaxed);
	return ev;
}

uint64_t
acrt_event_id(const acrt_event *ev)
{
	return ev->id;
}

int64_t
acrt_event_time_ns(const acrt_event *ev)
{
	return ev->time_ns;
}

const uint8_t *
acrt_event_trace_id(const acrt_event *ev)
{
	return ev->trace_id;
}

const uint8_t *
acrt_event_span_id(const acrt_event *ev)
{
	return ev->span_id;
}

void
acrt_event_traceparent(const acrt_event *ev, char buf[56])
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;
	memcpy(p, "00-", 3);
	p += 3;
	for (int i = 0; i < 16; i++) {
		*p++ = hex[ev->trace_id[i] >> 4];
		*p++ = hex[ev->trace_id[i] & 15];
	}
	*p++ = '-';
	for (int i = 0; i < 8; i++) {
		*p++ = hex[ev->span_id[i] >> 4];
		*p++ = hex[ev->span_id[i] & 15];
	}
	memcpy(p, "-01", 4); /* sampled; includes the NUL */
}

const char *
acrt_event_content_type(const acrt_event *ev)
{
	return ev->ctype != NULL ? ev->ctype : "application/octet-stream";
}

const void *
acrt_event_data(acrt_event *ev, size_t *len)
{
	char *d = atomic_load_explicit(&ev->data, memory_order_acquire);
	if (d != NULL) {
		if (len)
			*len = ev->len;
		return d;
	}
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	if (j == NULL) {
		if (len)
			*len = 0;
		return "";
	}
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	if (n > UINT32_MAX) {
		free(s);
		return NULL;
	}
	/* The length is written before the pointer is published; a racing thread
	 * that loses the CAS frees its copy and reads the winner's (same bytes). */
	char *expected = NULL;
	ev->len = (uint32_t)n;
	if (!atomic_compare_exchange_strong_explicit(&ev->data, &expected, s, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		free(s);
		s = expected;
	}
	if (len)
		*len = ev->len;
	return s;
}

const json_t *
acrt_event_json(acrt_event *ev)
{
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	if (j != NULL)
		return j;
	size_t n;
	const char *d = acrt_event_data(ev, &n);
	if (d == NULL)
		return NULL;
	j = json_loadb(d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (j == NULL)
		return NULL;
	json_t *expected = NULL;
	if (!atomic_compare_exchange_strong_explicit(&ev->json, &expected, j, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		json_decref(j);
		j = expected;
	}
	return j;
}

int
acrt_event_set_header(acrt_event *ev, const char *key, const char *value)
{
	if (ev == NULL || key == NULL || value == NULL || !ev->draft)
		return ACRT_EINVAL;
	for (uint32_t i = 0; i < ev->n_headers; i++) {
		if (strcmp(ev->headers[i].key, key) == 0) {
			char *v = acrt__strdup(value);
			if (v == NULL)
				return ACRT_ENOMEM;
			acrt__free(ev->headers[i].value);
			ev->headers[i].value = v;
			return ACRT_OK;
		}
	}
	acrt__header *h = acrt__realloc(ev->headers, (ev->n_headers + 1) * sizeof *h);
	if (h == NULL)
		return ACRT_ENOMEM;
	ev->headers = h;
	char *k = acrt__strdup(key), *v = acrt__strdup(value);
	if (k == NULL || v == NULL) {
		acrt__free(k);
		acrt__free(v);
		return ACRT_ENOMEM;
	}
	h[ev->n_headers].key = k;
	h[ev->n_headers].value = v;
	ev->n_headers++;
	return ACRT_OK;
}

const char *
acrt_event_header(const acrt_event *ev, const char *key)
{
	for (uint32_t i = 0; i < ev->n_headers; i++)
		if (strcmp(ev->headers[i].key, key) == 0)
			return ev->headers[i].value;
	return NULL;
}
