/*
 * lock.h - build.lock (SPEC section 3): what a blueprint resolved to, pinned.
 *
 * A lock records the runtime version, the sha256 of architecture.yaml, of the
 * deployment file (if any) and of every plugin binary, and each component's
 * capability chain in execution order. It is JSON with sorted keys and a fixed
 * indentation, so the same inputs always give the same bytes (docs/CLI.md).
 *
 * All functions run on the caller's thread and only read or write files.
 * Messages (errors, drift) are appended to an acrt__diag, one line each,
 * prefixed with the lock file's path.
 */
#ifndef ACRT_LOCK_H
#define ACRT_LOCK_H

#include <stddef.h>

#include "blueprint/blueprint.h"

/* The file name, written in the blueprint's directory (bp->dir). */
#define ACRT__LOCK_FILE "build.lock"

/* Path of the lock file of a blueprint (from acrt__malloc: acrt__free it), or
 * NULL when out of memory. */
char *acrt__lock_path(const acrt__blueprint *bp);

/*
 * A component's capability chain in execution order, as a JSON array of names
 * (new reference): capabilities, batching and state when enabled, metrics
 * last; sorted by tier, ties by name. NULL when out of memory.
 */
json_t *acrt__lock_chain(const acrt__comp_spec *c);

/*
 * Computes the lock text of a blueprint (from acrt__malloc, NUL-terminated).
 * Returns NULL and appends to diag when a file cannot be read or memory runs
 * out.
 */
char *acrt__lock_render(const acrt__blueprint *bp, acrt__diag *diag);

/*
 * Writes the lock atomically: a temporary file in the same directory, fsync,
 * rename over build.lock, fsync of the directory. 0, or -1 with diag appended
 * (the temporary file is removed).
 */
int acrt__lock_write(const acrt__blueprint *bp, acrt__diag *diag);

/* The outcome of acrt__lock_check. */
enum {
	ACRT__LOCK_OK = 0,      /* the lock matches */
	ACRT__LOCK_MISSING = 1, /* no build.lock: nothing to check */
	ACRT__LOCK_DRIFT = 2,   /* it differs: one diag line per difference */
	ACRT__LOCK_ERROR = -1   /* unreadable or malformed lock, unreadable input */
};

/* Compares a blueprint with its build.lock. */
int acrt__lock_check(const acrt__blueprint *bp, acrt__diag *diag);

#endif /* ACRT_LOCK_H */
