/*
 * cond.h - conditions of the built-in Filter and Router (`where:`, `when:`),
 * jq programs evaluated on an event's JSON text.
 *
 * The common shape of a condition, paths compared with literals and joined by
 * `and` / `or` (`.status >= 500`, `.level == "error" or .latency > 100`), is
 * evaluated natively: each path is a lookup in the text (core/json.h) that
 * reads only the fields on its way, with jq's semantics (a missing key or a
 * null reads as null, values of different types order null < false < true <
 * numbers < strings < arrays < objects, numbers compare as doubles as jq 1.6
 * does). Anything else, and any event on which the native reading cannot
 * decide exactly as jq would (a path through a non-object, which is a jq
 * error; a string with escapes; arrays and objects), runs the compiled jq
 * program on a jv built from the text once per event.
 *
 * Threads: a compiled condition belongs to one component instance (it holds a
 * jq_state); an acrt__cond_input to one call of process.
 */
#ifndef ACRT_COMPONENTS_COND_H
#define ACRT_COMPONENTS_COND_H

#include <jv.h>
#include <stddef.h>

typedef struct acrt__cond acrt__cond;

/* The event's text, and its jv once a condition needed jq (shared by every
 * condition tested on this event: a Router's routes). */
typedef struct acrt__cond_input {
	const char *p;
	size_t len, cap; /* cap: readable bytes from p (json.h) */
	jv v;
	int have_v;
} acrt__cond_input;

/* Compiles `prog` (always as jq, and natively when it has the common
 * shape). NULL on error, with a one-line reason in err. */
acrt__cond *acrt__cond_compile(const char *prog, char *err, size_t errlen);
void acrt__cond_free(acrt__cond *c);
/* True when the condition is evaluated natively (tests, docs). */
int acrt__cond_is_native(const acrt__cond *c);

void acrt__cond_input_init(acrt__cond_input *in, const char *p, size_t len, size_t cap);
void acrt__cond_input_free(acrt__cond_input *in);
/* 1 true, 0 false, -1 error (jq's, or an invalid text) with a one-line
 * reason in err. */
int acrt__cond_test(acrt__cond *c, acrt__cond_input *in, char *err, size_t errlen);

#endif /* ACRT_COMPONENTS_COND_H */
