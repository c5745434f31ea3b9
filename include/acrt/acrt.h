/*
 * acrt.h - the one public header of acrt: the component ABI and the services a
 * component may use. Whatever is not declared here is not API.
 *
 * A component (built-in or a plugin .so) is a versioned descriptor,
 * acrt_component_desc, whose callbacks the runtime calls in three phases:
 *
 *   setup(ctx, &self)            once per instance, in topological order, each on
 *                                a short-lived thread of its own (the main thread
 *                                waits for it, bounded by startup_timeout_ms); may
 *                                block (open files, connect).
 *   run(ctx, self)               sources only: the component's own loop, on the
 *       or process(ctx, ...)     instance's own thread; every event of one instance
 *                                is processed on that one thread, in order.
 *   cleanup(ctx, self)           once, in reverse topological order, on the main
 *                                (supervising) thread, even when process failed.
 *
 * Threads: one thread per component instance (replicas: N gives N), except that
 * an instance chained to its producer (operator chaining) runs its process,
 * idle, finish and snapshot on the producer's thread. Callbacks of one instance
 * never run concurrently; different instances do.
 *
 * Ownership of events (refcounted, immutable once emitted):
 *   - acrt_event_new*() returns an event with one reference owned by the caller.
 *     Until the caller emits it, it is a draft and its headers may be set.
 *   - acrt_emit() takes the caller's reference, on success and on failure alike.
 *   - process() borrows its event: it is valid until process returns. To keep it
 *     (or forward it unchanged) take a reference with acrt_event_ref().
 *   - acrt_event_unref() drops a reference; the last one frees the event.
 *
 * Errors: every function returning int returns ACRT_OK (0) or a negative
 * acrt_err; acrt_strerror() names it. Out-parameters are written only on success.
 */
#ifndef ACRT_ACRT_H
#define ACRT_ACRT_H

#include <stddef.h>
#include <stdint.h>

#include "acrt/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ACRT_API __attribute__((visibility("default")))
#define ACRT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ACRT_API
#define ACRT_PRINTF(f, a)
#endif

/* ABI version of acrt_component_desc: major changes break, minor ones append. */
#define ACRT_ABI_MAJOR 1
#define ACRT_ABI_MINOR 1
#define ACRT_ABI_VERSION ((uint32_t)((ACRT_ABI_MAJOR << 16) | ACRT_ABI_MINOR))

typedef enum acrt_err {
	ACRT_OK = 0,
	ACRT_ERR = -1,        /* the event failed; logged, counted, the run goes on */
	ACRT_EFATAL = -2,     /* the component cannot go on: the system stops, exit 1 */
	ACRT_ECANCELED = -3,  /* the run is being cancelled: return promptly */
	ACRT_ETIMEDOUT = -4,  /* a deadline passed */
	ACRT_ECLOSED = -5,    /* the stream has ended */
	ACRT_ENOMEM = -6,     /* out of memory */
	ACRT_EINVAL = -7,     /* an invalid argument */
	ACRT_ENOENT = -8,     /* no such port, key or file */
	ACRT_ESTOPPING = -9,  /* graceful stop: a source should finish its loop */
	ACRT_EABI = -10,      /* ABI version or descriptor size mismatch */
	ACRT_ERETRYABLE = -11 /* the event failed but a retry may succeed */
} acrt_err;

/* Returns a static string naming err; never NULL. */
ACRT_API const char *acrt_strerror(int err);

/* Returns ACRT_VERSION_NUMBER of the library actually linked. */
ACRT_API int acrt_version_number(void);

typedef struct acrt_ctx acrt_ctx;
typedef struct acrt_event acrt_event;
struct json_t; /* jansson's json_t; include <jansson.h> to use it */

/* ---- Declarative configuration -------------------------------------------
 * A descriptor may list the keys its config accepts. `acrt validate` checks a
 * blueprint against it (unknown keys, types, ranges, required keys) and reports
 * file:line:column. A NULL table means the config is free-form.
 */
typedef enum acrt_prop_type {
	ACRT_PROP_END = 0, /* terminates a table */
	ACRT_PROP_STRING,
	ACRT_PROP_INT,
	ACRT_PROP_NUMBER,
	ACRT_PROP_BOOL,
	ACRT_PROP_OBJECT,
	ACRT_PROP_ARRAY,
	ACRT_PROP_ANY
} acrt_prop_type;

typedef struct acrt_prop {
	const char *key;
	acrt_prop_type type;
	int required;              /* non-zero: the key must be present */
	double min, max;           /* range for INT/NUMBER when min < max */
	const char *const *one_of; /* NULL-terminated allowed strings, or NULL */
	const char *help;          /* one line, for `acrt help` and docs */
} acrt_prop;

/* ---- The descriptor ------------------------------------------------------- */
typedef struct acrt_component_desc {
	uint32_t abi_version;   /* ACRT_ABI_VERSION: checked before anything else */
	uint32_t struct_size;   /* sizeof(acrt_component_desc) the plugin was built with */
	const char *name;       /* the component kind, for logs */
	const acrt_prop *props; /* config table, or NULL for free-form config */

	/* Allocates the instance state into *self. NULL means nothing to set up. */
	int (*setup)(acrt_ctx *ctx, void **self);
	/* One event from input `port`; ev is borrowed. ACRT_ERR (after acrt_fail)
	 * fails this event only; ACRT_EFATAL stops the system. */
	int (*process)(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev);
	/* Optional: a batch of events, all from `port`; borrowed like process. */
	int (*process_batch)(acrt_ctx *ctx, void *self, const char *port, acrt_event *const *evs,
	                     size_t n);
	/* Optional: the component's own loop (sources). Return ACRT_OK when done or
	 * when acrt_stopping() says so; the runtime then closes its outputs. */
	int (*run)(acrt_ctx *ctx, void *self);
	/* Optional: own state for checkpoints (docs/STATE.md). snapshot is called on
	 * the instance's thread: for a consumer between two deliveries when a
	 * checkpoint barrier has reached it, for a source inside acrt_emit,
	 * acrt_sleep_until or acrt_stopping when a checkpoint is due, and (with
	 * runtime.state) once when its input has ended. On a hot reload it is
	 * called on the main thread while the instance is paused or after its
	 * thread ended. It stores a malloc'd buffer in *buf (the runtime frees it)
	 * describing everything processed so far. restore is called on the main
	 * thread after setup, on `acrt run --resume` and after a hot reload, with
	 * the bytes of that snapshot (borrowed). Managed keyed state
	 * (acrt_state_*) needs neither. */
	int (*snapshot)(acrt_ctx *ctx, void *self, void **buf, size_t *len);
	int (*restore)(acrt_ctx *ctx, void *self, const void *buf, size_t len);
	/* Optional: ACRT_OK when healthy. Reserved: the runtime does not call it
	 * (readiness, GET /readyz, comes from setup and failures). */
	int (*health)(acrt_ctx *ctx, void *self);
	/* Frees what setup made. Called once if setup succeeded, on the main thread
	 * (also when a hot reload replaces the instance). */
	void (*cleanup)(acrt_ctx *ctx, void *self);
	/* Optional: called on the instance's thread when no input is waiting, just
	 * before it parks (and before its upstream blocks, when chained). A
	 * component that buffers output (a sink batching writes) flushes it here, so
	 * nothing lingers while the system is quiet. Cheap when there is nothing. */
	int (*idle)(acrt_ctx *ctx, void *self);
	/* New fields are appended here; the runtime reads them only when
	 * struct_size says the plugin has them. */

	/* ABI 1.1. Optional: called once on the instance's thread when its input
	 * has ended (every input at end of stream, drained; for a source, after
	 * run returns), before its outputs are flushed and closed: the last chance
	 * to emit (an aggregate flushes its open windows). Not called when the run
	 * failed or was cancelled. Returns like process (ACRT_ERR is logged and
	 * counted; ACRT_EFATAL stops the system). */
	int (*finish)(acrt_ctx *ctx, void *self);
} acrt_component_desc;

/* Smallest descriptor the runtime accepts (ABI 1.0). */
#define ACRT_DESC_MIN_SIZE (offsetof(acrt_component_desc, idle) + sizeof(void (*)(void)))

/* ---- Capability plugins --------------------------------------------------
 * A capability runs around every delivery (one event, or one batch) of the
 * components that list it, in tier order (SPEC section 3):
 *
 *   capabilities:
 *     "plugin:./libaudit.so#audit": {level: 2}    # key: plugin:PATH#SYMBOL
 *
 * SYMBOL is a const acrt_capability_desc. Hooks run on the component
 * instance's thread, one call at a time per instance; state is per instance.
 * around_process must call acrt_cap_next() zero or more times (a retry: again,
 * a breaker: not at all) and return the delivery's result.
 */
typedef struct acrt_cap_call acrt_cap_call; /* one delivery; valid during the hook */

typedef struct acrt_capability_desc {
	uint32_t abi_version; /* ACRT_ABI_VERSION: checked before anything else */
	uint32_t struct_size; /* sizeof(acrt_capability_desc) */
	const char *name;
	int tier;               /* position in the chain: schema_validator 10 ... metrics 90 */
	const acrt_prop *props; /* config table, or NULL */
	/* config: the capability's mapping in the blueprint (borrowed). 0 or an error. */
	int (*create)(const struct json_t *config, void **state);
	void (*destroy)(void *state);
	int (*before_receive)(void *state, acrt_cap_call *call);
	int (*around_process)(void *state, acrt_cap_call *call);
	int (*before_send)(void *state, acrt_cap_call *call, const char *port, acrt_event *ev);
	void (*after_send)(void *state, acrt_cap_call *call, const char *port,
	                   const acrt_event *ev);
	void (*on_failure)(void *state, acrt_cap_call *call, int rc);
} acrt_capability_desc;

#define ACRT_CAP_DESC_MIN_SIZE (offsetof(acrt_capability_desc, on_failure) + sizeof(void (*)(void)))

/* Runs the rest of the chain (from around_process). */
ACRT_API int acrt_cap_next(acrt_cap_call *call);
/* The delivery's events (borrowed) and their number (1 unless batched). */
ACRT_API size_t acrt_cap_events(acrt_cap_call *call, acrt_event *const **evs);
/* The component instance the delivery is for. */
ACRT_API acrt_ctx *acrt_cap_ctx(acrt_cap_call *call);
/* How many times the component has been called for this delivery so far. */
ACRT_API int acrt_cap_attempts(acrt_cap_call *call);
/* Fails the delivery in the capability's name; returns ACRT_ERR. */
ACRT_API int acrt_cap_fail(acrt_cap_call *call, const char *fmt, ...) ACRT_PRINTF(2, 3);

/* ---- Context: config, identity, logging ---------------------------------- */

/* The component's config (a JSON object, never NULL); owned by the runtime, valid
 * from setup to cleanup. Read-only. */
ACRT_API const struct json_t *acrt_config(acrt_ctx *ctx);
/* Typed config lookups with a default when the key is absent or of another type. */
ACRT_API const char *acrt_config_string(acrt_ctx *ctx, const char *key, const char *dflt);
ACRT_API int64_t acrt_config_int(acrt_ctx *ctx, const char *key, int64_t dflt);
ACRT_API double acrt_config_number(acrt_ctx *ctx, const char *key, double dflt);
ACRT_API int acrt_config_bool(acrt_ctx *ctx, const char *key, int dflt);

/* The component's name in the blueprint, and this instance's replica index. */
ACRT_API const char *acrt_name(acrt_ctx *ctx);
ACRT_API int acrt_replica(acrt_ctx *ctx);
/* Directory of the blueprint, to resolve relative paths in config. */
ACRT_API const char *acrt_base_dir(acrt_ctx *ctx);

typedef enum acrt_log_level {
	ACRT_LOG_DEBUG = 0,
	ACRT_LOG_INFO = 1,
	ACRT_LOG_WARN = 2,
	ACRT_LOG_ERROR = 3
} acrt_log_level;

/* Structured log line tagged with the component (and the current event id). */
ACRT_API void acrt_log(acrt_ctx *ctx, acrt_log_level level, const char *fmt, ...) ACRT_PRINTF(3, 4);
/* Sets the reason of the current failure; returns ACRT_ERR so that
 * `return acrt_fail(ctx, "bad amount %d", x);` reads naturally. */
ACRT_API int acrt_fail(acrt_ctx *ctx, const char *fmt, ...) ACRT_PRINTF(2, 3);

/* ---- Events ---------------------------------------------------------------- */

/* New draft event with a copy of `data`. content_type NULL means
 * "application/octet-stream". The trace context is inherited from the event
 * being processed on this thread, if any, with a new span id. Returns NULL on
 * out of memory. */
ACRT_API acrt_event *acrt_event_new(acrt_ctx *ctx, const void *data, size_t len,
                                    const char *content_type);
/* New draft JSON event; steals the caller's reference to `json` (even on failure).
 * The payload bytes are serialised lazily, only if someone asks for them. */
ACRT_API acrt_event *acrt_event_new_json(acrt_ctx *ctx, struct json_t *json);

ACRT_API acrt_event *acrt_event_ref(acrt_event *ev);
ACRT_API void acrt_event_unref(acrt_event *ev);

ACRT_API uint64_t acrt_event_id(const acrt_event *ev);
/* When the event entered the system, nanoseconds since the Unix epoch: a
 * source's event is stamped at creation; an event created while processing
 * another keeps that event's time (ingestion time, carried through transforms
 * as Vector and Fluent Bit do). */
ACRT_API int64_t acrt_event_time_ns(const acrt_event *ev);
/* W3C trace context: 16-byte trace id and 8-byte span id, raw bytes. */
ACRT_API const uint8_t *acrt_event_trace_id(const acrt_event *ev);
ACRT_API const uint8_t *acrt_event_span_id(const acrt_event *ev);
/* Writes the W3C `traceparent` header value (55 chars + NUL) into buf[56]. */
ACRT_API void acrt_event_traceparent(const acrt_event *ev, char buf[56]);
ACRT_API const char *acrt_event_content_type(const acrt_event *ev);
/* The payload bytes (serialising a JSON event on first use; cached). Valid while
 * the caller holds a reference. NULL only on out of memory. */
ACRT_API const void *acrt_event_data(acrt_event *ev, size_t *len);
/* The payload parsed as JSON (lazily, once; cached). Borrowed, read-only, valid
 * while the caller holds a reference; NULL if the payload is not valid JSON. */
ACRT_API const struct json_t *acrt_event_json(acrt_event *ev);
/* Headers: set only on drafts (ACRT_EINVAL once emitted). Copies key and value. */
ACRT_API int acrt_event_set_header(acrt_event *ev, const char *key, const char *value);
ACRT_API const char *acrt_event_header(const acrt_event *ev, const char *key);
/* The header an APIEndpoint with `reply` sets on each request's event and
 * matches answers by (docs/COMPONENTS.md). An event made with acrt_event_new
 * or acrt_event_new_json(ctx, ...) inside process (or a capability) inherits
 * it from the event being processed, with its trace id and time; an event made
 * elsewhere (run, another thread) copies it with acrt_event_set_header. */
#define ACRT_REQUEST_ID_HEADER "acrt-request-id"
/* The HTTP status an APIEndpoint answers with (a decimal, 100 to 599);
 * inherited like the request id. */
#define ACRT_HTTP_STATUS_HEADER "acrt-http-status"

/* ---- Emitting -------------------------------------------------------------
 * Sends ev on output `port` to every binding of that port (fan-out shares the
 * event, no copy). Takes the caller's reference. May block while a target
 * stream is full (backpressure); returns ACRT_ECANCELED if the run is
 * cancelled meanwhile, ACRT_ENOENT for an unknown port. An unbound port
 * accepts and drops the event.
 *
 * Emitted events may wait in a small per-thread outbox; it is flushed when it
 * fills, when the component blocks through the context (receiving, sleeping),
 * and when process/process_batch returns. A run() loop that blocks outside the
 * context must call acrt_flush() first.
 */
ACRT_API int acrt_emit(acrt_ctx *ctx, const char *port, acrt_event *ev);
ACRT_API int acrt_flush(acrt_ctx *ctx);

/* ---- Time and cancellation ---------------------------------------------- */

/* Monotonic clock in nanoseconds (the runtime's clock; tests may control it). */
ACRT_API int64_t acrt_now_ns(acrt_ctx *ctx);
/* Sleeps until the monotonic deadline. Returns ACRT_OK at the deadline,
 * ACRT_ESTOPPING when a graceful stop is requested, ACRT_ECANCELED on cancel. */
ACRT_API int acrt_sleep_until(acrt_ctx *ctx, int64_t deadline_ns);
/* The deadline of the event being processed (monotonic ns, the clock of
 * acrt_now_ns), set by the `timeout` capability; 0 when there is none. A
 * component doing long work checks it and gives up early. */
ACRT_API int64_t acrt_deadline_ns(acrt_ctx *ctx);
/* Non-zero once a graceful stop (SIGTERM) or cancellation was requested:
 * a source's run() should return. */
ACRT_API int acrt_stopping(acrt_ctx *ctx);

/* ---- Counters --------------------------------------------------------------
 * Adds to a named counter of this component (created on first use). */
ACRT_API void acrt_count(acrt_ctx *ctx, const char *name, uint64_t delta);

/* ---- Batching (harness-aggregated, docs/BATCHING.md) -----------------------
 * With `batching: {enabled: true, ...}` the runtime gathers the events of one
 * input port into batches (until max_items, or max_ms after the first event,
 * or the end of the stream / a drain) and hands each batch over at once: to
 * process_batch when the descriptor has it, else to process once per event.
 * During that call acrt_batch() describes the batch; it returns NULL outside a
 * batch (and always for components without batching). The struct and the
 * closed_by string belong to the runtime and are valid until the call returns.
 */
typedef struct acrt_batch_info {
	uint64_t batch_id;      /* 1, 2, ... per component instance, in delivery order */
	size_t size;            /* events in the batch */
	int64_t first_event_ns; /* acrt_event_time_ns of its first event */
	int64_t last_event_ns;  /* ... and of its last event */
	int64_t formed_ns;      /* wall clock (ns since the epoch) when it was closed */
	const char *closed_by;  /* "size", "time" or "drain" */
} acrt_batch_info;

ACRT_API const acrt_batch_info *acrt_batch(acrt_ctx *ctx);

/* ---- Managed keyed state (docs/STATE.md) -----------------------------------
 * Each instance owns a map of byte keys to byte values, checkpointed with the
 * system (runtime.state) and restored by `acrt run --resume` before setup.
 * Call from the instance's own callbacks only (setup, process, run, snapshot,
 * cleanup); it is not thread-safe across instances and needs no locking.
 * Keys and values are copied in. acrt_state_get() lends the stored value: it
 * stays valid until the next put or del on this instance. Values and keys may
 * be empty (len 0) and hold any bytes.
 */
/* ACRT_OK with *val and *vlen set, or ACRT_ENOENT. */
ACRT_API int acrt_state_get(acrt_ctx *ctx, const void *key, size_t klen, const void **val,
                            size_t *vlen);
/* Inserts or replaces. ACRT_ENOMEM on out of memory (the old value stays). */
ACRT_API int acrt_state_put(acrt_ctx *ctx, const void *key, size_t klen, const void *val,
                            size_t vlen);
/* ACRT_OK, or ACRT_ENOENT when the key was absent. */
ACRT_API int acrt_state_del(acrt_ctx *ctx, const void *key, size_t klen);
/* Calls fn for every entry, in no particular order, until fn returns non-zero
 * (which is then returned). fn must not put or del. */
typedef int (*acrt_state_fn)(void *arg, const void *key, size_t klen, const void *val,
                             size_t vlen);
ACRT_API int acrt_state_iter(acrt_ctx *ctx, acrt_state_fn fn, void *arg);
/* Number of entries. */
ACRT_API size_t acrt_state_count(acrt_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* ACRT_ACRT_H */
