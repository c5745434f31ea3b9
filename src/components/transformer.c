/*
 * transformer.c - the built-in Transformer: `set: {field: value}`,
 * `rename: {old: new}`, `drop: [field]`, applied in that order to a shallow
 * copy of the event's JSON object (values are shared, not copied: events are
 * immutable), or, when this component holds the only reference to the input
 * and its object, to that object itself (copy-on-write: nobody can observe it). With no config it forwards each event unchanged (no copy).
 * A payload that is not a JSON object fails that event only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "core/event.h"

static const acrt_prop transformer_props[] = {
    {"set", ACRT_PROP_OBJECT, 0, 0, 0, NULL, "fields to set: {field: value}"},
    {"rename", ACRT_PROP_OBJECT, 0, 0, 0, NULL, "fields to rename: {old: new}"},
    {"drop", ACRT_PROP_ARRAY, 0, 0, 0, NULL, "fields to remove: [field, ...]"},
    {"jq", ACRT_PROP_STRING, 0, 0, 0, NULL, "jq expression (a later release)"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__transformer_check(const json_t *config, const char **key, char *msg, size_t len)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(config, "rename"), k, v)
	{
		if (!json_is_string(v)) {
			*key = "rename";
			snprintf(msg, len, "rename: the new name of '%s' must be a string", k);
			return -1;
		}
	}
	size_t i;
	json_array_foreach(json_object_get(config, "drop"), i, v)
	{
		if (!json_is_string(v)) {
			*key = "drop";
			snprintf(msg, len, "drop: item %zu must be a field name (string)", i);
			return -1;
		}
	}
	if (json_object_get(config, "jq") != NULL) {
		*key = "jq";
		snprintf(msg, len, "'jq' is not available in this release");
		return -1;
	}
	return 0;
}

typedef struct xf {
	json_t *set, *rename, *drop; /* borrowed from config */
	int passthrough;
} xf;

static int
xf_setup(acrt_ctx *ctx, void **self)
{
	xf *x = calloc(1, sizeof *x);
	if (x == NULL)
		return acrt_fail(ctx, "out of memory");
	const json_t *cfg = acrt_config(ctx);
	x->set = json_object_get(cfg, "set");
	x->rename = json_object_get(cfg, "rename");
	x->drop = json_object_get(cfg, "drop");
	x->passthrough = json_object_size(x->set) == 0 && json_object_size(x->rename) == 0 &&
	                 json_array_size(x->drop) == 0;
	*self = x;
	return ACRT_OK;
}

static int
xf_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	xf *x = self;
	if (x->passthrough)
		return acrt_emit(ctx, "output", acrt_event_ref(ev));
	const json_t *in = acrt_event_json(ev);
	if (!json_is_object(in))
		return acrt_fail(ctx, in == NULL ? "payload is not valid JSON"
		                                 : "payload is not a JSON object");
	/* Copy-on-write: when nobody else holds the input, reuse its object. */
	json_t *out = acrt__event_steal_json(ev);
	if (out == NULL && (out = json_copy((json_t *)in)) == NULL) /* shallow */
		return acrt_fail(ctx, "out of memory");
	const char *k;
	json_t *v;
	if (x->set != NULL && json_object_update(out, x->set) != 0)
		goto nomem;
	json_object_foreach(x->rename, k, v)
	{
		json_t *val = json_object_get(out, k);
		if (val == NULL)
			continue;
		json_incref(val);
		json_object_del(out, k);
		if (json_object_set_new(out, json_string_value(v), val) != 0)
			goto nomem;
	}
	size_t i;
	json_array_foreach(x->drop, i, v) json_object_del(out, json_string_value(v));

	acrt_event *o = acrt_event_new_json(ctx, out);
	if (o == NULL)
		return acrt_fail(ctx, "out of memory");
	return acrt_emit(ctx, "output", o);
nomem:
	json_decref(out);
	return acrt_fail(ctx, "out of memory");
}

static void
xf_cleanup(acrt_ctx *ctx, void *self)
{
	free(self);
}

const acrt_component_desc acrt__transformer_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Transformer",
    .props = transformer_props,
    .setup = xf_setup,
    .process = xf_process,
    .cleanup = xf_cleanup,
};
