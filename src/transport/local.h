/*
 * local.h - the `local` transport: a bounded, in-process, zero-copy MPMC ring
 * of event pointers (the design's anyio.MemoryObjectStream).
 *
 * Invariants (all under the stream's mutex):
 *   1. 0 <= count <= cap; the ring holds exactly the events sent and not yet
 *      received, each owning one reference.
 *   2. An event leaves the ring only into a receiver's hands (try_recv returns
 *      it) or into destroy (released and counted): never lost, never twice.
 *      Cancellation does not hand items to anyone (anyio #728 cannot happen:
 *      there is no hand-off to a parked receiver that could then be cancelled).
 *   3. EOS is reported only when producers == 0 and count == 0.
 *   4. send() reports exactly how many events it took; the caller keeps the rest.
 *   5. A barrier in the ring stays at its place until every consumer has
 *      taken it; no consumer receives anything queued behind it before that.
 *      Barriers are not counted in sent/received (those count events).
 */
#ifndef ACRT_TRANSPORT_LOCAL_H
#define ACRT_TRANSPORT_LOCAL_H

#include <stddef.h>

#include "core/transport.h"
#include "core/waitq.h"

/* Creates a local transport of `capacity` events with `producers` open producer
 * handles and `consumers` receiving replicas (1..64), notifying `rx` (shared
 * by the consumer group; not owned). The name is copied. Returns NULL on out
 * of memory or a bad size. */
acrt__transport *acrt__stream_new(const char *name, size_t capacity, unsigned producers,
                                  unsigned consumers, acrt__waitq *rx);

/* Blocking receive from one transport (for tests and single-input consumers):
 * returns the number taken (> 0), or 0 with *st = EOS, CANCELED or, at the
 * deadline, EMPTY. */
size_t acrt__transport_recv(acrt__transport *t, acrt__waitq *rx, acrt_event **evs, size_t max,
                            int64_t deadline, acrt__rx_status *st);

#endif /* ACRT_TRANSPORT_LOCAL_H */
