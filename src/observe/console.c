/*
 * console.c - see console.h: the web console's static files (served at /ui
 * without a token, with headers that keep them from loading or sending
 * anything elsewhere) and the two JSON answers only the console needs.
 */
#include "observe/console.h"

#include <microhttpd.h>
#include <string.h>

#include "core/common.h"

/* The pages load only their own files and talk only to this origin; they
 * cannot be framed, and never send a Referer (it could carry the address). */
#define UI_CSP                                                                                     \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

bool
acrt__console_is_ui(const char *url)
{
	return strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0;
}

static int
queue(struct MHD_Connection *c, unsigned status, const char *type, const void *data, size_t len,
      const char *allow)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(r, "Content-Security-Policy", UI_CSP) != MHD_YES ||
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(r, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(r, "Referrer-Policy", "no-referrer") != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != MHD_YES ||
	    (allow != NULL &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

int
acrt__console_serve(struct MHD_Connection *c, const char *url, const char *method)
{
	static const char not_found[] = "not found\n", not_allowed[] = "method not allowed\n";
	static const char text[] = "text/plain; charset=utf-8";
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, not_allowed,
		             sizeof not_allowed - 1, "GET, HEAD");
	if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0)
		url = "/ui/index.html";
	for (const acrt__ui_file *f = acrt__ui_files; f->path != NULL; f++)
		if (strcmp(f->path, url) == 0)
			return queue(c, MHD_HTTP_OK, f->type, f->data, f->len, NULL);
	return queue(c, MHD_HTTP_NOT_FOUND, text, not_found, sizeof not_found - 1, NULL);
}

/* The ports of a component, by name. */
static json_t *
ports_json(const acrt__port_spec *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(p[i].name));
	return a;
}

json_t *
acrt__console_graph(acrt__runtime *rt)
{
	const acrt__blueprint *bp = acrt__q_blueprint(rt);
	/* With --node the blueprint is narrowed: this node's components and
	 * bindings first, the other nodes' after them (bp->nodes). */
	size_t n_here = bp->n_comps;
	size_t n_comps = bp->nodes.n_all_comps ? bp->nodes.n_all_comps : bp->n_comps;
	size_t n_bind = bp->nodes.n_all_bindings ? bp->nodes.n_all_bindings : bp->n_bindings;
	json_t *comps = json_array(), *binds = json_array(), *nodes = json_array();
	json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o}", "system", bp->name, "node",
	                      bp->nodes.self ? json_string(bp->nodes.self) : json_null(), "nodes",
	                      nodes, "components", comps, "bindings", binds);
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < bp->nodes.n; i++)
		json_array_append_new(nodes, json_string(bp->nodes.names[i]));
	for (size_t k = 0; k < n_comps; k++) {
		const acrt__comp_spec *s = &bp->comps[k];
		/* a component on several nodes (scale-out): this one when it runs here */
		const char *node = k < n_here && bp->nodes.self ? bp->nodes.self
		                                                : acrt__blueprint_comp_node(bp, k);
		uint64_t on = acrt__blueprint_comp_nodes(bp, k);
		json_t *all = json_array();
		for (size_t n = 0; all != NULL && n < bp->nodes.n; n++)
			if (on & (UINT64_C(1) << n))
				json_array_append_new(all, json_string(bp->nodes.names[n]));
		json_array_append_new(
		    comps, json_pack("{s:s,s:s,s:o,s:o*,s:b,s:i,s:b,s:o,s:o}", "name", s->name,
		                     "type", s->type ? s->type : "plugin", "node",
		                     node ? json_string(node) : json_null(), "nodes", all, "here",
		                     k < n_here, "replicas", s->replicas, "chained",
		                     k < n_here && acrt__q_chained(rt, k), "inputs",
		                     ports_json(s->inputs, s->n_inputs), "outputs",
		                     ports_json(s->outputs, s->n_outputs)));
	}
	for (size_t i = 0; i < n_bind; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		const char *from = bp->comps[b->from_comp].name, *to = bp->comps[b->to_comp].name;
		bool here = b->from_comp < n_here || b->to_comp < n_here;
		bool chained =
		    b->from_comp < n_here && b->to_comp < n_here && acrt__q_chained(rt, b->to_comp);
		char stream[512];
		snprintf(stream, sizeof stream, "%s.%s->%s.%s", from, b->from_port, to, b->to_port);
		json_array_append_new(
		    binds, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:o}", "from", from, "from_port",
		                     b->from_port, "to", to, "to_port", b->to_port, "buffer_size",
		                     (json_int_t)b->buffer_size, "chained", chained,
		                     "crosses_nodes", acrt__blueprint_crosses(bp, b), "stream",
		                     here && !chained ? json_string(stream) : json_null()));
	}
	return o;
}

json_t *
acrt__console_config(acrt__runtime *rt, const char *name)
{
	const acrt__blueprint *bp = acrt__q_blueprint(rt);
	long k = acrt__blueprint_find(bp, name);
	if (k < 0)
		return NULL;
	const acrt__comp_spec *s = &bp->comps[k];
	return json_pack("{s:s,s:s,s:O,s:O?,s:O?}", "name", s->name, "type",
	                 s->type ? s->type : "plugin", "config", s->config, "capabilities",
	                 s->capabilities, "batching", s->batching);
}
