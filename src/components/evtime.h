/*
 * evtime.h - an event's own time, read from a field of its JSON text, for the
 * Aggregator's event-time windows (docs/COMPONENTS.md, "Event time"). Pure
 * functions (no state, no clock, no allocation on the common path): any
 * thread may call them at once.
 *
 * The time model: milliseconds since the Unix epoch, as a 64-bit integer,
 * always rounded down (floor) to the millisecond, and limited to the years
 * 0000 to 9999 (RFC 3339's range), so that a window's bounds plus any
 * lateness never overflow. Formats:
 *   rfc3339   a JSON string "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"
 *             ('t' and ' ' also separate date and time, 'z' is 'Z'; a leap
 *             second :60 counts as the next minute's first second);
 *   epoch_s   a JSON number of seconds (decimals and exponents read exactly
 *             from the number's text, never through a double), or a string
 *             holding such a number;
 *   epoch_ms  the same in milliseconds;
 *   auto      a string is RFC 3339 (or, when it holds a number, like a
 *             number); a number is epoch_ms when its magnitude is at least
 *             1e11 (1973-03-03 in ms; the year 5138 in seconds), else epoch_s.
 */
#ifndef ACRT_EVTIME_H
#define ACRT_EVTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/json.h"

typedef enum acrt__tfmt {
	ACRT__TF_AUTO = 0,
	ACRT__TF_RFC3339,
	ACRT__TF_EPOCH_S,
	ACRT__TF_EPOCH_MS
} acrt__tfmt;

/* The valid range, ms since the epoch: 0000-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z. */
#define ACRT__TIME_MIN_MS (-62167219200000LL)
#define ACRT__TIME_MAX_MS (253402300799999LL)

/* The format named s ("auto", "rfc3339", "epoch_s", "epoch_ms"), or -1. */
int acrt__tfmt_parse(const char *s);

/* RFC 3339 text s[0..n) (no quotes) to ms. 0, or -1 with a static reason. */
int acrt__rfc3339_ms(const char *s, size_t n, int64_t *ms, const char **why);
/* A JSON number's text s[0..n) in units of `unit_ms` ms (1000: seconds, 1:
 * ms) to ms, floored. 0, or -1 with a static reason. */
int acrt__epoch_ms(const char *s, size_t n, int64_t unit_ms, int64_t *ms, const char **why);
/* The time of a field's value (v->type ACRT__J_ABSENT: missing) in format
 * fmt. 0 with *ms, or -1 with a reason in why[0..len) that names the value. */
int acrt__time_of_value(const acrt__jval *v, acrt__tfmt fmt, int64_t *ms, char *why, size_t len);

#endif /* ACRT_EVTIME_H */
