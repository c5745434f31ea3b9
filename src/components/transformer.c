/*
 * transformer.c - the built-in Transformer: `set: {field: value}`,
 * `rename: {old: new}`, `drop: [field]`, applied in that order to the event's
 * top-level object; then `jq: EXPR`: the event becomes the program's outputs
 * (several outputs, several events; none drops it). With no config it
 * forwards each event unchanged (no copy).
 *
 * The edits work on the text, not on a tree: the top-level fields are read
 * once (core/json.h) and the output is written from them, each untouched
 * value copied byte for byte from the input (numbers, nested objects,
 * strings with their escapes). Fields keep their order: a set field replaces
 * the old value in place or is appended (in config order), a renamed field
 * keeps its place under its new name (replacing a field that had that name),
 * a dropped field goes. A key repeated in the input stays repeated: each edit applies to every
 * field of that name. An edit is one pass over the fields (no index), so an
 * event costs its fields times the edits.
 *
 * A payload that is not a JSON object (a JSON value, with `jq` alone) fails
 * that event only. An event on which the jq program fails goes, unchanged, to
 * port `error` (dropped there when unbound), and is reported as failed (logged
 * and counted by the runtime, and in the counter `jq_errors`).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "components/jq.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"

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

/* A field of the output being built: its name, and its value's text. */
typedef struct field {
	const char *k;
	size_t kl;
	const char *v;
	size_t vl;
} field;

/* A `set` entry: the name and the value's compact JSON text. */
typedef struct setval {
	const char *k;
	size_t kl;
	char *v;
	size_t vl;
} setval;

typedef struct xf {
	setval *set;
	size_t nset;
	json_t *setj;           /* `set` as configured (borrowed), for trees */
	json_t *rename, *drop;  /* borrowed from config */
	acrt__jq *jq;           /* the compiled `jq` program, or NULL */
	int passthrough, edits; /* edits: set, rename or drop present */
	field *f;               /* scratch: the fields of the event being edited */
	size_t nf, fcap;
} xf;

static void
xf_cleanup(acrt_ctx *ctx, void *self)
{
	xf *x = self;
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->nset; i++)
		acrt__free(x->set[i].v);
	acrt__free(x->set);
	acrt__free(x->f);
	acrt__jq_free(x->jq);
	acrt__free(x);
}

static int
xf_setup(acrt_ctx *ctx, void **self)
{
	xf *x = acrt__calloc(1, sizeof *x);
	if (x == NULL)
		return acrt_fail(ctx, "out of memory");
	const json_t *cfg = acrt_config(ctx);
	const json_t *set = json_object_get(cfg, "set");
	x->setj = (json_t *)set;
	x->rename = json_object_get(cfg, "rename");
	x->drop = json_object_get(cfg, "drop");
	if (json_object_size(set) > 0 &&
	    (x->set = acrt__calloc(json_object_size(set), sizeof *x->set)) == NULL)
		goto nomem;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)set, k, v)
	{
		acrt__jbuf b;
		acrt__jbuf_init(&b);
		acrt__jbuf_jansson(&b, v);
		setval *sv = &x->set[x->nset++];
		sv->k = k;
		sv->kl = strlen(k);
		if ((sv->v = acrt__jbuf_take(&b, &sv->vl)) == NULL)
			goto nomem;
	}
	x->edits =
	    x->nset != 0 || json_object_size(x->rename) != 0 || json_array_size(x->drop) != 0;
	const char *prog = acrt_config_string(ctx, "jq", NULL);
	if (prog != NULL) {
		char err[512];
		if ((x->jq = acrt__jq_compile(prog, err, sizeof err)) == NULL) {
			xf_cleanup(ctx, x);
			return acrt_fail(ctx, "%s", err);
		}
	}
	x->passthrough = !x->edits && x->jq == NULL;
	*self = x;
	return ACRT_OK;
nomem:
	xf_cleanup(ctx, x);
	return acrt_fail(ctx, "out of memory");
}

static int
name_is(const field *f, const char *k, size_t kl)
{
	return f->kl == kl && memcmp(f->k, k, kl) == 0;
}

static int
push(xf *x, const char *k, size_t kl, const char *v, size_t vl)
{
	if (x->nf == x->fcap) {
		size_t cap = x->fcap ? x->fcap * 2 : 32;
		field *f = acrt__realloc(x->f, cap * sizeof *f);
		if (f == NULL)
			return -1;
		x->f = f;
		x->fcap = cap;
	}
	x->f[x->nf++] = (field){k, kl, v, vl};
	return 0;
}

static int
collect(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	return push(arg, k, kl, v->raw, v->raw_len) == 0 ? 0 : 2;
}

/* Gives every field named k the value v; 0 when there was none. Each edit
 * is one pass over the fields, so an event costs fields x edits. */
static int
set_all(xf *x, const char *k, size_t kl, const char *v, size_t vl)
{
	int hit = 0;
	for (size_t i = 0; i < x->nf; i++)
		if (x->f[i].k != NULL && name_is(&x->f[i], k, kl)) {
			x->f[i].v = v;
			x->f[i].vl = vl;
			hit = 1;
		}
	return hit;
}

/* Renames (nk != NULL) or drops (nk == NULL) every field named k. */
static void
rename_all(xf *x, const char *k, size_t kl, const char *nk, size_t nkl)
{
	for (size_t i = 0; i < x->nf; i++)
		if (x->f[i].k != NULL && name_is(&x->f[i], k, kl)) {
			x->f[i].k = nk;
			x->f[i].kl = nkl;
		}
}

/* The edited text of the event's object (acrt__malloc'd, padded), NULL with
 * a reason in why. */
static char *
xf_edit(xf *x, const char *p, size_t len, size_t cap, size_t *olen, const char **why)
{
	x->nf = 0;
	int rc = acrt__json_fields(p, len, cap, collect, x);
	if (rc != 0) {
		*why = rc == 1   ? "payload is not a JSON object"
		       : rc == 2 ? "out of memory"
		                 : "payload is not valid JSON";
		return NULL;
	}
	for (size_t i = 0; i < x->nset; i++) {
		const setval *sv = &x->set[i];
		if (!set_all(x, sv->k, sv->kl, sv->v, sv->vl) &&
		    push(x, sv->k, sv->kl, sv->v, sv->vl) != 0)
			goto nomem;
	}
	const char *k;
	json_t *v;
	json_object_foreach(x->rename, k, v)
	{
		const char *nk = json_string_value(v);
		size_t kl = strlen(k), nkl = json_string_length(v);
		if (kl == nkl && memcmp(k, nk, kl) == 0)
			continue;
		int present = 0;
		for (size_t i = 0; i < x->nf && !present; i++)
			present = x->f[i].k != NULL && name_is(&x->f[i], k, kl);
		if (!present)
			continue;
		rename_all(x, nk, nkl, NULL, 0); /* replaced by the renamed field */
		rename_all(x, k, kl, nk, nkl);
	}
	size_t i;
	json_array_foreach(x->drop, i, v)
	    rename_all(x, json_string_value(v), json_string_length(v), NULL, 0);
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	acrt__jbuf_putc(&b, '{');
	int first = 1;
	for (size_t j = 0; j < x->nf; j++) {
		if (x->f[j].k == NULL)
			continue;
		if (!first)
			acrt__jbuf_putc(&b, ',');
		first = 0;
		acrt__jbuf_string(&b, x->f[j].k, x->f[j].kl);
		acrt__jbuf_putc(&b, ':');
		acrt__jbuf_put(&b, x->f[j].v, x->f[j].vl);
	}
	acrt__jbuf_putc(&b, '}');
	char *out = acrt__jbuf_take(&b, olen);
	if (out != NULL)
		return out;
nomem:
	*why = "out of memory";
	return NULL;
}

static bool
dropped(const xf *x, const char *name)
{
	size_t i;
	json_t *d;
	json_array_foreach(x->drop, i, d) if (strcmp(json_string_value(d), name) == 0) return true;
	return false;
}

/* True when a field named `name` is replaced by another one renamed to it
 * (a field `in` or `set` has). */
static bool
renamed_over(const xf *x, const json_t *in, const char *name)
{
	const char *k;
	json_t *v;
	json_object_foreach(x->rename, k, v)
	{
		if (strcmp(json_string_value(v), name) == 0 && strcmp(k, name) != 0 &&
		    (json_object_get(in, k) != NULL || json_object_get(x->setj, k) != NULL))
			return true;
	}
	return false;
}

/* The edits on an event that is a jansson tree and no text yet (a generator's,
 * a plugin's): the same edits as xf_edit, into a shallow copy of the object
 * (values shared), so that no text is printed and read again. NULL on out of
 * memory. */
static json_t *
xf_edit_tree(xf *x, const json_t *in)
{
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: the fields of `in`, in order; pass 1: the `set` fields it lacks */
		const char *k;
		json_t *v;
		json_object_foreach(pass == 0 ? (json_t *)in : x->setj, k, v)
		{
			if (pass == 1 && json_object_get(in, k) != NULL)
				continue;
			json_t *val =
			    json_object_get(x->setj, k) != NULL ? json_object_get(x->setj, k) : v;
			const char *name = json_string_value(json_object_get(x->rename, k));
			if (name == NULL)
				name = k;
			if (dropped(x, name) || (strcmp(name, k) == 0 && renamed_over(x, in, k)))
				continue;
			if (json_object_set(out, name, val) != 0) {
				json_decref(out);
				return NULL;
			}
		}
	}
	return out;
}

static int
xf_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	xf *x = self;
	if (x->passthrough)
		return acrt_emit(ctx, "output", acrt_event_ref(ev));
	const json_t *tree = x->jq == NULL ? acrt__event_tree(ev) : NULL;
	if (tree != NULL && x->edits) {
		if (!json_is_object(tree))
			return acrt_fail(ctx, "payload is not a JSON object");
		/* Copy-on-write: when nobody else holds the event and its tree, take
		 * the tree. Set and drop then edit it in place; a rename builds the
		 * new object from it and releases it here, so its values end up
		 * owned by the output alone and no reference count is shared with
		 * the thread that will release the input event. */
		json_t *own = acrt__event_steal_json(ev), *out;
		if (own != NULL && json_object_size(x->rename) == 0) {
			out = own;
			size_t i;
			json_t *d;
			if (x->setj != NULL && json_object_update(out, x->setj) != 0) {
				json_decref(out);
				out = NULL;
			} else {
				json_array_foreach(x->drop, i, d)
				    json_object_del(out, json_string_value(d));
			}
		} else {
			out = xf_edit_tree(x, own != NULL ? own : tree);
			json_decref(own);
		}
		acrt_event *o = out != NULL ? acrt_event_new_json(ctx, out) : NULL;
		if (o == NULL)
			return acrt_fail(ctx, "out of memory");
		return acrt_emit(ctx, "output", o);
	}
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	if (text == NULL)
		return acrt_fail(ctx, "out of memory");
	char *edited = NULL;
	if (x->edits) {
		const char *why;
		if ((edited = xf_edit(x, text, len, cap, &len, &why)) == NULL)
			return acrt_fail(ctx, "%s", why);
		if (x->jq == NULL) {
			acrt_event *o = acrt__event_adopt(ev, edited, len, "application/json");
			if (o == NULL)
				return acrt_fail(ctx, "out of memory");
			return acrt_emit(ctx, "output", o);
		}
		text = edited;
		cap = len + ACRT__JSON_PADDING;
	}
	char err[512];
	int n = acrt__jq_run_text(x->jq, text, len, cap, err, sizeof err);
	int rc = ACRT_OK;
	if (n < 0)
		rc = acrt__jq_failed(ctx, ev, err);
	for (int i = 0; i < n && rc == ACRT_OK; i++) {
		size_t olen;
		char *out = acrt__jq_output(x->jq, (size_t)i, &olen);
		acrt_event *o =
		    out != NULL ? acrt__event_adopt(ev, out, olen, "application/json") : NULL;
		rc = o != NULL ? acrt_emit(ctx, "output", o) : acrt_fail(ctx, "out of memory");
	}
	acrt__free(edited); /* the outputs are printed: the numbers' texts are no longer needed */
	return rc;
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
