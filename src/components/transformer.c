/*
 * transformer.c - the built-in Transformer: `set: {field: value}`,
 * `rename: {old: new}`, `drop: [field]`, applied in that order to a shallow
 * copy of the event's JSON object (values are shared, not copied: events are
 * immutable), or, when this component holds the only reference to the input
 * and its object, to that object itself (copy-on-write: nobody can observe
 * it); then `jq: EXPR`: the event becomes the program's outputs (several
 * outputs, several events; none drops it). With no config it forwards each
 * event unchanged (no copy).
 *
 * A payload that is not a JSON object (a JSON value, with `jq` alone) fails
 * that event only. An event on which the jq program fails goes, unchanged, to
 * port `error` (dropped there when unbound), and is reported as failed (logged
 * and counted by the runtime, and in the counter `jq_errors`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "components/jq.h"
#include "core/event.h"

static const acrt_prop transformer_props[] = {
    {"set", ACRT_PROP_OBJECT, 0, 0, 0, NULL, "fields to set: {field: value}"},
    {"rename", ACRT_PROP_OBJECT, 0, 0, 0, NULL, "fields to rename: {old: new}"},
    {"drop", ACRT_PROP_ARRAY, 0, 0, 0, NULL, "fields to remove: [field, ...]"},
    {"jq", ACRT_PROP_STRING, 0, 0, 0, NULL, "jq program: the event becomes its outputs"},
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
	const char *prog = json_string_value(json_object_get(config, "jq"));
	if (prog != NULL && acrt__jq_check(prog, msg, len) < 0) {
		*key = "jq";
		return -1;
	}
	return 0;
}

typedef struct xf {
	json_t *set, *rename, *drop; /* borrowed from config */
	acrt__jq *jq;                /* the compiled `jq` program, or NULL */
	int passthrough, edits;      /* edits: set, rename or drop present */
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
	x->edits = json_object_size(x->set) != 0 || json_object_size(x->rename) != 0 ||
	           json_array_size(x->drop) != 0;
	const char *prog = acrt_config_string(ctx, "jq", NULL);
	if (prog != NULL) {
		char err[512];
		if ((x->jq = acrt__jq_compile(prog, err, sizeof err)) == NULL) {
			free(x);
			return acrt_fail(ctx, "%s", err);
		}
	}
	x->passthrough = !x->edits && x->jq == NULL;
	*self = x;
	return ACRT_OK;
}

/* Applies set, rename, drop to a copy of `in` (or to the event's own object
 * when it may be stolen). NULL on out of memory. */
static json_t *
xf_edit(xf *x, acrt_event *ev, const json_t *in, int may_steal)
{
	json_t *out = may_steal ? acrt__event_steal_json(ev) : NULL;
	if (out == NULL && (out = json_copy((json_t *)in)) == NULL) /* shallow */
		return NULL;
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
	return out;
nomem:
	json_decref(out);
	return NULL;
}

static int
xf_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	xf *x = self;
	if (x->passthrough)
		return acrt_emit(ctx, "output", acrt_event_ref(ev));
	const json_t *in = acrt_event_json(ev);
	if (in == NULL)
		return acrt_fail(ctx, "payload is not valid JSON");
	json_t *out = NULL;
	if (x->edits) {
		if (!json_is_object(in))
			return acrt_fail(ctx, "payload is not a JSON object");
		/* Copy-on-write: when nobody else holds the input, reuse its object;
		 * not with jq, which may fail and send the original on. */
		if ((out = xf_edit(x, ev, in, x->jq == NULL)) == NULL)
			return acrt_fail(ctx, "out of memory");
		if (x->jq == NULL) {
			acrt_event *o = acrt_event_new_json(ctx, out);
			if (o == NULL)
				return acrt_fail(ctx, "out of memory");
			return acrt_emit(ctx, "output", o);
		}
	}
	char err[512];
	int n = acrt__jq_run(x->jq, out != NULL ? out : in, err, sizeof err);
	json_decref(out);
	if (n < 0)
		return acrt__jq_failed(ctx, ev, err);
	for (int i = 0; i < n; i++) {
		acrt_event *o = acrt_event_new_json(ctx, acrt__jq_take(x->jq, (size_t)i));
		if (o == NULL)
			return acrt_fail(ctx, "out of memory");
		int rc = acrt_emit(ctx, "output", o);
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

static void
xf_cleanup(acrt_ctx *ctx, void *self)
{
	xf *x = self;
	acrt__jq_free(x->jq);
	free(x);
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
