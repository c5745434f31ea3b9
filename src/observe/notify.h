/*
 * notify.h - `acrt run` as a systemd service (Type=notify, docs/RELOAD.md,
 * dist/systemd/acrt@.service): a service of the supervising loop
 * (runtime/service.h) that tells the service manager, through sd_notify(3),
 *
 *   READY=1                    when the system has started (every setup
 *                              succeeded), and again when a reload is done;
 *   RELOADING=1 MONOTONIC_USEC when a reload starts (SIGHUP, the API, --watch);
 *   STOPPING=1                 when the drain starts (SIGINT/SIGTERM), or, when
 *                              the system ends by itself, at its end;
 *   WATCHDOG=1                 every half of WatchdogSec while healthy (below);
 *   STATUS=                    one line, every 2 s and on each change: "running:
 *                              3 components, out 1200/s, in 1200/s, in flight 4,
 *                              errors 0", "reloading: ...", "draining: ...".
 *
 * Healthy, for the watchdog: the ping is sent by the supervising loop itself,
 * so it stops when the loop stops turning (a blocked service, a deadlock);
 * and while the system stops or quiesces for a reload, it goes on for at most
 * shutdown_timeout_ms plus one watchdog interval (the runtime cancels at
 * shutdown_timeout_ms: threads that still do not end are stuck). The loop does
 * not turn while the supervising thread sets components up (at the start, and
 * on a reload's generation switch, which pings just before): WatchdogSec must
 * exceed startup_timeout_ms.
 *
 * Only registered when NOTIFY_SOCKET is set (acrt__notify_init): otherwise it
 * costs nothing. Threads: the supervising thread only. The owner zeroes the
 * struct and keeps it for the run.
 */
#ifndef ACRT_NOTIFY_H
#define ACRT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/query.h"
#include "runtime/service.h"

typedef struct acrt__notify {
	acrt__runtime *rt;      /* between start and stop */
	int64_t wd_every_ns;    /* half of WATCHDOG_USEC; 0: no watchdog */
	int64_t wd_next_ns;     /* the next ping */
	int64_t status_next_ns; /* the next STATUS= */
	int64_t stopping_since; /* first seen stopping (monotonic ns), 0: not */
	int64_t last_ns;        /* the rates' last sample */
	uint64_t last_in, last_out;
	double rate_in, rate_out; /* events/s over the last sample */
	acrt__phase phase;
	bool stopping_sent; /* STOPPING=1 went out: nothing but STATUS after it */
	bool failed_logged; /* one warning when sd_notify fails */
} acrt__notify;

/* Zeroes *n and reads the watchdog settings (sd_watchdog_enabled). Returns
 * false when NOTIFY_SOCKET is not set: then do not register the service. */
bool acrt__notify_init(acrt__notify *n);

/* The service: `arg` is the acrt__notify. */
extern const acrt__service acrt__notify_service;

#endif /* ACRT_NOTIFY_H */
