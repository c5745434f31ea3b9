/*
 * filter.c - the built-in Filter: keeps the events whose `where:` condition
 * (a jq program; the truthiness of its first output, false and null being
 * false) holds, on port `output`; the others go to port `rejected`, where they
 * are dropped unless it is bound. An event on which the program fails goes to
 * port `error` (dropped when unbound) and is reported as failed (logged,
 * counted; counter `jq_errors`). Events are forwarded unchanged (no copy).
 */
#include <stdio.h>
#include <stdlib.h>

#include "components/builtins.h"
#include "components/jq.h"

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
	acrt__jq *q = acrt__jq_compile(acrt_config_string(ctx, "where", "true"), err, sizeof err);
	if (q == NULL)
		return acrt_fail(ctx, "%s", err);
	*self = q;
	return ACRT_OK;
}

static int
filter_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	const json_t *in = acrt_event_json(ev);
	if (in == NULL)
		return acrt_fail(ctx, "payload is not valid JSON");
	char err[512];
	int t = acrt__jq_test(self, in, err, sizeof err);
	if (t < 0)
		return acrt__jq_failed(ctx, ev, err);
	int rc = acrt_emit(ctx, t ? "output" : "rejected", acrt_event_ref(ev));
	return rc == ACRT_ENOENT && !t ? ACRT_OK : rc; /* `rejected` may be undeclared */
}

static void
filter_cleanup(acrt_ctx *ctx, void *self)
{
	acrt__jq_free(self);
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
