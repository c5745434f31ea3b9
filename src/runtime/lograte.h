/*
 * lograte.h - per-instance rate limiting of repeated log lines, as Vector and
 * Fluent Bit limit their own: per (instance, site, code), at most
 * ACRT__LOGRATE_BURST lines in each ACRT__LOGRATE_WINDOW_NS window; the rest
 * are counted, and the next line of that site after the window (or the end of
 * the instance) says how many were suppressed and the last of them. What the
 * lines are about (the error counters) stays exact: only lines are limited.
 *
 * A site is any stable pointer naming where the line comes from: the format
 * string of an acrt_log call, the capability that failed an event. Threads:
 * any (a component's own threads log through acrt_log too); one mutex per
 * instance, taken only on a line that would be logged. The table is owned by
 * its acrt_ctx (init at wiring, destroy at unwiring).
 */
#ifndef ACRT_LOGRATE_H
#define ACRT_LOGRATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define ACRT__LOGRATE_BURST 100
#define ACRT__LOGRATE_WINDOW_NS 1000000000LL /* 1 s */
#define ACRT__LOGRATE_SLOTS 8

typedef struct acrt__lograte_slot {
	const void *site; /* NULL: free */
	int code;
	int64_t window; /* monotonic ns: this window's start */
	uint32_t lines; /* logged in this window */
	uint64_t suppressed;
	char last[160]; /* the last suppressed line's message */
} acrt__lograte_slot;

typedef struct acrt__lograte {
	pthread_mutex_t mu;
	acrt__lograte_slot slot[ACRT__LOGRATE_SLOTS];
} acrt__lograte;

int acrt__lograte_init(acrt__lograte *lr);
void acrt__lograte_destroy(acrt__lograte *lr);
/* true: log this line now; false: it is counted as suppressed. msg (may be
 * NULL) is kept as the last suppressed line. Logs a due summary itself. */
bool acrt__lograte_take(acrt__lograte *lr, const char *component, const void *site, int code,
                        const char *msg);
/* Logs every pending summary (an instance's end). */
void acrt__lograte_flush(acrt__lograte *lr, const char *component);

#endif /* ACRT_LOGRATE_H */
