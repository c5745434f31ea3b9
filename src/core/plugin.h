/*
 * plugin.h - loading native components from `plugin:PATH#SYMBOL`.
 *
 * acrt__plugin_open() dlopens PATH, looks up SYMBOL (a const
 * acrt_component_desc), and checks abi_version and struct_size before reading
 * any other field. The returned handle owns the dlopen reference; the
 * descriptor stays valid until acrt__plugin_close(). Any thread; blocks on I/O.
 */
#ifndef ACRT_PLUGIN_H
#define ACRT_PLUGIN_H

#include <stddef.h>

#include "acrt/acrt.h"

typedef struct acrt__plugin acrt__plugin;

/* Parses "plugin:PATH#SYMBOL" into malloc'd *path and *symbol. -1 if malformed. */
int acrt__plugin_parse_ref(const char *ref, char **path, char **symbol);

/* 0 on success; else -1 with a one-line reason in err. */
int acrt__plugin_open(const char *path, const char *symbol, acrt__plugin **out,
                      const acrt_component_desc **desc, char *err, size_t errlen);
void acrt__plugin_close(acrt__plugin *p);

/* The same for a capability plugin: SYMBOL is a const acrt_capability_desc,
 * checked (abi_version, struct_size) before any other field is read. */
int acrt__plugin_open_cap(const char *path, const char *symbol, acrt__plugin **out,
                          const acrt_capability_desc **desc, char *err, size_t errlen);

/* Checks a descriptor's ABI fields (used for built-ins too). 0 or -1 with err. */
int acrt__desc_check(const acrt_component_desc *d, const char *what, char *err, size_t errlen);

#endif /* ACRT_PLUGIN_H */
