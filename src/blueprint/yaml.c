/*
 * yaml.c - turns a YAML file into an acrt__ynode tree that keeps each node's
 * file:line:column, so that every later check can point at the offending text.
 *
 * Uses libyaml's document API (yaml_parser_load), then walks the document:
 *   - every scalar (keys included) has ${VAR} and ${VAR:-default} expanded from
 *     the environment; "$${" stands for a literal "${". An unset variable
 *     without a default is an error at the scalar's position.
 *   - plain scalars are typed after expansion (YAML 1.1 / core schema): null,
 *     bool (true/false, yes/no, on/off), int (decimal, 0x, 0o), float (with .inf
 *     and .nan); quoted and block scalars are strings.
 *   - aliases are copied (bounded depth and size, against "billion laughs");
 *     "<<" merge keys are applied; duplicate keys are errors.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "blueprint/bp_int.h"

#define MAX_DEPTH 64
#define MAX_NODES 1000000

typedef struct walker {
	const char *file;
	yaml_document_t *doc;
	acrt__diag *diag;
	size_t nodes;
	int errors;
} walker;

static acrt__mark
mark_of(const walker *w, yaml_mark_t m)
{
	acrt__mark r = {w->file, (int)m.line + 1, (int)m.column + 1};
	return r;
}

/* ---- ${VAR} expansion ------------------------------------------------------ */

/* A growing NUL-terminated text on acrt__malloc. */
typedef struct text_buf {
	char *p;
	size_t len, cap;
} text_buf;

/* Appends n bytes. 0, or -1 when out of memory. */
static int
text_add(text_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = acrt__realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Expands in[0..n) into *out (from acrt__malloc). -1 after reporting an error. */
static int
expand(walker *w, const acrt__mark *m, const char *in, size_t n, char **out)
{
	text_buf b = {0};
	size_t i = 0;
	/* Room for the whole text at once: most scalars expand to themselves. */
	char *p0 = acrt__malloc(n + 1);
	if (!p0)
		goto nomem;
	b = (text_buf){p0, 0, n + 1};
	p0[0] = '\0';
	while (i < n) {
		if (in[i] == '$' && i + 2 < n && in[i + 1] == '$' && in[i + 2] == '{') {
			if (text_add(&b, "${", 2) < 0)
				goto nomem;
			i += 3;
			continue;
		}
		if (!(in[i] == '$' && i + 1 < n && in[i + 1] == '{')) {
			if (text_add(&b, in + i, 1) < 0)
				goto nomem;
			i++;
			continue;
		}
		size_t start = i + 2, end = start;
		while (end < n && in[end] != '}')
			end++;
		if (end >= n) {
			acrt__diag_add(w->diag, m, "unterminated '${' in '%.*s'", (int)n, in);
			goto fail;
		}
		size_t nl = start;
		while (nl < end && (in[nl] == '_' || (in[nl] >= 'A' && in[nl] <= 'Z') ||
		                    (in[nl] >= 'a' && in[nl] <= 'z') ||
		                    (nl > start && in[nl] >= '0' && in[nl] <= '9')))
			nl++;
		bool has_default = nl + 1 < end && in[nl] == ':' && in[nl + 1] == '-';
		if (nl == start || (nl != end && !has_default)) {
			acrt__diag_add(w->diag, m,
			               "bad variable reference '${%.*s}': expected ${NAME} or "
			               "${NAME:-default}",
			               (int)(end - start), in + start);
			goto fail;
		}
		char name[256];
		size_t len = nl - start < sizeof name - 1 ? nl - start : sizeof name - 1;
		memcpy(name, in + start, len);
		name[len] = '\0';
		const char *val = getenv(name);
		if (has_default && (!val || !*val)) {
			if (text_add(&b, in + nl + 2, end - nl - 2) < 0)
				goto nomem;
		} else if (!val) {
			acrt__diag_add(
			    w->diag, m,
			    "environment variable '%s' is not set (use ${%s:-default} to "
			    "give a default)",
			    name, name);
			goto fail;
		} else if (text_add(&b, val, strlen(val)) < 0) {
			goto nomem;
		}
		i = end + 1;
	}
	*out = b.p;
	return 0;
nomem:
	acrt__diag_add(w->diag, m, "out of memory");
fail:
	acrt__free(b.p);
	w->errors++;
	return -1;
}

/* ---- Scalar typing ---------------------------------------------------------- */

static bool
in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (!strcmp(s, *l))
			return true;
	return false;
}

static bool
parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	int base = 10;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'o') {
		base = 8;
		p += 2;
	}
	if (!*p)
		return false;
	for (const char *q = p; *q; q++) {
		bool ok = base == 16 ? ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
		                        (*q >= 'A' && *q <= 'F'))
		                     : (*q >= '0' && *q <= (base == 8 ? '7' : '9'));
		if (!ok)
			return false;
	}
	errno = 0;
	unsigned long long v = strtoull(p, NULL, base);
	if (errno == ERANGE || v > (unsigned long long)INT64_MAX + (neg ? 1u : 0u))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool
parse_float(const char *s, double *out)
{
	static const char *const inf[] = {".inf", ".Inf", ".INF", NULL};
	static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (in_list(p, inf)) {
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	if (p == s && in_list(p, nan)) {
		*out = NAN;
		return true;
	}
	/* [0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)? with at least one digit and a '.' or 'e' */
	size_t digits = 0;
	bool dot = false, exp = false;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		dot = true;
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		exp = true;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p || (!dot && !exp))
		return false;
	*out = strtod(s, NULL);
	return true;
}

static void
type_plain(acrt__ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
	                                    "YES",  "on",   "On",   "ON",  NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
	                                     "NO",    "off",   "Off",   "OFF", NULL};
	if (in_list(n->text, nulls))
		n->kind = ACRT__Y_NULL;
	else if (in_list(n->text, trues))
		n->kind = ACRT__Y_BOOL, n->b = true;
	else if (in_list(n->text, falses))
		n->kind = ACRT__Y_BOOL, n->b = false;
	else if (parse_int(n->text, &n->i))
		n->kind = ACRT__Y_INT;
	else if (parse_float(n->text, &n->f))
		n->kind = ACRT__Y_FLOAT;
}

/* ---- Tree ------------------------------------------------------------------ */

void
acrt__ynode_free(acrt__ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			acrt__ynode_free(n->keys[i]);
		acrt__ynode_free(n->items[i]);
	}
	acrt__free(n->keys);
	acrt__free(n->items);
	acrt__free(n->text);
	acrt__free(n->source);
	acrt__free(n);
}

const char *
acrt__ynode_show(const acrt__ynode *n, const char *value)
{
	return n != NULL && n->source != NULL ? n->source : value;
}

static int
append(acrt__ynode *map, acrt__ynode *key, acrt__ynode *val, size_t *cap)
{
	if (map->n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		acrt__ynode **it = acrt__realloc(map->items, c * sizeof *it);
		if (!it)
			return -1;
		map->items = it;
		if (map->kind == ACRT__Y_MAP) {
			acrt__ynode **k = acrt__realloc(map->keys, c * sizeof *k);
			if (!k)
				return -1;
			map->keys = k;
		}
		*cap = c;
	}
	if (map->kind == ACRT__Y_MAP)
		map->keys[map->n] = key;
	map->items[map->n++] = val;
	return 0;
}

static acrt__ynode *convert(walker *w, yaml_node_t *yn, int depth);

static long
find_key(const acrt__ynode *map, const char *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->text && !strcmp(map->keys[i]->text, key))
			return (long)i;
	return -1;
}

/* Copies the entries of mapping src that map lacks ("<<" merge). */
static int
merge_into(walker *w, acrt__ynode *map, yaml_node_t *src, int depth, size_t *cap)
{
	if (src->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = src->data.sequence.items.start;
		     it < src->data.sequence.items.top; it++) {
			yaml_node_t *s = yaml_document_get_node(w->doc, *it);
			if (s && merge_into(w, map, s, depth, cap) < 0)
				return -1;
		}
		return 0;
	}
	acrt__ynode *m = convert(w, src, depth + 1);
	if (!m)
		return -1;
	if (m->kind != ACRT__Y_MAP) {
		acrt__diag_add(w->diag, &m->mark, "'<<' expects a mapping or a list of mappings");
		w->errors++;
		acrt__ynode_free(m);
		return -1;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (find_key(map, m->keys[i]->text) >= 0)
			continue;
		if (append(map, m->keys[i], m->items[i], cap) < 0) {
			acrt__ynode_free(m);
			return -1;
		}
		m->keys[i] = m->items[i] = NULL;
	}
	acrt__ynode_free(m);
	return 0;
}

static acrt__ynode *
convert_mapping(walker *w, yaml_node_t *yn, acrt__ynode *n, int depth)
{
	size_t cap = 0;
	yaml_node_pair_t *p;
	yaml_node_t *merge = NULL;
	for (p = yn->data.mapping.pairs.start; p < yn->data.mapping.pairs.top; p++) {
		yaml_node_t *yk = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *yv = yaml_document_get_node(w->doc, p->value);
		if (!yk || !yv)
			continue;
		if (yk->type == YAML_SCALAR_NODE &&
		    yk->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    !strcmp((char *)yk->data.scalar.value, "<<")) {
			merge = yv;
			continue;
		}
		acrt__ynode *k = convert(w, yk, depth + 1);
		acrt__ynode *v = k ? convert(w, yv, depth + 1) : NULL;
		if (!k || !v) {
			acrt__ynode_free(k);
			continue;
		}
		if (k->kind == ACRT__Y_MAP || k->kind == ACRT__Y_SEQ) {
			acrt__diag_add(w->diag, &k->mark, "mapping keys must be scalars");
			w->errors++;
			acrt__ynode_free(k);
			acrt__ynode_free(v);
			continue;
		}
		long prev = find_key(n, k->text);
		if (prev >= 0) {
			acrt__diag_add(w->diag, &k->mark, "duplicate key '%s' (first at line %d)",
			               k->text, n->keys[prev]->mark.line);
			w->errors++;
			acrt__ynode_free(k);
			acrt__ynode_free(v);
			continue;
		}
		if (append(n, k, v, &cap) < 0) {
			acrt__ynode_free(k);
			acrt__ynode_free(v);
			goto nomem;
		}
	}
	if (merge && merge_into(w, n, merge, depth, &cap) < 0 && !w->errors)
		goto nomem;
	return n;
nomem:
	acrt__diag_add(w->diag, &n->mark, "out of memory");
	w->errors++;
	acrt__ynode_free(n);
	return NULL;
}

static acrt__ynode *
convert(walker *w, yaml_node_t *yn, int depth)
{
	acrt__mark m = mark_of(w, yn->start_mark);
	if (depth > MAX_DEPTH || ++w->nodes > MAX_NODES) {
		if (w->errors == 0 || depth == MAX_DEPTH + 1)
			acrt__diag_add(w->diag, &m, "document too deeply nested or too large");
		w->errors++;
		return NULL;
	}
	acrt__ynode *n = acrt__calloc(1, sizeof *n);
	if (!n) {
		acrt__diag_add(w->diag, &m, "out of memory");
		w->errors++;
		return NULL;
	}
	n->mark = m;
	switch (yn->type) {
	case YAML_SCALAR_NODE:
		n->kind = ACRT__Y_STR;
		if (expand(w, &m, (const char *)yn->data.scalar.value, yn->data.scalar.length,
		           &n->text) < 0) {
			acrt__free(n);
			return NULL;
		}
		/* libyaml's scalar text is NUL-terminated */
		if (strstr((const char *)yn->data.scalar.value, "${") != NULL &&
		    (n->source = acrt__strdup((const char *)yn->data.scalar.value)) == NULL) {
			acrt__diag_add(w->diag, &m, "out of memory");
			w->errors++;
			acrt__free(n->text);
			acrt__free(n);
			return NULL;
		}
		if (yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			n->plain = true;
			type_plain(n);
		}
		return n;
	case YAML_SEQUENCE_NODE: {
		size_t cap = 0;
		n->kind = ACRT__Y_SEQ;
		for (yaml_node_item_t *it = yn->data.sequence.items.start;
		     it < yn->data.sequence.items.top; it++) {
			yaml_node_t *c = yaml_document_get_node(w->doc, *it);
			acrt__ynode *v = c ? convert(w, c, depth + 1) : NULL;
			if (!v)
				continue;
			if (append(n, NULL, v, &cap) < 0) {
				acrt__ynode_free(v);
				acrt__ynode_free(n);
				acrt__diag_add(w->diag, &m, "out of memory");
				w->errors++;
				return NULL;
			}
		}
		return n;
	}
	case YAML_MAPPING_NODE:
		n->kind = ACRT__Y_MAP;
		return convert_mapping(w, yn, n, depth);
	default:
		acrt__free(n);
		return NULL;
	}
}

int
acrt__yaml_load(const char *file, acrt__ynode **out, acrt__diag *d)
{
	acrt__mark top = {file, 1, 1};
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	acrt__ynode *root = NULL;
	int rc = -1;
	FILE *f = fopen(file, "rb");
	if (!f) {
		acrt__diag_add(d, &top, "cannot open '%s': %s", file, strerror(errno));
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		acrt__diag_add(d, &top, "out of memory");
		goto cleanup;
	}
	have_parser = true;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		acrt__mark m = {file, (int)parser.problem_mark.line + 1,
		                (int)parser.problem_mark.column + 1};
		if (parser.error == YAML_READER_ERROR)
			acrt__diag_add(d, &m, "cannot read YAML: %s", parser.problem);
		else if (parser.context)
			acrt__diag_add(d, &m, "YAML syntax error: %s (%s at line %d)",
			               parser.problem ? parser.problem : "error", parser.context,
			               (int)parser.context_mark.line + 1);
		else
			acrt__diag_add(d, &m, "YAML syntax error: %s",
			               parser.problem ? parser.problem : "error");
		goto cleanup;
	}
	have_doc = true;
	if (ferror(f)) {
		acrt__diag_add(d, &top, "cannot read '%s': %s", file, strerror(errno));
		goto cleanup;
	}
	yaml_node_t *yroot = yaml_document_get_root_node(&doc);
	if (!yroot) {
		acrt__diag_add(d, &top, "empty file");
		goto cleanup;
	}
	walker w = {file, &doc, d, 0, 0};
	root = convert(&w, yroot, 0);
	if (w.errors || !root) {
		acrt__ynode_free(root);
		goto cleanup;
	}
	*out = root;
	rc = 0;
cleanup:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

/* ---- Queries ------------------------------------------------------------------ */

const acrt__ynode *
acrt__ynode_get(const acrt__ynode *map, const char *key)
{
	if (!map || map->kind != ACRT__Y_MAP)
		return NULL;
	long i = find_key(map, key);
	return i < 0 ? NULL : map->items[i];
}

const acrt__ynode *
acrt__ynode_key(const acrt__ynode *map, const char *key)
{
	if (!map || map->kind != ACRT__Y_MAP)
		return NULL;
	long i = find_key(map, key);
	return i < 0 ? NULL : map->keys[i];
}

json_t *
acrt__ynode_json(const acrt__ynode *n)
{
	json_t *j = NULL;
	switch (n->kind) {
	case ACRT__Y_NULL:
		return json_null();
	case ACRT__Y_BOOL:
		return json_boolean(n->b);
	case ACRT__Y_INT:
		return json_integer(n->i);
	case ACRT__Y_FLOAT:
		/* JSON has no inf/nan: keep the text. */
		return isfinite(n->f) ? json_real(n->f) : json_string(n->text);
	case ACRT__Y_STR:
		return json_string(n->text);
	case ACRT__Y_SEQ:
		j = json_array();
		for (size_t i = 0; j && i < n->n; i++)
			if (json_array_append_new(j, acrt__ynode_json(n->items[i])) < 0)
				goto fail;
		return j;
	case ACRT__Y_MAP:
		j = json_object();
		for (size_t i = 0; j && i < n->n; i++)
			if (json_object_set_new(j, n->keys[i]->text,
			                        acrt__ynode_json(n->items[i])) < 0)
				goto fail;
		return j;
	}
fail:
	json_decref(j);
	return NULL;
}

void
acrt__ynode_describe(const acrt__ynode *n, char *buf, size_t len)
{
	switch (n->kind) {
	case ACRT__Y_NULL:
		snprintf(buf, len, "null");
		break;
	case ACRT__Y_BOOL:
		snprintf(buf, len, "boolean %s", n->b ? "true" : "false");
		break;
	case ACRT__Y_INT:
		snprintf(buf, len, "integer %s", n->text);
		break;
	case ACRT__Y_FLOAT:
		snprintf(buf, len, "number %s", n->text);
		break;
	case ACRT__Y_STR:
		snprintf(buf, len, "string '%.40s%s'", n->text, strlen(n->text) > 40 ? "..." : "");
		break;
	case ACRT__Y_MAP:
		snprintf(buf, len, "a mapping");
		break;
	case ACRT__Y_SEQ:
		snprintf(buf, len, "a sequence");
		break;
	}
}

void
acrt__json_describe(const json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		snprintf(buf, len, "null");
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(buf, len, "boolean %s", json_is_true(v) ? "true" : "false");
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "number %g", json_real_value(v));
		break;
	case JSON_STRING:
		snprintf(buf, len, "string '%.40s%s'", json_string_value(v),
		         json_string_length(v) > 40 ? "..." : "");
		break;
	case JSON_OBJECT:
		snprintf(buf, len, "a mapping");
		break;
	case JSON_ARRAY:
		snprintf(buf, len, "a sequence");
		break;
	}
}
