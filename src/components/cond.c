/*
 * cond.c - see cond.h. A small recursive-descent reader of the native subset
 * of jq, and its evaluator over lookups in the event's text:
 *
 *   expr    := and ("or" and)*
 *   and     := cmp ("and" cmp)*
 *   cmp     := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
 *   operand := path | number | "string" | true | false | null | "(" expr ")"
 *   path    := "." | ("." NAME)+             NAME := [A-Za-z_][A-Za-z0-9_]*
 *
 * A program outside this subset is left to jq entirely.
 */
#include "components/cond.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/jq.h"
#include "core/common.h"
#include "core/json.h"

#define MAX_NODES 64
#define MAX_KEYS 8

enum { N_PATH, N_NUM, N_STR, N_NULL, N_FALSE, N_TRUE, N_CMP, N_AND, N_OR };
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

typedef struct node {
	int kind, op;
	int a, b; /* children (N_CMP, N_AND, N_OR) */
	size_t nkeys;
	const char *keys[MAX_KEYS];
	size_t klens[MAX_KEYS];
	double num;
	const char *str; /* N_STR: the bytes, without quotes (no escapes) */
	size_t slen;
} node;

struct acrt__cond {
	acrt__jq *jq;
	char *src; /* the program text: path keys and strings point into it */
	node nodes[MAX_NODES];
	int n, root; /* root < 0: not native */
};

/* ---- Reading the program -------------------------------------------------------- */

typedef struct reader {
	acrt__cond *c;
	const char *p;
	int bad;
} reader;

static void
skip_ws(reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static int
is_name(char ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* Matches a keyword not followed by a name character. */
static int
keyword(reader *r, const char *kw)
{
	size_t n = strlen(kw);
	skip_ws(r);
	if (strncmp(r->p, kw, n) != 0 || is_name(r->p[n], 0))
		return 0;
	r->p += n;
	return 1;
}

static int
new_node(reader *r, int kind)
{
	if (r->c->n == MAX_NODES) {
		r->bad = 1;
		return 0;
	}
	node *nd = &r->c->nodes[r->c->n];
	memset(nd, 0, sizeof *nd);
	nd->kind = kind;
	return r->c->n++;
}

static int expr(reader *r);

static int
operand(reader *r)
{
	skip_ws(r);
	const char *p = r->p;
	if (*p == '(') {
		r->p++;
		int e = expr(r);
		skip_ws(r);
		if (*r->p != ')')
			r->bad = 1;
		else
			r->p++;
		return e;
	}
	if (*p == '.') {
		int i = new_node(r, N_PATH);
		if (r->bad)
			return 0;
		node *nd = &r->c->nodes[i];
		if (!is_name(p[1], 1)) { /* "." alone */
			r->p++;
			return i;
		}
		while (*p == '.' && is_name(p[1], 1)) {
			const char *k = ++p;
			while (is_name(*p, 0))
				p++;
			if (nd->nkeys == MAX_KEYS) {
				r->bad = 1;
				return 0;
			}
			nd->keys[nd->nkeys] = k;
			nd->klens[nd->nkeys++] = (size_t)(p - k);
		}
		r->p = p;
		return i;
	}
	if (*p == '"') {
		const char *e = p + 1;
		while (*e && *e != '"' && *e != '\\' && (unsigned char)*e >= 0x20)
			e++;
		if (*e != '"') { /* escapes, interpolation: jq's business */
			r->bad = 1;
			return 0;
		}
		int i = new_node(r, N_STR);
		if (r->bad)
			return 0;
		r->c->nodes[i].str = p + 1;
		r->c->nodes[i].slen = (size_t)(e - p - 1);
		r->p = e + 1;
		return i;
	}
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		char *end;
		double d = strtod(p, &end);
		if (end == p || is_name(*end, 0) || *end == '.') {
			r->bad = 1;
			return 0;
		}
		int i = new_node(r, N_NUM);
		r->c->nodes[i].num = d;
		r->p = end;
		return i;
	}
	if (keyword(r, "null"))
		return new_node(r, N_NULL);
	if (keyword(r, "false"))
		return new_node(r, N_FALSE);
	if (keyword(r, "true"))
		return new_node(r, N_TRUE);
	r->bad = 1;
	return 0;
}

static int
cmp(reader *r)
{
	static const struct {
		const char *s;
		int op;
	} ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE},
	           {">=", OP_GE}, {"<", OP_LT},  {">", OP_GT}};
	int a = operand(r);
	if (r->bad)
		return 0;
	skip_ws(r);
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
		size_t n = strlen(ops[i].s);
		if (strncmp(r->p, ops[i].s, n) != 0 || r->p[n] == '=')
			continue;
		r->p += n;
		int b = operand(r);
		int c = new_node(r, N_CMP);
		if (r->bad)
			return 0;
		r->c->nodes[c].op = ops[i].op;
		r->c->nodes[c].a = a;
		r->c->nodes[c].b = b;
		return c;
	}
	return a;
}

static int
chain(reader *r, const char *kw, int kind, int (*next)(reader *))
{
	int a = next(r);
	while (!r->bad && keyword(r, kw)) {
		int b = next(r);
		int c = new_node(r, kind);
		if (r->bad)
			return 0;
		r->c->nodes[c].a = a;
		r->c->nodes[c].b = b;
		a = c;
	}
	return a;
}

static int
and_expr(reader *r)
{
	return chain(r, "and", N_AND, cmp);
}

static int
expr(reader *r)
{
	return chain(r, "or", N_OR, and_expr);
}

acrt__cond *
acrt__cond_compile(const char *prog, char *err, size_t errlen)
{
	acrt__cond *c = acrt__calloc(1, sizeof *c);
	if (c == NULL || (c->src = acrt__strdup(prog)) == NULL) {
		acrt__free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((c->jq = acrt__jq_compile(prog, err, errlen)) == NULL) {
		acrt__cond_free(c);
		return NULL;
	}
	reader r = {c, c->src, 0};
	c->root = expr(&r);
	skip_ws(&r);
	if (r.bad || *r.p != '\0')
		c->root = -1;
	return c;
}

void
acrt__cond_free(acrt__cond *c)
{
	if (c == NULL)
		return;
	acrt__jq_free(c->jq);
	acrt__free(c->src);
	acrt__free(c);
}

int
acrt__cond_is_native(const acrt__cond *c)
{
	return c->root >= 0;
}

/* ---- Evaluating ------------------------------------------------------------------ */

#define UNDECIDED (-2) /* leave this event to jq */

/* A value as the evaluator sees it: a jq kind rank and, for numbers and
 * strings, the value. */
typedef struct val {
	int rank; /* 1 null, 2 false, 3 true, 4 number, 5 string, 6 array, 7 object */
	double num;
	const char *str;
	size_t slen;
} val;

static int
truthy(const val *v)
{
	return v->rank > 2;
}

static int eval(const acrt__cond *c, int i, const acrt__cond_input *in, val *out);

static int
eval_path(const node *nd, const acrt__cond_input *in, val *out)
{
	acrt__jval jv;
	int rc = acrt__json_lookup(in->p, in->len, in->cap, nd->keys, nd->klens, nd->nkeys, &jv);
	if (rc != 0)
		return UNDECIDED; /* a jq error, or not valid: jq says which */
	memset(out, 0, sizeof *out);
	switch (jv.type) {
	case ACRT__J_ABSENT:
	case ACRT__J_NULL:
		out->rank = 1;
		break;
	case ACRT__J_FALSE:
		out->rank = 2;
		break;
	case ACRT__J_TRUE:
		out->rank = 3;
		break;
	case ACRT__J_NUMBER:
		out->rank = 4;
		out->num = jv.num;
		break;
	case ACRT__J_STRING:
		if (memchr(jv.raw, '\\', jv.raw_len) != NULL)
			return UNDECIDED;
		out->rank = 5;
		out->str = jv.raw + 1;
		out->slen = jv.raw_len - 2;
		break;
	case ACRT__J_ARRAY:
		out->rank = 6;
		break;
	case ACRT__J_OBJECT:
		out->rank = 7;
		break;
	}
	return 0;
}

/* jq 1.6's ordering (jv_cmp); UNDECIDED for arrays and objects. */
static int
compare(const val *a, const val *b, int *res)
{
	if (a->rank != b->rank) {
		*res = a->rank < b->rank ? -1 : 1;
		return 0;
	}
	switch (a->rank) {
	case 4:
		*res = a->num < b->num ? -1 : a->num == b->num ? 0 : 1;
		return 0;
	case 5: {
		size_t n = a->slen < b->slen ? a->slen : b->slen;
		int r = memcmp(a->str, b->str, n);
		*res = r != 0 ? (r < 0 ? -1 : 1) : a->slen < b->slen ? -1 : a->slen > b->slen;
		return 0;
	}
	case 6:
	case 7:
		return UNDECIDED;
	default:
		*res = 0;
		return 0;
	}
}

static int
eval(const acrt__cond *c, int i, const acrt__cond_input *in, val *out)
{
	const node *nd = &c->nodes[i];
	val a, b;
	int rc, r;
	memset(out, 0, sizeof *out);
	switch (nd->kind) {
	case N_PATH:
		return eval_path(nd, in, out);
	case N_NUM:
		out->rank = 4;
		out->num = nd->num;
		return 0;
	case N_STR:
		out->rank = 5;
		out->str = nd->str;
		out->slen = nd->slen;
		return 0;
	case N_NULL:
	case N_FALSE:
	case N_TRUE:
		out->rank = 1 + (nd->kind - N_NULL);
		return 0;
	case N_CMP:
		if ((rc = eval(c, nd->a, in, &a)) != 0 || (rc = eval(c, nd->b, in, &b)) != 0 ||
		    (rc = compare(&a, &b, &r)) != 0)
			return rc;
		switch (nd->op) {
		case OP_EQ:
			r = r == 0;
			break;
		case OP_NE:
			r = r != 0;
			break;
		case OP_LT:
			r = r < 0;
			break;
		case OP_LE:
			r = r <= 0;
			break;
		case OP_GT:
			r = r > 0;
			break;
		default:
			r = r >= 0;
			break;
		}
		out->rank = r ? 3 : 2;
		return 0;
	default: /* N_AND, N_OR: short-circuit, as jq */
		if ((rc = eval(c, nd->a, in, &a)) != 0)
			return rc;
		if (truthy(&a) == (nd->kind == N_OR)) {
			out->rank = truthy(&a) ? 3 : 2;
			return 0;
		}
		if ((rc = eval(c, nd->b, in, &b)) != 0)
			return rc;
		out->rank = truthy(&b) ? 3 : 2;
		return 0;
	}
}

void
acrt__cond_input_init(acrt__cond_input *in, const char *p, size_t len, size_t cap)
{
	in->p = p;
	in->len = len;
	in->cap = cap;
	in->have_v = 0;
	in->v = jv_invalid();
}

void
acrt__cond_input_free(acrt__cond_input *in)
{
	jv_free(in->v);
	in->v = jv_invalid();
	in->have_v = 0;
}

int
acrt__cond_test(acrt__cond *c, acrt__cond_input *in, char *err, size_t errlen)
{
	if (c->root >= 0) {
		val v;
		if (eval(c, c->root, in, &v) == 0)
			return truthy(&v);
	}
	if (!in->have_v) {
		in->v = acrt__jq_parse(in->p, in->len, in->cap);
		in->have_v = 1;
	}
	if (!jv_is_valid(in->v)) {
		snprintf(err, errlen, "payload is not valid JSON");
		return -1;
	}
	return acrt__jq_test_jv(c->jq, jv_copy(in->v), err, errlen);
}
