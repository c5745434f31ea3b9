/*
 * http_sink.h - `sink: http` of the built-in Sink (sink.c dispatches to it):
 * events POSTed in batches to a URL with libcurl (http_sink.c says how).
 *
 * One per Sink instance, used by that instance's callbacks only (its own
 * thread, or its producer's when chained; setup, restore and cleanup on the
 * threads acrt.h names): no locking.
 */
#ifndef ACRT_HTTP_SINK_H
#define ACRT_HTTP_SINK_H

#include <jansson.h>
#include <stddef.h>

#include "acrt/acrt.h"

/* The keys `sink: http` adds to the Sink's props table (sink.c). */
#define ACRT__HTTP_SINK_PROPS                                                                      \
	{                                                                                          \
	    "url",                                                                                 \
	    ACRT_PROP_STRING,                                                                      \
	    0,                                                                                     \
	    0,                                                                                     \
	    0,                                                                                     \
	    NULL,                                                                                  \
	    "http: where batches are POSTed (http or https)"},                                     \
	    {"headers",                                                                            \
	     ACRT_PROP_OBJECT,                                                                     \
	     0,                                                                                    \
	     0,                                                                                    \
	     0,                                                                                    \
	     NULL,                                                                                 \
	     "http: extra request headers, {Name: value}"},                                        \
	    {"token_file",                                                                         \
	     ACRT_PROP_STRING,                                                                     \
	     0,                                                                                    \
	     0,                                                                                    \
	     0,                                                                                    \
	     NULL,                                                                                 \
	     "http: file holding a bearer token (no group or other access; relative to the "       \
	     "blueprint)"},                                                                        \
	    {"ca_file",                                                                            \
	     ACRT_PROP_STRING,                                                                     \
	     0,                                                                                    \
	     0,                                                                                    \
	     0,                                                                                    \
	     NULL,                                                                                 \
	     "http: PEM file of the CAs to verify an https server with (relative to the "          \
	     "blueprint)"},                                                                        \
	    {"max_items", ACRT_PROP_INT, 0, 1, 1000000, NULL, "http: events per batch (500)"},     \
	    {"max_bytes",                                                                          \
	     ACRT_PROP_INT,                                                                        \
	     0,                                                                                    \
	     64,                                                                                   \
	     1073741824,                                                                           \
	     NULL,                                                                                 \
	     "http: bytes of body per batch (1048576)"},                                           \
	    {"max_ms",                                                                             \
	     ACRT_PROP_INT,                                                                        \
	     0,                                                                                    \
	     0,                                                                                    \
	     3600000,                                                                              \
	     NULL,                                                                                 \
	     "http: longest a batch waits for more events after its first (1000)"},                \
	    {"connect_timeout_ms",                                                                 \
	     ACRT_PROP_INT,                                                                        \
	     0,                                                                                    \
	     1,                                                                                    \
	     600000,                                                                               \
	     NULL,                                                                                 \
	     "http: connection timeout (5000)"},                                                   \
	    {"request_timeout_ms",                                                                 \
	     ACRT_PROP_INT,                                                                        \
	     0,                                                                                    \
	     1,                                                                                    \
	     3600000,                                                                              \
	     NULL,                                                                                 \
	     "http: timeout of one request, connection included (30000)"},                         \
	    {"retry_initial_ms",                                                                   \
	     ACRT_PROP_INT,                                                                        \
	     0,                                                                                    \
	     1,                                                                                    \
	     600000,                                                                               \
	     NULL,                                                                                 \
	     "http: first backoff after a 5xx, 429 or network error (100)"},                       \
	{                                                                                          \
		"retry_max_ms", ACRT_PROP_INT, 0, 1, 3600000, NULL,                                \
		    "http: longest backoff, and cap of a Retry-After (30000)"                      \
	}

typedef struct acrt__http_sink acrt__http_sink;

/* Checks the `sink: http` keys of a Sink's config (registry's check). */
int acrt__http_sink_check(const json_t *config, const char **key, char *msg, size_t len);
/* Builds it from the config; ACRT_OK with *out set, or the failure (acrt_fail). */
int acrt__http_sink_setup(acrt_ctx *ctx, acrt__http_sink **out);
int acrt__http_sink_process(acrt_ctx *ctx, acrt__http_sink *h, acrt_event *ev);
/* Input paused: sends the open batch once it is max_ms old (holding it until
 * then when the runtime can wake the instance: acrt__ctx_wake_at). */
int acrt__http_sink_idle(acrt_ctx *ctx, acrt__http_sink *h);
/* Input ended: sends the open batch and waits for its delivery. */
int acrt__http_sink_flush(acrt_ctx *ctx, acrt__http_sink *h);
/* Checkpoint barrier: flush, then the position (acrt.h snapshot/restore). */
int acrt__http_sink_snapshot(acrt_ctx *ctx, acrt__http_sink *h, void **buf, size_t *len);
int acrt__http_sink_restore(acrt_ctx *ctx, acrt__http_sink *h, const void *buf, size_t len);
/* Frees it; undelivered events are counted unwritten. NULL is fine. */
void acrt__http_sink_cleanup(acrt_ctx *ctx, acrt__http_sink *h);

#endif /* ACRT_HTTP_SINK_H */
