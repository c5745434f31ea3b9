/*
 * waitq.h - an event count: the place where consumers of one or more
 * transports park until something changes.
 *
 * Usage (no lost wake-ups):
 *     uint64_t key = acrt__waitq_key(q);
 *     ... look at every source; if something is there, take it ...
 *     acrt__waitq_wait(q, key, deadline);   returns at once if notified since key
 * Producers call acrt__waitq_notify() after publishing. Notify costs one atomic
 * increment and, only when someone is parked, a mutex and a broadcast.
 * Any thread may call any of these.
 */
#ifndef ACRT_WAITQ_H
#define ACRT_WAITQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct acrt__waitq {
	char pad0_[64];           /* keeps seq off its neighbours' cache lines */
	atomic_uint_fast64_t seq; /* written by every producer */
	char pad1_[64];
	atomic_int waiters;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
} acrt__waitq;

int acrt__waitq_init(acrt__waitq *q);
void acrt__waitq_destroy(acrt__waitq *q);

static inline uint64_t
acrt__waitq_key(acrt__waitq *q)
{
	return atomic_load_explicit(&q->seq, memory_order_seq_cst);
}

/* Returns 0 when notified since key, ACRT_ETIMEDOUT at the deadline. */
int acrt__waitq_wait(acrt__waitq *q, uint64_t key, int64_t deadline_ns);
void acrt__waitq_notify(acrt__waitq *q);

/* Initialises a condition variable on CLOCK_MONOTONIC. */
int acrt__cond_init_mono(pthread_cond_t *cv);
/* Waits on cv until the monotonic deadline; 0 or ETIMEDOUT. */
int acrt__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns);

#endif /* ACRT_WAITQ_H */
