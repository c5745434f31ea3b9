/*
 * chain.h - the capability chain: what runs around each event (or batch) of a
 * component instance, in the order pinned in build.lock (acrt__lock_chain:
 * by tier, ties by name).
 *
 * A capability class (one file each: rate_limit.c, retry.c, ...) is a table of
 * optional hooks. For each delivery the chain runner calls, in chain order:
 *
 *   before_receive(call)    every link; a non-OK result fails the delivery
 *   around_process(call)    nested: each link calls acrt__cap_next(call) zero or
 *                           more times (retry: again; breaker: not at all;
 *                           timeout: once, with a deadline); the innermost
 *                           next() calls the component (process or process_batch)
 *   on_failure(call, rc)    every link, when the delivery failed for good
 *                           (dead_letter sends the events to its binding)
 *
 * and, when the component emits, before_send(call, port, ev) of every link
 * (schema_validator checks output ports when strict), then after_send once the
 * event is handed to its port.
 *
 * A delivery is one event (call->n == 1) or one batch (call->n > 1): a
 * capability that implements its hooks for n events at once (rate_limit takes
 * n tokens, retry retries the batch) costs its work once per batch.
 *
 * Threads: a chain belongs to one component instance and runs only on that
 * instance's thread (states need no locks). Hooks may block only through
 * call->clock->sleep_until (cancellable; flushes the instance's outputs first).
 * stats() is called from other threads: capabilities keep their counters in
 * atomics. Time comes from call->clock, so tests control it.
 */
#ifndef ACRT_CHAIN_H
#define ACRT_CHAIN_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"

/* The clock and sleep a chain uses, and what the host does for capabilities
 * beyond the public ABI (the runtime's, set per instance where runtime/
 * wiring.c builds the chain, or a test's). The capabilities sit below the
 * runtime: they reach it only through these pointers, all called on the
 * instance's thread with `arg`. */
typedef struct acrt__cap_clock {
	int64_t (*now)(void *arg);                       /* monotonic ns */
	int (*sleep_until)(void *arg, int64_t deadline); /* ACRT_OK, ACRT_ESTOPPING,
	                                                  * ACRT_ECANCELED */
	void *arg;
	/* Optional (NULL in capability unit tests): sends ev to output `port` of
	 * the instance without running before_send hooks (dead_letter). Takes over
	 * ev (also on failure). Returns an acrt_err. */
	int (*emit_raw)(void *arg, const char *port, acrt_event *ev);
	/* Optional: the reason the component gave with acrt_fail for the delivery
	 * being run ("" when none); valid until the next delivery. */
	const char *(*fail_reason)(void *arg);
} acrt__cap_clock;

typedef struct acrt__chain acrt__chain;

/* One delivery through the chain. */
typedef struct acrt_cap_call {
	acrt_ctx *ctx;          /* the instance (NULL in capability unit tests) */
	const char *port;       /* the input port */
	acrt_event *const *evs; /* the delivery: borrowed */
	size_t n;               /* 1 for a single event */
	const acrt__cap_clock *clock;
	/* The innermost call: the component itself. Returns an acrt_err. */
	int (*inner)(struct acrt_cap_call *call);
	void *inner_arg;
	/* Filled while running: */
	int attempts;          /* times inner() was called */
	int64_t deadline_ns;   /* set by timeout for this attempt, else 0 */
	const char *failed_by; /* capability that failed the delivery, NULL = component */
	char reason[512];      /* why it failed (capabilities write here) */
	/* private to the runner */
	acrt__chain *chain_;
	size_t next_;
	const char *link_name_; /* the link whose hook runs (for acrt_cap_fail) */
} acrt__cap_call;

typedef struct acrt__cap_class {
	const char *name;
	int tier; /* SPEC section 3; must match acrt__lock_chain's order */
	/* config: the capability's value in the blueprint (a mapping, or true).
	 * comp: its component (ports, schemas, name). 0, or -1 with err. */
	int (*create)(const json_t *config, const acrt__comp_spec *comp, void **state, char *err,
	              size_t errlen);
	void (*destroy)(void *state);
	int (*before_receive)(void *state, acrt__cap_call *call);
	int (*around_process)(void *state, acrt__cap_call *call);
	int (*before_send)(void *state, acrt__cap_call *call, const char *port, acrt_event *ev);
	/* Optional: an event the component emitted was handed to its port (for
	 * tracing or metrics). Must not block or fail. */
	void (*after_send)(void *state, acrt__cap_call *call, const char *port,
	                   const acrt_event *ev);
	void (*on_failure)(void *state, acrt__cap_call *call, int rc);
	/* Adds its counters and state to `out` (an object), e.g. {"rejected": 3}. */
	void (*stats)(void *state, json_t *out);
} acrt__cap_class;

/* The built-in class named `name`, or NULL. */
const acrt__cap_class *acrt__cap_find(const char *name);
/* The class that runs a plugin capability (plugin_cap.c); its create() takes
 * the capability's key (plugin:PATH#SYMBOL, PATH absolute) in the config under
 * "__ref" and loads the plugin. */
extern const acrt__cap_class acrt__cap_plugin;

/*
 * Builds the chain of one instance of `comp` from its `capabilities:` in
 * build.lock order. *out is NULL when the component has no capability (the
 * fast path). 0, or -1 with a one-line reason in err.
 */
int acrt__chain_build(const acrt__comp_spec *comp, const acrt__cap_clock *clock, acrt__chain **out,
                      char *err, size_t errlen);
void acrt__chain_free(acrt__chain *ch);

/*
 * Checks the value of the built-in capability `name` of comp exactly as
 * acrt__chain_build reads it (create, then destroy), for `acrt validate`. A
 * capability that is off, unknown or a plugin passes. 0, or -1 with a
 * one-line reason in err and the offending setting in key ("" when the whole
 * value is wrong).
 */
int acrt__cap_check(const char *name, const json_t *config, const acrt__comp_spec *comp, char *key,
                    size_t keylen, char *err, size_t errlen);

/* Registers acrt__cap_check as the blueprint validator's capability check
 * (acrt__blueprint_set_cap_check). Called once, on the main thread, before any
 * other thread starts: next to acrt__components_register at the top of main()
 * in cli/main.c, and in every test or bench program that loads blueprints. */
void acrt__caps_register(void);

/* Runs one delivery through the chain. call->ctx, port, evs, n, inner and
 * inner_arg must be set. Returns ACRT_OK or the failure code (on_failure hooks
 * have run then, and call->failed_by / call->reason say why). */
int acrt__chain_run(acrt__chain *ch, acrt__cap_call *call);

/* Runs the on_failure hooks (dead letter) for a delivery that failed outside
 * acrt__chain_run: an event of a per_item batch that failed on its own. */
void acrt__chain_on_failure(acrt__chain *ch, acrt__cap_call *call, int rc);

/* For around_process hooks: runs the rest of the chain (the next around link,
 * or the component). */
int acrt__cap_next(acrt__cap_call *call);

/* For emit: runs the before_send hooks; ACRT_OK or a failure (reason in
 * call->reason); after a successful send, the after_send hooks. Cheap when no
 * link has one (acrt__chain_has_send_hooks is false). */
bool acrt__chain_has_send_hooks(const acrt__chain *ch);
int acrt__chain_before_send(acrt__chain *ch, acrt__cap_call *call, const char *port,
                            acrt_event *ev);
void acrt__chain_after_send(acrt__chain *ch, acrt__cap_call *call, const char *port,
                            const acrt_event *ev);

/* Per-capability status for metrics and the API: {"retry": {...}, ...}. */
json_t *acrt__chain_stats(const acrt__chain *ch);

/* Adds d to a counter that one thread writes and others read (stats). */
static inline void
acrt__cap_count(atomic_uint_fast64_t *c, uint64_t d)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
	                      memory_order_relaxed);
}

/* A config error of capability `cap`: "cap: 'key' what" into err; returns -1. */
int acrt__cap_cfg_error(char *err, size_t errlen, const char *cap, const char *key,
                        const char *what);

/* Sets call->reason (printf-style) and call->failed_by; returns rc. */
int acrt__cap_fail(acrt__cap_call *call, const char *by, int rc, const char *fmt, ...)
    ACRT_PRINTF(4, 5);

#endif /* ACRT_CHAIN_H */
