/*
 * bench_native.c - native components for the throughput and memory benchmarks
 * (bench/run.sh). Built against include/acrt/acrt.h only, like a third-party
 * plugin, into build/bench/libbench_native.so. Four descriptors:
 *
 *   bench_source     run(): emits config `count` events (count < 0: until a
 *                    graceful stop), each an 8-byte payload holding the sequence
 *                    number 0, 1, 2, ... (native byte order).
 *   bench_transform  process(): reads the 8-byte value and emits a new event
 *                    holding it doubled.
 *   bench_sink       process(): counts and sums the values. Config `delay_ns`
 *                    (default 0) sleeps that long per event through the context
 *                    (the slow sink of the memory benchmark). At cleanup it checks
 *                    the count against `expect` and the sum against `expect_sum`
 *                    (each when >= 0) and logs an error on mismatch; with
 *                    `result_file` set it writes one line there:
 *                      count=C sum=S first_ns=F last_ns=L ok=0|1
 *                    so that the bench runner can verify the run independently of
 *                    the log output.
 *
 * Every callback runs on its instance's own thread (cleanup on the harness
 * thread), so the instance state needs no locking.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acrt/acrt.h"

#define BENCH_STOP_CHECK_MASK 1023u /* look at acrt_stopping() every 1024 events */

typedef struct bench_src {
	int64_t count; /* < 0: unbounded */
} bench_src;

typedef struct bench_snk {
	uint64_t count;
	uint64_t sum;
	int64_t first_ns;
	int64_t last_ns;
	int64_t delay_ns;
	int64_t expect;
	int64_t expect_sum;
	int sleeping; /* cleared once a graceful stop is seen: drain at full speed */
	char *result_file;
} bench_snk;

/* ---- source ---------------------------------------------------------------- */

static int
src_setup(acrt_ctx *ctx, void **self)
{
	bench_src *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return ACRT_ENOMEM;
	s->count = acrt_config_int(ctx, "count", 1000000);
	*self = s;
	return ACRT_OK;
}

static int
src_run(acrt_ctx *ctx, void *self)
{
	const bench_src *s = self;

	for (uint64_t i = 0; s->count < 0 || i < (uint64_t)s->count; i++) {
		if ((i & BENCH_STOP_CHECK_MASK) == 0 && acrt_stopping(ctx))
			break;
		acrt_event *ev = acrt_event_new(ctx, &i, sizeof(i), NULL);
		if (ev == NULL)
			return ACRT_ENOMEM;
		int rc = acrt_emit(ctx, "output", ev);
		if (rc == ACRT_ESTOPPING)
			break;
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

static void
src_cleanup(acrt_ctx *ctx, void *self)
{
	free(self);
}

static const acrt_prop src_props[] = {
    {"count", ACRT_PROP_INT, 0, 0, 0, NULL, "events to emit; negative: until stopped"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

ACRT_API const acrt_component_desc bench_source = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "bench_source",
    .props = src_props,
    .setup = src_setup,
    .run = src_run,
    .cleanup = src_cleanup,
};

/* ---- transform -------------------------------------------------------------- */

static int
xf_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	size_t len = 0;
	const void *p = acrt_event_data(ev, &len);
	uint64_t v;

	if (p == NULL || len != sizeof(v))
		return acrt_fail(ctx, "bench_transform: payload of %zu bytes, want 8", len);
	memcpy(&v, p, sizeof(v));
	v *= 2;
	acrt_event *out = acrt_event_new(ctx, &v, sizeof(v), NULL);
	if (out == NULL)
		return ACRT_ENOMEM;
	return acrt_emit(ctx, "output", out);
}

ACRT_API const acrt_component_desc bench_transform = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "bench_transform",
    .props = NULL,
    .process = xf_process,
};

/* ---- sink ------------------------------------------------------------------- */

static int
snk_setup(acrt_ctx *ctx, void **self)
{
	bench_snk *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return ACRT_ENOMEM;
	s->delay_ns = acrt_config_int(ctx, "delay_ns", 0);
	s->expect = acrt_config_int(ctx, "expect", -1);
	s->expect_sum = acrt_config_int(ctx, "expect_sum", -1);
	s->sleeping = s->delay_ns > 0;
	const char *rf = acrt_config_string(ctx, "result_file", NULL);
	if (rf != NULL && (s->result_file = strdup(rf)) == NULL) {
		free(s);
		return ACRT_ENOMEM;
	}
	*self = s;
	return ACRT_OK;
}

static int
snk_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	bench_snk *s = self;
	size_t len = 0;
	const void *p = acrt_event_data(ev, &len);
	uint64_t v;

	if (p == NULL || len != sizeof(v))
		return acrt_fail(ctx, "bench_sink: payload of %zu bytes, want 8", len);
	memcpy(&v, p, sizeof(v));
	if (s->count == 0)
		s->first_ns = acrt_now_ns(ctx);
	s->count++;
	s->sum += v;
	if (s->sleeping) {
		int rc = acrt_sleep_until(ctx, acrt_now_ns(ctx) + s->delay_ns);
		if (rc == ACRT_ESTOPPING || rc == ACRT_ECANCELED)
			s->sleeping = 0;
	}
	return ACRT_OK;
}

static void
snk_cleanup(acrt_ctx *ctx, void *self)
{
	bench_snk *s = self;
	int ok = 1;

	s->last_ns = acrt_now_ns(ctx);
	if (s->expect >= 0 && s->count != (uint64_t)s->expect) {
		acrt_log(ctx, ACRT_LOG_ERROR,
		         "bench_sink: FAIL: got %" PRIu64 " events, expected %" PRId64, s->count,
		         s->expect);
		ok = 0;
	}
	if (s->expect_sum >= 0 && s->sum != (uint64_t)s->expect_sum) {
		acrt_log(ctx, ACRT_LOG_ERROR,
		         "bench_sink: FAIL: sum %" PRIu64 ", expected %" PRId64, s->sum,
		         s->expect_sum);
		ok = 0;
	}
	if (s->result_file != NULL) {
		FILE *f = fopen(s->result_file, "w");
		if (f == NULL) {
			acrt_log(ctx, ACRT_LOG_ERROR, "bench_sink: cannot write %s",
			         s->result_file);
		} else {
			fprintf(f,
			        "count=%" PRIu64 " sum=%" PRIu64 " first_ns=%" PRId64
			        " last_ns=%" PRId64 " ok=%d\n",
			        s->count, s->sum, s->first_ns, s->last_ns, ok);
			fclose(f);
		}
	}
	free(s->result_file);
	free(s);
}

static const acrt_prop snk_props[] = {
    {"expect", ACRT_PROP_INT, 0, 0, 0, NULL, "expected event count; negative: no check"},
    {"expect_sum", ACRT_PROP_INT, 0, 0, 0, NULL, "expected sum of values; negative: no check"},
    {"delay_ns", ACRT_PROP_INT, 0, 0, 0, NULL, "sleep this long per event (slow sink)"},
    {"result_file", ACRT_PROP_STRING, 0, 0, 0, NULL, "write count/sum/ok here at cleanup"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

ACRT_API const acrt_component_desc bench_sink = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "bench_sink",
    .props = snk_props,
    .setup = snk_setup,
    .process = snk_process,
    .cleanup = snk_cleanup,
};
