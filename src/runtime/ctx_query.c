/*
 * ctx_query.c - see ctx_query.h. Reads the borrowed blueprint, the
 * component's output ports and the runtime's stop flags, and sums the
 * instances' counters and the streams' depths; takes no lock and never
 * blocks, except acrt__ctx_pause_until (the runtime's mutex and wake-up).
 */
#include "runtime/ctx_query.h"

#include <string.h>

#include "core/clock.h"
#include "core/waitq.h"
#include "runtime/runtime.h"

size_t
acrt__ctx_output_capacity(acrt_ctx *ctx, const char *port)
{
	const acrt__blueprint *bp = ctx->rt->bp;
	size_t self = (size_t)(ctx->comp->spec - bp->comps), cap = 0;
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		if (b->from_comp == self && strcmp(b->from_port, port) == 0 &&
		    (cap == 0 || b->buffer_size < cap))
			cap = b->buffer_size;
	}
	return cap > 0 ? cap : bp->default_buffer;
}

int
acrt__ctx_stop_requested(acrt_ctx *ctx)
{
	return atomic_load_explicit(&ctx->rt->stopping, memory_order_relaxed) ||
	       atomic_load_explicit(&ctx->rt->cancelled, memory_order_relaxed);
}

void
acrt__ctx_request_stop(acrt_ctx *ctx)
{
	acrt__runtime_stop(ctx->rt);
}

int
acrt__ctx_replicas(acrt_ctx *ctx)
{
	return ctx->comp->n_inst;
}

bool
acrt__ctx_output_chained(acrt_ctx *ctx, const char *port)
{
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++)
		if (strcmp(ctx->comp->outs[i].name, port) == 0)
			return ctx->comp->outs[i].chained != NULL;
	return false;
}

bool
acrt__ctx_output_bound(acrt_ctx *ctx, const char *port)
{
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++)
		if (strcmp(ctx->comp->outs[i].name, port) == 0)
			return ctx->comp->outs[i].n_targets > 0 ||
			       ctx->comp->outs[i].chained != NULL;
	return false;
}

void
acrt__ctx_diverted(acrt_ctx *ctx)
{
	acrt__counter_add(&ctx->dead_lettered, 1);
}

bool
acrt__ctx_wake_at(acrt_ctx *ctx, int64_t deadline_ns)
{
	if (ctx->comp->chained)
		return false;
	if (deadline_ns == 0)
		return true;
	if (ctx->wake_ns == 0 || deadline_ns < ctx->wake_ns)
		ctx->wake_ns = deadline_ns;
	return true;
}

void
acrt__ctx_write_state(acrt_ctx *ctx, bool blocked)
{
	if (blocked)
		acrt__counter_add(&ctx->write_errors, 1);
	atomic_store_explicit(&ctx->write_blocked, blocked, memory_order_relaxed);
}

int
acrt__ctx_pause_until(acrt_ctx *ctx, int64_t deadline_ns)
{
	acrt__runtime *rt = ctx->rt;
	int rc = ACRT_OK;
	pthread_mutex_lock(&rt->mu);
	while (acrt__mono_ns() < deadline_ns) {
		if (atomic_load(&rt->cancelled)) {
			rc = ACRT_ECANCELED;
			break;
		}
		acrt__cond_wait_until(&rt->wake, &rt->mu, deadline_ns);
	}
	if (rc == ACRT_OK && atomic_load(&rt->cancelled))
		rc = ACRT_ECANCELED;
	pthread_mutex_unlock(&rt->mu);
	return rc;
}

const json_t *
acrt__ctx_output_schema(acrt_ctx *ctx, const char *port)
{
	const acrt__comp_spec *spec = ctx->comp->spec;
	for (size_t i = 0; i < spec->n_outputs; i++)
		if (strcmp(spec->outputs[i].name, port) == 0)
			return spec->outputs[i].schema;
	return NULL;
}

bool
acrt__ctx_fed_by_port(acrt_ctx *ctx, const char *port)
{
	const acrt__blueprint *bp = ctx->rt->bp;
	size_t n = 0;
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		if (&bp->comps[b->to_comp] != ctx->comp->spec)
			continue;
		if (strcmp(b->from_port, port) != 0)
			return false;
		n++;
	}
	return n > 0;
}

void
acrt__ctx_skipped(acrt_ctx *ctx, uint64_t n)
{
	acrt__counter_add(&ctx->skipped, n);
}

void
acrt__ctx_unwritten(acrt_ctx *ctx, uint64_t n)
{
	acrt__counter_add(&ctx->unwritten, n);
}

void
acrt__runtime_totals(acrt__runtime *rt, uint64_t *in, uint64_t *out, uint64_t *errors)
{
	uint64_t i = 0, o = 0, e = 0;
	for (size_t k = 0; k < rt->bp->n_comps; k++) {
		acrt__comp *c = &rt->comps[k];
		for (int r = 0; r < c->n_inst; r++) {
			acrt_ctx *ctx = &c->inst[r];
			if (c->spec->n_outputs == 0)
				i += atomic_load_explicit(&ctx->events_in, memory_order_relaxed);
			if (c->spec->n_inputs == 0)
				o += atomic_load_explicit(&ctx->events_out, memory_order_relaxed);
			e += atomic_load_explicit(&ctx->errors, memory_order_relaxed);
		}
	}
	*in = i;
	*out = o;
	*errors = e;
}

size_t
acrt__runtime_depth(acrt__runtime *rt)
{
	size_t depth = 0;
	for (size_t i = 0; i < rt->n_transports; i++) {
		acrt__transport_stats ts;
		rt->transports[i]->ops->stats(rt->transports[i], &ts);
		depth += ts.depth;
	}
	return depth;
}

struct acrt__waitq *
acrt__ctx_inbox_waitq(acrt_ctx *ctx)
{
	return ctx->comp->has_inbox ? &ctx->comp->inbox.wq : NULL;
}

size_t
acrt__ctx_inbox_poll(acrt_ctx *ctx, acrt_event **evs, size_t max, bool *eos)
{
	*eos = false;
	if (!ctx->comp->has_inbox)
		return 0;
	size_t port = 0;
	acrt__rx_status st;
	/* a deadline already past: the inbox looks once and never parks */
	size_t n = acrt__inbox_recv(&ctx->comp->inbox, &ctx->cursor, evs, max, &port, 1, &st);
	if (n == 1 && st == ACRT__RX_BARRIER) {
		acrt_event_unref(evs[0]);
		return 0;
	}
	if (n == 0)
		*eos = st == ACRT__RX_EOS || st == ACRT__RX_CANCELED;
	return n;
}
