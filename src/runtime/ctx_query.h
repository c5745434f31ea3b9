/*
 * ctx_query.h - what a built-in component may ask about its own wiring beyond
 * the public ABI (acrt.h): the capacity behind an output port, the stop flag
 * from a thread of its own, its replica count, whether it is being resumed.
 * For built-ins only (plugins see acrt.h alone).
 *
 * Threads: these read the blueprint and the wiring, which do not change while
 * the system runs, and the runtime's atomics; any thread may call them from
 * setup to cleanup.
 */
#ifndef ACRT_CTX_QUERY_H
#define ACRT_CTX_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "acrt/acrt.h"

/* The buffer_size of the bindings of output `port` (the smallest, with
 * fan-out), whether each is a stream or chained into a direct call; the
 * deployment's default buffer size when the port has no binding. */
size_t acrt__ctx_output_capacity(acrt_ctx *ctx, const char *port);
/* Non-zero once a graceful stop or a cancel was requested: acrt_stopping()
 * without its side effect (a source takes a due checkpoint barrier there, on
 * its own thread), so any thread may call it. */
int acrt__ctx_stop_requested(acrt_ctx *ctx);
/* Asks the whole run to stop as SIGTERM does (sources stop, in-flight events
 * drain, every stream ends): a Passthrough with max_items (the dialect's
 * terminating Controller). Any instance thread; idempotent. */
void acrt__ctx_request_stop(acrt_ctx *ctx);
/* The component's replica count (>= 1). */
int acrt__ctx_replicas(acrt_ctx *ctx);
/* true when output `port` is chained: emit runs the downstream component on
 * the emitting thread (wiring.c). */
bool acrt__ctx_output_chained(acrt_ctx *ctx, const char *port);
/* True during setup when `acrt run --resume` found state for this instance
 * (restore will be called next): a file sink then keeps its file. Defined in
 * state.c; the instance's setup thread calls it. */
bool acrt__ctx_resuming(acrt_ctx *ctx);

/* True when output `port` has a binding (an unbound port drops what is
 * emitted on it). */
bool acrt__ctx_output_bound(acrt_ctx *ctx, const char *port);
/* Counts a failed event the component itself sent on to its bound `error`
 * port: not lost, as a dead letter's (summary.h). The instance's thread. */
void acrt__ctx_diverted(acrt_ctx *ctx);
/* A sink's write failed (blocked: true) or went through again (false):
 * counts the failed attempts and sets the state the metrics and the
 * `sink_write_blocked` alert show. The instance's own thread calls it. */
void acrt__ctx_write_state(acrt_ctx *ctx, bool blocked);
/* Waits until deadline_ns (monotonic) or a cancel, not a graceful stop: a
 * sink retrying a write keeps retrying through the drain. Returns ACRT_OK at
 * the deadline, ACRT_ECANCELED on cancel. Any instance thread. */
int acrt__ctx_pause_until(acrt_ctx *ctx, int64_t deadline_ns);
/* The resolved schema of output `port` (a name under `schemas:` already
 * replaced by its schema), borrowed from the blueprint, which outlives the
 * instance; NULL when the port declares none or does not exist. The
 * APIEndpoint enforces it before it queues a body (422). */
const json_t *acrt__ctx_output_schema(acrt_ctx *ctx, const char *port);
/* True when the component has inputs and every binding into it comes from
 * an output port named `port` (e.g. "dead_letter"). */
bool acrt__ctx_fed_by_port(acrt_ctx *ctx, const char *port);
/* Counts n input records a source could not make events of (invalid or
 * over-long lines) and skipped: lost input for the run's summary and exit
 * status (summary.h). The instance's own thread calls it. */
void acrt__ctx_skipped(acrt_ctx *ctx, uint64_t n);
/* A timer for the idle hook, called from it by a component that holds
 * output back (the http sink's open batch, up to its max_ms; an Aggregator's
 * windows waiting for an idle input's watermark): the instance's loop calls
 * idle again at deadline_ns (monotonic, acrt_now_ns's clock) if no input
 * comes first; the earliest request of an idle pass wins, 0 asks nothing.
 * Returns false when it cannot (the instance is chained and idles on its
 * producer's thread): the component must then not hold back. wiring.c never
 * chains a component that needs one (acrt__spec_wants_timer). The instance's
 * thread, inside idle. */
bool acrt__ctx_wake_at(acrt_ctx *ctx, int64_t deadline_ns);
/* Counts n events a sink accepted and gave up writing (summary.h). The
 * instance's own thread, or its cleanup, calls it. */
void acrt__ctx_unwritten(acrt_ctx *ctx, uint64_t n);
/* A source with inputs (an APIEndpoint with reply) reads them from its own
 * run(): the inbox's wait queue (NULL when the component has no input), to
 * park on it and to be woken by its own producers too; and a receive that
 * never parks (0 with *eos true once every input ended and drained). A
 * checkpoint barrier that aligned is released here (a source checkpoints
 * through acrt_stopping, not through its inputs). The instance's thread. */
struct acrt__waitq;
struct acrt__waitq *acrt__ctx_inbox_waitq(acrt_ctx *ctx);
size_t acrt__ctx_inbox_poll(acrt_ctx *ctx, acrt_event **evs, size_t max, bool *eos);

#endif /* ACRT_CTX_QUERY_H */
