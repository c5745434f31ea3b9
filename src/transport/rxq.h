/*
 * rxq.h - the receiving side that the network transports share (redis_rx.c,
 * nats_rx.c): a bounded local buffer of decoded events that a reader thread
 * fills from the broker, the bookkeeping of what each consumer replica was
 * handed and has processed, the end markers of the producer instances, and
 * the transport ops a consumer calls (try_recv, cancel, stats), none of
 * which blocks on the network.
 *
 * Each broker message (a Redis stream entry, a NATS JetStream message)
 * carries wire.h frames of up to ACRT__RXQ_PER_MSG events, or one end
 * marker. The reader hands the message's ack token (an entry id, a message
 * handle: opaque here) with its events; the token rides on the message's
 * last event. The rules (redis.c, invariants 3 and 5):
 *   - try_recv ends a batch on a message's last event when it can, so one
 *     replica gets a whole message;
 *   - a batch handed to replica r is acknowledged (its tokens move to the
 *     ack queue) only once r has come back empty-handed and called again: in
 *     between, the runtime has processed the batch and run the idle hooks of
 *     r and of the instances chained below it, so a file sink wrote it out;
 *     a busy consumer does the same every processed_every events (a quarter
 *     of buffer_size) and says so through acrt__rxq_processed. The buffer
 *     holds half the broker's bound, the other half stays for the producer;
 *   - end of stream is reported once every producer's marker was read, the
 *     buffer is empty and every handed token is acknowledged; the markers'
 *     tokens are acknowledged last, by the transport's acker.
 * A graceful stop (the runtime's `stopping` flag) reads nothing more and
 * ends once what is local is processed and acknowledged; markers stay.
 *
 * Sequences (wire.h): an event whose (epoch, sequence) is not past the last
 * one handed out is a duplicate (a resend, a resumed producer's replay): it
 * is dropped and counted, and its message acknowledged with the others.
 *
 * With checkpoints (ck_start, docs/MULTINODE.md "Exactly-once across
 * nodes") the queue is a source of barriers and its acknowledgements follow
 * stored checkpoints instead of processing:
 *   - when the coordinator's trigger rises, try_recv hands barrier N to
 *     each replica once, alone, before anything after it, and remembers the
 *     last sequence handed before it: the position checkpoint N keeps;
 *   - a processed message is held, tagged with the last barrier handed out
 *     before it was processed; once checkpoint N is stored (ck_committed),
 *     the messages tagged below N go to the acker. A crash before that
 *     leaves them in the broker, delivered again to the resumed node, which
 *     drops what its restored position says it has;
 *   - when the held messages reach a quarter of the broker's bound, the
 *     queue asks for a checkpoint (the link's nudge), so that the bound never
 *     fills with messages waiting for one;
 *   - at the end the markers are held too, and acknowledged with the last
 *     checkpoint.
 *
 * Ownership: the queue owns the events in its buffer and every token it was
 * given until it hands them to the acker (acrt__rxq_ack_wait,
 * acrt__rxq_finishing), which then owns them; acrt__rxq_fini frees what is
 * left through free_tok. Threads: every function takes q->mu itself; the
 * waits block only on the queue's condition variables (never the network).
 */
#ifndef ACRT_TRANSPORT_RXQ_H
#define ACRT_TRANSPORT_RXQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/transport.h"
#include "core/waitq.h"

/* Events per broker message (wire.h framing): 64 by default (Redis);
 * a transport may pack up to ACRT__RXQ_PER_MSG_MAX (acrt__rxq_init_per). */
#define ACRT__RXQ_PER_MSG 64
#define ACRT__RXQ_PER_MSG_MAX 256

typedef struct acrt__rxq_item {
	acrt_event *ev;
	void *tok;           /* non-NULL on the last event of its message: acked with it */
	uint64_t epoch, seq; /* its sending side's sequence (wire.h); seq 0: none */
} acrt__rxq_item;

typedef struct acrt__rxq_toks {
	void **v;
	size_t n, cap;
} acrt__rxq_toks;

/* Processed messages waiting for a stored checkpoint (tag: see above). */
typedef struct acrt__rxq_held {
	uint64_t *tag;
	acrt__rxq_toks toks;
} acrt__rxq_held;

typedef struct acrt__rxq_consumer {
	acrt__rxq_toks handed; /* tokens handed to this replica, not yet acked */
	bool empty_seen;       /* it came back empty-handed since */
	uint64_t bar_taken;    /* the last barrier it was handed */
} acrt__rxq_consumer;

typedef struct acrt__rxq {
	acrt__transport base; /* first: the transport is the queue */
	acrt__waitq *wq;      /* the consumer inbox's; not owned */
	const _Atomic bool *stopping;
	void (*free_tok)(void *tok);
	pthread_mutex_t mu;
	pthread_cond_t room_cv, ack_cv; /* CLOCK_MONOTONIC */
	/* Under mu: */
	acrt__rxq_item *ring;
	size_t cap, head, count;
	size_t per_msg; /* events per broker message at most (set at init) */
	acrt__rxq_consumer *per;
	unsigned consumers, producers;
	size_t handed_total;
	acrt__rxq_toks ackq; /* processed: for the acker */
	uint64_t marks;      /* producer instances whose end marker was read */
	void *mark_tok[64];  /* their tokens (acked last) */
	bool all_marks, ended, cancelled, stop;
	bool reading; /* the reader has a read under way: nothing may end */
	uint64_t received, acked, redelivered, bad;
	uint64_t bound;            /* the broker's bound in messages (stats) */
	uint64_t hw_epoch, hw_seq; /* the last sequence handed out */
	uint64_t dups;             /* events dropped as duplicates */
	/* Checkpoints (ck_start); eo false: off. */
	bool eo, nudged, stop_tried;
	acrt__ck_link ck;
	uint64_t inj, last_inj;      /* the barrier being handed out (0: none), the last */
	unsigned inj_taken;          /* replicas it was handed to */
	uint64_t inj_epoch, inj_seq; /* the last sequence handed before last_inj */
	size_t held_new;             /* held since last_inj (no barrier covers them) */
	acrt__rxq_held held;
	atomic_bool connected;   /* set by the transport's threads (stats) */
	atomic_bool fenced;      /* another process claimed this side (stats) */
	_Atomic int64_t backlog; /* the same; -1 unknown */
} acrt__rxq;

/* Sets up q (base.ops is the caller's) for `consumers` replicas and
 * `producers` instances (1..64 each) and a buffer of `capacity` events (at
 * least one message). 0, or -1 with err; then call acrt__rxq_fini. */
int acrt__rxq_init(acrt__rxq *q, const char *name, size_t capacity, unsigned consumers,
                   unsigned producers, acrt__waitq *wq, const _Atomic bool *stopping,
                   void (*free_tok)(void *), char *err, size_t errlen);
/* The same for messages of up to per_msg events (64 ..
 * ACRT__RXQ_PER_MSG_MAX): the buffer holds at least one such message. */
int acrt__rxq_init_per(acrt__rxq *q, const char *name, size_t capacity, size_t per_msg,
                       unsigned consumers, unsigned producers, acrt__waitq *wq,
                       const _Atomic bool *stopping, void (*free_tok)(void *), char *err,
                       size_t errlen);
/* Frees what is left (events, tokens, the name); returns the events left. */
size_t acrt__rxq_fini(acrt__rxq *q);
/* Sets stop and wakes the threads (before joining them). */
void acrt__rxq_stop(acrt__rxq *q);

/* ---- The reader thread ---- */
/* Waits until there is room for a message and something may still come;
 * marks a read under way and returns true with *room (events), or false
 * when the reader must quit. */
bool acrt__rxq_wait_room(acrt__rxq *q, size_t *room);
/* Sleeps until `until` (a backoff) unless stopped or cancelled. */
void acrt__rxq_backoff(acrt__rxq *q, bool acker, int64_t until);
/* Decodes the frames of msg[0..len): up to max data events into evs and an
 * end marker's instance in *marker (else -1); seq[0] and seq[1] the epoch
 * and first sequence of its events (0: none). 0, -1 when malformed (*why;
 * more than max events too), -2 out of memory; on failure evs holds
 * nothing. */
int acrt__rxq_decode(const void *msg, size_t len, acrt_event **evs, size_t max, size_t *nev,
                     long *marker, uint64_t seq[2], const char **why);
/* Takes what acrt__rxq_decode returned (rc, evs, marker) with the message's
 * token: events into the buffer, a marker noted, anything else acknowledged
 * at once (undeliverable) or, out of memory, released unacknowledged.
 * Returns true when events were added (notify the waitq after a read). */
bool acrt__rxq_put(acrt__rxq *q, int rc, acrt_event **evs, size_t nev, long marker,
                   const uint64_t seq[2], void *tok);
/* Counts messages delivered again from an earlier run or connection. */
void acrt__rxq_redelivered(acrt__rxq *q, size_t n);

/* ---- The acker thread ---- */
/* Waits for tokens to acknowledge (moved into *mine) or for the end; false
 * when the acker must quit. */
bool acrt__rxq_ack_wait(acrt__rxq *q, acrt__rxq_toks *mine);
void acrt__rxq_acked(acrt__rxq *q, size_t n);
/* True when everything was processed and acknowledged and the stream may
 * end; then *marks holds the markers' tokens to acknowledge last (none when
 * draining: they stay for the next run). The queue keeps owning them. */
bool acrt__rxq_finishing(acrt__rxq *q, void **marks, size_t *nm);
/* The markers are acknowledged (their tokens are freed here): consumers
 * see EOS. */
void acrt__rxq_end(acrt__rxq *q);

/* ---- Transport ops of a receiving side (q is the transport; the ops it
 * does not have are side.h's) ---- */
size_t acrt__rxq_try_recv(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
                          acrt__rx_status *st);
void acrt__rxq_cancel(acrt__transport *t);
/* Everything handed to `consumer` is processed: acknowledge it. */
void acrt__rxq_processed(acrt__transport *t, unsigned consumer);
/* depth, capacity, received, and the remote fields (remote = 2). */
void acrt__rxq_stats(acrt__transport *t, acrt__transport_stats *out);
/* The checkpoint ops (transport.h). */
void acrt__rxq_ck_start(acrt__transport *t, const acrt__ck_link *link);
void acrt__rxq_ck_save(acrt__transport *t, uint64_t id, unsigned char out[ACRT__HOP_PART]);
int acrt__rxq_ck_load(acrt__transport *t, const unsigned char *p, size_t n, char *why,
                      size_t whylen);
void acrt__rxq_ck_committed(acrt__transport *t, uint64_t id);

#endif /* ACRT_TRANSPORT_RXQ_H */
