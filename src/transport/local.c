/*
 * local.c - the `local` transport (see local.h for its invariants).
 *
 * Producers block on `not_full` only while the ring is full; consumers never
 * block here: they park on the shared waitq (see waitq.h, inbox.c), so one
 * consumer can wait for any of several inputs. A lazy send (the runtime's
 * full-outbox flush) wakes a parked consumer only once a quarter of the ring
 * (at most 256) is waiting: a consumer faster than its producer then wakes
 * once per batch instead of once per outbox. The producer kicks every output
 * before it blocks or ends, so nothing waits for a wake-up that never comes. Both sides move many
 * events per lock acquisition (the harness batches), so the mutex is taken once per batch, not once
 * per event. A consumer wakes a parked producer only when a quarter of the ring is free, so that a
 * full pipeline moves in large steps instead of ping-ponging one slot at a time.
 */
#include "transport/local.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"

typedef struct stream {
	acrt__transport base;
	pthread_mutex_t mu;
	pthread_cond_t not_full; /* producers wait here; CLOCK_MONOTONIC */
	acrt_event **ring;       /* protected by mu */
	uint32_t cap, head, count;
	uint32_t producers; /* open producer handles; protected by mu */
	uint32_t send_waiters;
	uint32_t lazy_batch; /* a lazy send wakes consumers from this depth on */
	bool cancelled;
	acrt__waitq *rx;
	/* Checkpoint barriers (protected by mu): */
	uint32_t consumers;   /* receiving replicas, 1..64 */
	uint32_t barriers;    /* barrier items in the ring */
	uint64_t bar_seen;    /* consumers that have taken the head barrier */
	acrt_event *bar_wait; /* a barrier waiting for the other producers */
	uint32_t bar_arrived; /* producers that have sent it */
	uint64_t bar_gen;     /* bumped when a waiting barrier is released */
	/* statistics, protected by mu */
	uint64_t sent, received, blocked_ns;
} stream;

static int
stream_send(acrt__transport *t, acrt_event **evs, size_t n, size_t *sent_out, int64_t deadline,
            unsigned flags)
{
	stream *s = (stream *)t;
	size_t sent = 0;
	int rc = ACRT_OK;
	bool notify = false;

	pthread_mutex_lock(&s->mu);
	while (sent < n) {
		if (s->cancelled) {
			rc = ACRT_ECANCELED;
			break;
		}
		if (s->producers == 0) {
			rc = ACRT_ECLOSED;
			break;
		}
		uint32_t space = s->cap - s->count;
		if (space == 0) {
			if (notify) { /* let consumers start on what we already put in */
				pthread_mutex_unlock(&s->mu);
				acrt__waitq_notify(s->rx);
				notify = false;
				pthread_mutex_lock(&s->mu);
				continue;
			}
			int64_t t0 = acrt__mono_ns();
			s->send_waiters++;
			int w = acrt__cond_wait_until(&s->not_full, &s->mu, deadline);
			s->send_waiters--;
			s->blocked_ns += (uint64_t)(acrt__mono_ns() - t0);
			if (w == ETIMEDOUT && s->count == s->cap && !s->cancelled) {
				rc = ACRT_ETIMEDOUT;
				break;
			}
			continue;
		}
		size_t k = n - sent < space ? n - sent : space;
		uint32_t tail = (s->head + s->count) % s->cap;
		for (size_t i = 0; i < k; i++) {
			s->ring[tail] = evs[sent + i];
			if (++tail == s->cap)
				tail = 0;
		}
		s->count += (uint32_t)k;
		s->sent += k;
		sent += k;
		notify = true;
	}
	if (notify && (flags & ACRT__SEND_LAZY) && s->count < s->lazy_batch)
		notify = false; /* not worth a wake-up yet: the producer will kick */
	pthread_mutex_unlock(&s->mu);
	if (notify)
		acrt__waitq_notify(s->rx);
	*sent_out = sent;
	return rc;
}

static void
stream_kick(acrt__transport *t)
{
	stream *s = (stream *)t;
	pthread_mutex_lock(&s->mu);
	bool any = s->count > 0;
	pthread_mutex_unlock(&s->mu);
	if (any)
		acrt__waitq_notify(s->rx);
}

/* The head is a barrier: hand it to `consumer` once; the last consumer to
 * take it removes it. Returns 1, or 0 when this consumer already has it. */
static size_t
take_barrier(stream *s, unsigned consumer, acrt_event **evs, bool *others)
{
	uint64_t bit = 1ull << consumer,
	         all = s->consumers >= ACRT__MAX_REPLICAS ? ~0ull : (1ull << s->consumers) - 1;
	if (s->bar_seen & bit)
		return 0;
	s->bar_seen |= bit;
	if (s->bar_seen != all) {
		evs[0] = acrt_event_ref(s->ring[s->head]);
		return 1;
	}
	evs[0] = s->ring[s->head]; /* the ring's own reference */
	if (++s->head == s->cap)
		s->head = 0;
	s->count--;
	s->barriers--;
	s->bar_seen = 0;
	*others = s->consumers > 1; /* replicas parked behind it may go on */
	return 1;
}

static size_t
stream_try_recv(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
                acrt__rx_status *st)
{
	stream *s = (stream *)t;
	size_t k = 0;
	bool wake = false, others = false;

	pthread_mutex_lock(&s->mu);
	if (s->cancelled) {
		*st = ACRT__RX_CANCELED;
	} else if (s->count == 0) {
		*st = s->producers == 0 ? ACRT__RX_EOS : ACRT__RX_EMPTY;
	} else if (s->barriers > 0 && s->ring[s->head]->kind == ACRT__EV_BARRIER) {
		k = take_barrier(s, consumer, evs, &others);
		*st = k > 0 ? ACRT__RX_ITEMS : ACRT__RX_EMPTY;
		wake = s->send_waiters > 0;
	} else {
		k = s->count < max ? s->count : max;
		for (size_t i = 0; i < k; i++) {
			acrt_event *ev = s->ring[s->head];
			if (s->barriers > 0 && ev->kind == ACRT__EV_BARRIER) {
				k = i; /* stop in front of it */
				break;
			}
			evs[i] = ev;
			if (++s->head == s->cap)
				s->head = 0;
		}
		s->count -= (uint32_t)k;
		s->received += k;
		*st = ACRT__RX_ITEMS;
		wake = s->send_waiters > 0 && (s->cap - s->count >= (s->cap + 3) / 4);
	}
	pthread_mutex_unlock(&s->mu);
	if (wake)
		pthread_cond_broadcast(&s->not_full);
	if (others)
		acrt__waitq_notify(s->rx);
	return k;
}

/* Puts the waiting barrier into the ring (waiting for space until deadline)
 * and releases the producers waiting on it. Called with mu held. */
static int
enqueue_barrier(stream *s, int64_t deadline)
{
	int rc = ACRT_OK;
	while (s->count == s->cap && !s->cancelled) {
		s->send_waiters++;
		int w = acrt__cond_wait_until(&s->not_full, &s->mu, deadline);
		s->send_waiters--;
		if (w == ETIMEDOUT && s->count == s->cap)
			break;
	}
	if (s->cancelled)
		rc = ACRT_ECANCELED;
	else if (s->count == s->cap)
		rc = ACRT_ETIMEDOUT;
	if (rc == ACRT_OK) {
		s->ring[(s->head + s->count) % s->cap] = s->bar_wait;
		s->count++;
		s->barriers++;
	} else {
		acrt_event_unref(s->bar_wait);
	}
	s->bar_wait = NULL;
	s->bar_arrived = 0;
	s->bar_gen++;
	pthread_cond_broadcast(&s->not_full);
	return rc;
}

static int
stream_send_barrier(acrt__transport *t, acrt_event *ev, int64_t deadline)
{
	stream *s = (stream *)t;
	int rc = ACRT_OK;
	bool queued = false;

	pthread_mutex_lock(&s->mu);
	if (s->cancelled || s->producers == 0) {
		rc = s->cancelled ? ACRT_ECANCELED : ACRT_ECLOSED;
		acrt_event_unref(ev);
		goto out;
	}
	if (s->bar_wait != NULL && s->bar_wait->barrier_id == ev->barrier_id) {
		s->bar_arrived++;
		acrt_event_unref(ev);
	} else { /* the first producer here (an older waiting barrier was abandoned) */
		if (s->bar_wait != NULL)
			acrt_event_unref(s->bar_wait);
		s->bar_wait = ev;
		s->bar_arrived = 1;
	}
	uint64_t gen = s->bar_gen;
	for (;;) {
		if (s->bar_gen != gen)
			break; /* released by the producer that arrived last */
		if (s->cancelled) {
			rc = ACRT_ECANCELED;
			break;
		}
		if (s->bar_arrived >= s->producers) { /* everyone is here (or closed) */
			rc = enqueue_barrier(s, deadline);
			queued = rc == ACRT_OK;
			break;
		}
		if (acrt__cond_wait_until(&s->not_full, &s->mu, deadline) == ETIMEDOUT &&
		    s->bar_gen == gen && s->bar_arrived < s->producers) {
			if (--s->bar_arrived == 0) {
				acrt_event_unref(s->bar_wait);
				s->bar_wait = NULL;
			}
			rc = ACRT_ETIMEDOUT;
			break;
		}
	}
out:
	pthread_mutex_unlock(&s->mu);
	if (queued)
		acrt__waitq_notify(s->rx);
	return rc;
}

static void
stream_close(acrt__transport *t)
{
	stream *s = (stream *)t;
	bool last = false;
	pthread_mutex_lock(&s->mu);
	if (s->producers > 0 && --s->producers == 0)
		last = true;
	bool bar = s->bar_wait != NULL; /* producers waiting on it may now be all */
	pthread_mutex_unlock(&s->mu);
	if (bar && !last)
		pthread_cond_broadcast(&s->not_full);
	if (last) {
		pthread_cond_broadcast(&s->not_full);
		acrt__waitq_notify(s->rx);
	}
}

static void
stream_cancel(acrt__transport *t)
{
	stream *s = (stream *)t;
	pthread_mutex_lock(&s->mu);
	s->cancelled = true;
	pthread_mutex_unlock(&s->mu);
	pthread_cond_broadcast(&s->not_full);
	acrt__waitq_notify(s->rx);
}

static void
stream_stats(acrt__transport *t, acrt__transport_stats *out)
{
	stream *s = (stream *)t;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&s->mu);
	out->sent = s->sent;
	out->received = s->received;
	out->blocked_ns = s->blocked_ns;
	out->depth = s->count;
	out->capacity = s->cap;
	pthread_mutex_unlock(&s->mu);
}

static size_t
stream_destroy(acrt__transport *t)
{
	stream *s = (stream *)t;
	if (s == NULL)
		return 0;
	size_t left = s->count;
	for (uint32_t i = 0; i < s->count; i++)
		acrt_event_unref(s->ring[(s->head + i) % s->cap]);
	left -= s->barriers; /* events, not barriers */
	if (s->bar_wait != NULL)
		acrt_event_unref(s->bar_wait);
	acrt__free(s->ring);
	pthread_cond_destroy(&s->not_full);
	pthread_mutex_destroy(&s->mu);
	acrt__free(s->base.name);
	acrt__free(s);
	return left;
}

static const acrt__transport_ops local_ops = {
    .kind = "local",
    .send = stream_send,
    .kick = stream_kick,
    .try_recv = stream_try_recv,
    .send_barrier = stream_send_barrier,
    .close = stream_close,
    .cancel = stream_cancel,
    .stats = stream_stats,
    .destroy = stream_destroy,
};

acrt__transport *
acrt__stream_new(const char *name, size_t capacity, unsigned producers, unsigned consumers,
                 acrt__waitq *rx)
{
	if (capacity == 0 || capacity > UINT32_MAX / 2 || rx == NULL || consumers == 0 ||
	    consumers > ACRT__MAX_REPLICAS)
		return NULL;
	stream *s = acrt__calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->base.ops = &local_ops;
	s->ring = acrt__malloc(capacity * sizeof *s->ring);
	s->base.name = acrt__strdup(name != NULL ? name : "stream");
	if (s->ring == NULL || s->base.name == NULL)
		goto fail_alloc;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		goto fail_alloc;
	if (acrt__cond_init_mono(&s->not_full) != 0)
		goto fail_mutex;
	s->cap = (uint32_t)capacity;
	s->lazy_batch = s->cap / 4 < 256 ? (s->cap + 3) / 4 : 256;
	s->producers = producers;
	s->consumers = consumers;
	s->rx = rx;
	return &s->base;

fail_mutex:
	pthread_mutex_destroy(&s->mu);
fail_alloc:
	acrt__free(s->ring);
	acrt__free(s->base.name);
	acrt__free(s);
	return NULL;
}

size_t
acrt__transport_recv(acrt__transport *t, acrt__waitq *rx, acrt_event **evs, size_t max,
                     int64_t deadline, acrt__rx_status *st)
{
	for (;;) {
		uint64_t key = acrt__waitq_key(rx);
		size_t k = t->ops->try_recv(t, 0, evs, max, st);
		if (k > 0 || *st != ACRT__RX_EMPTY)
			return k;
		if (acrt__waitq_wait(rx, key, deadline) == ACRT_ETIMEDOUT) {
			*st = ACRT__RX_EMPTY;
			return 0;
		}
	}
}
