/*
 * cap_flaky - forwards events on "output" and fails the chosen ones: those
 * whose integer "seq" is a multiple of config `fail_every` (default 2). A
 * failure is acrt_fail(ctx, "flaky %lld", seq) returning ACRT_ERR, or
 * ACRT_ERETRYABLE when config `retryable` is true. Every call for a failing
 * event fails (so retries run out). For the capability-chain tests.
 */
#include <jansson.h>

#include "marker.h"

static int
cap_flaky_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	const json_t *j = acrt_event_json(ev);
	const json_t *seq = j ? json_object_get(j, "seq") : NULL;
	if (!json_is_integer(seq))
		return acrt_fail(ctx, "no integer seq");
	long long n = (long long)json_integer_value(seq);
	long long every = (long long)acrt_config_int(ctx, "fail_every", 2);
	if (every > 0 && n % every == 0) {
		marker(ctx, "%lld", n);
		int rc = acrt_fail(ctx, "flaky %lld", n);
		return acrt_config_bool(ctx, "retryable", 0) ? ACRT_ERETRYABLE : rc;
	}
	return forward(ctx, ev);
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc cap_flaky = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "cap_flaky",
    .process = cap_flaky_process,
};
