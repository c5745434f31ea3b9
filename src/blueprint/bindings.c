/*
 * bindings.c - reads system.bindings in its accepted shapes into one
 * acrt__binding_spec per (source port, target port):
 *
 *   {from: END, to: END | [END, ...], buffer_size, allow_cycle}
 *   {from_component, from_port, to_component | to_components, to_port | to_ports,
 *    stream_name}
 *   {source: END, target: END | [END, ...]}
 *
 * where END is "comp.port", "comp", or a mapping {component, PORT} whose
 * port key is `output` (from), `input` (to), `stream` or `port` (the
 * Autocoder dialect's shapes, docs/AUTOCODER.md). `stream_name` names the
 * port on both sides unless from_port / to_port do. A missing port is
 * `output` on the from side and `input` on the to side.
 * Then checks that endpoints exist (with hints), that no edge is listed twice,
 * and that every input port is bound to something.
 *
 * In a blueprint read as the original's (L->dialect), a port that only
 * bindings name is created, with a note (the original's healer creates it),
 * and an unbound input port is a note; otherwise both are errors.
 *
 * Dead letters: a component whose capabilities.dead_letter.to is set gets an
 * output port `dead_letter` (unless it declares one) and an implicit binding
 * from it to `to`, checked and counted like any binding (errors point at the
 * `to` value).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/bp_int.h"

/* Keys of the Autocoder dialect that are not executed (transformation,
 * condition, ...) are notes: dialect.c. */
static const char *const keys_a[] = {"from",        "to",          "buffer_size",
                                     "allow_cycle", "description", NULL};
static const char *const keys_b[] = {
    "from_component", "from_port",   "to_component", "to_components", "to_port", "to_ports",
    "stream_name",    "buffer_size", "allow_cycle",  "description",   NULL};
static const char *const keys_c[] = {"source",      "target",      "buffer_size",
                                     "allow_cycle", "description", NULL};
static const char *const keys_all[] = {
    "from",        "to",          "from_component", "to_component", "to_components",
    "from_port",   "to_port",     "to_ports",       "source",       "target",
    "buffer_size", "allow_cycle", "description",    "stream_name",  NULL};
static const char *const keys_ep_from[] = {"component", "output", "stream", "port", NULL};
static const char *const keys_ep_to[] = {"component", "input", "stream", "port", NULL};

/* One end of an edge, before resolution. */
typedef struct endpoint {
	char comp[128], port[128];
	const acrt__ynode *at; /* for messages */
} endpoint;

#define MAX_TARGETS 256

typedef struct edge_set {
	endpoint from;
	endpoint to[MAX_TARGETS];
	size_t n_to;
} edge_set;

static int
set_ep(acrt__bpload *L, endpoint *e, const char *comp, const char *port, const acrt__ynode *at)
{
	if (strlen(comp) >= sizeof e->comp || strlen(port) >= sizeof e->port)
		return acrt__err(L, at, "name too long");
	strcpy(e->comp, comp);
	strcpy(e->port, port);
	e->at = at;
	return 0;
}

/* "comp.port" or "comp" */
static int
parse_dotted(acrt__bpload *L, const acrt__ynode *n, const char *dflt_port, const char *key,
             endpoint *e)
{
	char buf[256];
	if (n->kind != ACRT__Y_STR)
		return acrt__err_type(L, n, key, "'component.port'");
	snprintf(buf, sizeof buf, "%s", n->text);
	char *dot = strchr(buf, '.');
	if (dot)
		*dot = '\0';
	if (!buf[0] || (dot && !dot[1]))
		return acrt__err(L, n, "%s: '%s' should be 'component.port' or 'component'", key,
		                 n->text);
	return set_ep(L, e, buf, dot ? dot + 1 : dflt_port, n);
}

static int
add_target(acrt__bpload *L, edge_set *s, const acrt__ynode *at)
{
	if (s->n_to == MAX_TARGETS)
		return acrt__err(L, at, "too many targets in one binding (at most %d)",
		                 MAX_TARGETS);
	s->n_to++;
	return 0;
}

/* One END: "comp.port", "comp" or {component, output|input|stream|port}
 * (the latter the dialect's). out: the from side. */
static int
parse_end(acrt__bpload *L, const acrt__ynode *n, bool out, const char *key, endpoint *e)
{
	const char *dflt = out ? "output" : "input";
	if (n->kind == ACRT__Y_STR)
		return parse_dotted(L, n, dflt, key, e);
	if (n->kind != ACRT__Y_MAP)
		return acrt__err_type(L, n, key, "'component.port' or {component, port}");
	const char *comp = NULL, *port = dflt, *pk = out ? "output" : "input";
	char where[64];
	snprintf(where, sizeof where, "in binding %s", key);
	if (acrt__check_keys(L, n, out ? keys_ep_from : keys_ep_to, where) < 0)
		return -1;
	int r = acrt__get_str(L, n, "component", &comp);
	if (r == 0)
		return acrt__err(L, n, "binding %s: missing required key 'component'", key);
	int np = 0;
	static const char *const pkeys[3] = {"stream", "port", NULL};
	for (size_t i = 0; i < 3; i++) {
		const char *k = i < 2 ? pkeys[i] : pk;
		int g = acrt__get_str(L, n, k, &port);
		if (g < 0)
			return -1;
		np += g;
	}
	if (r < 0)
		return -1;
	if (np > 1)
		return acrt__err(L, n, "binding %s: name the port once (%s, stream or port)", key,
		                 pk);
	return set_ep(L, e, comp, port, acrt__ynode_get(n, "component"));
}

/* {from, to} and {source, target}: one END, then one END or a list. */
static int
shape_ends(acrt__bpload *L, const acrt__ynode *b, edge_set *s, const char *fk, const char *tk)
{
	const acrt__ynode *from = acrt__ynode_get(b, fk), *to = acrt__ynode_get(b, tk);
	int rc = 0;
	if (!from)
		rc = acrt__err(L, b, "binding: missing required key '%s'", fk);
	else if (parse_end(L, from, true, fk, &s->from) < 0)
		rc = -1;
	if (!to || to->kind == ACRT__Y_NULL)
		return acrt__err(L, to ? to : b, "binding: missing required key '%s'", tk);
	if (to->kind == ACRT__Y_SEQ) {
		if (to->n == 0)
			return acrt__err(L, to, "binding: '%s' is an empty list", tk);
		for (size_t i = 0; i < to->n; i++) {
			if (add_target(L, s, to->items[i]) < 0)
				return -1;
			if (parse_end(L, to->items[i], false, tk, &s->to[s->n_to - 1]) < 0) {
				rc = -1;
				s->n_to--;
			}
		}
		return rc;
	}
	if (add_target(L, s, to) < 0)
		return -1;
	if (parse_end(L, to, false, tk, &s->to[0]) < 0) {
		s->n_to = 0; /* reported: nothing to resolve */
		return -1;
	}
	return rc;
}

static int
shape_a(acrt__bpload *L, const acrt__ynode *b, edge_set *s)
{
	return shape_ends(L, b, s, "from", "to");
}

/* A string or a list of strings. */
static int
str_list(acrt__bpload *L, const acrt__ynode *n, const char *key, const acrt__ynode **items,
         size_t *cnt)
{
	if (n->kind == ACRT__Y_STR) {
		items[0] = n;
		*cnt = 1;
		return 0;
	}
	if (n->kind != ACRT__Y_SEQ || n->n == 0 || n->n > MAX_TARGETS)
		return acrt__err_type(L, n, key, "a name or a non-empty list of names");
	for (size_t i = 0; i < n->n; i++) {
		if (n->items[i]->kind != ACRT__Y_STR)
			return acrt__err_type(L, n->items[i], key, "a name");
		items[i] = n->items[i];
	}
	*cnt = n->n;
	return 0;
}

static int
shape_b(acrt__bpload *L, const acrt__ynode *b, edge_set *s)
{
	const acrt__ynode *fc = acrt__ynode_get(b, "from_component");
	const acrt__ynode *tc = acrt__ynode_get(b, "to_component");
	const acrt__ynode *tcs = acrt__ynode_get(b, "to_components");
	const acrt__ynode *tp = acrt__ynode_get(b, "to_port");
	const acrt__ynode *tps = acrt__ynode_get(b, "to_ports");
	const acrt__ynode *comps[MAX_TARGETS], *ports[MAX_TARGETS];
	size_t nc = 0, np = 0;
	const char *fp = "output", *sn = NULL;
	int rc = 0;

	/* {from_component, to_component, stream_name}: the stream is the port */
	if (acrt__get_str(L, b, "stream_name", &sn) < 0)
		rc = -1;
	else if (sn && !acrt__ynode_get(b, "from_port"))
		fp = sn;
	if (!fc)
		rc = acrt__err(L, b, "binding: missing required key 'from_component'");
	else if (fc->kind != ACRT__Y_STR)
		rc = acrt__err_type(L, fc, "from_component", "a component name");
	if (acrt__get_str(L, b, "from_port", &fp) < 0)
		rc = -1;
	if (rc == 0 && set_ep(L, &s->from, fc->text, fp, fc) < 0)
		rc = -1;
	if (tc && tcs)
		return acrt__err(L, acrt__ynode_key(b, "to_components"),
		                 "binding has both 'to_component' and 'to_components'");
	if (tp && tps)
		return acrt__err(L, acrt__ynode_key(b, "to_ports"),
		                 "binding has both 'to_port' and 'to_ports'");
	if (!tc && !tcs)
		return acrt__err(L, b, "binding: missing required key 'to_component'");
	if (str_list(L, tc ? tc : tcs, tc ? "to_component" : "to_components", comps, &nc) < 0)
		return -1;
	if ((tp || tps) && str_list(L, tp ? tp : tps, tp ? "to_port" : "to_ports", ports, &np) < 0)
		return -1;
	if (nc > 1 && np > 1 && nc != np)
		return acrt__err(L, tps, "binding: %zu to_components but %zu to_ports", nc, np);
	size_t n = nc > np ? nc : np;
	for (size_t i = 0; i < n; i++) {
		const acrt__ynode *c = comps[nc == 1 ? 0 : i];
		const acrt__ynode *p = np == 0 ? NULL : ports[np == 1 ? 0 : i];
		const char *port = p ? p->text : sn ? sn : "input";
		if (add_target(L, s, c) < 0 ||
		    set_ep(L, &s->to[s->n_to - 1], c->text, port, p ? p : c) < 0)
			return -1;
	}
	return rc;
}

static int
shape_c(acrt__bpload *L, const acrt__ynode *b, edge_set *s)
{
	return shape_ends(L, b, s, "source", "target");
}

/* The dialect: a port that only bindings name is created, as the original's
 * healer does, with a note. A Passthrough stand-in (or a mapped Source,
 * Dedup, ...) whose `ports` acrt wrote, or a Controller router, sends on it
 * too (acrt__dialect_port_created). 0 or -1. */
static int
create_port(acrt__bpload *L, const endpoint *e, size_t i, bool out, const char *hint)
{
	acrt__comp_spec *c = &L->bp->comps[i];
	acrt__comp_aux *a = &L->aux[i];
	acrt__port_spec **ports = out ? &c->outputs : &c->inputs;
	size_t *np = out ? &c->n_outputs : &c->n_inputs;
	if (!acrt__name_ok(e->port))
		return acrt__err(L, e->at, "%s port name '%s' must match ^[a-z][a-z0-9_]*$",
		                 out ? "output" : "input", e->port);
	acrt__port_spec *p = acrt__realloc(*ports, (*np + 1) * sizeof *p);
	if (!p)
		return acrt__err(L, e->at, "out of memory");
	*ports = p;
	p[*np] = (acrt__port_spec){.name = acrt__strdup(e->port), .mark = e->at->mark};
	if (!p[*np].name)
		return acrt__err(L, e->at, "out of memory");
	(*np)++;
	int sends = out ? acrt__dialect_port_created(L, i, e->port) : 1;
	if (sends < 0)
		return -1;
	char more[200] = "";
	if (sends == 0 && a->bi)
		snprintf(more, sizeof more, "; the built-in %s sends nothing on it", a->bi->type);
	else if (sends == 2)
		snprintf(
		    more, sizeof more,
		    "; the Transformer without config passes every event on each of its output "
		    "ports (the built-in Passthrough)");
	return acrt__note(L, e->at,
	                  "component '%s' has no %s port '%s': created, as the original does "
	                  "(only bindings name it)%s%s",
	                  c->name, out ? "output" : "input", e->port, more, hint);
}

/* Component index for an endpoint, checking the port; -1 (reported or broken). */
static long
resolve_as(acrt__bpload *L, const endpoint *e, bool out, const char *what)
{
	acrt__blueprint *bp = L->bp;
	long i = acrt__blueprint_find(bp, e->comp);
	const char *names[256];
	size_t k = 0;
	char hint[128];
	if (i < 0) {
		for (size_t j = 0; j < bp->n_comps && k < 256; j++)
			if (bp->comps[j].name)
				names[k++] = bp->comps[j].name;
		acrt__hint(hint, sizeof hint, e->comp, names, k);
		if (what)
			acrt__err(L, e->at, "%s: unknown component '%s'%s", what, e->comp, hint);
		else
			acrt__err(L, e->at, "binding %s unknown component '%s'%s",
			          out ? "from" : "to", e->comp, hint);
		return -1;
	}
	if (L->aux[i].broken)
		return -1;
	const acrt__comp_spec *c = &bp->comps[i];
	const acrt__port_spec *ports = out ? c->outputs : c->inputs;
	size_t np = out ? c->n_outputs : c->n_inputs;
	for (size_t j = 0; j < np; j++)
		if (!strcmp(ports[j].name, e->port))
			return i;
	for (size_t j = 0; j < np && k < 256; j++)
		names[k++] = ports[j].name;
	acrt__hint(hint, sizeof hint, e->port, names, k);
	if (L->dialect && !what)
		return create_port(L, e, (size_t)i, out, hint) < 0 ? -1 : i;
	acrt__err(L, e->at, "%s%scomponent '%s' has no %s port '%s'%s", what ? what : "",
	          what ? ": " : "", e->comp, out ? "output" : "input", e->port, hint);
	return -1;
}

static long
resolve(acrt__bpload *L, const endpoint *e, bool out)
{
	return resolve_as(L, e, out, NULL);
}

static int
add_binding(acrt__bpload *L, const acrt__ynode *b, long from, const char *fp, long to,
            const char *tp, size_t buffer, bool allow)
{
	acrt__blueprint *bp = L->bp;
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *o = &bp->bindings[i];
		if (o->from_comp == (size_t)from && o->to_comp == (size_t)to &&
		    !strcmp(o->from_port, fp) && !strcmp(o->to_port, tp))
			return acrt__err(
			    L, b, "binding %s.%s -> %s.%s listed twice (first at line %d)",
			    bp->comps[from].name, fp, bp->comps[to].name, tp, o->mark.line);
	}
	/* Only a whole binding is added: the later checks read both ports. */
	char *from_port = acrt__strdup(fp), *to_port = acrt__strdup(tp);
	acrt__binding_spec *nb =
	    from_port && to_port ? acrt__realloc(bp->bindings, (bp->n_bindings + 1) * sizeof *nb)
	                         : NULL;
	if (!nb) {
		acrt__free(from_port);
		acrt__free(to_port);
		return acrt__err(L, b, "out of memory");
	}
	bp->bindings = nb;
	nb = &bp->bindings[bp->n_bindings];
	memset(nb, 0, sizeof *nb);
	nb->from_comp = (size_t)from;
	nb->to_comp = (size_t)to;
	nb->from_port = from_port;
	nb->to_port = to_port;
	nb->buffer_size = buffer;
	nb->allow_cycle = allow;
	nb->mark = b->mark;
	bp->n_bindings++;
	return 0;
}

static int
parse_binding(acrt__bpload *L, const acrt__ynode *b)
{
	edge_set *s = NULL;
	const char *const *keys;
	int (*shape)(acrt__bpload *, const acrt__ynode *, edge_set *);
	int64_t buffer = 0;
	bool allow = false;
	int rc = 0;

	if (b->kind != ACRT__Y_MAP)
		return acrt__err_type(L, b, "binding", "a mapping");
	if (acrt__ynode_get(b, "from") || acrt__ynode_get(b, "to"))
		keys = keys_a, shape = shape_a;
	else if (acrt__ynode_get(b, "from_component") || acrt__ynode_get(b, "to_component") ||
	         acrt__ynode_get(b, "to_components"))
		keys = keys_b, shape = shape_b;
	else if (acrt__ynode_get(b, "source") || acrt__ynode_get(b, "target"))
		keys = keys_c, shape = shape_c;
	else if (acrt__dialect_keys(L, b, keys_all, ACRT__AT_BINDING, "in binding") < 0)
		return -1;
	else
		return acrt__err(
		    L, b,
		    "binding needs 'from' and 'to' (or from_component/to_component, or "
		    "source/target)");
	if (acrt__dialect_keys(L, b, keys, ACRT__AT_BINDING, "in binding") < 0)
		rc = -1;
	int r = acrt__get_int(L, b, "buffer_size", 1, &buffer);
	if (r < 0)
		rc = -1;
	if (acrt__get_bool(L, b, "allow_cycle", &allow) < 0)
		rc = -1;
	s = acrt__calloc(1, sizeof *s);
	if (!s)
		return acrt__err(L, b, "out of memory");
	if (shape(L, b, s) < 0)
		rc = -1;
	long from = s->from.comp[0] ? resolve(L, &s->from, true) : -1;
	if (from < 0)
		rc = -1;
	for (size_t i = 0; i < s->n_to; i++) {
		long to = resolve(L, &s->to[i], false);
		if (to < 0 || from < 0) {
			rc = -1;
			continue;
		}
		if (rc == 0 &&
		    (add_binding(L, b, from, s->from.port, to, s->to[i].port,
		                 r == 1 ? (size_t)buffer : L->bp->default_buffer, allow) < 0 ||
		     acrt__schema_refs_check(L, b, (size_t)from, s->from.port, (size_t)to,
		                             s->to[i].port) < 0))
			rc = -1;
	}
	acrt__free(s);
	return rc;
}

/* Output ports a built-in type's config names (the Router's route targets)
 * must be bound: a route to nowhere is a mistake, not a drop. */
static int
required_outputs(acrt__bpload *L, size_t i)
{
	const acrt__comp_spec *c = &L->bp->comps[i];
	const acrt__builtin *bi = L->aux[i].bi;
	if (!bi || !bi->config_out_ports)
		return 0;
	const char *names[256];
	size_t n = bi->config_out_ports(c->config, names, 256);
	int rc = 0;
	for (size_t p = 0; p < n; p++) {
		const acrt__port_spec *port = NULL;
		for (size_t j = 0; j < c->n_outputs && !port; j++)
			if (!strcmp(c->outputs[j].name, names[p]))
				port = &c->outputs[j];
		bool bound = false;
		for (size_t k = 0; port && k < L->bp->n_bindings && !bound; k++)
			bound = L->bp->bindings[k].from_comp == i &&
			        !strcmp(L->bp->bindings[k].from_port, names[p]);
		if (bound || !port) /* !port: reported with the declared outputs */
			continue;
		acrt__mark m = port->mark;
		L->errors++;
		acrt__diag_add(L->diag, &m,
		               "output port '%s' of component '%s' is a route target bound to "
		               "nothing",
		               names[p], c->name);
		rc = -1;
	}
	return rc;
}

/* ---- Dead letters ------------------------------------------------------------ */

/* The `to` node of component i's enabled dead_letter capability, or NULL
 * (reported when malformed: *bad is set). */
static const acrt__ynode *
dead_letter_to(acrt__bpload *L, size_t i, bool *bad)
{
	static const char *const dl_keys[] = {"to", "enabled", NULL};
	const acrt__ynode *caps = acrt__ynode_get(L->aux[i].node, "capabilities");
	const acrt__ynode *dl =
	    caps && caps->kind == ACRT__Y_MAP ? acrt__ynode_get(caps, "dead_letter") : NULL;
	if (!dl || dl->kind == ACRT__Y_NULL || (dl->kind == ACRT__Y_BOOL && !dl->b))
		return NULL;
	if (dl->kind == ACRT__Y_MAP) {
		const acrt__ynode *en = acrt__ynode_get(dl, "enabled");
		if (en && en->kind == ACRT__Y_BOOL && !en->b)
			return NULL;
		if (acrt__check_keys(L, dl, dl_keys, "in capability dead_letter") < 0)
			*bad = true;
	}
	const acrt__ynode *to = dl->kind == ACRT__Y_MAP ? acrt__ynode_get(dl, "to") : NULL;
	if (!to || to->kind == ACRT__Y_NULL) {
		acrt__err(L, dl, "dead_letter of component '%s': missing required key 'to'",
		          L->bp->comps[i].name);
		*bad = true;
		return NULL;
	}
	if (to->kind != ACRT__Y_STR) {
		acrt__err_type(L, to, "to", "'component.port'");
		*bad = true;
		return NULL;
	}
	return *bad ? NULL : to;
}

/* Adds the `dead_letter` output port to every component with a dead letter. */
static int
dead_letter_ports(acrt__bpload *L)
{
	acrt__blueprint *bp = L->bp;
	int rc = 0;
	for (size_t i = 0; i < bp->n_comps; i++) {
		acrt__comp_spec *c = &bp->comps[i];
		if (L->aux[i].broken || !c->name)
			continue;
		bool bad = false;
		const acrt__ynode *to = dead_letter_to(L, i, &bad);
		if (bad)
			rc = -1;
		if (!to)
			continue;
		bool have = false;
		for (size_t j = 0; j < c->n_outputs && !have; j++)
			have = !strcmp(c->outputs[j].name, "dead_letter");
		if (have)
			continue;
		acrt__port_spec *p = acrt__realloc(c->outputs, (c->n_outputs + 1) * sizeof *p);
		if (!p)
			return acrt__err(L, to, "out of memory");
		c->outputs = p;
		p[c->n_outputs] =
		    (acrt__port_spec){.name = acrt__strdup("dead_letter"), .mark = to->mark};
		if (!p[c->n_outputs].name)
			return acrt__err(L, to, "out of memory");
		c->n_outputs++;
	}
	return rc;
}

/* The implicit binding comp.dead_letter -> to, for every component with one. */
static int
dead_letter_bindings(acrt__bpload *L)
{
	acrt__blueprint *bp = L->bp;
	int rc = 0;
	for (size_t i = 0; i < bp->n_comps; i++) {
		if (L->aux[i].broken || !bp->comps[i].name)
			continue;
		bool bad = false;
		const acrt__ynode *to = dead_letter_to(L, i, &bad); /* reported above */
		if (!to)
			continue;
		endpoint e;
		if (parse_dotted(L, to, "input", "dead_letter.to", &e) < 0) {
			rc = -1;
			continue;
		}
		long t = resolve_as(L, &e, false, "dead_letter.to");
		if (t < 0 || add_binding(L, to, (long)i, "dead_letter", t, e.port,
		                         bp->default_buffer, false) < 0)
			rc = -1;
	}
	return rc;
}

/* Whether binding b uses a shape or key only the dialect has: from/to as
 * mappings, source/target as strings, stream_name, transformation, ... */
static bool
dialect_shape(const acrt__ynode *b)
{
	static const char *const dkeys[] = {
	    "stream_name", "transformation", "condition", "error_handling", "qos", NULL};
	static const struct {
		const char *key;
		acrt__ykind kind;
	} ends[] = {{"from", ACRT__Y_MAP},
	            {"to", ACRT__Y_MAP},
	            {"source", ACRT__Y_STR},
	            {"target", ACRT__Y_STR}};
	if (b->kind != ACRT__Y_MAP)
		return false;
	for (const char *const *k = dkeys; *k; k++)
		if (acrt__ynode_get(b, *k))
			return true;
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		const acrt__ynode *v = acrt__ynode_get(b, ends[i].key);
		size_t n = v && v->kind == ACRT__Y_SEQ ? v->n : 1;
		for (size_t j = 0; v && j < n; j++)
			if ((v->kind == ACRT__Y_SEQ ? v->items[j] : v)->kind == ends[i].kind)
				return true;
	}
	return false;
}

void
acrt__bindings_dialect(acrt__bpload *L)
{
	for (size_t i = 0; L->bindings && i < L->bindings->n && !L->dialect; i++)
		L->dialect = dialect_shape(L->bindings->items[i]);
}

int
acrt__bindings_parse(acrt__bpload *L)
{
	acrt__blueprint *bp = L->bp;
	int rc = dead_letter_ports(L), dl_rc = rc;
	for (size_t i = 0; L->bindings && i < L->bindings->n; i++)
		if (parse_binding(L, L->bindings->items[i]) < 0)
			rc = -1;
	if (dl_rc == 0 && dead_letter_bindings(L) < 0)
		rc = -1;
	if (rc < 0)
		return rc; /* an unbound input now would only echo these */
	for (size_t i = 0; i < bp->n_comps; i++) {
		const acrt__comp_spec *c = &bp->comps[i];
		if (L->aux[i].broken || !c->name)
			continue;
		for (size_t j = 0; j < c->n_inputs; j++) {
			bool bound = false;
			for (size_t k = 0; k < bp->n_bindings && !bound; k++)
				bound = bp->bindings[k].to_comp == i &&
				        !strcmp(bp->bindings[k].to_port, c->inputs[j].name);
			if (bound)
				continue;
			if (L->dialect) { /* the original never checks it */
				acrt__ynode at = {.mark = c->inputs[j].mark};
				if (acrt__note(L, &at,
				               "input port '%s' of component '%s' is bound to "
				               "nothing: it receives no events",
				               c->inputs[j].name, c->name) < 0)
					rc = -1;
				continue;
			}
			acrt__mark m = c->inputs[j].mark;
			L->errors++;
			acrt__diag_add(L->diag, &m,
			               "input port '%s' of component '%s' is bound to nothing",
			               c->inputs[j].name, c->name);
			rc = -1;
		}
		if (required_outputs(L, i) < 0)
			rc = -1;
	}
	return rc;
}
