/*
 * event.h - the runtime's side of acrt_event (the public side is acrt.h).
 *
 * An event is one fixed-size block from a per-thread magazine cache (see
 * event.c): allocation and free are a few instructions on the hot path, and an
 * event freed on another thread than the one that made it (the usual case:
 * source allocates, sink frees) travels back through a shared depot in whole
 * magazines, one lock per 64 events.
 *
 * Immutability: an event is a draft until acrt__event_seal() (called by emit);
 * after that only its refcount and its lazily filled caches (parsed JSON,
 * serialised bytes) change, and those are published with compare-and-swap, so
 * any number of threads may read a sealed event at once.
 */
#ifndef ACRT_EVENT_H
#define ACRT_EVENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"

enum {
	ACRT__EV_DATA = 0,
	ACRT__EV_BARRIER = 1 /* checkpoint barrier: carries barrier_id, no payload */
};

typedef struct acrt__header {
	char *key, *value;
} acrt__header;

#define ACRT__EV_INLINE 56 /* payloads up to this size live inside the block */

struct acrt_event {
	atomic_uint refs;
	uint8_t kind;
	uint8_t draft;     /* 1 until sealed: headers may still be set */
	uint8_t data_pool; /* a heap payload from the pool (else acrt__malloc) */
	uint8_t pad_;
	uint64_t id;
	int64_t time_ns;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	const char *ctype; /* static string, or owned in ctype_owned */
	char *ctype_owned;
	acrt__header *headers;
	uint32_t n_headers;
	_Atomic uint32_t len;   /* payload length when data != NULL (relaxed: racing lazy
	                         * serialisers store the same value) */
	_Atomic(char *) data;   /* payload bytes; NULL until a JSON event is dumped */
	_Atomic(json_t *) json; /* parsed payload cache; owned reference */
	uint64_t barrier_id;
	unsigned char inline_buf[ACRT__EV_INLINE];
};

/* Parent context for trace propagation: NULL starts a new trace. */
acrt_event *acrt__event_alloc(const acrt_event *parent);
/* Seals a draft: from now on it is immutable. A sealed event is only read:
 * two consumers of a fan-out that pass the same event on (a Transformer with
 * nothing to change) may emit it at once from two threads. */
static inline void
acrt__event_seal(acrt_event *ev)
{
	if (ev->draft)
		ev->draft = 0;
}
acrt_event *acrt__event_new_barrier(uint64_t barrier_id);
/* Adds n references at once (fan-out). */
static inline void
acrt__event_ref_n(acrt_event *ev, unsigned n)
{
	atomic_fetch_add_explicit(&ev->refs, n, memory_order_relaxed);
}
/* Returns the per-thread cache to the shared depot (call before a thread exits). */
void acrt__event_thread_flush(void);
/* Events currently allocated (for tests and metrics). */
int64_t acrt__event_live(void);

/* Copy-on-write for the runtime's own components: when the caller's reference
 * is the only one to ev and ev's parsed JSON is referenced by ev alone, detach
 * and return that JSON (the caller owns it and may modify it: nobody else can
 * see it). Otherwise NULL: copy instead. The event's JSON cache is empty after
 * a successful steal; its bytes, if any, stay. */
json_t *acrt__event_steal_json(acrt_event *ev);

/* The event's jansson value when it has one and no bytes yet (a tree made by
 * a generator or a plugin), else NULL: a built-in may then work on the tree
 * instead of printing it and reading the text back. */
static inline const json_t *
acrt__event_tree(acrt_event *ev)
{
	if (atomic_load_explicit(&ev->data, memory_order_acquire) != NULL)
		return NULL;
	return atomic_load_explicit(&ev->json, memory_order_acquire);
}

/* Constructors behind acrt_event_new / acrt_event_new_json; parent may be NULL. */
acrt_event *acrt__event_new_bytes(const acrt_event *parent, const void *data, size_t len,
                                  const char *content_type);
acrt_event *acrt__event_new_json(const acrt_event *parent, json_t *json);
/* Takes `data` (acrt__malloc'd, with ACRT__JSON_PADDING spare bytes after len,
 * as acrt__jbuf_take gives) as the payload of a new draft, without a copy.
 * Frees data and returns NULL on failure. */
acrt_event *acrt__event_adopt(const acrt_event *parent, char *data, size_t len, const char *ct);
/* The payload bytes and how many bytes are readable from them (len plus the
 * padding heap payloads carry), for the JSON reader (json.h). */
const char *acrt__event_text(acrt_event *ev, size_t *len, size_t *cap);
#endif /* ACRT_EVENT_H */
