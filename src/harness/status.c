/*
 * status.c - see status.h.
 */
#include "harness/status.h"

#include <stdio.h>

#include "core/common.h"
#include "core/log.h"

void
acrt__status_totals(acrt__runtime *rt, uint64_t *in, uint64_t *out, uint64_t *errors)
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

void
acrt__status_init(acrt__status *st, acrt__runtime *rt)
{
	st->last_ns = acrt__mono_ns();
	uint64_t e;
	acrt__status_totals(rt, &st->last_in, &st->last_out, &e);
}

void
acrt__status_tick(acrt__status *st, acrt__runtime *rt)
{
	int64_t now = acrt__mono_ns();
	if (now - st->last_ns < 250 * 1000000LL)
		return;
	uint64_t in, out, errors;
	acrt__status_totals(rt, &in, &out, &errors);
	size_t inflight = 0;
	for (size_t i = 0; i < rt->n_transports; i++) {
		acrt__transport_stats ts;
		rt->transports[i]->ops->stats(rt->transports[i], &ts);
		inflight += ts.depth;
	}
	double dt = (double)(now - st->last_ns) / 1e9;
	char line[200];
	snprintf(line, sizeof line, "%s  out %.0f/s  in %.0f/s  in-flight %zu  errors %llu%s",
	         rt->bp->name, (double)(out - st->last_out) / dt, (double)(in - st->last_in) / dt,
	         inflight, (unsigned long long)errors,
	         atomic_load(&rt->stopping) ? "  (draining)" : "");
	acrt__log_status(line);
	st->last_ns = now;
	st->last_in = in;
	st->last_out = out;
}
