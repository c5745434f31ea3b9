/*
 * registry.h - the built-in component types (SPEC section 4). Each is an
 * ordinary acrt_component_desc, the same ABI plugins use, plus what the
 * blueprint validator needs to know about the type: its default ports and an
 * optional cross-field check of its config.
 *
 * The table is static and read-only: any thread may call these.
 */
#ifndef ACRT_REGISTRY_H
#define ACRT_REGISTRY_H

#include <jansson.h>
#include <stddef.h>

#include "acrt/acrt.h"

typedef struct acrt__builtin {
	const char *type;                /* "Source", "Transformer", "Sink", ... */
	const acrt_component_desc *desc; /* NULL for types of a later release */
	const char *const *in_ports;     /* default input ports, NULL-terminated */
	const char *const *out_ports;    /* default output ports, NULL-terminated */
	/* Optional cross-field check of a config already checked against desc->props.
	 * On error returns -1, sets *key to the offending key (or NULL for the whole
	 * config) and writes a one-line reason into msg. */
	int (*check)(const json_t *config, const char **key, char *msg, size_t msglen);
} acrt__builtin;

/* The built-in type named `type`, or NULL. */
const acrt__builtin *acrt__builtin_find(const char *type);
/* The i-th built-in type (for "did you mean" and help), NULL past the end. */
const acrt__builtin *acrt__builtin_at(size_t i);

#endif /* ACRT_REGISTRY_H */
