/*
 * schema.h - a JSON Schema draft 2020-12 validator on jansson, used by
 * `acrt schema check` (SPEC section 6) and by anything that checks payloads.
 *
 * A schema is compiled once (acrt__schema_compile): every local reference
 * ($ref by JSON pointer, $anchor, $id-relative URI, $dynamicRef) is resolved
 * and every regex is precompiled with PCRE2. A compiled schema is immutable:
 * any number of threads may call acrt__schema_validate on it concurrently.
 * Validation allocates nothing on the success path, except a bitmap for
 * unevaluatedItems/unevaluatedProperties on instances larger than 128
 * elements. Errors are collected only when the caller passes an error list.
 *
 * Not supported: references to other documents (remote http/https URIs,
 * including the meta-schema), $vocabulary, format assertion (format is an
 * annotation only). See docs/SCHEMA.md.
 */
#ifndef ACRT_SCHEMA_H
#define ACRT_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

typedef struct acrt__schema acrt__schema;

/* One validation error: where in the instance, which keyword failed, and for
 * the keywords that have one, what it expected and what it got. */
typedef struct acrt__schema_error {
	char *path;          /* JSON pointer into the instance ("" for the root); owned */
	const char *keyword; /* static string, e.g. "type", "required" */
	char detail[96];     /* "maximum 100, got 101", "type integer, got string"; or "" */
} acrt__schema_error;

/* What to print for an error: its detail, else its keyword. */
static inline const char *
acrt__schema_error_text(const acrt__schema_error *e)
{
	return e->detail[0] ? e->detail : e->keyword ? e->keyword : "?";
}

/* A list of errors, filled by acrt__schema_validate. Zero-initialise it
 * (ACRT__SCHEMA_ERRORS_INIT), then release it with acrt__schema_errors_free. */
typedef struct acrt__schema_errors {
	acrt__schema_error *v;
	size_t n, cap;
	size_t max; /* stop recording after this many (0: the default, 100) */
} acrt__schema_errors;

#define ACRT__SCHEMA_ERRORS_INIT                                                                   \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* Compiles a schema (an object or a boolean). The result keeps a reference to
 * `schema`, which must not be modified afterwards. On failure returns NULL and
 * writes a one-line reason into err (if err is not NULL). */
acrt__schema *acrt__schema_compile(const json_t *schema, char *err, size_t errlen);

/* Validates an instance. Returns 0 when valid, 1 when invalid. When errs is
 * not NULL every error found is appended to it (the list is not cleared
 * first); when it is NULL validation stops at the first failure. Thread-safe:
 * the compiled schema is only read. */
int acrt__schema_validate(const acrt__schema *s, const json_t *instance, acrt__schema_errors *errs);

/* Frees a compiled schema. Accepts NULL. */
void acrt__schema_free(acrt__schema *s);

/* Empties the list (keeps its capacity). */
void acrt__schema_errors_clear(acrt__schema_errors *errs);
/* Frees the list's contents; the struct itself can be reused. Accepts NULL. */
void acrt__schema_errors_free(acrt__schema_errors *errs);

/* JSON equality as JSON Schema defines it: numbers compare by value (1 == 1.0). */
int acrt__schema_json_equal(const json_t *a, const json_t *b);

#endif /* ACRT_SCHEMA_H */
