/*
 * query.c - see query.h: the narrow, read-mostly view of a running system
 * that src/observe/ uses instead of runtime.h. Called by observe/ on the
 * supervising thread (the API, alerts, the status line, the tap's streams)
 * and, for the ctx functions, by the tap hooks on instance threads; each
 * function keeps the memory order the fields it reads are written with
 * (runtime.h).
 */
#include "runtime/query.h"

#include "runtime/runtime.h"

/* ---- The system ---------------------------------------------------------- */

const acrt__blueprint *
acrt__q_blueprint(const acrt__runtime *rt)
{
	return rt->bp;
}

bool
acrt__q_stopping(const acrt__runtime *rt)
{
	return atomic_load(&((acrt__runtime *)rt)->stopping);
}

bool
acrt__q_cancelled(const acrt__runtime *rt)
{
	return atomic_load(&((acrt__runtime *)rt)->cancelled);
}

int64_t
acrt__q_started_ns(const acrt__runtime *rt)
{
	return rt->started_ns;
}

/* ---- Components ---------------------------------------------------------- */

size_t
acrt__q_components(const acrt__runtime *rt)
{
	return rt->bp->n_comps;
}

const acrt__comp_spec *
acrt__q_spec(const acrt__runtime *rt, size_t k)
{
	return rt->comps[k].spec;
}

int
acrt__q_replicas(const acrt__runtime *rt, size_t k)
{
	return rt->comps[k].n_inst;
}

bool
acrt__q_chained(const acrt__runtime *rt, size_t k)
{
	return rt->comps[k].chained;
}

bool
acrt__q_batched(const acrt__runtime *rt, size_t k)
{
	return rt->comps[k].batching.enabled;
}

json_t *
acrt__q_counters(acrt__runtime *rt, size_t k)
{
	const acrt__comp *c = &rt->comps[k];
	pthread_mutex_lock(&rt->mu);
	json_t *counters = c->counters ? json_deep_copy(c->counters) : json_object();
	pthread_mutex_unlock(&rt->mu);
	return counters;
}

/* ---- Instances ----------------------------------------------------------- */

static const acrt_ctx *
inst(const acrt__runtime *rt, size_t k, int r)
{
	return &rt->comps[k].inst[r];
}

/* The counters are atomics written by the instance's thread: cast away const
 * to load them (C11's atomic_load_explicit takes a non-const pointer). */
static uint64_t
relaxed(const acrt__counter *c)
{
	return atomic_load_explicit((acrt__counter *)c, memory_order_relaxed);
}

void
acrt__q_instance(const acrt__runtime *rt, size_t k, int r, acrt__q_inst *out)
{
	const acrt_ctx *ctx = inst(rt, k, r);
	out->events_in = relaxed(&ctx->events_in);
	out->events_out = relaxed(&ctx->events_out);
	out->errors = relaxed(&ctx->errors);
	out->write_errors = relaxed(&ctx->write_errors);
	out->write_blocked = atomic_load_explicit(&ctx->write_blocked, memory_order_relaxed);
	out->stuck_ns = atomic_load_explicit(&ctx->stuck_ns, memory_order_relaxed);
	out->state = acrt__q_state(rt, k, r);
	out->set_up = ctx->set_up;
	/* end_rc is written before run_state (release/acquire). */
	out->end_rc = out->state == ACRT__INST_FAILED ? ctx->end_rc : ACRT_OK;
	for (int i = 0; i < ACRT__TIME_BUCKETS; i++)
		out->time_bucket[i] = relaxed(&ctx->time_bucket[i]);
	out->time_count = relaxed(&ctx->time_count);
	out->time_sum_ns = relaxed(&ctx->time_sum_ns);
}

int
acrt__q_state(const acrt__runtime *rt, size_t k, int r)
{
	return atomic_load_explicit(&((acrt_ctx *)inst(rt, k, r))->run_state, memory_order_acquire);
}

json_t *
acrt__q_caps(const acrt__runtime *rt, size_t k, int r)
{
	const acrt_ctx *ctx = inst(rt, k, r);
	return ctx->chain != NULL ? acrt__chain_stats(ctx->chain) : NULL;
}

/* ---- Streams ------------------------------------------------------------- */

size_t
acrt__q_streams(const acrt__runtime *rt)
{
	return rt->n_transports;
}

void
acrt__q_stream(const acrt__runtime *rt, size_t i, acrt__q_stream_info *out)
{
	acrt__transport *t = rt->transports[i];
	out->name = t->name;
	out->kind = t->ops->kind;
	t->ops->stats(t, &out->stats);
}

/* ---- acrt tap ------------------------------------------------------------ */

struct acrt__taps *
acrt__q_taps(const acrt__runtime *rt)
{
	return rt->taps;
}

void
acrt__q_set_taps(acrt__runtime *rt, struct acrt__taps *t)
{
	rt->taps = t;
}

void
acrt__q_set_out_tap(acrt__runtime *rt, size_t k, size_t port, struct acrt__taps *t)
{
	atomic_store_explicit(&rt->comps[k].outs[port].tap, t, memory_order_release);
}

void
acrt__q_set_in_tap(acrt__runtime *rt, size_t k, struct acrt__taps *t)
{
	atomic_store_explicit(&rt->comps[k].in_tap, t, memory_order_release);
}

size_t
acrt__q_ctx_comp(const acrt_ctx *ctx)
{
	return (size_t)(ctx->comp - ctx->rt->comps);
}

int
acrt__q_ctx_replica(const acrt_ctx *ctx)
{
	return ctx->replica;
}

struct acrt__taps *
acrt__q_out_tap(const acrt_ctx *ctx, size_t port)
{
	return atomic_load_explicit(&ctx->comp->outs[port].tap, memory_order_acquire);
}

struct acrt__taps *
acrt__q_in_tap(const acrt_ctx *ctx)
{
	return atomic_load_explicit(&ctx->comp->in_tap, memory_order_acquire);
}
