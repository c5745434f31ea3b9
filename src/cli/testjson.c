/*
 * testjson.c - `acrt test`'s JSON values (testjson.h): a small tree built by
 * one walk of the text (core/json.h), whose numbers are kept as their exact
 * text and, for comparing, in a canonical decimal form: sign, the digits
 * without leading or trailing zeros, and the exponent of the point, so that
 * two numbers are equal exactly when their values are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/testjson.h"
#include "core/common.h"
#include "core/json.h"

struct acrt__tjson {
	acrt__jtype type;
	char *s; /* string (unescaped) or number (as written) */
	size_t slen;
	char *num;          /* number: canonical form */
	char **keys;        /* object: member keys, sorted, unique */
	size_t *klens;      /* their lengths */
	acrt__tjson **kids; /* members or items */
	size_t n, cap;
};

/* ---- Building ------------------------------------------------------------------ */

typedef struct build {
	acrt__tjson *root;
	acrt__tjson *stack[ACRT__JSON_MAX_DEPTH + 1];
	size_t depth;
	char *key; /* the pending member key */
	size_t klen;
	bool oom;
} build;

/* The canonical form of a JSON number's text: "0", or [-]DIGITS"e"EXP where
 * the value is 0.DIGITS x 10^EXP. */
static char *
canon_number(const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;
	bool neg = p < end && *p == '-';
	if (neg)
		p++;
	char *digits = acrt__malloc(len + 1);
	if (digits == NULL)
		return NULL;
	size_t nd = 0;
	int64_t point = 0; /* digits before the point, after leading zeros */
	bool seen = false, frac = false;
	for (; p < end && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			frac = true;
			continue;
		}
		if (!seen && *p == '0') { /* leading zeros */
			if (frac)
				point--;
			continue;
		}
		seen = true;
		digits[nd++] = *p;
		if (!frac)
			point++;
	}
	int64_t e = 0;
	if (p < end) { /* the exponent, saturated far past any double */
		p++;
		bool eneg = *p == '-';
		if (*p == '+' || *p == '-')
			p++;
		for (; p < end; p++)
			if (e < INT64_C(1000000000000000))
				e = e * 10 + (*p - '0');
		e = eneg ? -e : e;
	}
	while (nd > 0 && digits[nd - 1] == '0')
		nd--;
	char *out;
	if (nd == 0)
		out = acrt__strdup("0"); /* -0 is 0 */
	else {
		char tail[32];
		int tl = snprintf(tail, sizeof tail, "e%lld", (long long)(point + e));
		out = acrt__malloc(nd + (size_t)tl + 2);
		if (out != NULL) {
			size_t o = 0;
			if (neg)
				out[o++] = '-';
			memcpy(out + o, digits, nd);
			memcpy(out + o + nd, tail, (size_t)tl + 1);
		}
	}
	acrt__free(digits);
	return out;
}

static acrt__tjson *
node(build *b, acrt__jtype t)
{
	acrt__tjson *v = acrt__calloc(1, sizeof *v);
	if (v == NULL) {
		b->oom = true;
		return NULL;
	}
	v->type = t;
	if (b->depth == 0) {
		b->root = v;
		return v;
	}
	acrt__tjson *parent = b->stack[b->depth - 1];
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		acrt__tjson **k = acrt__realloc(parent->kids, cap * sizeof *k);
		char **keys = parent->type == ACRT__J_OBJECT
		                  ? acrt__realloc(parent->keys, cap * sizeof *keys)
		                  : NULL;
		size_t *kl = parent->type == ACRT__J_OBJECT
		                 ? acrt__realloc(parent->klens, cap * sizeof *kl)
		                 : NULL;
		if (k != NULL)
			parent->kids = k;
		if (keys != NULL)
			parent->keys = keys;
		if (kl != NULL)
			parent->klens = kl;
		if (k == NULL || (parent->type == ACRT__J_OBJECT && (keys == NULL || kl == NULL))) {
			acrt__free(v);
			b->oom = true;
			return NULL;
		}
		parent->cap = cap;
	}
	if (parent->type == ACRT__J_OBJECT) {
		parent->keys[parent->n] = b->key;
		parent->klens[parent->n] = b->klen;
		b->key = NULL;
	}
	parent->kids[parent->n++] = v;
	return v;
}

static int
push(build *b, acrt__jtype t)
{
	acrt__tjson *v = node(b, t);
	if (v == NULL)
		return 1;
	b->stack[b->depth++] = v;
	return 0;
}

static int
cmp_member(const void *x, const void *y, void *arg)
{
	const acrt__tjson *o = arg;
	size_t i = *(const size_t *)x, k = *(const size_t *)y;
	size_t a = o->klens[i], c = o->klens[k];
	int r = memcmp(o->keys[i], o->keys[k], a < c ? a : c);
	if (r == 0 && a != c)
		r = a < c ? -1 : 1;
	return r != 0 ? r : (i < k ? -1 : i > k); /* stable: file order */
}

/* Sorts an object's members by key; of a repeated key the last one stays. */
static int
end_object(void *arg)
{
	build *b = arg;
	acrt__tjson *o = b->stack[--b->depth];
	if (o->n < 2)
		return 0;
	size_t *ix = acrt__malloc(o->n * sizeof *ix);
	char **keys = acrt__malloc(o->n * sizeof *keys);
	size_t *kl = acrt__malloc(o->n * sizeof *kl);
	acrt__tjson **kids = acrt__malloc(o->n * sizeof *kids);
	if (!ix || !keys || !kl || !kids) {
		acrt__free(ix);
		acrt__free(keys);
		acrt__free(kl);
		acrt__free(kids);
		b->oom = true;
		return 1;
	}
	for (size_t i = 0; i < o->n; i++)
		ix[i] = i;
	qsort_r(ix, o->n, sizeof *ix, cmp_member, o);
	size_t m = 0;
	for (size_t i = 0; i < o->n; i++) {
		size_t j = ix[i];
		bool repeated = i + 1 < o->n && o->klens[ix[i + 1]] == o->klens[j] &&
		                !memcmp(o->keys[ix[i + 1]], o->keys[j], o->klens[j]);
		if (repeated) { /* a later one of the same key follows */
			acrt__free(o->keys[j]);
			acrt__tjson_free(o->kids[j]);
			continue;
		}
		keys[m] = o->keys[j];
		kl[m] = o->klens[j];
		kids[m++] = o->kids[j];
	}
	acrt__free(o->keys);
	acrt__free(o->klens);
	acrt__free(o->kids);
	acrt__free(ix);
	o->keys = keys;
	o->klens = kl;
	o->kids = kids;
	o->n = o->cap = m;
	return 0;
}

static int
begin_object(void *arg)
{
	return push(arg, ACRT__J_OBJECT);
}

static int
begin_array(void *arg)
{
	return push(arg, ACRT__J_ARRAY);
}

static int
end_array(void *arg)
{
	build *b = arg;
	b->depth--;
	return 0;
}

static int
on_key(void *arg, const char *k, size_t klen)
{
	build *b = arg;
	acrt__free(b->key);
	b->key = acrt__malloc(klen + 1);
	if (b->key == NULL) {
		b->oom = true;
		return 1;
	}
	memcpy(b->key, k, klen);
	b->key[klen] = '\0';
	b->klen = klen;
	return 0;
}

static int
on_text(build *b, acrt__jtype t, const char *s, size_t n)
{
	acrt__tjson *v = node(b, t);
	if (v == NULL || (v->s = acrt__malloc(n + 1)) == NULL) {
		b->oom = true;
		return 1;
	}
	memcpy(v->s, s, n);
	v->s[n] = '\0';
	v->slen = n;
	if (t == ACRT__J_NUMBER && (v->num = canon_number(s, n)) == NULL) {
		b->oom = true;
		return 1;
	}
	return 0;
}

static int
on_string(void *arg, const char *s, size_t n)
{
	return on_text(arg, ACRT__J_STRING, s, n);
}

static int
on_number(void *arg, const char *raw, size_t n, double d)
{
	(void)d;
	return on_text(arg, ACRT__J_NUMBER, raw, n);
}

static int
on_literal(void *arg, acrt__jtype t)
{
	return node(arg, t) == NULL;
}

static const acrt__jvisit visit = {begin_object, on_key,    end_object, begin_array,
                                   end_array,    on_string, on_number,  on_literal};

acrt__tjson *
acrt__tjson_parse(const char *p, size_t len, size_t cap, bool *oom)
{
	build b;
	memset(&b, 0, sizeof b);
	int rc = acrt__json_walk(p, len, cap, &visit, &b);
	acrt__free(b.key);
	*oom = b.oom;
	if (rc != 0 || b.root == NULL) {
		acrt__tjson_free(b.root);
		return NULL;
	}
	return b.root;
}

void
acrt__tjson_free(acrt__tjson *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		acrt__tjson_free(v->kids[i]);
		if (v->keys != NULL)
			acrt__free(v->keys[i]);
	}
	acrt__free(v->kids);
	acrt__free(v->keys);
	acrt__free(v->klens);
	acrt__free(v->s);
	acrt__free(v->num);
	acrt__free(v);
}

/* ---- Comparing -------------------------------------------------------------------- */

bool
acrt__tjson_equal(const acrt__tjson *a, const acrt__tjson *b)
{
	if (a->type != b->type || a->n != b->n)
		return false;
	switch (a->type) {
	case ACRT__J_NUMBER:
		return strcmp(a->num, b->num) == 0;
	case ACRT__J_STRING:
		return a->slen == b->slen && memcmp(a->s, b->s, a->slen) == 0;
	case ACRT__J_OBJECT:
		for (size_t i = 0; i < a->n; i++)
			if (a->klens[i] != b->klens[i] ||
			    memcmp(a->keys[i], b->keys[i], a->klens[i]))
				return false;
		/* fall through */
	case ACRT__J_ARRAY:
		for (size_t i = 0; i < a->n; i++)
			if (!acrt__tjson_equal(a->kids[i], b->kids[i]))
				return false;
		return true;
	default:
		return true;
	}
}

bool
acrt__tjson_contains(const acrt__tjson *want, const acrt__tjson *got)
{
	if (want->type != got->type)
		return false;
	if (want->type == ACRT__J_ARRAY) {
		if (want->n != got->n)
			return false;
		for (size_t i = 0; i < want->n; i++)
			if (!acrt__tjson_contains(want->kids[i], got->kids[i]))
				return false;
		return true;
	}
	if (want->type != ACRT__J_OBJECT)
		return acrt__tjson_equal(want, got);
	size_t k = 0; /* both sorted: a merge */
	for (size_t i = 0; i < want->n; i++) {
		int c = 1;
		for (; k < got->n; k++) {
			size_t x = want->klens[i], y = got->klens[k];
			c = memcmp(want->keys[i], got->keys[k], x < y ? x : y);
			if (c == 0 && x != y)
				c = x < y ? -1 : 1;
			if (c <= 0)
				break;
		}
		if (c != 0 || !acrt__tjson_contains(want->kids[i], got->kids[k]))
			return false;
	}
	return true;
}

/* Compact text of v (members sorted), at most max bytes, "..." past it. */
static void
put(acrt__jbuf *b, const acrt__tjson *v)
{
	switch (v->type) {
	case ACRT__J_NULL:
		acrt__jbuf_put(b, "null", 4);
		break;
	case ACRT__J_TRUE:
		acrt__jbuf_put(b, "true", 4);
		break;
	case ACRT__J_FALSE:
		acrt__jbuf_put(b, "false", 5);
		break;
	case ACRT__J_NUMBER:
		acrt__jbuf_put(b, v->s, v->slen);
		break;
	case ACRT__J_STRING:
		acrt__jbuf_string(b, v->s, v->slen);
		break;
	case ACRT__J_ARRAY:
	case ACRT__J_OBJECT:
		acrt__jbuf_putc(b, v->type == ACRT__J_ARRAY ? '[' : '{');
		for (size_t i = 0; i < v->n; i++) {
			if (i > 0)
				acrt__jbuf_putc(b, ',');
			if (v->type == ACRT__J_OBJECT) {
				acrt__jbuf_string(b, v->keys[i], v->klens[i]);
				acrt__jbuf_putc(b, ':');
			}
			put(b, v->kids[i]);
		}
		acrt__jbuf_putc(b, v->type == ACRT__J_ARRAY ? ']' : '}');
		break;
	default:
		break;
	}
}

static void
show(FILE *out, const acrt__tjson *v)
{
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	put(&b, v);
	if (!b.ok || b.p == NULL)
		fputs("?", out);
	else if (b.len > 120)
		fprintf(out, "%.117s...", b.p);
	else
		fprintf(out, "%.*s", (int)b.len, b.p);
	acrt__jbuf_free(&b);
}

typedef struct diffctx {
	FILE *out;
	const char *indent;
	int left;
	bool subset; /* members only in got are not differences */
	char path[512];
} diffctx;

static void
line(diffctx *d, const char *what, const acrt__tjson *want, const acrt__tjson *got)
{
	if (d->left-- <= 0) {
		if (d->left == -1)
			fprintf(d->out, "%s...\n", d->indent);
		return;
	}
	fprintf(d->out, "%s%s: ", d->indent, d->path[0] ? d->path : ".");
	if (want != NULL && got != NULL) {
		fputs("expected ", d->out);
		show(d->out, want);
		fputs(", got ", d->out);
		show(d->out, got);
	} else {
		fputs(what, d->out);
		show(d->out, want != NULL ? want : got);
	}
	fputc('\n', d->out);
}

static void
diff(diffctx *d, const acrt__tjson *a, const acrt__tjson *b)
{
	size_t plen = strlen(d->path);
	if (a->type != b->type || (a->type != ACRT__J_OBJECT && a->type != ACRT__J_ARRAY)) {
		if (!acrt__tjson_equal(a, b))
			line(d, "", a, b);
		return;
	}
	if (a->type == ACRT__J_ARRAY) {
		size_t n = a->n > b->n ? a->n : b->n;
		for (size_t i = 0; i < n; i++) {
			snprintf(d->path + plen, sizeof d->path - plen, "[%zu]", i);
			if (i >= b->n)
				line(d, "missing: ", a->kids[i], NULL);
			else if (i >= a->n)
				line(d, "not expected: ", NULL, b->kids[i]);
			else
				diff(d, a->kids[i], b->kids[i]);
		}
		d->path[plen] = '\0';
		return;
	}
	size_t i = 0, k = 0; /* both sorted: a merge */
	while (i < a->n || k < b->n) {
		int c;
		if (i >= a->n)
			c = 1;
		else if (k >= b->n)
			c = -1;
		else {
			size_t x = a->klens[i], y = b->klens[k];
			c = memcmp(a->keys[i], b->keys[k], x < y ? x : y);
			if (c == 0 && x != y)
				c = x < y ? -1 : 1;
		}
		const char *key = c <= 0 ? a->keys[i] : b->keys[k];
		snprintf(d->path + plen, sizeof d->path - plen, ".%s", key);
		if (c < 0)
			line(d, "missing: ", a->kids[i++], NULL);
		else if (c > 0 && d->subset)
			k++;
		else if (c > 0)
			line(d, "not expected: ", NULL, b->kids[k++]);
		else
			diff(d, a->kids[i++], b->kids[k++]);
	}
	d->path[plen] = '\0';
}

void
acrt__tjson_diff(FILE *out, const acrt__tjson *want, const acrt__tjson *got, bool subset,
                 const char *indent, int max)
{
	diffctx d = {.out = out, .indent = indent, .left = max, .subset = subset};
	d.path[0] = '\0';
	diff(&d, want, got);
}
