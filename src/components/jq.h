/*
 * jq.h - a compiled jq program (libjq) for the built-in Transformer, Filter and
 * Router: compile once at setup, run on an event's JSON text.
 *
 * A program holds a jq_state, which is not thread-safe: each component
 * instance compiles its own (setup is per instance), and only that instance's
 * thread runs it. The input's jv is built from the text in one walk (no
 * intermediate tree). jq 1.6 numbers are doubles; so that a number jq only
 * passes through is not altered, every number of the input is remembered with
 * its text, and an output number whose double equals an input number's is
 * printed as that input's text (12345678901234567890 stays so; 1.50 stays
 * 1.50). Other numbers print in their shortest form (json.h).
 */
#ifndef ACRT_COMPONENTS_JQ_H
#define ACRT_COMPONENTS_JQ_H

#include <jv.h>
#include <stddef.h>

#include "acrt/acrt.h"

typedef struct acrt__jq acrt__jq;

/* Compiles `prog`. NULL on error, with a one-line reason in err. */
acrt__jq *acrt__jq_compile(const char *prog, char *err, size_t errlen);
void acrt__jq_free(acrt__jq *q);
/* 0 if `prog` compiles, else -1 with a one-line reason in err. */
int acrt__jq_check(const char *prog, char *err, size_t errlen);

/* Runs the program on the JSON text p[0..len) (readable to cap, json.h) and
 * collects every output. Returns the number of outputs (0: none), each then
 * printed with acrt__jq_output(q, i); outputs are released by the next run or
 * by acrt__jq_free. On a jq error (or out of memory) returns -1 with a
 * one-line reason in err and no outputs: an event's outputs are all or
 * nothing. The text must stay valid until the outputs are printed. */
int acrt__jq_run_text(acrt__jq *q, const char *p, size_t len, size_t cap, char *err, size_t errlen);
/* Output i of the last run as compact JSON, acrt__malloc'd with json.h's
 * padding (for acrt__event_adopt); NULL on out of memory. */
char *acrt__jq_output(acrt__jq *q, size_t i, size_t *len);

/* The jq value of a JSON text (jv_invalid() when it is not valid), for
 * conditions. */
jv acrt__jq_parse(const char *p, size_t len, size_t cap);
/* A condition: the truthiness of the program's first output on `in`
 * (consumed; false and null are false, as in jq; no output is false).
 * 1 true, 0 false, -1 error with a one-line reason in err. */
int acrt__jq_test_jv(acrt__jq *q, jv in, char *err, size_t errlen);

/* The current event `ev` failed in the jq program with reason `err`: counts
 * it in `jq_errors`, emits it unchanged to port `error` (dropped there when
 * unbound or undeclared) and returns acrt_fail(err), so that the runtime logs
 * and counts the failure too. A cancel or fatal error while emitting is
 * returned instead. */
int acrt__jq_failed(acrt_ctx *ctx, acrt_event *ev, const char *err);

#endif /* ACRT_COMPONENTS_JQ_H */
