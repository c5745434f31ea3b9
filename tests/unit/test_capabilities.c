/*
 * test_capabilities.c - the rate_limit, retry, circuit_breaker and timeout
 * capabilities (src/capability/{rate_limit,retry,circuit_breaker,timeout}.c),
 * run through the real chain (acrt__chain_build / acrt__chain_run) with a fake
 * clock: now() returns a variable and sleep_until() advances it, so nothing
 * really sleeps. Covers retry counts and backoff bounds, breaker transitions,
 * the rate held within 5% over a (fake) second, timeout overruns and the
 * deadline seen by the component, config errors; and prints the chain's
 * overhead per event (real clock, n = 1 and batches of 64) without asserting
 * it, as the machine is shared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/chain.h"
#include "core/common.h"

#define MS (1000000LL)

/* ---- fake clock, scripted component ------------------------------------------------------ */

typedef struct fake_clock {
	int64_t now;
	int sleep_rc;      /* what sleep_until returns (it advances the clock when ACRT_OK) */
	int n_sleeps;      /* sleep_until calls */
	int64_t slept[64]; /* the durations asked for (first 64) */
} fake_clock;

static int64_t
fake_now(void *arg)
{
	return ((fake_clock *)arg)->now;
}

static int
fake_sleep_until(void *arg, int64_t deadline)
{
	fake_clock *f = arg;
	if (f->n_sleeps < 64)
		f->slept[f->n_sleeps] = deadline - f->now;
	f->n_sleeps++;
	if (f->sleep_rc != ACRT_OK)
		return f->sleep_rc;
	if (deadline > f->now)
		f->now = deadline;
	return ACRT_OK;
}

typedef struct inner {
	const int *script; /* results of successive calls; past its end: `then` */
	int n_script;
	int then;
	int calls;
	int64_t advance_ns; /* each call moves the fake clock on by this */
	int64_t deadline_seen;
	fake_clock *clock;
} inner;

static int
inner_fn(acrt__cap_call *call)
{
	inner *in = call->inner_arg;
	in->deadline_seen = call->deadline_ns;
	if (in->clock != NULL)
		in->clock->now += in->advance_ns;
	int i = in->calls++;
	return i < in->n_script ? in->script[i] : in->then;
}

typedef struct fixture {
	acrt__comp_spec spec;
	fake_clock fc;
	acrt__cap_clock clock;
	acrt__chain *chain;
	inner in;
	acrt__cap_call call;
} fixture;

/* A chain over the capabilities in `caps_json` (a JSON object); asserts it builds. */
static fixture *
fixture_new(const char *caps_json)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	json_error_t jerr;
	f->spec.name = "comp";
	f->spec.config = json_object();
	f->spec.capabilities = json_loads(caps_json, 0, &jerr);
	assert_non_null(f->spec.capabilities);
	f->spec.replicas = 1;
	f->fc.now = 1000 * MS; /* not zero: nothing may treat 0 as special */
	f->clock =
	    (acrt__cap_clock){.now = fake_now, .sleep_until = fake_sleep_until, .arg = &f->fc};
	char err[512] = "";
	int rc = acrt__chain_build(&f->spec, &f->clock, &f->chain, err, sizeof err);
	if (rc != 0)
		fail_msg("chain_build: %s", err);
	assert_non_null(f->chain);
	f->in.then = ACRT_OK;
	f->in.clock = &f->fc;
	return f;
}

static void
fixture_free(fixture *f)
{
	acrt__chain_free(f->chain);
	json_decref(f->spec.capabilities);
	json_decref(f->spec.config);
	free(f);
}

/* One delivery of n events. */
static int
run(fixture *f, size_t n)
{
	memset(&f->call, 0, sizeof f->call);
	f->call.port = "input";
	f->call.n = n;
	f->call.clock = &f->clock;
	f->call.inner = inner_fn;
	f->call.inner_arg = &f->in;
	return acrt__chain_run(f->chain, &f->call);
}

/* stats[cap][key] as an integer (asserting it is there). */
static json_int_t
stat_int(fixture *f, const char *cap, const char *key)
{
	json_t *s = acrt__chain_stats(f->chain);
	json_t *v = json_object_get(json_object_get(s, cap), key);
	if (!json_is_integer(v))
		fail_msg("stats %s.%s missing", cap, key);
	json_int_t x = json_integer_value(v);
	json_decref(s);
	return x;
}

static const char *
stat_str(fixture *f, const char *cap, const char *key, char *buf, size_t len)
{
	json_t *s = acrt__chain_stats(f->chain);
	const char *v = json_string_value(json_object_get(json_object_get(s, cap), key));
	snprintf(buf, len, "%s", v ? v : "(none)");
	json_decref(s);
	return buf;
}

/* ---- retry -------------------------------------------------------------------------------- */

static void
test_retry_backoff_bounds(void **state)
{
	(void)state;
	fixture *f =
	    fixture_new("{\"retry\": {\"max_attempts\": 5, \"initial_delay_ms\": 10, "
	                "\"backoff_factor\": 2.0, \"max_delay_ms\": 30, \"jitter\": true}}");
	f->in.then = ACRT_ERETRYABLE;
	const int64_t d[4] = {10 * MS, 20 * MS, 30 * MS, 30 * MS}; /* capped at max_delay */
	int64_t lo[4] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}, hi[4] = {0};
	const int runs = 500;
	for (int r = 0; r < runs; r++) {
		f->in.calls = 0;
		f->fc.n_sleeps = 0;
		assert_int_equal(run(f, 1), ACRT_ERETRYABLE);
		assert_int_equal(f->in.calls, 5);
		assert_int_equal(f->call.attempts, 5);
		assert_int_equal(f->fc.n_sleeps, 4);
		assert_null(f->call.failed_by); /* the component failed, not retry */
		assert_non_null(strstr(f->call.reason, "gave up after 5 attempts"));
		for (int k = 0; k < 4; k++) {
			int64_t s = f->fc.slept[k];
			assert_in_range(s, d[k] / 2, d[k]);
			lo[k] = s < lo[k] ? s : lo[k];
			hi[k] = s > hi[k] ? s : hi[k];
		}
	}
	/* The jitter spreads over the range, not on one point. */
	for (int k = 0; k < 4; k++) {
		assert_true(lo[k] < d[k] / 2 + d[k] / 10);
		assert_true(hi[k] > d[k] - d[k] / 10);
	}
	assert_int_equal(stat_int(f, "retry", "retries"), 4 * runs);
	assert_int_equal(stat_int(f, "retry", "gave_up"), runs);
	assert_int_equal(stat_int(f, "retry", "successes_after_retry"), 0);
	fixture_free(f);
}

static void
test_retry_no_jitter_exact(void **state)
{
	(void)state;
	fixture *f =
	    fixture_new("{\"retry\": {\"max_attempts\": 6, \"initial_delay_ms\": 5, "
	                "\"backoff_factor\": 3, \"max_delay_ms\": 100, \"jitter\": false}}");
	f->in.then = ACRT_ERETRYABLE;
	assert_int_equal(run(f, 1), ACRT_ERETRYABLE);
	assert_int_equal(f->in.calls, 6);
	const int64_t want[5] = {5 * MS, 15 * MS, 45 * MS, 100 * MS, 100 * MS};
	for (int k = 0; k < 5; k++)
		assert_int_equal(f->fc.slept[k], want[k]);
	fixture_free(f);
}

static void
test_retry_defaults_and_batches(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"retry\": true}");
	f->in.then = ACRT_ERETRYABLE;
	assert_int_equal(run(f, 64), ACRT_ERETRYABLE); /* a batch is retried as a whole */
	assert_int_equal(f->in.calls, 3);
	assert_int_equal(f->fc.n_sleeps, 2);
	assert_in_range(f->fc.slept[0], 5 * MS, 10 * MS);
	assert_in_range(f->fc.slept[1], 10 * MS, 20 * MS);
	fixture_free(f);
}

static void
test_retry_only_retryable(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"retry\": {\"max_attempts\": 4}}");
	const int codes[] = {ACRT_ERR, ACRT_EFATAL, ACRT_ETIMEDOUT, ACRT_ECANCELED};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		f->in.calls = 0;
		f->fc.n_sleeps = 0;
		f->in.then = codes[i];
		assert_int_equal(run(f, 1), codes[i]);
		assert_int_equal(f->in.calls, 1);
		assert_int_equal(f->fc.n_sleeps, 0);
		assert_string_equal(f->call.reason, "");
	}
	assert_int_equal(stat_int(f, "retry", "retries"), 0);
	fixture_free(f);
}

static void
test_retry_success_after_two_failures(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"retry\": {\"max_attempts\": 5}}");
	const int script[] = {ACRT_ERETRYABLE, ACRT_ERETRYABLE, ACRT_OK};
	f->in.script = script;
	f->in.n_script = 3;
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(f->in.calls, 3);
	assert_int_equal(f->call.attempts, 3);
	assert_int_equal(f->fc.n_sleeps, 2);
	assert_string_equal(f->call.reason, "");
	assert_int_equal(stat_int(f, "retry", "retries"), 2);
	assert_int_equal(stat_int(f, "retry", "successes_after_retry"), 1);
	assert_int_equal(stat_int(f, "retry", "gave_up"), 0);
	/* A later success at the first attempt sleeps nothing. */
	f->fc.n_sleeps = 0;
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(f->fc.n_sleeps, 0);
	fixture_free(f);
}

static void
test_retry_sleep_interrupted(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"retry\": {\"max_attempts\": 5}}");
	f->in.then = ACRT_ERETRYABLE;
	f->fc.sleep_rc = ACRT_ESTOPPING; /* draining: stop retrying, return the last error */
	assert_int_equal(run(f, 1), ACRT_ERETRYABLE);
	assert_int_equal(f->in.calls, 1);
	assert_null(f->call.failed_by);
	assert_non_null(strstr(f->call.reason, "after 1 attempt"));
	f->in.calls = 0;
	f->fc.sleep_rc = ACRT_ECANCELED;
	assert_int_equal(run(f, 1), ACRT_ECANCELED);
	assert_int_equal(f->in.calls, 1);
	fixture_free(f);
}

/* ---- circuit breaker ---------------------------------------------------------------------- */

static void
test_breaker_transitions(void **state)
{
	(void)state;
	char b[32];
	fixture *f = fixture_new("{\"circuit_breaker\": {\"failure_threshold\": 3, "
	                         "\"recovery_timeout_ms\": 1000, \"success_threshold\": 2}}");
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "closed");
	/* Failures that are not consecutive do not open it. */
	f->in.then = ACRT_ERR;
	run(f, 1);
	run(f, 1);
	f->in.then = ACRT_OK;
	assert_int_equal(run(f, 1), ACRT_OK);
	f->in.then = ACRT_ERR;
	run(f, 1);
	run(f, 1);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "closed");
	/* The third consecutive failure opens it. */
	assert_int_equal(run(f, 1), ACRT_ERR);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "open");
	assert_int_equal(stat_int(f, "circuit_breaker", "state_code"), 1);
	/* Open: fail fast, the component is not called. */
	int calls = f->in.calls;
	f->in.then = ACRT_OK;
	for (int i = 0; i < 10; i++) {
		f->fc.now += 99 * MS;
		assert_int_equal(run(f, 1), ACRT_ERR);
		assert_string_equal(f->call.failed_by, "circuit_breaker");
		assert_non_null(strstr(f->call.reason, "circuit open"));
	}
	assert_int_equal(f->in.calls, calls);
	assert_int_equal(f->call.attempts, 0);
	assert_int_equal(stat_int(f, "circuit_breaker", "rejected"), 10);
	/* recovery_timeout_ms after opening: half-open, deliveries go through. */
	f->fc.now += 10 * MS;
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(f->in.calls, calls + 1);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "half_open");
	assert_int_equal(stat_int(f, "circuit_breaker", "state_code"), 2);
	/* success_threshold consecutive successes: closed. */
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "closed");
	assert_int_equal(stat_int(f, "circuit_breaker", "state_code"), 0);

	/* Open again, then a failure while half-open opens it again, timer restarted. */
	f->in.then = ACRT_ERETRYABLE; /* any non-OK result is a failure */
	for (int i = 0; i < 3; i++)
		run(f, 1);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "open");
	f->fc.now += 1000 * MS;
	f->in.then = ACRT_ERR;
	calls = f->in.calls;
	assert_int_equal(run(f, 1), ACRT_ERR); /* the trial delivery, which fails */
	assert_int_equal(f->in.calls, calls + 1);
	assert_null(f->call.failed_by);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "open");
	f->in.then = ACRT_OK;
	f->fc.now += 999 * MS;
	assert_int_equal(run(f, 1), ACRT_ERR);
	assert_string_equal(f->call.failed_by, "circuit_breaker");
	assert_int_equal(f->in.calls, calls + 1);
	f->fc.now += 1 * MS;
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_string_equal(stat_str(f, "circuit_breaker", "state", b, sizeof b), "half_open");
	assert_int_equal(stat_int(f, "circuit_breaker", "opened"), 3);
	fixture_free(f);
}

static void
test_breaker_with_retry(void **state)
{
	(void)state;
	/* Order is pinned: retry (40) wraps circuit_breaker (50). Each retried
	 * attempt is a delivery for the breaker; its fail-fast is not retried. */
	fixture *f = fixture_new("{\"circuit_breaker\": {\"failure_threshold\": 2}, "
	                         "\"retry\": {\"max_attempts\": 5}}");
	f->in.then = ACRT_ERETRYABLE;
	assert_int_equal(run(f, 1), ACRT_ERR);
	assert_int_equal(f->in.calls, 2);
	assert_string_equal(f->call.failed_by, "circuit_breaker");
	fixture_free(f);
}

/* ---- rate limit --------------------------------------------------------------------------- */

/* Events delivered in one fake second (batches of n) by a limiter in wait mode. */
static long
events_in_one_second(const char *caps, size_t n)
{
	fixture *f = fixture_new(caps);
	int64_t end = f->fc.now + 1000 * MS;
	long events = 0;
	while (f->fc.now < end) {
		assert_int_equal(run(f, n), ACRT_OK);
		if (f->fc.now <= end)
			events += (long)n;
	}
	assert_int_equal(stat_int(f, "rate_limit", "rejected"), 0);
	assert_true(stat_int(f, "rate_limit", "waited") > 0);
	assert_true(stat_int(f, "rate_limit", "waited_ns") > 900 * MS);
	fixture_free(f);
	return events;
}

static void
test_rate_limit_wait_holds_rate(void **state)
{
	(void)state;
	long e = events_in_one_second("{\"rate_limit\": {\"rate\": 5000, \"burst\": 50}}", 1);
	print_message("rate_limit wait, rate 5000/s burst 50, n=1: %ld events in 1 s\n", e);
	assert_in_range(e, 4750, 5250);
	e = events_in_one_second("{\"rate_limit\": {\"rate\": 5000, \"burst\": 50}}", 64);
	print_message("rate_limit wait, rate 5000/s burst 50, n=64: %ld events in 1 s\n", e);
	assert_in_range(e, 4750, 5250); /* batches above the burst still pass, at the rate */
	e = events_in_one_second("{\"rate_limit\": {\"rate\": 100, \"mode\": \"wait\"}}", 1);
	assert_in_range(e, 95, 205); /* default burst = rate: 100 at once, then 100/s */
}

static void
test_rate_limit_reject_beyond_burst(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"rate_limit\": {\"rate\": 100, \"burst\": 10, \"mode\": "
	                         "\"reject\"}}");
	for (int i = 0; i < 10; i++)
		assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(run(f, 1), ACRT_ERR);
	assert_string_equal(f->call.failed_by, "rate_limit");
	assert_non_null(strstr(f->call.reason, "rate limit exceeded"));
	assert_int_equal(f->in.calls, 10); /* the component was not called */
	assert_int_equal(f->fc.n_sleeps, 0);
	/* 10 ms refill one token. */
	f->fc.now += 10 * MS;
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(run(f, 1), ACRT_ERR);
	/* A batch needs all its tokens at once. */
	f->fc.now += 50 * MS;
	assert_int_equal(run(f, 6), ACRT_ERR);
	assert_int_equal(run(f, 5), ACRT_OK);
	/* Offered 1000/s for one second: about rate (+ what the bucket held) pass. */
	f->fc.now += 1000 * MS; /* refill to the burst */
	long passed = 0;
	for (int i = 0; i < 1000; i++) {
		f->fc.now += 1 * MS;
		passed += run(f, 1) == ACRT_OK;
	}
	assert_in_range(passed, 105, 115);
	assert_int_equal(stat_int(f, "rate_limit", "passed"), 10 + 1 + 5 + passed);
	assert_int_equal(stat_int(f, "rate_limit", "rejected"), 1 + 1 + 6 + (1000 - passed));
	fixture_free(f);
}

static void
test_rate_limit_wait_interrupted(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"rate_limit\": {\"rate\": 10, \"burst\": 1}}");
	assert_int_equal(run(f, 1), ACRT_OK);
	f->fc.sleep_rc = ACRT_ESTOPPING; /* draining: the delivery goes through */
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(f->in.calls, 2);
	f->fc.sleep_rc = ACRT_ECANCELED;
	assert_int_equal(run(f, 1), ACRT_ECANCELED);
	assert_int_equal(f->in.calls, 2);
	fixture_free(f);
}

static void
test_rate_limit_unlimited(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"rate_limit\": {\"rate\": 0}}");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(run(f, 64), ACRT_OK);
	assert_int_equal(f->fc.n_sleeps, 0);
	assert_int_equal(stat_int(f, "rate_limit", "passed"), 64000);
	fixture_free(f);
}

/* ---- timeout ------------------------------------------------------------------------------ */

static void
test_timeout(void **state)
{
	(void)state;
	fixture *f = fixture_new("{\"timeout\": {\"ms\": 50}}");
	int64_t start = f->fc.now;
	f->in.advance_ns = 50 * MS; /* exactly at the deadline: fine */
	assert_int_equal(run(f, 1), ACRT_OK);
	assert_int_equal(f->in.deadline_seen, start + 50 * MS);
	assert_int_equal(f->call.deadline_ns, 0); /* restored */
	start = f->fc.now;
	f->in.advance_ns = 60 * MS;
	assert_int_equal(run(f, 1), ACRT_ETIMEDOUT);
	assert_int_equal(f->in.deadline_seen, start + 50 * MS);
	assert_string_equal(f->call.failed_by, "timeout");
	assert_string_equal(f->call.reason, "took 60.000 ms, limit 50 ms");
	assert_int_equal(stat_int(f, "timeout", "timeouts"), 1);
	/* The component's own error stands as it is. */
	f->in.then = ACRT_ERR;
	assert_int_equal(run(f, 1), ACRT_ERR);
	assert_null(f->call.failed_by);
	assert_int_equal(stat_int(f, "timeout", "timeouts"), 1);
	fixture_free(f);
}

static void
test_timeout_not_retried(void **state)
{
	(void)state;
	/* retry (40) wraps timeout (55): every attempt gets its own deadline; an
	 * overrun is not retryable. */
	fixture *f = fixture_new("{\"timeout\": {\"ms\": 10}, \"retry\": {\"max_attempts\": 3}}");
	const int script[] = {ACRT_ERETRYABLE};
	f->in.script = script;
	f->in.n_script = 1;
	f->in.advance_ns = 11 * MS;
	assert_int_equal(run(f, 1), ACRT_ETIMEDOUT);
	assert_int_equal(f->in.calls, 2);
	assert_int_equal(f->in.deadline_seen, f->fc.now - 11 * MS + 10 * MS);
	fixture_free(f);
}

/* ---- config errors ------------------------------------------------------------------------ */

static void
test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *caps, *want;
	} cases[] = {
	    {"{\"rate_limit\": {\"rate\": -1}}", "rate_limit: 'rate'"},
	    {"{\"rate_limit\": {\"rate\": \"fast\"}}", "rate_limit: 'rate'"},
	    {"{\"rate_limit\": {\"burst\": 0}}", "rate_limit: 'burst'"},
	    {"{\"rate_limit\": {\"mode\": \"drop\"}}", "rate_limit: 'mode'"},
	    {"{\"rate_limit\": {\"rat\": 5}}", "rate_limit: 'rat'"},
	    {"{\"rate_limit\": 5}", "rate_limit: expected"},
	    {"{\"retry\": {\"max_attempts\": 0}}", "retry: 'max_attempts'"},
	    {"{\"retry\": {\"max_attempts\": 2.5}}", "retry: 'max_attempts'"},
	    {"{\"retry\": {\"initial_delay_ms\": -1}}", "retry: 'initial_delay_ms'"},
	    {"{\"retry\": {\"backoff_factor\": 0.5}}", "retry: 'backoff_factor'"},
	    {"{\"retry\": {\"max_delay_ms\": \"1s\"}}", "retry: 'max_delay_ms'"},
	    {"{\"retry\": {\"jitter\": 1}}", "retry: 'jitter'"},
	    {"{\"retry\": {\"attempts\": 3}}", "retry: 'attempts'"},
	    {"{\"circuit_breaker\": {\"failure_threshold\": 0}}",
	     "circuit_breaker: 'failure_threshold'"},
	    {"{\"circuit_breaker\": {\"recovery_timeout_ms\": -5}}",
	     "circuit_breaker: 'recovery_timeout_ms'"},
	    {"{\"circuit_breaker\": {\"success_threshold\": \"3\"}}",
	     "circuit_breaker: 'success_threshold'"},
	    {"{\"circuit_breaker\": {\"threshold\": 3}}", "circuit_breaker: 'threshold'"},
	    {"{\"timeout\": {}}", "timeout: 'ms' is required"},
	    {"{\"timeout\": true}", "timeout: 'ms' is required"},
	    {"{\"timeout\": {\"ms\": 0}}", "timeout: 'ms'"},
	    {"{\"timeout\": {\"ms\": 1.5}}", "timeout: 'ms'"},
	    {"{\"timeout\": {\"ms\": 5, \"seconds\": 1}}", "timeout: 'seconds'"},
	    {"{\"timeout\": \"500ms\"}", "timeout: expected"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		acrt__comp_spec spec = {.name = "comp", .config = json_object(), .replicas = 1};
		spec.capabilities = json_loads(cases[i].caps, 0, NULL);
		assert_non_null(spec.capabilities);
		acrt__cap_clock clk = {
		    .now = fake_now, .sleep_until = fake_sleep_until, .arg = &(fake_clock){0}};
		acrt__chain *ch = (acrt__chain *)&spec; /* must be reset to NULL */
		char err[512] = "";
		assert_int_equal(acrt__chain_build(&spec, &clk, &ch, err, sizeof err), -1);
		assert_null(ch);
		if (strstr(err, cases[i].want) == NULL || strchr(err, '\n') != NULL)
			fail_msg("%s: got \"%s\", want \"%s...\"", cases[i].caps, err,
			         cases[i].want);
		json_decref(spec.capabilities);
		json_decref(spec.config);
	}
	/* Valid: every key, `true`, and disabled entries. */
	fixture *f = fixture_new(
	    "{\"rate_limit\": {\"rate\": 5000, \"burst\": 500, \"mode\": \"reject\"}, "
	    "\"retry\": {\"max_attempts\": 3, \"initial_delay_ms\": 10, \"backoff_factor\": 2.0, "
	    "\"max_delay_ms\": 1000, \"jitter\": true}, \"circuit_breaker\": true, "
	    "\"timeout\": {\"ms\": 500, \"enabled\": true}}");
	assert_int_equal(run(f, 1), ACRT_OK);
	fixture_free(f);
}

/* ---- overhead ----------------------------------------------------------------------------- */

static int64_t
real_now(void *arg)
{
	(void)arg;
	return acrt__mono_ns();
}

static int
real_sleep_until(void *arg, int64_t deadline)
{
	(void)arg;
	(void)deadline;
	return ACRT_OK;
}

static volatile uint64_t sink;

__attribute__((noinline)) static int
trivial_inner(acrt__cap_call *call)
{
	sink += call->n;
	return ACRT_OK;
}

/* Best-of-5 ns per delivery: the bare call (chain NULL) or through the chain. */
static double
ns_per_delivery(acrt__chain *ch, acrt__cap_clock *clk, size_t n, long iters)
{
	double best = 1e30;
	for (int rep = 0; rep < 5; rep++) {
		acrt__cap_call call = {
		    .port = "input", .n = n, .clock = clk, .inner = trivial_inner};
		int64_t t0 = acrt__mono_ns();
		for (long i = 0; i < iters; i++) {
			int rc = ch != NULL ? acrt__chain_run(ch, &call) : call.inner(&call);
			if (acrt__unlikely(rc != ACRT_OK))
				fail_msg("delivery failed: %d", rc);
		}
		double ns = (double)(acrt__mono_ns() - t0) / (double)iters;
		best = ns < best ? ns : best;
	}
	return best;
}

static void
test_overhead(void **state)
{
	(void)state;
	acrt__comp_spec spec = {.name = "comp", .config = json_object(), .replicas = 1};
	spec.capabilities = json_loads("{\"rate_limit\": {\"rate\": 0}, \"retry\": {}, "
	                               "\"circuit_breaker\": {}, \"timeout\": {\"ms\": 60000}}",
	                               0, NULL);
	acrt__cap_clock clk = {.now = real_now, .sleep_until = real_sleep_until};
	acrt__chain *ch = NULL;
	char err[512];
	assert_int_equal(acrt__chain_build(&spec, &clk, &ch, err, sizeof err), 0);
	assert_non_null(ch);
	const long iters = 2000000;
	for (size_t n = 1; n <= 64; n += 63) {
		long it = n == 1 ? iters : iters / 16;
		double bare = ns_per_delivery(NULL, &clk, n, it);
		double with = ns_per_delivery(ch, &clk, n, it);
		print_message(
		    "capability chain rate_limit(unlimited)+retry+circuit_breaker+timeout, "
		    "n=%zu: %.2f ns/event on top of the bare call (bare %.2f, chain %.2f "
		    "ns/delivery)\n",
		    n, (with - bare) / (double)n, bare, with);
	}
	acrt__chain_free(ch);
	json_decref(spec.capabilities);
	/* For scale: the same chain without timeout, and one read of the clock. */
	spec.capabilities = json_loads("{\"rate_limit\": {\"rate\": 0}, \"retry\": {}, "
	                               "\"circuit_breaker\": {}}",
	                               0, NULL);
	assert_int_equal(acrt__chain_build(&spec, &clk, &ch, err, sizeof err), 0);
	double bare = ns_per_delivery(NULL, &clk, 1, iters);
	double with = ns_per_delivery(ch, &clk, 1, iters);
	int64_t t0 = acrt__mono_ns();
	uint64_t acc = 0;
	for (long i = 0; i < iters; i++)
		acc += (uint64_t)real_now(NULL);
	sink += acc;
	print_message("  (without timeout, n=1: %.2f ns/event; one clock read: %.2f ns)\n",
	              with - bare, (double)(acrt__mono_ns() - t0) / (double)iters);
	acrt__chain_free(ch);
	json_decref(spec.capabilities);
	json_decref(spec.config);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_backoff_bounds),
	    cmocka_unit_test(test_retry_no_jitter_exact),
	    cmocka_unit_test(test_retry_defaults_and_batches),
	    cmocka_unit_test(test_retry_only_retryable),
	    cmocka_unit_test(test_retry_success_after_two_failures),
	    cmocka_unit_test(test_retry_sleep_interrupted),
	    cmocka_unit_test(test_breaker_transitions),
	    cmocka_unit_test(test_breaker_with_retry),
	    cmocka_unit_test(test_rate_limit_wait_holds_rate),
	    cmocka_unit_test(test_rate_limit_reject_beyond_burst),
	    cmocka_unit_test(test_rate_limit_wait_interrupted),
	    cmocka_unit_test(test_rate_limit_unlimited),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_timeout_not_retried),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_overhead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
