/*
 * api.h - the HTTP API of a running system (SPEC section 7, docs/API.md):
 * always on, always authenticated with bearer tokens, served by libmicrohttpd.
 *
 * Configured by `runtime.api` of the deployment (bp->runtime, raw JSON):
 *   listen: HOST:PORT           default 127.0.0.1:9464; when the default is
 *                               busy, an ephemeral port is used (warning); an
 *                               explicit address that cannot be bound fails
 *   auth: {read_token_file, write_token_file}   relative to the blueprint
 *                               directory; a token not configured is generated
 *                               into <blueprint dir>/.acrt/{read,write}.token
 *                               (0600, directory 0700), removed at stop
 *
 * Threads: the daemon runs without threads of its own; the runtime's
 * supervising thread (which does nothing else while the system runs) polls
 * acrt__api_fd() and calls acrt__api_run(). So every request is served on that
 * thread, never on a component's, and reads the runtime without blocking it
 * (metrics.h). Every function accepts a NULL api (no-op).
 */
#ifndef ACRT_API_H
#define ACRT_API_H

#include "runtime/query.h"

/* Where the API listens when runtime.api.listen is absent (the server, the
 * alert generator URL and the CLI's client all use this one). */
#define ACRT__API_DEFAULT_PORT "9464"
#define ACRT__API_DEFAULT_LISTEN "127.0.0.1:" ACRT__API_DEFAULT_PORT

typedef struct acrt__api acrt__api;

/* Reads the configuration, loads or generates the tokens, binds and starts
 * the daemon, logs `api listening on http://ADDR:PORT`. Returns 0 (and *out),
 * or -1 after logging why: the run must fail (exit 1). */
int acrt__api_start(acrt__runtime *rt, acrt__api **out);
/* The fd to poll for input (-1 when none), and the longest wait before
 * acrt__api_run must be called even without input (-1: no limit). */
int acrt__api_fd(const acrt__api *api);
int acrt__api_timeout_ms(const acrt__api *api);
/* Serves whatever is ready. Never blocks. */
void acrt__api_run(acrt__api *api);
/* Closes every connection, stops the daemon, removes generated token files. */
void acrt__api_stop(acrt__api *api);

#endif /* ACRT_API_H */
