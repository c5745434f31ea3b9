/*
 * schema_compile.c - turns a JSON Schema 2020-12 document into the node graph
 * of schema_int.h.
 *
 * Two passes. The first (scan) walks every subschema reachable through the
 * applicator keywords, noting for each one which schema resource it belongs to
 * (a new resource starts at each $id, resolved against the enclosing one) and
 * registering $anchor and $dynamicAnchor names as absolute URIs. The second
 * (compile) builds one node per schema value, memoised by the json_t pointer so
 * that $ref cycles become pointer cycles. A $ref is resolved against the base
 * URI of its resource, then looked up as a resource URI plus an empty
 * fragment, a JSON pointer, or an anchor. Locations the first pass did not see
 * (a $ref into an unknown keyword) are scanned on demand with the base of the
 * resource they were reached in. URIs that name no resource of this document
 * are remote references: compilation fails with "unsupported remote $ref".
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "schema/schema_int.h"

/* Base URI of a document whose root has no $id. It has a path, so that
 * relative references resolve like they would against a file. */
#define DEFAULT_BASE "acrt:///schema.json"

typedef struct info {
	const json_t *key;
	int res;
	acrt__snode *node;
} info;

typedef struct anchor {
	char *uri; /* absolute, with the #name fragment */
	const json_t *target;
} anchor;

typedef struct cctx {
	acrt__schema *s;
	info *map; /* open addressing on the json_t pointer */
	size_t map_cap, map_n;
	anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t cap_res;
	char *err;
	size_t errlen;
	bool failed;
} cctx;

static void
fail(cctx *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = true;
	if (c->err && c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
}

static void *
grow(cctx *c, void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	size_t nc = *cap ? *cap * 2 : 8;
	void *q = acrt__realloc(p, nc * size);
	if (q == NULL) {
		fail(c, "out of memory");
		return NULL;
	}
	*cap = nc;
	return q;
}

/* ---- the json_t -> info map ---- */

static size_t
ptr_hash(const json_t *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull);
}

static info *
map_get(cctx *c, const json_t *key)
{
	if (c->map_cap == 0)
		return NULL;
	size_t i = ptr_hash(key) & (c->map_cap - 1);
	while (c->map[i].key) {
		if (c->map[i].key == key)
			return &c->map[i];
		i = (i + 1) & (c->map_cap - 1);
	}
	return NULL;
}

static info *
map_put(cctx *c, const json_t *key, int res)
{
	info *e = map_get(c, key);
	if (e)
		return e;
	if ((c->map_n + 1) * 2 > c->map_cap) {
		size_t ncap = c->map_cap ? c->map_cap * 2 : 64;
		info *nm = acrt__calloc(ncap, sizeof *nm);
		if (nm == NULL) {
			fail(c, "out of memory");
			return NULL;
		}
		for (size_t i = 0; i < c->map_cap; i++) {
			if (!c->map[i].key)
				continue;
			size_t j = ptr_hash(c->map[i].key) & (ncap - 1);
			while (nm[j].key)
				j = (j + 1) & (ncap - 1);
			nm[j] = c->map[i];
		}
		acrt__free(c->map);
		c->map = nm;
		c->map_cap = ncap;
	}
	size_t i = ptr_hash(key) & (c->map_cap - 1);
	while (c->map[i].key)
		i = (i + 1) & (c->map_cap - 1);
	c->map[i] = (info){key, res, NULL};
	c->map_n++;
	return &c->map[i];
}

/* ---- pass 1: resources and anchors ---- */

static const char *const single_kw[] = {"not",
                                        "if",
                                        "then",
                                        "else",
                                        "items",
                                        "contains",
                                        "additionalProperties",
                                        "propertyNames",
                                        "unevaluatedItems",
                                        "unevaluatedProperties"};
static const char *const array_kw[] = {"allOf", "anyOf", "oneOf", "prefixItems"};
static const char *const map_kw[] = {"$defs", "properties", "patternProperties",
                                     "dependentSchemas"};

static int
add_resource(cctx *c, char *uri, const json_t *root)
{
	acrt__schema *s = c->s;
	s->res = grow(c, s->res, &c->cap_res, s->n_res, sizeof *s->res);
	if (s->res == NULL) {
		acrt__free(uri);
		return -1;
	}
	s->res[s->n_res] = (acrt__sresource){uri, root, NULL, 0};
	return (int)s->n_res++;
}

static void
add_anchor(cctx *c, int res, const char *name, const json_t *target)
{
	const char *base = c->s->res[res].uri;
	char *uri = acrt__malloc(strlen(base) + strlen(name) + 2);
	c->anchors = grow(c, c->anchors, &c->cap_anchors, c->n_anchors, sizeof *c->anchors);
	if (uri == NULL || c->anchors == NULL) {
		acrt__free(uri);
		fail(c, "out of memory");
		return;
	}
	sprintf(uri, "%s#%s", base, name);
	c->anchors[c->n_anchors++] = (anchor){uri, target};
}

static void
scan(cctx *c, const json_t *s, int res)
{
	if (c->failed || map_get(c, s) || !json_is_object(s))
		return;
	const json_t *id = json_object_get(s, "$id");
	if (json_is_string(id)) {
		char *uri = acrt__schema_uri_resolve(c->s->res[res].uri, json_string_value(id));
		if (uri == NULL) {
			fail(c, "out of memory");
			return;
		}
		uri[strcspn(uri, "#")] = '\0';
		res = add_resource(c, uri, s);
		if (res < 0)
			return;
	}
	if (map_put(c, s, res) == NULL)
		return;
	const json_t *a = json_object_get(s, "$anchor");
	if (json_is_string(a))
		add_anchor(c, res, json_string_value(a), s);
	a = json_object_get(s, "$dynamicAnchor");
	if (json_is_string(a)) {
		add_anchor(c, res, json_string_value(a), s);
		acrt__sresource *r = &c->s->res[res];
		acrt__sprop *d = acrt__realloc(r->dyn, (r->n_dyn + 1) * sizeof *d);
		if (d == NULL) {
			fail(c, "out of memory");
			return;
		}
		r->dyn = d;
		d[r->n_dyn++] = (acrt__sprop){json_string_value(a), 0, (acrt__snode *)s};
	}
	for (size_t i = 0; i < ACRT__ARRAY_LEN(single_kw); i++) {
		const json_t *v = json_object_get(s, single_kw[i]);
		if (v)
			scan(c, v, res);
	}
	for (size_t i = 0; i < ACRT__ARRAY_LEN(array_kw); i++) {
		const json_t *v = json_object_get(s, array_kw[i]);
		size_t j;
		json_t *e;
		json_array_foreach(v, j, e) scan(c, e, res);
	}
	for (size_t i = 0; i < ACRT__ARRAY_LEN(map_kw); i++) {
		const json_t *v = json_object_get(s, map_kw[i]);
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e) scan(c, e, res);
	}
}

/* ---- reference resolution ---- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Follows a percent-encoded JSON pointer ("/a/b~1c") from root. */
static const json_t *
follow_pointer(const json_t *root, const char *ptr)
{
	char tok[1024];
	while (root && *ptr == '/') {
		ptr++;
		size_t n = 0;
		while (*ptr && *ptr != '/' && n + 1 < sizeof tok) {
			int ch = (unsigned char)*ptr++;
			if (ch == '%' && hexval(ptr[0]) >= 0 && hexval(ptr[1]) >= 0) {
				ch = hexval(ptr[0]) * 16 + hexval(ptr[1]);
				ptr += 2;
			}
			if (ch == '~' && (*ptr == '0' || *ptr == '1'))
				ch = *ptr++ == '0' ? '~' : '/';
			tok[n++] = (char)ch;
		}
		tok[n] = '\0';
		if (json_is_object(root)) {
			root = json_object_getn(root, tok, n);
		} else if (json_is_array(root)) {
			char *end;
			unsigned long idx = strtoul(tok, &end, 10);
			root = (n && *end == '\0') ? json_array_get(root, idx) : NULL;
		} else {
			root = NULL;
		}
	}
	return *ptr ? NULL : root;
}

/* Resolves a $ref value found in resource res; sets *tres to the resource the
 * target is in. NULL (and fails) if it does not resolve. */
static const json_t *
resolve_ref(cctx *c, int res, const char *ref, int *tres)
{
	char *full = acrt__schema_uri_resolve(c->s->res[res].uri, ref);
	const json_t *t = NULL;
	if (full == NULL) {
		fail(c, "out of memory");
		return NULL;
	}
	char *hash = strchr(full, '#');
	const char *frag = hash ? hash + 1 : "";
	if (*frag != '\0' && *frag != '/') {
		for (size_t i = 0; i < c->n_anchors; i++) {
			if (!strcmp(c->anchors[i].uri, full)) {
				t = c->anchors[i].target;
				info *e = map_get(c, t);
				*tres = e ? e->res : res;
				break;
			}
		}
		if (t == NULL)
			fail(c, "unresolvable $ref '%s'%s", ref,
			     acrt__schema_uri_scheme_len(ref)
			         ? " (remote references are not supported)"
			         : "");
		acrt__free(full);
		return t;
	}
	if (hash)
		*hash = '\0';
	for (size_t i = 0; i < c->s->n_res; i++) {
		if (!strcmp(c->s->res[i].uri, full)) {
			t = follow_pointer(c->s->res[i].root, frag);
			*tres = (int)i;
			break;
		}
	}
	if (t == NULL)
		fail(c, "unresolvable $ref '%s'%s", ref,
		     (acrt__schema_uri_scheme_len(ref) || *ref == '/' || strchr(ref, '#') == NULL)
		         ? " (remote references are not supported)"
		         : "");
	acrt__free(full);
	return t;
}

/* ---- pass 2: nodes ---- */

static acrt__snode *compile_node(cctx *c, const json_t *s, int res);

static int
type_bit(const char *t)
{
	static const char *const names[] = {"null",   "boolean", "object", "array",
	                                    "number", "integer", "string"};
	for (size_t i = 0; i < ACRT__ARRAY_LEN(names); i++)
		if (!strcmp(t, names[i]))
			return 1 << i;
	return 0;
}

static bool
get_count(cctx *c, const json_t *s, const char *kw, size_t *out, uint32_t *has, uint32_t bit)
{
	const json_t *v = json_object_get(s, kw);
	if (v == NULL)
		return true;
	double d = json_number_value(v);
	if (!json_is_number(v) || d < 0 || d != floor(d)) {
		fail(c, "'%s' must be a non-negative integer", kw);
		return false;
	}
	*out = d > 1e18 ? (size_t)-1 : (size_t)d;
	*has |= bit;
	return true;
}

static bool
get_number(cctx *c, const json_t *s, const char *kw, double *out, uint32_t *has, uint32_t bit)
{
	const json_t *v = json_object_get(s, kw);
	if (v == NULL)
		return true;
	if (!json_is_number(v)) {
		fail(c, "'%s' must be a number", kw);
		return false;
	}
	*out = json_number_value(v);
	*has |= bit;
	return true;
}

static acrt__snode **
compile_list(cctx *c, const json_t *s, const char *kw, size_t *n, int res)
{
	const json_t *v = json_object_get(s, kw);
	if (v == NULL)
		return NULL;
	if (!json_is_array(v) || json_array_size(v) == 0) {
		fail(c, "'%s' must be a non-empty array of schemas", kw);
		return NULL;
	}
	acrt__snode **l = acrt__calloc(json_array_size(v), sizeof *l);
	if (l == NULL) {
		fail(c, "out of memory");
		return NULL;
	}
	*n = json_array_size(v);
	for (size_t i = 0; i < *n; i++)
		l[i] = compile_node(c, json_array_get(v, i), res);
	return l;
}

static acrt__snode *
compile_one(cctx *c, const json_t *s, const char *kw, int res)
{
	const json_t *v = json_object_get(s, kw);
	return v ? compile_node(c, v, res) : NULL;
}

static int
prop_sort(const void *a, const void *b)
{
	const acrt__sprop *x = a, *y = b;
	return acrt__sprop_cmp(x->name, x->len, y->name, y->len);
}

static acrt__sprop *
compile_map(cctx *c, const json_t *s, const char *kw, size_t *n, int res)
{
	const json_t *v = json_object_get(s, kw);
	if (v == NULL)
		return NULL;
	if (!json_is_object(v)) {
		fail(c, "'%s' must be an object", kw);
		return NULL;
	}
	acrt__sprop *p = acrt__calloc(json_object_size(v) + 1, sizeof *p);
	if (p == NULL) {
		fail(c, "out of memory");
		return NULL;
	}
	const char *k;
	size_t klen;
	json_t *e;
	*n = 0;
	json_object_keylen_foreach((json_t *)v, k, klen, e)
	{
		p[*n] = (acrt__sprop){k, klen, compile_node(c, e, res)};
		(*n)++;
	}
	qsort(p, *n, sizeof *p, prop_sort);
	return p;
}

static pcre2_code *
compile_regex(cctx *c, const char *ecma)
{
	int ec;
	PCRE2_SIZE off;
	char *re = acrt__schema_ecma_to_pcre(ecma);
	if (re == NULL) {
		fail(c, "out of memory");
		return NULL;
	}
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	                                 PCRE2_UTF | PCRE2_UCP, &ec, &off, NULL);
	acrt__free(re);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		fail(c, "invalid regex '%s' (offset %zu after translation): %s", ecma, (size_t)off,
		     (char *)msg);
		return NULL;
	}
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

static void
compile_keywords(cctx *c, acrt__snode *n, const json_t *s, int res)
{
	const json_t *v;
	if ((v = json_object_get(s, "type"))) {
		n->has |= SN_TYPE;
		if (json_is_string(v)) {
			n->types = type_bit(json_string_value(v));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) n->types |=
			    json_is_string(e) ? type_bit(json_string_value(e)) : 0;
		}
		if (n->types == 0)
			fail(c, "'type' must name JSON types");
	}
	if ((v = json_object_get(s, "enum"))) {
		if (!json_is_array(v))
			fail(c, "'enum' must be an array");
		n->enum_ = v;
		n->has |= SN_ENUM;
	}
	if ((v = json_object_get(s, "const"))) {
		n->const_ = v;
		n->has |= SN_CONST;
	}
	get_number(c, s, "multipleOf", &n->multiple_of, &n->has, SN_MULTIPLE_OF);
	if ((n->has & SN_MULTIPLE_OF) && n->multiple_of <= 0)
		fail(c, "'multipleOf' must be greater than 0");
	get_number(c, s, "maximum", &n->maximum, &n->has, SN_MAXIMUM);
	get_number(c, s, "exclusiveMaximum", &n->excl_maximum, &n->has, SN_EXCL_MAXIMUM);
	get_number(c, s, "minimum", &n->minimum, &n->has, SN_MINIMUM);
	get_number(c, s, "exclusiveMinimum", &n->excl_minimum, &n->has, SN_EXCL_MINIMUM);
	get_count(c, s, "maxLength", &n->max_length, &n->has, SN_MAX_LENGTH);
	get_count(c, s, "minLength", &n->min_length, &n->has, SN_MIN_LENGTH);
	get_count(c, s, "maxItems", &n->max_items, &n->has, SN_MAX_ITEMS);
	get_count(c, s, "minItems", &n->min_items, &n->has, SN_MIN_ITEMS);
	get_count(c, s, "maxContains", &n->max_contains, &n->has, SN_MAX_CONTAINS);
	get_count(c, s, "minContains", &n->min_contains, &n->has, SN_MIN_CONTAINS);
	get_count(c, s, "maxProperties", &n->max_props, &n->has, SN_MAX_PROPS);
	get_count(c, s, "minProperties", &n->min_props, &n->has, SN_MIN_PROPS);
	if (json_is_true(json_object_get(s, "uniqueItems")))
		n->has |= SN_UNIQUE_ITEMS;
	if ((v = json_object_get(s, "required"))) {
		if (!json_is_array(v))
			fail(c, "'required' must be an array of strings");
		n->required = v;
	}
	if ((v = json_object_get(s, "pattern"))) {
		if (!json_is_string(v))
			fail(c, "'pattern' must be a string");
		else
			n->pattern = compile_regex(c, json_string_value(v));
	}
	if ((v = json_object_get(s, "dependentRequired")) && json_is_object(v)) {
		n->dep_required = acrt__calloc(json_object_size(v) + 1, sizeof *n->dep_required);
		if (n->dep_required == NULL) {
			fail(c, "out of memory");
			return;
		}
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e)
		{
			n->dep_required[n->n_dep_required++] = (acrt__sdepreq){k, e};
		}
	}
	if ((v = json_object_get(s, "$ref"))) {
		int tres = res;
		const json_t *t =
		    json_is_string(v) ? resolve_ref(c, res, json_string_value(v), &tres) : NULL;
		if (t) {
			scan(c, t, tres);
			n->ref = compile_node(c, t, tres);
		}
	}
	if ((v = json_object_get(s, "$dynamicRef")) && json_is_string(v)) {
		int tres = res;
		const char *ref = json_string_value(v);
		const json_t *t = resolve_ref(c, res, ref, &tres);
		if (t) {
			scan(c, t, tres);
			n->dynref = compile_node(c, t, tres);
			const char *h = strchr(ref, '#');
			const json_t *da = json_object_get(t, "$dynamicAnchor");
			if (h && json_is_string(da) && !strcmp(json_string_value(da), h + 1))
				n->dynref_name = json_string_value(da);
		}
	}
	n->all_of = compile_list(c, s, "allOf", &n->n_all_of, res);
	n->any_of = compile_list(c, s, "anyOf", &n->n_any_of, res);
	n->one_of = compile_list(c, s, "oneOf", &n->n_one_of, res);
	n->not_ = compile_one(c, s, "not", res);
	n->if_ = compile_one(c, s, "if", res);
	n->then_ = compile_one(c, s, "then", res);
	n->else_ = compile_one(c, s, "else", res);
	n->props = compile_map(c, s, "properties", &n->n_props, res);
	n->dep_schemas = compile_map(c, s, "dependentSchemas", &n->n_dep_schemas, res);
	if ((v = json_object_get(s, "patternProperties")) && json_is_object(v)) {
		n->pat_props = acrt__calloc(json_object_size(v) + 1, sizeof *n->pat_props);
		if (n->pat_props == NULL) {
			fail(c, "out of memory");
			return;
		}
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e)
		{
			acrt__spattern *p = &n->pat_props[n->n_pat_props++];
			p->re = compile_regex(c, k);
			p->node = compile_node(c, e, res);
		}
	}
	n->additional_props = compile_one(c, s, "additionalProperties", res);
	n->property_names = compile_one(c, s, "propertyNames", res);
	n->unevaluated_props = compile_one(c, s, "unevaluatedProperties", res);
	n->prefix_items = compile_list(c, s, "prefixItems", &n->n_prefix_items, res);
	n->items = compile_one(c, s, "items", res);
	n->contains = compile_one(c, s, "contains", res);
	n->unevaluated_items = compile_one(c, s, "unevaluatedItems", res);
	n->needs_eval = n->unevaluated_props || n->unevaluated_items;
}

static acrt__snode *
compile_node(cctx *c, const json_t *s, int res)
{
	if (c->failed)
		return NULL;
	if (!json_is_object(s) && !json_is_boolean(s)) {
		fail(c, "a schema must be an object or a boolean");
		return NULL;
	}
	scan(c, s, res);
	info *e = json_is_object(s) ? map_get(c, s) : NULL;
	if (e && e->node)
		return e->node;
	acrt__snode *n = acrt__calloc(1, sizeof *n);
	acrt__schema *sc = c->s;
	if (n == NULL || (sc->nodes = grow(c, sc->nodes, &sc->cap_nodes, sc->n_nodes,
	                                   sizeof *sc->nodes)) == NULL) {
		acrt__free(n);
		fail(c, "out of memory");
		return NULL;
	}
	sc->nodes[sc->n_nodes++] = n;
	n->resource = e ? e->res : res;
	if (json_is_boolean(s)) {
		n->boolean = json_is_true(s) ? 1 : 0;
		return n;
	}
	n->boolean = -1;
	e->node = n;
	compile_keywords(c, n, s, n->resource);
	return n;
}

void
acrt__schema_free(acrt__schema *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		acrt__snode *n = s->nodes[i];
		if (n->pattern)
			pcre2_code_free(n->pattern);
		for (size_t j = 0; j < n->n_pat_props; j++)
			pcre2_code_free(n->pat_props[j].re);
		acrt__free(n->pat_props);
		acrt__free(n->all_of);
		acrt__free(n->any_of);
		acrt__free(n->one_of);
		acrt__free(n->props);
		acrt__free(n->dep_schemas);
		acrt__free(n->dep_required);
		acrt__free(n->prefix_items);
		acrt__free(n);
	}
	for (size_t i = 0; i < s->n_res; i++) {
		acrt__free(s->res[i].uri);
		acrt__free(s->res[i].dyn);
	}
	acrt__free(s->res);
	acrt__free(s->nodes);
	json_decref(s->doc);
	acrt__free(s);
}

acrt__schema *
acrt__schema_compile(const json_t *schema, char *err, size_t errlen)
{
	cctx c = {.err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	c.s = acrt__calloc(1, sizeof *c.s);
	if (c.s == NULL) {
		fail(&c, "out of memory");
		return NULL;
	}
	if (!json_is_object(schema) && !json_is_boolean(schema)) {
		fail(&c, "a schema must be an object or a boolean");
		goto out;
	}
	c.s->doc = json_incref((json_t *)schema);
	char *base = acrt__strdup(DEFAULT_BASE);
	if (base == NULL || add_resource(&c, base, schema) < 0) {
		fail(&c, "out of memory");
		goto out;
	}
	scan(&c, schema, 0);
	c.s->root = compile_node(&c, schema, 0);
	/* Compile every $dynamicAnchor target: $dynamicRef may land on any of them. */
	for (size_t r = 0; r < c.s->n_res && !c.failed; r++) {
		for (size_t i = 0; i < c.s->res[r].n_dyn && !c.failed; i++) {
			const json_t *t = (const json_t *)c.s->res[r].dyn[i].node;
			acrt__snode *n = compile_node(&c, t, (int)r);
			c.s->res[r].dyn[i].node = n; /* res may have moved: index again */
		}
	}
out:
	for (size_t i = 0; i < c.n_anchors; i++)
		acrt__free(c.anchors[i].uri);
	acrt__free(c.anchors);
	acrt__free(c.map);
	if (c.failed) {
		acrt__schema_free(c.s);
		return NULL;
	}
	return c.s;
}
