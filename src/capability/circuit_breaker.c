/*
 * circuit_breaker.c - the circuit_breaker capability: stops calling a
 * component that keeps failing, and tries it again after a while (SPEC
 * section 1, `circuit_breaker: {failure_threshold, recovery_timeout_ms,
 * success_threshold}`).
 *
 * The state machine (one per instance; a delivery is one event or one batch):
 *
 *                 failure_threshold consecutive failures
 *      +--------+ -------------------------------------> +--------+
 *      | CLOSED |                                        |  OPEN  | fail fast:
 *      +--------+ <---------+                 +--------> +--------+ next() not
 *       success resets      |                 |              |      called
 *       the failure count   | success_        | any          | recovery_timeout_ms
 *                           | threshold       | failure      | passed (checked when
 *                           | consecutive     | (timer       | a delivery arrives)
 *                           | successes       |  restarts)   v
 *                           |              +-----------+     |
 *                           +------------- | HALF_OPEN | <---+
 *                                          +-----------+
 *                                          deliveries go through
 *
 * A failure is any result of next() other than ACRT_OK, except ACRT_ECANCELED
 * (the run being cancelled says nothing about the component's health). While
 * open, deliveries fail with ACRT_ERR, failed_by "circuit_breaker". The
 * closed and half-open success paths read no clock; the clock is read when
 * the circuit opens and while it is open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/caps.h"
#include "core/common.h"

enum { CB_CLOSED = 0, CB_OPEN = 1, CB_HALF_OPEN = 2 };
static const char *const state_names[] = {"closed", "open", "half_open"};

typedef struct breaker {
	int64_t failure_threshold, success_threshold;
	int64_t recovery_ns;
	/* Machine, touched only by the instance's thread (state is also read by stats). */
	int64_t consecutive_failures, consecutive_successes;
	int64_t opened_at;
	atomic_int state;
	/* Counters for stats(), written by the instance's thread only. */
	atomic_uint_fast64_t passed;   /* deliveries let through to next() */
	atomic_uint_fast64_t failures; /* of those, failed */
	atomic_uint_fast64_t rejected; /* deliveries failed fast while open */
	atomic_uint_fast64_t opened;   /* times the circuit opened */
} breaker;

static int
cfg_error(char *err, size_t errlen, const char *key, const char *what)
{
	return acrt__cap_cfg_error(err, errlen, "circuit_breaker", key, what);
}

static int
cfg_int(const char *k, const json_t *v, json_int_t lo, int64_t *out, char *err, size_t errlen)
{
	if (!json_is_integer(v))
		return cfg_error(err, errlen, k, "must be an integer");
	json_int_t x = json_integer_value(v);
	if (x < lo || x > (json_int_t)1000000000000LL) {
		char what[64];
		snprintf(what, sizeof what, "must be between %lld and 1e12", (long long)lo);
		return cfg_error(err, errlen, k, what);
	}
	*out = (int64_t)x;
	return 0;
}

static int
cb_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err, size_t errlen)
{
	(void)comp;
	int64_t failure_threshold = 5, recovery_ms = 30000, success_threshold = 3;
	if (json_is_object(config)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)config, k, v)
		{
			int rc;
			if (strcmp(k, "failure_threshold") == 0)
				rc = cfg_int(k, v, 1, &failure_threshold, err, errlen);
			else if (strcmp(k, "recovery_timeout_ms") == 0)
				rc = cfg_int(k, v, 0, &recovery_ms, err, errlen);
			else if (strcmp(k, "success_threshold") == 0)
				rc = cfg_int(k, v, 1, &success_threshold, err, errlen);
			else if (strcmp(k, "enabled") == 0)
				rc = json_is_boolean(v)
				         ? 0
				         : cfg_error(err, errlen, k, "must be a boolean");
			else
				rc = cfg_error(
				    err, errlen, k,
				    "is not a circuit_breaker setting (failure_threshold, "
				    "recovery_timeout_ms, success_threshold)");
			if (rc != 0)
				return rc;
		}
	} else if (!json_is_true(config)) {
		snprintf(err, errlen, "circuit_breaker: expected a mapping or true");
		return -1;
	}
	breaker *b = acrt__calloc(1, sizeof *b);
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->failure_threshold = failure_threshold;
	b->success_threshold = success_threshold;
	b->recovery_ns = recovery_ms * 1000000;
	atomic_init(&b->state, CB_CLOSED);
	*state = b;
	return 0;
}

static void
cb_destroy(void *state)
{
	acrt__free(state);
}

static void
trip(breaker *b, const acrt__cap_clock *clk)
{
	b->opened_at = clk->now(clk->arg);
	b->consecutive_failures = 0;
	b->consecutive_successes = 0;
	atomic_store_explicit(&b->state, CB_OPEN, memory_order_relaxed);
	acrt__cap_count(&b->opened, 1);
}

static int
cb_around(void *state, acrt__cap_call *call)
{
	breaker *b = state;
	int st = atomic_load_explicit(&b->state, memory_order_relaxed);
	if (acrt__unlikely(st == CB_OPEN)) {
		const acrt__cap_clock *clk = call->clock;
		int64_t left = b->opened_at + b->recovery_ns - clk->now(clk->arg);
		if (left > 0) {
			acrt__cap_count(&b->rejected, 1);
			return acrt__cap_fail(
			    call, "circuit_breaker", ACRT_ERR,
			    "circuit open (component failing; next trial in %lld ms)",
			    (long long)((left + 999999) / 1000000));
		}
		st = CB_HALF_OPEN;
		b->consecutive_successes = 0;
		atomic_store_explicit(&b->state, st, memory_order_relaxed);
	}
	acrt__cap_count(&b->passed, 1);
	int rc = acrt__cap_next(call);
	if (acrt__likely(rc == ACRT_OK)) {
		if (acrt__unlikely(st == CB_HALF_OPEN)) {
			if (++b->consecutive_successes >= b->success_threshold) {
				b->consecutive_failures = 0;
				atomic_store_explicit(&b->state, CB_CLOSED, memory_order_relaxed);
			}
		} else {
			b->consecutive_failures = 0;
		}
		return rc;
	}
	if (rc == ACRT_ECANCELED)
		return rc;
	acrt__cap_count(&b->failures, 1);
	if (st == CB_HALF_OPEN || ++b->consecutive_failures >= b->failure_threshold)
		trip(b, call->clock);
	return rc;
}

static void
cb_stats(void *state, json_t *out)
{
	breaker *b = state;
	int st = atomic_load_explicit(&b->state, memory_order_relaxed);
	json_object_set_new(out, "state", json_string(state_names[st]));
	json_object_set_new(out, "state_code", json_integer(st));
	json_object_set_new(
	    out, "passed",
	    json_integer((json_int_t)atomic_load_explicit(&b->passed, memory_order_relaxed)));
	json_object_set_new(
	    out, "failures",
	    json_integer((json_int_t)atomic_load_explicit(&b->failures, memory_order_relaxed)));
	json_object_set_new(
	    out, "rejected",
	    json_integer((json_int_t)atomic_load_explicit(&b->rejected, memory_order_relaxed)));
	json_object_set_new(
	    out, "opened",
	    json_integer((json_int_t)atomic_load_explicit(&b->opened, memory_order_relaxed)));
}

const acrt__cap_class acrt__cap_circuit_breaker = {
    .name = "circuit_breaker",
    .tier = 50,
    .create = cb_create,
    .destroy = cb_destroy,
    .around_process = cb_around,
    .stats = cb_stats,
};
