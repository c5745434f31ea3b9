/*
 * builtins.h - descriptors and config checks of the built-in component types,
 * for registry.c. Each lives in its own file (source.c, transformer.c,
 * filter.c, router.c, aggregator.c, store.c, sink.c, apiendpoint.c,
 * passthrough.c, dedup.c, accumulator.c) and uses
 * only the public ABI of acrt.h, like a plugin would (jq.c is their shared
 * libjq helper; groupkey.c has the group-key encoding Aggregator and Store share). The
 * APIEndpoint also uses a few internals: its output's capacity
 * (runtime/ctx_query.h), the HTTP helpers it shares with the API
 * (core/httpd.h) and a draft event's trace id (traceparent).
 */
#ifndef ACRT_BUILTINS_H
#define ACRT_BUILTINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "acrt/acrt.h"

extern const acrt_component_desc acrt__source_desc;
extern const acrt_component_desc acrt__transformer_desc;
extern const acrt_component_desc acrt__sink_desc;
extern const acrt_component_desc acrt__filter_desc;
extern const acrt_component_desc acrt__router_desc;
extern const acrt_component_desc acrt__aggregator_desc;
extern const acrt_component_desc acrt__store_desc;
extern const acrt_component_desc acrt__endpoint_desc;
extern const acrt_component_desc acrt__passthrough_desc;
extern const acrt_component_desc acrt__dedup_desc;
extern const acrt_component_desc acrt__accumulator_desc;

/* The config value `key` as a path: absolute as is, else relative to the
 * blueprint's directory. From acrt__malloc (acrt__free it); NULL on out of
 * memory. */
char *acrt__config_path(acrt_ctx *ctx, const char *key);

int acrt__source_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__transformer_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__sink_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__filter_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__router_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__aggregator_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__store_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__endpoint_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__dedup_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__accumulator_check(const json_t *config, const char **key, char *msg, size_t len);
/* passthrough.c: `ports: [name, ...]`, the output ports a Passthrough, a
 * Source or an Accumulator emits each event on. The check of its value
 * (also the Passthrough's whole check); the list read at setup (borrowed from
 * the config; [dflt] when absent; the array is acrt__free'd by the caller);
 * an emit of ev on each (takes the caller's reference, like acrt_emit; a port
 * that is not an output fails the event). */
int acrt__ports_check(const json_t *config, const char **key, char *msg, size_t len);
int acrt__ports_read(acrt_ctx *ctx, const char *dflt, const char ***ports, size_t *n);
int acrt__ports_emit(acrt_ctx *ctx, const char *const *ports, size_t n, acrt_event *ev);
/* Aggregator and Store: the group key of a JSON value (NULL: absent) as the
 * compact JSON text with sorted object keys ("null" when absent), so distinct
 * values give distinct keys. Written into buf when it fits in cap bytes, else
 * into *heap from acrt__malloc (the caller acrt__frees it). Returns the bytes
 * (not NUL-terminated) with their length in *len, or NULL on out of memory. */
#define ACRT__KEY_INLINE 256
const char *acrt__key_encode(const json_t *v, char *buf, size_t cap, char **heap, size_t *len);
/* The same for a value read from an event's text (core/json.h): the value's
 * exact text for numbers, booleans and strings without escapes (so a key
 * leaves as it came), acrt__key_encode's text otherwise; "null" when absent.
 * May return v->raw itself (valid as long as the event's text). */
struct acrt__jval;
const char *acrt__key_of_value(const struct acrt__jval *v, char *buf, size_t cap, char **heap,
                               size_t *len);
/* Fails event ev (errport.c): counts `counter` (acrt_count; NULL: none),
 * emits ev on port `error` (when declared), and returns acrt_fail's code
 * with the reason (or the emit's code if that failed). */
int acrt__fail_event(acrt_ctx *ctx, acrt_event *ev, const char *counter, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The Router's route target ports (see acrt__builtin.config_out_ports). */
size_t acrt__router_out_ports(const json_t *config, const char **ports, size_t max);

#endif /* ACRT_BUILTINS_H */
