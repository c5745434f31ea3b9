/*
 * redis_conn.c - what both sides of the redis transport share (redis_int.h):
 * the URL and credentials parsed once, a connection that authenticates,
 * selects its db and backs off after a failure, one command at a time, and
 * the side's claim on the binding (fencing, docs/MULTINODE.md).
 */
#include "transport/redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/common.h"
#include "core/event.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/strbuf.h"
#include "transport/redis_int.h"
#include "transport/side.h"
#include "transport/wire.h"

#define CMD_TIMEOUT_S 5 /* hiredis command timeout (> BLOCK_MS of redis_rx.c) */
#define WARN_EVERY_NS 10000000000LL

/* One command: its integer answer (-1 when none), *ok false (err set) when
 * it failed. */
static long long
cmd_int(conn *k, char *err, size_t errlen, int argc, const char **argv, bool *ok)
{
	redisReply *rep = acrt__rd_conn_cmd(k, err, errlen, argc, argv, NULL);
	*ok = rep != NULL && acrt__rd_reply_error(rep) == NULL;
	if (rep != NULL && !*ok)
		snprintf(err, errlen, "redis: %s: %.200s", argv[0], rep->str);
	long long v = rep != NULL && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	freeReplyObject(rep);
	return v;
}

int
acrt__rd_claim(conn *k, const char *side, uint64_t *epoch, char *err, size_t errlen)
{
	rcfg *g = (rcfg *)k->cfg;
	uint64_t r[2] = {0, 0};
	bool ok;
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		snprintf(err, errlen, "no random bytes for a claim");
		return -1;
	}
	const char *idv[2] = {"CLIENT", "ID"};
	long long id = cmd_int(k, err, errlen, 2, idv, &ok);
	if (!ok)
		return -1;
	size_t n = strlen(g->key) + strlen(side) + 8;
	acrt__free(g->owner_key);
	if ((g->owner_key = acrt__malloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(g->owner_key, n, "%s:owner:%s", g->key, side);
	/* A claimant before this one (a stale process, or this node's last run):
	 * its connection is closed, so that a read it has blocked in Redis
	 * (XREADGROUP ... BLOCK) takes nothing more; its next command looks at the
	 * claim first and finds it taken. */
	const char *get[2] = {"GET", g->owner_key};
	redisReply *old = acrt__rd_conn_cmd(k, err, errlen, 2, get, NULL);
	if (old == NULL)
		return -1;
	const char *dash = old->type == REDIS_REPLY_STRING ? strrchr(old->str, '-') : NULL;
	if (dash != NULL && dash[1] != '\0') {
		const char *kill[4] = {"CLIENT", "KILL", "ID", dash + 1};
		(void)cmd_int(k, err, errlen, 4, kill, &ok); /* gone already: fine */
	}
	const char *dot = old->type == REDIS_REPLY_STRING ? strchr(old->str, '.') : NULL;
	uint64_t prev = dot != NULL ? strtoull(dot + 1, NULL, 10) : 0;
	if (epoch != NULL && prev >= *epoch) /* above the last claimant's epoch */
		*epoch = prev + 1;
	freeReplyObject(old);
	/* The token names this connection, so that a replacement can close it. */
	snprintf(g->token, sizeof g->token, "%016llx%016llx.%llu-%lld", (unsigned long long)r[0],
	         (unsigned long long)r[1], (unsigned long long)(epoch != NULL ? *epoch : 0), id);
	const char *argv[3] = {"SET", g->owner_key, g->token};
	(void)cmd_int(k, err, errlen, 3, argv, &ok);
	return ok ? 0 : -1;
}

int
acrt__rd_owned(conn *k, char *err, size_t errlen)
{
	const char *argv[2] = {"GET", k->cfg->owner_key};
	redisReply *rep = acrt__rd_conn_cmd(k, err, errlen, 2, argv, NULL);
	if (rep == NULL)
		return -1;
	int own = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, k->cfg->token) == 0;
	freeReplyObject(rep);
	return own;
}

void
acrt__rd_fenced(const rcfg *g, const char *side)
{
	acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
	          "binding %s: fenced: another process has claimed its %s side since this one "
	          "started (a replacement of this node); this stale process stops writing to "
	          "it and ends",
	          g->name, side);
}

void
acrt__rd_cfg_free(rcfg *g)
{
	if (g->pass != NULL)
		memset(g->pass, 0, strlen(g->pass));
	free(g->pass);
	acrt__free(g->host);
	acrt__free(g->user);
	acrt__free(g->key);
	acrt__free(g->group);
	acrt__free(g->name);
	acrt__free(g->owner_key);
}

static char *
dup_n(const char *s, size_t n)
{
	char *d = acrt__malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* redis://[[user]:password@]host[:port][/db]; messages never quote the URL. */
int
acrt__rd_cfg_init(rcfg *g, const acrt__redis_hop *h, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	memset(g, 0, sizeof *g);
	const char *url = h->url;
	if (h->tls) { /* never fall back to plain text silently */
		snprintf(err, errlen,
		         "runtime.transport.tls: this build's hiredis (0.14) has no "
		         "TLS: put a TLS sidecar (stunnel) in front of Redis and use "
		         "redis:// to it (docs/MULTINODE.md)");
		return -1;
	}
	if (url == NULL || strncmp(url, scheme, sizeof scheme - 1) != 0) {
		snprintf(err, errlen,
		         "runtime.transport.url must start with redis:// "
		         "(rediss:// needs a TLS sidecar: docs/MULTINODE.md)");
		return -1;
	}
	const char *a = url + sizeof scheme - 1, *end = a + strcspn(a, "/?#"), *at = NULL;
	for (const char *p = a; p < end; p++)
		if (*p == '@')
			at = p;
	const char *host = a;
	if (at != NULL) {
		const char *colon = memchr(a, ':', (size_t)(at - a));
		if (colon == NULL) {
			snprintf(err, errlen,
			         "runtime.transport.url: user info must be "
			         "[user]:password");
			return -1;
		}
		if ((colon > a && (g->user = dup_n(a, (size_t)(colon - a))) == NULL) ||
		    (g->pass = strndup(colon + 1, (size_t)(at - colon - 1))) == NULL)
			goto nomem;
		host = at + 1;
	}
	const char *colon = memchr(host, ':', (size_t)(end - host));
	const char *hend = colon != NULL ? colon : end;
	g->port = 6379;
	if (colon != NULL) {
		char *e = NULL;
		long v = strtol(colon + 1, &e, 10);
		if (e != end || v < 1 || v > 65535) {
			snprintf(err, errlen, "runtime.transport.url: bad port");
			return -1;
		}
		g->port = (int)v;
	}
	if (*end == '/' && end[1] != '\0') {
		char *e = NULL;
		g->db = strtol(end + 1, &e, 10);
		if (*e != '\0' || g->db < 0) {
			snprintf(err, errlen,
			         "runtime.transport.url: the path must be a database "
			         "number");
			return -1;
		}
	}
	if (hend == host) {
		snprintf(err, errlen, "runtime.transport.url: no host");
		return -1;
	}
	if ((g->host = dup_n(host, (size_t)(hend - host))) == NULL)
		goto nomem;
	if (h->user != NULL && (acrt__free(g->user), g->user = acrt__strdup(h->user)) == NULL)
		goto nomem;
	if (h->password_file != NULL) {
		free(g->pass);
		g->pass = NULL;
		unsigned mode = 0;
		if (acrt__secret_file_private(h->password_file, &mode) > 0) {
			snprintf(
			    err, errlen,
			    "runtime.transport.password_file: %s is open to its group or others "
			    "(mode %03o): chmod 600 it",
			    h->password_file, mode);
			return -1;
		}
		if (acrt__secret_file_read(h->password_file, 4096, &g->pass) != 0) {
			snprintf(err, errlen, "runtime.transport.password_file: cannot read '%s'",
			         h->password_file);
			return -1;
		}
	}
	if ((g->key = acrt__strdup(h->key)) == NULL ||
	    (g->group = acrt__strdup(h->group)) == NULL ||
	    (g->name = acrt__strdup(h->name)) == NULL)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
acrt__rd_conn_drop(conn *k)
{
	if (k->c != NULL)
		redisFree(k->c);
	k->c = NULL;
}

/* A reply that is an error: its text, else NULL. */
const char *
acrt__rd_reply_error(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : NULL;
}

/* Runs one command; NULL (connection dropped, message in err) on failure. */
redisReply *
acrt__rd_conn_cmd(conn *k, char *err, size_t errlen, int argc, const char **argv,
                  const size_t *lens)
{
	redisReply *r = redisCommandArgv(k->c, argc, argv, lens);
	if (r == NULL) {
		snprintf(err, errlen, "redis %s:%d: %s", k->cfg->host, k->cfg->port,
		         k->c->errstr[0] ? k->c->errstr : "connection lost");
		acrt__rd_conn_drop(k);
	}
	return r;
}

/* Connects, authenticates, selects and pings unless connected. 0, or -1 with
 * err (the password is never in it). */
int
acrt__rd_conn_open(conn *k, char *err, size_t errlen)
{
	if (k->c != NULL && k->c->err == 0)
		return 0;
	acrt__rd_conn_drop(k);
	const rcfg *g = k->cfg;
	struct timeval ctv = {2, 0}, tv = {CMD_TIMEOUT_S, 0};
	k->c = redisConnectWithTimeout(g->host, g->port, ctv);
	if (k->c == NULL || k->c->err != 0) {
		snprintf(err, errlen, "redis %s:%d: cannot connect: %s", g->host, g->port,
		         k->c != NULL ? k->c->errstr : "out of memory");
		acrt__rd_conn_drop(k);
		return -1;
	}
	if (redisSetTimeout(k->c, tv) != REDIS_OK)
		goto io;
	char db[24];
	snprintf(db, sizeof db, "%ld", g->db);
	const char *auth[3] = {"AUTH", g->user, g->pass}, *sel[2] = {"SELECT", db},
	           *ping[1] = {"PING"};
	struct {
		const char **argv;
		int argc;
		const char *what;
	} steps[3] = {{g->user != NULL ? auth : (const char *[]){"AUTH", g->pass},
	               g->user != NULL ? 3 : 2, "authentication failed"},
	              {sel, 2, "SELECT failed"},
	              {ping, 1, "PING failed"}};
	for (int i = g->pass != NULL ? 0 : 1; i < 3; i++) {
		if (i == 1 && g->db == 0)
			continue;
		redisReply *r =
		    acrt__rd_conn_cmd(k, err, errlen, steps[i].argc, steps[i].argv, NULL);
		if (r == NULL)
			return -1;
		const char *e = acrt__rd_reply_error(r);
		if (e != NULL) {
			/* Redis's own words (WRONGPASS, NOAUTH) never echo the password. */
			snprintf(err, errlen, "redis %s:%d: %s: %.200s", g->host, g->port,
			         steps[i].what, e);
			freeReplyObject(r);
			acrt__rd_conn_drop(k);
			return -1;
		}
		freeReplyObject(r);
	}
	k->backoff_ns = 0;
	return 0;
io:
	snprintf(err, errlen, "redis %s:%d: %s", g->host, g->port, k->c->errstr);
	acrt__rd_conn_drop(k);
	return -1;
}

/* After a failure: a rate-limited warning, and the next backoff (50 ms
 * doubling to 2 s) as a deadline. */
int64_t
acrt__rd_conn_failed(conn *k, const char *err)
{
	int64_t now = acrt__mono_ns();
	if (k->last_warn == 0 || now - k->last_warn >= WARN_EVERY_NS) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "binding %s: the redis transport fails (%s); retrying with backoff, the "
		          "binding stalls meanwhile",
		          k->cfg->name, err);
		k->last_warn = now;
	}
	k->backoff_ns = acrt__hop_next_wait(k->backoff_ns, ACRT__HOP_BACKOFF_FIRST_NS,
	                                    ACRT__HOP_BACKOFF_MAX_NS);
	return now + k->backoff_ns;
}
