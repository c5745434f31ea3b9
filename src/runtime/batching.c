/*
 * batching.c - harness-aggregated batching (ADR-024, docs/BATCHING.md): the
 * delivery policy (runtime.h) of a component with `batching: {enabled: true}`;
 * instance.c runs the consumer loop. Events are
 * gathered per input port until max_items, or until max_ms has passed since
 * the first of them, or the end of the stream; each batch then goes through
 * the component's capability chain once (retry retries the batch, the breaker
 * counts it as one call) to process_batch, or to process event by event.
 *
 * error_mode per_item: a failing event is reported alone and the others go
 * on. fail_fast: the first failure fails the whole batch (every event counts
 * as failed; capabilities such as retry and dead_letter then see the batch).
 */
#include <stdio.h>

#include "core/common.h"
#include "core/event.h"
#include "core/log.h"
#include "runtime/runtime.h"

/* One error line for a failed batch, with its metadata; counts `failed` errors. */
static void
report_batch_error(acrt_ctx *ctx, acrt_event *ev, int rc, size_t failed, const char *what)
{
	acrt__counter_add(&ctx->errors, failed);
	if (!acrt__log_enabled(ACRT_LOG_WARN))
		goto out;
	const acrt_batch_info *b = &ctx->batch;
	json_t *extra = json_pack("{s:s,s:I,s:I,s:s,s:s,s:I}", "error", acrt_strerror(rc),
	                          "batch_id", (json_int_t)b->batch_id, "batch_size",
	                          (json_int_t)b->size, "closed_by", b->closed_by, "error_mode",
	                          ctx->comp->batching.fail_fast ? "fail_fast" : "per_item",
	                          "failed_events", (json_int_t)failed);
	acrt__log(ACRT_LOG_WARN, ctx->comp->spec->name, ev ? ev->id : 0, extra,
	          "batch %llu (%zu events, closed by %s) failed: %s%s",
	          (unsigned long long)b->batch_id, b->size, b->closed_by,
	          ctx->err[0] ? ctx->err : acrt_strerror(rc), what);
	json_decref(extra);
out:
	ctx->err[0] = '\0';
}

/* Classifies a callback's return: 0 ok, 1 the event/batch failed (the run goes
 * on), -1 the instance must stop (rc is then ECANCELED or EFATAL). */
static int
outcome(int rc)
{
	if (rc == ACRT_OK)
		return 0;
	if (rc == ACRT_ERR || rc == ACRT_ERETRYABLE || rc == ACRT_EINVAL || rc == ACRT_ENOENT ||
	    rc == ACRT_ETIMEDOUT)
		return 1;
	return -1;
}

/* A stop code from a callback: reported (once) unless it is a cancellation. */
static int
batch_stop(acrt_ctx *ctx, acrt_event *ev, int rc)
{
	if (rc == ACRT_ECANCELED)
		return rc;
	if (ctx->fatal == 0)
		acrt__ctx_report_error(ctx, ev, ACRT_EFATAL);
	return ACRT_EFATAL;
}

/* Events of a batch through process, one at a time (the component has no
 * process_batch, or per_item fell back to it). per_item failures are reported
 * here, one per event; in fail_fast mode the first failure is returned (the
 * batch failed) and the rest of the batch is not processed. */
static int
batch_per_event(acrt_ctx *ctx, const char *port, acrt_event *const *evs, size_t n)
{
	const acrt_component_desc *d = ctx->comp->desc;
	for (size_t i = 0; i < n; i++) {
		ctx->current = evs[i];
		int rc = d->process(ctx, ctx->self, port, evs[i]);
		ctx->current = NULL;
		int o = outcome(rc);
		if (o < 0)
			return rc;
		if (o > 0) {
			if (ctx->comp->batching.fail_fast)
				return rc;
			if (ctx->chain != NULL) { /* its own dead letter, as if delivered alone */
				acrt__cap_call one = {.ctx = ctx,
				                      .port = port,
				                      .evs = &evs[i],
				                      .n = 1,
				                      .clock = &ctx->cap_clock,
				                      .attempts = 1};
				snprintf(one.reason, sizeof one.reason, "%s",
				         ctx->err[0] ? ctx->err : acrt_strerror(rc));
				acrt__chain_on_failure(ctx->chain, &one, rc);
			}
			acrt__ctx_report_error(ctx, evs[i], rc); /* isolated to the event */
		}
		if (ctx->fatal != 0) /* a chained component below failed */
			return ctx->fatal;
	}
	return ACRT_OK;
}

/* One attempt at a batch (the innermost call of its capability chain):
 * ACRT_OK, a failure of the whole batch, or a stop code. */
static int
batch_attempt(acrt__cap_call *call)
{
	acrt_ctx *ctx = call->ctx;
	const acrt_component_desc *d = ctx->comp->desc;
	if (d->process_batch == NULL)
		return batch_per_event(ctx, call->port, call->evs, call->n);
	ctx->current = NULL;
	int r = d->process_batch(ctx, ctx->self, call->port, call->evs, call->n);
	if (outcome(r) > 0 && !ctx->comp->batching.fail_fast && d->process != NULL) {
		/* per_item: find the failing events by processing one by one */
		report_batch_error(ctx, NULL, r, 0, "; per_item: processing its events one by one");
		return batch_per_event(ctx, call->port, call->evs, call->n);
	}
	if (r == ACRT_OK && ctx->fatal != 0)
		return ctx->fatal;
	return r;
}

/* Hands input port p's batch to the component (through its capability chain,
 * if any) and releases its events. Returns ACRT_OK or the code that must stop
 * the instance. */
static int
deliver_batch(acrt_ctx *ctx, size_t p, const char *closed_by)
{
	acrt__batch *b = &ctx->batches[p];
	size_t n = b->n;
	if (n == 0)
		return ACRT_OK;
	acrt_event **evs = b->evs;
	ctx->batch = (acrt_batch_info){.batch_id = ++ctx->batch_seq,
	                               .size = n,
	                               .first_event_ns = evs[0]->time_ns,
	                               .last_event_ns = evs[n - 1]->time_ns,
	                               .formed_ns = acrt__wall_ns(),
	                               .closed_by = closed_by};
	ctx->in_batch = true;
	acrt__counter_add(&ctx->events_in, n);
	acrt__cap_call call = {.ctx = ctx,
	                       .port = ctx->comp->spec->inputs[p].name,
	                       .evs = evs,
	                       .n = n,
	                       .clock = &ctx->cap_clock,
	                       .inner = batch_attempt};
	int rc = acrt__ctx_deliver(ctx, &call);
	int o = outcome(rc);
	if (o < 0) {
		rc = batch_stop(ctx, NULL, rc);
	} else if (o > 0) {
		if (call.reason[0] != '\0' && ctx->err[0] == '\0')
			snprintf(ctx->err, sizeof ctx->err, "%.40s%s%.400s",
			         call.failed_by ? call.failed_by : "", call.failed_by ? ": " : "",
			         call.reason);
		report_batch_error(ctx, NULL, rc, n,
		                   ctx->comp->batching.fail_fast
		                       ? "; fail_fast: every event of the batch counts as failed"
		                       : "; every event of the batch counts as failed");
		rc = ACRT_OK;
	}
	ctx->in_batch = false;
	for (size_t i = 0; i < n; i++)
		acrt_event_unref(evs[i]);
	b->n = 0;
	return rc;
}

/* Releases what the batches hold (on cancellation: the run is being torn down). */
static void
drop_batches(acrt_ctx *ctx)
{
	for (size_t p = 0; p < ctx->comp->spec->n_inputs; p++) {
		acrt__batch *b = &ctx->batches[p];
		for (size_t i = 0; i < b->n; i++)
			acrt_event_unref(b->evs[i]);
		b->n = 0;
	}
}

/* Delivers every batch still open: the end of the stream, or a checkpoint's
 * barrier (closed by "drain"). */
static int
drain_batches(acrt_ctx *ctx)
{
	if (ctx->batches == NULL)
		return ACRT_OK;
	for (size_t p = 0; p < ctx->comp->spec->n_inputs; p++) {
		int rc = deliver_batch(ctx, p, "drain");
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

/* Delivers the batches whose max_ms has passed; returns the earliest deadline
 * of the batches still open (ACRT__FOREVER when none is). */
static int
expire_batches(acrt_ctx *ctx, int64_t now, int64_t *next)
{
	*next = ACRT__FOREVER;
	for (size_t p = 0; p < ctx->comp->spec->n_inputs; p++) {
		acrt__batch *b = &ctx->batches[p];
		if (b->n == 0)
			continue;
		if (b->deadline <= now) {
			int rc = deliver_batch(ctx, p, "time");
			if (rc != ACRT_OK)
				return rc;
		} else if (b->deadline < *next) {
			*next = b->deadline;
		}
	}
	return ACRT_OK;
}

/* Adds received events (all from input port p) to p's batch, delivering it
 * each time it reaches max_items. Releases every event it does not keep. */
static int
add_to_batch(acrt_ctx *ctx, size_t p, acrt_event **evs, size_t n)
{
	const acrt__batching *cfg = &ctx->comp->batching;
	acrt__batch *b = &ctx->batches[p];
	int stop = ACRT_OK;
	for (size_t i = 0; i < n; i++) {
		if (stop != ACRT_OK || evs[i]->kind != ACRT__EV_DATA) {
			if (stop == ACRT_OK)
				acrt__counter_add(&ctx->events_in, 1);
			acrt_event_unref(evs[i]);
			continue;
		}
		if (b->n == 0)
			b->deadline = acrt__mono_ns() + cfg->max_ns;
		b->evs[b->n++] = evs[i];
		if (b->n == cfg->max_items)
			stop = deliver_batch(ctx, p, "size");
	}
	return stop;
}

const acrt__delivery acrt__delivery_batched = {
    .deliver = add_to_batch,
    .expire = expire_batches,
    .drain = drain_batches,
    .drop = drop_batches,
};
