/*
 * nats_int.h - what the two sides of the nats transport share (nats.c): the
 * connection with its options and JetStream context, the broker-side names
 * of a binding, and the stream's creation. Private to src/transport/.
 *
 * Threads: a link is made and destroyed by one thread; in between nats.c's
 * connection and context are safe to use from several threads (the reader
 * and the acker share one). The callbacks run on nats.c's own threads and
 * touch only the link's atomics.
 */
#ifndef ACRT_TRANSPORT_NATS_INT_H
#define ACRT_TRANSPORT_NATS_INT_H

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "transport/hop.h"
#include "transport/rxq.h"

/* Events per message: capacity / 32, within [64, ACRT__RXQ_PER_MSG_MAX]
 * (acrt__nl_per_msg); both sides derive it from the binding's buffer_size. */
#define NATS_MSGS_PER_BOUND 32

typedef struct nlink {
	char *bname;                  /* the binding, for logs */
	char stream[32], subject[40]; /* ACRT_<hash>, acrt.bind.<hash> */
	char durable[80];             /* the consuming component, sanitised, and
	                               * (receiving side) _ and 8 hex of its claim */
	int64_t max_msgs;             /* the stream's bound in messages */
	size_t per_msg;               /* events per message at most */
	uint64_t last_seq;            /* the stream's last sequence when last asked */
	uint64_t msgs;                /* the messages it held then */
	natsConnection *nc;
	jsCtx *js;
	atomic_uint_fast64_t reconnects; /* bumped by the reconnected callback */
	atomic_bool down;                /* disconnected now */
	atomic_bool closing;             /* acrt__nl_close began: callbacks stay quiet */
	_Atomic int64_t last_warn;
	kvStore *owners;    /* the bucket of this side's claim (fencing); NULL: none yet */
	char owner_key[48]; /* <stream>.send or <stream>.recv */
	char token[64];     /* this process's claim: random hex, ".", its epoch */
	pthread_mutex_t mu; /* closed, for acrt__nl_close's wait */
	pthread_cond_t cv;
	bool closed, mu_on;
} nlink;

/* Events per message of a binding of `capacity` (buffer_size) events:
 * larger messages cost the broker less per event (a store, a delivery and
 * an acknowledgement each), while the bound keeps at least 32 messages. */
size_t acrt__nl_per_msg(size_t capacity);

/* Connects with h's URL and credentials, makes the JetStream context (with
 * `ack` as its asynchronous publish handler, or NULL) and ensures the stream
 * exists with h's bound (updating it when buffer_size changed); l->last_seq
 * is then its last sequence. 0, or -1 with err (never a secret); then
 * acrt__nl_close. */
int acrt__nl_open(nlink *l, const acrt__hop *h, jsPubAckHandler ack, void *closure, char *err,
                  size_t errlen);
/* Asks the stream's last sequence and message count into l->last_seq and
 * l->msgs (making the stream again when the broker lost it). 0, or -1 with
 * err. */
int acrt__nl_last_seq(nlink *l, char *err, size_t errlen);
/* Closes the connection and waits (2 s at most) until nats.c's callbacks
 * about it have run, so none runs after the link is freed. */
void acrt__nl_close(nlink *l);
/* Ensures the stream (again: after the broker lost it). 0, or -1 with err. */
int acrt__nl_stream(nlink *l, char *err, size_t errlen);
/* Fencing (docs/MULTINODE.md, "A stale process is fenced"): claims side
 * `side` ("send" or "recv") of the binding for this process, putting a
 * random token under <stream>.<side> in the key-value bucket acrt_owners.
 * The side's last claimant owns it. A sending side gives its epoch
 * (*epoch, the wall clock): it is raised above the last claimant's, so that
 * a binding's epochs rise from run to run even if the clock steps back.
 * 0, or -1 with err. */
int acrt__nl_claim(nlink *l, const char *side, uint64_t *epoch, char *err, size_t errlen);
/* 1 while this process still owns its side, 0 once another process has
 * claimed it (this one is stale: it must not write), -1 when the broker
 * cannot say now (err). A request to the broker: never under a lock the
 * data path takes. */
int acrt__nl_owned(nlink *l, char *err, size_t errlen);
/* The error line of a fenced side (once). */
void acrt__nl_fenced(nlink *l, const char *side);

/* A failure of the transport: a warning at most every 10 s. */
void acrt__nl_warn(nlink *l, const char *what, natsStatus s, int jerr);
/* The text of status s (with nats.c's last error when it has one). */
void acrt__nl_status_text(natsStatus s, int jerr, char *buf, size_t len);

#endif /* ACRT_TRANSPORT_NATS_INT_H */
