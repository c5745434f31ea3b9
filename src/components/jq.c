/*
 * jq.c - compiled jq programs for the built-in components (see jq.h): compile
 * with libjq, build the input's jv from its text in one walk, run, print the
 * outputs (input numbers jq passed through keep their text) or a truth value.
 *
 * Budgets: libjq 1.6 has no step, time or memory budget and no way to
 * interrupt jq_next, so a program runs until it ends (docs/SECURITY.md). What
 * is contained: a program that never returns is reported by the stuck-component
 * watch (runtime/stuck.c); a program that exhausts memory makes libjq abort
 * the process, and its no-memory handler (on_nomem below) first logs which
 * component and program it was.
 */
#include "components/jq.h"
#include "components/builtins.h"

#include "core/common.h"
#include "core/json.h"
#include "core/log.h"
#include <float.h>
#include <jq.h>
#include <jv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct num_ent num_ent;

struct acrt__jq {
	jq_state *jq;
	char cerr[256]; /* first compile error */
	jv *outs;       /* outputs of the last run */
	size_t n, cap;
	num_ent *nums; /* the last run's input numbers (open addressing) */
	size_t nn, ncap;
	uint64_t id;    /* unique per compiled program, for nomem_who */
	char comp[16];  /* the compiling thread's name: the instance's (setup) */
	char prog[128]; /* the program, one line, cut */
};

/* ---- Out of memory inside libjq --------------------------------------------------
 * libjq calls its no-memory handler when an allocation fails, then prints
 * "error: cannot allocate memory" and abort()s: nothing can be undone, the
 * program's state is libjq's. The handler is libjq's per thread (set again by
 * each jq_next), so it takes no pointer to a program that may be freed by
 * then: each run copies who is running into this thread's nomem_who (only when
 * the program changed), and the handler logs from that copy. */
static atomic_uint_fast64_t next_id;
static _Thread_local struct {
	uint64_t id;
	char comp[16];
	char prog[128];
} nomem_who;

static void
on_nomem(void *data)
{
	(void)data;
	acrt__log(ACRT_LOG_ERROR, nomem_who.comp[0] ? nomem_who.comp : NULL, 0, NULL,
	          "jq program '%s' ran out of memory: libjq aborts the process now (SIGABRT, "
	          "exit 134); libjq has no memory budget (docs/SECURITY.md)",
	          nomem_who.prog[0] ? nomem_who.prog : "?");
}

/* Makes q the program this thread's no-memory handler names. */
static void
nomem_arm(const acrt__jq *q)
{
	if (nomem_who.id != q->id) {
		memcpy(nomem_who.comp, q->comp, sizeof nomem_who.comp);
		memcpy(nomem_who.prog, q->prog, sizeof nomem_who.prog);
		nomem_who.id = q->id;
	}
	jv_nomem_handler(on_nomem, NULL);
}

/* Copies s into buf as one line: newlines and tabs become spaces, runs of
 * spaces collapse, a leading "jq: error: " goes, trailing spaces too. */
static void
one_line(char *buf, size_t len, const char *s)
{
	if (len == 0)
		return;
	if (strncmp(s, "jq: error: ", 11) == 0)
		s += 11;
	size_t o = 0;
	for (; *s && o + 1 < len; s++) {
		char c = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
		if (c == ' ' && (o == 0 || buf[o - 1] == ' '))
			continue;
		buf[o++] = c;
	}
	while (o > 0 && buf[o - 1] == ' ')
		o--;
	buf[o] = '\0';
}

/* jq's message (consumed) as one line into buf. */
static void
msg_line(char *buf, size_t len, jv msg)
{
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		one_line(buf, len, jv_string_value(msg));
	} else {
		jv s = jv_dump_string(jv_copy(msg), 0);
		one_line(buf, len, jv_string_value(s));
		jv_free(s);
	}
	jv_free(msg);
}

static void
on_error(void *data, jv msg)
{
	acrt__jq *q = data;
	if (q->cerr[0] == '\0')
		msg_line(q->cerr, sizeof q->cerr, msg);
	else
		jv_free(msg);
}

acrt__jq *
acrt__jq_compile(const char *prog, char *err, size_t errlen)
{
	acrt__jq *q = acrt__calloc(1, sizeof *q);
	if (q == NULL || (q->jq = jq_init()) == NULL) {
		acrt__free(q);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->id = atomic_fetch_add(&next_id, 1) + 1;
	if (pthread_getname_np(pthread_self(), q->comp, sizeof q->comp) != 0)
		q->comp[0] = '\0';
	one_line(q->prog, sizeof q->prog, prog);
	if (strlen(prog) >= sizeof q->prog - 1)
		memcpy(q->prog + sizeof q->prog - 4, "...", 4);
	nomem_arm(q);
	jq_set_nomem_handler(q->jq, on_nomem, NULL);
	jq_set_error_cb(q->jq, on_error, q);
	if (!jq_compile(q->jq, prog)) {
		snprintf(err, errlen, "jq: %s",
		         q->cerr[0] ? q->cerr : "cannot compile the program");
		acrt__jq_free(q);
		return NULL;
	}
	return q;
}

int
acrt__jq_check(const char *prog, char *err, size_t errlen)
{
	acrt__jq *q = acrt__jq_compile(prog, err, errlen);
	if (q == NULL)
		return -1;
	acrt__jq_free(q);
	return 0;
}

static void
drop_outs(acrt__jq *q)
{
	for (size_t i = 0; i < q->n; i++)
		jv_free(q->outs[i]);
	q->n = 0;
}

void
acrt__jq_free(acrt__jq *q)
{
	if (q == NULL)
		return;
	drop_outs(q);
	acrt__free(q->outs);
	acrt__free(q->nums);
	if (q->jq != NULL)
		jq_teardown(&q->jq);
	acrt__free(q);
}

/* ---- Text -> jv, by one walk ---------------------------------------------------- */

/* The numbers of the input, by the bits of their double: an output number
 * equal to one of them prints as that input's text (jq.h). */
typedef struct num_ent {
	uint64_t bits;
	const char *raw; /* into the input text; NULL: empty slot */
	size_t len;
} num_ent;

static uint64_t
dbits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	return b;
}

static size_t
num_slot(const acrt__jq *q, uint64_t bits)
{
	uint64_t h = bits * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h >> 32) & (q->ncap - 1);
	while (q->nums[i].raw != NULL && q->nums[i].bits != bits)
		i = (i + 1) & (q->ncap - 1);
	return i;
}

static int
num_add(acrt__jq *q, uint64_t bits, const char *raw, size_t len)
{
	if ((q->nn + 1) * 2 > q->ncap) {
		size_t cap = q->ncap ? q->ncap * 2 : 16;
		num_ent *old = q->nums;
		size_t oldcap = q->ncap;
		if ((q->nums = acrt__calloc(cap, sizeof *q->nums)) == NULL) {
			q->nums = old;
			return -1;
		}
		q->ncap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].raw != NULL)
				q->nums[num_slot(q, old[i].bits)] = old[i];
		acrt__free(old);
	}
	size_t i = num_slot(q, bits);
	if (q->nums[i].raw == NULL) { /* the first text of a value wins */
		q->nums[i] = (num_ent){bits, raw, len};
		q->nn++;
	}
	return 0;
}

static void
num_clear(acrt__jq *q)
{
	if (q->nn > 0)
		memset(q->nums, 0, q->ncap * sizeof *q->nums);
	q->nn = 0;
}

typedef struct jvb {
	acrt__jq *q; /* records numbers when not NULL */
	jv stack[ACRT__JSON_MAX_DEPTH + 1];
	jv keys[ACRT__JSON_MAX_DEPTH + 1];
	int depth;
	jv root;
	int failed;
} jvb;

static int
jv_attach(jvb *b, jv v)
{
	if (b->depth == 0) {
		b->root = v;
		return 0;
	}
	jv *top = &b->stack[b->depth - 1];
	if (jv_get_kind(*top) == JV_KIND_OBJECT) {
		*top = jv_object_set(*top, b->keys[b->depth - 1], v);
		b->keys[b->depth - 1] = jv_invalid();
	} else {
		*top = jv_array_append(*top, v);
	}
	return 0;
}

static int
jv_open(jvb *b, jv c)
{
	b->keys[b->depth] = jv_invalid();
	b->stack[b->depth++] = c;
	return 0;
}

static int
v_begin_object(void *a)
{
	return jv_open(a, jv_object());
}

static int
v_begin_array(void *a)
{
	return jv_open(a, jv_array());
}

static int
v_end(void *a)
{
	jvb *b = a;
	jv c = b->stack[--b->depth];
	jv_free(b->keys[b->depth]);
	return jv_attach(b, c);
}

static int
v_key(void *a, const char *k, size_t n)
{
	jvb *b = a;
	jv_free(b->keys[b->depth - 1]);
	b->keys[b->depth - 1] = jv_string_sized(k, (int)n);
	return 0;
}

static int
v_string(void *a, const char *s, size_t n)
{
	return jv_attach(a, jv_string_sized(s, (int)n));
}

static int
v_number(void *a, const char *raw, size_t n, double d)
{
	jvb *b = a;
	if (b->q != NULL && num_add(b->q, dbits(d), raw, n) != 0)
		return 1;
	return jv_attach(b, jv_number(d));
}

static int
v_literal(void *a, acrt__jtype t)
{
	return jv_attach(a, t == ACRT__J_TRUE    ? jv_true()
	                    : t == ACRT__J_FALSE ? jv_false()
	                                         : jv_null());
}

/* The jq value of a text (invalid on a bad text or out of memory). With q,
 * its numbers are recorded for acrt__jq_output. */
static jv
text_to_jv(acrt__jq *q, const char *p, size_t len, size_t cap)
{
	static const acrt__jvisit vis = {v_begin_object, v_key,    v_end,    v_begin_array,
	                                 v_end,          v_string, v_number, v_literal};
	jvb *b = acrt__malloc(sizeof *b);
	if (b == NULL)
		return jv_invalid();
	b->q = q;
	b->depth = 0;
	b->root = jv_invalid();
	int rc = acrt__json_walk(p, len, cap, &vis, b);
	while (b->depth > 0) {
		b->depth--;
		jv_free(b->stack[b->depth]);
		jv_free(b->keys[b->depth]);
	}
	jv root = b->root;
	acrt__free(b);
	if (rc != 0) {
		jv_free(root);
		return jv_invalid();
	}
	return root;
}

jv
acrt__jq_parse(const char *p, size_t len, size_t cap)
{
	return text_to_jv(NULL, p, len, cap);
}

/* ---- jv -> text ------------------------------------------------------------------- */

static void
write_jv(const acrt__jq *q, acrt__jbuf *b, jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT: {
		int first = 1;
		acrt__jbuf_putc(b, '{');
		for (int it = jv_object_iter(v); jv_object_iter_valid(v, it);
		     it = jv_object_iter_next(v, it)) {
			jv k = jv_object_iter_key(v, it);
			jv x = jv_object_iter_value(v, it);
			if (!first)
				acrt__jbuf_putc(b, ',');
			first = 0;
			acrt__jbuf_string(b, jv_string_value(k),
			                  (size_t)jv_string_length_bytes(jv_copy(k)));
			acrt__jbuf_putc(b, ':');
			write_jv(q, b, x);
			jv_free(k);
			jv_free(x);
		}
		acrt__jbuf_putc(b, '}');
		return;
	}
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));
		acrt__jbuf_putc(b, '[');
		for (int i = 0; i < n; i++) {
			if (i > 0)
				acrt__jbuf_putc(b, ',');
			jv x = jv_array_get(jv_copy(v), i);
			write_jv(q, b, x);
			jv_free(x);
		}
		acrt__jbuf_putc(b, ']');
		return;
	}
	case JV_KIND_STRING:
		acrt__jbuf_string(b, jv_string_value(v),
		                  (size_t)jv_string_length_bytes(jv_copy(v)));
		return;
	case JV_KIND_NUMBER: {
		double d = jv_number_value(v);
		if (q->nn > 0) {
			size_t i = num_slot(q, dbits(d));
			if (q->nums[i].raw != NULL) {
				acrt__jbuf_put(b, q->nums[i].raw, q->nums[i].len);
				return;
			}
		}
		acrt__jbuf_double(b, d);
		return;
	}
	case JV_KIND_TRUE:
		acrt__jbuf_put(b, "true", 4);
		return;
	case JV_KIND_FALSE:
		acrt__jbuf_put(b, "false", 5);
		return;
	default:
		acrt__jbuf_put(b, "null", 4);
		return;
	}
}

/* ---- Running ------------------------------------------------------------------- */

/* After jq_next returned an invalid value `r` (consumed): 0 at the normal end
 * of the outputs, -1 with the reason in err for an error. */
static int
end_or_error(acrt__jq *q, jv r, char *err, size_t errlen)
{
	if (jv_invalid_has_msg(jv_copy(r))) {
		char m[256];
		msg_line(m, sizeof m, jv_invalid_get_msg(r));
		snprintf(err, errlen, "jq: %s", m);
		return -1;
	}
	jv_free(r);
	if (jq_halted(q->jq)) { /* halt (fine) or halt_error (an error) */
		jv code = jq_get_exit_code(q->jq);
		int bad = jv_is_valid(code) &&
		          !(jv_get_kind(code) == JV_KIND_NUMBER && jv_number_value(code) == 0);
		jv_free(code);
		if (bad) {
			char m[256];
			msg_line(m, sizeof m, jq_get_error_message(q->jq));
			snprintf(err, errlen, "jq: halt_error: %s", m);
			return -1;
		}
	}
	return 0;
}

int
acrt__jq_run_text(acrt__jq *q, const char *p, size_t len, size_t cap, char *err, size_t errlen)
{
	drop_outs(q);
	num_clear(q);
	nomem_arm(q);
	jv in = text_to_jv(q, p, len, cap);
	if (!jv_is_valid(in)) {
		jv_free(in);
		num_clear(q);
		snprintf(err, errlen, "payload is not valid JSON");
		return -1;
	}
	jq_start(q->jq, in, 0);
	for (;;) {
		jv r = jq_next(q->jq);
		if (!jv_is_valid(r)) {
			if (end_or_error(q, r, err, errlen) == 0)
				return (int)q->n;
			drop_outs(q);
			return -1;
		}
		if (q->n == q->cap) {
			size_t ncap = q->cap ? q->cap * 2 : 4;
			jv *outs = acrt__realloc(q->outs, ncap * sizeof *outs);
			if (outs == NULL) {
				jv_free(r);
				drop_outs(q);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			q->outs = outs;
			q->cap = ncap;
		}
		q->outs[q->n++] = r;
	}
}

char *
acrt__jq_output(acrt__jq *q, size_t i, size_t *len)
{
	if (i >= q->n)
		return NULL;
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	write_jv(q, &b, q->outs[i]);
	return acrt__jbuf_take(&b, len);
}

int
acrt__jq_test_jv(acrt__jq *q, jv in, char *err, size_t errlen)
{
	nomem_arm(q);
	jq_start(q->jq, in, 0);
	jv r = jq_next(q->jq);
	if (!jv_is_valid(r))
		return end_or_error(q, r, err, errlen) == 0 ? 0 : -1;
	jv_kind k = jv_get_kind(r);
	jv_free(r);
	return k != JV_KIND_FALSE && k != JV_KIND_NULL;
}

int
acrt__jq_failed(acrt_ctx *ctx, acrt_event *ev, const char *err)
{
	return acrt__fail_event(ctx, ev, "jq_errors", "%s", err);
}
