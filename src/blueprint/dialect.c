/*
 * dialect.c - the keys of the original Autocoder blueprint language that acrt
 * accepts but does not execute (docs/AUTOCODER.md). Each is accepted where the
 * original puts it (top level, system, component, port, binding) and reported
 * once per occurrence as a note, a non-fatal diagnostic that says what acrt
 * does with it. A key that is neither acrt's nor the dialect's at that place
 * stays an error, with a "did you mean" drawn from both sets.
 *
 * Only what ../shared/design/autocoder-dialect.md documents is listed here;
 * the table in docs/AUTOCODER.md mirrors these tables.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"

typedef struct dialect_key {
	const char *key;
	const char *note; /* the note's text after "KEY: " */
} dialect_key;

static const dialect_key top_keys[] = {
    {"metadata", "kept for documentation, not used"},
    {"policy", "not enforced at run time"},
    {NULL, NULL},
};

static const dialect_key sys_keys[] = {
    {"configuration", "not used (settings go in each component's config)"},
    {"deployment", "not used (acrt reads deployment.yaml)"},
    {"validation", "not used (performance targets and test data of the original)"},
    {"policies", "not enforced at run time"},
    {"runtime", "not used (acrt reads runtime: from deployment.yaml)"},
    {NULL, NULL},
};

static const dialect_key comp_keys[] = {
    {"processing_mode", "not used (acrt processes each event as it arrives; see batching)"},
    {"properties", "not checked"},
    {"contracts", "not checked"},
    {"resources", "not enforced"},
    {"dependencies", "not used"},
    {"observability", "not used (acrt's metrics and logs are always on)"},
    {NULL, NULL},
};

static const dialect_key port_keys[] = {
    {"required", "not checked (input ports are always bound)"},
    {"flow_type", "not used"},
    {"batch_size", "not used (see batching)"},
    {"type", "not used (see schema)"},
    {NULL, NULL},
};

static const dialect_key binding_keys[] = {
    {"transformation", "not executed"},
    {"condition", "not evaluated: every event goes through (use a Filter)"},
    {"error_handling", "not used (see the retry and dead_letter capabilities)"},
    {"qos", "not enforced"},
    {NULL, NULL},
};

/* deployment.yaml: the form the original's parser reads (deployment,
 * environment, the overrides' ports, environment_variables and
 * resource_overrides) and the form its docs describe (replicas, env_vars). */
static const dialect_key deploy_keys[] = {
    {"deployment", "not used (the original's platform, containers, services and scaling)"},
    {"environment", "not used (${VAR} comes from acrt's own environment)"},
    {"architecture_version", "not checked"},
    {"env_vars", "not used (${VAR} comes from acrt's own environment)"},
    {"replicas", "not used (give a component's replicas in component_overrides)"},
    {NULL, NULL},
};

static const dialect_key runtime_keys[] = {
    {"resource_limits", "not enforced"},
    {"monitoring", "not used (acrt's metrics are always on: /metrics)"},
    {"error_handling", "not used (see the retry and circuit_breaker capabilities)"},
    {NULL, NULL},
};

static const dialect_key timeout_keys[] = {
    {"health_check_timeout_ms", "not used"},
    {"request_timeout_ms", "not used (see an APIEndpoint's reply.timeout_ms)"},
    {NULL, NULL},
};

static const dialect_key logging_keys[] = {
    {"output", "not used (acrt logs to stderr)"},
    {"structured_fields", "not used (format: json has them all)"},
    {NULL, NULL},
};

static const dialect_key override_keys[] = {
    {"ports", "not used (an APIEndpoint's listen is in its config)"},
    {"environment_variables", "not used (${VAR} comes from acrt's own environment)"},
    {"resource_overrides", "not enforced"},
    {NULL, NULL},
};

static const dialect_key *
table(acrt__dialect_place place)
{
	switch (place) {
	case ACRT__AT_DEPLOY:
		return deploy_keys;
	case ACRT__AT_RUNTIME:
		return runtime_keys;
	case ACRT__AT_TIMEOUTS:
		return timeout_keys;
	case ACRT__AT_LOGGING:
		return logging_keys;
	case ACRT__AT_OVERRIDE:
		return override_keys;
	case ACRT__AT_TOP:
		return top_keys;
	case ACRT__AT_SYSTEM:
		return sys_keys;
	case ACRT__AT_COMPONENT:
		return comp_keys;
	case ACRT__AT_PORT:
		return port_keys;
	case ACRT__AT_BINDING:
		return binding_keys;
	}
	return top_keys;
}

int
acrt__note(acrt__bpload *L, const acrt__ynode *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	acrt__mark top = {L->bp->arch_path, 1, 1};
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	L->dialect = true;
	if (acrt__diag_note(L->diag, at ? &at->mark : &top, "%s", msg) < 0)
		return acrt__err(L, at, "out of memory");
	return 0;
}

/* The check of map's keys against `allowed`, where a key of table t is a
 * note "PREFIXKEY: NOTE" instead of an error; hints from both sets. */
static int
keys_with(acrt__bpload *L, const acrt__ynode *map, const char *const *allowed, const dialect_key *t,
          const char *prefix, const char *where)
{
	const char *cands[64];
	size_t nc = 0;
	int rc = 0;
	if (!map || map->kind != ACRT__Y_MAP)
		return 0;
	for (const char *const *a = allowed; *a && nc < 64; a++)
		cands[nc++] = *a;
	for (const dialect_key *d = t; d->key && nc < 64; d++)
		cands[nc++] = d->key;
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i]->text;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, k);
		if (ok)
			continue;
		const dialect_key *d = t;
		while (d->key && strcmp(d->key, k))
			d++;
		if (d->key) {
			if (acrt__note(L, map->keys[i], "%s%s: %s", prefix, k, d->note) < 0)
				rc = -1;
			continue;
		}
		char hint[128];
		acrt__hint(hint, sizeof hint, k, cands, nc);
		rc = acrt__err(L, map->keys[i], "unknown key '%s' %s%s", k, where, hint);
	}
	return rc;
}

int
acrt__dialect_keys(acrt__bpload *L, const acrt__ynode *map, const char *const *allowed,
                   acrt__dialect_place place, const char *where)
{
	return keys_with(L, map, allowed, table(place), place == ACRT__AT_BINDING ? "binding " : "",
	                 where);
}

/* ---- Schema names on both ends of a binding -------------------------------------- */

int
acrt__schema_ref_add(acrt__bpload *L, size_t comp, bool out, const char *port, const acrt__ynode *n)
{
	if (!n || n->kind != ACRT__Y_STR || n->text[strspn(n->text, " \t\r\n")] == '{')
		return 0; /* a mapping, a boolean or JSON: no name */
	struct acrt__schema_ref *r =
	    acrt__realloc(L->schema_refs, (L->n_schema_refs + 1) * sizeof *r);
	if (!r)
		return acrt__err(L, n, "out of memory");
	L->schema_refs = r;
	r[L->n_schema_refs++] = (struct acrt__schema_ref){comp, out, port, n};
	return 0;
}

static const acrt__ynode *
schema_ref(const acrt__bpload *L, size_t comp, bool out, const char *port)
{
	for (size_t i = 0; i < L->n_schema_refs; i++) {
		const struct acrt__schema_ref *r = &L->schema_refs[i];
		if (r->comp == comp && r->out == out && !strcmp(r->port, port))
			return r->name;
	}
	return NULL;
}

int
acrt__schema_refs_check(acrt__bpload *L, const acrt__ynode *b, size_t from, const char *fp,
                        size_t to, const char *tp)
{
	const acrt__ynode *a = schema_ref(L, from, true, fp), *z = schema_ref(L, to, false, tp);
	if (!L->dialect || !a || !z || !strcmp(a->text, z->text) ||
	    acrt__ynode_get(b, "transformation"))
		return 0;
	return acrt__note(L, b,
	                  "binding %s.%s -> %s.%s: the ports name different schemas ('%s', '%s'), "
	                  "which the original refuses without a transformation; acrt checks "
	                  "each port against its own",
	                  L->bp->comps[from].name, fp, L->bp->comps[to].name, tp, a->text, z->text);
}

/* ---- ADR-031 ports ------------------------------------------------------------ */

int
acrt__adr_direction(const acrt__ynode *port)
{
	const acrt__ynode *d =
	    port && port->kind == ACRT__Y_MAP ? acrt__ynode_get(port, "direction") : NULL;
	const acrt__ynode *sc =
	    port && port->kind == ACRT__Y_MAP ? acrt__ynode_get(port, "semantic_class") : NULL;
	const char *t = d && d->kind == ACRT__Y_STR ? d->text : NULL;
	if (t)
		return !strcmp(t, "input") ? 0 : !strcmp(t, "output") ? 1 : -1;
	if (d || !sc || sc->kind != ACRT__Y_STR)
		return -1;
	size_t n = strlen(sc->text);
	if (n > 3 && !strcmp(sc->text + n - 3, "_in"))
		return 0;
	if (n > 4 && !strcmp(sc->text + n - 4, "_out"))
		return 1;
	return -1;
}

/* One ADR-031 port {semantic_class, direction, data_schema: {id, version},
 * description}: its direction, its schema (data_schema.id, read as a port's
 * schema: a name, a label or inline), notes for what is not used. */
static int
adr_port(acrt__bpload *L, size_t idx, const acrt__ynode *name, const acrt__ynode *p, bool *in,
         bool *out)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	static const char *const keys[] = {"direction", "data_schema", "description", NULL};
	static const char *const ds_keys[] = {"id", NULL};
	static const dialect_key port_notes[] = {
	    {"semantic_class", "not used (the direction says which way events go)"}, {NULL, NULL}};
	static const dialect_key ds_notes[] = {{"version", "not checked"}, {NULL, NULL}};
	char where[192];
	int rc = 0;
	if (!acrt__name_ok(name->text))
		return acrt__err(L, name, "port name '%s' must match ^[a-z][a-z0-9_]*$",
		                 name->text);
	if (p->kind != ACRT__Y_MAP && p->kind != ACRT__Y_NULL)
		return acrt__err_type(L, p, name->text, "a mapping {direction, data_schema, ...}");
	snprintf(where, sizeof where, "in port '%s' of component '%s'", name->text, c->name);
	if (keys_with(L, p, keys, port_notes, "", where) < 0)
		rc = -1;
	int dir = acrt__adr_direction(p);
	const acrt__ynode *d = p->kind == ACRT__Y_MAP ? acrt__ynode_get(p, "direction") : NULL;
	if (dir < 0) {
		static const char *const dirs[] = {"input", "output", NULL};
		char hint[128] = "";
		if (d && d->kind == ACRT__Y_STR)
			acrt__hint(hint, sizeof hint, d->text, dirs, (size_t)-1);
		return acrt__err(L, d ? d : name,
		                 "port '%s' of component '%s': direction must be input or "
		                 "output%s",
		                 name->text, c->name, hint);
	}
	const acrt__ynode *ds = p->kind == ACRT__Y_MAP ? acrt__ynode_get(p, "data_schema") : NULL;
	const acrt__ynode *id = NULL;
	if (ds && ds->kind == ACRT__Y_MAP) {
		snprintf(where, sizeof where, "in data_schema of port '%s'", name->text);
		if (keys_with(L, ds, ds_keys, ds_notes, "data_schema ", where) < 0)
			rc = -1;
		id = acrt__ynode_get(ds, "id");
	} else if (ds && ds->kind != ACRT__Y_NULL) {
		id = ds; /* a name, inline JSON or a schema mapping */
	}
	acrt__port_spec **ports = dir ? &c->outputs : &c->inputs;
	size_t *np = dir ? &c->n_outputs : &c->n_inputs;
	for (size_t j = 0; j < *np; j++)
		if (!strcmp((*ports)[j].name, name->text))
			return rc; /* also in inputs:/outputs:, which win */
	json_t *schema = NULL;
	if (id && (acrt__port_schema(L, id, name, &schema) < 0 ||
	           acrt__schema_ref_add(L, idx, dir == 1, name->text, id) < 0)) {
		json_decref(schema);
		return -1;
	}
	if (acrt__add_port(ports, np, name->text, schema, name->mark) < 0) {
		json_decref(schema);
		return acrt__err(L, name, "out of memory");
	}
	*(dir ? out : in) = true;
	return rc;
}

int
acrt__dialect_ports(acrt__bpload *L, size_t idx, bool *in, bool *out)
{
	const acrt__ynode *m = acrt__ynode_get(L->aux[idx].node, "ports");
	int rc = 0;
	if (!m || m->kind == ACRT__Y_NULL)
		return 0;
	if (m->kind != ACRT__Y_MAP)
		return acrt__err_type(L, m, "ports", "a mapping of port names (ADR-031)");
	L->dialect = true;
	for (size_t i = 0; i < m->n; i++)
		if (adr_port(L, idx, m->keys[i], m->items[i], in, out) < 0)
			rc = -1;
	/* A built-in that takes `ports` (Source, Passthrough, ...) sends on the
	 * declared outputs, as the original's component does on its ports. */
	const acrt__builtin *bi = L->aux[idx].bi;
	for (const acrt_prop *p = *out && bi && bi->desc ? bi->desc->props : NULL;
	     p && p->type != ACRT_PROP_END; p++)
		if (!strcmp(p->key, "ports"))
			L->aux[idx].fill_ports = true;
	return rc;
}
