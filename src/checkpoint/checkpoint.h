/*
 * checkpoint.h - consistent checkpoints of a running system (docs/STATE.md):
 * aligned barrier snapshots, as Flink takes them (Chandy-Lamport).
 *
 *   trigger   the supervising thread (every checkpoint_interval_s, or on
 *             request from the API) opens checkpoint N and raises `trigger`;
 *   sources   notice it between two emits (acrt_emit, acrt_sleep_until,
 *             acrt_stopping), snapshot, and send barrier N on every output;
 *   others    get barrier N from their inbox once it has arrived on every
 *             input (inbox.c holds back inputs that delivered it early),
 *             snapshot, and forward it; chained instances do it in-line;
 *   complete  when every instance has handed in its part, the checkpoint
 *             goes to the writer thread ("acrt-ckpt"), which seals the parts
 *             (part.h) and stores them in one atomic put (adapter.h);
 *   abort     a checkpoint not complete within checkpoint_timeout_ms is
 *             abandoned: counted, logged, inputs unblocked; the pipeline
 *             never waits on the store, and a failed write is retried at the
 *             next interval (fail-soft).
 *
 * An instance that has ended hands in its final state once; it stands for
 * it in every later checkpoint. At a graceful end a last checkpoint holds
 * everyone's final state.
 *
 * Threads: acrt__ckpt_open/restore/finish run on the runtime's thread; tick
 * and request on the supervising thread (request also from the API, same
 * thread); poll/barrier/instance_end on the instance's own thread.
 */
#ifndef ACRT_CHECKPOINT_H
#define ACRT_CHECKPOINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"
#include "runtime/query.h" /* acrt__runtime: opaque here */

struct acrt__ckpt_ops;

typedef struct acrt__ckpt_rt acrt__ckpt_rt;

/* With runtime.state on: opens the store, loads the checkpoint to resume
 * from (resume: NULL = none, "" = the newest complete one, else an id) into
 * the instances' managed state, and starts the writer thread. Before setup.
 * Returns 0, or 1 after logging why (the run then exits 1). */
int acrt__ckpt_open(acrt__runtime *rt, const char *resume);
/* After setup: hands each instance its own snapshot bytes (restore). 0 or 1. */
int acrt__ckpt_restore(acrt__runtime *rt);
/* Supervising thread: opens a due checkpoint, aborts one past its deadline.
 * Returns when it next needs a tick (monotonic ns; ACRT__FOREVER: never). */
int64_t acrt__ckpt_tick(acrt__runtime *rt, int64_t now);
/* Asks for a checkpoint at the next tick. Returns the last id handed out so
 * far (the requested one will be greater), or -1 when checkpoints are off. */
int64_t acrt__ckpt_request(acrt__runtime *rt);
/* The supervising thread polls this fd (-1: none) beside its others: it is
 * readable when a network transport asked for a checkpoint soon (its held
 * acknowledgements fill the broker's bound); then it calls _fd_read and
 * ticks. */
int acrt__ckpt_fd(acrt__runtime *rt);
void acrt__ckpt_fd_read(acrt__runtime *rt);
/* Instance thread: the barrier reached this instance (aligned): snapshot it,
 * forward the barrier downstream. ACRT_OK or ACRT_ECANCELED. */
int acrt__ckpt_barrier(acrt_ctx *ctx, uint64_t id);
/* Source thread: takes and forwards a triggered barrier. */
int acrt__ckpt_source_barrier(acrt_ctx *ctx);
/* Instance thread, when its process phase ends normally: its final part. */
void acrt__ckpt_instance_end(acrt_ctx *ctx);
/* The three above, as the instance threads call them (rt->ckpt_ops). */
extern const struct acrt__ckpt_ops acrt__ckpt_instance_ops;
/* After the process phase: with graceful, a last checkpoint of every final
 * state; then stops the writer (storing what is queued) and closes the store.
 * Returns 0, or -1 (logged) when that last checkpoint could not be stored. */
int acrt__ckpt_finish(acrt__runtime *rt, bool graceful);
/* Opens the store a blueprint's runtime.state names (defaults filled in), for
 * the CLI. ACRT_OK with *ad and *ops, else an error and a reason in err. */
struct acrt__state_adapter;
struct acrt__state_ops;
int acrt__state_open_bp(const acrt__blueprint *bp, struct acrt__state_adapter **ad,
                        const struct acrt__state_ops **ops, char *err, size_t errlen);
/* The system name bp's checkpoint store is kept under: its Redis keys, its
 * default SQLite file, and the "system" its manifests bind (state/part.h):
 * "<system>.<node>" once a node is picked (blueprint/nodes.c), else the
 * system's name ("system" when it has none). */
const char *acrt__ckpt_store_system(const acrt__blueprint *bp);
/* For a reload, before the running generation is drained: 0 when the store
 * bp's runtime.state names can be written by this process (no store, one
 * without a lock, the one it holds, or one nobody holds), else -1 with why
 * ("the sqlite_snapshot store ... is in use by another run (pid ...)"). */
int acrt__ckpt_store_check(const acrt__blueprint *bp, char *why, size_t whylen);
/* For /metrics and /api/v1/checkpoints: counters and recent checkpoints. */
json_t *acrt__ckpt_json(acrt__runtime *rt);
/* Prometheus lines. */
struct acrt__strbuf;
void acrt__ckpt_metrics(acrt__runtime *rt, struct acrt__strbuf *sb);

#endif /* ACRT_CHECKPOINT_H */
