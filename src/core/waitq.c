/*
 * waitq.c - the event count of waitq.h, on a mutex and a CLOCK_MONOTONIC
 * condition variable (futex-backed in glibc). The sequentially consistent
 * increment of seq in notify and of waiters in wait make sure that either the
 * waiter sees the new seq or the notifier sees the waiter.
 */
#include "core/waitq.h"

#include <errno.h>

#include "acrt/acrt.h"
#include "core/common.h"

int
acrt__cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

int
acrt__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns)
{
	if (deadline_ns == ACRT__FOREVER)
		return pthread_cond_wait(cv, mu);
	struct timespec ts = acrt__timespec(deadline_ns);
	return pthread_cond_timedwait(cv, mu, &ts);
}

int
acrt__waitq_init(acrt__waitq *q)
{
	atomic_init(&q->seq, 0);
	atomic_init(&q->waiters, 0);
	if (pthread_mutex_init(&q->mu, NULL) != 0)
		return -1;
	if (acrt__cond_init_mono(&q->cv) != 0) {
		pthread_mutex_destroy(&q->mu);
		return -1;
	}
	return 0;
}

void
acrt__waitq_destroy(acrt__waitq *q)
{
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

int
acrt__waitq_wait(acrt__waitq *q, uint64_t key, int64_t deadline_ns)
{
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	atomic_fetch_add(&q->waiters, 1);
	while (atomic_load(&q->seq) == key) {
		if (acrt__cond_wait_until(&q->cv, &q->mu, deadline_ns) == ETIMEDOUT) {
			if (atomic_load(&q->seq) == key)
				rc = ACRT_ETIMEDOUT;
			break;
		}
	}
	atomic_fetch_sub(&q->waiters, 1);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void
acrt__waitq_notify(acrt__waitq *q)
{
	atomic_fetch_add(&q->seq, 1);
	if (atomic_load(&q->waiters) > 0) {
		pthread_mutex_lock(&q->mu);
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
}
