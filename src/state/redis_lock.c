/*
 * redis_lock.c - the redis_snapshot store's lock (adapter.h lease ops;
 * docs/STATE.md "One writer per store"): acrt:S:lock holds "RANDOM PID@HOST"
 * of the run writing into the store, set with SET NX PX LEASE_TTL_MS,
 * refreshed by the checkpoint writer with a compare-and-PEXPIRE script,
 * deleted with a compare-and-delete at a clean end. A value naming a process
 * of this host that is gone (a killed run) is replaced at once
 * (compare-and-set); another host's is refused until it expires. Each lock
 * has its own connection (redis_int.h); one process shares one lock per key.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/common.h"
#include "state/redis_int.h"

/* ---- The store's lock (adapter.h, lease_take) ---------------------------- */

/* Its own connection: taken before open(), refreshed by the writer thread,
 * checked by a reload on another. Guarded by lease_mu, as the table. */
struct acrt__state_lease {
	redis_adapter *r;
	char key[KEY_MAX]; /* "acrt:S:lock" */
	int refs;
	struct acrt__state_lease *next;
};

static pthread_mutex_t lease_mu = PTHREAD_MUTEX_INITIALIZER;
static struct acrt__state_lease *leases; /* held by this process (lease_mu) */
static char lease_token[128];            /* "RANDOM PID@HOST", once (lease_mu) */

/* Redis scripts: compare-and-refresh (taking it again when it expired),
 * compare-and-set (a killed run's value for ours) and compare-and-delete. */
static const char refresh_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return v";
static const char takeover_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
static const char release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                  "return redis.call('DEL', KEYS[1]) end return 0";

static int
make_token(char *err, size_t errlen)
{
	if (lease_token[0] != '\0')
		return ACRT_OK;
	unsigned char rnd[16];
	char host[64] = "";
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return acrt__state_fail(err, errlen, ACRT_ERR, "redis: lock token: %s",
		                        strerror(errno));
	if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "?");
	int at = 0;
	for (size_t i = 0; i < sizeof rnd; i++)
		at += snprintf(lease_token + at, sizeof lease_token - (size_t)at, "%02x", rnd[i]);
	snprintf(lease_token + at, sizeof lease_token - (size_t)at, " %ld@%s", (long)getpid(),
	         host);
	return ACRT_OK;
}

/* "pid 1234 on HOST" from a lock's value ("RANDOM PID@HOST"). */
static void
holder_of(const char *v, char *out, size_t outlen)
{
	const char *sp = strchr(v, ' ');
	const char *at = sp != NULL ? strchr(sp, '@') : NULL;
	if (at == NULL)
		snprintf(out, outlen, "an unknown holder");
	else
		snprintf(out, outlen, "pid %.*s on %.80s", (int)(at - sp - 1), sp + 1, at + 1);
}

/* The value names a process on this host that is gone (it was killed: its
 * key outlives it until it expires). */
static bool
holder_dead(const char *v)
{
	const char *sp = strchr(v, ' '), *me = strchr(lease_token, '@');
	char *end;
	if (sp == NULL || me == NULL)
		return false;
	long pid = strtol(sp + 1, &end, 10);
	if (pid <= 0 || *end != '@' || strcmp(end, me) != 0 || pid == (long)getpid())
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int
lease_held(redis_adapter *r, const char *key, const char *value, char *err, size_t errlen)
{
	char who[128];
	holder_of(value, who, sizeof who);
	return acrt__redis_fail(r, ACRT__LEASE_HELD, err, errlen, "db %ld, lock key %s held by %s",
	                        r->db, key, who);
}

/* SET NX PX, or who holds it. lease_mu held. */
static int
lease_claim(struct acrt__state_lease *l, char *err, size_t errlen)
{
	redis_adapter *r = l->r;
	for (int tries = 0; tries < 3; tries++) {
		redisReply *x;
		bool ok = true;
		int rc = acrt__redis_connect(r, err, errlen);
		if (rc != ACRT_OK)
			return rc;
		acrt__redis_append(r, &ok, "SET %s %s NX PX %d", l->key, lease_token, LEASE_TTL_MS);
		if ((rc = acrt__redis_roundtrip(r, ok, &x, 1, "lock", err, errlen)) != ACRT_OK)
			return rc;
		bool taken = x->type == REDIS_REPLY_STATUS;
		bool held = x->type == REDIS_REPLY_NIL;
		if (!taken && !held)
			rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "lock %s: %s", l->key,
			                      x->type == REDIS_REPLY_ERROR ? x->str
			                                                   : "unexpected reply");
		freeReplyObject(x);
		if (!held)
			return rc;
		acrt__redis_append(r, &ok, "GET %s", l->key);
		if ((rc = acrt__redis_roundtrip(r, ok, &x, 1, "lock", err, errlen)) != ACRT_OK)
			return rc;
		bool gone = x->type != REDIS_REPLY_STRING;
		char was[sizeof lease_token] = "";
		if (!gone)
			snprintf(was, sizeof was, "%s", x->str);
		freeReplyObject(x);
		if (!gone && strcmp(was, lease_token) == 0)
			return ACRT_OK; /* ours (a lost reply) */
		if (!gone && !holder_dead(was))
			return lease_held(r, l->key, was, err, errlen);
		if (!gone) { /* a killed run on this host: its value for ours */
			acrt__redis_append(r, &ok, "EVAL %s 1 %s %s %s %d", takeover_lua, l->key,
			                   was, lease_token, LEASE_TTL_MS);
			if ((rc = acrt__redis_roundtrip(r, ok, &x, 1, "lock", err, errlen)) !=
			    ACRT_OK)
				return rc;
			bool took = x->type == REDIS_REPLY_INTEGER && x->integer == 1;
			freeReplyObject(x);
			if (took) {
				char who[128];
				holder_of(was, who, sizeof who);
				snprintf(
				    err, errlen,
				    "the previous run (%s) did not end cleanly (the process is "
				    "gone); its lock key %s is reclaimed",
				    who, l->key);
				return ACRT_OK;
			}
		}
		/* Expired or changed meanwhile: again. */
	}
	return acrt__redis_fail(r, ACRT_ERR, err, errlen, "lock %s: taken and freed too fast",
	                        l->key);
}

static void
lease_free(struct acrt__state_lease *l)
{
	if (l != NULL)
		acrt__redis_close(&l->r->base);
	acrt__free(l);
}

int
acrt__redis_lease_take(const acrt__state_cfg *cfg, acrt__state_lease **out, char *err,
                       size_t errlen)
{
	redis_adapter *r;
	int rc = acrt__redis_new(cfg, &r, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	char key[KEY_MAX];
	snprintf(key, sizeof key, "%s:lock", r->ns);
	pthread_mutex_lock(&lease_mu);
	for (struct acrt__state_lease *l = leases; l != NULL; l = l->next) {
		if (strcmp(l->key, key) == 0 && strcmp(l->r->host, r->host) == 0 &&
		    l->r->port == r->port && l->r->db == r->db) {
			l->refs++; /* this process holds it already */
			*out = l;
			pthread_mutex_unlock(&lease_mu);
			acrt__redis_close(&r->base);
			return ACRT_OK;
		}
	}
	struct acrt__state_lease *l = acrt__calloc(1, sizeof *l);
	if (l == NULL) {
		rc = acrt__redis_fail(r, ACRT_ENOMEM, err, errlen, "lock: out of memory");
		acrt__redis_close(&r->base);
		goto out;
	}
	l->r = r;
	l->refs = 1;
	snprintf(l->key, sizeof l->key, "%s", key);
	if ((rc = make_token(err, errlen)) == ACRT_OK)
		rc = lease_claim(l, err, errlen);
	if (rc != ACRT_OK) {
		lease_free(l);
		goto out;
	}
	l->next = leases;
	leases = l;
	*out = l;
out:
	pthread_mutex_unlock(&lease_mu);
	return rc;
}

int
acrt__redis_lease_refresh(acrt__state_lease *l, char *err, size_t errlen)
{
	redis_adapter *r = l->r;
	redisReply *x = NULL;
	bool ok = true;
	pthread_mutex_lock(&lease_mu);
	int rc = acrt__redis_connect(r, err, errlen);
	if (rc != ACRT_OK)
		goto out;
	acrt__redis_append(r, &ok, "EVAL %s 1 %s %s %d", refresh_lua, l->key, lease_token,
	                   LEASE_TTL_MS);
	if ((rc = acrt__redis_roundtrip(r, ok, &x, 1, "lock refresh", err, errlen)) != ACRT_OK)
		goto out;
	if (x->type == REDIS_REPLY_STRING)
		rc = lease_held(r, l->key, x->str, err, errlen);
	else if (x->type != REDIS_REPLY_INTEGER)
		rc = acrt__redis_fail(r, ACRT_ERR, err, errlen, "lock refresh %s: %s", l->key,
		                      x->type == REDIS_REPLY_ERROR ? x->str : "unexpected reply");
	freeReplyObject(x);
out:
	pthread_mutex_unlock(&lease_mu);
	return rc;
}

void
acrt__redis_lease_release(acrt__state_lease *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&lease_mu);
	if (--l->refs > 0) {
		pthread_mutex_unlock(&lease_mu);
		return;
	}
	for (struct acrt__state_lease **p = &leases; *p != NULL; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			break;
		}
	}
	redisReply *x = NULL;
	bool ok = true;
	char err[256];
	/* Best effort: unreachable, the key expires by itself. */
	if (acrt__redis_connect(l->r, err, sizeof err) == ACRT_OK) {
		acrt__redis_append(l->r, &ok, "EVAL %s 1 %s %s", release_lua, l->key, lease_token);
		if (acrt__redis_roundtrip(l->r, ok, &x, 1, "unlock", err, sizeof err) == ACRT_OK)
			freeReplyObject(x);
	}
	pthread_mutex_unlock(&lease_mu);
	lease_free(l);
}
