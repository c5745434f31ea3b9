/*
 * lanes.h - the sending end of a binding whose consumer runs on several
 * nodes (scale-out, docs/MULTINODE.md): one output-port target that deals
 * the producer's events out to one network transport per consuming node
 * (its lanes), in turn, 64 events at a time, as Flink's
 * rebalance partitioner does.
 *
 * Ownership: the lanes stay the caller's (they are the runtime's transports,
 * each with its own metrics and end markers); destroy() frees only the
 * dealer. Any producer thread may call send(), kick(), send_barrier() and
 * close(); they block as the lanes' own do (a full lane holds the producer:
 * backpressure, as a slow channel of a rebalance does).
 */
#ifndef ACRT_TRANSPORT_LANES_H
#define ACRT_TRANSPORT_LANES_H

#include <stddef.h>

#include "core/transport.h"

/* Events dealt to one lane before the next one's turn: a Redis entry's worth
 * (a NATS message holds up to 256; a lazy send fills it over several turns). */
#define ACRT__LANE_TURN 64

/* A dealer over lanes[0..n) (n >= 1; the array is copied, the lanes are
 * borrowed and must outlive it). The name is copied. NULL when out of
 * memory. */
acrt__transport *acrt__lanes_new(const char *name, acrt__transport *const *lanes, size_t n);

#endif /* ACRT_TRANSPORT_LANES_H */
