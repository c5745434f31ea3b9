/*
 * config.c - checks each component's config (after component_overrides were
 * merged in) against its descriptor's property table: unknown keys, types,
 * ranges, allowed strings, required keys; then the built-in type's cross-field
 * check. Plugins are dlopened here to check their ABI and read their table,
 * then closed again, and only when plugins.c allows their path (the
 * deployment's runtime.plugin_dirs is read by now; docs/SECURITY.md).
 *
 * Errors point at the YAML text that gave the value: the override in
 * deployment.yaml when it set the key, else the component's own config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blueprint/bp_int.h"
#include "core/common.h"
#include "core/plugin.h"

/* The value node at a dotted path under map ("routes.2.when": a number indexes
 * a list), or NULL. Where the path breaks off below its first key, the node
 * reached goes to *partial (if not set yet). */
static const acrt__ynode *
path_get(const acrt__ynode *n, const char *path, const acrt__ynode **partial)
{
	const acrt__ynode *root = n;
	char seg[64];
	while (n && *path) {
		size_t l = strcspn(path, ".");
		snprintf(seg, sizeof seg, "%.*s", (int)l, path);
		path += l + (path[l] == '.');
		const acrt__ynode *next = NULL;
		char *end;
		unsigned long i = strtoul(seg, &end, 10);
		if (n->kind == ACRT__Y_SEQ && *end == '\0' && end != seg)
			next = i < n->n ? n->items[i] : NULL;
		else
			next = acrt__ynode_get(n, seg);
		if (!next && n != root && partial && !*partial)
			*partial = n;
		n = next;
	}
	return n;
}

/* The node that gave `key` its value (want_key: the key itself, else the value).
 * A dotted key (from a type's check) is a path into the value. */
static const acrt__ynode *
where_of(const acrt__comp_aux *a, const char *key, bool want_key)
{
	const acrt__ynode *srcs[2] = {a->ovr_config, a->config};
	const acrt__ynode *partial = NULL;
	for (int i = 0; i < 2; i++) {
		const acrt__ynode *n;
		if (!want_key && strchr(key, '.'))
			n = path_get(srcs[i], key, &partial);
		else
			n = want_key ? acrt__ynode_key(srcs[i], key)
			             : acrt__ynode_get(srcs[i], key);
		if (n)
			return n;
	}
	if (partial)
		return partial;
	return a->config ? a->config : a->node;
}

static bool
one_of_has(const char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static const char *
type_name(acrt_prop_type t)
{
	switch (t) {
	case ACRT_PROP_STRING:
		return "a string";
	case ACRT_PROP_INT:
		return "an integer";
	case ACRT_PROP_NUMBER:
		return "a number";
	case ACRT_PROP_BOOL:
		return "a boolean";
	case ACRT_PROP_OBJECT:
		return "a mapping";
	case ACRT_PROP_ARRAY:
		return "a list";
	default:
		return "a value";
	}
}

static bool
type_ok(acrt_prop_type t, const json_t *v)
{
	switch (t) {
	case ACRT_PROP_STRING:
		return json_is_string(v);
	case ACRT_PROP_INT:
		return json_is_integer(v);
	case ACRT_PROP_NUMBER:
		return json_is_number(v);
	case ACRT_PROP_BOOL:
		return json_is_boolean(v);
	case ACRT_PROP_OBJECT:
		return json_is_object(v);
	case ACRT_PROP_ARRAY:
		return json_is_array(v);
	default:
		return true;
	}
}

static int
check_value(acrt__bpload *L, size_t idx, const acrt_prop *p, const char *key, json_t *v)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	const acrt__ynode *at = where_of(&L->aux[idx], key, false);
	char got[96];

	/* A bare YAML null where the string "null" is allowed (sink: null). */
	if (json_is_null(v) && p->type == ACRT_PROP_STRING && one_of_has(p->one_of, "null")) {
		if (json_object_set_new(c->config, key, json_string("null")) < 0)
			return acrt__err(L, at, "out of memory");
		return 0;
	}
	if (!type_ok(p->type, v)) {
		acrt__json_describe(v, got, sizeof got);
		return acrt__err(L, at, "%s.config.%s: expected %s, got %s", c->name, key,
		                 type_name(p->type), got);
	}
	if ((p->type == ACRT_PROP_INT || p->type == ACRT_PROP_NUMBER) && p->min < p->max) {
		double d = json_number_value(v);
		if (d < p->min)
			return acrt__err(L, at, "%s.config.%s must be >= %g", c->name, key, p->min);
		if (d > p->max)
			return acrt__err(L, at, "%s.config.%s must be <= %g", c->name, key, p->max);
	}
	if (p->type == ACRT_PROP_STRING && p->one_of &&
	    !one_of_has(p->one_of, json_string_value(v))) {
		char list[256] = "", hint[128];
		size_t off = 0;
		for (const char *const *o = p->one_of; *o && off < sizeof list; o++)
			off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
			                        o == p->one_of ? "" : ", ", *o);
		/* A value from ${VAR} is named, never quoted, nor hinted at. */
		const char *shown = acrt__ynode_show(at, json_string_value(v));
		hint[0] = '\0';
		if (shown == json_string_value(v))
			acrt__hint(hint, sizeof hint, shown, p->one_of, (size_t)-1);
		return acrt__err(L, at, "%s.config.%s: '%s' is not one of %s%s", c->name, key,
		                 shown, list, hint);
	}
	return 0;
}

static int
check_props(acrt__bpload *L, size_t idx, const acrt_prop *props)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const char *key;
	json_t *v;
	int rc = 0;
	const char *names[128];
	size_t n = 0;
	for (const acrt_prop *p = props; p->type != ACRT_PROP_END && n < 128; p++)
		names[n++] = p->key;

	void *tmp;
	json_object_foreach_safe(c->config, tmp, key, v)
	{
		const acrt_prop *p = props;
		while (p->type != ACRT_PROP_END && strcmp(p->key, key))
			p++;
		if (p->type == ACRT_PROP_END) {
			char hint[128];
			acrt__hint(hint, sizeof hint, key, names, n);
			rc = acrt__err(L, where_of(a, key, true),
			               "unknown config key '%s' for %s in component '%s'%s", key,
			               c->type ? c->type : "plugin", c->name, hint);
			continue;
		}
		if (check_value(L, idx, p, key, v) < 0)
			rc = -1;
	}
	for (const acrt_prop *p = props; p->type != ACRT_PROP_END; p++)
		if (p->required && !json_object_get(c->config, p->key))
			rc = acrt__err(L, a->config ? a->config : a->node,
			               "component '%s': missing required config key '%s'", c->name,
			               p->key);
	return rc;
}

static int
check_plugin(acrt__bpload *L, size_t idx, const acrt__plugin_allow *allow)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__plugin *pl = NULL;
	const acrt_component_desc *desc = NULL;
	char err[512] = "";
	int rc = 0;
	if (!allow->readable) /* the deployment's errors fail the load */
		return 0;
	if (acrt__plugin_allowed(L, allow, L->aux[idx].impl, "implementation", c->plugin_path) < 0)
		return -1;
	if (acrt__plugin_open(c->plugin_path, c->plugin_symbol, &pl, &desc, err, sizeof err) < 0)
		return acrt__err(L, L->aux[idx].impl, "implementation: %s",
		                 err[0] ? err : "cannot load the plugin");
	if (desc && desc->props)
		rc = check_props(L, idx, desc->props);
	/* A plugin with its own loop and no process() is a source: unless the
	 * blueprint declares inputs, it has none (the default `input` would
	 * otherwise be an unbound port). */
	if (desc && desc->run && !desc->process && !acrt__ynode_get(L->aux[idx].node, "inputs")) {
		for (size_t i = 0; i < c->n_inputs; i++) {
			acrt__free(c->inputs[i].name);
			json_decref(c->inputs[i].schema);
		}
		c->n_inputs = 0;
	}
	if (acrt__comp_rules(L, idx, desc) < 0)
		rc = -1;
	acrt__plugin_close(pl);
	return rc;
}

/* The files a built-in type's setup opens, checked as `acrt run` will find
 * them (their content is not read): a file Source's input and an
 * APIEndpoint's token file must be readable files (a Source with `follow:
 * true` may name one that does not exist yet: it waits for it), a file Sink's
 * output must not be a directory. Relative to the blueprint directory. */
static int
check_files(acrt__bpload *L, size_t idx)
{
	const acrt__comp_spec *c = &L->bp->comps[idx];
	const json_t *cfg = c->config;
	const char *key = NULL, *rel = NULL, *kind;
	bool reads = true, waits = false;
	if (strcmp(c->type, "Source") == 0 || strcmp(c->type, "Sink") == 0) {
		reads = strcmp(c->type, "Source") == 0; /* a Sink writes it */
		/* A Source with follow: true waits for a missing file (tail -F). */
		waits = reads && json_is_true(json_object_get(cfg, "follow"));
		kind = json_string_value(json_object_get(cfg, reads ? "source" : "sink"));
		if (kind != NULL && strcmp(kind, "file") == 0)
			key = "path", rel = json_string_value(json_object_get(cfg, "path"));
	} else if (strcmp(c->type, "APIEndpoint") == 0) { /* its bearer token's file */
		key = "auth.token_file";
		rel =
		    json_string_value(json_object_get(json_object_get(cfg, "auth"), "token_file"));
	}
	if (rel == NULL || rel[0] == '\0')
		return 0; /* absent: the type's own check said whether it may be */
	const acrt__ynode *at = where_of(&L->aux[idx], key, false);
	char *path = acrt__path_join(L->bp->dir, rel);
	if (path == NULL)
		return acrt__err(L, at, "out of memory");
	struct stat st;
	int rc = 0;
	if (reads && access(path, R_OK) != 0 && !(waits && errno == ENOENT))
		rc = acrt__err(L, at, "%s.config.%s: cannot read %s: %s", c->name, key, path,
		               strerror(errno));
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = acrt__err(L, at, "%s.config.%s: %s is a directory, not a file", c->name, key,
		               path);
	acrt__free(path);
	return rc;
}

int
acrt__config_check(acrt__bpload *L)
{
	acrt__plugin_allow allow = {0};
	int rc = acrt__plugin_allow_read(L, &allow);
	for (size_t i = 0; i < L->bp->n_comps; i++) {
		acrt__comp_spec *c = &L->bp->comps[i];
		acrt__comp_aux *a = &L->aux[i];
		if (!c->name || (!c->type && !c->plugin_path))
			continue;
		if (acrt__cap_plugins_check(L, &allow, i) < 0)
			rc = -1;
		if (c->plugin_path) {
			if (check_plugin(L, i, &allow) < 0)
				rc = -1;
			continue;
		}
		if (!a->bi || !a->bi->desc)
			continue;
		if (acrt__comp_rules(L, i, a->bi->desc) < 0)
			rc = -1;
		if (a->bi->desc->props && check_props(L, i, a->bi->desc->props) < 0) {
			rc = -1;
			continue;
		}
		if (a->bi->check) {
			const char *key = NULL;
			char msg[512] = "";
			if (a->bi->check(c->config, &key, msg, sizeof msg) < 0) {
				rc = -1;
				if (key)
					acrt__err(L, where_of(a, key, false), "%s.config.%s: %s",
					          c->name, key, msg[0] ? msg : "invalid value");
				else
					acrt__err(L, a->config ? a->config : a->node,
					          "component '%s' config: %s", c->name,
					          msg[0] ? msg : "invalid");
				continue;
			}
		}
		if (check_files(L, i) < 0)
			rc = -1;
	}
	acrt__plugin_allow_free(&allow);
	return rc;
}
