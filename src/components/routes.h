/*
 * routes.h - the one check of a `routes:` list, shared by the built-ins that
 * take one (the Router: {when, to}; the APIEndpoint: {path, method}): a
 * non-empty list of mappings holding only the known fields, each required
 * field present, each present field valid. `acrt validate` runs it through the
 * types' config checks (registry.h), so every message names the route and
 * field it is about. Pure functions: any thread.
 */
#ifndef ACRT_ROUTES_H
#define ACRT_ROUTES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct acrt__route_field {
	const char *name;    /* "when" */
	const char *missing; /* NULL: optional; else the reason when absent */
	/* Checks a present value: 0, or -1 with a one-line reason in msg. */
	int (*check)(const json_t *v, char *msg, size_t len);
} acrt__route_field;

/*
 * Checks config.routes against fields (n of them). Returns 0, or -1 with a
 * one-line reason in msg and *key set to where the fault is: "routes",
 * "routes.I" (a missing field, or not a mapping) or "routes.I.FIELD" (I from
 * 0; the string is thread-local, valid until the next call on this thread).
 */
int acrt__routes_check(const json_t *config, const acrt__route_field *fields, size_t n,
                       const char **key, char *msg, size_t len);

/* "routes.I.FIELD" in the same thread-local storage, for a caller's own
 * cross-route check (a duplicate). */
const char *acrt__routes_key(size_t i, const char *field);

#endif /* ACRT_ROUTES_H */
