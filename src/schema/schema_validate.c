/*
 * schema_validate.c - checks a JSON instance against a compiled schema
 * (schema_int.h).
 *
 * One recursive function, validate(), applies a node to an instance location.
 * Three pieces of state travel with it, all on the C stack so that concurrent
 * validations of one compiled schema never touch shared memory:
 *   - the instance path, a linked list of segments, turned into a JSON pointer
 *     only when an error is recorded (no allocation while valid);
 *   - the dynamic scope, a linked list of the schema resources entered, which
 *     $dynamicRef searches from the outermost one;
 *   - an "evaluated" bitmap for unevaluatedItems/unevaluatedProperties: bit i
 *     is array index i, or the i-th member in jansson's iteration order of the
 *     object (every keyword iterates the same unmodified object, so the order
 *     is the same). A node with an unevaluated* keyword gets a fresh bitmap that
 *     its in-place applicators ($ref, allOf, anyOf, oneOf, if/then/else,
 *     dependentSchemas) mark; a subschema's marks reach its parent only when it
 *     is valid, as 2020-12 drops the annotations of failed subschemas.
 * Without an error list validation stops at the first failure. With one, it
 * goes on and records every error outside the branches of anyOf, oneOf, not,
 * if, contains and propertyNames (those report their own keyword instead).
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "schema/schema_int.h"

/* Nesting bound (schema applications on one path): stops $ref cycles that do
 * not consume the instance. */
#define MAX_DEPTH 512
/* Schema nodes one validation may visit. A schema whose cost grows
 * exponentially with the instance's nesting (anyOf/oneOf over a recursive
 * $ref) would otherwise run for ever; past the budget the instance is
 * invalid with keyword "budget" (docs/SCHEMA.md). A 5-property object takes
 * about 10 visits; 10M take about half a second. */
#ifdef ACRT_FUZZ_MAX_STEPS /* the fuzz build's (CMakeLists.txt, ACRT_FUZZ): see docs/FUZZING.md */
#define MAX_STEPS ACRT_FUZZ_MAX_STEPS
#else
#define MAX_STEPS 10000000u
#endif
#define DEFAULT_MAX_ERRORS 100

typedef struct pathseg {
	const struct pathseg *up;
	const char *key; /* NULL: an array index */
	size_t len;      /* key length, or the index */
} pathseg;

typedef struct scope {
	const struct scope *up;
	int res;
} scope;

typedef struct vctx {
	const acrt__schema *s;
	acrt__schema_errors *errs; /* NULL: stop at the first failure */
	const pathseg *path;
	const scope *scope;
	int depth;
	uint32_t steps; /* schema nodes visited (MAX_STEPS) */
	bool over;      /* the budget is spent: everything fails */
	bool oom;
} vctx;

typedef struct evalset {
	uint64_t small[2];
	uint64_t *bits;
	size_t words;
} evalset;

/* ---- evaluated-location bitmaps ---- */

static bool
eval_init(evalset *e, size_t n)
{
	e->words = (n + 63) / 64;
	if (e->words <= ACRT__ARRAY_LEN(e->small)) {
		e->small[0] = e->small[1] = 0;
		e->bits = e->small;
		return true;
	}
	e->bits = acrt__calloc(e->words, sizeof *e->bits);
	return e->bits != NULL;
}

static void
eval_done(evalset *e)
{
	if (e->bits != e->small)
		acrt__free(e->bits);
}

static inline void
eval_mark(evalset *e, size_t i)
{
	if (e)
		e->bits[i / 64] |= 1ull << (i % 64);
}

static inline bool
eval_has(const evalset *e, size_t i)
{
	return e->bits[i / 64] >> (i % 64) & 1;
}

static void
eval_merge(evalset *dst, const evalset *src)
{
	if (dst == NULL)
		return;
	for (size_t i = 0; i < dst->words && i < src->words; i++)
		dst->bits[i] |= src->bits[i];
}

/* ---- errors ---- */

static size_t
path_len(const pathseg *p)
{
	size_t n = 0;
	for (; p; p = p->up) {
		if (p->key == NULL) {
			n += 21;
			continue;
		}
		n += 1 + p->len;
		for (size_t i = 0; i < p->len; i++)
			n += p->key[i] == '~' || p->key[i] == '/';
	}
	return n;
}

static char *
path_write(const pathseg *p, char *o)
{
	if (p == NULL)
		return o;
	o = path_write(p->up, o);
	*o++ = '/';
	if (p->key == NULL) {
		char num[24];
		int n = snprintf(num, sizeof num, "%zu", p->len);
		memcpy(o, num, (size_t)n);
		return o + n;
	}
	for (size_t i = 0; i < p->len; i++) {
		char ch = p->key[i];
		if (ch == '~' || ch == '/') {
			*o++ = '~';
			*o++ = ch == '~' ? '0' : '1';
		} else {
			*o++ = ch;
		}
	}
	return o;
}

static void add_error_d(vctx *c, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The error's slot, its path written; NULL when full or out of memory. */
static acrt__schema_error *
new_error(vctx *c, const char *kw)
{
	acrt__schema_errors *e = c->errs;
	if (e == NULL || e->n >= (e->max ? e->max : DEFAULT_MAX_ERRORS))
		return NULL;
	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 8;
		acrt__schema_error *v = acrt__realloc(e->v, nc * sizeof *v);
		if (v == NULL) {
			c->oom = true;
			return NULL;
		}
		e->v = v;
		e->cap = nc;
	}
	char *path = acrt__malloc(path_len(c->path) + 1);
	if (path == NULL) {
		c->oom = true;
		return NULL;
	}
	*path_write(c->path, path) = '\0';
	acrt__schema_error *x = &e->v[e->n++];
	x->path = path;
	x->keyword = kw;
	x->detail[0] = '\0';
	return x;
}

static void
add_error(vctx *c, const char *kw)
{
	(void)new_error(c, kw);
}

static void
add_error_d(vctx *c, const char *kw, const char *fmt, ...)
{
	acrt__schema_error *x = new_error(c, kw);
	if (x == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->detail, sizeof x->detail, fmt, ap);
	va_end(ap);
}

/* ---- helpers ---- */

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_free(void *p)
{
	pcre2_match_data_free(p);
}

static void
md_init(void)
{
	pthread_key_create(&md_key, md_free);
}

/* Unanchored search of re in s. The match data is per thread (made once). */
static bool
re_search(vctx *c, const pcre2_code *re, const char *s, size_t len)
{
	pthread_once(&md_once, md_init);
	pcre2_match_data *md = pthread_getspecific(md_key);
	if (md == NULL) {
		md = pcre2_match_data_create(1, NULL);
		if (md == NULL || pthread_setspecific(md_key, md) != 0) {
			pcre2_match_data_free(md);
			c->oom = true;
			return false;
		}
	}
	return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL) >= 0;
}

static size_t
utf8_length(const char *s, size_t n)
{
	size_t cp = 0;
	for (size_t i = 0; i < n; i++)
		cp += ((unsigned char)s[i] & 0xC0) != 0x80;
	return cp;
}

static int
type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		return SN_T_NULL;
	case JSON_TRUE:
	case JSON_FALSE:
		return SN_T_BOOL;
	case JSON_OBJECT:
		return SN_T_OBJECT;
	case JSON_ARRAY:
		return SN_T_ARRAY;
	case JSON_INTEGER:
		return SN_T_INTEGER | SN_T_NUMBER;
	case JSON_REAL: {
		double d = json_real_value(v);
		return (isfinite(d) && d == floor(d)) ? SN_T_INTEGER | SN_T_NUMBER : SN_T_NUMBER;
	}
	default:
		return SN_T_STRING;
	}
}

static bool
is_multiple(const json_t *v, double m)
{
	if (json_is_integer(v) && m == floor(m) && m < 9007199254740992.0)
		return json_integer_value(v) % (json_int_t)m == 0;
	double q = json_number_value(v) / m;
	if (!isfinite(q))
		return false;
	return fabs(q - nearbyint(q)) <= fmax(1e-9, fabs(q) * 1e-15);
}

static int validate(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev, const char *kw);

/* Applies n to one member or item of the current instance. */
static int
validate_at(vctx *c, const acrt__snode *n, const json_t *inst, const char *key, size_t len,
            const char *kw)
{
	pathseg seg = {c->path, key, len};
	const pathseg *saved = c->path;
	c->path = &seg;
	int ok = validate(c, n, inst, NULL, kw);
	c->path = saved;
	return ok;
}

/* Applies n without recording errors (the branches of anyOf, not, ...). */
static int
probe(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev, const char *kw)
{
	acrt__schema_errors *saved = c->errs;
	c->errs = NULL;
	int ok = validate(c, n, inst, ev, kw);
	c->errs = saved;
	return ok;
}

/* Like probe, but on success merges the annotations into ev (if tracking). */
static int
probe_eval(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev, size_t size,
           const char *kw)
{
	if (ev == NULL)
		return probe(c, n, inst, NULL, kw);
	evalset tmp;
	if (!eval_init(&tmp, size)) {
		c->oom = true;
		return 0;
	}
	int ok = probe(c, n, inst, &tmp, kw);
	if (ok)
		eval_merge(ev, &tmp);
	eval_done(&tmp);
	return ok;
}

static const acrt__snode *
dynamic_target(const vctx *c, const acrt__snode *n)
{
	const acrt__snode *t = n->dynref;
	if (n->dynref_name == NULL)
		return t;
	for (const scope *sc = c->scope; sc; sc = sc->up) {
		const acrt__sresource *r = &c->s->res[sc->res];
		for (size_t i = 0; i < r->n_dyn; i++)
			if (!strcmp(r->dyn[i].name, n->dynref_name))
				t = r->dyn[i].node; /* keep going: the outermost wins */
	}
	return t;
}

#define FAIL(kw)                                                                                   \
	do {                                                                                       \
		add_error(c, kw);                                                                  \
		ok = 0;                                                                            \
		if (c->errs == NULL)                                                               \
			goto done;                                                                 \
	} while (0)
#define FAIL_D(kw, ...)                                                                            \
	do {                                                                                       \
		if (c->errs != NULL)                                                               \
			add_error_d(c, kw, __VA_ARGS__);                                           \
		ok = 0;                                                                            \
		if (c->errs == NULL)                                                               \
			goto done;                                                                 \
	} while (0)
#define FAILED()                                                                                   \
	do {                                                                                       \
		ok = 0;                                                                            \
		if (c->errs == NULL)                                                               \
			goto done;                                                                 \
	} while (0)

static int
validate_number(vctx *c, const acrt__snode *n, const json_t *inst)
{
	int ok = 1;
	double x = json_number_value(inst);
	char a[32], b[32];
	if ((n->has & SN_MULTIPLE_OF) && !is_multiple(inst, n->multiple_of))
		FAIL_D("multipleOf", "multipleOf %s, got %s",
		       acrt__schema_dbl_text(n->multiple_of, a), acrt__schema_num_text(inst, b));
	if ((n->has & SN_MAXIMUM) && x > n->maximum)
		FAIL_D("maximum", "maximum %s, got %s", acrt__schema_dbl_text(n->maximum, a),
		       acrt__schema_num_text(inst, b));
	if ((n->has & SN_EXCL_MAXIMUM) && x >= n->excl_maximum)
		FAIL_D("exclusiveMaximum", "exclusiveMaximum %s, got %s",
		       acrt__schema_dbl_text(n->excl_maximum, a), acrt__schema_num_text(inst, b));
	if ((n->has & SN_MINIMUM) && x < n->minimum)
		FAIL_D("minimum", "minimum %s, got %s", acrt__schema_dbl_text(n->minimum, a),
		       acrt__schema_num_text(inst, b));
	if ((n->has & SN_EXCL_MINIMUM) && x <= n->excl_minimum)
		FAIL_D("exclusiveMinimum", "exclusiveMinimum %s, got %s",
		       acrt__schema_dbl_text(n->excl_minimum, a), acrt__schema_num_text(inst, b));
done:
	return ok;
}

static int
validate_string(vctx *c, const acrt__snode *n, const json_t *inst)
{
	int ok = 1;
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst);
	if (n->has & (SN_MAX_LENGTH | SN_MIN_LENGTH)) {
		size_t cp = utf8_length(s, len);
		if ((n->has & SN_MAX_LENGTH) && cp > n->max_length)
			FAIL_D("maxLength", "maxLength %zu, got %zu", n->max_length, cp);
		if ((n->has & SN_MIN_LENGTH) && cp < n->min_length)
			FAIL_D("minLength", "minLength %zu, got %zu", n->min_length, cp);
	}
	if (n->pattern && !re_search(c, n->pattern, s, len))
		FAIL("pattern");
done:
	return ok;
}

static int
validate_array(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev)
{
	int ok = 1;
	size_t size = json_array_size(inst);
	if ((n->has & SN_MAX_ITEMS) && size > n->max_items)
		FAIL_D("maxItems", "maxItems %zu, got %zu", n->max_items, size);
	if ((n->has & SN_MIN_ITEMS) && size < n->min_items)
		FAIL_D("minItems", "minItems %zu, got %zu", n->min_items, size);
	if (n->has & SN_UNIQUE_ITEMS) {
		for (size_t i = 1; i < size; i++) {
			for (size_t j = 0; j < i; j++) {
				if (acrt__schema_json_equal(json_array_get(inst, i),
				                            json_array_get(inst, j))) {
					FAIL("uniqueItems");
					i = size;
					break;
				}
			}
		}
	}
	size_t np = n->n_prefix_items < size ? n->n_prefix_items : size;
	for (size_t i = 0; i < np; i++) {
		if (!validate_at(c, n->prefix_items[i], json_array_get(inst, i), NULL, i,
		                 "prefixItems"))
			FAILED();
		eval_mark(ev, i);
	}
	if (n->items) {
		for (size_t i = n->n_prefix_items; i < size; i++) {
			if (!validate_at(c, n->items, json_array_get(inst, i), NULL, i, "items"))
				FAILED();
			eval_mark(ev, i);
		}
	}
	if (n->contains) {
		size_t count = 0;
		for (size_t i = 0; i < size; i++) {
			if (probe(c, n->contains, json_array_get(inst, i), NULL, "contains")) {
				count++;
				eval_mark(ev, i);
			}
		}
		size_t min = (n->has & SN_MIN_CONTAINS) ? n->min_contains : 1;
		if (count < min)
			FAIL((n->has & SN_MIN_CONTAINS) ? "minContains" : "contains");
		if ((n->has & SN_MAX_CONTAINS) && count > n->max_contains)
			FAIL("maxContains");
	}
done:
	return ok;
}

static int
missing(vctx *c, const json_t *inst, const json_t *names, const char *kw)
{
	int ok = 1;
	size_t i;
	json_t *name;
	json_array_foreach(names, i, name)
	{
		if (!json_is_string(name))
			continue;
		const char *k = json_string_value(name);
		size_t kl = json_string_length(name);
		if (json_object_getn(inst, k, kl) == NULL) {
			pathseg seg = {c->path, k, kl};
			const pathseg *saved = c->path;
			c->path = &seg;
			add_error(c, kw);
			c->path = saved;
			ok = 0;
			if (c->errs == NULL)
				break;
		}
	}
	return ok;
}

static const acrt__sprop *
find_prop(const acrt__sprop *p, size_t n, const char *k, size_t kl)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = acrt__sprop_cmp(k, kl, p[mid].name, p[mid].len);
		if (cmp == 0)
			return &p[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
validate_object(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev)
{
	int ok = 1;
	size_t size = json_object_size(inst);
	if ((n->has & SN_MAX_PROPS) && size > n->max_props)
		FAIL_D("maxProperties", "maxProperties %zu, got %zu", n->max_props, size);
	if ((n->has & SN_MIN_PROPS) && size < n->min_props)
		FAIL_D("minProperties", "minProperties %zu, got %zu", n->min_props, size);
	if (n->required && !missing(c, inst, n->required, "required"))
		FAILED();
	for (size_t i = 0; i < n->n_dep_required; i++) {
		if (json_object_get(inst, n->dep_required[i].name) &&
		    !missing(c, inst, n->dep_required[i].required, "dependentRequired"))
			FAILED();
	}
	if (n->props || n->pat_props || n->additional_props || n->property_names) {
		const char *k;
		size_t kl, idx = 0;
		json_t *v;
		json_object_keylen_foreach((json_t *)inst, k, kl, v)
		{
			bool matched = false;
			const acrt__sprop *p = find_prop(n->props, n->n_props, k, kl);
			if (p) {
				matched = true;
				if (!validate_at(c, p->node, v, k, kl, "properties"))
					FAILED();
			}
			for (size_t j = 0; j < n->n_pat_props; j++) {
				if (!re_search(c, n->pat_props[j].re, k, kl))
					continue;
				matched = true;
				if (!validate_at(c, n->pat_props[j].node, v, k, kl,
				                 "patternProperties"))
					FAILED();
			}
			if (!matched && n->additional_props) {
				matched = true;
				if (!validate_at(c, n->additional_props, v, k, kl,
				                 "additionalProperties"))
					FAILED();
			}
			if (matched)
				eval_mark(ev, idx);
			if (n->property_names) {
				json_t *name = json_stringn_nocheck(k, kl);
				int good = name &&
				           probe(c, n->property_names, name, NULL, "propertyNames");
				json_decref(name);
				if (!good) {
					pathseg seg = {c->path, k, kl};
					const pathseg *saved = c->path;
					c->path = &seg;
					add_error(c, "propertyNames");
					c->path = saved;
					FAILED();
				}
			}
			idx++;
		}
	}
	for (size_t i = 0; i < n->n_dep_schemas; i++) {
		const acrt__sprop *d = &n->dep_schemas[i];
		if (json_object_getn(inst, d->name, d->len) &&
		    !validate(c, d->node, inst, ev, "dependentSchemas"))
			FAILED();
	}
done:
	return ok;
}

/* The unevaluated* keywords: after everything else, over the unmarked locations. */
static int
validate_unevaluated(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev)
{
	int ok = 1;
	if (n->unevaluated_items && json_is_array(inst)) {
		for (size_t i = 0; i < json_array_size(inst); i++) {
			if (eval_has(ev, i))
				continue;
			if (!validate_at(c, n->unevaluated_items, json_array_get(inst, i), NULL, i,
			                 "unevaluatedItems"))
				FAILED();
			eval_mark(ev, i);
		}
	}
	if (n->unevaluated_props && json_is_object(inst)) {
		const char *k;
		size_t kl, idx = 0;
		json_t *v;
		json_object_keylen_foreach((json_t *)inst, k, kl, v)
		{
			if (!eval_has(ev, idx)) {
				if (!validate_at(c, n->unevaluated_props, v, k, kl,
				                 "unevaluatedProperties"))
					FAILED();
				eval_mark(ev, idx);
			}
			idx++;
		}
	}
done:
	return ok;
}

static int
validate_applicators(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev, size_t size)
{
	int ok = 1;
	for (size_t i = 0; i < n->n_all_of; i++)
		if (!validate(c, n->all_of[i], inst, ev, "allOf"))
			FAILED();
	if (n->any_of) {
		int any = 0;
		for (size_t i = 0; i < n->n_any_of; i++) {
			if (probe_eval(c, n->any_of[i], inst, ev, size, "anyOf")) {
				any = 1;
				if (ev == NULL)
					break;
			}
		}
		if (!any)
			FAIL("anyOf");
	}
	if (n->one_of) {
		size_t count = 0, which = 0;
		for (size_t i = 0; i < n->n_one_of && count < 2; i++) {
			if (probe(c, n->one_of[i], inst, NULL, "oneOf")) {
				count++;
				which = i;
			}
		}
		if (count != 1)
			FAIL("oneOf");
		else if (ev)
			probe_eval(c, n->one_of[which], inst, ev, size, "oneOf");
	}
	if (n->not_ && probe(c, n->not_, inst, NULL, "not"))
		FAIL("not");
	if (n->if_ && (n->then_ || n->else_ || ev)) {
		if (probe_eval(c, n->if_, inst, ev, size, "if")) {
			if (n->then_ && !validate(c, n->then_, inst, ev, "then"))
				FAILED();
		} else if (n->else_ && !validate(c, n->else_, inst, ev, "else")) {
			FAILED();
		}
	}
done:
	return ok;
}

static int
validate(vctx *c, const acrt__snode *n, const json_t *inst, evalset *ev, const char *kw)
{
	if (acrt__unlikely(++c->steps > MAX_STEPS)) {
		c->over = true; /* acrt__schema_validate reports it once */
		return 0;
	}
	if (n->boolean >= 0) {
		if (n->boolean)
			return 1;
		add_error(c, kw);
		return 0;
	}
	if (c->depth >= MAX_DEPTH) {
		add_error(c, "$ref");
		return 0;
	}
	int ok = 1;
	scope sc = {c->scope, n->resource};
	const scope *saved_scope = c->scope;
	if (c->scope == NULL || c->scope->res != n->resource)
		c->scope = &sc;
	c->depth++;

	size_t size = 0;
	evalset local, *lev = ev;
	bool own = false;
	if (json_is_object(inst))
		size = json_object_size(inst);
	else if (json_is_array(inst))
		size = json_array_size(inst);
	if (n->needs_eval && (json_is_object(inst) || json_is_array(inst))) {
		if (!eval_init(&local, size)) {
			c->oom = true;
			ok = 0;
			goto out;
		}
		own = true;
		lev = &local;
	} else if (!json_is_object(inst) && !json_is_array(inst)) {
		lev = NULL;
	}

	if (n->ref && !validate(c, n->ref, inst, lev, "$ref"))
		FAILED();
	if (n->dynref && !validate(c, dynamic_target(c, n), inst, lev, "$dynamicRef"))
		FAILED();
	if ((n->has & SN_TYPE) && !(type_of(inst) & n->types)) {
		char want[80];
		acrt__schema_types_text(n->types, want, sizeof want);
		FAIL_D("type", "type %s, got %s", want, acrt__schema_type_name(inst));
	}
	if (n->has & SN_CONST && !acrt__schema_json_equal(n->const_, inst))
		FAIL("const");
	if (n->has & SN_ENUM) {
		int found = 0;
		for (size_t i = 0; i < json_array_size(n->enum_) && !found; i++)
			found = acrt__schema_json_equal(json_array_get(n->enum_, i), inst);
		if (!found)
			FAIL("enum");
	}
	switch (json_typeof(inst)) {
	case JSON_INTEGER:
	case JSON_REAL:
		if (!validate_number(c, n, inst))
			FAILED();
		break;
	case JSON_STRING:
		if (!validate_string(c, n, inst))
			FAILED();
		break;
	case JSON_ARRAY:
		if (!validate_array(c, n, inst, lev))
			FAILED();
		break;
	case JSON_OBJECT:
		if (!validate_object(c, n, inst, lev))
			FAILED();
		break;
	default:
		break;
	}
	if (!validate_applicators(c, n, inst, lev, size))
		FAILED();
	if (own && !validate_unevaluated(c, n, inst, lev))
		FAILED();
done:
	if (own) {
		if (ok)
			eval_merge(ev, &local);
		eval_done(&local);
	}
out:
	c->depth--;
	c->scope = saved_scope;
	return ok;
}

int
acrt__schema_validate(const acrt__schema *s, const json_t *instance, acrt__schema_errors *errs)
{
	vctx c = {.s = s, .errs = errs};
	int ok = validate(&c, s->root, instance, NULL, "false");
	if (c.over) { /* whatever came out (a `not` may have turned it), it failed */
		ok = 0;
		if (errs != NULL) {
			acrt__schema_errors_clear(errs);
			c.path = NULL;
			add_error_d(&c, "budget", "validation stopped after %u steps", MAX_STEPS);
		}
	}
	if (c.oom) {
		ok = 0;
		if (errs && errs->n == 0)
			add_error(&c, "out of memory");
	}
	return ok ? 0 : 1;
}
