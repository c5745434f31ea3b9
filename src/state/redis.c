/*
 * redis.c - the redis_snapshot checkpoint adapter (adapter.h), on hiredis.
 *
 * Keys, for system S (deployment system_name):
 *
 *   acrt:S:ckpts       sorted set of checkpoint ids (member and score = id)
 *   acrt:S:ckpt:ID     hash: "wall_ns" (decimal ns since the epoch) and one
 *                      field "p:NAME" per part, holding its bytes
 *   acrt:S:lock        the store's lock (redis_lock.c; docs/STATE.md "One writer per
 *                      store"): "RANDOM PID@HOST" of the run writing into
 *                      it, set with SET NX PX 30000, refreshed by the writer
 *                      (a compare-and-PEXPIRE script) every 10 s, deleted by
 *                      a compare-and-delete script at a clean end. A
 *                      value naming a process of this host that is gone (a
 *                      killed run) is replaced at once (compare-and-set);
 *                      another host's is refused until it expires
 *
 * put() reads EXISTS under WATCH, then writes the hash and the ZADD in one
 * MULTI/EXEC: a checkpoint is visible with all its parts or not at all, and a
 * concurrent writer of the same id makes EXEC fail instead of mixing parts.
 * del() removes both in one MULTI/EXEC. list() is three pipelined round trips
 * (ZREVRANGE; HGET wall_ns + HKEYS + ZSCORE per id; HSTRLEN per part), so it
 * never transfers part data. An id whose hash is gone while the sorted set
 * still has it is data loss (an eviction under maxmemory, an EXPIRE, a DEL
 * outside acrt): list() reports it (acrt__ckpt.lost, naming the keys) and
 * get() refuses it (ACRT_EINVAL), unlike an id that del() removed meanwhile.
 * Ids are at most 2^53 so that scores are exact.
 *
 * Connection: redis_url is redis://[[user]:password@]host[:port][/db] (user
 * and password may be %-encoded; port 6379 and db 0 by default). open()
 * connects with redisConnectWithTimeout, authenticates and selects the db,
 * so a wrong address or password is reported at once; every command then has
 * timeout_ms (redisSetTimeout). When the connection breaks (an I/O error, a
 * timeout, the server gone) it is freed and the call fails with
 * ACRT_ERETRYABLE; the next call connects again, so the adapter recovers by
 * itself once Redis is back. Error replies from the server are ACRT_ERR (AUTH
 * and SELECT: ACRT_EINVAL). Messages name host:port and never the password.
 *
 * hiredis writes with write(2): a server dying while a command is sent would
 * raise SIGPIPE. Each round trip blocks SIGPIPE on the calling thread and
 * discards one it caused, leaving the process's dispositions alone.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"
#include "state/adapter.h"

#include "state/redis_int.h"

/* "redis host:port: <message>" into err, with the password masked should a
 * server's message ever echo it. */
int
acrt__redis_fail(redis_adapter *r, int rc, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	acrt__state_fail(err, errlen, rc, "redis %s:%d: %s", r->host, r->port, msg);
	if (err != NULL && errlen > 0 && r->pass != NULL && r->pass[0] != '\0') {
		char *p;
		while ((p = strstr(err, r->pass)) != NULL)
			memset(p, '*', strlen(r->pass));
	}
	return rc;
}

static void
drop(redis_adapter *r)
{
	redisFree(r->c); /* NULL is a no-op */
	r->c = NULL;
}

static void
free_replies(redisReply **rep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		freeReplyObject(rep[i]); /* NULL is a no-op */
		rep[i] = NULL;
	}
}

/* The first error reply among rep[0..n), or NULL. */
static const char *
first_error(redisReply **rep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rep[i]->type == REDIS_REPLY_ERROR)
			return rep[i]->str;
	return NULL;
}

/* ---- URL -------------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A copy of s[0..n) (acrt__malloc) with %XX decoded (a lone '%' stays). */
static char *
dup_decoded(const char *s, size_t n)
{
	char *d = acrt__malloc(n + 1), *o = d;
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return d;
}

/* Parses a decimal in s[0..n) into *out within [lo, hi]. */
static bool
parse_long(const char *s, size_t n, long lo, long hi, long *out)
{
	if (n == 0 || n > 18)
		return false;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Fills host, port, db, user and pass. Messages never quote the URL: it may
 * hold the password. */
static int
parse_url(redis_adapter *r, const char *url, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	if (url == NULL || strncmp(url, scheme, sizeof scheme - 1) != 0)
		return acrt__state_fail(err, errlen, ACRT_EINVAL,
		                        "redis: redis_url must start with redis://");
	const char *auth = url + sizeof scheme - 1;
	const char *end = auth + strcspn(auth, "/?#");
	if (*end == '?' || *end == '#')
		return acrt__state_fail(err, errlen, ACRT_EINVAL,
		                        "redis: redis_url: query and fragment are not supported");
	/* The last '@' ends the user info: a password may contain '@'. */
	const char *at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	const char *host = auth;
	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon == NULL)
			return acrt__state_fail(
			    err, errlen, ACRT_EINVAL,
			    "redis: redis_url: user info must be [user]:password");
		if (colon > auth && (r->user = dup_decoded(auth, (size_t)(colon - auth))) == NULL)
			goto nomem;
		if ((r->pass = dup_decoded(colon + 1, (size_t)(at - colon - 1))) == NULL)
			goto nomem;
		host = at + 1;
	}
	const char *host_end, *port = NULL;
	if (*host == '[') { /* [IPv6]:port */
		host_end = memchr(host, ']', (size_t)(end - host));
		if (host_end == NULL)
			goto bad_host;
		host++;
		if (host_end + 1 < end) {
			if (host_end[1] != ':')
				goto bad_host;
			port = host_end + 2;
		}
	} else {
		host_end = memchr(host, ':', (size_t)(end - host));
		if (host_end == NULL)
			host_end = end;
		else
			port = host_end + 1;
	}
	if (host_end == host)
		goto bad_host;
	long v = 6379;
	if (port != NULL && !parse_long(port, (size_t)(end - port), 1, 65535, &v))
		return acrt__state_fail(err, errlen, ACRT_EINVAL, "redis: redis_url: bad port");
	r->port = (int)v;
	r->db = 0;
	if (*end == '/' && end[1] != '\0' &&
	    !parse_long(end + 1, strlen(end + 1), 0, INT_MAX, &r->db))
		return acrt__state_fail(err, errlen, ACRT_EINVAL,
		                        "redis: redis_url: the path must be a database number");
	size_t hlen = (size_t)(host_end - host);
	if ((r->host = acrt__malloc(hlen + 1)) == NULL)
		goto nomem;
	memcpy(r->host, host, hlen);
	r->host[hlen] = '\0';
	return ACRT_OK;
bad_host:
	return acrt__state_fail(err, errlen, ACRT_EINVAL, "redis: redis_url: bad host");
nomem:
	return acrt__state_fail(err, errlen, ACRT_ENOMEM, "redis: out of memory");
}

/* ---- Round trips ------------------------------------------------------ */

/* Buffers one command; *ok turns false when hiredis cannot (out of memory). */
void
acrt__redis_append(redis_adapter *r, bool *ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (*ok && redisvAppendCommand(r->c, fmt, ap) != REDIS_OK)
		*ok = false;
	va_end(ap);
}

/* Sends what was appended and reads n replies into rep. On a broken
 * connection it is dropped (the next call reconnects), rep is all NULL and
 * the result is ACRT_ERETRYABLE. Error replies are returned as replies. */
int
acrt__redis_roundtrip(redis_adapter *r, bool appended, redisReply **rep, size_t n, const char *what,
                      char *err, size_t errlen)
{
	if (!appended) {
		drop(r); /* half a pipeline may sit in the output buffer */
		return acrt__redis_fail(r, ACRT_ENOMEM, err, errlen, "%s: out of memory", what);
	}
	for (size_t i = 0; i < n; i++)
		rep[i] = NULL;
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	/* Cannot fail with these arguments. */
	(void)sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE) == 1;
	(void)pthread_sigmask(SIG_BLOCK, &pipe_set, &old);

	int rc = ACRT_OK;
	for (size_t i = 0; i < n; i++) {
		void *reply = NULL;
		if (redisGetReply(r->c, &reply) != REDIS_OK || reply == NULL) {
			/* SO_RCVTIMEO/SO_SNDTIMEO expiring: hiredis says only EAGAIN. */
			bool timed_out =
			    r->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
			if (timed_out)
				rc = acrt__redis_fail(
				    r, ACRT_ERETRYABLE, err, errlen, "%s: no reply within %ld ms",
				    what, (long)(r->tv.tv_sec * 1000 + r->tv.tv_usec / 1000));
			else
				rc = acrt__redis_fail(
				    r, ACRT_ERETRYABLE, err, errlen, "%s: %s", what,
				    r->c->errstr[0] != '\0' ? r->c->errstr : "connection lost");
			free_replies(rep, i);
			drop(r);
			break;
		}
		rep[i] = reply;
	}

	if (!was_pending) {
		const struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Connects, authenticates and selects the database unless connected. */
int
acrt__redis_connect(redis_adapter *r, char *err, size_t errlen)
{
	if (r->c != NULL && r->c->err == 0)
		return ACRT_OK;
	drop(r);
	redisContext *c = redisConnectWithTimeout(r->host, r->port, r->tv);
	if (c == NULL)
		return acrt__redis_fail(r, ACRT_ENOMEM, err, errlen, "connect: out of memory");
	if (c->err != 0) {
		int rc =
		    acrt__redis_fail(r, ACRT_ERETRYABLE, err, errlen, "connect: %s", c->errstr);
		redisFree(c);
		return rc;
	}
	r->c = c;
	if (redisSetTimeout(c, r->tv) != REDIS_OK) {
		int rc =
		    acrt__redis_fail(r, ACRT_ERETRYABLE, err, errlen, "set timeout: %s", c->errstr);
		drop(r);
		return rc;
	}
	bool ok = true;
	size_t n = 0;
	if (r->pass != NULL) {
		if (r->user != NULL)
			acrt__redis_append(r, &ok, "AUTH %s %s", r->user, r->pass);
		else
			acrt__redis_append(r, &ok, "AUTH %s", r->pass);
		n++;
	}
	if (r->db != 0) {
		acrt__redis_append(r, &ok, "SELECT %ld", r->db);
		n++;
	}
	if (n == 0)
		return ACRT_OK;
	redisReply *rep[2];
	int rc = acrt__redis_roundtrip(r, ok, rep, n, "connect", err, errlen);
	if (rc != ACRT_OK)
		return rc;
	for (size_t i = 0; i < n && rc == ACRT_OK; i++)
		if (rep[i]->type == REDIS_REPLY_ERROR)
			rc = acrt__redis_fail(r, ACRT_EINVAL, err, errlen, "%s: %s",
			                      i == 0 && r->pass != NULL ? "AUTH" : "SELECT",
			                      rep[i]->str);
	free_replies(rep, n);
	if (rc != ACRT_OK)
		drop(r);
	return rc;
}

static void
ckpt_key(const redis_adapter *r, const char *id, char key[KEY_MAX])
{
	snprintf(key, KEY_MAX, "%s:ckpt:%s", r->ns, id);
}

/* ---- Operations ------------------------------------------------------- */

void
acrt__redis_close(acrt__state_adapter *a)
{
	redis_adapter *r = (redis_adapter *)a;
	if (r == NULL)
		return;
	drop(r);
	acrt__free(r->host);
	acrt__free(r->user);
	if (r->pass != NULL) /* not left behind in freed memory */
		explicit_bzero(r->pass, strlen(r->pass));
	acrt__free(r->pass);
	acrt__free(r);
}

/* An adapter for cfg, its URL parsed, not connected yet. */
int
acrt__redis_new(const acrt__state_cfg *cfg, redis_adapter **out, char *err, size_t errlen)
{
	if (cfg == NULL || cfg->system_name == NULL || cfg->system_name[0] == '\0')
		return acrt__state_fail(err, errlen, ACRT_EINVAL, "redis: no system_name");
	if (strlen(cfg->system_name) > NAME_MAX_LEN)
		return acrt__state_fail(err, errlen, ACRT_EINVAL,
		                        "redis: system_name longer than %d bytes", NAME_MAX_LEN);
	redis_adapter *r = acrt__calloc(1, sizeof *r);
	if (r == NULL)
		return acrt__state_fail(err, errlen, ACRT_ENOMEM, "redis: out of memory");
	r->base.ops = &acrt__redis_ops;
	int ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
	r->tv = (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	snprintf(r->ns, sizeof r->ns, "acrt:%s", cfg->system_name);
	snprintf(r->zkey, sizeof r->zkey, "%s:ckpts", r->ns);
	int rc = parse_url(r, cfg->redis_url, err, errlen);
	if (rc != ACRT_OK) {
		acrt__redis_close(&r->base);
		return rc;
	}
	*out = r;
	return ACRT_OK;
}

static int
redis_open(const acrt__state_cfg *cfg, acrt__state_adapter **out, char *err, size_t errlen)
{
	redis_adapter *r;
	int rc = acrt__redis_new(cfg, &r, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	if ((rc = acrt__redis_connect(r, err, errlen)) != ACRT_OK) {
		acrt__redis_close(&r->base);
		return rc;
	}
	*out = &r->base;
	return ACRT_OK;
}

/* The HSET of a whole checkpoint: argv[i]/len[i], field names in *names. */
typedef struct hset_cmd {
	const char **argv;
	size_t *len;
	char *names;
	int argc;
} hset_cmd;

static int
hset_build(hset_cmd *h, const acrt__ckpt *ck, const char *key, const char *wall)
{
	size_t total = 0;
	for (size_t i = 0; i < ck->n_parts; i++)
		total += 2 + strlen(ck->parts[i].name);
	if (ck->n_parts > (size_t)(INT_MAX - 4) / 2)
		return ACRT_EINVAL;
	h->argc = 4 + 2 * (int)ck->n_parts;
	h->argv = acrt__malloc((size_t)h->argc * sizeof *h->argv);
	h->len = acrt__malloc((size_t)h->argc * sizeof *h->len);
	h->names = acrt__malloc(total + 1);
	if (h->argv == NULL || h->len == NULL || h->names == NULL)
		return ACRT_ENOMEM;
	const char *fixed[] = {"HSET", key, "wall_ns", wall};
	for (int i = 0; i < 4; i++) {
		h->argv[i] = fixed[i];
		h->len[i] = strlen(fixed[i]);
	}
	char *o = h->names;
	for (size_t i = 0; i < ck->n_parts; i++) {
		const acrt__blob *p = &ck->parts[i];
		size_t nlen = strlen(p->name);
		memcpy(o, "p:", 2);
		memcpy(o + 2, p->name, nlen);
		h->argv[4 + 2 * i] = o;
		h->len[4 + 2 * i] = 2 + nlen;
		h->argv[5 + 2 * i] = p->data != NULL ? (const char *)p->data : "";
		h->len[5 + 2 * i] = p->len;
		o += 2 + nlen;
	}
	return ACRT_OK;
}

static void
hset_free(hset_cmd *h)
{
	acrt__free(h->argv);
	acrt__free(h->len);
	acrt__free(h->names);
}

static int
redis_put(acrt__state_adapter *a, const acrt__ckpt *ck, char *err, size_t errlen)
{
	redis_adapter *r = (redis_adapter *)a;
	int rc = acrt__ckpt_check(ck, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	char id[24], wall[24], key[KEY_MAX];
	snprintf(id, sizeof id, "%llu", (unsigned long long)ck->id);
	snprintf(wall, sizeof wall, "%lld", (long long)ck->wall_ns);
	ckpt_key(r, id, key);
	redisReply *rep[4] = {NULL};
	hset_cmd h = {0};
	/* Built before WATCH, so that no failure leaves a key watched. */
	if ((rc = hset_build(&h, ck, key, wall)) != ACRT_OK) {
		rc = acrt__redis_fail(r, rc, err, errlen, "put %s: %s", id,
		                      rc == ACRT_ENOMEM ? "out of memory" : "too many parts");
		goto out;
	}
	if ((rc = acrt__redis_connect(r, err, errlen)) != ACRT_OK)
		goto out;

	bool ok = true;
	acrt__redis_append(r, &ok, "WATCH %s", key);
	acrt__redis_append(r, &ok, "EXISTS %s", key);
	if ((rc = acrt__redis_roundtrip(r, ok, rep, 2, "put", err, errlen)) != ACRT_OK)
		goto out;
	const char *e = first_error(rep, 2);
	bool exists = rep[1]->type == REDIS_REPLY_INTEGER && rep[1]->integer != 0;
	if (e != NULL)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "put %s: %s", id, e);
	else if (exists)
		rc = acrt__redis_fail(r, ACRT_EINVAL, err, errlen, "checkpoint %s exists", id);
	free_replies(rep, 2);
	if (rc != ACRT_OK) {
		acrt__redis_append(r, &ok, "UNWATCH");
		if (acrt__redis_roundtrip(r, ok, rep, 1, "put", NULL, 0) == ACRT_OK)
			free_replies(rep, 1);
		goto out;
	}

	acrt__redis_append(r, &ok, "MULTI");
	if (ok && redisAppendCommandArgv(r->c, h.argc, h.argv, h.len) != REDIS_OK)
		ok = false;
	acrt__redis_append(r, &ok, "ZADD %s %s %s", r->zkey, id, id);
	acrt__redis_append(r, &ok, "EXEC");
	if ((rc = acrt__redis_roundtrip(r, ok, rep, 4, "put", err, errlen)) != ACRT_OK)
		goto out;
	redisReply *exec = rep[3];
	if ((e = first_error(rep, 4)) != NULL)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "put %s: %s", id, e);
	else if (exec->type == REDIS_REPLY_NIL) /* the WATCH fired */
		rc = acrt__redis_fail(r, ACRT_EINVAL, err, errlen,
		                      "checkpoint %s exists (written concurrently)", id);
	else if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
		rc =
		    acrt__redis_fail(r, ACRT_ERR, err, errlen, "put %s: unexpected EXEC reply", id);
	else if ((e = first_error(exec->element, 2)) != NULL)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "put %s: %s", id, e);
	free_replies(rep, 4);
out:
	hset_free(&h);
	return rc;
}

/* Parses a decimal reply (string or integer) as int64; 0 when it is not one. */
static long long
reply_ll(const redisReply *x)
{
	if (x->type == REDIS_REPLY_INTEGER)
		return x->integer;
	if (x->type != REDIS_REPLY_STRING)
		return 0;
	return strtoll(x->str, NULL, 10);
}

static uint64_t
parse_id(const redisReply *x)
{
	if (x->type != REDIS_REPLY_STRING || x->len == 0 || x->len > 16)
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < x->len; i++) {
		if (x->str[i] < '0' || x->str[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(x->str[i] - '0');
	}
	return v;
}

/* Whether a ZSCORE reply says the id is in the index (RESP2: a bulk string;
 * nil when absent). */
static bool
indexed(const redisReply *x)
{
	return x->type == REDIS_REPLY_STRING;
}

/* The index lists id but its hash is gone (or not a hash): the reason, naming
 * both keys, malloc'd for acrt__ckpt.lost (NULL: out of memory). */
static char *
lost_reason(redis_adapter *r, const char *id, const redisReply *data)
{
	char key[KEY_MAX], why[600];
	ckpt_key(r, id, key);
	acrt__redis_fail(r, ACRT_EINVAL, why, sizeof why,
	                 "checkpoint %s: index %s lists it but its data key %s %s (data "
	                 "lost: evicted, expired or deleted outside acrt)",
	                 id, r->zkey, key,
	                 data->type == REDIS_REPLY_ERROR ? "cannot be read as a hash"
	                                                 : "is missing");
	return strdup(why); /* plain: acrt__ckpt_clear frees it */
}

/* Second and third round trips of list(): the ckpts (with part names) of the
 * ids in zr into v[0..*cnt), then the length of every part.
 *
 * An id whose hash is empty was either deleted meanwhile (del() removes the
 * hash and the id in one MULTI/EXEC, e.g. retain pruning while `acrt
 * checkpoints list` runs) or lost its data. A ZSCORE pipelined after the
 * HKEYS tells them apart: after a del() it finds no id (ids are never
 * reused), while an id still indexed with no hash is data loss, listed with
 * `lost` set, never skipped. */
static int
list_fill(redis_adapter *r, const redisReply *zr, acrt__ckpt *v, size_t *cnt, char *err,
          size_t errlen)
{
	size_t k = zr->elements, nparts = 0;
	redisReply **rep = acrt__calloc(3 * k, sizeof *rep), **lens = NULL;
	char key[KEY_MAX];
	bool ok = true;
	int rc;
	if (rep == NULL)
		return acrt__redis_fail(r, ACRT_ENOMEM, err, errlen, "list: out of memory");
	for (size_t i = 0; i < k; i++) {
		const char *id =
		    zr->element[i]->type == REDIS_REPLY_STRING ? zr->element[i]->str : "";
		ckpt_key(r, id, key);
		acrt__redis_append(r, &ok, "HGET %s wall_ns", key);
		acrt__redis_append(r, &ok, "HKEYS %s", key);
		acrt__redis_append(r, &ok, "ZSCORE %s %s", r->zkey, id);
	}
	if ((rc = acrt__redis_roundtrip(r, ok, rep, 3 * k, "list", err, errlen)) != ACRT_OK)
		goto out;
	for (size_t i = 0; i < k && ok; i++) {
		const redisReply *hk = rep[3 * i + 1];
		uint64_t id = parse_id(zr->element[i]);
		if (id == 0)
			continue; /* not an id acrt writes: not ours */
		if (hk->type != REDIS_REPLY_ARRAY || hk->elements == 0) {
			if (!indexed(rep[3 * i + 2]))
				continue; /* deleted meanwhile (retain): not a loss */
			acrt__ckpt *ck = &v[(*cnt)++];
			*ck =
			    (acrt__ckpt){.id = id, .lost = lost_reason(r, zr->element[i]->str, hk)};
			ok = ck->lost != NULL;
			continue;
		}
		acrt__ckpt *ck = &v[(*cnt)++];
		*ck = (acrt__ckpt){.id = id, .wall_ns = reply_ll(rep[3 * i])};
		ckpt_key(r, zr->element[i]->str, key);
		for (size_t j = 0; j < hk->elements && ok; j++) {
			const redisReply *f = hk->element[j];
			if (f->type != REDIS_REPLY_STRING || f->len < 2 || memcmp(f->str, "p:", 2))
				continue;
			ok = acrt__ckpt_add_part(ck, f->str + 2, f->len - 2, NULL, 0) == ACRT_OK;
			acrt__redis_append(r, &ok, "HSTRLEN %s %b", key, f->str, f->len);
			nparts++;
		}
	}
	if (nparts == 0 && ok)
		goto out;
	if (ok && (lens = acrt__calloc(nparts, sizeof *lens)) == NULL)
		ok = false;
	/* With !ok, this drops the connection and its half-sent pipeline. */
	if ((rc = acrt__redis_roundtrip(r, ok, lens, nparts, "list", err, errlen)) != ACRT_OK)
		goto out;
	size_t at = 0;
	for (size_t i = 0; i < *cnt; i++)
		for (size_t j = 0; j < v[i].n_parts; j++)
			v[i].parts[j].len = (size_t)reply_ll(lens[at++]);
	free_replies(lens, nparts);
out:
	acrt__free(lens);
	free_replies(rep, 3 * k);
	acrt__free(rep);
	return rc;
}

static int
redis_list(acrt__state_adapter *a, acrt__ckpt **out, size_t *n, char *err, size_t errlen)
{
	redis_adapter *r = (redis_adapter *)a;
	redisReply *zr = NULL;
	acrt__ckpt *v = NULL;
	size_t cnt = 0;
	bool ok = true;
	int rc = acrt__redis_connect(r, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	acrt__redis_append(r, &ok, "ZREVRANGE %s 0 -1", r->zkey);
	if ((rc = acrt__redis_roundtrip(r, ok, &zr, 1, "list", err, errlen)) != ACRT_OK)
		return rc;
	if (zr->type != REDIS_REPLY_ARRAY) {
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "list: %s",
		                      zr->type == REDIS_REPLY_ERROR ? zr->str : "unexpected reply");
		goto fail;
	}
	/* Plain calloc: the caller frees list() results with free() (adapter.h). */
	if ((v = calloc(zr->elements > 0 ? zr->elements : 1, sizeof *v)) == NULL) {
		rc = acrt__redis_fail(r, ACRT_ENOMEM, err, errlen, "list: out of memory");
		goto fail;
	}
	if (zr->elements > 0 && (rc = list_fill(r, zr, v, &cnt, err, errlen)) != ACRT_OK)
		goto fail;
	freeReplyObject(zr);
	*out = v;
	*n = cnt;
	return ACRT_OK;
fail:
	for (size_t i = 0; i < cnt; i++)
		acrt__ckpt_clear(&v[i]);
	free(v);
	freeReplyObject(zr);
	return rc;
}

static int
redis_get(acrt__state_adapter *a, uint64_t id, acrt__ckpt *out, char *err, size_t errlen)
{
	redis_adapter *r = (redis_adapter *)a;
	char ids[24], key[KEY_MAX];
	redisReply *rep[2] = {NULL};
	bool ok = true;
	int rc = acrt__redis_connect(r, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
	ckpt_key(r, ids, key);
	acrt__redis_append(r, &ok, "HGETALL %s", key);
	acrt__redis_append(r, &ok, "ZSCORE %s %s", r->zkey, ids);
	if ((rc = acrt__redis_roundtrip(r, ok, rep, 2, "get", err, errlen)) != ACRT_OK)
		return rc;
	redisReply *x = rep[0];
	acrt__ckpt ck = {.id = id};
	/* No hash while the index still has the id: lost, not deleted (list_fill). */
	if ((x->type != REDIS_REPLY_ARRAY || x->elements == 0) && indexed(rep[1])) {
		char *why = lost_reason(r, ids, x);
		rc = acrt__state_fail(err, errlen, why ? ACRT_EINVAL : ACRT_ENOMEM, "%s",
		                      why ? why : "redis: out of memory");
		free(why);
		goto out;
	}
	if (x->type != REDIS_REPLY_ARRAY) {
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "get %s: %s", ids,
		                      x->type == REDIS_REPLY_ERROR ? x->str : "unexpected reply");
		goto out;
	}
	if (x->elements == 0) {
		rc = acrt__state_missing(err, errlen, id);
		goto out;
	}
	for (size_t i = 0; i + 1 < x->elements; i += 2) {
		const redisReply *f = x->element[i], *val = x->element[i + 1];
		if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(f->str, "wall_ns") == 0) {
			ck.wall_ns = reply_ll(val);
		} else if (f->len >= 2 && memcmp(f->str, "p:", 2) == 0 &&
		           acrt__ckpt_add_part(&ck, f->str + 2, f->len - 2, val->str, val->len) !=
		               ACRT_OK) {
			rc = acrt__redis_fail(r, ACRT_ENOMEM, err, errlen, "get %s: out of memory",
			                      ids);
			goto out;
		}
	}
	*out = ck;
	ck = (acrt__ckpt){0};
out:
	acrt__ckpt_clear(&ck);
	free_replies(rep, 2);
	return rc;
}

static int
redis_del(acrt__state_adapter *a, uint64_t id, char *err, size_t errlen)
{
	redis_adapter *r = (redis_adapter *)a;
	char ids[24], key[KEY_MAX];
	redisReply *rep[4];
	bool ok = true;
	int rc = acrt__redis_connect(r, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
	ckpt_key(r, ids, key);
	acrt__redis_append(r, &ok, "MULTI");
	acrt__redis_append(r, &ok, "DEL %s", key);
	acrt__redis_append(r, &ok, "ZREM %s %s", r->zkey, ids);
	acrt__redis_append(r, &ok, "EXEC");
	if ((rc = acrt__redis_roundtrip(r, ok, rep, 4, "del", err, errlen)) != ACRT_OK)
		return rc;
	const redisReply *exec = rep[3];
	const char *e = first_error(rep, 4);
	if (e != NULL)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "del %s: %s", ids, e);
	else if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "del %s: unexpected EXEC reply",
		                      ids);
	else if ((e = first_error(exec->element, 2)) != NULL)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "del %s: %s", ids, e);
	else if (exec->element[0]->integer == 0 && exec->element[1]->integer == 0)
		rc = acrt__state_missing(err, errlen, id);
	free_replies(rep, 4);
	return rc;
}

const acrt__state_ops acrt__redis_ops = {
    .name = "redis_snapshot",
    .persistent = true,
    .open = redis_open,
    .put = redis_put,
    .list = redis_list,
    .get = redis_get,
    .del = redis_del,
    .close = acrt__redis_close,
    .lease_take = acrt__redis_lease_take,
    .lease_refresh = acrt__redis_lease_refresh,
    .lease_release = acrt__redis_lease_release,
    .lease_ttl_ms = LEASE_TTL_MS,
};
