/*
 * httpd.h - helpers shared by the runtime's HTTP servers (the APIEndpoint
 * component; the HTTP API in api.c/api_config.c does the same things):
 *
 *   listening   HOST:PORT parsed ([v6]:PORT; an empty host is every
 *               interface), bound and listened on, the bound address formatted
 *   bearer      a token file is read once and only its SHA-256 digest kept; a
 *               presented `Authorization: Bearer TOKEN` is hashed and the
 *               digests compared with CRYPTO_memcmp (constant time)
 *   guard       the limits against hostile clients: a per-client connection
 *               limit and a whole-request deadline (acrt__http_guard_*)
 *
 * Threads: apart from the guard, none of these keeps state;
 * acrt__bearer_check only reads the digest and may run on any number of
 * threads at once. The guard's own rules are given with it.
 */
#ifndef ACRT_HTTPD_H
#define ACRT_HTTPD_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ACRT__BEARER_DIGEST 32 /* SHA-256 */
#define ACRT__BEARER_MAX 4096  /* longest token read from a file */

/* Splits HOST:PORT (or [v6]:PORT) into host (brackets removed; may be empty)
 * and port (decimal digits, at most 65535). Returns 0 or -1 (not HOST:PORT). */
int acrt__listen_split(const char *s, char *host, size_t hn, char *port, size_t pn);
/* Binds host:port (an empty host: every interface), listens with a backlog
 * of 1024; the socket is non-blocking and close-on-exec, with SO_REUSEADDR.
 * Returns the fd and the bound address in *bound, or -1 with errno set. */
int acrt__listen_bind(const char *host, const char *port, struct sockaddr_storage *bound);
/* "1.2.3.4:80" or "[::1]:80". */
void acrt__listen_format(const struct sockaddr_storage *ss, char *out, size_t n);

/* Connections: the one policy of both HTTP servers (the API and every
 * APIEndpoint). At most this many per server, fewer when RLIMIT_NOFILE is
 * low; ACRT__HTTP_FD_RESERVE descriptors stay for the components. */
#define ACRT__HTTP_MAX_CONNECTIONS 4096
#define ACRT__HTTP_FD_RESERVE 256
/* Raises the soft RLIMIT_NOFILE towards the hard one (at most 65536), then
 * returns how many connections one server may hold. Any thread. */
unsigned acrt__http_connection_limit(void);

/* ---- Hostile clients (docs/SECURITY.md) ----------------------------------
 *
 * Both servers take three measures against clients that hold connections
 * without finishing requests (slowloris: a byte every few seconds keeps
 * libmicrohttpd's idle timeout from ever firing):
 *
 *   per-client limit   MHD_OPTION_PER_IP_CONNECTION_LIMIT: one address holds
 *                      at most ACRT__HTTP_PER_CLIENT_API (the API) or
 *                      ACRT__HTTP_PER_CLIENT_ENDPOINT (an APIEndpoint)
 *                      connections; past it, libmicrohttpd closes a new one
 *                      at once. The total limit above stays far higher, so
 *                      one address can never take every slot.
 *   request deadline   the guard below: a request's head, body and answer
 *                      must be through within a deadline counted from the
 *                      accept (or from the end of the previous request on a
 *                      kept-alive connection), however steadily the bytes
 *                      trickle; past it the connection is shut down.
 *   body limit         each server's own (Content-Length checked before the
 *                      body; a chunked body counted as it arrives or refused).
 */
#define ACRT__HTTP_DEADLINE_S 10           /* the API; an APIEndpoint adds 1 s per MiB of body */
#define ACRT__HTTP_PER_CLIENT_API 16       /* operators' tools: top, curl, a scraper, taps */
#define ACRT__HTTP_PER_CLIENT_ENDPOINT 128 /* ingress: client pools, a proxy on one address */

/* The request-deadline guard. It learns of each connection through
 * acrt__http_guard_notify (MHD_OPTION_NOTIFY_CONNECTION, cls = the guard),
 * keeps the connections in deadline order, and shuts down (shutdown(2), both
 * directions) the socket of any whose request is not through in time:
 * libmicrohttpd sees the end of the stream and closes the connection itself,
 * with the usual notifications. The fd stays valid while the guard's lock is
 * held: libmicrohttpd reports a connection CLOSED before it closes its
 * socket, and that report takes the same lock.
 *
 * Threads: the notify, next and exempt calls run on the daemon's threads;
 * sweeping runs either on the thread that drives the daemon (the API:
 * acrt__http_guard_sweep from its loop) or on the guard's own thread
 * (acrt__http_guard_spawn, for a daemon with internal threads). */
typedef struct acrt__http_guard acrt__http_guard;

/* A guard with this deadline (ns, > 0); each connection it shuts down is
 * also added to *count when count is not NULL (a component's counter, which
 * must outlive the guard). NULL when out of memory. */
acrt__http_guard *acrt__http_guard_new(int64_t deadline_ns, atomic_uint_fast64_t *count);
/* Starts the guard's sweeping thread. 0, or -1 (errno set). */
int acrt__http_guard_spawn(acrt__http_guard *g);
/* Stops and joins the thread, frees the guard. Call after MHD_stop_daemon
 * (every connection reported closed). NULL is fine. */
void acrt__http_guard_free(acrt__http_guard *g);
/* The MHD_NotifyConnectionCallback (cls: the guard). A connection the guard
 * cannot track (out of memory) is shut down at once: refused, not exempt. */
void acrt__http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code);
/* A request on c ended (call from MHD_OPTION_NOTIFY_COMPLETED): the next
 * one on the same connection gets a full deadline from now. */
void acrt__http_guard_next(struct MHD_Connection *c);
/* c carries a stream that is meant to last (acrt tap): no deadline until
 * the connection closes. */
void acrt__http_guard_exempt(struct MHD_Connection *c);
/* Shuts down the connections past their deadline at now; returns the ns
 * until the next deadline (ACRT__FOREVER with none tracked). */
int64_t acrt__http_guard_sweep(acrt__http_guard *g, int64_t now);
/* Connections shut down for their deadline so far (any thread). */
uint64_t acrt__http_guard_expired(const acrt__http_guard *g);

/* true when libmicrohttpd was built with TLS (HTTPS listeners work). */
bool acrt__http_tls_supported(void);

/* Reads the token in the file at path (surrounding whitespace ignored, 1 to
 * ACRT__BEARER_MAX bytes; acrt__secret_file_read) into its digest. Returns 0,
 * or -1 with a one-line reason in err (the token itself is never in it). The
 * token is wiped from memory before returning. */
int acrt__bearer_load(const char *path, unsigned char digest[ACRT__BEARER_DIGEST], char *err,
                      size_t errlen);
/* Parses an Authorization header value (may be NULL) as `Bearer TOKEN`
 * (scheme case-insensitive, spaces around the token ignored) and writes
 * TOKEN's digest into d. false when it is not one (d untouched). */
bool acrt__bearer_digest(const char *authorization, unsigned char d[ACRT__BEARER_DIGEST]);
/* true when the Authorization header value (may be NULL) is `Bearer TOKEN`
 * (scheme case-insensitive, spaces around the token ignored) and TOKEN's
 * digest equals digest. Constant time in the token's content. */
bool acrt__bearer_check(const char *authorization, const unsigned char digest[ACRT__BEARER_DIGEST]);

#endif /* ACRT_HTTPD_H */
