/*
 * filter.c - the built-in Filter: keeps the events whose `where:` condition
 * (a jq program; the truthiness of its first output, false and null being
 * false) holds, on port `output`; the others go to port `rejected`, where they
 * are dropped unless it is bound. An event on which the program fails goes to
 * port `error` (dropped when unbound) and is reported as failed (logged,
 * counted; counter `jq_errors`). Events are forwarded unchanged (no copy):
 * the condition reads the event's text (cond.h), natively for the common
 * shapes (`.status >= 500`), and never alters it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "components/builtins.h"
#include "components/cond.h"
#include "components/jq.h"
#include "core/event.h"

static const acrt_prop filter_props[] = {
    {"where", ACRT_PROP_STRING, 1, 0, 0, NULL, "jq condition: events for which it holds pass"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__filter_check(const json_t *config, const char **key, char *msg, size_t len)
{
	const char *prog = json_string_value(json_object_get(config, "where"));
	if (prog != NULL && acrt__jq_check(prog, msg, len) < 0) {
		*key = "where";
		return -1;
	}
	return 0;
}

static int
filter_setup(acrt_ctx *ctx, void **self)
{
	char err[512];
	acrt__cond *c =
	    acrt__cond_compile(acrt_config_string(ctx, "where", "true"), err, sizeof err);
	if (c == NULL)
		return acrt_fail(ctx, "%s", err);
	*self = c;
	return ACRT_OK;
}

static int
filter_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	if (text == NULL)
		return acrt_fail(ctx, "out of memory");
	acrt__cond_input in;
	acrt__cond_input_init(&in, text, len, cap);
	char err[512];
	int t = acrt__cond_test(self, &in, err, sizeof err);
	acrt__cond_input_free(&in);
	if (t < 0)
		return acrt__jq_failed(ctx, ev, err);
	int rc = acrt_emit(ctx, t ? "output" : "rejected", acrt_event_ref(ev));
	return rc == ACRT_ENOENT && !t ? ACRT_OK : rc; /* `rejected` may be undeclared */
}

static void
filter_cleanup(acrt_ctx *ctx, void *self)
{
	acrt__cond_free(self);
}

const acrt_component_desc acrt__filter_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Filter",
    .props = filter_props,
    .setup = filter_setup,
    .process = filter_process,
    .cleanup = filter_cleanup,
};
