/*
 * jq.h - a compiled jq program (libjq) for the built-in Transformer, Filter and
 * Router: compile once at setup, run on a jansson value per event.
 *
 * A program holds a jq_state, which is not thread-safe: each component
 * instance compiles its own (setup is per instance), and only that instance's
 * thread runs it. Values are converted jansson <-> jv directly (no text in
 * between). jq numbers are doubles: an integral result within +-2^53 comes back
 * as a JSON integer, other numbers as reals (NaN as null, +-inf as +-DBL_MAX, as
 * jq prints them).
 */
#ifndef ACRT_COMPONENTS_JQ_H
#define ACRT_COMPONENTS_JQ_H

#include <jansson.h>
#include <jv.h>
#include <stddef.h>

#include "acrt/acrt.h"

typedef struct acrt__jq acrt__jq;

/* Compiles `prog`. NULL on error, with a one-line reason in err. */
acrt__jq *acrt__jq_compile(const char *prog, char *err, size_t errlen);
void acrt__jq_free(acrt__jq *q);
/* 0 if `prog` compiles, else -1 with a one-line reason in err. */
int acrt__jq_check(const char *prog, char *err, size_t errlen);

/* Runs the program on `in` (borrowed) and collects every output. Returns the
 * number of outputs (0: none), each then taken (a new reference, once) with
 * acrt__jq_take(q, i); outputs not taken are released by the next run or by
 * acrt__jq_free. On a jq error (or out of memory) returns -1 with a one-line
 * reason in err and no outputs: an event's outputs are all or nothing. */
int acrt__jq_run(acrt__jq *q, const json_t *in, char *err, size_t errlen);
json_t *acrt__jq_take(acrt__jq *q, size_t i);

/* A condition: the truthiness of the program's first output on `in` (false and
 * null are false, as in jq; no output is false). 1 true, 0 false, -1 error
 * with a one-line reason in err. */
int acrt__jq_test(acrt__jq *q, const json_t *in, char *err, size_t errlen);
/* The same on a jq value (consumed), to convert an event once for several
 * programs (a Router's conditions): acrt__jq_value(in), then jv_copy() it. */
int acrt__jq_test_jv(acrt__jq *q, jv in, char *err, size_t errlen);
jv acrt__jq_value(const json_t *in);

/* The current event `ev` failed in the jq program with reason `err`: counts
 * it in `jq_errors`, emits it unchanged to port `error` (dropped there when
 * unbound or undeclared) and returns acrt_fail(err), so that the runtime logs
 * and counts the failure too. A cancel or fatal error while emitting is
 * returned instead. */
int acrt__jq_failed(acrt_ctx *ctx, acrt_event *ev, const char *err);

#endif /* ACRT_COMPONENTS_JQ_H */
