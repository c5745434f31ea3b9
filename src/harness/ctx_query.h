/*
 * ctx_query.h - what a built-in component may ask about its own wiring beyond
 * the public ABI (acrt.h): the capacity behind an output port and its replica
 * count. For built-ins only (plugins see acrt.h alone).
 *
 * Threads: these read the blueprint and the wiring, which do not change while
 * the system runs; any thread may call them from setup to cleanup.
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
/* The component's replica count (>= 1). */
int acrt__ctx_replicas(acrt_ctx *ctx);
/* true when output `port` is chained: emit runs the downstream component on
 * the emitting thread (wiring.c). */
bool acrt__ctx_output_chained(acrt_ctx *ctx, const char *port);

#endif /* ACRT_CTX_QUERY_H */
