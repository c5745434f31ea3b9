/*
 * builtins.h - descriptors and config checks of the built-in component types,
 * for registry.c. Each lives in its own file (source.c, transformer.c,
 * sink.c) and uses only the public ABI of acrt.h, like a plugin would.
 */
#ifndef ACRT_BUILTINS_H
#define ACRT_BUILTINS_H

#include <jansson.h>
#include <stddef.h>

#include "acrt/acrt.h"

extern const acrt_component_desc acrt__source_desc;
extern const acrt_component_desc acrt__transformer_desc;
extern const acrt_component_desc acrt__sink_desc;

/* The config value `key` as a path: absolute as is, else relative to the
 * blueprint's directory. malloc'd (caller frees); NULL on out of memory. */
char *acrt__config_path(acrt_ctx *ctx, const char *key);

int acrt__source_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__transformer_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__sink_check(const json_t *config, const char **key, char *msg, size_t len);

#endif /* ACRT_BUILTINS_H */
