/*
 * httpd.h - helpers shared by the runtime's HTTP servers (the APIEndpoint
 * component; the HTTP API in api.c/api_config.c does the same things):
 *
 *   listening   HOST:PORT parsed ([v6]:PORT; an empty host is every
 *               interface), bound and listened on, the bound address formatted
 *   bearer      a token file is read once and only its SHA-256 digest kept; a
 *               presented `Authorization: Bearer TOKEN` is hashed and the
 *               digests compared with CRYPTO_memcmp (constant time)
 *
 * Threads: none of these keeps state; acrt__bearer_check only reads the digest
 * and may run on any number of threads at once.
 */
#ifndef ACRT_HTTPD_H
#define ACRT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
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
