/*
 * odd_fail - forwards events whose "seq" is even; fails every odd one with
 * acrt_fail(ctx, "odd %lld", seq) (ACRT_ERR: the event fails, the run goes on).
 * For each failed event it appends "SEQ EVENT_ID" to its `marker` file, so that
 * the test can match the runtime's error log lines to event ids.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <jansson.h>

#include "marker.h"

static int
odd_fail_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	const json_t *j = acrt_event_json(ev);
	const json_t *seq = j ? json_object_get(j, "seq") : NULL;
	if (!json_is_integer(seq))
		return acrt_fail(ctx, "no integer seq");
	long long n = (long long)json_integer_value(seq);
	if (n % 2 != 0) {
		marker(ctx, "%lld %llu", n, (unsigned long long)acrt_event_id(ev));
		return acrt_fail(ctx, "odd %lld", n);
	}
	return forward(ctx, ev);
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc odd_fail = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "odd_fail",
    .process = odd_fail_process,
};
