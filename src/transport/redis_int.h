/*
 * redis_int.h - what the two sides of the redis transport share: the parsed
 * connection settings and one connection with its reconnect backoff
 * (redis.c), used by the sending side (redis.c) and the receiving side
 * (redis_rx.c). Private to src/transport/.
 *
 * Threads: a conn is used by one thread at a time (its owner, or under the
 * sending side's mutex); an rcfg is read-only once made. Every call on a conn
 * blocks on the network (connect 2 s, commands 5 s at most).
 */
#ifndef ACRT_TRANSPORT_REDIS_INT_H
#define ACRT_TRANSPORT_REDIS_INT_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/redis.h"
#include "transport/rxq.h"

/* Events per stream entry (wire.h, framing): the stream's bound in entries is
 * ceil(buffer_size / PER_ENTRY). */
#define PER_ENTRY ACRT__RXQ_PER_MSG

typedef struct rcfg {
	char *host;
	int port;
	long db;
	char *user, *pass; /* never printed; pass wiped at free */
	char *key, *group, *name;
	char *owner_key; /* <key>:owner:<side>: this side's claim (fencing) */
	char token[96];  /* this process's claim: random hex, ".", epoch, "-", connection id */
} rcfg;

typedef struct conn {
	redisContext *c; /* NULL while disconnected */
	const rcfg *cfg;
	int64_t backoff_ns, last_warn;
} conn;

/* Parses the URL and reads the password file. 0, or -1 with err. Free with
 * acrt__rd_cfg_free (also after a failure). */
int acrt__rd_cfg_init(rcfg *g, const acrt__redis_hop *h, char *err, size_t errlen);
void acrt__rd_cfg_free(rcfg *g);
/* Fencing (docs/MULTINODE.md, "A stale process is fenced"): claims side
 * `side` ("send" or "recv") of the binding for this process: a random token
 * SET at <key>:owner:<side>; the last claimant owns it. A sending side gives
 * its epoch (*epoch, the wall clock): it is raised above the last
 * claimant's, so that a binding's epochs rise from run to run even if the
 * clock steps back. 0, or -1 with err. */
int acrt__rd_claim(conn *k, const char *side, uint64_t *epoch, char *err, size_t errlen);
/* 1 while this process owns its side, 0 once another claimed it, -1 when
 * Redis cannot say now (err). */
int acrt__rd_owned(conn *k, char *err, size_t errlen);
/* The error line of a fenced side. */
void acrt__rd_fenced(const rcfg *g, const char *side);
/* Connects, authenticates (AUTH), selects and pings unless connected. 0, or
 * -1 with err (never holding the password). */
int acrt__rd_conn_open(conn *k, char *err, size_t errlen);
void acrt__rd_conn_drop(conn *k);
/* One command (lens NULL: C strings); NULL when the connection broke (it is
 * dropped, err says why). The caller frees the reply. */
redisReply *acrt__rd_conn_cmd(conn *k, char *err, size_t errlen, int argc, const char **argv,
                              const size_t *lens);
/* An error reply's text, else NULL. */
const char *acrt__rd_reply_error(const redisReply *r);
/* After a failure: a warning at most every 10 s, and the monotonic time of
 * the next try (backoff 50 ms doubling to 2 s). */
int64_t acrt__rd_conn_failed(conn *k, const char *err);

#endif /* ACRT_TRANSPORT_REDIS_INT_H */
