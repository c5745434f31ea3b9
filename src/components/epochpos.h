/*
 * epochpos.h - the checkpoint snapshot of a sink that names what it delivered
 * by a run epoch and a position in its input (the http sink's idempotency
 * keys, the postgres sink's acrt_positions row): 1 byte of version, then the
 * epoch and the position, 8 bytes each, little endian. The instance's own
 * thread calls these, from its snapshot and restore hooks; nothing blocks.
 */
#ifndef ACRT_COMPONENTS_EPOCHPOS_H
#define ACRT_COMPONENTS_EPOCHPOS_H

#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"

/* A new snapshot in *buf (malloc'd: the runtime frees it with free()). */
int acrt__epochpos_snapshot(acrt_ctx *ctx, uint64_t epoch, uint64_t pos, void **buf, size_t *len);
/* Reads a snapshot; `what` names the component kind in the failure. An
 * empty one (len 0: nothing was checkpointed) leaves both as they are. */
int acrt__epochpos_restore(acrt_ctx *ctx, const char *what, const void *buf, size_t len,
                           uint64_t *epoch, uint64_t *pos);

#endif /* ACRT_COMPONENTS_EPOCHPOS_H */
