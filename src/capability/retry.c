/*
 * retry.c - the retry capability: calls the rest of the chain again when it
 * fails with ACRT_ERETRYABLE (SPEC section 1, `retry: {max_attempts,
 * initial_delay_ms, backoff_factor, max_delay_ms, jitter}`).
 *
 * around_process calls acrt__cap_next() up to max_attempts times. Only
 * ACRT_ERETRYABLE is retried; any other result (success, ACRT_ERR, a fail-fast
 * from the circuit breaker, a timeout) is returned at once. Before attempt
 * k+1 it sleeps (call->clock->sleep_until, cancellable)
 *
 *   d = min(max_delay_ms, initial_delay_ms * backoff_factor^(k-1))
 *
 * or, with jitter ("equal jitter"), a uniform time in [d/2, d]. A batch is
 * retried as a whole. When the attempts run out the last error is returned
 * with call->reason saying so; failed_by stays NULL (the component failed,
 * not retry). The success path reads no clock and allocates nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/caps.h"
#include "core/common.h"

typedef struct retry {
	int max_attempts;
	double initial_ns, factor, max_ns;
	bool jitter;
	uint64_t rng; /* xorshift64* state, instance thread only */
	/* Counters for stats(), written by the instance's thread only. */
	atomic_uint_fast64_t retries;               /* re-attempts made */
	atomic_uint_fast64_t gave_up;               /* deliveries failed after retrying */
	atomic_uint_fast64_t successes_after_retry; /* deliveries that needed > 1 attempt */
} retry;

static int
cfg_error(char *err, size_t errlen, const char *key, const char *what)
{
	return acrt__cap_cfg_error(err, errlen, "retry", key, what);
}

/* A number >= lo (and an integer when `integer`) into *out, else -1 with err. */
static int
cfg_number(const char *k, const json_t *v, double lo, bool integer, double *out, char *err,
           size_t errlen)
{
	if (integer ? !json_is_integer(v) : !json_is_number(v))
		return cfg_error(err, errlen, k,
		                 integer ? "must be an integer" : "must be a number");
	double x = json_number_value(v);
	if (!(x >= lo) || !isfinite(x)) {
		char what[64];
		snprintf(what, sizeof what, "must be >= %g", lo);
		return cfg_error(err, errlen, k, what);
	}
	*out = x;
	return 0;
}

static int
retry_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err,
             size_t errlen)
{
	(void)comp;
	double max_attempts = 3, initial = 10, factor = 2.0, max_delay = 1000;
	bool jitter = true;
	if (json_is_object(config)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)config, k, v)
		{
			int rc = 0;
			if (strcmp(k, "max_attempts") == 0)
				rc = cfg_number(k, v, 1, true, &max_attempts, err, errlen);
			else if (strcmp(k, "initial_delay_ms") == 0)
				rc = cfg_number(k, v, 0, false, &initial, err, errlen);
			else if (strcmp(k, "backoff_factor") == 0)
				rc = cfg_number(k, v, 1, false, &factor, err, errlen);
			else if (strcmp(k, "max_delay_ms") == 0)
				rc = cfg_number(k, v, 0, false, &max_delay, err, errlen);
			else if (strcmp(k, "jitter") == 0 || strcmp(k, "enabled") == 0) {
				if (!json_is_boolean(v))
					return cfg_error(err, errlen, k, "must be a boolean");
				if (k[0] == 'j')
					jitter = json_is_true(v);
			} else
				return cfg_error(err, errlen, k,
				                 "is not a retry setting (max_attempts, "
				                 "initial_delay_ms, backoff_factor, max_delay_ms, "
				                 "jitter)");
			if (rc != 0)
				return rc;
		}
		if (max_attempts > 1000000)
			return cfg_error(err, errlen, "max_attempts", "must be <= 1000000");
	} else if (!json_is_true(config)) {
		snprintf(err, errlen, "retry: expected a mapping or true");
		return -1;
	}
	retry *r = acrt__calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->max_attempts = (int)max_attempts;
	r->initial_ns = initial * 1e6;
	r->factor = factor;
	r->max_ns = max_delay * 1e6;
	r->jitter = jitter;
	/* Seed: splitmix64 of the state's address (any nonzero value will do). */
	uint64_t z = (uint64_t)(uintptr_t)r + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	r->rng = (z ^ (z >> 31)) | 1;
	*state = r;
	return 0;
}

static void
retry_destroy(void *state)
{
	acrt__free(state);
}

/* Uniform in [0, 1]. */
static double
uniform(retry *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	uint64_t x = r->rng * 0x2545f4914f6cdd1dULL;
	return (double)(x >> 11) / (double)((1ULL << 53) - 1);
}

/* The delay in ns before attempt k+1 (k >= 1 attempts made). */
static int64_t
delay_ns(retry *r, int k)
{
	double d = r->initial_ns;
	for (int i = 1; i < k && d < r->max_ns; i++)
		d *= r->factor;
	if (d > r->max_ns)
		d = r->max_ns;
	if (r->jitter)
		d = d / 2 + uniform(r) * (d / 2);
	return (int64_t)d;
}

/* call->reason becomes "<what> after <k> attempt(s)[: <previous reason>]". */
static int
give_up(retry *r, acrt__cap_call *call, int rc, const char *what, int k)
{
	char prev[sizeof call->reason];
	memcpy(prev, call->reason, sizeof prev);
	acrt__cap_count(&r->gave_up, 1);
	return acrt__cap_fail(call, call->failed_by, rc, "%s after %d attempt%s%s%s", what, k,
	                      k == 1 ? "" : "s", prev[0] != '\0' ? ": " : "", prev);
}

static int
retry_around(void *state, acrt__cap_call *call)
{
	retry *r = state;
	int rc = acrt__cap_next(call);
	if (acrt__likely(rc != ACRT_ERETRYABLE))
		return rc;
	const acrt__cap_clock *clk = call->clock;
	int k = 1;
	for (; k < r->max_attempts; k++) {
		int64_t d = delay_ns(r, k);
		if (d > 0) {
			int s = clk->sleep_until(clk->arg, clk->now(clk->arg) + d);
			if (s == ACRT_ECANCELED)
				return s;
			if (s == ACRT_ESTOPPING)
				return give_up(r, call, rc, "retry stopped by shutdown", k);
		}
		acrt__cap_count(&r->retries, 1);
		call->failed_by = NULL;
		call->reason[0] = '\0';
		rc = acrt__cap_next(call);
		if (rc == ACRT_OK) {
			acrt__cap_count(&r->successes_after_retry, 1);
			return rc;
		}
		if (rc != ACRT_ERETRYABLE)
			return rc;
	}
	if (r->max_attempts == 1)
		return rc; /* retrying is off: the component's error as it is */
	return give_up(r, call, rc, "gave up", k);
}

static void
retry_stats(void *state, json_t *out)
{
	retry *r = state;
	json_object_set_new(
	    out, "retries",
	    json_integer((json_int_t)atomic_load_explicit(&r->retries, memory_order_relaxed)));
	json_object_set_new(
	    out, "gave_up",
	    json_integer((json_int_t)atomic_load_explicit(&r->gave_up, memory_order_relaxed)));
	json_object_set_new(out, "successes_after_retry",
	                    json_integer((json_int_t)atomic_load_explicit(&r->successes_after_retry,
	                                                                  memory_order_relaxed)));
}

const acrt__cap_class acrt__cap_retry = {
    .name = "retry",
    .tier = 40,
    .create = retry_create,
    .destroy = retry_destroy,
    .around_process = retry_around,
    .stats = retry_stats,
};
