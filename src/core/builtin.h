/*
 * builtin.h - the catalogue of built-in component types (SPEC section 4), as
 * the layers below the components see it. Each entry is an ordinary
 * acrt_component_desc, the same ABI plugins use, plus what the blueprint
 * validator and the wiring need to know about the type: its default ports
 * (some may come from its config) and an optional cross-field check of its
 * config. A `check` may name a nested key as a dotted path ("routes.2.when":
 * key `when` of the third item of `routes`), for the validator to point at it.
 *
 * The table itself lives above, in components/registry.c, which hands it in
 * through acrt__builtins_register (acrt__components_register does that), so
 * that core, blueprint and harness never include the components. Callers of
 * the lookups: blueprint/arch.c, blueprint/bindings.c, runtime/wiring.c,
 * cli/help.c.
 *
 * Threads: acrt__builtins_register is called once, on the main thread, before
 * any other thread starts (the top of main() in cli/main.c, each test and
 * bench program); the table is read-only afterwards, and any thread may call
 * the lookups without locks. The registered table is borrowed: it must stay
 * valid (components/registry.c's is static) for as long as the process runs.
 * Before any registration, every lookup finds nothing, so a blueprint naming a
 * built-in type is refused as "unknown type" rather than silently run.
 */
#ifndef ACRT_BUILTIN_H
#define ACRT_BUILTIN_H

#include <jansson.h>
#include <stddef.h>

#include "acrt/acrt.h"

typedef struct acrt__builtin {
	const char *type;                /* "Source", "Transformer", "Sink", ... */
	const acrt_component_desc *desc; /* NULL: listed, not available (none is) */
	const char *const *in_ports;     /* default input ports, NULL-terminated */
	const char *const *out_ports;    /* default output ports, NULL-terminated */
	/* Optional cross-field check of a config already checked against desc->props.
	 * On error returns -1, sets *key to the offending key (or NULL for the whole
	 * config) and writes a one-line reason into msg. */
	int (*check)(const json_t *config, const char **key, char *msg, size_t msglen);
	/* Optional: output ports named by the config (the Router's route targets),
	 * besides out_ports. Writes up to max distinct names, borrowed from config,
	 * into ports and returns how many; skips malformed entries. Each of them
	 * must be bound: a config naming a port is a promise to use it. */
	size_t (*config_out_ports)(const json_t *config, const char **ports, size_t max);
} acrt__builtin;

/* Makes table[0..n) the built-in types (borrowed, see above). A later call
 * replaces the table. Main thread, before any other thread starts. */
void acrt__builtins_register(const acrt__builtin *table, size_t n);
/* The built-in type named `type`, or NULL. */
const acrt__builtin *acrt__builtin_find(const char *type);
/* The i-th built-in type (for "did you mean" and help), NULL past the end. */
const acrt__builtin *acrt__builtin_at(size_t i);

#endif /* ACRT_BUILTIN_H */
