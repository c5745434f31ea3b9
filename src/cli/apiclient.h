/*
 * apiclient.h - the HTTP API client shared by `acrt top` and `acrt tap`
 * (libcurl): finding a running system's API address and token, the options
 * that override them, a GET of a JSON document and a streamed GET of JSON
 * lines.
 *
 * Where (acrt__apiclient_locate):
 *   address  --url, else <blueprint dir>/.acrt/api.addr (.acrt/NODE/ with
 *            --node NAME: that node's; written by the
 *            running system: the address actually served, right even when it
 *            fell back to an ephemeral port), else runtime.api.listen (a
 *            wildcard host is reached on loopback), else 127.0.0.1:9464;
 *            https when runtime.api.tls is set
 *   token    --token-file, else runtime.api.auth.{read,write}_token_file,
 *            else <blueprint dir>/.acrt[/NODE]/{read,write}.token (generated)
 * The blueprint is loaded only when --url or --token-file leaves something to
 * find.
 *
 * One client per command, used by the thread that made it. The token lives
 * in memory only as the Authorization header, wiped by acrt__apiclient_free.
 */
#ifndef ACRT_APICLIENT_H
#define ACRT_APICLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct acrt__apiclient {
	const char *cmd;                 /* "top", "tap": prefixes the messages */
	const char *deployment;          /* --deployment */
	const char *url;                 /* --url */
	const char *token_file;          /* --token-file */
	const char *node;                /* --node: that node's API files */
	const char *cacert, *cert, *key; /* TLS files (curl's) */
	char *base;                      /* http(s)://HOST:PORT, once located */
	char *auth;                      /* "Authorization: Bearer ...", once located */
	CURL *h;
} acrt__apiclient;

/* Consumes the shared option at argv[*i] (--deployment, --url, --token-file,
 * --cacert, --cert, --key, --node; `--opt V` or `--opt=V`), advancing *i past its
 * value. Returns 1 when consumed, 0 when argv[*i] is not one of them, or 2
 * after printing a usage error (the exit code). */
int acrt__apiclient_option(acrt__apiclient *c, int argc, char **argv, int *i);

/* Finds the address and the token (write: the write token, else the read
 * one) for the blueprint at path (a DIR or FILE; may be unused, see above)
 * and starts libcurl. Returns 0, or the exit code after printing why: 2 for
 * an invalid blueprint, 1 when the token cannot be read or curl fails. */
int acrt__apiclient_locate(acrt__apiclient *c, const char *path, bool write);

/* GET base+path as JSON. NULL with err set (one line) on failure; *status is
 * the HTTP status (0 when nothing answered). */
json_t *acrt__apiclient_get_json(acrt__apiclient *c, const char *path, long *status, char *err,
                                 size_t errn);
/* The same with POST (an empty body) when post; 200 and 202 are success. */
json_t *acrt__apiclient_request_json(acrt__apiclient *c, bool post, const char *path, long *status,
                                     char *err, size_t errn);

/* Called with each line of a streamed 200 response (without its newline,
 * NUL-terminated, empty lines skipped): 0 to go on, 1 to stop (done), -1 to
 * stop on an error. */
typedef int (*acrt__apiclient_line_fn)(const char *line, size_t len, void *ud);

/* GET base+path and hands each line to fn as it arrives, until the server
 * ends the response, fn stops, or *stop becomes non-zero (checked at least
 * every second). Returns 0 (ended or stopped on purpose, including fn's 1),
 * -1 when fn returned -1, or 1 with err set: not reachable, the connection
 * broke, or a status other than 200 (then *status is set and err carries the
 * server's "error" message). */
int acrt__apiclient_stream(acrt__apiclient *c, const char *path, acrt__apiclient_line_fn fn,
                           void *ud, volatile sig_atomic_t *stop, long *status, char *err,
                           size_t errn);

/* Wipes the token, frees everything, ends libcurl. Accepts a client that
 * was never located. */
void acrt__apiclient_free(acrt__apiclient *c);

#endif /* ACRT_APICLIENT_H */
