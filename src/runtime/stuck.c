/*
 * stuck.c - which instances are stuck in a component's code: busy in
 * process (not waiting on a full stream, not sleeping) without taking
 * another event for longer than the component's limit, its `timeout`
 * capability's ms or else ACRT__STUCK_DEFAULT_NS. The supervising loop calls
 * acrt__runtime_watch_stuck at each turn; observe/ shows the result (/readyz,
 * acrt_component_stuck, the `component_stuck` alert; docs/RELIABILITY.md).
 * Nothing is interrupted: a stuck thread ends with the run's cancel.
 */
#include <jansson.h>

#include "core/log.h"
#include "runtime/runtime.h"

#define ACRT__STUCK_DEFAULT_NS (60 * 1000000000LL)

int64_t
acrt__stuck_limit_ns(const acrt__comp_spec *spec)
{
	json_t *t = json_object_get(spec->capabilities, "timeout");
	json_t *ms = json_object_get(t, "ms");
	if (json_is_integer(ms) && json_integer_value(ms) > 0)
		return (int64_t)json_integer_value(ms) * 1000000LL;
	return ACRT__STUCK_DEFAULT_NS;
}

void
acrt__runtime_watch_stuck(acrt__runtime *rt, int64_t now)
{
	for (size_t k = 0; k < rt->bp->n_comps; k++) {
		acrt__comp *c = &rt->comps[k];
		for (int r = 0; r < c->n_inst; r++) {
			acrt_ctx *ctx = &c->inst[r];
			uint64_t in = atomic_load_explicit(&ctx->events_in, memory_order_relaxed);
			bool busy =
			    atomic_load_explicit(&ctx->busy, memory_order_relaxed) &&
			    !atomic_load_explicit(&ctx->write_blocked, memory_order_relaxed);
			int64_t was = atomic_load_explicit(&ctx->stuck_ns, memory_order_relaxed);
			if (!busy || in != ctx->seen_in || ctx->seen_at == 0) {
				if (was != 0)
					acrt__log(ACRT_LOG_INFO, c->spec->name, 0, NULL,
					          "no longer stuck (after %.1f s)",
					          (double)was / 1e9);
				ctx->seen_in = in;
				ctx->seen_at = now;
				atomic_store_explicit(&ctx->stuck_ns, 0, memory_order_relaxed);
				continue;
			}
			int64_t for_ns = now - ctx->seen_at;
			if (for_ns < c->stuck_after_ns)
				continue;
			if (was == 0)
				acrt__log(ACRT_LOG_ERROR, c->spec->name, 0, NULL,
				          "stuck in process for %.1f s (limit %.1f s: its timeout, "
				          "or 60 s): "
				          "not ready; the event it holds fails if it ever returns",
				          (double)for_ns / 1e9, (double)c->stuck_after_ns / 1e9);
			atomic_store_explicit(&ctx->stuck_ns, for_ns, memory_order_relaxed);
		}
	}
}
