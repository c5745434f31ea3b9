/*
 * instance.c - the life of one component instance: its thread (a source's
 * run, or the one consumer loop with its delivery policy: plain here, batched
 * in batching.c), one event through process and its capability chain, the
 * finish hook and the end of its outputs, and setup on a short-lived thread
 * bounded by startup_timeout_ms. lifecycle.c starts and supervises them.
 */
#include <pthread.h>
#include <string.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/enrich.h" /* error records: class, trace, resources */
#include "core/event.h"
#include "core/log.h"
#include "runtime/runtime.h"

static int
run_source(acrt_ctx *ctx)
{
	int rc = ctx->comp->desc->run(ctx, ctx->self);
	if (rc == ACRT_ESTOPPING)
		rc = ACRT_OK;
	if (ctx->fatal != 0) /* a chained component failed (and was reported) */
		return ctx->fatal;
	if (rc != ACRT_OK && rc != ACRT_ECANCELED)
		acrt__ctx_report_error(ctx, NULL, rc == ACRT_ERR ? ACRT_EFATAL : rc);
	return rc == ACRT_ERR ? ACRT_EFATAL : rc;
}

/* The innermost call of a single event's capability chain: the component. */
static int
process_attempt(acrt__cap_call *call)
{
	acrt_ctx *ctx = call->ctx;
	acrt_event *outer = ctx->current;
	ctx->current = call->evs[0];
	int rc = ctx->comp->desc->process(ctx, ctx->self, call->port, call->evs[0]);
	ctx->current = outer;
	return rc;
}

const int64_t acrt__time_bounds_ns[ACRT__TIME_BUCKETS - 1] = {
    1000,    5000,     10000,    50000,     100000,    500000,     1000000,
    5000000, 10000000, 50000000, 100000000, 500000000, 1000000000, 5000000000};

static void
time_observe(acrt_ctx *ctx, int64_t ns)
{
	size_t b = 0;
	while (b < ACRT__TIME_BUCKETS - 1 && ns > acrt__time_bounds_ns[b])
		b++;
	acrt__counter_add(&ctx->time_bucket[b], 1);
	acrt__counter_add(&ctx->time_count, 1);
	acrt__counter_add(&ctx->time_sum_ns, (uint64_t)(ns > 0 ? ns : 0));
}

static inline int process_one(acrt_ctx *ctx, const char *port, acrt_event *ev)
    __attribute__((always_inline));

int
acrt__instance_process_one(acrt_ctx *ctx, const char *port, acrt_event *ev)
{
	if (acrt__likely(++ctx->time_tick % ACRT__TIME_SAMPLE != 0))
		return process_one(ctx, port, ev);
	int64_t t0 = acrt__fast_mono_ns();
	int rc = process_one(ctx, port, ev);
	time_observe(ctx, acrt__fast_mono_ns() - t0);
	return rc;
}

static inline int
process_one(acrt_ctx *ctx, const char *port, acrt_event *ev)
{
	acrt__counter_add(&ctx->events_in, 1);
	if (acrt__unlikely(ev->kind != ACRT__EV_DATA)) /* a barrier */
		return ACRT_OK;
	if (acrt__unlikely(atomic_load_explicit(&ctx->comp->in_tap, memory_order_relaxed) !=
	                   NULL) &&
	    ctx->rt->tap_hooks.in != NULL)
		ctx->rt->tap_hooks.in(ctx, port, ev); /* someone taps this port */
	int rc;
	acrt__cap_call call;
	bool was_busy = atomic_load_explicit(&ctx->busy, memory_order_relaxed); /* re-entered */
	atomic_store_explicit(&ctx->busy, true, memory_order_relaxed);
	if (ctx->chain == NULL) {                 /* the fast path: no capabilities */
		acrt_event *outer = ctx->current; /* non-NULL only when re-entered by a chain */
		ctx->current = ev;
		rc = ctx->comp->desc->process(ctx, ctx->self, port, ev);
		ctx->current = outer;
	} else {
		call = (acrt__cap_call){.ctx = ctx,
		                        .port = port,
		                        .evs = &ev,
		                        .n = 1,
		                        .clock = &ctx->cap_clock,
		                        .inner = process_attempt};
		rc = acrt__ctx_deliver(ctx, &call);
	}
	atomic_store_explicit(&ctx->busy, was_busy, memory_order_relaxed);
	if (rc == ACRT_OK || rc == ACRT_ERR || rc == ACRT_ERETRYABLE || rc == ACRT_EINVAL ||
	    rc == ACRT_ENOENT || rc == ACRT_ETIMEDOUT) {
		if (rc != ACRT_OK && ctx->chain != NULL)
			acrt__ctx_report_failure(ctx, ev, rc, &call);
		else if (rc != ACRT_OK)
			acrt__ctx_report_error(ctx, ev, rc);
		/* A chained component downstream may have failed under this call. */
		return ctx->fatal;
	}
	if (rc == ACRT_ECANCELED)
		return rc;
	if (ctx->fatal == 0) /* not already reported further down the chain */
		acrt__ctx_report_error(ctx, ev, ACRT_EFATAL);
	return ACRT_EFATAL;
}

/* An in-place reload (reload/swap.c) asked this instance to pause: hand on
 * what it holds and what it emitted, then wait until the supervisor lets it
 * go on (ACRT_OK) or the run is cancelled (ACRT_ECANCELED). */
int
acrt__swap_park(acrt_ctx *ctx)
{
	acrt__runtime *rt = ctx->rt;
	int rc = ACRT_OK;
	if (ctx->delivery != NULL && ctx->delivery->drain != NULL)
		rc = ctx->delivery->drain(ctx); /* what it holds (open batches) is in flight */
	if (rc == ACRT_OK)
		rc = acrt__ctx_before_block(ctx); /* send what was emitted, idle below */
	if (rc == ACRT_ECANCELED || rc == ACRT_EFATAL)
		return rc;
	pthread_mutex_lock(&rt->mu);
	ctx->parked = true;
	pthread_cond_broadcast(&rt->wake);
	while (atomic_load(&ctx->pause_req) && !atomic_load(&rt->cancelled))
		pthread_cond_wait(&rt->wake, &rt->mu);
	ctx->parked = false;
	pthread_mutex_unlock(&rt->mu);
	return atomic_load(&rt->cancelled) ? ACRT_ECANCELED : ACRT_OK;
}

/* Plain delivery: each received event through process, at once. Releases
 * every event. Returns ACRT_OK or the code that must stop. */
static int
plain_deliver(acrt_ctx *ctx, size_t port, acrt_event **evs, size_t n)
{
	const char *name = ctx->comp->spec->inputs[port].name;
	int stop = ACRT_OK;
	for (size_t i = 0; i < n; i++) {
		if (stop == ACRT_OK)
			stop = acrt__instance_process_one(ctx, name, evs[i]);
		acrt_event_unref(evs[i]);
	}
	return stop;
}

static const acrt__delivery plain_delivery = {.deliver = plain_deliver};

/* The one consumer loop: receive from the inbox (with the delivery's next
 * deadline, or the component's own wake-up time, acrt__ctx_wake_at, when
 * sooner: the idle hook then runs again), hand events to the delivery, align on checkpoint
 * barriers, park for an in-place reload, end with the stream. */
static int
run_consumer(acrt_ctx *ctx, const acrt__delivery *d)
{
	acrt__comp *c = ctx->comp;
	acrt_event *evs[ACRT__RX_BATCH];
	int rc = ACRT_OK;
	/* An input from another node acknowledges to its broker only what was
	 * processed and written out (the idle hooks ran): while busy, run them
	 * every `every` events so the broker's bound does not fill with events
	 * already done (transport.h, processed). What it sent on to another
	 * node is first stored by that node's broker (sync). */
	size_t every = c->has_inbox ? acrt__inbox_processed_every(&c->inbox) : 0, since = 0;
	bool remote = every != 0;
	for (;;) {
		int64_t deadline = ACRT__FOREVER;
		if (d->expire != NULL &&
		    (rc = d->expire(ctx, acrt__mono_ns(), &deadline)) != ACRT_OK)
			break;
		if (acrt__unlikely(acrt__swap_wanted(ctx)) && /* an in-place reload pauses here */
		    (rc = acrt__swap_park(ctx)) != ACRT_OK)
			break;
		size_t port = 0;
		acrt__rx_status st;
		size_t n = acrt__inbox_recv(&c->inbox, &ctx->cursor, evs, ACRT__RX_BATCH, &port,
		                            acrt__mono_ns(), &st);
		if (n == 0 && st == ACRT__RX_EMPTY) {
			/* About to park: idle hooks, and let what we emitted go first. */
			ctx->wake_ns = 0;
			rc = acrt__ctx_idle(ctx);
			if (rc == ACRT_ECANCELED || rc == ACRT_EFATAL)
				break;
			if (remote && (rc = acrt__ctx_outputs_stored(ctx)) != ACRT_OK)
				break;
			if (remote)
				acrt__inbox_processed(&c->inbox, &ctx->cursor);
			since = 0;
			/* The idle hook may hold output back until wake_ns: it idles
			 * again then (the deadline passes, the loop comes back here). */
			int64_t until =
			    ctx->wake_ns != 0 && ctx->wake_ns < deadline ? ctx->wake_ns : deadline;
			n = acrt__inbox_recv(&c->inbox, &ctx->cursor, evs, ACRT__RX_BATCH, &port,
			                     until, &st);
		}
		rc = ACRT_OK;
		if (n == 0) {
			if (st == ACRT__RX_CANCELED) {
				rc = ACRT_ECANCELED;
				break;
			}
			if (st == ACRT__RX_EOS) /* what the delivery holds goes now */
				return d->drain != NULL ? d->drain(ctx) : ACRT_OK;
			continue; /* the deadline: expire delivers what is due */
		}
		if (st == ACRT__RX_BARRIER) { /* aligned on every input: snapshot, forward */
			const acrt__ckpt_ops *ck = ctx->rt->ckpt_ops;
			rc = ck != NULL ? ck->barrier(ctx, evs[0]->barrier_id) : ACRT_OK;
			acrt_event_unref(evs[0]);
			if (rc != ACRT_OK)
				break;
			continue;
		}
		if ((rc = d->deliver(ctx, port, evs, n)) != ACRT_OK)
			break;
		if (remote && (since += n) >= every) {
			since = 0;
			rc = acrt__ctx_idle(ctx);
			if (rc == ACRT_ECANCELED || rc == ACRT_EFATAL)
				break;
			if ((rc = acrt__ctx_outputs_stored(ctx)) != ACRT_OK)
				break;
			acrt__inbox_processed(&c->inbox, &ctx->cursor);
		}
	}
	if (d->drop != NULL) /* stopped early: what it holds is not delivered */
		d->drop(ctx);
	return rc;
}

/* The descriptor's optional finish hook (ABI 1.1: read only when struct_size
 * has it), once the input has ended. Returns ACRT_OK or the code that stops. */
static int
run_finish(acrt_ctx *ctx)
{
	const acrt_component_desc *d = ctx->comp->desc;
	if (d->struct_size < offsetof(acrt_component_desc, finish) + sizeof d->finish ||
	    d->finish == NULL || !ctx->set_up || atomic_load(&ctx->rt->reloading))
		return ACRT_OK; /* a reload pauses the input, it has not ended */
	int rc = d->finish(ctx, ctx->self);
	if (ctx->fatal != 0) /* a chained component failed under it (and was reported) */
		return ctx->fatal;
	if (rc == ACRT_OK || rc == ACRT_ECANCELED)
		return rc;
	acrt__ctx_report_error(ctx, NULL, rc);
	return rc == ACRT_EFATAL ? rc : ACRT_OK;
}

/* Ends an instance's process phase: its finish hook, flush what it emitted,
 * end its output streams, and end the instances chained below it (they ran on
 * this thread). */
static int
finish_instance(acrt_ctx *ctx, int rc)
{
	if (rc == ACRT_OK)
		rc = run_finish(ctx);
	if (rc == ACRT_OK) {
		rc = acrt__ctx_flush_all(ctx);
		if (rc == ACRT_OK)
			if (ctx->rt->ckpt_ops != NULL) /* its final state, for checkpoints */
				ctx->rt->ckpt_ops->instance_end(ctx);
	} else if (rc != ACRT_ECANCELED) {
		(void)acrt__ctx_flush_all(ctx); /* what was emitted before the failure */
	}
	ctx->processing = false;
	acrt__lograte_flush(&ctx->lograte, ctx->comp->spec->name); /* what was suppressed */
	acrt__ctx_close_outputs(ctx);
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		acrt__comp *down = ctx->comp->outs[i].chained;
		if (down != NULL) {
			int r = finish_instance(&down->inst[ctx->replica], rc);
			if (rc == ACRT_OK)
				rc = r;
		}
	}
	/* ---- readiness, for the API ---- */
	ctx->end_rc = rc;
	atomic_store_explicit(&ctx->run_state,
	                      rc == ACRT_OK || rc == ACRT_ECANCELED ? ACRT__INST_ENDED
	                                                            : ACRT__INST_FAILED,
	                      memory_order_release);
	return rc;
}

static void
start_processing(acrt_ctx *ctx)
{
	ctx->processing = true;
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++)
		if (ctx->comp->outs[i].chained != NULL)
			start_processing(&ctx->comp->outs[i].chained->inst[ctx->replica]);
}

int
acrt__instance_main(void *arg)
{
	acrt_ctx *ctx = arg;
	start_processing(ctx);
	int rc;
	if (ctx->comp->desc->run != NULL) {
		rc = run_source(ctx);
	} else {
		ctx->delivery =
		    ctx->comp->batching.enabled ? &acrt__delivery_batched : &plain_delivery;
		rc = run_consumer(ctx, ctx->delivery);
	}
	if (rc == ACRT_OK && ctx->fatal != 0)
		rc = ctx->fatal;
	return finish_instance(ctx, rc);
}

/* ---- Setup ------------------------------------------------------------------ */

/* setup() runs on a short-lived thread so that the main thread can bound it
 * with runtime.timeouts.startup_timeout_ms. */
typedef struct setup_call {
	acrt_ctx *ctx;
	void *self;
	int rc;
	bool done; /* protected by rt->mu */
} setup_call;

static void *
setup_thread(void *arg)
{
	setup_call *call = arg;
	acrt_ctx *ctx = call->ctx;
	pthread_setname_np(pthread_self(), ctx->thread_name);
	int rc = ctx->comp->desc->setup(ctx, &call->self);
	acrt__event_thread_flush();
	pthread_mutex_lock(&ctx->rt->mu);
	call->rc = rc;
	call->done = true;
	pthread_cond_broadcast(&ctx->rt->wake);
	pthread_mutex_unlock(&ctx->rt->mu);
	return NULL;
}

/* Returns ACRT_OK, the setup's failure, or ACRT_ETIMEDOUT (the call is then
 * abandoned: the process must exit without touching the runtime again). */
int
acrt__instance_setup(acrt_ctx *ctx, int64_t deadline)
{
	acrt__runtime *rt = ctx->rt;
	const acrt_component_desc *d = ctx->comp->desc;
	ctx->err[0] = '\0';
	if (d->setup == NULL) {
		ctx->set_up = true;
		return ACRT_OK;
	}
	setup_call *call = acrt__calloc(1, sizeof *call);
	if (call == NULL)
		return ACRT_ENOMEM;
	call->ctx = ctx;
	pthread_t th;
	if (pthread_create(&th, NULL, setup_thread, call) != 0) {
		acrt__free(call);
		return ACRT_ENOMEM;
	}
	pthread_mutex_lock(&rt->mu);
	while (!call->done && acrt__mono_ns() < deadline)
		acrt__cond_wait_until(&rt->wake, &rt->mu, deadline);
	bool done = call->done;
	pthread_mutex_unlock(&rt->mu);
	if (!done) {
		pthread_detach(th); /* leaked on purpose, with call: it may still write them */
		acrt__log(ACRT_LOG_ERROR, ctx->comp->spec->name, 0, NULL,
		          "setup did not finish within startup_timeout_ms=%lld",
		          (long long)rt->bp->startup_timeout_ms);
		return ACRT_ETIMEDOUT;
	}
	pthread_join(th, NULL);
	int rc = call->rc;
	void *self = call->self;
	acrt__free(call);
	if (rc != ACRT_OK) {
		json_t *x = json_pack("{s:s}", "error", acrt_strerror(rc));
		x = acrt__enrich_error(x, rc, NULL, NULL, 1, true); /* error class, resources */
		acrt__log(ACRT_LOG_ERROR, ctx->comp->spec->name, 0, x, "setup failed: %s",
		          ctx->err[0] ? ctx->err : acrt_strerror(rc));
		json_decref(x);
		return rc;
	}
	ctx->self = self;
	ctx->set_up = true;
	return ACRT_OK;
}
