/*
 * arch.c - reads architecture.yaml's structure into acrt__blueprint: the top
 * level, system:, schemas: and each component (name, type or plugin
 * implementation, config, ports and their schemas (compiled by the JSON
 * Schema validator), raw capabilities / batching / state, replicas). Bindings are bindings.c's;
 * config values are checked against the type's property table later, in config.c, once the
 * deployment's overrides are merged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/bp_int.h"
#include "core/common.h"
#include "core/plugin.h"
#include "schema/schema.h"

/* At the top level, name ... bindings stand for system's when there is no
 * system: mapping or it lacks them (the Autocoder dialect, docs/AUTOCODER.md). */
static const char *const top_keys[] = {"schema_version", "system",   "schemas",
                                       "name",           "version",  "description",
                                       "components",     "bindings", NULL};
static const char *const sys_keys[] = {"name",     "version", "description",    "components",
                                       "bindings", "schemas", "schema_version", NULL};
static const char *const comp_keys[] = {
    "name",         "type",     "implementation", "config",   "configuration", "inputs", "outputs",
    "capabilities", "batching", "state",          "replicas", "description",   "ports",  NULL};
static const char *const port_keys[] = {"name", "schema", "description", NULL};
static const char *const cap_keys[] = {
    "schema_validator", "rate_limit", "retry", "circuit_breaker", "timeout", "dead_letter", NULL};
static const char *const json_types[] = {"null",   "boolean", "object",  "array",
                                         "number", "string",  "integer", NULL};

/* ---- Schemas ------------------------------------------------------------------- */

/* The node a compile error is about: for "'KW' must ..." the value of the
 * first key KW, for "... 'TEXT' ..." the first string TEXT, else NULL. */
static const acrt__ynode *
find_quoted(const acrt__ynode *n, const char *q, size_t len, bool want_key)
{
	if (n->kind == ACRT__Y_STR && !want_key)
		return strlen(n->text) == len && !strncmp(n->text, q, len) ? n : NULL;
	if (n->kind != ACRT__Y_MAP && n->kind != ACRT__Y_SEQ)
		return NULL;
	for (size_t i = 0; i < n->n; i++) {
		const acrt__ynode *k = n->kind == ACRT__Y_MAP ? n->keys[i] : NULL;
		if (want_key && k && strlen(k->text) == len && !strncmp(k->text, q, len))
			return n->items[i];
		const acrt__ynode *f = find_quoted(n->items[i], q, len, want_key);
		if (f)
			return f;
	}
	return NULL;
}

/* The first type name under a `type` keyword that is not a JSON type. */
static const acrt__ynode *
find_bad_type(const acrt__ynode *n)
{
	if (n->kind != ACRT__Y_MAP && n->kind != ACRT__Y_SEQ)
		return NULL;
	for (size_t i = 0; i < n->n; i++) {
		const acrt__ynode *v = n->items[i];
		if (n->kind == ACRT__Y_MAP && !strcmp(n->keys[i]->text, "type")) {
			size_t nt = v->kind == ACRT__Y_SEQ ? v->n : 1;
			for (size_t j = 0; j < nt; j++) {
				const acrt__ynode *t = v->kind == ACRT__Y_SEQ ? v->items[j] : v;
				bool known = false;
				for (const char *const *jt = json_types;
				     t->kind == ACRT__Y_STR && *jt; jt++)
					known |= !strcmp(*jt, t->text);
				if (!known)
					return t;
			}
		}
		const acrt__ynode *f = find_bad_type(v);
		if (f)
			return f;
	}
	return NULL;
}

/* Compiles a schema with the one JSON Schema validator (schema/schema_compile.c,
 * the same that schema_validator and `acrt schema check` use), so a schema
 * `acrt validate` accepts is one they accept. The error points at the keyword
 * or the text the validator names. */
static int
check_schema(acrt__bpload *L, const acrt__ynode *s, const char *what)
{
	char why[256] = "";
	if (s->kind != ACRT__Y_MAP && s->kind != ACRT__Y_BOOL) {
		char got[96];
		acrt__ynode_describe(s, got, sizeof got);
		return acrt__err(L, s, "bad schema %s: expected a mapping or a boolean, got %s",
		                 what, got);
	}
	json_t *j = acrt__ynode_json(s);
	if (!j)
		return acrt__err(L, s, "out of memory");
	acrt__schema *c = acrt__schema_compile(j, why, sizeof why);
	json_decref(j);
	if (c) {
		acrt__schema_free(c);
		return 0;
	}
	const acrt__ynode *t = strstr(why, "'type'") ? find_bad_type(s) : NULL;
	if (t && t->kind == ACRT__Y_STR) {
		char hint[128];
		acrt__hint(hint, sizeof hint, t->text, json_types, (size_t)-1);
		return acrt__err(L, t, "bad schema %s: type '%s' is not a JSON Schema type%s", what,
		                 t->text, hint);
	}
	const acrt__ynode *at = t;
	const char *q = strchr(why, '\''), *e = q ? strchr(q + 1, '\'') : NULL;
	if (!at && e) {
		bool kw = e[1] == ' ' && !strncmp(e + 2, "must", 4);
		at = find_quoted(s, q + 1, (size_t)(e - q - 1), kw);
	}
	return acrt__err(L, at ? at : s, "bad schema %s: %s", what, why);
}

static int
parse_schemas(acrt__bpload *L, const acrt__ynode *root)
{
	const acrt__ynode *s = NULL;
	int rc = acrt__get_map(L, root, "schemas", &s);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < s->n; i++) {
		char what[160];
		snprintf(what, sizeof what, "'%s'", s->keys[i]->text);
		if (check_schema(L, s->items[i], what) < 0) {
			rc = -1;
			continue;
		}
		if (json_object_get(L->bp->schemas, s->keys[i]->text)) {
			rc =
			    acrt__err(L, s->keys[i], "schema '%s' defined twice", s->keys[i]->text);
			continue;
		}
		json_t *j = acrt__ynode_json(s->items[i]);
		if (!j || json_object_set_new(L->bp->schemas, s->keys[i]->text, j) < 0)
			return acrt__err(L, s->items[i], "out of memory");
	}
	return rc;
}

/* A schema written as a JSON string ('{"type": "object"}', the dialect's). */
static int
inline_json_schema(acrt__bpload *L, const acrt__ynode *n, const char *what, json_t **out)
{
	json_error_t je;
	char why[256] = "";
	json_t *j = json_loads(n->text, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return acrt__err(L, n, "bad schema %s: the string is not JSON: %s", what, je.text);
	acrt__schema *c = acrt__schema_compile(j, why, sizeof why);
	if (!c) {
		json_decref(j);
		return acrt__err(L, n, "bad schema %s: %s", what, why);
	}
	acrt__schema_free(c);
	L->dialect = true;
	*out = j;
	return 1;
}

/* A port's schema: a name under schemas:, an inline mapping or a boolean, or
 * a JSON string. A name defined nowhere is decided later
 * (acrt__dialect_labels): the port has no schema. */
int
acrt__port_schema(acrt__bpload *L, const acrt__ynode *n, const acrt__ynode *port, json_t **out)
{
	char what[160];
	if (n->kind == ACRT__Y_NULL)
		return 0;
	snprintf(what, sizeof what, "for port '%s'", port->text);
	if (n->kind == ACRT__Y_STR) {
		const char *t = n->text + strspn(n->text, " \t\r\n");
		if (*t == '{')
			return inline_json_schema(L, n, what, out);
		json_t *j = json_object_get(L->bp->schemas, n->text);
		if (!j) {
			struct acrt__label *nl =
			    acrt__realloc(L->labels, (L->n_labels + 1) * sizeof *nl);
			if (!nl)
				return acrt__err(L, n, "out of memory");
			L->labels = nl;
			nl[L->n_labels++] = (struct acrt__label){n, port->text};
			return 0;
		}
		*out = json_incref(j);
		return 1;
	}
	if (n->kind != ACRT__Y_MAP && n->kind != ACRT__Y_BOOL) {
		char got[96];
		acrt__ynode_describe(n, got, sizeof got);
		return acrt__err(L, n,
		                 "bad schema %s: expected a schema name, a mapping or a boolean, "
		                 "got %s",
		                 what, got);
	}
	if (check_schema(L, n, what) < 0)
		return -1;
	*out = acrt__ynode_json(n);
	return *out ? 1 : acrt__err(L, n, "out of memory");
}

int
acrt__dialect_labels(acrt__bpload *L)
{
	const char *names[64];
	size_t k = 0;
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(L->bp->schemas, key, v)
	{
		if (k < 64)
			names[k++] = key;
	}
	for (size_t i = 0; i < L->n_labels; i++) {
		const acrt__ynode *n = L->labels[i].name;
		char hint[128];
		acrt__hint(hint, sizeof hint, n->text, names, k);
		if (!L->dialect)
			rc = acrt__err(L, n, "unknown schema '%s' for port '%s'%s", n->text,
			               L->labels[i].port, hint);
		else if (acrt__note(L, n,
		                    "schema '%s' of port '%s' names no definition: a label, not "
		                    "checked%s",
		                    n->text, L->labels[i].port, hint) < 0)
			rc = -1;
	}
	return rc;
}

int
acrt__add_port(acrt__port_spec **ports, size_t *n, const char *name, json_t *schema, acrt__mark m)
{
	acrt__port_spec *p = acrt__realloc(*ports, (*n + 1) * sizeof *p);
	if (!p)
		return -1;
	*ports = p;
	p[*n].name = acrt__strdup(name);
	if (!p[*n].name)
		return -1;
	p[*n].schema = schema;
	p[*n].mark = m;
	(*n)++;
	return 0;
}

/* Declared inputs: or outputs: (a list of {name, schema} or of names). */
static int
parse_ports(acrt__bpload *L, size_t idx, const acrt__ynode *list, const char *key,
            acrt__port_spec **ports, size_t *np)
{
	const char *comp = L->bp->comps[idx].name;
	const char *kind = !strcmp(key, "inputs") ? "input" : "output";
	int rc = 0;
	if (list->kind != ACRT__Y_SEQ)
		return acrt__err_type(L, list, key, "a list of ports");
	for (size_t i = 0; i < list->n; i++) {
		const acrt__ynode *it = list->items[i], *nn = it;
		json_t *schema = NULL;
		if (it->kind == ACRT__Y_MAP) {
			char where[160];
			snprintf(where, sizeof where, "in %s port of component '%s'", kind, comp);
			if (acrt__dialect_keys(L, it, port_keys, ACRT__AT_PORT, where) < 0)
				rc = -1;
			nn = acrt__ynode_get(it, "name");
			if (!nn) {
				rc = acrt__err(
				    L, it, "%s port of component '%s': missing required key 'name'",
				    kind, comp);
				continue;
			}
		}
		if (nn->kind != ACRT__Y_STR) {
			rc = acrt__err_type(L, nn, kind, "a port name");
			continue;
		}
		if (!acrt__name_ok(nn->text)) {
			rc = acrt__err(L, nn, "%s port name '%s' must match ^[a-z][a-z0-9_]*$",
			               kind, nn->text);
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < *np && !dup; j++)
			dup = !strcmp((*ports)[j].name, nn->text);
		if (dup) {
			rc = acrt__err(L, nn, "%s port '%s' listed twice in component '%s'", kind,
			               nn->text, comp);
			continue;
		}
		const acrt__ynode *sn =
		    it->kind == ACRT__Y_MAP ? acrt__ynode_get(it, "schema") : NULL;
		if (sn && acrt__port_schema(L, sn, nn, &schema) < 0) {
			rc = -1;
			continue;
		}
		if (sn && acrt__schema_ref_add(L, idx, kind[0] == 'o', nn->text, sn) < 0) {
			json_decref(schema);
			return -1;
		}
		if (acrt__add_port(ports, np, nn->text, schema, nn->mark) < 0) {
			json_decref(schema);
			return acrt__err(L, nn, "out of memory");
		}
	}
	return rc;
}

static int
default_ports(acrt__bpload *L, const char *const *names, acrt__port_spec **ports, size_t *np,
              acrt__mark m)
{
	for (; names && *names; names++)
		if (acrt__add_port(ports, np, *names, NULL, m) < 0)
			return acrt__err(L, NULL, "out of memory");
	return 0;
}

/* The first string scalar under n (values and items, not keys) whose text is
 * `text`, or NULL: where a config names a port. */
static const acrt__ynode *
find_text(const acrt__ynode *n, const char *text)
{
	if (!n)
		return NULL;
	if (n->kind == ACRT__Y_STR)
		return !strcmp(n->text, text) ? n : NULL;
	for (size_t i = 0; (n->kind == ACRT__Y_MAP || n->kind == ACRT__Y_SEQ) && i < n->n; i++) {
		const acrt__ynode *f = find_text(n->items[i], text);
		if (f)
			return f;
	}
	return NULL;
}

/* Output ports a built-in type takes from its config (the Router's routes):
 * added after the defaults, each pointing at the config value that names it;
 * with declared outputs, each must be one of them. */
static int
config_ports(acrt__bpload *L, const acrt__comp_aux *a, acrt__comp_spec *c, bool declared)
{
	const char *names[256];
	size_t n = a->bi->config_out_ports(c->config, names, 256);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		bool have = false;
		for (size_t j = 0; j < c->n_outputs && !have; j++)
			have = !strcmp(c->outputs[j].name, names[i]);
		if (have)
			continue;
		const acrt__ynode *at = find_text(a->config, names[i]);
		if (declared)
			rc = acrt__err(L, at ? at : a->node,
			               "component '%s' routes to port '%s', which is not among its "
			               "declared outputs",
			               c->name, names[i]);
		else if (acrt__add_port(&c->outputs, &c->n_outputs, names[i], NULL,
		                        at ? at->mark : c->mark) < 0)
			return acrt__err(L, NULL, "out of memory");
	}
	return rc;
}

/* ---- Components ------------------------------------------------------------------ */

static char *
plugin_abs_path(const acrt__bpload *L, const char *path)
{
	return acrt__bp_plugin_path(L->bp, path);
}

static int
parse_kind(acrt__bpload *L, const acrt__ynode *node, acrt__comp_spec *c, acrt__comp_aux *a)
{
	const acrt__ynode *t = acrt__ynode_get(node, "type");
	const acrt__ynode *impl = acrt__ynode_get(node, "implementation");
	if (t && impl && !(impl->kind == ACRT__Y_STR && !strncmp(impl->text, "plugin:", 7))) {
		/* The dialect's implementation: names the original's generated code. */
		if (acrt__note(L, acrt__ynode_key(node, "implementation"),
		               "implementation: not used (acrt runs the type '%s')",
		               t->kind == ACRT__Y_STR ? t->text : "?") < 0)
			return -1;
		impl = NULL;
	}
	if (t && impl)
		return acrt__err(L, acrt__ynode_key(node, "implementation"),
		                 "component '%s' has both 'type' and 'implementation'", c->name);
	if (!t && !impl)
		return acrt__err(L, node, "component '%s' needs 'type' or 'implementation'",
		                 c->name);
	if (t) {
		if (t->kind != ACRT__Y_STR)
			return acrt__err_type(L, t, "type", "a component type name");
		a->bi = acrt__builtin_find(t->text);
		if (!a->bi && acrt__dialect_type_known(t->text)) {
			/* the original's: acrt__dialect_map picks the built-in */
			c->type = acrt__strdup(t->text);
			return c->type ? 0 : acrt__err(L, t, "out of memory");
		}
		if (!a->bi) {
			const char *names[96];
			size_t k = 0;
			const acrt__builtin *b;
			while (k < 64 && (b = acrt__builtin_at(k)) != NULL)
				names[k++] = b->type;
			k += acrt__dialect_type_names(names + k, 96 - k);
			char hint[128];
			acrt__hint(hint, sizeof hint, t->text, names, k);
			return acrt__err(L, t, "unknown component type '%s'%s", t->text, hint);
		}
		if (!a->bi->desc)
			return acrt__err(L, t, "type '%s' is not available in this release",
			                 t->text);
		c->type = acrt__strdup(t->text);
		return c->type ? 0 : acrt__err(L, t, "out of memory");
	}
	a->impl = impl;
	if (impl->kind != ACRT__Y_STR)
		return acrt__err_type(L, impl, "implementation", "plugin:PATH#SYMBOL");
	char *path = NULL, *sym = NULL;
	if (strncmp(impl->text, "plugin:", 7) != 0 ||
	    acrt__plugin_parse_ref(impl->text, &path, &sym) < 0)
		return acrt__err(L, impl, "implementation '%s': expected plugin:PATH#SYMBOL",
		                 impl->text);
	/* path and sym are acrt__plugin_parse_ref's (plain malloc): copied. */
	char *abs = plugin_abs_path(L, path), *symbol = acrt__strdup(sym);
	free(path);
	free(sym);
	if (abs == NULL || symbol == NULL) {
		acrt__free(abs);
		acrt__free(symbol);
		return acrt__err(L, impl, "out of memory");
	}
	c->plugin_path = abs;
	c->plugin_symbol = symbol;
	return 0;
}

static int
parse_raw(acrt__bpload *L, const acrt__ynode *node, const char *key, json_t **out)
{
	const acrt__ynode *m = NULL;
	int rc = acrt__get_map(L, node, key, &m);
	if (rc <= 0)
		return rc;
	*out = acrt__ynode_json(m);
	return *out ? 0 : acrt__err(L, m, "out of memory");
}

static int
parse_capabilities(acrt__bpload *L, const acrt__ynode *node, acrt__comp_spec *c)
{
	const acrt__ynode *m = NULL;
	char where[160];
	int rc = acrt__get_map(L, node, "capabilities", &m);
	if (rc <= 0)
		return rc;
	snprintf(where, sizeof where, "in capabilities of component '%s'", c->name);
	rc = 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->keys[i]->text;
		if (strncmp(k, "plugin:", 7) != 0) {
			bool known = false;
			for (const char *const *a = cap_keys; *a && !known; a++)
				known = strcmp(*a, k) == 0;
			if (!known) {
				char hint[128];
				acrt__hint(hint, sizeof hint, k, cap_keys, (size_t)-1);
				rc = acrt__err(L, m->keys[i], "unknown key '%s' %s%s", k, where,
				               hint);
			}
		}
		acrt__ykind kind = m->items[i]->kind;
		if (kind != ACRT__Y_MAP && kind != ACRT__Y_NULL && kind != ACRT__Y_BOOL)
			rc = acrt__err_type(L, m->items[i], k, "a mapping");
	}
	if (rc < 0)
		return rc;
	c->capabilities = acrt__ynode_json(m);
	if (!c->capabilities)
		return acrt__err(L, m, "out of memory");
	/* Capability plugins: resolve PATH against the blueprint's directory (the
	 * key is rewritten to the absolute form). Nothing is opened here: the
	 * deployment's runtime.plugin_dirs is not read yet; plugins.c checks the
	 * path against it, then the ABI, once it is (called from config.c). */
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->keys[i]->text;
		char *path = NULL, *sym = NULL, *abs = NULL;
		if (strncmp(k, "plugin:", 7) != 0)
			continue;
		if (acrt__plugin_parse_ref(k, &path, &sym) != 0) {
			rc = acrt__err(L, m->keys[i],
			               "capability '%s': expected plugin:PATH#SYMBOL", k);
			continue;
		}
		char *abs_path = plugin_abs_path(L, path);
		if (abs_path == NULL ||
		    (abs = acrt__bp_printf("plugin:%s#%s", abs_path, sym)) == NULL) {
			rc = acrt__err(L, m->keys[i], "out of memory");
		} else {
			json_t *v = json_incref(json_object_get(c->capabilities, k));
			json_object_del(c->capabilities, k);
			json_object_set_new(c->capabilities, abs, v);
		}
		acrt__free(abs_path);
		acrt__free(abs);
		free(path); /* acrt__plugin_parse_ref's */
		free(sym);
	}
	return rc;
}

static int
parse_component(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const acrt__ynode *node = a->node, *n;
	char where[160];
	int rc = 0;
	int64_t replicas = 1;

	c->mark = node->mark;
	c->replicas = 1;
	if (node->kind != ACRT__Y_MAP) {
		a->broken = true;
		return acrt__err_type(L, node, "component", "a mapping");
	}
	n = acrt__ynode_get(node, "name");
	if (!n || n->kind == ACRT__Y_NULL) {
		a->broken = true;
		return acrt__err(L, node, "component #%zu: missing required key 'name'", idx + 1);
	}
	if (n->kind != ACRT__Y_STR || !acrt__name_dash_ok(n->text)) {
		a->broken = true;
		if (n->kind != ACRT__Y_STR)
			return acrt__err_type(L, n, "name", "a string");
		return acrt__err(
		    L, n, "component name '%s' must match ^[a-z]([a-z0-9_-]*[a-z0-9_])?$", n->text);
	}
	for (size_t j = 0; j < idx; j++) {
		if (L->bp->comps[j].name && !strcmp(L->bp->comps[j].name, n->text)) {
			a->broken = true;
			return acrt__err(L, n, "duplicate component name '%s' (first at line %d)",
			                 n->text, L->bp->comps[j].mark.line);
		}
	}
	c->name = acrt__strdup(n->text);
	if (!c->name)
		return acrt__err(L, n, "out of memory");
	if (!acrt__name_ok(c->name))
		L->dialect = true; /* a hyphen: the original's naming */
	snprintf(where, sizeof where, "in component '%s'", c->name);
	if (acrt__dialect_keys(L, node, comp_keys, ACRT__AT_COMPONENT, where) < 0)
		rc = -1;
	if (parse_kind(L, node, c, a) < 0) {
		a->broken = true;
		rc = -1;
	}

	/* config (alias configuration) */
	const acrt__ynode *cfg = acrt__ynode_get(node, "config");
	const acrt__ynode *cfg2 = acrt__ynode_get(node, "configuration");
	if (cfg && cfg2) {
		rc = acrt__err(L, acrt__ynode_key(node, "configuration"),
		               "component '%s' has both 'config' and 'configuration'", c->name);
	} else {
		const char *ck = cfg ? "config" : "configuration";
		cfg = cfg ? cfg : cfg2;
		if (cfg && cfg->kind != ACRT__Y_MAP && cfg->kind != ACRT__Y_NULL) {
			rc = acrt__err_type(L, cfg, ck, "a mapping");
			cfg = NULL;
		}
	}
	a->config = cfg && cfg->kind == ACRT__Y_MAP ? cfg : NULL;
	c->config = a->config ? acrt__ynode_json(a->config) : json_object();
	if (!c->config)
		return acrt__err(L, node, "out of memory");
	if (acrt__override_premerge(L, idx) < 0) /* the deployment's config */
		return -1;
	if (rc == 0 && !a->broken && acrt__dialect_map(L, idx) < 0) /* the original's types */
		rc = -1;
	if (!a->bi && c->type) /* the original's type, not mapped after an error */
		a->broken = true;

	/* ports: declared ones replace the type's defaults */
	const acrt__ynode *in = acrt__ynode_get(node, "inputs");
	const acrt__ynode *out = acrt__ynode_get(node, "outputs");
	static const char *const plug_in[] = {"input", NULL}, *const plug_out[] = {"output", NULL};
	if (in && parse_ports(L, idx, in, "inputs", &c->inputs, &c->n_inputs) < 0)
		rc = -1, a->broken = true;
	if (out && parse_ports(L, idx, out, "outputs", &c->outputs, &c->n_outputs) < 0)
		rc = -1, a->broken = true;
	bool adr_in = false, adr_out = false; /* ADR-031 ports: declared some */
	if (acrt__dialect_ports(L, idx, &adr_in, &adr_out) < 0)
		rc = -1, a->broken = true;
	in = in ? in : adr_in ? node : NULL;
	out = out ? out : adr_out ? node : NULL;
	if (!a->broken) {
		const char *const *din = a->dflt_in ? a->dflt_in
		                         : a->bi    ? a->bi->in_ports
		                                    : plug_in;
		const char *const *dout = a->dflt_out ? a->dflt_out
		                          : a->bi     ? a->bi->out_ports
		                                      : plug_out;
		if (!in && default_ports(L, din, &c->inputs, &c->n_inputs, c->mark) < 0)
			rc = -1;
		if (!out && default_ports(L, dout, &c->outputs, &c->n_outputs, c->mark) < 0)
			rc = -1;
		if (acrt__dialect_fill(L, idx) < 0)
			rc = -1;
		if (a->bi && a->bi->config_out_ports && config_ports(L, a, c, out != NULL) < 0)
			rc = -1;
	}

	if (parse_capabilities(L, node, c) < 0)
		rc = -1;
	if (parse_raw(L, node, "batching", &c->batching) < 0)
		rc = -1;
	if (parse_raw(L, node, "state", &c->state) < 0)
		rc = -1;
	if (acrt__get_int(L, node, "replicas", 1, &replicas) < 0)
		rc = -1;
	else if (replicas > ACRT__MAX_REPLICAS)
		rc = acrt__err(L, acrt__ynode_get(node, "replicas"), "replicas must be <= %d",
		               ACRT__MAX_REPLICAS);
	else
		c->replicas = (int)replicas;
	const char *desc;
	if (acrt__get_text(L, node, "description", &desc) < 0)
		rc = -1;
	return rc;
}

/* system's KEY, or the top level's when system: lacks it (the dialect);
 * reported when both have it. */
static const acrt__ynode *
sys_get(acrt__bpload *L, const acrt__ynode *root, const acrt__ynode *sys, const char *key, int *rc)
{
	const acrt__ynode *v = sys ? acrt__ynode_get(sys, key) : NULL;
	const acrt__ynode *r = root != sys ? acrt__ynode_get(root, key) : NULL;
	if (v && r)
		*rc = acrt__err(L, acrt__ynode_key(root, key),
		                "'%s' given both at the top level and in system (line %d)", key,
		                acrt__ynode_key(sys, key)->mark.line);
	return v ? v : r;
}

static int
check_version(acrt__bpload *L, const acrt__ynode *map)
{
	const char *s;
	if (acrt__get_text(L, map, "schema_version", &s) == 1 && strncmp(s, "1.", 2) &&
	    strcmp(s, "1"))
		return acrt__err(L, acrt__ynode_get(map, "schema_version"),
		                 "unsupported schema_version '%s' (this release reads 1.x)", s);
	return 0;
}

static int
system_name(acrt__bpload *L, const acrt__ynode *root, const acrt__ynode *sys)
{
	acrt__blueprint *bp = L->bp;
	int rc = 0;
	const acrt__ynode *nm = sys_get(L, root, sys, "name", &rc);
	if ((!nm || nm->kind == ACRT__Y_NULL) && sys != root)
		return acrt__err(L, sys, "system: missing required key 'name'");
	if (!nm || nm->kind == ACRT__Y_NULL) {
		/* No system: and no name: the dialect allows it. */
		if (acrt__note(L, root, "no system name: the system is named 'system'") < 0)
			return -1;
		bp->name = acrt__strdup("system");
		return bp->name ? rc : acrt__err(L, root, "out of memory");
	}
	if (nm->kind != ACRT__Y_STR)
		return acrt__err_type(L, nm, "name", "a string");
	if (!acrt__name_dash_ok(nm->text))
		return acrt__err(
		    L, nm, "system name '%s' must match ^[a-z]([a-z0-9_-]*[a-z0-9_])?$", nm->text);
	if (!(bp->name = acrt__strdup(nm->text)))
		return acrt__err(L, nm, "out of memory");
	if (!acrt__name_ok(bp->name))
		L->dialect = true;
	return rc;
}

static int
system_text(acrt__bpload *L, const acrt__ynode *root, const acrt__ynode *sys, const char *key,
            char **out)
{
	int rc = 0;
	const acrt__ynode *v = sys_get(L, root, sys, key, &rc);
	if (!v || v->kind == ACRT__Y_NULL)
		return rc;
	if (v->kind == ACRT__Y_MAP || v->kind == ACRT__Y_SEQ)
		return acrt__err_type(L, v, key, "a string");
	if (!(*out = acrt__strdup(v->text)))
		return acrt__err(L, v, "out of memory");
	return rc;
}

int
acrt__arch_parse(acrt__bpload *L)
{
	static const char *const deploy_keys[] = {"system_name", "runtime", "component_overrides",
	                                          NULL};
	const acrt__ynode *root = L->arch, *sys = NULL, *comps;
	acrt__blueprint *bp = L->bp;
	int rc = 0;

	if (root->kind != ACRT__Y_MAP)
		return acrt__err_type(L, root, "architecture", "a mapping at the top level");
	sys = acrt__ynode_get(root, "system");
	if (!sys && !acrt__ynode_get(root, "components")) {
		for (const char *const *k = deploy_keys; *k; k++)
			if (acrt__ynode_get(root, *k))
				return acrt__err(
				    L, root,
				    "'%s' is a deployment, not a blueprint (no 'system:'); "
				    "give it as the deployment file",
				    bp->arch_path);
		return acrt__err(L, root, "missing required key 'system' (or 'components')");
	}
	if (acrt__dialect_keys(L, root, top_keys, ACRT__AT_TOP, "at the top level") < 0)
		rc = -1;
	if (check_version(L, root) < 0)
		rc = -1;
	if (sys && sys->kind != ACRT__Y_MAP)
		return acrt__err_type(L, sys, "system", "a mapping");
	if (!sys || acrt__ynode_get(root, "components"))
		L->dialect = true; /* the dialect: components at the top level */
	if (!sys)
		sys = root;
	if (sys != root) {
		if (acrt__dialect_keys(L, sys, sys_keys, ACRT__AT_SYSTEM, "in system") < 0)
			rc = -1;
		if (check_version(L, sys) < 0)
			rc = -1;
	}
	if (parse_schemas(L, root) < 0)
		rc = -1;
	if (sys != root && parse_schemas(L, sys) < 0)
		rc = -1;

	if (system_name(L, root, sys) < 0)
		rc = -1;
	if (system_text(L, root, sys, "version", &bp->version) < 0 ||
	    system_text(L, root, sys, "description", &bp->description) < 0)
		rc = -1;

	L->bindings = sys_get(L, root, sys, "bindings", &rc);
	if (L->bindings && L->bindings->kind == ACRT__Y_NULL)
		L->bindings = NULL;
	if (L->bindings && L->bindings->kind != ACRT__Y_SEQ) {
		rc = acrt__err_type(L, L->bindings, "bindings", "a list");
		L->bindings = NULL;
	}

	comps = sys_get(L, root, sys, "components", &rc);
	if (!comps || comps->kind == ACRT__Y_NULL)
		return acrt__err(L, comps ? comps : sys,
		                 "system: missing required key 'components'");
	if (comps->kind != ACRT__Y_SEQ)
		return acrt__err_type(L, comps, "components", "a list");
	if (comps->n == 0)
		return acrt__err(L, comps, "system has no components");
	bp->comps = acrt__calloc(comps->n, sizeof *bp->comps);
	L->aux = acrt__calloc(comps->n, sizeof *L->aux);
	if (!bp->comps || !L->aux)
		return acrt__err(L, comps, "out of memory");
	bp->n_comps = comps->n;
	for (size_t i = 0; i < comps->n; i++) {
		L->aux[i].node = comps->items[i];
		if (parse_component(L, i) < 0)
			rc = -1;
	}
	return rc;
}
