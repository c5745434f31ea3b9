/*
 * writeretry.h - how the built-ins that write (the Sink's files, the Store's
 * SQLite database) ride out a failing write: they keep what they hold and
 * retry with backoff (50 ms doubling to 2 s), their input waiting, until the
 * write goes through; with `on_write_error: fail` they give up after
 * `write_error_timeout_ms` and stop the system. The runtime shows the state
 * (acrt_component_write_blocked, the sink_write_blocked alert).
 *
 * One per instance, used by its own thread only.
 */
#ifndef ACRT_WRITERETRY_H
#define ACRT_WRITERETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"

/* The two config keys, for a component's props table. */
#define ACRT__WRETRY_PROPS                                                                         \
	{"on_write_error",                                                                         \
	 ACRT_PROP_STRING,                                                                         \
	 0,                                                                                        \
	 0,                                                                                        \
	 0,                                                                                        \
	 acrt__wretry_modes,                                                                       \
	 "a failing write: retry until it goes through | fail after write_error_timeout_ms"},      \
	{                                                                                          \
		"write_error_timeout_ms", ACRT_PROP_INT, 0, 1, 86400000, NULL,                     \
		    "on_write_error: fail: how long writes may fail before the system stops "      \
		    "(30000)"                                                                      \
	}
extern const char *const acrt__wretry_modes[];

typedef struct acrt__wretry {
	bool fail;          /* on_write_error: fail */
	int64_t fail_after; /* write_error_timeout_ms, in ns */
	int64_t failing_ns; /* when writes began to fail; 0: they do not */
	int64_t backoff_ns; /* the next wait */
} acrt__wretry;

/* Reads on_write_error and write_error_timeout_ms. */
void acrt__wretry_init(acrt__wretry *w, acrt_ctx *ctx);
/* Gives up at the next failure (cleanup: nothing could stop a retry there). */
void acrt__wretry_no_more(acrt__wretry *w);
/*
 * A write of `what` failed with `why`; `curable` says whether a retry may
 * cure it (a full disk, EIO, a busy database). Counts it, logs it
 * (rate-limited), and waits the backoff. Returns ACRT_OK to retry,
 * ACRT_EFATAL to give up (with the reason set by acrt_fail), or ACRT_ECANCELED.
 */
int acrt__wretry_failed(acrt__wretry *w, acrt_ctx *ctx, const char *what, const char *why,
                        bool curable);
/* A write went through: ends a failing spell (logged, the state cleared). */
void acrt__wretry_ok(acrt__wretry *w, acrt_ctx *ctx, const char *what);

#endif /* ACRT_WRITERETRY_H */
