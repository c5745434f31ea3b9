/*
 * enrich.h - error enrichment (the design's ConsistentErrorHandler):
 * every error record (a failed event, a fatal component, a setup failure)
 * carries its error class, trace id, attempt, and a snapshot of the process's
 * resources read with libproc2 (docs/ALERTS.md, "Error enrichment").
 *
 * Only error paths call this (and acrt__enrich_tick, on the supervising
 * thread): the success path never does. The snapshot is cached for
 * ACRT__ENRICH_CACHE_NS, so a burst of errors reads /proc at most ten times a
 * second. Thread-safe.
 */
#ifndef ACRT_ENRICH_H
#define ACRT_ENRICH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"

#define ACRT__ENRICH_CACHE_NS 100000000LL /* 100 ms */

/* The process's resources; a field that cannot be read is -1. */
typedef struct acrt__resource_snapshot {
	double rss_bytes;
	double cpu_percent; /* since the previous snapshot (since start for the first) */
	double cpu_seconds; /* user + system CPU time of the process */
	long threads;
	long open_fds;
	double load1;
	double mem_available_bytes;
} acrt__resource_snapshot;

/* The (cached) snapshot. The host figures (load, available memory) and the
 * open fds are read by whichever thread asks; RSS, threads and CPU % only on
 * the main thread (libproc2's pids API keeps thread-local buffers that would
 * leak with each thread): another thread gets the main thread's last reading
 * (-1 before the first) and asks acrt__enrich_tick for a new one. */
void acrt__enrich_snapshot(acrt__resource_snapshot *out);
/* On the main (supervising) thread: at start (the first reading) and each
 * time it wakes: re-reads RSS, threads and CPU % if an error on another
 * thread asked for it. Cheap otherwise. */
void acrt__enrich_tick(void);

/* "dependency", "schema", "resource" or "execution", from the code and the
 * capability that failed the event (NULL or "-": the component itself). */
const char *acrt__enrich_class(int rc, const char *capability);

/* Adds error_class, capability, trace_id (when ev) and attempt to the object
 * `extra` (created when NULL), and the snapshot fields when `resources` (an
 * error-level record: a per-event warning goes without them); returns it
 * (owned by the caller), or NULL when out of memory. */
json_t *acrt__enrich_error(json_t *extra, int rc, const char *capability, const acrt_event *ev,
                           int attempt, bool resources);

/* Frees libproc2's handles (at the end of a run; they are made again on use). */
void acrt__enrich_release(void);

#endif /* ACRT_ENRICH_H */
