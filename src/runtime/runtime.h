/*
 * runtime.h - a running system: the components of a blueprint, their
 * instances, the transports between them and the task group that runs them.
 *
 * Lifecycle (lifecycle.c), all driven from the thread that calls
 * acrt__runtime_run():
 *
 *   wire      blueprint -> components, output ports, transports, inboxes
 *   setup     every instance, topological order, on the calling thread;
 *             a failure cleans up what was set up, in reverse, and returns 1
 *   process   one task-group thread per instance; sources run their loop,
 *             the others receive batches from their inbox until end of stream
 *   drain     first SIGINT/SIGTERM: sources stop, the rest drains; past
 *             shutdown_timeout_ms, or on a second signal, the group is
 *             cancelled (every transport cancelled, every sleeper woken)
 *   cleanup   every instance that was set up, reverse topological order
 *
 * Ownership: the runtime owns everything here; the blueprint is borrowed and
 * must outlive it. Each acrt_ctx belongs to one instance and is used only by
 * that instance's thread during process (by the runtime thread in setup and
 * cleanup). Counters in acrt_ctx are written only by the owning thread and read
 * (relaxed) by the status line.
 */
#ifndef ACRT_RUNTIME_H
#define ACRT_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"
#include "capability/chain.h"
#include "core/inbox.h"
#include "core/plugin.h"
#include "core/taskgroup.h"
#include "core/transport.h"
#include "runtime/lograte.h"
#include "runtime/query.h"
#include "runtime/service.h"
#include "runtime/summary.h"

/*
 * How a consumer's received events reach its component. instance.c runs the
 * one consumer loop; the policy is plain (each event through process at once,
 * instance.c) or batched (batching.c). Every callback runs on the instance's
 * thread; `port` indexes the component's inputs.
 */
typedef struct acrt__delivery {
	/* Events received from one input port, delivered now or held. Releases
	 * every event it does not hold. ACRT_OK, or the code that stops the loop. */
	int (*deliver)(acrt_ctx *ctx, size_t port, acrt_event **evs, size_t n);
	/* Delivers what is due at `now`; *next is the earliest deadline of what
	 * stays held (left at ACRT__FOREVER when nothing is). NULL: never holds. */
	int (*expire)(acrt_ctx *ctx, int64_t now, int64_t *next);
	/* Delivers everything held: at the end of the stream, and before a
	 * checkpoint's snapshot (acrt__ckpt_barrier). NULL: never holds. */
	int (*drain)(acrt_ctx *ctx);
	/* Releases everything held, undelivered: the loop stopped on a failure or
	 * a cancel. NULL: never holds. */
	void (*drop)(acrt_ctx *ctx);
} acrt__delivery;

/*
 * Checkpoints as the instance threads see them: checkpoint.c implements them
 * (acrt__ckpt_instance_ops) and lifecycle.c installs them in rt->ckpt_ops, so
 * the runtime below never calls up into checkpoints. Each runs on the
 * instance's own thread.
 */
typedef struct acrt__ckpt_ops {
	/* The barrier reached this instance (aligned on every input): snapshot,
	 * forward. ACRT_OK, or the code that stops the instance. */
	int (*barrier)(acrt_ctx *ctx, uint64_t id);
	/* A source's safe point found a barrier triggered: take and forward it. */
	int (*source_barrier)(acrt_ctx *ctx);
	/* The instance's process phase ended normally: its final state. */
	void (*instance_end)(acrt_ctx *ctx);
} acrt__ckpt_ops;

#define ACRT__OUTBOX 64    /* events buffered per output port before a send */
#define ACRT__RX_BATCH 256 /* events taken from an inbox at once */

typedef struct acrt__comp acrt__comp;

typedef struct acrt__outport {
	const char *name;          /* borrowed from the blueprint */
	acrt__transport **targets; /* one per binding of this port (fan-out) */
	size_t n_targets;
	/* Operator chaining: the port's only binding goes to a component whose only
	 * input it is, with as many replicas. Instead of a transport, emit calls
	 * that component's process on the emitting thread (instance i -> i). */
	acrt__comp *chained;
	const char *chained_port; /* the input port name it is delivered on */
	/* ---- acrt tap: non-NULL while `acrt tap` watches this port;
	 * set by the supervising thread, read relaxed by emit (observe/tap.h) */
	_Atomic(struct acrt__taps *) tap;
} acrt__outport;

/* Harness-aggregated batching (ADR-024, docs/BATCHING.md): a component's
 * `batching:`, resolved against `runtime.batching` by the blueprint loader
 * (acrt__batch_effective). */
typedef acrt__batch_spec acrt__batching;

/* One input port's batch being formed by one instance. */
typedef struct acrt__batch {
	acrt_event **evs; /* max_items slots */
	size_t n;
	int64_t deadline; /* monotonic: first event's arrival + max_ns */
} acrt__batch;

typedef struct acrt__outbox {
	acrt_event *evs[ACRT__OUTBOX];
	size_t n;
} acrt__outbox;

/* A relaxed counter written by one thread, read by others. */
typedef atomic_uint_fast64_t acrt__counter;
static inline void
acrt__counter_add(acrt__counter *c, uint64_t d)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
	                      memory_order_relaxed);
}

struct acrt_ctx {
	acrt__runtime *rt;
	acrt__comp *comp;
	int replica;
	void *self;            /* the instance state made by setup */
	bool set_up;           /* setup succeeded: cleanup is owed */
	bool processing;       /* emit is allowed (process phase) */
	acrt_event *current;   /* the event being processed (trace parent), or NULL */
	acrt__outbox *outbox;  /* one per output port */
	const char *last_port; /* emit's port-name cache */
	size_t last_port_idx;
	acrt__inbox_cursor cursor;
	char thread_name[16];
	char err[512];     /* reason set by acrt_fail */
	int fatal;         /* a chained downstream failed fatally: stop this instance */
	bool lazy_pending; /* a lazy send happened since the last full flush */
	/* Processing time, sampled (1 event in ACRT__TIME_SAMPLE): histogram buckets
	 * (upper bounds in acrt__time_bounds_ns, the last +Inf), count, sum. */
	acrt__counter time_bucket[ACRT__TIME_BUCKETS];
	acrt__counter time_count, time_sum_ns;
	uint32_t time_tick;
	acrt__chain *chain;        /* capabilities of this instance, or NULL */
	acrt__cap_clock cap_clock; /* the clock and sleep its chain uses */
	acrt__cap_call *cur_call;  /* the delivery going through the chain, or NULL */
	/* How received events reach process (a consumer's thread sets it when it
	 * starts; NULL for sources and chained instances). */
	const acrt__delivery *delivery;
	/* Set by the idle hook through acrt__ctx_wake_at (0: none): the consumer
	 * loop parks no later than this and idles again (ctx_query.h). */
	int64_t wake_ns;
	/* Batching (only when comp->batching.enabled): one batch per input port. */
	acrt__batch *batches;  /* spec->n_inputs */
	uint64_t batch_seq;    /* id of the last batch handed over */
	bool in_batch;         /* a batch is being processed: acrt_batch() is set */
	acrt_batch_info batch; /* its metadata */
	acrt__counter events_in, events_out, errors;
	/* What became of failed and bad input (summary.h): failed events the
	 * dead letter took, input a source skipped, events a sink could not write. */
	acrt__counter dead_lettered, skipped, unwritten;
	acrt__counter discarded;   /* emitted, then dropped unsent by a cancel */
	acrt__counter hook_errors; /* of `errors`, failures with no event (idle, finish) */
	/* A sink's failed write attempts, and whether its writes fail now (it
	 * retries: docs/RELIABILITY.md); read by observe/ through query.h. */
	acrt__counter write_errors;
	atomic_bool write_blocked;
	/* ---- Stuck in process (stuck.c): busy is set by the instance's thread
	 * while the component's code runs (cleared while it waits on a full
	 * stream or sleeps); seen_* are the supervisor's; stuck_ns is how long it
	 * has been stuck (0: it is not), read by observe/ through query.h. */
	atomic_bool busy;
	uint64_t seen_in;
	int64_t seen_at;
	_Atomic int64_t stuck_ns;
	acrt__lograte lograte; /* its repeated log lines, rate-limited (lograte.h) */
	/* ---- Managed keyed state and checkpoints ---- */
	struct acrt__kv *kv;             /* acrt_state_*; created on first use */
	uint64_t barrier_done;           /* the last checkpoint this instance snapshotted */
	const _Atomic uint64_t *trigger; /* sources with checkpoints on: the newest
	                                  * barrier to inject (checkpoint.h), else NULL */
	size_t ck_slot;                  /* index of this instance's part in a checkpoint */
	void *restore_buf;               /* --resume: its own snapshot bytes, until restored */
	size_t restore_len;
	bool has_restore; /* a part was found for this instance */
	/* ---- Hot reload: swap.c pauses the instance to replace a
	 * component in place; pause_req set by the supervisor, parked under rt->mu */
	_Atomic bool pause_req;
	bool parked;
	/* ---- Readiness, read by src/observe/ through query.h ---- */
	atomic_int run_state; /* acrt__inst_state; release-stored when the instance ends */
	int end_rc;           /* the code it ended with; written before run_state */
};

struct acrt__comp {
	const acrt__comp_spec *spec;     /* borrowed from the blueprint */
	const acrt_component_desc *desc; /* built-in or from the plugin */
	acrt__plugin *plugin;            /* NULL for built-ins */
	acrt__outport *outs;             /* spec->n_outputs */
	acrt__inbox inbox;               /* all transports into this component */
	bool has_inbox;
	acrt_ctx *inst; /* spec->replicas instances */
	int n_inst;
	json_t *counters; /* acrt_count: name -> integer; under rt->mu */
	bool chained;     /* runs on its upstream's thread: no own thread */
	acrt__batching batching;
	int64_t stuck_after_ns;              /* busy without taking an event this long: stuck */
	_Atomic(struct acrt__taps *) in_tap; /* acrt tap: an input port is tapped */
};

struct acrt__runtime {
	const acrt__blueprint *bp;
	acrt__comp *comps; /* bp->n_comps, same order */
	acrt__transport **transports;
	size_t n_transports;
	/* Dealers (transport/lanes.h) of bindings to a component on several
	 * nodes: output-port targets over some of the transports above. */
	acrt__transport **dealers;
	size_t n_dealers;
	acrt__taskgroup tg;
	bool tg_ready;

	pthread_mutex_t mu;   /* guards sleepers' wait, counters json */
	pthread_cond_t wake;  /* broadcast on stop and cancel; CLOCK_MONOTONIC */
	atomic_bool stopping; /* graceful stop requested */
	atomic_bool cancelled;

	/* ---- What the supervising loop serves (service.h), from acrt__run_opts */
	const acrt__service *services;
	size_t n_services;
	acrt__tap_hooks tap_hooks;
	int64_t started_ns;             /* monotonic, when setup ended */
	int64_t run_started_ns;         /* monotonic, when the run (generation 1) began */
	const acrt__ckpt_ops *ckpt_ops; /* installed by lifecycle.c; NULL: none */
	/* ---- Checkpoints, NULL when runtime.state is off */
	struct acrt__ckpt_rt *ck;
	/* The store's lock (core/filelock.h) a generation that quiesced for a
	 * reload hands to the next one, which takes its own before letting this
	 * go: no other run can take the store between two generations. */
	struct acrt__filelock *ck_carry;
	/* ---- Hot reload: reload/reload.h; outlives generations ---- */
	struct acrt__reload_ctl *reload;
	atomic_bool reloading; /* this generation is quiescing for a reload: no finish hooks */
	/* ---- acrt tap: the active taps (observe/tap.h), or NULL ---- */
	struct acrt__taps *taps;

	acrt__run_totals totals; /* every generation's figures (summary.h) */
	int exit_code;           /* what acrt__runtime_run returns */
};

/* Wires, sets up, runs and cleans up the system. Returns the process exit
 * status (summary.h: ACRT__EXIT_OK, _FAILED, _LOST). Handles SIGINT/SIGTERM
 * itself. */
int acrt__runtime_run(const acrt__blueprint *bp, acrt__run_opts *opts);

/* wiring.c */
int acrt__runtime_wire(acrt__runtime *rt, const acrt__blueprint *bp);
void acrt__runtime_unwire(acrt__runtime *rt);

/* instance.c: one event through an instance's process (counts, errors).
 * Returns ACRT_OK, or the code that must stop the instance. Borrows ev. */
int acrt__instance_process_one(acrt_ctx *ctx, const char *port, acrt_event *ev);
/* instance.c: an instance's thread (a task of the group); returns its end code. */
int acrt__instance_main(void *arg);

/* batching.c: the batched delivery (docs/BATCHING.md). */
extern const acrt__delivery acrt__delivery_batched;

/* ctx.c: runs a delivery through the instance's capability chain (or straight
 * to call->inner when it has none). */
int acrt__ctx_deliver(acrt_ctx *ctx, acrt__cap_call *call);
/* Logs and counts a failed event, naming the capability that failed it. */
void acrt__ctx_report_failure(acrt_ctx *ctx, acrt_event *ev, int rc, const acrt__cap_call *call);
/* Emits without the chain's before_send hooks (the dead letter's own sends). */
int acrt__ctx_emit_raw(acrt_ctx *ctx, const char *port, acrt_event *ev);

/* ctx.c: used by the runner loops */
int acrt__ctx_flush_all(acrt_ctx *ctx);
/* Before this instance's thread blocks: flush, and let chained instances below
 * it go idle (their idle hook, their outboxes). */
int acrt__ctx_before_block(acrt_ctx *ctx);
/* The instance itself is idle (its inbox is empty): its idle hook, then as
 * acrt__ctx_before_block. */
int acrt__ctx_idle(acrt_ctx *ctx);
/* Waits until every event ctx (and the instances chained below it) sent to
 * another node is held by its broker (transport.h, sync): before a consumer
 * acknowledges its own input from another node. ACRT_OK, or the first
 * failure (a cancel, a fence). The instance's thread; blocks on the network. */
int acrt__ctx_outputs_stored(acrt_ctx *ctx);
void acrt__ctx_close_outputs(acrt_ctx *ctx);
void acrt__ctx_report_error(acrt_ctx *ctx, acrt_event *ev, int rc);

/* stuck.c: marks the instances stuck in process (supervising thread). */
void acrt__runtime_watch_stuck(acrt__runtime *rt, int64_t now);
/* stuck.c: the limit for component c (wiring). */
int64_t acrt__stuck_limit_ns(const acrt__comp_spec *spec);

/* lifecycle.c */
void acrt__runtime_stop(acrt__runtime *rt);
/* Wakes every thread sleeping in acrt_sleep_until (rt->wake). */
void acrt__runtime_wake(acrt__runtime *rt);
/* instance.c: setup() of one instance on a helper thread, bounded by deadline
 * (monotonic). */
int acrt__instance_setup(acrt_ctx *ctx, int64_t deadline);

/* A checkpoint barrier was triggered that this source has not taken yet. */
static inline bool
acrt__ckpt_due(const acrt_ctx *ctx)
{
	return ctx->trigger != NULL &&
	       atomic_load_explicit(ctx->trigger, memory_order_acquire) > ctx->barrier_done;
}

/* instance.c (hot reload in place): the instance thread parks while the
 * supervisor replaces a component (ACRT_OK, or ACRT_ECANCELED/EFATAL). */
int acrt__swap_park(acrt_ctx *ctx);
static inline bool
acrt__swap_wanted(acrt_ctx *ctx)
{
	return atomic_load_explicit(&ctx->pause_req, memory_order_relaxed);
}
/* Supervisor: replaces the changed components of diff d in place. 1 done, 0
 * not possible (a generation switch is needed), -1 failed (why says why).
 * rt->bp is not replaced: the swapped components' config and capabilities
 * trade places with nb's (swap.c), so that nb, which the caller still owns,
 * holds no value in use once this returns. */
struct json_t;
int acrt__swap_in_place(acrt__runtime *rt, acrt__blueprint *nb, const json_t *d, char *why,
                        size_t n);

/* An Aggregator with an idle timeout closes windows while its input is
 * quiet: it needs its own consumer loop to wake it (acrt__ctx_wake_at), so
 * wiring.c never chains it, and a reload that gives a chained one such a
 * config switches generations (swap.c) instead of swapping it in place. */
bool acrt__spec_wants_timer(const acrt__comp_spec *s);

#endif /* ACRT_RUNTIME_H */
