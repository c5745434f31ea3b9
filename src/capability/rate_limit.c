/*
 * rate_limit.c - the rate_limit capability: a token bucket in front of the
 * component (SPEC section 1, `rate_limit: {rate, burst, mode}`).
 *
 * The bucket holds up to `burst` tokens and refills at `rate` tokens per
 * second of call->clock. A delivery of n events takes n tokens at once in
 * before_receive:
 *
 *   mode: wait    the tokens are taken on credit (the bucket may go below
 *                 zero) and the instance sleeps until the debt is repaid;
 *                 that sleep is the backpressure. A batch larger than the
 *                 burst therefore still passes, at the configured rate.
 *   mode: reject  without n tokens in the bucket the delivery fails at once
 *                 (ACRT_ERR, failed_by "rate_limit").
 *
 * `rate` absent or 0 means unlimited: the hook then only counts, with no
 * clock read. Counters are single-writer (the instance's thread) relaxed
 * atomics that stats() reads from another thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/caps.h"
#include "core/common.h"

typedef enum { RL_WAIT, RL_REJECT } rl_mode;

typedef struct rate_limit {
	bool unlimited;
	rl_mode mode;
	double rate; /* tokens per second */
	double burst;
	/* Bucket, touched only by the instance's thread. */
	double tokens;
	int64_t last_ns; /* when `tokens` was last brought up to date */
	bool started;    /* last_ns is set */
	/* Counters for stats(), written by the instance's thread only. */
	atomic_uint_fast64_t passed;   /* events let through */
	atomic_uint_fast64_t rejected; /* events failed (reject mode) */
	atomic_uint_fast64_t waited;   /* events that had to wait (wait mode) */
	atomic_uint_fast64_t waited_ns;
	_Atomic double tokens_pub; /* the bucket as of the last delivery */
} rate_limit;

static int
cfg_error(char *err, size_t errlen, const char *key, const char *what)
{
	return acrt__cap_cfg_error(err, errlen, "rate_limit", key, what);
}

static int
rl_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err, size_t errlen)
{
	(void)comp;
	double rate = 0, burst = -1;
	rl_mode mode = RL_WAIT;
	if (json_is_object(config)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)config, k, v)
		{
			if (strcmp(k, "rate") == 0) {
				if (!json_is_number(v) || json_number_value(v) < 0)
					return cfg_error(err, errlen, k, "must be a number >= 0");
				rate = json_number_value(v);
			} else if (strcmp(k, "burst") == 0) {
				if (!json_is_number(v) || json_number_value(v) < 1)
					return cfg_error(err, errlen, k, "must be a number >= 1");
				burst = json_number_value(v);
			} else if (strcmp(k, "mode") == 0) {
				const char *s = json_string_value(v);
				if (s != NULL && strcmp(s, "wait") == 0)
					mode = RL_WAIT;
				else if (s != NULL && strcmp(s, "reject") == 0)
					mode = RL_REJECT;
				else
					return cfg_error(err, errlen, k,
					                 "must be 'wait' or 'reject'");
			} else if (strcmp(k, "enabled") == 0) {
				if (!json_is_boolean(v))
					return cfg_error(err, errlen, k, "must be a boolean");
			} else {
				return cfg_error(err, errlen, k,
				                 "is not a rate_limit setting (rate, burst, mode)");
			}
		}
	} else if (!json_is_true(config)) {
		snprintf(err, errlen, "rate_limit: expected a mapping or true");
		return -1;
	}
	rate_limit *rl = acrt__calloc(1, sizeof *rl);
	if (rl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rl->unlimited = rate == 0;
	rl->mode = mode;
	rl->rate = rate;
	rl->burst = burst > 0 ? burst : (rate > 1 ? rate : 1);
	rl->tokens = rl->burst;
	atomic_init(&rl->tokens_pub, rl->unlimited ? INFINITY : rl->burst);
	*state = rl;
	return 0;
}

static void
rl_destroy(void *state)
{
	acrt__free(state);
}

/* Brings the bucket up to `now`. */
static void
refill(rate_limit *rl, int64_t now)
{
	if (!rl->started) {
		rl->started = true;
		rl->last_ns = now;
	} else if (now > rl->last_ns) {
		rl->tokens += (double)(now - rl->last_ns) * rl->rate / 1e9;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ns = now;
	}
}

static int
rl_before_receive(void *state, acrt__cap_call *call)
{
	rate_limit *rl = state;
	uint64_t n = call->n;
	if (acrt__likely(rl->unlimited)) {
		acrt__cap_count(&rl->passed, n);
		return ACRT_OK;
	}
	const acrt__cap_clock *clk = call->clock;
	int64_t now = clk->now(clk->arg);
	refill(rl, now);
	int rc = ACRT_OK;
	if (rl->tokens >= (double)n) {
		rl->tokens -= (double)n;
	} else if (rl->mode == RL_REJECT) {
		acrt__cap_count(&rl->rejected, n);
		rc = acrt__cap_fail(
		    call, "rate_limit", ACRT_ERR,
		    "rate limit exceeded (%zu event%s, %.0f token%s left; rate %.6g/s, "
		    "burst %.6g)",
		    call->n, call->n == 1 ? "" : "s", floor(rl->tokens),
		    floor(rl->tokens) == 1 ? "" : "s", rl->rate, rl->burst);
		atomic_store_explicit(&rl->tokens_pub, rl->tokens, memory_order_relaxed);
		return rc;
	} else {
		/* On credit: sleep until the bucket is back at zero. */
		rl->tokens -= (double)n;
		int64_t when = now + (int64_t)ceil(-rl->tokens * 1e9 / rl->rate);
		atomic_store_explicit(&rl->tokens_pub, rl->tokens, memory_order_relaxed);
		rc = clk->sleep_until(clk->arg, when);
		if (rc == ACRT_ECANCELED) {
			rl->tokens += (double)n; /* not delivered: give the tokens back */
			atomic_store_explicit(&rl->tokens_pub, rl->tokens, memory_order_relaxed);
			return rc;
		}
		/* ACRT_OK, or ACRT_ESTOPPING: draining must finish, let it through. */
		int64_t after = clk->now(clk->arg);
		acrt__cap_count(&rl->waited, n);
		acrt__cap_count(&rl->waited_ns, (uint64_t)(after > now ? after - now : 0));
		refill(rl, after);
		rc = ACRT_OK;
	}
	acrt__cap_count(&rl->passed, n);
	atomic_store_explicit(&rl->tokens_pub, rl->tokens, memory_order_relaxed);
	return rc;
}

static void
rl_stats(void *state, json_t *out)
{
	rate_limit *rl = state;
	json_object_set_new(
	    out, "passed",
	    json_integer((json_int_t)atomic_load_explicit(&rl->passed, memory_order_relaxed)));
	json_object_set_new(
	    out, "rejected",
	    json_integer((json_int_t)atomic_load_explicit(&rl->rejected, memory_order_relaxed)));
	json_object_set_new(
	    out, "waited",
	    json_integer((json_int_t)atomic_load_explicit(&rl->waited, memory_order_relaxed)));
	json_object_set_new(
	    out, "waited_ns",
	    json_integer((json_int_t)atomic_load_explicit(&rl->waited_ns, memory_order_relaxed)));
	if (rl->unlimited) {
		json_object_set_new(out, "tokens", json_null()); /* no limit */
	} else {
		double t = atomic_load_explicit(&rl->tokens_pub, memory_order_relaxed);
		json_object_set_new(out, "tokens", json_real(t));
	}
	json_object_set_new(out, "mode", json_string(rl->mode == RL_WAIT ? "wait" : "reject"));
}

const acrt__cap_class acrt__cap_rate_limit = {
    .name = "rate_limit",
    .tier = 20,
    .create = rl_create,
    .destroy = rl_destroy,
    .before_receive = rl_before_receive,
    .stats = rl_stats,
};
