/*
 * json_write.c - the writing half of json.h: an output buffer, JSON string
 * literals, the shortest text of a computed double, jansson values printed
 * with it, and jansson values built from any valid text by a walk.
 *
 * Why not jansson's json_dumps: it prints reals with 17 significant digits
 * (0.1 becomes 0.10000000000000001), and its parser refuses integers past
 * int64 and numbers past the double range, which RFC 8259 allows.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"

void
acrt__jbuf_init(acrt__jbuf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->ok = 1;
}

void
acrt__jbuf_free(acrt__jbuf *b)
{
	acrt__free(b->p);
	acrt__jbuf_init(b);
}

static int
grow(acrt__jbuf *b, size_t n)
{
	if (!b->ok)
		return 0;
	if (b->len + n <= b->cap)
		return 1;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	/* ACRT__JSON_PADDING spare bytes: the result can be read in place. */
	char *p = acrt__realloc(b->p, cap + ACRT__JSON_PADDING);
	if (p == NULL) {
		b->ok = 0;
		return 0;
	}
	b->p = p;
	b->cap = cap;
	return 1;
}

char *
acrt__jbuf_take(acrt__jbuf *b, size_t *len)
{
	if (b->p == NULL)
		grow(b, 1); /* an empty text still gets a buffer */
	char *p = b->ok ? b->p : NULL;
	if (p == NULL)
		acrt__free(b->p);
	else
		p[b->len] = '\0'; /* in the padding: the text is also a C string */
	*len = b->ok ? b->len : 0;
	acrt__jbuf_init(b);
	return p;
}

void
acrt__jbuf_put(acrt__jbuf *b, const void *s, size_t n)
{
	if (n > 0 && grow(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

void
acrt__jbuf_putc(acrt__jbuf *b, char c)
{
	if (grow(b, 1))
		b->p[b->len++] = c;
}

void
acrt__jbuf_string(acrt__jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	acrt__jbuf_putc(b, '"');
	size_t run = 0; /* start of the bytes not yet copied */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		acrt__jbuf_put(b, s + run, i - run);
		run = i + 1;
		char e[6] = {'\\', 0};
		size_t el = 2;
		switch (c) {
		case '"':
			e[1] = '"';
			break;
		case '\\':
			e[1] = '\\';
			break;
		case '\b':
			e[1] = 'b';
			break;
		case '\f':
			e[1] = 'f';
			break;
		case '\n':
			e[1] = 'n';
			break;
		case '\r':
			e[1] = 'r';
			break;
		case '\t':
			e[1] = 't';
			break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		acrt__jbuf_put(b, e, el);
	}
	acrt__jbuf_put(b, s + run, n - run);
	acrt__jbuf_putc(b, '"');
}

size_t
acrt__json_itoa(int64_t v, char *buf)
{
	char t[24];
	size_t n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		t[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	size_t k = 0;
	if (v < 0)
		buf[k++] = '-';
	while (n > 0)
		buf[k++] = t[--n];
	buf[k] = '\0';
	return k;
}

size_t
acrt__json_dtoa(double d, char *buf)
{
	if (isnan(d))
		return (size_t)sprintf(buf, "null");
	if (isinf(d))
		d = d > 0 ? DBL_MAX : -DBL_MAX;
	if (d == 0)
		return (size_t)sprintf(buf, signbit(d) ? "-0" : "0");
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return acrt__json_itoa((int64_t)d, buf);
	/* The fewest significant digits that read back to d. More digits never
	 * read back worse, so search: 17 always does. */
	int lo = 1, hi = 17;
	/* %g with at most 17 digits takes at most 24 bytes; the compiler cannot
	 * see that bound, so the text is made in a buffer it can. */
	char t[400];
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(t, sizeof t, "%.*g", mid, d);
		if (strtod(t, NULL) == d)
			hi = mid;
		else
			lo = mid + 1;
	}
	int n = snprintf(t, sizeof t, "%.*g", lo, d);
	if (n < 0 || n >= 32) /* cannot happen (above); buf is 32 bytes (json.h) */
		n = 0;
	memcpy(buf, t, (size_t)n);
	buf[n] = '\0';
	return (size_t)n;
}

void
acrt__jbuf_double(acrt__jbuf *b, double d)
{
	char t[32];
	acrt__jbuf_put(b, t, acrt__json_dtoa(d, t));
}

void
acrt__jbuf_jansson(acrt__jbuf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		size_t kl;
		json_t *x;
		int first = 1;
		acrt__jbuf_putc(b, '{');
		json_object_keylen_foreach((json_t *)v, k, kl, x) /* a key may hold NUL */
		{
			if (!first)
				acrt__jbuf_putc(b, ',');
			first = 0;
			acrt__jbuf_string(b, k, kl);
			acrt__jbuf_putc(b, ':');
			acrt__jbuf_jansson(b, x);
		}
		acrt__jbuf_putc(b, '}');
		return;
	}
	case JSON_ARRAY: {
		acrt__jbuf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				acrt__jbuf_putc(b, ',');
			acrt__jbuf_jansson(b, json_array_get(v, i));
		}
		acrt__jbuf_putc(b, ']');
		return;
	}
	case JSON_STRING:
		acrt__jbuf_string(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER: {
		char t[32];
		int n = sprintf(t, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		acrt__jbuf_put(b, t, (size_t)n);
		return;
	}
	case JSON_REAL: {
		/* An integral real keeps its ".0", so that it reads back as a real
		 * (jansson, Python): the shortest text that keeps the type too. */
		double d = json_real_value(v);
		char t[40];
		size_t n = acrt__json_dtoa(d, t);
		if (isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0) {
			memcpy(t + n, ".0", 2);
			n += 2;
		}
		acrt__jbuf_put(b, t, n);
		return;
	}
	case JSON_TRUE:
		acrt__jbuf_put(b, "true", 4);
		return;
	case JSON_FALSE:
		acrt__jbuf_put(b, "false", 5);
		return;
	default:
		acrt__jbuf_put(b, "null", 4);
		return;
	}
}

/* ---- Text -> jansson, by a walk ------------------------------------------------ */

typedef struct jbuild {
	json_t *stack[ACRT__JSON_MAX_DEPTH + 1]; /* open containers */
	char *keys[ACRT__JSON_MAX_DEPTH + 1];    /* pending key per open object */
	size_t klens[ACRT__JSON_MAX_DEPTH + 1];  /* its length (a key may hold NUL) */
	int depth;
	json_t *root;
} jbuild;

/* Attaches v (stolen) to the open container, or makes it the root. */
static int
attach(jbuild *jb, json_t *v)
{
	if (v == NULL)
		return 1;
	if (jb->depth == 0) {
		jb->root = v;
		return 0;
	}
	json_t *top = jb->stack[jb->depth - 1];
	int rc;
	if (json_is_object(top)) {
		char *k = jb->keys[jb->depth - 1];
		rc = json_object_setn_new(top, k != NULL ? k : "",
		                          k != NULL ? jb->klens[jb->depth - 1] : 0, v);
		acrt__free(k);
		jb->keys[jb->depth - 1] = NULL;
	} else {
		rc = json_array_append_new(top, v);
	}
	return rc != 0;
}

static int
open_container(jbuild *jb, json_t *c)
{
	if (c == NULL || jb->depth > ACRT__JSON_MAX_DEPTH) {
		json_decref(c);
		return 1;
	}
	json_incref(c); /* one for the stack, one for the parent */
	if (attach(jb, c) != 0) {
		json_decref(c);
		return 1;
	}
	jb->keys[jb->depth] = NULL;
	jb->stack[jb->depth++] = c;
	return 0;
}

static int
b_begin_object(void *a)
{
	return open_container(a, json_object());
}

static int
b_begin_array(void *a)
{
	return open_container(a, json_array());
}

static int
b_end(void *a)
{
	jbuild *jb = a;
	jb->depth--;
	acrt__free(jb->keys[jb->depth]);
	jb->keys[jb->depth] = NULL;
	json_decref(jb->stack[jb->depth]);
	return 0;
}

static int
b_key(void *a, const char *k, size_t n)
{
	jbuild *jb = a;
	char *c = acrt__malloc(n + 1);
	if (c == NULL)
		return 1;
	memcpy(c, k, n);
	c[n] = '\0';
	acrt__free(jb->keys[jb->depth - 1]);
	jb->keys[jb->depth - 1] = c;
	jb->klens[jb->depth - 1] = n;
	return 0;
}

static int
b_string(void *a, const char *s, size_t n)
{
	return attach(a, json_stringn(s, n));
}

/* A number as jansson holds it: an integer when it is one within int64,
 * else the nearest real (±DBL_MAX past the range). *d: its double, when the
 * caller has it (NULL: parsed here). */
static json_t *
b_number_value(const char *raw, size_t n, const double *d)
{
	char t[24];
	if (memchr(raw, '.', n) == NULL && memchr(raw, 'e', n) == NULL &&
	    memchr(raw, 'E', n) == NULL && n < sizeof t) {
		memcpy(t, raw, n);
		t[n] = '\0';
		errno = 0;
		long long i = strtoll(t, NULL, 10);
		if (errno == 0)
			return json_integer((json_int_t)i);
	}
	double x = *d;
	if (isinf(x))
		x = x > 0 ? DBL_MAX : -DBL_MAX;
	return json_real(x);
}

static int
b_number(void *a, const char *raw, size_t n, double d)
{
	return attach(a, b_number_value(raw, n, &d));
}

static int
b_literal(void *a, acrt__jtype t)
{
	return attach(a, t == ACRT__J_TRUE    ? json_true()
	                 : t == ACRT__J_FALSE ? json_false()
	                                      : json_null());
}

json_t *
acrt__json_to_jansson(const char *p, size_t len, size_t cap)
{
	static const acrt__jvisit vis = {b_begin_object, b_key,    b_end,    b_begin_array,
	                                 b_end,          b_string, b_number, b_literal};
	jbuild *jb = acrt__calloc(1, sizeof *jb);
	if (jb == NULL)
		return NULL;
	int rc = acrt__json_walk(p, len, cap, &vis, jb);
	while (jb->depth > 0)
		b_end(jb);
	json_t *root = jb->root;
	acrt__free(jb);
	if (rc != 0) {
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *
acrt__jval_to_jansson(const acrt__jval *v)
{
	switch (v->type) {
	case ACRT__J_NULL:
		return json_null();
	case ACRT__J_TRUE:
		return json_true();
	case ACRT__J_FALSE:
		return json_false();
	case ACRT__J_STRING:
		if (memchr(v->raw, '\\', v->raw_len) == NULL)
			return json_stringn(v->raw + 1, v->raw_len - 2);
		break;
	case ACRT__J_NUMBER: {
		double d = v->num;
		return b_number_value(v->raw, v->raw_len, &d);
	}
	default:
		break;
	}
	return acrt__json_to_jansson(v->raw, v->raw_len, v->raw_len);
}
