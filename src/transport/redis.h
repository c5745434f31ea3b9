/*
 * redis.h - the `redis` transport: one binding between two nodes carried by a
 * Redis stream (docs/MULTINODE.md, "The Redis Streams transport"), with
 * at-least-once delivery, a bounded stream and end of stream across the hop.
 *
 * Each node creates only its own side of the binding:
 *   - the sending side (producer's node): send() packs up to 64 events per
 *     stream entry (wire.h frames) and runs a Lua script that adds as many of
 *     up to 16 entries as fit under the bound, in one round trip, and waits
 *     (backpressure, polling) while the stream is full; close()
 *     adds an end-of-stream marker per producer instance.
 *   - the receiving side (consumer's node): a reader thread (XREADGROUP ...
 *     BLOCK into a bounded local buffer; first the group's pending entries of
 *     an earlier run) and an acker thread (XACK + XDEL of what was processed)
 *     per binding, each on its own connection. try_recv never blocks.
 *
 * Ownership: the runtime owns the transport (destroy()); the waitq is the
 * consumer inbox's (not owned). The password is held in memory only, never
 * logged, and wiped at destroy.
 *
 * Threads and blocking: send() and close() run on producer threads and block
 * on the network and for space (send until its deadline; close until the
 * marker is stored or the transport is cancelled); replicas serialise on one
 * connection. try_recv, kick, stats and cancel never block on the network.
 * destroy joins the receiving side's threads (at most a Redis timeout).
 */
#ifndef ACRT_TRANSPORT_REDIS_H
#define ACRT_TRANSPORT_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/transport.h"
#include "transport/hop.h"

/* The fields of h it reads: name, url, user, password_file, tls (refused:
 * hiredis 0.14 has no TLS), key (the stream), group (the consumer group),
 * capacity, producers, consumers, rx, stopping. */
typedef acrt__hop acrt__redis_hop;

/* Connects, authenticates and pings once (so a wrong URL or a bad password is
 * an error at start, in err, without the secret), then returns the sending
 * side; NULL with err on failure. Blocks for the connect (2 s at most). */
acrt__transport *acrt__redis_tx_new(const acrt__redis_hop *h, char *err, size_t errlen);

/* The same check, then the receiving side: creates the consumer group if it
 * is missing and starts its two threads. NULL with err on failure. */
acrt__transport *acrt__redis_rx_new(const acrt__redis_hop *h, char *err, size_t errlen);

#endif /* ACRT_TRANSPORT_REDIS_H */
