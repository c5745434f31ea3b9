/*
 * redis_int.h - what the redis_snapshot adapter's two files share: the
 * adapter (redis.c: connection, round trips, checkpoints) and its store
 * lock (redis_lock.c: acrt:S:lock). Private to src/state/.
 *
 * Threads: an adapter (and so a lock's own connection) is used by one thread
 * at a time; the lock table is guarded by its own mutex (redis_lock.c).
 */
#ifndef ACRT_REDIS_INT_H
#define ACRT_REDIS_INT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/time.h>

#include "state/adapter.h"

#define NAME_MAX_LEN 200 /* system_name, so that every key fits KEY_MAX */
#define KEY_MAX (NAME_MAX_LEN + 64)

typedef struct redis_adapter {
	acrt__state_adapter base;
	redisContext *c; /* NULL while disconnected: the next call connects */
	char *host;
	int port;
	long db;
	char *user, *pass;            /* decoded from the URL; NULL when absent; never printed */
	struct timeval tv;            /* connect and command timeout */
	char ns[NAME_MAX_LEN + 8];    /* "acrt:S" */
	char zkey[NAME_MAX_LEN + 16]; /* "acrt:S:ckpts" */
} redis_adapter;

/* The lock's expiry; the writer refreshes it every third of it. */
#define LEASE_TTL_MS 30000

/* redis.c: a new, unconnected adapter for cfg (0, or -1 with err). */
int acrt__redis_new(const acrt__state_cfg *cfg, redis_adapter **out, char *err, size_t errlen);
/* redis.c: connects (and authenticates, selects) when disconnected. */
int acrt__redis_connect(redis_adapter *r, char *err, size_t errlen);
/* redis.c: buffers one command; *ok turns false when hiredis cannot. */
void acrt__redis_append(redis_adapter *r, bool *ok, const char *fmt, ...);
/* redis.c: sends what is buffered and reads n replies into rep (SIGPIPE
 * contained); ACRT_OK or an acrt_err with err naming host:port and what. */
int acrt__redis_roundtrip(redis_adapter *r, bool appended, redisReply **rep, size_t n,
                          const char *what, char *err, size_t errlen);
void acrt__redis_close(acrt__state_adapter *a);
/* redis.c: "redis host:port: <message>" into err (the password masked);
 * returns rc. */
int acrt__redis_fail(redis_adapter *r, int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* redis_lock.c: the lease ops of acrt__redis_ops (adapter.h). */
int acrt__redis_lease_take(const acrt__state_cfg *cfg, acrt__state_lease **out, char *err,
                           size_t errlen);
int acrt__redis_lease_refresh(acrt__state_lease *l, char *err, size_t errlen);
void acrt__redis_lease_release(acrt__state_lease *l);

#endif /* ACRT_REDIS_INT_H */
