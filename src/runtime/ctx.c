/*
 * ctx.c - the services a component reaches through acrt_ctx (acrt.h): config,
 * identity, logging, events, emitting with the per-port outbox, time, stop and
 * cancellation, counters.
 *
 * Emitting: acrt_emit() seals the event and appends it to the outbox of its
 * port; a full outbox (ACRT__OUTBOX events) is sent to every target of the port
 * in one bulk send per target, lazily (consumers are woken per batch, see
 * transport/local.c). acrt__ctx_flush_all(), called before the thread blocks and at the
 * end, sends the rest and kicks every target. Fan-out adds the extra references before the
 * first send, because a consumer may release the event as soon as it has it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "core/enrich.h" /* error records: class, trace, resources */
#include "core/event.h"
#include "core/log.h"
#include "runtime/runtime.h"

const json_t *
acrt_config(acrt_ctx *ctx)
{
	return ctx->comp->spec->config;
}

const char *
acrt_config_string(acrt_ctx *ctx, const char *key, const char *dflt)
{
	json_t *v = json_object_get(ctx->comp->spec->config, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

int64_t
acrt_config_int(acrt_ctx *ctx, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(ctx->comp->spec->config, key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return dflt;
}

double
acrt_config_number(acrt_ctx *ctx, const char *key, double dflt)
{
	json_t *v = json_object_get(ctx->comp->spec->config, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

int
acrt_config_bool(acrt_ctx *ctx, const char *key, int dflt)
{
	json_t *v = json_object_get(ctx->comp->spec->config, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

const char *
acrt_name(acrt_ctx *ctx)
{
	return ctx->comp->spec->name;
}

int
acrt_replica(acrt_ctx *ctx)
{
	return ctx->replica;
}

const char *
acrt_base_dir(acrt_ctx *ctx)
{
	return ctx->rt->bp->dir;
}

void
acrt_log(acrt_ctx *ctx, acrt_log_level level, const char *fmt, ...)
{
	if (!acrt__log_enabled((int)level))
		return;
	va_list ap;
	va_start(ap, fmt);
	if (level >= ACRT_LOG_ERROR) { /* errors are rare and each matters */
		acrt__logv((int)level, ctx->comp->spec->name, ctx->current ? ctx->current->id : 0,
		           NULL, fmt, ap);
	} else { /* one call site may say the same per event: rate-limited */
		char msg[160];
		va_list cp;
		va_copy(cp, ap);
		vsnprintf(msg, sizeof msg, fmt, cp);
		va_end(cp);
		if (acrt__lograte_take(&ctx->lograte, ctx->comp->spec->name, fmt, (int)level, msg))
			acrt__logv((int)level, ctx->comp->spec->name,
			           ctx->current ? ctx->current->id : 0, NULL, fmt, ap);
	}
	va_end(ap);
}

int
acrt_fail(acrt_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
	va_end(ap);
	return ACRT_ERR;
}

acrt_event *
acrt_event_new(acrt_ctx *ctx, const void *data, size_t len, const char *content_type)
{
	return acrt__event_new_bytes(ctx ? ctx->current : NULL, data, len, content_type);
}

acrt_event *
acrt_event_new_json(acrt_ctx *ctx, json_t *json)
{
	return acrt__event_new_json(ctx ? ctx->current : NULL, json);
}

/* Sends the outbox of output port i to every target. On cancellation the
 * unsent references are released and ACRT_ECANCELED returned. */
static int
flush_port(acrt_ctx *ctx, size_t i, unsigned flags)
{
	acrt__outbox *ob = &ctx->outbox[i];
	acrt__outport *op = &ctx->comp->outs[i];
	size_t n = ob->n;
	int rc = ACRT_OK;
	if (n == 0)
		return ACRT_OK;
	ob->n = 0;
	if (op->n_targets == 0) { /* unbound port: accepted and dropped */
		for (size_t k = 0; k < n; k++)
			acrt_event_unref(ob->evs[k]);
		return ACRT_OK;
	}
	if (op->n_targets > 1)
		for (size_t k = 0; k < n; k++)
			acrt__event_ref_n(ob->evs[k], (unsigned)(op->n_targets - 1));
	/* waiting for room downstream is backpressure, not being stuck */
	bool busy = atomic_load_explicit(&ctx->busy, memory_order_relaxed);
	if (busy)
		atomic_store_explicit(&ctx->busy, false, memory_order_relaxed);
	for (size_t t = 0; t < op->n_targets; t++) {
		acrt__transport *tr = op->targets[t];
		size_t sent = 0;
		int src = tr->ops->send(tr, ob->evs, n, &sent, ACRT__FOREVER, flags);
		if (src != ACRT_OK) { /* cancelled: what is not sent is discarded */
			for (size_t k = sent; k < n; k++)
				acrt_event_unref(ob->evs[k]);
			acrt__counter_add(&ctx->discarded, n - sent);
			rc = src;
		}
	}
	if (busy)
		atomic_store_explicit(&ctx->busy, true, memory_order_relaxed);
	return rc;
}

int
acrt__ctx_flush_all(acrt_ctx *ctx)
{
	int rc = ACRT_OK;
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		int r = flush_port(ctx, i, 0);
		if (r != ACRT_OK)
			rc = r;
	}
	if (ctx->lazy_pending) { /* wake consumers still waiting for a batch */
		ctx->lazy_pending = false;
		for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
			acrt__outport *op = &ctx->comp->outs[i];
			for (size_t t = 0; t < op->n_targets; t++)
				op->targets[t]->ops->kick(op->targets[t]);
		}
	}
	return rc;
}

/* The instance has nothing to do for now: run its idle hook, send what it
 * emitted, and do the same for the instances chained below it. */
static int
idle_instance(acrt_ctx *ctx)
{
	const acrt_component_desc *d = ctx->comp->desc;
	if (d->idle != NULL && ctx->set_up) {
		int rc = d->idle(ctx, ctx->self);
		if (rc == ACRT_EFATAL) {
			acrt__ctx_report_error(ctx, NULL, rc);
			return rc;
		}
		if (rc != ACRT_OK)
			acrt__ctx_report_error(ctx, NULL, rc);
	}
	return acrt__ctx_before_block(ctx);
}

int
acrt__ctx_before_block(acrt_ctx *ctx)
{
	int rc = acrt__ctx_flush_all(ctx);
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		acrt__comp *down = ctx->comp->outs[i].chained;
		if (down == NULL)
			continue;
		int r = idle_instance(&down->inst[ctx->replica]);
		if (r != ACRT_OK && rc == ACRT_OK)
			rc = r;
	}
	return rc;
}

int
acrt__ctx_idle(acrt_ctx *ctx)
{
	return idle_instance(ctx);
}

int
acrt__ctx_outputs_stored(acrt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		acrt__outport *op = &ctx->comp->outs[i];
		int rc = ACRT_OK;
		if (op->chained != NULL)
			rc = acrt__ctx_outputs_stored(&op->chained->inst[ctx->replica]);
		for (size_t t = 0; rc == ACRT_OK && t < op->n_targets; t++)
			if (op->targets[t]->ops->sync != NULL)
				rc = op->targets[t]->ops->sync(op->targets[t], ACRT__FOREVER);
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

int
acrt_flush(acrt_ctx *ctx)
{
	return acrt__ctx_before_block(ctx);
}

/* Inlined into emit, as emit_impl (below): every emit asks for its port. */
static inline long port_index(acrt_ctx *ctx, const char *port) __attribute__((always_inline));

static inline long
port_index(acrt_ctx *ctx, const char *port)
{
	if (port == ctx->last_port)
		return (long)ctx->last_port_idx;
	const acrt__comp_spec *s = ctx->comp->spec;
	for (size_t i = 0; i < s->n_outputs; i++) {
		if (strcmp(s->outputs[i].name, port) == 0) {
			ctx->last_port = port;
			ctx->last_port_idx = i;
			return (long)i;
		}
	}
	return -1;
}

/* acrt tap (observe/tap.c, through the run's hooks): out of the hot path. */
static void __attribute__((cold, noinline)) tap_out(acrt_ctx *ctx, size_t port, acrt_event *ev)
{
	if (ctx->rt->tap_hooks.out != NULL)
		ctx->rt->tap_hooks.out(ctx, port, ev);
}

/* Always inlined (into acrt_emit and acrt__ctx_emit_raw): the tap hook's call
 * must not make the compiler outline the hot path. */
static inline int emit_impl(acrt_ctx *ctx, const char *port, acrt_event *ev)
    __attribute__((always_inline));

static inline int
emit_impl(acrt_ctx *ctx, const char *port, acrt_event *ev)
{
	if (ev == NULL)
		return ACRT_EINVAL;
	if (!ctx->processing || ctx->fatal != 0) { /* not running, or failed below */
		int rc = ctx->fatal != 0 ? ctx->fatal : ACRT_EINVAL;
		acrt_event_unref(ev);
		return rc;
	}
	long i = port_index(ctx, port != NULL ? port : "output");
	if (i < 0) {
		acrt_event_unref(ev);
		return ACRT_ENOENT;
	}
	acrt__event_seal(ev);
	acrt__counter_add(&ctx->events_out, 1);
	acrt__outport *op = &ctx->comp->outs[i];
	if (acrt__unlikely(atomic_load_explicit(&op->tap, memory_order_relaxed) != NULL))
		tap_out(ctx, (size_t)i, ev); /* someone taps this port */
	if (op->chained != NULL) {           /* operator chaining: process it here and now */
		acrt_ctx *down = &op->chained->inst[ctx->replica];
		int rc = acrt__instance_process_one(down, op->chained_port, ev);
		acrt_event_unref(ev);
		if (rc != ACRT_OK && ctx->fatal == 0)
			ctx->fatal = rc;
		return rc;
	}
	acrt__outbox *ob = &ctx->outbox[i];
	ob->evs[ob->n++] = ev;
	if (ob->n == ACRT__OUTBOX) {
		ctx->lazy_pending = true;
		return flush_port(ctx, (size_t)i, ACRT__SEND_LAZY);
	}
	return ACRT_OK;
}

int
acrt__ctx_emit_raw(acrt_ctx *ctx, const char *port, acrt_event *ev)
{
	int rc = emit_impl(ctx, port, ev);
	if (rc == ACRT_OK) /* a letter of a failed event (its only caller) */
		acrt__counter_add(&ctx->dead_lettered, 1);
	return rc;
}

/* A source's safe point, between two events (acrt_emit, acrt_sleep_until,
 * acrt_stopping): something to do when a checkpoint barrier was triggered, or
 * a reload wants to replace a component chained below it. */
static inline bool
safe_point_due(acrt_ctx *ctx)
{
	return acrt__ckpt_due(ctx) || (acrt__swap_wanted(ctx) && ctx->comp->desc->run != NULL);
}

/* Takes the barrier, then parks for the reload: what safe_point_due asked for.
 * Out of line: the hot path pays only the check above. */
static int __attribute__((noinline, cold)) safe_point(acrt_ctx *ctx)
{
	int rc = ACRT_OK;
	if (acrt__ckpt_due(ctx) && ctx->rt->ckpt_ops != NULL)
		rc = ctx->rt->ckpt_ops->source_barrier(ctx);
	if (rc == ACRT_OK && acrt__swap_wanted(ctx) && ctx->comp->desc->run != NULL)
		rc = acrt__swap_park(ctx);
	return rc;
}

int
acrt_emit(acrt_ctx *ctx, const char *port, acrt_event *ev)
{
	if (acrt__unlikely(safe_point_due(ctx))) {
		int src = safe_point(ctx);
		if (src != ACRT_OK) {
			acrt_event_unref(ev);
			return src;
		}
	}
	acrt__cap_call *call = ctx->cur_call;
	if (acrt__likely(call == NULL || ev == NULL || !acrt__chain_has_send_hooks(ctx->chain)))
		return emit_impl(ctx, port, ev);
	const char *p = port != NULL ? port : "output";
	int rc = acrt__chain_before_send(ctx->chain, call, p, ev);
	if (rc != ACRT_OK) { /* e.g. an output that breaks its port's schema */
		snprintf(ctx->err, sizeof ctx->err, "%.40s: %.400s",
		         call->failed_by ? call->failed_by : "capability", call->reason);
		acrt_event_unref(ev);
		return rc;
	}
	acrt_event_ref(ev); /* after_send looks at it once it is handed over */
	rc = emit_impl(ctx, p, ev);
	if (rc == ACRT_OK)
		acrt__chain_after_send(ctx->chain, call, p, ev);
	acrt_event_unref(ev);
	return rc;
}

int
acrt__ctx_deliver(acrt_ctx *ctx, acrt__cap_call *call)
{
	if (ctx->chain == NULL)
		return call->inner(call);
	acrt__cap_call *outer = ctx->cur_call; /* a chained instance may nest */
	ctx->cur_call = call;
	int rc = acrt__chain_run(ctx->chain, call);
	ctx->cur_call = outer;
	return rc;
}

int64_t
acrt_deadline_ns(acrt_ctx *ctx)
{
	return ctx->cur_call != NULL ? ctx->cur_call->deadline_ns : 0;
}

void
acrt__ctx_close_outputs(acrt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		acrt__outport *op = &ctx->comp->outs[i];
		for (size_t t = 0; t < op->n_targets; t++)
			op->targets[t]->ops->close(op->targets[t]);
	}
}

void
acrt__ctx_report_failure(acrt_ctx *ctx, acrt_event *ev, int rc, const acrt__cap_call *call)
{
	if (call->failed_by == NULL && call->reason[0] == '\0') {
		acrt__ctx_report_error(ctx, ev, rc); /* the component's own failure */
		return;
	}
	acrt__counter_add(&ctx->errors, 1);
	const char *why = call->reason[0] ? call->reason : ctx->err;
	if (!acrt__log_enabled(ACRT_LOG_WARN) ||
	    !acrt__lograte_take(&ctx->lograte, ctx->comp->spec->name,
	                        call->failed_by != NULL ? (const void *)call->failed_by
	                                                : (const void *)&ctx->errors,
	                        rc, why)) {
		ctx->err[0] = '\0';
		return;
	}
	json_t *extra =
	    json_pack("{s:s,s:s,s:i}", "error", acrt_strerror(rc), "capability",
	              call->failed_by ? call->failed_by : "-", "attempts", call->attempts);
	/* ---- error record: class, trace id, attempt (a warning: no resources) ---- */
	extra = acrt__enrich_error(extra, rc, call->failed_by, ev, call->attempts, false);
	/* A capability's reason tells the whole story (retry's includes the last
	 * attempt's); otherwise the component's own. */
	acrt__log(ACRT_LOG_WARN, ctx->comp->spec->name, ev ? ev->id : 0, extra, "%s", why);
	json_decref(extra);
	ctx->err[0] = '\0';
}

void
acrt__ctx_report_error(acrt_ctx *ctx, acrt_event *ev, int rc)
{
	acrt__counter_add(&ctx->errors, 1);
	if (ev == NULL && ctx->current == NULL) /* a hook's failure: no event lost */
		acrt__counter_add(&ctx->hook_errors, 1);
	int level = rc == ACRT_EFATAL ? ACRT_LOG_ERROR : ACRT_LOG_WARN;
	const char *why = ctx->err[0] ? ctx->err : acrt_strerror(rc);
	if (!acrt__log_enabled(level) ||
	    (level != ACRT_LOG_ERROR && /* a fatal one ends the instance: always said */
	     !acrt__lograte_take(&ctx->lograte, ctx->comp->spec->name, &ctx->errors, rc, why))) {
		ctx->err[0] = '\0';
		return;
	}
	json_t *extra = json_pack("{s:s}", "error", acrt_strerror(rc));
	if (ctx->in_batch && extra != NULL) { /* the batch it belongs to (batching) */
		json_object_set_new(extra, "batch_id",
		                    json_integer((json_int_t)ctx->batch.batch_id));
		json_object_set_new(extra, "batch_size", json_integer((json_int_t)ctx->batch.size));
		json_object_set_new(extra, "closed_by", json_string(ctx->batch.closed_by));
	}
	/* ---- error record: class, trace id, attempt; resources when fatal ---- */
	extra =
	    acrt__enrich_error(extra, rc, NULL, ev ? ev : ctx->current, 1, level == ACRT_LOG_ERROR);
	acrt__log(level, ctx->comp->spec->name, ev ? ev->id : 0, extra, "%s", why);
	json_decref(extra);
	ctx->err[0] = '\0';
}

int64_t
acrt_now_ns(acrt_ctx *ctx)
{
	(void)ctx;
	return acrt__mono_ns();
}

int
acrt_stopping(acrt_ctx *ctx)
{
	acrt__runtime *rt = ctx->rt;
	if (acrt__unlikely(safe_point_due(ctx)))
		(void)safe_point(ctx); /* cancellation shows below */
	return atomic_load_explicit(&rt->stopping, memory_order_relaxed) ||
	       atomic_load_explicit(&rt->cancelled, memory_order_relaxed);
}

int
acrt_sleep_until(acrt_ctx *ctx, int64_t deadline_ns)
{
	acrt__runtime *rt = ctx->rt;
	int rc = acrt__ctx_before_block(ctx); /* about to block: let the events go */
	if (rc == ACRT_ECANCELED || rc == ACRT_EFATAL)
		return rc;
	rc = ACRT_OK;
	bool busy = atomic_load_explicit(&ctx->busy, memory_order_relaxed); /* a wait, not stuck */
	atomic_store_explicit(&ctx->busy, false, memory_order_relaxed);
	pthread_mutex_lock(&rt->mu);
	for (;;) {
		if (atomic_load(&rt->cancelled)) {
			rc = ACRT_ECANCELED;
			break;
		}
		if (atomic_load(&rt->stopping)) {
			rc = ACRT_ESTOPPING;
			break;
		}
		if (acrt__mono_ns() >= deadline_ns)
			break;
		if (safe_point_due(ctx)) { /* a barrier to take, or a reload to wait for */
			pthread_mutex_unlock(&rt->mu);
			rc = safe_point(ctx);
			pthread_mutex_lock(&rt->mu);
			if (rc != ACRT_OK)
				break;
			continue;
		}
		acrt__cond_wait_until(&rt->wake, &rt->mu, deadline_ns);
	}
	pthread_mutex_unlock(&rt->mu);
	atomic_store_explicit(&ctx->busy, busy, memory_order_relaxed);
	return rc;
}

void
acrt_count(acrt_ctx *ctx, const char *name, uint64_t delta)
{
	acrt__runtime *rt = ctx->rt;
	pthread_mutex_lock(&rt->mu);
	json_t *c = ctx->comp->counters;
	json_t *v = json_object_get(c, name);
	json_int_t cur = json_is_integer(v) ? json_integer_value(v) : 0;
	json_object_set_new(c, name, json_integer(cur + (json_int_t)delta));
	pthread_mutex_unlock(&rt->mu);
}

const acrt_batch_info *
acrt_batch(acrt_ctx *ctx)
{
	return ctx != NULL && ctx->in_batch ? &ctx->batch : NULL;
}

/* ---- The runtime's stop and wake ---- */

/* Wakes every thread sleeping in acrt_sleep_until (and setup waits). */
void
acrt__runtime_wake(acrt__runtime *rt)
{
	pthread_mutex_lock(&rt->mu);
	pthread_cond_broadcast(&rt->wake);
	pthread_mutex_unlock(&rt->mu);
}

void
acrt__runtime_stop(acrt__runtime *rt)
{
	atomic_store(&rt->stopping, true);
	acrt__runtime_wake(rt);
}
