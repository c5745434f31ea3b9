/*
 * reload.h - hot reload (SPEC section 6: SIGHUP, POST /api/v1/reload,
 * `acrt run --watch`; docs/RELOAD.md).
 *
 * A reload is a new *generation* of the running system, switched to without
 * losing or duplicating an event:
 *
 *   1. load and validate the new blueprint (and build.lock, and that its
 *      checkpoint store is not another run's); if it is invalid, or nothing
 *      changed, log it and keep running: nothing is touched;
 *   2. diff it against the running one and log what changed;
 *   3. quiesce: sources stop between two events, every stream drains, no
 *      `finish` hook runs (the input has not ended, it pauses);
 *   4. capture every instance's managed state and own snapshot in memory (the
 *      same parts a checkpoint holds: sources keep their positions, the file
 *      sink its offset, the Aggregator its open windows);
 *   5. tear the old generation down, wire and set up the new one with that
 *      state (matched by component name and replica), and run it;
 *   6. if a new component's setup fails, the previous blueprint is set up
 *      again with the same state, and the failure is reported.
 *
 * Threads: everything here runs on the runtime's (supervising) thread.
 *
 * Blueprint ownership. The first blueprint belongs to the caller of
 * acrt__runtime_run; every later one to this controller. A generation
 * borrows its blueprint (rt->bp: component specs, names, ports, bindings,
 * configs) from wiring until it is unwired, on every thread it runs; the
 * services borrow it only through rt->bp while they are called (the API,
 * alert rules and the webhook copy what they keep; a tap detaches from its
 * ports when its generation ends). So:
 *   - a swap in place never replaces rt->bp: the changed components' config
 *     and capabilities move into it (swap.c), and the new blueprint, left
 *     with the old values, is freed as soon as the swap returns;
 *   - a generation switch adopts the new blueprint (acrt__reload_adopt); the
 *     replaced one stays as ctl->prev, for a rollback, until the next
 *     generation is set up: acrt__reload_committed then frees every adopted
 *     blueprint but rt->bp (the old generation has joined and is unwired,
 *     and the services it had stopped start again on the new one);
 *   - what is left is freed by acrt__reload_free at the end of the run.
 * At most three blueprints are alive: the running one, the previous one
 * during a switch, and a pending one. Nothing here blocks but file reads.
 */
#ifndef ACRT_RELOAD_H
#define ACRT_RELOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "blueprint/blueprint.h"
#include "runtime/query.h"   /* acrt__runtime: opaque here */
#include "runtime/service.h" /* acrt__run_opts */
#include "state/adapter.h"

typedef struct acrt__reload_ctl {
	const acrt__run_opts *opts;
	acrt__blueprint *next;       /* validated, owned: the pending reload's blueprint */
	const acrt__blueprint *prev; /* set while a switched-to generation sets up */
	/* The blueprints a generation switch put in use (owned): the running
	 * generation's, and while a switch sets up the one it may roll back to.
	 * See "Blueprint ownership" above. */
	acrt__blueprint **owned;
	size_t n_owned;
	acrt__blob *carry; /* instance parts handed to the next generation */
	size_t n_carry;
	json_t *changes; /* what the pending reload changes (owned) */
	char trigger[32];
	bool requested;    /* SIGHUP, the API or --watch asked; handled by the supervisor */
	bool stop_pending; /* SIGINT/SIGTERM came during a switch: stop the next generation */
	int64_t due;       /* --watch: debounce deadline (monotonic), 0 = none */
	int watch_fd;      /* inotify, or -1 */
	json_t *watched;   /* basenames whose change triggers (--watch) */
	json_t *stamps;    /* plugin file stamps of the running generation */
	/* For the API and /metrics (same thread). */
	uint64_t n_ok, n_failed;
	bool last_ok;
	int64_t last_wall_ns;
	char last_error[512];
	json_t *last_changes;
} acrt__reload_ctl;

void acrt__reload_init(acrt__reload_ctl *ctl, const acrt__run_opts *opts);
void acrt__reload_free(acrt__reload_ctl *ctl);

/* Asks for a reload at the supervisor's next turn (SIGHUP, the API). */
void acrt__reload_request(acrt__runtime *rt, const char *trigger);
/* Supervisor: handles a request: validates, diffs; true when something must
 * change (ctl->next set). */
bool acrt__reload_prepare(acrt__runtime *rt);
/* Supervisor, after prepare: replaces the changed components in place when
 * only configs changed (swap.c). 1 done or failed (reported), 0 when a
 * generation switch is needed: the caller then quiesces the generation. */
int acrt__reload_in_place(acrt__runtime *rt);
/* A generation switch: the pending blueprint goes into use, owned here until
 * a later switch is committed (or the run ends). Returns it, or NULL when out
 * of memory (ctl->next is then freed). */
acrt__blueprint *acrt__reload_adopt(acrt__reload_ctl *ctl);
/* After the quiesced generation has joined: captures its instances' state. */
int acrt__reload_capture(acrt__runtime *rt);
/* A new generation was wired: hands it the carried state (before setup). */
void acrt__reload_apply(acrt__runtime *rt);
/* The new generation (or, after a failed one, the previous) is set up:
 * frees what the old one held, and every adopted blueprint but rt->bp. */
void acrt__reload_committed(acrt__runtime *rt);
/* Its setup failed: records it; the caller goes back to ctl->prev. */
void acrt__reload_failed(acrt__runtime *rt, const char *why);

/* --watch: inotify on the blueprint, the deployment and plugin files. */
int acrt__reload_watch(acrt__runtime *rt);
/* Reads pending inotify events; arms the debounce. */
void acrt__reload_watch_read(acrt__runtime *rt);

/* GET /api/v1/system's "reload" member; /metrics lines. */
json_t *acrt__reload_json(const acrt__runtime *rt);
struct acrt__strbuf;
void acrt__reload_metrics(const acrt__runtime *rt, struct acrt__strbuf *sb);

#endif /* ACRT_RELOAD_H */
