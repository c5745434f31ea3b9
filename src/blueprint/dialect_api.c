/*
 * dialect_api.c - the Autocoder dialect's APIEndpoint (docs/AUTOCODER.md,
 * "APIEndpoint"): a config in the original's form (port, host, endpoints,
 * endpoint_path, http_methods; none of acrt's keys) runs as acrt's
 * APIEndpoint:
 *
 *   listen   host:port (host 127.0.0.1 unless given, port 8080 unless given)
 *   routes   one per endpoint and method: `endpoints` items ({path, method |
 *            methods, action} or "METHOD /path" or "/path"), else
 *            endpoint_path with http_methods (GET, POST), else POST /
 *   reply    when a binding brings events back into the endpoint (the
 *            original's request -> Controller -> Store -> reply): each route
 *            then gets the Store's CRUD action from its method and path
 *            (POST create, GET /x/{id} get, GET list, PUT/PATCH update,
 *            DELETE delete) unless it names one
 *   output   the port requests go out on: the first output port (the
 *            original's template names it `response`), set once the ports
 *            are known (acrt__dialect_api_fill)
 *
 * Without reply, acrt's endpoint takes only POST, PUT and PATCH bodies: a
 * GET or DELETE endpoint is a note and is not served.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "blueprint/bp_int.h"
#include "core/common.h"

/* Whether a binding names component `name` on its receiving side, read from
 * the YAML before the bindings are parsed: to / target ("comp.port",
 * "comp", {component}, or a list of them) and to_component(s). */
static bool
end_names(const acrt__ynode *n, const char *name)
{
	size_t len = strlen(name);
	if (n && n->kind == ACRT__Y_SEQ) {
		for (size_t i = 0; i < n->n; i++)
			if (end_names(n->items[i], name))
				return true;
		return false;
	}
	if (n && n->kind == ACRT__Y_MAP)
		n = acrt__ynode_get(n, "component");
	return n && n->kind == ACRT__Y_STR && !strncmp(n->text, name, len) &&
	       (n->text[len] == '\0' || n->text[len] == '.');
}

static bool
bound_into(const acrt__bpload *L, const char *name)
{
	static const char *const keys[] = {"to", "target", "to_component", "to_components", NULL};
	for (size_t i = 0; L->bindings && i < L->bindings->n; i++)
		for (const char *const *k = keys; *k; k++)
			if (end_names(acrt__ynode_get(L->bindings->items[i], *k), name))
				return true;
	return false;
}

/* The Store's CRUD action for a REST route. */
static const char *
rest_action(const char *method, const char *path)
{
	if (!strcmp(method, "POST"))
		return "create";
	if (!strcmp(method, "GET"))
		return strchr(path, '{') ? "get" : "list";
	if (!strcmp(method, "DELETE"))
		return "delete";
	return "update"; /* PUT, PATCH */
}

typedef struct api_ctx {
	acrt__bpload *L;
	const char *comp;
	bool reply;
	json_t *routes;
} api_ctx;

/* One route; a method acrt's endpoint cannot serve here is a note. */
static int
add_route(api_ctx *x, const acrt__ynode *at, const char *method, const char *path,
          const char *action)
{
	static const char *const served[] = {"POST", "PUT", "PATCH", "GET", "DELETE", NULL};
	char m[16];
	size_t i = 0;
	for (; method[i] && i < sizeof m - 1; i++)
		m[i] = (char)(method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i]);
	m[i] = '\0';
	bool known = false;
	for (const char *const *s = served; *s && !known; s++)
		known = !strcmp(*s, m) && (x->reply || s - served < 3);
	if (!known)
		return acrt__note(x->L, at, "endpoint %s %s of '%s': not served (%s)", m, path,
		                  x->comp,
		                  x->reply ? "acrt serves POST, PUT, PATCH, GET and DELETE"
		                           : "without answers coming back, acrt takes POST, PUT "
		                             "and PATCH bodies");
	for (size_t r = 0; r < json_array_size(x->routes); r++) {
		const json_t *o = json_array_get(x->routes, r);
		if (!strcmp(json_string_value(json_object_get(o, "path")), path) &&
		    !strcmp(json_string_value(json_object_get(o, "method")), m))
			return 0; /* listed twice: once is enough */
	}
	json_t *route = json_pack("{s:s,s:s}", "path", path, "method", m);
	if (route && x->reply &&
	    json_object_set_new(route, "action",
	                        json_string(action ? action : rest_action(m, path))) < 0) {
		json_decref(route);
		route = NULL;
	}
	if (!route || json_array_append_new(x->routes, route) < 0)
		return acrt__err(x->L, at, "out of memory");
	return 0;
}

/* A path as acrt's routes take it: starting with '/'. */
static int
check_path(api_ctx *x, const acrt__ynode *at, const char *path)
{
	if (path[0] == '/' && !strpbrk(path, " ?#"))
		return 0;
	return acrt__err(x->L, at, "%s: endpoint path '%s' must start with '/' (no spaces, ? or #)",
	                 x->comp, path);
}

/* One `endpoints` item: {path, method | methods, action, ...}, "METHOD /p"
 * or "/p" (POST). */
static int
endpoint_item(api_ctx *x, const acrt__ynode *it)
{
	if (it->kind == ACRT__Y_STR) {
		char method[16] = "POST";
		const char *path = it->text, *sp = strchr(it->text, ' ');
		if (sp && (size_t)(sp - it->text) < sizeof method) {
			memcpy(method, it->text, (size_t)(sp - it->text));
			method[sp - it->text] = '\0';
			path = sp + strspn(sp, " ");
		}
		if (check_path(x, it, path) < 0)
			return -1;
		return add_route(x, it, method, path, NULL);
	}
	if (it->kind != ACRT__Y_MAP)
		return acrt__err_type(x->L, it, "endpoints item",
		                      "{path, method} or \"METHOD /path\"");
	static const char *const used[] = {"path", "method", "methods", "action", NULL};
	const acrt__ynode *p = acrt__ynode_get(it, "path");
	if (!p || p->kind != ACRT__Y_STR)
		return p ? acrt__err_type(x->L, p, "path", "a path")
		         : acrt__err(x->L, it, "%s: endpoint: missing required key 'path'",
		                     x->comp);
	if (check_path(x, p, p->text) < 0)
		return -1;
	const acrt__ynode *a = acrt__ynode_get(it, "action");
	const char *action = a && a->kind == ACRT__Y_STR ? a->text : NULL;
	int rc = 0;
	for (size_t i = 0; i < it->n; i++) {
		bool u = false;
		for (const char *const *k = used; *k && !u; k++)
			u = !strcmp(*k, it->keys[i]->text);
		if (!u && strcmp(it->keys[i]->text, "description") &&
		    acrt__note(x->L, it->keys[i], "endpoint %s: not used", it->keys[i]->text) < 0)
			rc = -1;
	}
	const acrt__ynode *ms = acrt__ynode_get(it, "methods");
	const acrt__ynode *m = ms ? ms : acrt__ynode_get(it, "method");
	if (!m)
		return add_route(x, p, "POST", p->text, action) < 0 ? -1 : rc;
	size_t n = m->kind == ACRT__Y_SEQ ? m->n : 1;
	for (size_t i = 0; i < n; i++) {
		const acrt__ynode *one = m->kind == ACRT__Y_SEQ ? m->items[i] : m;
		if (one->kind != ACRT__Y_STR)
			return acrt__err_type(x->L, one, "method", "an HTTP method");
		if (add_route(x, one, one->text, p->text, action) < 0)
			return -1;
	}
	return rc;
}

static int
read_routes(api_ctx *x, const acrt__comp_aux *a, const json_t *cfg)
{
	const acrt__ynode *eps = a->config ? acrt__ynode_get(a->config, "endpoints") : NULL;
	const acrt__ynode *ep = a->config ? acrt__ynode_get(a->config, "endpoint_path") : NULL;
	const acrt__ynode *hm = a->config ? acrt__ynode_get(a->config, "http_methods") : NULL;
	if (eps && eps->kind != ACRT__Y_SEQ)
		return acrt__err_type(x->L, eps, "endpoints", "a list of endpoints");
	for (size_t i = 0; eps && i < eps->n; i++)
		if (endpoint_item(x, eps->items[i]) < 0)
			return -1;
	if (eps)
		return 0;
	const char *path = json_string_value(json_object_get(cfg, "endpoint_path"));
	if (ep && !path)
		return acrt__err_type(x->L, ep, "endpoint_path", "a path");
	if (!path) {
		if (acrt__note(x->L, acrt__ynode_get(a->node, "type"),
		               "APIEndpoint '%s' names no endpoints: it serves POST /",
		               x->comp) < 0)
			return -1;
		return add_route(x, a->node, "POST", "/", NULL);
	}
	if (check_path(x, ep, path) < 0)
		return -1;
	if (!hm) {
		if (add_route(x, ep, "GET", path, NULL) < 0)
			return -1;
		return add_route(x, ep, "POST", path, NULL);
	}
	size_t n = hm->kind == ACRT__Y_SEQ ? hm->n : 1;
	for (size_t i = 0; i < n; i++) {
		const acrt__ynode *one = hm->kind == ACRT__Y_SEQ ? hm->items[i] : hm;
		if (one->kind != ACRT__Y_STR)
			return acrt__err_type(x->L, one, "http_methods", "a list of HTTP methods");
		if (add_route(x, one, one->text, path, NULL) < 0)
			return -1;
	}
	return 0;
}

int
acrt__dialect_api(acrt__bpload *L, size_t idx)
{
	static const char *const used[] = {"port",          "host",         "endpoints",
	                                   "endpoint_path", "http_methods", NULL};
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const json_t *cfg = c->config;
	const json_t *port = json_object_get(cfg, "port");
	const json_t *host = json_object_get(cfg, "host");
	if (port && (!json_is_integer(port) || json_integer_value(port) < 1 ||
	             json_integer_value(port) > 65535))
		return acrt__err(L, acrt__ynode_get(a->config, "port"),
		                 "%s.config.port: expected a port from 1 to 65535", c->name);
	if (host && (!json_is_string(host) || !json_string_length(host) ||
	             strpbrk(json_string_value(host), " /")))
		return acrt__err(L, acrt__ynode_get(a->config, "host"),
		                 "%s.config.host: expected a host name or address", c->name);
	const char *h = host ? json_string_value(host) : "127.0.0.1";
	char listen[300];
	snprintf(listen, sizeof listen, strchr(h, ':') ? "[%s]:%lld" : "%s:%lld", h,
	         port ? (long long)json_integer_value(port) : 8080LL);
	api_ctx x = {L, c->name, bound_into(L, c->name), json_array()};
	if (!x.routes)
		return acrt__err(L, a->node, "out of memory");
	if (read_routes(&x, a, cfg) < 0) {
		json_decref(x.routes);
		return -1;
	}
	json_t *n = json_pack("{s:s,s:o}", "listen", listen, "routes", x.routes);
	if (n && x.reply && json_object_set_new(n, "reply", json_object()) < 0) {
		json_decref(n);
		n = NULL;
	}
	if (!n)
		return acrt__err(L, a->node, "out of memory");
	if (acrt__dialect_mapped_note(L, idx,
	                              x.reply ? " in the original's form, answering what comes "
	                                        "back to it"
	                                      : " in the original's form",
	                              "APIEndpoint", n) < 0 ||
	    acrt__dialect_unused_keys(L, a, cfg, c->type, used) < 0) {
		json_decref(n);
		return -1;
	}
	a->fill_output = true;
	return acrt__dialect_become(L, idx, "APIEndpoint", n);
}

int
acrt__dialect_api_fill(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	const char *out = NULL;
	for (size_t i = 0; i < c->n_outputs && !out; i++)
		if (strcmp(c->outputs[i].name, "error") != 0)
			out = c->outputs[i].name;
	if (!out) {
		/* outputs: [] (the original's legacy lists): requests still go out */
		if (acrt__add_port(&c->outputs, &c->n_outputs, "output", NULL, c->mark) < 0)
			return acrt__err(L, L->aux[idx].node, "out of memory");
		out = "output";
		if (acrt__note(L, acrt__ynode_get(L->aux[idx].node, "type"),
		               "APIEndpoint '%s' declares no output port: its requests go out on "
		               "'output'",
		               c->name) < 0)
			return -1;
	}
	if (json_object_set_new(c->config, "output", json_string(out)) < 0)
		return acrt__err(L, L->aux[idx].node, "out of memory");
	return 0;
}
