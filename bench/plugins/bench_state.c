/*
 * bench_state.c - the stateful component of the checkpoint benchmark (issue 6,
 * bench/README.md: the state_* rows). Built against include/acrt/acrt.h only
 * into build/bench/libbench_state.so. One descriptor:
 *
 *   bench_stateful  process(): takes the 8-byte value v of a bench_source
 *                   event, puts key v % `keys` (8 bytes) -> v (8 bytes) into
 *                   managed state (acrt_state_put) and forwards the event
 *                   unchanged. setup() pre-fills `keys` keys (k -> k) when the
 *                   state is empty, so the state holds `keys` keys for the
 *                   whole measured run; on `acrt run --resume` the restored
 *                   state is kept as it is.
 *
 * Config: `keys` (default 1000000, at least 1); every value has the same size,
 * so each put after the pre-fill overwrites in place. `expect` (default -1)
 * and `result_file`: the time of the first event and the time the
 * `expect`-th event has been processed, chained components below included
 * (acrt_emit returns after they ran), are written at cleanup as
 *   count=C first_ns=F last_ns=L cpu_ns=T keys=K
 * so that the runner can measure the rate of the run itself: bench_sink's
 * span ends at its cleanup, after the last checkpoint taken at exit. T is the
 * CPU time this thread used over the same span (CLOCK_THREAD_CPUTIME_ID):
 * with chaining on, the whole pipeline's, barriers included, without the
 * time other processes of a shared machine took the core away.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acrt/acrt.h"

typedef struct bench_st {
	uint64_t keys;
	uint64_t count;
	int64_t expect;
	int64_t first_ns, last_ns;
	int64_t first_cpu_ns, last_cpu_ns;
	char *result_file;
} bench_st;

static int64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
st_setup(acrt_ctx *ctx, void **self)
{
	int64_t keys = acrt_config_int(ctx, "keys", 1000000);

	if (keys < 1)
		return acrt_fail(ctx, "bench_stateful: keys must be at least 1");
	bench_st *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ACRT_ENOMEM;
	s->keys = (uint64_t)keys;
	s->expect = acrt_config_int(ctx, "expect", -1);
	const char *rf = acrt_config_string(ctx, "result_file", NULL);
	if (rf != NULL && (s->result_file = strdup(rf)) == NULL) {
		free(s);
		return ACRT_ENOMEM;
	}
	if (acrt_state_count(ctx) == 0) {
		for (uint64_t k = 0; k < s->keys; k++) {
			int rc = acrt_state_put(ctx, &k, sizeof(k), &k, sizeof(k));
			if (rc != ACRT_OK) {
				free(s->result_file);
				free(s);
				return rc;
			}
		}
	}
	*self = s;
	return ACRT_OK;
}

static int
st_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	bench_st *s = self;
	size_t len = 0;
	const void *p = acrt_event_data(ev, &len);
	uint64_t v, k;

	if (p == NULL || len != sizeof(v))
		return acrt_fail(ctx, "bench_stateful: payload of %zu bytes, want 8", len);
	memcpy(&v, p, sizeof(v));
	k = v % s->keys;
	int rc = acrt_state_put(ctx, &k, sizeof(k), &v, sizeof(v));
	if (rc != ACRT_OK) { /* the state would be wrong from here on: stop */
		acrt_fail(ctx, "bench_stateful: acrt_state_put: %s", acrt_strerror(rc));
		return ACRT_EFATAL;
	}
	if (s->count++ == 0) {
		s->first_ns = acrt_now_ns(ctx);
		s->first_cpu_ns = thread_cpu_ns();
	}
	rc = acrt_emit(ctx, "output", acrt_event_ref(ev));
	if ((int64_t)s->count == s->expect) {
		s->last_ns = acrt_now_ns(ctx);
		s->last_cpu_ns = thread_cpu_ns();
	}
	return rc;
}

static void
st_cleanup(acrt_ctx *ctx, void *self)
{
	bench_st *s = self;

	if (s->result_file != NULL) {
		FILE *f = fopen(s->result_file, "w");
		if (f == NULL) {
			acrt_log(ctx, ACRT_LOG_ERROR, "bench_stateful: cannot write %s",
			         s->result_file);
		} else {
			fprintf(f,
			        "count=%" PRIu64 " first_ns=%" PRId64 " last_ns=%" PRId64
			        " cpu_ns=%" PRId64 " keys=%zu\n",
			        s->count, s->first_ns, s->last_ns, s->last_cpu_ns - s->first_cpu_ns,
			        acrt_state_count(ctx));
			fclose(f);
		}
	}
	free(s->result_file);
	free(s);
}

static const acrt_prop st_props[] = {
    {"keys", ACRT_PROP_INT, 0, 0, 0, NULL, "distinct keys in managed state (default 1000000)"},
    {"expect", ACRT_PROP_INT, 0, 0, 0, NULL, "events of the run: the span ends at the last"},
    {"result_file", ACRT_PROP_STRING, 0, 0, 0, NULL, "write count and span here at cleanup"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

ACRT_API const acrt_component_desc bench_stateful = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "bench_stateful",
    .props = st_props,
    .setup = st_setup,
    .process = st_process,
    .cleanup = st_cleanup,
};
