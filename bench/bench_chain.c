/*
 * bench_chain.c - cost of the capability chain and of schema validation per
 * event, measured in-process against the same call without them (the machine
 * is shared: both sides run interleaved in one process, best of several
 * rounds). Prints one JSON object on stdout.
 *
 *   chain: rate_limit (unlimited) + retry + circuit_breaker + timeout, around a
 *          trivial component call, unbatched (n = 1) and in batches of 64
 *   schema: validation of a valid 10-field object against a typical schema
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/blueprint.h"
#include "capability/chain.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/event.h"
#include "schema/schema.h"

static volatile uint64_t sink_counter;

static int
inner(acrt__cap_call *call)
{
	sink_counter += call->n;
	return ACRT_OK;
}

static int64_t
now_fn(void *arg)
{
	(void)arg;
	return acrt__fast_mono_ns(); /* the runtime's chain clock (runtime/wiring.c) */
}

static int
sleep_fn(void *arg, int64_t deadline)
{
	(void)arg;
	(void)deadline;
	return ACRT_OK;
}

/* ns per event for `iters` deliveries of n events through ch (NULL = bare). */
static double
run(acrt__chain *ch, acrt__cap_clock *clk, acrt_event **evs, size_t n, long iters)
{
	acrt__cap_call call;
	int64_t t0 = acrt__mono_ns();
	for (long i = 0; i < iters; i++) {
		call = (acrt__cap_call){
		    .ctx = NULL, .port = "input", .evs = evs, .n = n, .clock = clk, .inner = inner};
		int rc = ch != NULL ? acrt__chain_run(ch, &call) : inner(&call);
		if (rc != ACRT_OK) {
			fprintf(stderr, "bench_chain: delivery failed: %s\n", call.reason);
			exit(1);
		}
	}
	return (double)(acrt__mono_ns() - t0) / ((double)iters * (double)n);
}

static double
best_overhead(acrt__chain *ch, acrt__cap_clock *clk, acrt_event **evs, size_t n, long iters)
{
	double best = 1e9;
	for (int round = 0; round < 7; round++) {
		double bare = run(NULL, clk, evs, n, iters);
		double with = run(ch, clk, evs, n, iters);
		if (with - bare < best)
			best = with - bare;
	}
	return best < 0 ? 0 : best;
}

int
main(void)
{
	acrt__cap_clock clk = {.now = now_fn, .sleep_until = sleep_fn};
	acrt__comp_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.name = "bench";
	spec.replicas = 1;
	spec.config = json_object();
	spec.capabilities = json_pack("{s:{},s:{s:i},s:{},s:{s:i}}", "rate_limit", "retry",
	                              "max_attempts", 3, "circuit_breaker", "timeout", "ms", 1000);
	char err[512];
	acrt__chain *ch = NULL;
	if (acrt__chain_build(&spec, &clk, &ch, err, sizeof err) != 0 || ch == NULL) {
		fprintf(stderr, "bench_chain: %s\n", ch == NULL ? "no chain built" : err);
		return 1;
	}
	acrt_event *evs[64];
	for (int i = 0; i < 64; i++) {
		evs[i] = acrt__event_new_json(NULL, json_pack("{s:i}", "seq", i));
		acrt__event_seal(evs[i]);
	}
	double unbatched = best_overhead(ch, &clk, evs, 1, 200000);
	double batched = best_overhead(ch, &clk, evs, 64, 20000);

	/* Schema validation: a typical 10-field object. */
	json_t *schema = json_loads(
	    "{\"type\":\"object\",\"required\":[\"id\",\"amount\",\"currency\"],"
	    "\"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":1},"
	    "\"amount\":{\"type\":\"number\",\"minimum\":0},"
	    "\"currency\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}$\"},"
	    "\"status\":{\"enum\":[\"new\",\"paid\",\"shipped\"]},"
	    "\"customer\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
	    "\"email\":{\"type\":\"string\"},\"items\":{\"type\":\"integer\",\"maximum\":1000},"
	    "\"priority\":{\"type\":\"boolean\"},\"note\":{\"type\":[\"string\",\"null\"]},"
	    "\"created\":{\"type\":\"string\"}},\"additionalProperties\":false}",
	    0, NULL);
	json_t *inst = json_loads(
	    "{\"id\":42,\"amount\":19.99,\"currency\":\"EUR\",\"status\":\"paid\","
	    "\"customer\":\"ada\",\"email\":\"ada@example.org\",\"items\":3,\"priority\":false,"
	    "\"note\":null,\"created\":\"2026-11-24T20:00:00Z\"}",
	    0, NULL);
	acrt__schema *s = acrt__schema_compile(schema, err, sizeof err);
	if (s == NULL || inst == NULL) {
		fprintf(stderr, "bench_chain: schema: %s\n", err);
		return 1;
	}
	double schema_ns = 1e9;
	for (int round = 0; round < 5; round++) {
		long iters = 200000;
		int64_t t0 = acrt__mono_ns();
		for (long i = 0; i < iters; i++)
			if (acrt__schema_validate(s, inst, NULL) != 0) {
				fprintf(stderr, "bench_chain: the instance should be valid\n");
				return 1;
			}
		double ns = (double)(acrt__mono_ns() - t0) / (double)iters;
		if (ns < schema_ns)
			schema_ns = ns;
	}
	printf("{\"chain_overhead_ns_per_event\":%.1f,\"chain_overhead_ns_per_event_batch64\":%.2f,"
	       "\"schema_validation_ns_per_event\":%.0f}\n",
	       unbatched, batched, schema_ns);
	acrt__schema_free(s);
	json_decref(schema);
	json_decref(inst);
	for (int i = 0; i < 64; i++)
		acrt_event_unref(evs[i]);
	acrt__chain_free(ch);
	json_decref(spec.capabilities);
	json_decref(spec.config);
	return 0;
}
