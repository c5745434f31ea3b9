/*
 * event.c - event allocation (magazine cache), refcounting, the lazy JSON parse
 * and lazy serialisation, headers and the W3C trace context.
 *
 * Event blocks come from the magazine pool (pool.h): a pipeline whose source
 * allocates and whose sink frees moves blocks back in magazines of 64, one
 * lock per 64 events on each side.
 */
#include "core/event.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/json.h"
#include "core/pool.h"

/* Per-thread counters, moved to the globals in batches of COUNT_FLUSH so that
 * alloc and free touch no shared cache line. */
#define COUNT_FLUSH 1024

static struct {
	atomic_int_fast64_t allocs, frees;
	atomic_uint_fast64_t next_id_block;
} g;

static _Thread_local struct {
	int64_t allocs, frees;
	uint64_t id_next, id_end;
} tc;

static void
flush_counts(void)
{
	atomic_fetch_add_explicit(&g.allocs, tc.allocs, memory_order_relaxed);
	atomic_fetch_add_explicit(&g.frees, tc.frees, memory_order_relaxed);
	tc.allocs = tc.frees = 0;
}

static inline void *
block_alloc(void)
{
	if (acrt__unlikely(++tc.allocs == COUNT_FLUSH))
		flush_counts();
	return acrt__pool_alloc(sizeof(acrt_event));
}

static inline void
block_free(void *p)
{
	if (acrt__unlikely(++tc.frees == COUNT_FLUSH))
		flush_counts();
	acrt__pool_free(p);
}

void
acrt__event_thread_flush(void)
{
	flush_counts();
	acrt__pool_thread_flush();
}

int64_t
acrt__event_live(void)
{
	return (int64_t)atomic_load(&g.allocs) + tc.allocs - (int64_t)atomic_load(&g.frees) -
	       tc.frees;
}

/* Ids are unique in the process and increase per thread: each thread takes
 * blocks of 4096 from a global counter. */
static uint64_t
next_id(void)
{
	if (acrt__unlikely(tc.id_next == tc.id_end)) {
		tc.id_next = atomic_fetch_add(&g.next_id_block, 4096) + 1;
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
	ev->data_pool = 0;
	ev->id = next_id();
	/* A derived event keeps its root's time (ingestion time, as Vector and
	 * Fluent Bit keep a record's timestamp through transforms) and trace id. */
	if (parent != NULL) {
		ev->time_ns = parent->time_ns;
		memcpy(ev->trace_id, parent->trace_id, sizeof ev->trace_id);
	} else {
		ev->time_ns = acrt__event_clock_ns();
		random_bytes(ev->trace_id, sizeof ev->trace_id);
	}
	random_bytes(ev->span_id, sizeof ev->span_id);
	ev->ctype = NULL;
	ev->ctype_owned = NULL;
	ev->headers = NULL;
	ev->n_headers = 0;
	atomic_init(&ev->len, 0);
	atomic_init(&ev->data, NULL);
	atomic_init(&ev->json, NULL);
	ev->barrier_id = 0;
	/* The request id and the answer's status (an APIEndpoint with reply:
	 * docs/COMPONENTS.md) go with the trace id to every derived event. */
	static const char *const kept[] = {ACRT_REQUEST_ID_HEADER, ACRT_HTTP_STATUS_HEADER};
	for (size_t i = 0; parent != NULL && parent->n_headers > 0 && i < 2; i++) {
		const char *v = acrt_event_header(parent, kept[i]);
		if (v != NULL && acrt_event_set_header(ev, kept[i], v) != ACRT_OK) {
			acrt_event_unref(ev);
			return NULL;
		}
	}
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
	if (j != NULL) {
		acrt__pool_json_drop();
		json_decref(j);
	}
	char *d = atomic_load_explicit(&ev->data, memory_order_acquire);
	if (d != NULL && d != (char *)ev->inline_buf) {
		if (ev->data_pool)
			acrt__pool_free(d);
		else
			acrt__free(d); /* large, or serialised lazily (acrt__jbuf) */
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
	/* Sole owner (the common case at a sink): nobody else holds a reference, so
	 * nobody can take one; skip the locked decrement. Otherwise acq_rel: the
	 * last owner sees every write of the others (free of charge on x86). */
	if (atomic_load_explicit(&ev->refs, memory_order_acquire) == 1 ||
	    atomic_fetch_sub_explicit(&ev->refs, 1, memory_order_acq_rel) == 1)
		event_destroy(ev);
}

static const char *
intern_ctype(acrt_event *ev, const char *ct)
{
	static const char *const known[] = {"application/json", "application/octet-stream",
	                                    "text/plain"};
	if (ct == NULL)
		return known[1];
	/* The built-ins pass a literal, which the linker usually merges with
	 * ours: the pointer answers without a strcmp per event. */
	for (size_t i = 0; i < ACRT__ARRAY_LEN(known); i++)
		if (ct == known[i])
			return known[i];
	for (size_t i = 0; i < ACRT__ARRAY_LEN(known); i++)
		if (strcmp(ct, known[i]) == 0)
			return known[i];
	ev->ctype_owned = acrt__strdup(ct);
	return ev->ctype_owned;
}

/* A heap payload of len bytes, padded so that the JSON reader can read it in
 * place (json.h). Payloads that fit a pool class come from the pool: they
 * are usually freed on another thread (the sink's), which malloc serves with
 * an arena lock per free. */
static char *
heap_payload(acrt_event *ev, size_t len)
{
	if (len + ACRT__JSON_PADDING <= ACRT__POOL_MAX_BLOCK) {
		ev->data_pool = 1;
		return acrt__pool_alloc(len + ACRT__JSON_PADDING);
	}
	return acrt__malloc(len + ACRT__JSON_PADDING);
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
	} else if ((buf = heap_payload(ev, len)) == NULL) {
		goto fail;
	}
	if (len > 0)
		memcpy(buf, data, len);
	atomic_store_explicit(&ev->len, (uint32_t)len, memory_order_relaxed);
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
acrt__event_adopt(const acrt_event *parent, char *data, size_t len, const char *ct)
{
	acrt_event *ev = len <= UINT32_MAX ? acrt__event_alloc(parent) : NULL;
	if (ev == NULL) {
		acrt__free(data);
		return NULL;
	}
	if (len + ACRT__JSON_PADDING <= ACRT__POOL_MAX_BLOCK) { /* small: inline or pool */
		char *small =
		    len <= ACRT__EV_INLINE ? (char *)ev->inline_buf : heap_payload(ev, len);
		if (small == NULL) {
			acrt__free(data);
			acrt_event_unref(ev);
			return NULL;
		}
		if (len > 0)
			memcpy(small, data, len);
		acrt__free(data);
		data = small;
	}
	atomic_store_explicit(&ev->len, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&ev->data, data, memory_order_relaxed);
	ev->ctype = intern_ctype(ev, ct);
	if (ev->ctype == NULL) {
		acrt_event_unref(ev);
		return NULL;
	}
	return ev;
}

const char *
acrt__event_text(acrt_event *ev, size_t *len, size_t *cap)
{
	const char *d = acrt_event_data(ev, len);
	if (d != NULL)
		*cap = d == (const char *)ev->inline_buf ? *len : *len + ACRT__JSON_PADDING;
	return d;
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
			*len = atomic_load_explicit(&ev->len, memory_order_relaxed);
		return d;
	}
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	if (j == NULL) {
		if (len)
			*len = 0;
		return "";
	}
	/* Our writer, not json_dumps: reals in their shortest form (json.h). */
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	acrt__jbuf_jansson(&b, j);
	size_t n;
	char *s = acrt__jbuf_take(&b, &n);
	if (s == NULL)
		return NULL;
	if (n > UINT32_MAX) {
		acrt__free(s);
		return NULL;
	}
	/* The length is written before the pointer is published; a racing thread
	 * that loses the CAS frees its copy and reads the winner's (same bytes). */
	char *expected = NULL;
	atomic_store_explicit(&ev->len, (uint32_t)n, memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&ev->data, &expected, s, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		acrt__free(s);
		s = expected;
	}
	if (len)
		*len = atomic_load_explicit(&ev->len, memory_order_relaxed);
	return s;
}

const json_t *
acrt_event_json(acrt_event *ev)
{
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	if (j != NULL)
		return j;
	size_t n, cap;
	const char *d = acrt__event_text(ev, &n, &cap);
	if (d == NULL)
		return NULL;
	j = json_loadb(d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	/* jansson refuses integers past int64 and numbers past the double
	 * range: a walk builds those as the nearest reals (json.h). */
	if (j == NULL && (j = acrt__json_to_jansson(d, n, cap)) == NULL)
		return NULL;
	json_t *expected = NULL;
	if (!atomic_compare_exchange_strong_explicit(&ev->json, &expected, j, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		json_decref(j);
		j = expected;
	}
	return j;
}

json_t *
acrt__event_steal_json(acrt_event *ev)
{
	if (atomic_load_explicit(&ev->refs, memory_order_acquire) != 1)
		return NULL;
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	if (j == NULL || j->refcount != 1)
		return NULL;
	atomic_store_explicit(&ev->json, NULL, memory_order_relaxed);
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
