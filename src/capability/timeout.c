/*
 * timeout.c - the timeout capability: a deadline for each delivery (SPEC
 * section 1, `timeout: {ms}`).
 *
 * around_process sets call->deadline_ns = now + ms for the duration of the
 * next() call (components read it as acrt_deadline_ns(ctx) and should give up
 * by then), restores the previous value, and turns a delivery that returned
 * ACRT_OK after its deadline into an error (ACRT_ETIMEDOUT, failed_by
 * "timeout"): overrun counts as a failure. Nothing is interrupted: a component
 * that ignores its deadline is only reported. The limit applies to one
 * delivery, so to a whole batch when batching is on. Cost: two clock reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/caps.h"
#include "core/common.h"

typedef struct timeout {
	int64_t limit_ns;
	atomic_uint_fast64_t timeouts; /* written by the instance's thread only */
} timeout;

static int
to_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err, size_t errlen)
{
	(void)comp;
	json_int_t ms = 0;
	bool have_ms = false;
	if (json_is_object(config)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)config, k, v)
		{
			if (strcmp(k, "ms") == 0) {
				if (!json_is_integer(v) || json_integer_value(v) < 1 ||
				    json_integer_value(v) > (json_int_t)1000000000000LL) {
					snprintf(
					    err, errlen,
					    "timeout: 'ms' must be an integer between 1 and 1e12");
					return -1;
				}
				ms = json_integer_value(v);
				have_ms = true;
			} else if (strcmp(k, "enabled") == 0) {
				if (!json_is_boolean(v)) {
					snprintf(err, errlen,
					         "timeout: 'enabled' must be a boolean");
					return -1;
				}
			} else {
				snprintf(err, errlen, "timeout: '%s' is not a timeout setting (ms)",
				         k);
				return -1;
			}
		}
	} else if (!json_is_true(config)) {
		snprintf(err, errlen, "timeout: expected a mapping such as {ms: 500}");
		return -1;
	}
	if (!have_ms) {
		snprintf(err, errlen, "timeout: 'ms' is required (e.g. timeout: {ms: 500})");
		return -1;
	}
	timeout *t = acrt__calloc(1, sizeof *t);
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->limit_ns = (int64_t)ms * 1000000;
	*state = t;
	return 0;
}

static void
to_destroy(void *state)
{
	acrt__free(state);
}

static int
to_around(void *state, acrt__cap_call *call)
{
	timeout *t = state;
	const acrt__cap_clock *clk = call->clock;
	int64_t start = clk->now(clk->arg);
	int64_t prev = call->deadline_ns;
	int64_t deadline = start + t->limit_ns;
	call->deadline_ns = deadline;
	int rc = acrt__cap_next(call);
	call->deadline_ns = prev;
	if (rc != ACRT_OK)
		return rc;
	int64_t end = clk->now(clk->arg);
	if (acrt__likely(end <= deadline))
		return ACRT_OK;
	atomic_store_explicit(&t->timeouts,
	                      atomic_load_explicit(&t->timeouts, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
	int64_t took_us = (end - start) / 1000;
	return acrt__cap_fail(call, "timeout", ACRT_ETIMEDOUT, "took %lld.%03lld ms, limit %lld ms",
	                      (long long)(took_us / 1000), (long long)(took_us % 1000),
	                      (long long)(t->limit_ns / 1000000));
}

static void
to_stats(void *state, json_t *out)
{
	timeout *t = state;
	json_object_set_new(
	    out, "timeouts",
	    json_integer((json_int_t)atomic_load_explicit(&t->timeouts, memory_order_relaxed)));
	json_object_set_new(out, "limit_ms", json_integer((json_int_t)(t->limit_ns / 1000000)));
}

const acrt__cap_class acrt__cap_timeout = {
    .name = "timeout",
    .tier = 55,
    .create = to_create,
    .destroy = to_destroy,
    .around_process = to_around,
    .stats = to_stats,
};
