/*
 * side.h - the transport ops that one side of a binding between nodes does
 * not have: each node holds only the sending side (nats_tx.c, redis.c) or
 * only the receiving side (rxq.c) of such a binding, so the other half of
 * the interface of core/transport.h is these. Any thread; nothing blocks
 * but acrt__side_barrier.
 */
#ifndef ACRT_TRANSPORT_SIDE_H
#define ACRT_TRANSPORT_SIDE_H

#include <pthread.h>

#include "core/transport.h"

/* kick: nothing waits locally (a sending side stores each send at once; a
 * receiving side's reader notifies the consumers itself). */
void acrt__side_kick(acrt__transport *t);
/* send_barrier on a sending side: the barrier does not cross to the other
 * node (docs/MULTINODE.md, "Exactly-once across nodes"): it is released, and
 * the side returns once its broker holds everything sent before it (its
 * sync op, which may block on the network until the deadline). */
int acrt__side_barrier(acrt__transport *t, acrt_event *ev, int64_t deadline);
/* try_recv on a sending side: EOS (the receiving side is on the other node). */
size_t acrt__side_no_recv(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
                          acrt__rx_status *st);
/* send on a receiving side: nothing taken, ACRT_ECLOSED (no producer here). */
int acrt__side_no_send(acrt__transport *t, acrt_event **evs, size_t n, size_t *sent,
                       int64_t deadline, unsigned flags);
/* send_barrier on a receiving side: the barrier is released and
 * ACRT_ETIMEDOUT returned (never called: barriers reach a receiving side's
 * consumers from try_recv). */
int acrt__side_no_barrier(acrt__transport *t, acrt_event *ev, int64_t deadline);
/* close on a receiving side: no producer on this node. */
void acrt__side_no_close(acrt__transport *t);

/* A side's position in a checkpoint (ck_save, ck_load of transport.h):
 * `side` 1 sending, 2 receiving; epoch and seq are read or written under the
 * side's own lock mu. Load: 0, or -1 with why when p is not such a part. */
void acrt__side_pos_save(pthread_mutex_t *mu, int side, const uint64_t *epoch, const uint64_t *seq,
                         unsigned char out[ACRT__HOP_PART]);
int acrt__side_pos_load(pthread_mutex_t *mu, int side, uint64_t *epoch, uint64_t *seq,
                        const unsigned char *p, size_t n, char *why, size_t whylen);

#endif /* ACRT_TRANSPORT_SIDE_H */
