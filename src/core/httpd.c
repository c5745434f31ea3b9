/*
 * httpd.c - see httpd.h. The token file is read with the API's secret-file
 * reader (acrt__secret_file_read, core/secret.c), so both servers accept the
 * same files.
 */
#include "core/httpd.h"
#include "core/secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

_Static_assert(ACRT__BEARER_DIGEST == SHA256_DIGEST_LENGTH, "the digest is SHA-256");

/* ---- Listening ------------------------------------------------------------ */

int
acrt__listen_split(const char *s, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= pn)
		return -1;
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hn)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pn, "%s", colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	return atoi(port) <= 65535 ? 0 : -1;
}

int
acrt__listen_bind(const char *host, const char *port, struct sockaddr_storage *bound)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) != 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	int fd = -1, err = EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	socklen_t sl = sizeof *bound;
	if (getsockname(fd, (struct sockaddr *)bound, &sl) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

void
acrt__listen_format(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		snprintf(out, n, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		snprintf(out, n, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
	}
}

/* ---- Bearer tokens -------------------------------------------------------- */

int
acrt__bearer_load(const char *path, unsigned char digest[ACRT__BEARER_DIGEST], char *err,
                  size_t errlen)
{
	char *tok = NULL;
	int rc = acrt__secret_file_read(path, ACRT__BEARER_MAX, &tok);
	if (rc == -1) {
		snprintf(err, errlen, "cannot read token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "token file %s must hold one token (1 to %d bytes)", path,
		         ACRT__BEARER_MAX);
		return -1;
	}
	size_t len = strlen(tok);
	SHA256((const unsigned char *)tok, len, digest);
	explicit_bzero(tok, len);
	free(tok);
	return 0;
}

bool
acrt__bearer_digest(const char *h, unsigned char d[ACRT__BEARER_DIGEST])
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	size_t len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	if (len == 0)
		return false;
	SHA256((const unsigned char *)h, len, d);
	return true;
}

bool
acrt__bearer_check(const char *h, const unsigned char digest[ACRT__BEARER_DIGEST])
{
	unsigned char d[ACRT__BEARER_DIGEST];
	return acrt__bearer_digest(h, d) && CRYPTO_memcmp(d, digest, sizeof d) == 0;
}

unsigned
acrt__http_connection_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 256;
	rlim_t want = rl.rlim_max == RLIM_INFINITY ? 65536 : rl.rlim_max;
	if (want > 65536)
		want = 65536;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t cur = rl.rlim_cur == RLIM_INFINITY ? 65536 : rl.rlim_cur;
	if (cur <= 2 * ACRT__HTTP_FD_RESERVE)
		return (unsigned)(cur / 4 > 0 ? cur / 4 : 1);
	rlim_t lim = cur - ACRT__HTTP_FD_RESERVE;
	return lim > ACRT__HTTP_MAX_CONNECTIONS ? ACRT__HTTP_MAX_CONNECTIONS : (unsigned)lim;
}

bool
acrt__http_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}
