/*
 * passthrough.c - the built-in Passthrough: each event goes on, unchanged (no
 * copy), on every port of `ports` (default: `output`). With `max_items: N`
 * the first N events pass; the N-th asks the run to stop as SIGTERM does
 * (sources stop, what is in flight drains, every stream ends), and the events
 * still arriving after it are dropped and counted (`dropped_after_max_items`).
 *
 * The Autocoder dialect (docs/AUTOCODER.md) maps onto it: a Controller with
 * `variant: terminator`, and, with `acrt run --stub`, the stand-ins of the
 * components whose logic was the original's generated code.
 *
 * `ports` is read here for the Source and the Accumulator too
 * (acrt__ports_read): the output ports an event is emitted on.
 */
#include <stdio.h>
#include <string.h>

#include "components/builtins.h"
#include "core/common.h"
#include "runtime/ctx_query.h"

static const acrt_prop passthrough_props[] = {
    {"ports", ACRT_PROP_ARRAY, 0, 0, 0, NULL,
     "output ports each event goes on (default [output]); each must be an output"},
    {"max_items", ACRT_PROP_INT, 0, 1, 9.2e18, NULL,
     "pass this many events, then stop the run (the rest is dropped)"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__ports_check(const json_t *config, const char **key, char *msg, size_t len)
{
	const json_t *p = json_object_get(config, "ports");
	size_t i;
	json_t *v;
	if (p == NULL)
		return 0;
	*key = "ports"; /* [] drops every event */
	json_array_foreach(p, i, v)
	{
		const char *s = json_string_value(v);
		bool ok = s != NULL && s[0] >= 'a' && s[0] <= 'z';
		for (; ok && *s; s++)
			ok = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_';
		if (!ok) {
			snprintf(msg, len, "item %zu: expected a port name (^[a-z][a-z0-9_]*$)", i);
			return -1;
		}
	}
	return 0;
}

int
acrt__ports_read(acrt_ctx *ctx, const char *dflt, const char ***ports, size_t *n)
{
	const json_t *p = json_object_get(acrt_config(ctx), "ports");
	size_t k = json_array_size(p);
	bool given = p != NULL;
	const char **v = acrt__calloc(k > 0 ? k : 1, sizeof *v);
	if (v == NULL)
		return acrt_fail(ctx, "out of memory");
	for (size_t i = 0; i < k; i++)
		v[i] = json_string_value(json_array_get(p, i)); /* checked: strings */
	if (!given)
		v[k++] = dflt;
	*ports = v;
	*n = k;
	return ACRT_OK;
}

int
acrt__ports_emit(acrt_ctx *ctx, const char *const *ports, size_t n, acrt_event *ev)
{
	if (n == 0) /* ports: [] */
		acrt_event_unref(ev);
	for (size_t i = 0; i < n; i++) {
		int rc = acrt_emit(ctx, ports[i], i + 1 < n ? acrt_event_ref(ev) : ev);
		if (rc != ACRT_OK && i + 1 < n)
			acrt_event_unref(ev); /* the caller's reference, not handed on yet */
		if (rc == ACRT_ENOENT)
			return acrt_fail(ctx, "ports: '%s' is not an output port", ports[i]);
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

typedef struct passthrough {
	const char **ports; /* borrowed from the config */
	size_t n_ports;
	int64_t max_items; /* 0: no limit */
	int64_t passed;
} passthrough;

static int
pt_setup(acrt_ctx *ctx, void **self)
{
	passthrough *p = acrt__calloc(1, sizeof *p);
	if (p == NULL)
		return acrt_fail(ctx, "out of memory");
	int rc = acrt__ports_read(ctx, "output", &p->ports, &p->n_ports);
	if (rc != ACRT_OK) {
		acrt__free(p);
		return rc;
	}
	p->max_items = acrt_config_int(ctx, "max_items", 0);
	*self = p;
	return ACRT_OK;
}

static int
pt_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	passthrough *p = self;
	(void)port;
	if (p->max_items > 0 && p->passed >= p->max_items) {
		acrt_count(ctx, "dropped_after_max_items", 1);
		return ACRT_OK;
	}
	int rc = acrt__ports_emit(ctx, p->ports, p->n_ports, acrt_event_ref(ev));
	if (rc != ACRT_OK)
		return rc;
	if (++p->passed == p->max_items) {
		acrt_log(ctx, ACRT_LOG_INFO, "max_items=%lld reached: stopping the run",
		         (long long)p->max_items);
		acrt__ctx_request_stop(ctx);
	}
	return ACRT_OK;
}

static void
pt_cleanup(acrt_ctx *ctx, void *self)
{
	passthrough *p = self;
	(void)ctx;
	if (p == NULL)
		return;
	acrt__free(p->ports);
	acrt__free(p);
}

const acrt_component_desc acrt__passthrough_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Passthrough",
    .props = passthrough_props,
    .setup = pt_setup,
    .process = pt_process,
    .cleanup = pt_cleanup,
};
