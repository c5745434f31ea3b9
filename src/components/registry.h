/*
 * registry.h - registers the built-in component types (SPEC section 4) with
 * the catalogue the layers below read (core/builtin.h: the struct
 * acrt__builtin and its lookups). The table itself is static in registry.c.
 *
 * Threads: acrt__components_register is called once, on the main thread,
 * before any other thread starts: at the top of main() in cli/main.c and of
 * every test or bench program that loads blueprints or wires systems.
 */
#ifndef ACRT_REGISTRY_H
#define ACRT_REGISTRY_H

/* Registers the table of built-in types (acrt__builtins_register). */
void acrt__components_register(void);

#endif /* ACRT_REGISTRY_H */
