/*
 * service.h - what the supervising loop serves besides the component threads,
 * in the manner of Redis's ae.c: each service gives an fd to poll, its next
 * deadline and callbacks, and the loop in lifecycle.c (one poll) knows none of
 * them by name. The runtime's own work (signals, the drain deadline,
 * checkpoints, hot reload) is built into that loop; the layers above register
 * theirs through acrt__run_opts (observe/services.h: the HTTP API, alert rules,
 * taps, the status line), so the runtime never calls up into them.
 *
 * Threads: every callback runs on the supervising (main) thread, which never
 * runs component code. No callback may block: each serves what is ready.
 * Ownership: the caller of acrt__runtime_run owns the table and each `arg`;
 * both outlive the run.
 */
#ifndef ACRT_SERVICE_H
#define ACRT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"

struct acrt__runtime;

/* At most this many services in one run. */
#define ACRT__MAX_SERVICES 8

/* The supervisor's changes of phase, told to each service's `phase` as they
 * happen (observe/notify.c tells systemd). */
typedef enum acrt__phase {
	ACRT__PHASE_READY,     /* the system runs: set up and started, or a reload is done
	                        * (in place, switched, rolled back, or nothing to change) */
	ACRT__PHASE_RELOADING, /* a reload starts (SIGHUP, the API, --watch) */
	ACRT__PHASE_DRAINING   /* a graceful stop starts (SIGINT/SIGTERM) */
} acrt__phase;

typedef struct acrt__service {
	const char *name; /* for the log: "the HTTP API" */
	void *arg;
	/* Each generation, once setup and restore succeeded, before the
	 * component threads start. 0, or -1 to fail the run (the service has
	 * logged why). NULL: nothing to start. */
	int (*start)(void *arg, struct acrt__runtime *rt);
	/* The fd to poll for input, or -1. NULL: none. */
	int (*fd)(void *arg);
	/* The next time tick must run (monotonic ns), ACRT__FOREVER for none.
	 * NULL: only when the fd is ready. */
	int64_t (*next_ns)(void *arg, int64_t now);
	/* After each poll: serves whatever is ready and whatever is due. */
	void (*tick)(void *arg, int64_t now);
	/* Each generation's end, after the last checkpoint and before the
	 * components' cleanup; `reload` when another generation follows (what
	 * outlives generations stays). Called once more with reload false when
	 * the run ends, so it must be idempotent. NULL: nothing to stop. */
	void (*stop)(void *arg, bool reload);
	/* A change of phase (above), between start and stop. NULL: not told. */
	void (*phase)(void *arg, acrt__phase phase);
} acrt__service;

/*
 * `acrt tap` (observe/tap.c): called on the component's own thread for each
 * event through a port whose tap pointer (acrt__outport.tap, acrt__comp.in_tap;
 * set through query.h) the tap set, and only then. Must not block.
 */
typedef struct acrt__tap_hooks {
	void (*in)(acrt_ctx *ctx, const char *port, acrt_event *ev);
	void (*out)(acrt_ctx *ctx, size_t port, acrt_event *ev);
} acrt__tap_hooks;

/* Options of acrt__runtime_run (runtime.h), from the command line; the layers
 * above register their services and tap hooks here. */
typedef struct acrt__run_opts {
	bool quiet;             /* no live status line (read by the caller, for its services) */
	const char *resume;     /* --resume: NULL none, "" the newest checkpoint, else its id */
	const char *path;       /* for reloads: the blueprint path and deployment given */
	const char *deployment; /* (NULL: found beside it) */
	bool watch;             /* --watch: reload when the files change */
	bool update_lock;       /* a reload may rewrite a drifted build.lock */
	bool stub;              /* --stub: components that need an implementation run as
	                         * stand-ins (docs/AUTOCODER.md); else a reload refuses them */
	bool abandoned;         /* out: a setup call hung past startup_timeout_ms and still
	                         * runs; the caller must exit (_exit) without freeing anything */
	const acrt__service *services; /* served by the supervising loop (above) */
	size_t n_services;
	acrt__tap_hooks tap_hooks; /* acrt tap; zero: none */
} acrt__run_opts;

#endif /* ACRT_SERVICE_H */
