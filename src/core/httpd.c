/*
 * httpd.c - see httpd.h. The token file is read with the API's secret-file
 * reader (acrt__secret_file_read, core/secret.c), so both servers accept the
 * same files.
 *
 * The guard keeps its connections on one list in deadline order: a new
 * connection and one starting its next request go to the tail with since =
 * now (read under the lock, so the list stays sorted), and a sweep takes
 * from the head while the head is late. A connection is on the list
 * (LIVE), off it for good (EXEMPT: a tap; LATE: shut down, waiting for
 * libmicrohttpd to close it), and freed at its CLOSED report.
 */
#include "core/httpd.h"
#include "core/common.h"
#include "core/secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* ---- The request-deadline guard ------------------------------------------- */

typedef enum { GC_LIVE, GC_EXEMPT, GC_LATE } gconn_state;

typedef struct gconn {
	struct gconn *prev, *next; /* on g->head..tail while LIVE */
	acrt__http_guard *g;
	int fd;        /* the connection's socket, valid until its CLOSED report */
	int64_t since; /* the deadline runs from here (monotonic ns) */
	gconn_state state;
} gconn;

struct acrt__http_guard {
	pthread_mutex_t mu; /* guards everything below but expired */
	pthread_cond_t cv;  /* wakes the sweeping thread to stop */
	gconn *head, *tail; /* LIVE connections, oldest since first */
	int64_t deadline_ns;
	bool thread_on, stop;
	pthread_t thread;
	atomic_uint_fast64_t expired;
	atomic_uint_fast64_t *count; /* the owner's counter, or NULL */
};

static void
gconn_unlink(acrt__http_guard *g, gconn *k)
{
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		g->head = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	else
		g->tail = k->prev;
	k->prev = k->next = NULL;
}

static void
gconn_append(acrt__http_guard *g, gconn *k)
{
	k->prev = g->tail;
	k->next = NULL;
	if (g->tail != NULL)
		g->tail->next = k;
	else
		g->head = k;
	g->tail = k;
}

acrt__http_guard *
acrt__http_guard_new(int64_t deadline_ns, atomic_uint_fast64_t *count)
{
	acrt__http_guard *g = acrt__calloc(1, sizeof *g);
	pthread_condattr_t ca;
	bool ca_init = false, mu_init = false;
	if (g == NULL)
		return NULL;
	g->deadline_ns = deadline_ns;
	g->count = count;
	atomic_init(&g->expired, 0);
	if (pthread_mutex_init(&g->mu, NULL) != 0)
		goto fail;
	mu_init = true;
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	ca_init = true;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&g->cv, &ca) != 0)
		goto fail;
	pthread_condattr_destroy(&ca);
	return g;
fail:
	if (ca_init)
		pthread_condattr_destroy(&ca);
	if (mu_init)
		pthread_mutex_destroy(&g->mu);
	acrt__free(g);
	return NULL;
}

/* Under g->mu: shuts down the late ones; the ns until the next deadline. */
static int64_t
guard_sweep_locked(acrt__http_guard *g, int64_t now)
{
	while (g->head != NULL && now - g->head->since >= g->deadline_ns) {
		gconn *k = g->head;
		gconn_unlink(g, k);
		k->state = GC_LATE;
		(void)shutdown(k->fd, SHUT_RDWR); /* libmicrohttpd reads the end, closes */
		atomic_fetch_add_explicit(&g->expired, 1, memory_order_relaxed);
		if (g->count != NULL)
			atomic_fetch_add_explicit(g->count, 1, memory_order_relaxed);
	}
	if (g->head == NULL)
		return ACRT__FOREVER;
	return g->head->since + g->deadline_ns - now;
}

int64_t
acrt__http_guard_sweep(acrt__http_guard *g, int64_t now)
{
	pthread_mutex_lock(&g->mu);
	int64_t wait = guard_sweep_locked(g, now);
	pthread_mutex_unlock(&g->mu);
	return wait;
}

uint64_t
acrt__http_guard_expired(const acrt__http_guard *g)
{
	return g != NULL
	           ? atomic_load_explicit(&((acrt__http_guard *)g)->expired, memory_order_relaxed)
	           : 0;
}

static void *
guard_main(void *arg)
{
	acrt__http_guard *g = arg;
	pthread_setname_np(pthread_self(), "acrt-http-guard");
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		int64_t now = acrt__mono_ns();
		int64_t wait = guard_sweep_locked(g, now);
		/* Nothing tracked: a connection accepted from now on is late at
		 * now + deadline at the earliest. */
		if (wait > g->deadline_ns)
			wait = g->deadline_ns;
		struct timespec ts = acrt__timespec(now + wait + 1000000); /* 1 ms past it */
		(void)pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int
acrt__http_guard_spawn(acrt__http_guard *g)
{
	int rc = pthread_create(&g->thread, NULL, guard_main, g);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	g->thread_on = true;
	return 0;
}

void
acrt__http_guard_free(acrt__http_guard *g)
{
	if (g == NULL)
		return;
	if (g->thread_on) {
		pthread_mutex_lock(&g->mu);
		g->stop = true;
		pthread_cond_signal(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thread, NULL);
	}
	/* Every connection was reported closed by MHD_stop_daemon; whatever is
	 * left on the list (nothing, normally) is only memory now. */
	while (g->head != NULL) {
		gconn *k = g->head;
		gconn_unlink(g, k);
		acrt__free(k);
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	acrt__free(g);
}

void
acrt__http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
	acrt__http_guard *g = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		gconn *k = ci != NULL ? acrt__calloc(1, sizeof *k) : NULL;
		*socket_context = k;
		if (k == NULL) { /* cannot bound it: refused */
			if (ci != NULL)
				(void)shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		k->g = g;
		k->fd = ci->connect_fd;
		k->state = GC_LIVE;
		pthread_mutex_lock(&g->mu);
		k->since = acrt__mono_ns();
		gconn_append(g, k);
		pthread_mutex_unlock(&g->mu);
		return;
	}
	gconn *k = *socket_context; /* MHD_CONNECTION_NOTIFY_CLOSED */
	*socket_context = NULL;
	if (k == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	if (k->state == GC_LIVE)
		gconn_unlink(g, k);
	pthread_mutex_unlock(&g->mu);
	acrt__free(k);
}

static gconn *
gconn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void
acrt__http_guard_next(struct MHD_Connection *c)
{
	gconn *k = gconn_of(c);
	if (k == NULL)
		return;
	acrt__http_guard *g = k->g;
	pthread_mutex_lock(&g->mu);
	if (k->state == GC_LIVE) { /* to the tail, with a fresh deadline */
		gconn_unlink(g, k);
		k->since = acrt__mono_ns();
		gconn_append(g, k);
	}
	pthread_mutex_unlock(&g->mu);
}

void
acrt__http_guard_exempt(struct MHD_Connection *c)
{
	gconn *k = gconn_of(c);
	if (k == NULL)
		return;
	acrt__http_guard *g = k->g;
	pthread_mutex_lock(&g->mu);
	if (k->state == GC_LIVE) {
		gconn_unlink(g, k);
		k->state = GC_EXEMPT;
	}
	pthread_mutex_unlock(&g->mu);
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
