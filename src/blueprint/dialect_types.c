/*
 * dialect_types.c - the component types of the original Autocoder blueprint
 * language (docs/AUTOCODER.md, ../shared/design/autocoder-dialect.md): every
 * type name it uses is known, with the original's default ports, and runs as
 * one of acrt's built-in types where one does the job:
 *
 *   Source, EventSource    Source `generator: sequence` (data_count, data_delay)
 *   Store                  Store `crud: true, key: key` (CRUD by action)
 *   Sink                   Sink: file (a path key) or stdout
 *   Filter, no condition   Filter `where: "true"`
 *   Controller router      Router, with the original's fixed rules as routes
 *   Controller terminator  Passthrough `max_items` (ends the run)
 *   StreamProcessor        dedup: Dedup; windowing with ops: Aggregator
 *   Accumulator            Accumulator (its own built-in)
 *   MetricsEndpoint        Sink `sink: null` (acrt's API serves /metrics)
 *   APIEndpoint            APIEndpoint: port/host as listen, endpoints as routes,
 *                          reply when a binding brings answers back
 *
 * A type whose behaviour was the original's generated code (a Model, a
 * Controller without a variant, a Transformer, Filter, Router or Aggregator
 * whose config is not acrt's, ...) is marked needs_impl: a note says so,
 * `acrt run` refuses it unless --stub, and it is wired as a Passthrough
 * stand-in on its output ports.
 *
 * acrt's own types keep acrt's meaning: a config with one of the type's own
 * keys is acrt's form and is checked as always (config.c). Only a config
 * with none of them is read in the original's form. The mapping runs in
 * arch.c's parse_component, before the deployment's overrides are merged.
 */
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"
#include "core/common.h"

enum dkind {
	D_SOURCE,
	D_STORE,
	D_SINK,
	D_FILTER,
	D_XFORM,
	D_NEEDS_KEYS,
	D_CONTROLLER,
	D_STREAM,
	D_ACCUM,
	D_METRICS,
	D_API,
	D_IMPL
};

typedef struct dtype {
	const char *name;
	enum dkind kind;
	const char *const *in, *const *out; /* the original's default ports */
	const char *native;                 /* acrt's type of that name, or NULL */
	const char *help;                   /* what acrt runs (acrt help TYPE) */
} dtype;

static const char *const p_none[] = {NULL};
static const char *const p_input[] = {"input", NULL};
static const char *const p_output[] = {"output", NULL};
static const char *const p_events[] = {"events", NULL};
static const char *const p_request[] = {"request", NULL};
static const char *const p_response[] = {"response", NULL};
static const char *const p_agg_in[] = {"input1", "input2", NULL};
static const char *const p_control[] = {"control", NULL};
static const char *const p_command[] = {"command", NULL};
static const char *const p_stream[] = {"stream", NULL};
static const char *const p_processed[] = {"processed", NULL};
static const char *const p_features[] = {"features", NULL};
static const char *const p_predictions[] = {"predictions", NULL};
static const char *const p_replies[] = {"output", "error", NULL};

/* The original's port templates (its port generator); acrt's own types keep
 * acrt's defaults unless read in the original's form. */
static const dtype types[] = {
    {"Source", D_SOURCE, p_none, p_output, "Source",
     "Without acrt's keys (the original's data_count, data_delay, generation):\n"
     "the built-in Source, generator: sequence; count = data_count (10),\n"
     "rate_per_s = 1 / data_delay (0.1 s; 0: unpaced); each event\n"
     "{seq, test_data: true, source: NAME}."},
    {"EventSource", D_SOURCE, p_none, p_events, NULL,
     "The built-in Source, generator: sequence, as the original's Source\n"
     "(data_count, data_delay), on its port events."},
    {"Sink", D_SINK, p_input, p_none, "Sink",
     "With the original's keys: the built-in Sink, sink: file at the first of\n"
     "output_file, file_path, output_path, file, filename; else stdout."},
    {"Store", D_STORE, p_input, p_replies, "Store",
     "Without acrt's keys: the built-in Store {crud: true, key: key}. An event\n"
     "with an action (create, get, update, delete, list) is a request answered\n"
     "on output; another is stored by its key field, else under a generated id."},
    {"Transformer", D_XFORM, p_input, p_output, "Transformer",
     "Without config: a pass-through (on every output port when the declared\n"
     "outputs lack output). A config without acrt's keys names the original's\n"
     "processing type: needs an implementation."},
    {"Filter", D_FILTER, p_input, p_output, "Filter",
     "Without config: every event passes. The original's conditions (Python):\n"
     "needs an implementation."},
    {"Router", D_NEEDS_KEYS, p_input, p_output, "Router",
     "Without acrt's routes (the original's routing_rules): needs an\n"
     "implementation."},
    {"Aggregator", D_NEEDS_KEYS, p_agg_in, p_output, "Aggregator",
     "Without acrt's ops: needs an implementation."},
    {"Accumulator", D_ACCUM, p_input, NULL, "Accumulator",
     "The built-in Accumulator: a running total per key in managed state; the\n"
     "original's Redis settings are notes."},
    {"Controller", D_CONTROLLER, p_control, p_command, NULL,
     "variant: router: the built-in Router, by the original's fixed rules\n"
     "(route_to, category, value, type) to its output ports, else to\n"
     "default_output. variant: terminator: the first max_items (10) events go\n"
     "on, then the run stops. Otherwise: needs an implementation."},
    {"StreamProcessor", D_STREAM, p_stream, p_processed, NULL,
     "variant: deduplication: the built-in Dedup (key = dedup_key). variant:\n"
     "windowing with ops: the built-in Aggregator (window_ms = window_size s).\n"
     "Otherwise: needs an implementation."},
    {"Model", D_IMPL, p_features, p_predictions, NULL,
     "Needs an implementation: plug in a native component ("
     "acrt run --stub runs\n"
     "it as a pass-through stand-in to try the wiring)."},
    {"FastAPIEndpoint", D_IMPL, p_request, p_response, NULL,
     "Needs an implementation: plug in a native component ("
     "acrt run --stub runs\n"
     "it as a pass-through stand-in to try the wiring)."},
    {"WebSocket", D_IMPL, p_input, p_output, NULL,
     "Needs an implementation: plug in a native component ("
     "acrt run --stub runs\n"
     "it as a pass-through stand-in to try the wiring)."},
    {"MetricsEndpoint", D_METRICS, p_input, p_none, NULL,
     "A null Sink: acrt's API serves /metrics (docs/API.md)."},
    {"APIEndpoint", D_API, p_request, p_response, "APIEndpoint",
     "Without acrt's keys: the built-in APIEndpoint; listen = host:port\n"
     "(127.0.0.1:8080 unless given), a route per endpoints item and method (or\n"
     "endpoint_path with http_methods). With a binding back into it, it\n"
     "answers each request with the event that comes back (reply), each route\n"
     "with the Store's CRUD action of its method and path. Requests go out on\n"
     "its first output port (the original's response)."},
    {NULL, D_IMPL, NULL, NULL, NULL, NULL},
};

static const dtype *
find(const char *name)
{
	for (const dtype *t = types; name && t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

bool
acrt__dialect_type_known(const char *type)
{
	const dtype *t = find(type);
	return t != NULL && t->native == NULL;
}

size_t
acrt__dialect_type_names(const char **names, size_t max)
{
	size_t n = 0;
	for (const dtype *t = types; t->name && n < max; t++)
		if (t->native == NULL)
			names[n++] = t->name;
	return n;
}

const char *
acrt__dialect_type_help(const char *type, const char *const **in, const char *const **out)
{
	const dtype *t = find(type);
	if (!t)
		return NULL;
	*in = t->in;
	*out = t->out;
	return t->help;
}

/* Whether config has one of the keys of the built-in type's table. */
static bool
has_native_key(const json_t *config, const acrt__builtin *bi)
{
	for (const acrt_prop *p = bi && bi->desc ? bi->desc->props : NULL;
	     p && p->type != ACRT_PROP_END; p++)
		if (json_object_get(config, p->key))
			return true;
	return false;
}

/* The YAML node of config key k (its key), for notes. */
static const acrt__ynode *
key_node(const acrt__comp_aux *a, const char *k)
{
	const acrt__ynode *n = a->config ? acrt__ynode_key(a->config, k) : NULL;
	return n ? n : acrt__ynode_get(a->node, "type");
}

/* One note per config key that is not in `used`: not used by acrt. */
int
acrt__dialect_unused_keys(acrt__bpload *L, const acrt__comp_aux *a, const json_t *config,
                          const char *type, const char *const *used)
{
	const char *k;
	json_t *v;
	int rc = 0;
	json_object_foreach((json_t *)config, k, v)
	{
		bool u = false;
		for (const char *const *x = used; x && *x && !u; x++)
			u = !strcmp(*x, k);
		if (!u && acrt__note(L, key_node(a, k), "%s config '%s': not used", type, k) < 0)
			rc = -1;
	}
	return rc;
}

/* Switches component idx to built-in `to` with config cfg (stolen). */
int
acrt__dialect_become(acrt__bpload *L, size_t idx, const char *to, json_t *cfg)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const acrt__builtin *bi = acrt__builtin_find(to);
	char *orig = c->type ? c->type : acrt__strdup("?");
	char *type = acrt__strdup(to);
	if (!cfg || !bi || !orig || !type) {
		json_decref(cfg);
		acrt__free(type);
		if (orig != c->type)
			acrt__free(orig);
		return acrt__err(L, a->node, "out of memory");
	}
	json_decref(c->config);
	c->config = cfg;
	c->type = type;
	acrt__free(c->dialect_type);
	c->dialect_type = orig;
	a->bi = bi;
	a->config = NULL; /* errors about this config point at the component */
	return 0;
}

/* The note of a mapping, at the component's type: "type 'T'WHAT: runs as
 * the built-in TO CONFIG". Before become(), while c->type is the original's. */
int
acrt__dialect_mapped_note(acrt__bpload *L, size_t idx, const char *what, const char *to,
                          const json_t *cfg)
{
	const acrt__comp_spec *c = &L->bp->comps[idx];
	char *j = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc =
	    acrt__note(L, acrt__ynode_get(L->aux[idx].node, "type"),
	               "type '%s'%s: runs as the built-in %s %s", c->type, what, to, j ? j : "{}");
	void (*jfree)(void *);
	json_get_alloc_funcs(NULL, &jfree); /* jansson's memory is not malloc's */
	if (j)
		jfree(j);
	return rc;
}

/* The mapping's note, one note per original key it does not use, then the
 * switch to built-in `to` with config n (stolen). */
static int
map_to(acrt__bpload *L, size_t idx, const char *what, const char *to, json_t *n,
       const char *const *used)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	if (!n)
		return acrt__err(L, L->aux[idx].node, "out of memory");
	if (acrt__dialect_mapped_note(L, idx, what, to, n) < 0 ||
	    acrt__dialect_unused_keys(L, &L->aux[idx], c->config, c->type, used) < 0) {
		json_decref(n);
		return -1;
	}
	return acrt__dialect_become(L, idx, to, n);
}

/* Whether the component's declared outputs name port p: 1 yes, 0 no, -1 it
 * declares none (the type's defaults). */
static int
declares(const acrt__ynode *node, const char *p)
{
	const acrt__ynode *out = acrt__ynode_get(node, "outputs");
	const acrt__ynode *adr = acrt__ynode_get(node, "ports"); /* ADR-031 */
	int r = out && out->kind == ACRT__Y_SEQ ? 0 : -1;
	for (size_t i = 0; r == 0 && i < out->n; i++) {
		const acrt__ynode *it = out->items[i];
		const acrt__ynode *nm = it->kind == ACRT__Y_MAP ? acrt__ynode_get(it, "name") : it;
		if (nm && nm->kind == ACRT__Y_STR && !strcmp(nm->text, p))
			return 1;
	}
	for (size_t i = 0; adr && adr->kind == ACRT__Y_MAP && i < adr->n; i++) {
		if (acrt__adr_direction(adr->items[i]) != 1)
			continue;
		if (!strcmp(adr->keys[i]->text, p))
			return 1;
		r = 0;
	}
	return r;
}

/* Where the outputs are declared: outputs:, else ADR-031 ports:. */
static const acrt__ynode *
outs_key(const acrt__ynode *node)
{
	const acrt__ynode *k = acrt__ynode_key(node, "outputs");
	return k ? k : acrt__ynode_key(node, "ports");
}

/* A Transformer or Filter that passes every event, with outputs of the
 * original's naming (no `output`): a Passthrough on them, as the original
 * passes its items on. */
static int
pass_all(acrt__bpload *L, size_t idx, const char *how)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	if (acrt__note(L, acrt__ynode_get(L->aux[idx].node, "type"),
	               "type '%s' %s: every event passes, on each of its output ports (the "
	               "built-in Passthrough)",
	               c->type, how) < 0)
		return -1;
	L->aux[idx].fill_ports = true;
	return acrt__dialect_become(L, idx, "Passthrough", json_object());
}

/* The original's logic was generated code: a Passthrough stand-in, marked. */
static int
needs_impl(acrt__bpload *L, size_t idx, const char *why)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	const char *orig = c->type ? c->type : "?";
	if (acrt__note(L, acrt__ynode_get(L->aux[idx].node, "type"),
	               "component '%s' (%s%s): needs an implementation: plug in a native "
	               "component; 'acrt run --stub' passes its events through",
	               c->name, orig, why) < 0)
		return -1;
	c->needs_impl = true;
	L->aux[idx].fill_ports = true;
	return acrt__dialect_become(L, idx, "Passthrough", json_object());
}

static int
map_source(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	static const char *const used[] = {"data_count", "data_delay", "generation", NULL};
	const json_t *cfg = c->config;
	const json_t *dc = json_object_get(cfg, "data_count");
	const json_t *dd = json_object_get(cfg, "data_delay");
	json_int_t count = 10;
	double delay = 0.1;
	if (dc && (!json_is_integer(dc) || json_integer_value(dc) < 1))
		return acrt__err(L, acrt__ynode_get(a->config, "data_count"),
		                 "%s.config.data_count: expected a positive integer", c->name);
	if (dd && (!json_is_number(dd) || json_number_value(dd) < 0))
		return acrt__err(L, acrt__ynode_get(a->config, "data_delay"),
		                 "%s.config.data_delay: expected a number of seconds >= 0",
		                 c->name);
	if (dc)
		count = json_integer_value(dc);
	if (dd)
		delay = json_number_value(dd);
	const json_t *gen = json_object_get(json_object_get(cfg, "generation"), "type");
	const acrt__ynode *gen_at = /* noted after the mapping's own note */
	    gen && !(json_is_string(gen) && !strcmp(json_string_value(gen), "sequence"))
	        ? key_node(a, "generation")
	        : NULL;
	json_t *n = json_pack("{s:s,s:I,s:{s:b,s:s}}", "generator", "sequence", "count",
	                      (json_int_t)count, "payload", "test_data", 1, "source", c->name);
	double rate = delay > 0 ? 1.0 / delay : 0;
	if (n && delay > 0) {
		json_t *r = rate < 9e15 && rate == (double)(json_int_t)rate
		                ? json_integer((json_int_t)rate)
		                : json_real(rate);
		if (json_object_set_new(n, "rate_per_s", r) < 0) { /* steals r, even then */
			json_decref(n);
			n = NULL;
		}
	}
	a->fill_ports = true;
	if (map_to(L, idx, find(c->type)->native ? " in the original's form" : "", "Source", n,
	           used) < 0)
		return -1;
	return gen_at ? acrt__note(L, gen_at,
	                           "generation: only a sequence is generated (the original's "
	                           "'random' and 'file' are not)")
	              : 0;
}

static int
map_sink(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	static const char *const paths[] = {"output_file", "file_path", "output_path",
	                                    "file",        "filename",  NULL};
	const char *path = NULL, *used[2] = {NULL, NULL};
	for (const char *const *p = paths; *p && !path; p++)
		if ((path = json_string_value(json_object_get(c->config, *p))) != NULL)
			used[0] = *p;
	json_t *n = path ? json_pack("{s:s,s:s}", "sink", "file", "path", path)
	                 : json_pack("{s:s}", "sink", "stdout");
	return map_to(L, idx, " in the original's form", "Sink", n, used);
}

static int
map_controller(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const char *variant = json_string_value(json_object_get(c->config, "variant"));
	if (variant && !strcmp(variant, "terminator")) {
		static const char *const used[] = {"variant", "max_items", NULL};
		const json_t *mi = json_object_get(c->config, "max_items");
		if (mi && (!json_is_integer(mi) || json_integer_value(mi) < 1))
			return acrt__err(L, acrt__ynode_get(a->config, "max_items"),
			                 "%s.config.max_items: expected a positive integer",
			                 c->name);
		json_int_t max = mi ? json_integer_value(mi) : 10;
		a->fill_ports = true;
		return map_to(L, idx, " with variant terminator (ends the run after max_items)",
		              "Passthrough", json_pack("{s:I}", "max_items", max), used);
	}
	if (variant && !strcmp(variant, "router")) {
		static const char *const used[] = {"variant", "default_output", NULL};
		const char *dflt = json_string_value(json_object_get(c->config, "default_output"));
		if (dflt && !acrt__name_ok(dflt))
			return acrt__err(L, acrt__ynode_get(a->config, "default_output"),
			                 "%s.config.default_output: port name '%s' must match "
			                 "^[a-z][a-z0-9_]*$",
			                 c->name, dflt);
		snprintf(a->router_default, sizeof a->router_default, "%s",
		         dflt ? dflt : "default");
		if (acrt__note(
		        L, acrt__ynode_get(a->node, "type"),
		        "type 'Controller' with variant router: runs as the built-in Router, "
		        "routing by the original's fixed rules (route_to, category, value, "
		        "type) to its output ports, else to '%s'",
		        a->router_default) < 0 ||
		    acrt__dialect_unused_keys(L, a, c->config, c->type, used) < 0)
			return -1;
		a->fill_routes = true;
		/* The routes are written once the output ports are known (fill). */
		if (acrt__dialect_become(L, idx, "Router", json_pack("{s:[]}", "routes")) < 0)
			return -1;
		/* Its route targets need no binding (a->bi: a copy without them). */
		a->bi_copy = *a->bi;
		a->bi_copy.config_out_ports = NULL;
		a->bi = &a->bi_copy;
		return 0;
	}
	return needs_impl(L, idx, variant ? ", an unknown variant" : ", no variant");
}

static int
map_stream(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const char *variant = json_string_value(json_object_get(c->config, "variant"));
	if (variant && !strcmp(variant, "deduplication")) {
		static const char *const used[] = {"variant", "dedup_key", NULL};
		const char *key = json_string_value(json_object_get(c->config, "dedup_key"));
		json_t *n = key ? json_pack("{s:s}", "key", key) : json_object();
		a->fill_ports = true;
		return map_to(L, idx, " with variant deduplication", "Dedup", n, used);
	}
	if (variant && !strcmp(variant, "windowing") && json_object_get(c->config, "ops")) {
		static const char *const used[] = {"variant", "window_size", "ops", "key", NULL};
		const json_t *ws = json_object_get(c->config, "window_size");
		double s = ws ? json_number_value(ws) : 5.0;
		if (ws && (!json_is_number(ws) || s <= 0))
			return acrt__err(L, acrt__ynode_get(a->config, "window_size"),
			                 "%s.config.window_size: expected a number of seconds > 0",
			                 c->name);
		json_t *n = json_pack("{s:I,s:O}", "window_ms", (json_int_t)(s * 1000 + 0.5), "ops",
		                      json_object_get(c->config, "ops"));
		const json_t *k = json_object_get(c->config, "key");
		if (n && k && json_object_set(n, "key", (json_t *)k) < 0) {
			json_decref(n);
			n = NULL;
		}
		a->dflt_out = NULL; /* the Aggregator's: output, error */
		if (map_to(L, idx, " with variant windowing", "Aggregator", n, used) < 0)
			return -1;
		return declares(a->node, "output") == 0
		           ? acrt__note(L, outs_key(a->node),
		                        "the Aggregator emits its windows on 'output', which '%s' "
		                        "does not declare: they are dropped",
		                        c->name)
		           : 0;
	}
	if (variant && !strcmp(variant, "windowing"))
		return needs_impl(L, idx,
		                  ", windowing without ops (the Aggregator's ops: would "
		                  "compute each window)");
	return needs_impl(L, idx, variant ? ", variant joining" : ", no variant");
}

int
acrt__dialect_map(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const dtype *t = c->type ? find(c->type) : NULL;
	if (!t)
		return 0;
	bool native = t->native && has_native_key(c->config, a->bi);
	bool empty = json_object_size(c->config) == 0;
	if (native && t->kind == D_STORE && json_is_true(json_object_get(c->config, "crud")))
		a->dflt_out = t->out; /* its replies: output */
	if (native && t->kind == D_ACCUM) {
		/* acrt's keys beside the original's Redis and batch settings: those
		 * are notes, acrt's are checked as always */
		static const char *const orig[] = {
		    "redis_url", "host",       "port",           "password",
		    "db",        "batch_size", "flush_interval", "accumulation_strategy",
		    NULL};
		for (const char *const *k = orig; *k; k++) {
			if (!json_object_get(c->config, *k))
				continue;
			if (acrt__note(L, key_node(a, *k), "%s config '%s': not used", c->type,
			               *k) < 0)
				return -1;
			json_object_del(c->config, *k);
		}
	}
	if (native)
		return 0;
	switch (t->kind) {
	case D_SOURCE:
		a->dflt_in = t->in, a->dflt_out = t->out;
		return map_source(L, idx);
	case D_STORE: {
		static const char *const none[] = {NULL};
		a->dflt_in = t->in, a->dflt_out = t->out;
		if (map_to(L, idx, " in the original's form", "Store",
		           json_pack("{s:b,s:s}", "crud", 1, "key", "key"), none) < 0)
			return -1;
		const acrt__ynode *outs = acrt__ynode_get(a->node, "outputs");
		return declares(a->node, "output") == 0 &&
		               (!outs || outs->n > 0) /* [] : no replies wanted */
		           ? acrt__note(L, outs_key(a->node),
		                        "the Store answers CRUD requests on 'output', which '%s' "
		                        "does not declare: the replies are dropped",
		                        c->name)
		           : 0;
	}
	case D_SINK:
		return empty ? 0 : map_sink(L, idx);
	case D_XFORM: /* empty: acrt's pass-through; else a processing type */
		if (empty && declares(a->node, "output") != 0)
			return 0;
		if (empty)
			return pass_all(L, idx, "without config");
		a->dflt_in = t->in, a->dflt_out = t->out;
		return needs_impl(L, idx, ", its config names no acrt key");
	case D_FILTER:
		if (!empty) {
			a->dflt_in = t->in, a->dflt_out = t->out;
			return needs_impl(L, idx, ", its condition is not acrt's where:");
		}
		if (declares(a->node, "output") == 0)
			return pass_all(L, idx, "without a condition");
		if (acrt__dialect_become(L, idx, "Filter", json_pack("{s:s}", "where", "true")) < 0)
			return -1;
		return acrt__note(L, acrt__ynode_get(a->node, "type"),
		                  "type 'Filter' without a condition: every event passes");
	case D_NEEDS_KEYS:
		a->dflt_in = t->in, a->dflt_out = t->out;
		return needs_impl(L, idx, empty ? ", no config" : ", its config is not acrt's");
	case D_ACCUM: {
		static const char *const none[] = {NULL};
		a->fill_ports = true;
		if (empty)
			return 0;
		if (acrt__dialect_unused_keys(L, a, c->config, c->type, none) < 0)
			return -1;
		json_object_clear(c->config);
		return 0;
	}
	case D_METRICS:
		a->dflt_in = t->in, a->dflt_out = t->out;
		if (acrt__dialect_become(L, idx, "Sink", json_pack("{s:s}", "sink", "null")) < 0)
			return -1;
		return acrt__note(
		    L, acrt__ynode_get(a->node, "type"),
		    "type 'MetricsEndpoint': acrt's API serves /metrics (docs/API.md); "
		    "events sent here are dropped (a null Sink)");
	case D_CONTROLLER:
		a->dflt_in = t->in, a->dflt_out = t->out;
		return map_controller(L, idx);
	case D_STREAM:
		a->dflt_in = t->in, a->dflt_out = t->out;
		return map_stream(L, idx);
	case D_API:
		a->dflt_in = t->in, a->dflt_out = t->out;
		return acrt__dialect_api(L, idx);
	case D_IMPL:
		a->dflt_in = t->in, a->dflt_out = t->out;
		return needs_impl(L, idx, "");
	}
	return 0;
}

/* The original's Controller router (_determine_output_stream): the port an
 * item goes to, as a jq expression (null: the default output). */
static const char route_expr[] =
    "(if type != \"object\" then null elif has(\"route_to\") then .route_to "
    "elif .category == \"high_priority\" then \"priority\" "
    "elif .category == \"low_priority\" then \"bulk\" "
    "elif .category == \"error\" then \"errors\" "
    "elif (.value | type) == \"number\" then (if .value > 100 then \"high_value\" "
    "elif .value > 50 then \"medium_value\" else \"low_value\" end) "
    "elif has(\"type\") then \"\\(.type)_output\" else null end)";

/* A `ports` list (Source, Passthrough, Dedup, Accumulator) names output
 * ports of the component: checked here, where both are known. */
static int
ports_declared(acrt__bpload *L, size_t idx)
{
	const acrt__comp_spec *c = &L->bp->comps[idx];
	const acrt__comp_aux *a = &L->aux[idx];
	const json_t *ports = json_object_get(c->config, "ports");
	const char *k;
	size_t i;
	json_t *v;
	int rc = 0;
	if (!a->bi || !a->bi->desc || !json_is_array(ports))
		return 0;
	bool takes = false;
	for (const acrt_prop *p = a->bi->desc->props; p && p->type != ACRT_PROP_END && !takes; p++)
		takes = !strcmp(p->key, "ports");
	json_array_foreach(ports, i, v)
	{
		if (!takes || !(k = json_string_value(v)))
			break;
		bool have = false;
		for (size_t j = 0; j < c->n_outputs && !have; j++)
			have = !strcmp(c->outputs[j].name, k);
		if (!have) {
			const acrt__ynode *pn =
			    a->config ? acrt__ynode_get(a->config, "ports") : NULL;
			const acrt__ynode *at = pn && pn->kind == ACRT__Y_SEQ && i < pn->n
			                            ? pn->items[i]
			                        : pn ? pn
			                             : a->node;
			rc = acrt__err(L, at, "%s.config.ports: '%s' is not an output port of '%s'",
			               c->name, k, c->name);
		}
	}
	return rc;
}

int
acrt__dialect_fill(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	if (ports_declared(L, idx) < 0)
		return -1;
	if (a->fill_output)
		return acrt__dialect_api_fill(L, idx);
	if (a->fill_routes) {
		json_t *routes = json_object_get(c->config, "routes");
		bool has_dflt = false;
		for (size_t i = 0; i < c->n_outputs; i++) {
			const char *p = c->outputs[i].name;
			if (!strcmp(p, a->router_default)) {
				has_dflt = true;
				continue;
			}
			if (!strcmp(p, "error"))
				continue;
			char when[sizeof route_expr + 160];
			snprintf(when, sizeof when, "%s == \"%s\"", route_expr, p);
			if (json_array_append_new(
			        routes, json_pack("{s:s,s:s}", "when", when, "to", p)) < 0)
				return acrt__err(L, a->node, "out of memory");
		}
		if (has_dflt && strcmp(a->router_default, "default") != 0 &&
		    json_array_append_new(routes, json_pack("{s:s,s:s}", "when", "true", "to",
		                                            a->router_default)) < 0)
			return acrt__err(L, a->node, "out of memory");
		return 0;
	}
	if (!a->fill_ports || json_object_get(c->config, "ports"))
		return 0; /* given: as written */
	if (!strcmp(c->type, "Accumulator") && !acrt__ynode_get(a->node, "outputs") &&
	    !acrt__ynode_get(a->node, "ports"))
		return 0; /* its default: aggregate */
	json_t *ports = json_array();
	for (size_t i = 0; ports && i < c->n_outputs; i++)
		if (strcmp(c->outputs[i].name, "error") != 0 &&
		    json_array_append_new(ports, json_string(c->outputs[i].name)) < 0) {
			json_decref(ports);
			ports = NULL;
		}
	if (ports && !strcmp(c->type, "Accumulator") && json_array_size(ports) == 1 &&
	    !strcmp(json_string_value(json_array_get(ports, 0)), "aggregate")) {
		json_decref(ports); /* its default: as written */
		return 0;
	}
	if (!ports || json_object_set_new(c->config, "ports", ports) < 0)
		return acrt__err(L, a->node, "out of memory");
	a->ports_filled = true;
	return 0;
}

int
acrt__dialect_port_created(acrt__bpload *L, size_t idx, const char *port)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	if (a->fill_routes) { /* a Controller router: a rule's port, before the default */
		json_t *routes = json_object_get(c->config, "routes");
		size_t n = json_array_size(routes);
		const char *last =
		    n ? json_string_value(json_object_get(json_array_get(routes, n - 1), "when"))
		      : NULL;
		char when[sizeof route_expr + 160];
		snprintf(when, sizeof when, "%s == \"%s\"", route_expr, port);
		if (json_array_insert_new(routes, last && !strcmp(last, "true") ? n - 1 : n,
		                          json_pack("{s:s,s:s}", "when", when, "to", port)) < 0)
			return acrt__err(L, a->node, "out of memory");
		return 1;
	}
	json_t *fill = a->ports_filled ? json_object_get(c->config, "ports") : NULL;
	if (fill) {
		if (json_array_append_new(fill, json_string(port)) < 0)
			return acrt__err(L, a->node, "out of memory");
		return 1;
	}
	if (c->type && !strcmp(c->type, "Transformer") && !c->dialect_type &&
	    json_object_size(c->config) == 0) {
		/* acrt's pass-through sends on `output` only; the original's on all */
		a->fill_ports = true;
		if (acrt__dialect_become(L, idx, "Passthrough", json_object()) < 0 ||
		    acrt__dialect_fill(L, idx) < 0)
			return -1;
		return 2;
	}
	return 0;
}
