/*
 * metrics.h - the facts the HTTP API serves (api.c), read from a running
 * system without blocking it: the instances' relaxed counters, each
 * transport's stats (its mutex, briefly), each capability chain's stats
 * (relaxed atomics), and the process's own resource use.
 *
 * Called on the API's thread while the runtime is in its process phase (after
 * setup, before cleanup): the runtime's arrays do not change meanwhile.
 */
#ifndef ACRT_METRICS_H
#define ACRT_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/query.h"

/* Prometheus text exposition format 0.0.4. Returns a malloc'd buffer (free()),
 * its length in *len, or NULL when out of memory. */
char *acrt__metrics_text(acrt__runtime *rt, size_t *len);

/* GET /api/v1/system: the system, its components, streams and process. */
json_t *acrt__metrics_system(acrt__runtime *rt);
/* GET /api/v1/components/{name}: NULL when there is no such component. */
json_t *acrt__metrics_component(acrt__runtime *rt, const char *name);
/* GET /readyz: *ready, and {"ready": bool, "reasons": [...]}. Ready when every
 * component finished setup, none has failed and the system is not draining. */
json_t *acrt__metrics_readiness(acrt__runtime *rt, bool *ready);

/* The process's resource use. Read from /proc for now: one function, to be
 * replaced by libproc2. Fields that cannot be read are -1. */
typedef struct acrt__proc_stats {
	double rss_bytes;
	double cpu_seconds;
	long open_fds;
	long threads;
} acrt__proc_stats;
void acrt__proc_read(acrt__proc_stats *out);

#endif /* ACRT_METRICS_H */
