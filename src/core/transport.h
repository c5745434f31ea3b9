/*
 * transport.h - the one interface every binding goes through (SPEC section 8).
 *
 * A transport carries sealed events from the producers of one binding to its
 * consumers, in bulk, with a fixed capacity (backpressure). Checkpoint barriers
 * travel in-band as events of kind ACRT__EV_BARRIER, so every transport
 * delivers them in order with the data around them.
 *
 * `local` (src/transport/local.c: in-process, bounded, zero-copy) carries a binding inside
 * a process; `nats` and `redis` (src/transport/) carry a binding between two
 * nodes, each node holding one side of it.
 *
 * Consumers do not block inside a transport: they try_recv, and park on the
 * acrt__waitq given at creation, which every transport feeding the same
 * consumer group shares (see inbox.h). A transport notifies that waitq when it
 * gains items, ends, or is cancelled.
 *
 * Ownership: send() takes the references of the events it reports as sent and
 * leaves the rest with the caller; try_recv() hands references to the caller.
 */
#ifndef ACRT_TRANSPORT_H
#define ACRT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"

typedef struct acrt__transport acrt__transport;

typedef enum acrt__rx_status {
	ACRT__RX_ITEMS = 0, /* items were returned */
	ACRT__RX_EMPTY,     /* nothing now; more may come */
	ACRT__RX_EOS,       /* every producer closed and the transport is drained */
	ACRT__RX_CANCELED,  /* cancelled: nothing more will be delivered */
	ACRT__RX_BARRIER    /* inbox only: a checkpoint barrier has aligned (inbox.h) */
} acrt__rx_status;

#define ACRT__SEND_LAZY 1u

typedef struct acrt__transport_stats {
	uint64_t sent, received; /* events */
	uint64_t blocked_ns;     /* time producers spent waiting for space */
	uint64_t dropped;        /* events it could not carry (each logged): lost */
	size_t depth, capacity;
	/* A binding between nodes (nats, redis): remote is 1 on the sending side,
	 * 2 on the receiving side, 0 for a local stream (the rest then 0). */
	int remote;
	int connected;        /* the broker connection is up (1) or not (0) */
	uint64_t in_flight;   /* messages published and not yet acknowledged by the
	                       * broker (sending); handed to the consumer and not yet
	                       * acknowledged to the broker (receiving) */
	uint64_t redelivered; /* messages published again after a failure (sending);
	                       * delivered again by the broker (receiving) */
	uint64_t duplicates;  /* receiving: events dropped as already handed out
	                       * (a resend, a resumed producer's replay) */
	int64_t backlog;      /* receiving: messages in the broker for this consumer,
	                       * as last seen; -1 unknown */
	uint64_t bound;       /* messages the broker holds at most for the binding */
	bool fenced;          /* another process claimed this side: this one is stale
	                       * (logged); the run fails */
} acrt__transport_stats;

/* What a network transport is given to take part in checkpoints (exactly-once
 * across nodes, docs/MULTINODE.md): the coordinator's barrier trigger and the
 * highest abandoned id (both read without locks), and a way to ask for a
 * checkpoint soon (any thread; never blocks). Borrowed for the run. */
typedef struct acrt__ck_link {
	const _Atomic uint64_t *trigger;
	const _Atomic uint64_t *aborted;
	void (*nudge)(void *arg);
	void *arg;
} acrt__ck_link;

/* The size of a network transport's part of a checkpoint (ck_save). */
#define ACRT__HOP_PART 18

typedef struct acrt__transport_ops {
	const char *kind;
	/* Sends evs[0..n), blocking while full until the monotonic deadline.
	 * *sent is how many were taken (in order). Returns ACRT_OK (all sent),
	 * ACRT_ETIMEDOUT, ACRT_ECANCELED or ACRT_ECLOSED (no producer is open).
	 * With ACRT__SEND_LAZY, parked consumers are woken only once the
	 * transport holds a worthwhile batch (or when it is full); the producer
	 * must kick() before it blocks anywhere else or ends. */
	int (*send)(acrt__transport *t, acrt_event **evs, size_t n, size_t *sent, int64_t deadline,
	            unsigned flags);
	/* Wakes parked consumers if the transport holds anything. Never blocks. */
	void (*kick)(acrt__transport *t);
	/* Never blocks: takes up to max events into evs and returns how many.
	 * `consumer` is the receiving replica (0 .. consumers-1). A checkpoint
	 * barrier is always returned alone, and to every consumer once: a
	 * consumer that has taken barrier N sees nothing more from this transport
	 * (ACRT__RX_EMPTY) until every consumer has taken it, so no replica runs
	 * ahead of a barrier the others have not reached. */
	size_t (*try_recv)(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
	                   acrt__rx_status *st);
	/* Sends checkpoint barrier ev (kind ACRT__EV_BARRIER; takes the caller's
	 * reference) once every open producer has sent it: a producer that comes
	 * first waits here, sending nothing else, until the others arrive, close,
	 * or the deadline passes (ACRT_ETIMEDOUT: the barrier is dropped and its
	 * checkpoint will be aborted). Blocks for space like send(). */
	int (*send_barrier)(acrt__transport *t, acrt_event *ev, int64_t deadline);
	/* One producer is done; after the last, consumers see EOS once drained. */
	void (*close)(acrt__transport *t);
	/* Wakes every waiter; sends and receives fail with ACRT_ECANCELED from now. */
	void (*cancel)(acrt__transport *t);
	void (*stats)(acrt__transport *t, acrt__transport_stats *out);
	/* Frees the transport; events still inside are released and counted. */
	size_t (*destroy)(acrt__transport *t);
	/* Optional (NULL for a local stream): consumer `consumer` has processed
	 * every event it took from this transport and its idle hooks (and those
	 * of the instances chained below it) have run since, so what it wrote is
	 * out. A network transport acknowledges those events to its broker. The
	 * consumer's thread calls it; it never blocks on the network. */
	void (*processed)(acrt__transport *t, unsigned consumer);
	/* Optional (NULL for a local stream): a sending side to another node
	 * returns once its broker holds every event sent so far, the deadline,
	 * or a cancel (ACRT_OK, ACRT_ETIMEDOUT, ACRT_ECANCELED, ACRT_EFATAL when
	 * fenced). A consumer calls it on its outputs before it acknowledges
	 * its own input from another node (processed), so a node in the middle
	 * acknowledges nothing whose results could still be lost with it. The
	 * producer's thread calls it; it blocks on the network. */
	int (*sync)(acrt__transport *t, int64_t deadline);
	/* Optional (NULL for a local stream): a sending side to another node:
	 * the sequence number of the last event it took (0 in a fresh run; what
	 * ck_load restored in a resumed one). A dealer over lanes (lanes.h)
	 * resumes its turns from its lanes' sum. The producer's thread. */
	uint64_t (*position)(acrt__transport *t);

	/* Optional (NULL for a local stream): a network transport's side in
	 * checkpoints, with runtime.state (docs/MULTINODE.md, "Exactly-once").
	 * ck_start (runtime thread, before any instance runs) switches it on.
	 * ck_save writes the position checkpoint `id` keeps (ACRT__HOP_PART
	 * bytes): the sending side's epoch and last sequence, the receiving
	 * side's last sequence handed before barrier `id` (or now, for a final
	 * part); ck_load restores it (before any instance runs; 0 or -1 with
	 * why). ck_committed: checkpoint `id` is stored (the writer thread): the
	 * receiving side acknowledges to its broker what it covers. None blocks
	 * on the network. */
	void (*ck_start)(acrt__transport *t, const acrt__ck_link *link);
	void (*ck_save)(acrt__transport *t, uint64_t id, unsigned char out[ACRT__HOP_PART]);
	int (*ck_load)(acrt__transport *t, const unsigned char *p, size_t n, char *why,
	               size_t whylen);
	void (*ck_committed)(acrt__transport *t, uint64_t id);
} acrt__transport_ops;

struct acrt__transport {
	const acrt__transport_ops *ops;
	char *name; /* "from.port->to.port", for logs and metrics; owned */
	/* A network transport's receiving side sets it: its busy consumer calls
	 * processed() after at most this many events, not only when it goes
	 * idle, so that the broker's bound does not fill with events already
	 * done. 0: only when idle (a local stream). */
	size_t processed_every;
	/* Set by the checkpoint coordinator when ck_start was called: the index of
	 * this transport's part in a checkpoint. */
	bool ck_on;
	size_t ck_slot;
	/* A dealer (transport/lanes.h): the lanes it sends through, each a side
	 * of its own in checkpoints (the checkpoint code hands in their parts
	 * when the dealer has passed a barrier on). Borrowed; NULL otherwise. */
	acrt__transport *const *parts;
	size_t n_parts;
};

#endif /* ACRT_TRANSPORT_H */
