/*
 * nats.h - the `nats` transport: one binding between two nodes carried by a
 * NATS JetStream stream (docs/MULTINODE.md, "The NATS JetStream transport"),
 * with at-least-once delivery, a bounded stream and end of stream across the
 * hop. The same semantics as the redis transport (redis.h), on the broker the
 * issue names first.
 *
 * The broker side, per binding: a work-queue stream ACRT_<hash> on the one
 * subject acrt.bind.<hash> (hash: 64-bit FNV-1a of the binding's key; the
 * key is the stream's description), file storage, MaxMsgs = ceil(buffer_size
 * / 64) with DiscardNew, so the broker refuses a message past the bound and
 * never drops one; and one durable pull consumer, the consuming component's
 * name, acknowledging explicitly. A message holds up to 64 events (wire.h
 * frames) or one end marker.
 *
 * Each node creates only its own side of the binding:
 *   - the sending side (producer's node): send() publishes each message and
 *     waits for the broker's acknowledgement, with a message id that stays
 *     the same across retries (the broker drops a resend it has stored:
 *     duplicates only from a producer restarted mid-send); a full stream
 *     (JetStream error 10077) makes it wait, polling (backpressure); close()
 *     publishes an end marker per producer instance.
 *   - the receiving side (consumer's node): the consumer is created afresh at
 *     start (so everything unacknowledged, from an earlier run too, is
 *     delivered again at once, not after the ack wait) and after a reconnect;
 *     a reader thread fetches into the shared local buffer (rxq.h) and an
 *     acker thread acknowledges what the consumer has processed, after which
 *     the work-queue stream deletes it. try_recv never blocks.
 *
 * Ownership: the runtime owns the transport (destroy()); the waitq is the
 * consumer inbox's. Secrets (token, password) are held by nats.c's options
 * only for the connection's life, never logged.
 *
 * Threads and blocking: send() and close() run on producer threads and block
 * on the broker and for space (send until its deadline; close until the
 * marker is stored or the transport is cancelled); replicas serialise on one
 * mutex. try_recv, kick, stats and cancel never block on the network.
 * destroy joins the receiving side's threads (at most a fetch's wait).
 */
#ifndef ACRT_TRANSPORT_NATS_H
#define ACRT_TRANSPORT_NATS_H

#include "core/transport.h"
#include "transport/hop.h"

/* Connects (authenticating; a wrong URL or bad credentials are an error at
 * start, in err, without the secret), makes sure the stream exists with this
 * bound, and returns the sending side; NULL with err on failure. Blocks for
 * the connect (2 s at most) and the stream request (5 s). */
acrt__transport *acrt__nats_tx_new(const acrt__hop *h, char *err, size_t errlen);

/* The same, then the receiving side: recreates the consumer and starts its
 * two threads. NULL with err on failure. */
acrt__transport *acrt__nats_rx_new(const acrt__hop *h, char *err, size_t errlen);

/* Once every transport is destroyed, before the process exits: closes
 * nats.c's library and waits (2 s at most) for its own threads to end, so
 * that none of them is still inside OpenSSL when its exit handlers free its
 * locks. Nothing when no nats transport was made. The main thread calls it. */
void acrt__nats_release(void);

#endif /* ACRT_TRANSPORT_NATS_H */
