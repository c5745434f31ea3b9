/*
 * query.h - everything src/observe/ may read or do about a running system
 * (the HTTP API, /metrics, alerts, the status line, `acrt tap`), and nothing
 * more: observe/ includes this header, never runtime.h, so acrt__runtime and
 * the runtime's components and instances are opaque to it. Implemented in
 * query.c (and, for the two totals, ctx_query.c).
 *
 * Addressing: a component is its index in the blueprint (0 .. n_comps - 1,
 * the order of bp->comps), an instance its replica (0 .. replicas - 1), a
 * stream its index (0 .. acrt__q_streams - 1). The indices are valid from
 * setup to cleanup of one generation; the arrays do not change meanwhile.
 *
 * Threads:
 *   - the supervising thread (the services of runtime/service.h, so the API's
 *     requests, the alert rules, the status line) may call every function but
 *     the "instance thread" ones, while the system is in its process phase
 *     (after setup, before cleanup);
 *   - the snapshots (acrt__q_instance, acrt__q_state, the totals, the
 *     capability stats) read relaxed counters and acquire the run state: any
 *     thread may take them, they never block a component; acrt__q_stream and
 *     acrt__runtime_depth take each stream's mutex briefly, and
 *     acrt__q_counters the runtime's mutex (rt->mu) to copy;
 *   - the tap pointers: the supervising thread sets them (release), instance
 *     threads load them (acquire) in acrt__tap_offer_* (observe/tap.h); the
 *     taps registry slot (acrt__q_taps) is the supervising thread's alone.
 */
#ifndef ACRT_QUERY_H
#define ACRT_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"
#include "core/transport.h"

typedef struct acrt__runtime acrt__runtime; /* opaque outside src/runtime */
struct acrt__taps;                          /* observe/tap.c's registry */

/* Processing-time histogram: every ACRT__TIME_SAMPLE-th event of an instance
 * is timed (two TSC clock reads), so the success path pays ~0.3 ns/event. */
#define ACRT__TIME_SAMPLE 64
#define ACRT__TIME_BUCKETS 15 /* the last is +Inf */
/* The buckets' upper bounds (ns), ascending; the last bucket has none. */
extern const int64_t acrt__time_bounds_ns[ACRT__TIME_BUCKETS - 1];

/* An instance's process phase, as the API reports it. */
typedef enum acrt__inst_state {
	ACRT__INST_RUNNING = 0, /* (or not started yet) */
	ACRT__INST_ENDED = 1,   /* returned normally, or cancelled */
	ACRT__INST_FAILED = 2   /* end_rc says why */
} acrt__inst_state;

/* ---- The system ---------------------------------------------------------- */

/* The blueprint the system runs (borrowed; outlives the generation). */
const acrt__blueprint *acrt__q_blueprint(const acrt__runtime *rt);
/* A graceful stop was requested (draining). */
bool acrt__q_stopping(const acrt__runtime *rt);
/* The run was cancelled (second signal, or the drain deadline passed). */
bool acrt__q_cancelled(const acrt__runtime *rt);
/* When setup ended (monotonic ns). */
int64_t acrt__q_started_ns(const acrt__runtime *rt);
/* System totals, from the instances' relaxed counters (any thread): events
 * into components without outputs (sinks), events out of components without
 * inputs (sources), and failed events. (ctx_query.c) */
void acrt__runtime_totals(acrt__runtime *rt, uint64_t *in, uint64_t *out, uint64_t *errors);
/* Events inside the streams now (any thread). (ctx_query.c) */
size_t acrt__runtime_depth(acrt__runtime *rt);

/* ---- Components (index k) ------------------------------------------------ */

/* How many components (bp->n_comps). */
size_t acrt__q_components(const acrt__runtime *rt);
/* Component k's spec (borrowed from the blueprint). */
const acrt__comp_spec *acrt__q_spec(const acrt__runtime *rt, size_t k);
/* Its instance count (>= 1). */
int acrt__q_replicas(const acrt__runtime *rt, size_t k);
/* It runs on its upstream's thread (operator chaining). */
bool acrt__q_chained(const acrt__runtime *rt, size_t k);
/* Its input is batched by the harness (docs/BATCHING.md). */
bool acrt__q_batched(const acrt__runtime *rt, size_t k);
/* A copy of its published counters (acrt_count: name -> integer), taken under
 * the runtime's mutex: a new reference, an empty object when it has none. */
json_t *acrt__q_counters(acrt__runtime *rt, size_t k);

/* ---- Instances (component k, replica r) ---------------------------------- */

/* One instance's figures at one moment. */
typedef struct acrt__q_inst {
	uint64_t events_in, events_out, errors;
	uint64_t write_errors; /* a sink's failed write attempts */
	bool write_blocked;    /* its writes fail now: it retries, its input waits */
	int64_t stuck_ns;      /* stuck in process this long (runtime/stuck.c), or 0 */
	int state;             /* acrt__inst_state */
	bool set_up;           /* setup succeeded */
	int end_rc;            /* the code it ended with, when state is ACRT__INST_FAILED */
	/* Sampled processing time: per bucket (bounds acrt__time_bounds_ns), count,
	 * sum. */
	uint64_t time_bucket[ACRT__TIME_BUCKETS];
	uint64_t time_count, time_sum_ns;
} acrt__q_inst;

/* Fills *out: relaxed counters; the run state acquired before end_rc. */
void acrt__q_instance(const acrt__runtime *rt, size_t k, int r, acrt__q_inst *out);
/* Its run state alone (acrt__inst_state, acquire). */
int acrt__q_state(const acrt__runtime *rt, size_t k, int r);
/* Its capability chain's stats ({capability: {stat: value}}, a new
 * reference), or NULL when it has no capabilities. */
json_t *acrt__q_caps(const acrt__runtime *rt, size_t k, int r);

/* ---- Streams (index i) --------------------------------------------------- */

typedef struct acrt__q_stream_info {
	const char *name;            /* "producer.port->consumer.port" */
	const char *kind;            /* the transport's kind */
	acrt__transport_stats stats; /* depth, capacity, sent, received, blocked */
} acrt__q_stream_info;

/* How many streams (transports). */
size_t acrt__q_streams(const acrt__runtime *rt);
/* Stream i's name, kind and stats (its mutex, briefly). */
void acrt__q_stream(const acrt__runtime *rt, size_t i, acrt__q_stream_info *out);

/* ---- `acrt tap` (observe/tap.c) ------------------------------------------ */

/* Supervising thread: the registry of taps of this run (NULL until set). */
struct acrt__taps *acrt__q_taps(const acrt__runtime *rt);
void acrt__q_set_taps(acrt__runtime *rt, struct acrt__taps *t);
/* Supervising thread: the pointer emit checks on output `port` of component
 * k, and the one all of k's input ports share (release; NULL: untapped). */
void acrt__q_set_out_tap(acrt__runtime *rt, size_t k, size_t port, struct acrt__taps *t);
void acrt__q_set_in_tap(acrt__runtime *rt, size_t k, struct acrt__taps *t);
/* Instance thread, in a tap hook: which component and replica ctx is, and
 * the tap pointers of its component (acquire). */
size_t acrt__q_ctx_comp(const acrt_ctx *ctx);
int acrt__q_ctx_replica(const acrt_ctx *ctx);
struct acrt__taps *acrt__q_out_tap(const acrt_ctx *ctx, size_t port);
struct acrt__taps *acrt__q_in_tap(const acrt_ctx *ctx);

#endif /* ACRT_QUERY_H */
