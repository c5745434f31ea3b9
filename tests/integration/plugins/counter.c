/*
 * counter - a stateful test component: counts the events it processes in its
 * managed state (key "n", 8 bytes) and, when its input ends, emits
 * {"count": n, "label": <config label>, "setups": s}, where s counts its
 * setups (also kept in managed state). A reload that changes `label` must
 * hand the count over: the final count is every event exactly once. With
 * `fail_setup: true` its setup fails (a reload must then roll back).
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "acrt/acrt.h"

/* Built again by test_reload.sh with -DCOUNTER_BUILD='"v2"' to test that a
 * reload loads a changed plugin file. */
#ifndef COUNTER_BUILD
#define COUNTER_BUILD "v1"
#endif

static uint64_t
get_u64(acrt_ctx *ctx, const char *key)
{
	const void *v;
	size_t n;
	uint64_t x = 0;
	if (acrt_state_get(ctx, key, strlen(key), &v, &n) == ACRT_OK && n == sizeof x)
		memcpy(&x, v, sizeof x);
	return x;
}

static int
put_u64(acrt_ctx *ctx, const char *key, uint64_t x)
{
	return acrt_state_put(ctx, key, strlen(key), &x, sizeof x);
}

static int
counter_setup(acrt_ctx *ctx, void **self)
{
	*self = NULL;
	if (acrt_config_bool(ctx, "fail_setup", 0))
		return acrt_fail(ctx, "deliberate setup failure (fail_setup: true)");
	return put_u64(ctx, "setups", get_u64(ctx, "setups") + 1);
}

static int
counter_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	(void)ev;
	return put_u64(ctx, "n", get_u64(ctx, "n") + 1);
}

static int
counter_finish(acrt_ctx *ctx, void *self)
{
	(void)self;
	json_t *o = json_pack("{s:I,s:s,s:I}", "count", (json_int_t)get_u64(ctx, "n"), "label",
	                      acrt_config_string(ctx, "label", ""), "setups",
	                      (json_int_t)get_u64(ctx, "setups"));
	if (strcmp(COUNTER_BUILD, "v1") != 0)
		json_object_set_new(o, "build", json_string(COUNTER_BUILD));
	return acrt_emit(ctx, "output", acrt_event_new_json(ctx, o));
}

ACRT_API const acrt_component_desc counter = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "counter",
    .setup = counter_setup,
    .process = counter_process,
    .finish = counter_finish,
};
