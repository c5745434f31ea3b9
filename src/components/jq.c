/*
 * jq.c - compiled jq programs for the built-in components (see jq.h): compile
 * with libjq, convert jansson <-> jv, run, collect outputs or a truth value.
 */
#include "components/jq.h"

#include <float.h>
#include <jq.h>
#include <jv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acrt__jq {
	jq_state *jq;
	char cerr[256]; /* first compile error */
	json_t **outs;  /* outputs of the last run */
	size_t n, cap;
};

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
	acrt__jq *q = calloc(1, sizeof *q);
	if (q == NULL || (q->jq = jq_init()) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
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
		json_decref(q->outs[i]);
	q->n = 0;
}

void
acrt__jq_free(acrt__jq *q)
{
	if (q == NULL)
		return;
	drop_outs(q);
	free(q->outs);
	if (q->jq != NULL)
		jq_teardown(&q->jq);
	free(q);
}

/* ---- Conversions ------------------------------------------------------------- */

/* jansson -> jv; the result may be invalid (out of memory in jv aborts anyway). */
static jv
to_jv(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		jv o = jv_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) o = jv_object_set(o, jv_string(k), to_jv(x));
		return o;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		jv a = jv_array_sized((int)n);
		for (size_t i = 0; i < n; i++)
			a = jv_array_append(a, to_jv(json_array_get(v, i)));
		return a;
	}
	case JSON_STRING:
		return jv_string_sized(json_string_value(v), (int)json_string_length(v));
	case JSON_INTEGER:
		return jv_number((double)json_integer_value(v));
	case JSON_REAL:
		return jv_number(json_real_value(v));
	case JSON_TRUE:
		return jv_true();
	case JSON_FALSE:
		return jv_false();
	default:
		return jv_null();
	}
}

/* jv (borrowed) -> jansson (new reference), NULL on out of memory. */
static json_t *
to_json(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT: {
		json_t *o = json_object();
		if (o == NULL)
			return NULL;
		for (int it = jv_object_iter(v); jv_object_iter_valid(v, it);
		     it = jv_object_iter_next(v, it)) {
			jv k = jv_object_iter_key(v, it);
			jv x = jv_object_iter_value(v, it);
			json_t *jx = to_json(x);
			int rc = jx == NULL ? -1
			                    : json_object_setn_new(
			                          o, jv_string_value(k),
			                          (size_t)jv_string_length_bytes(jv_copy(k)), jx);
			jv_free(k);
			jv_free(x);
			if (rc != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));
		json_t *a = json_array();
		for (int i = 0; a != NULL && i < n; i++) {
			jv x = jv_array_get(jv_copy(v), i);
			json_t *jx = to_json(x);
			jv_free(x);
			if (jx == NULL || json_array_append_new(a, jx) != 0) {
				json_decref(a);
				a = NULL;
			}
		}
		return a;
	}
	case JV_KIND_STRING:
		return json_stringn(jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
	case JV_KIND_NUMBER: {
		double d = jv_number_value(v);
		if (d != d)
			return json_null();
		if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d)
			return json_integer((json_int_t)d);
		if (d > DBL_MAX)
			d = DBL_MAX;
		else if (d < -DBL_MAX)
			d = -DBL_MAX;
		return json_real(d);
	}
	case JV_KIND_TRUE:
		return json_true();
	case JV_KIND_FALSE:
		return json_false();
	default:
		return json_null();
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
acrt__jq_run(acrt__jq *q, const json_t *in, char *err, size_t errlen)
{
	drop_outs(q);
	jq_start(q->jq, to_jv(in), 0);
	for (;;) {
		jv r = jq_next(q->jq);
		if (!jv_is_valid(r)) {
			if (end_or_error(q, r, err, errlen) == 0)
				return (int)q->n;
			drop_outs(q);
			return -1;
		}
		json_t *o = to_json(r);
		jv_free(r);
		if (o == NULL)
			goto nomem;
		if (q->n == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 4;
			json_t **outs = realloc(q->outs, cap * sizeof *outs);
			if (outs == NULL) {
				json_decref(o);
				goto nomem;
			}
			q->outs = outs;
			q->cap = cap;
		}
		q->outs[q->n++] = o;
	}
nomem:
	drop_outs(q);
	snprintf(err, errlen, "out of memory");
	return -1;
}

json_t *
acrt__jq_take(acrt__jq *q, size_t i)
{
	if (i >= q->n || q->outs[i] == NULL)
		return NULL;
	json_t *o = q->outs[i];
	q->outs[i] = NULL;
	return o;
}

jv
acrt__jq_value(const json_t *in)
{
	return to_jv(in);
}

int
acrt__jq_test(acrt__jq *q, const json_t *in, char *err, size_t errlen)
{
	return acrt__jq_test_jv(q, to_jv(in), err, errlen);
}

int
acrt__jq_test_jv(acrt__jq *q, jv in, char *err, size_t errlen)
{
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
	acrt_count(ctx, "jq_errors", 1);
	int rc = acrt_emit(ctx, "error", acrt_event_ref(ev));
	if (rc != ACRT_OK && rc != ACRT_ENOENT)
		return rc;
	return acrt_fail(ctx, "%s", err);
}
