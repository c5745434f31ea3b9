/*
 * log.h - structured logging: one record per line on stderr, JSON (for
 * machines) or text (for people on a terminal). Every record names its
 * component and, when there is one, the event it is about.
 *
 * Thread-safe: a record is formatted into a buffer and written with one
 * write(2) under a mutex, so lines never interleave. Never logs secrets: the
 * callers pass messages, and no config value is logged by the runtime.
 *
 * The live status line (status.c) shares stderr: log records erase it first,
 * and it is redrawn on the next tick. When stderr is systemd's journal
 * (JOURNAL_STREAM), each line starts with its priority ("<3>" ...) for journald.
 */
#ifndef ACRT_LOG_H
#define ACRT_LOG_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"

typedef enum acrt__log_format {
	ACRT__LOG_FORMAT_AUTO = 0, /* text on a terminal, json otherwise */
	ACRT__LOG_FORMAT_TEXT,
	ACRT__LOG_FORMAT_JSON
} acrt__log_format;

/* Sets the minimum level and the format (AUTO: text on a terminal). */
void acrt__log_config(int min_level, acrt__log_format fmt);
bool acrt__log_enabled(int level);
bool acrt__log_is_json(void);

/* One record. component and event_id (0 = none) may be omitted. `extra`, if
 * not NULL, is an object whose fields are added to the record (borrowed). */
void acrt__log(int level, const char *component, uint64_t event_id, const json_t *extra,
               const char *fmt, ...) ACRT_PRINTF(5, 6);
void acrt__logv(int level, const char *component, uint64_t event_id, const json_t *extra,
                const char *fmt, va_list ap);

/* Writes the current UTC time as RFC 3339 with milliseconds
 * ("2026-11-24T21:00:00.123Z") into buf (at least 32 bytes). */
void acrt__log_time_rfc3339(char *buf, size_t n);

/* The status line: text without a newline that stays at the bottom of a
 * terminal. NULL erases it. No-op unless stderr is a terminal. */
void acrt__log_status(const char *line);

#endif /* ACRT_LOG_H */
