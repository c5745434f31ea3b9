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

#include "acrt/acrt.h"

/* The buffer_size of the bindings of output `port` (the smallest, with
 * fan-out), whether each is a stream or chained into a direct call; the
 * deployment's default buffer size when the port has no binding. */
size_t acrt__ctx_output_capacity(acrt_ctx *ctx, const char *port);
/* Non-zero once a graceful stop or a cancel was requested: acrt_stopping()
 * without its side effect (a source takes a due checkpoint barrier there, on
 * its own thread), so any thread may call it. */
int acrt__ctx_stop_requested(acrt_ctx *ctx);
/* The component's replica count (>= 1). */
int acrt__ctx_replicas(acrt_ctx *ctx);
/* true when output `port` is chained: emit runs the downstream component on
 * the emitting thread (wiring.c). */
bool acrt__ctx_output_chained(acrt_ctx *ctx, const char *port);
/* True during setup when `acrt run --resume` found state for this instance
 * (restore will be called next): a file sink then keeps its file. Defined in
 * state.c; the instance's setup thread calls it. */
bool acrt__ctx_resuming(acrt_ctx *ctx);

#endif /* ACRT_CTX_QUERY_H */
