/*
 * rxq.c - the receiving side shared by the network transports (rxq.h): the
 * bounded local buffer, the per-replica handed tokens, the end markers, the
 * waits of the reader and acker threads, and the consumer's transport ops.
 */
#include "transport/rxq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"
#include "transport/wire.h"

#define WAIT_NS 200000000LL /* how often a waiting thread looks at stop */

static int
toks_push(acrt__rxq_toks *v, void *tok)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		void *p = acrt__realloc(v->v, cap * sizeof *v->v);
		if (p == NULL)
			return -1;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = tok;
	return 0;
}

/* Appends every token of src to dst and empties src. 0, or -1 (src kept). */
static int
toks_move(acrt__rxq_toks *dst, acrt__rxq_toks *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (toks_push(dst, src->v[i]) != 0) {
			dst->n -= i;
			return -1;
		}
	src->n = 0;
	return 0;
}

static void
toks_free(acrt__rxq *q, acrt__rxq_toks *v)
{
	for (size_t i = 0; i < v->n; i++)
		q->free_tok(v->v[i]);
	acrt__free(v->v);
	memset(v, 0, sizeof *v);
}

/* A graceful stop of the runtime (SIGTERM): read nothing more. */
static bool
draining(const acrt__rxq *q)
{
	return q->stopping != NULL && atomic_load(q->stopping);
}

int
acrt__rxq_init(acrt__rxq *q, const char *name, size_t capacity, unsigned consumers,
               unsigned producers, acrt__waitq *wq, const _Atomic bool *stopping,
               void (*free_tok)(void *), char *err, size_t errlen)
{
	if (consumers == 0 || consumers > 64 || producers == 0 || producers > 64 || capacity == 0 ||
	    wq == NULL) {
		snprintf(err, errlen, "bad replica counts or buffer_size for a remote binding");
		return -1;
	}
	q->wq = wq;
	q->stopping = stopping;
	q->free_tok = free_tok;
	/* Half the broker's bound: the other half stays for the producer to
	 * publish into while the consumer works through this one, which it
	 * acknowledges a quarter of the bound at a time (processed_every). */
	q->cap = capacity / 2 > ACRT__RXQ_PER_MSG ? capacity / 2 : ACRT__RXQ_PER_MSG;
	q->base.processed_every = q->cap / 2 > ACRT__RXQ_PER_MSG ? q->cap / 2 : ACRT__RXQ_PER_MSG;
	q->consumers = consumers;
	q->producers = producers;
	q->bound = (capacity + ACRT__RXQ_PER_MSG - 1) / ACRT__RXQ_PER_MSG;
	atomic_store(&q->connected, true);
	atomic_store(&q->backlog, -1);
	if (pthread_mutex_init(&q->mu, NULL) != 0 || acrt__cond_init_mono(&q->room_cv) != 0 ||
	    acrt__cond_init_mono(&q->ack_cv) != 0) {
		snprintf(err, errlen, "cannot create a lock");
		return -1;
	}
	q->base.name = acrt__strdup(name);
	q->ring = acrt__calloc(q->cap, sizeof *q->ring);
	q->per = acrt__calloc(consumers, sizeof *q->per);
	if (q->base.name == NULL || q->ring == NULL || q->per == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
acrt__rxq_stop(acrt__rxq *q)
{
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->room_cv);
	pthread_cond_broadcast(&q->ack_cv);
	pthread_mutex_unlock(&q->mu);
}

size_t
acrt__rxq_fini(acrt__rxq *q)
{
	size_t left = q->count;
	for (size_t i = 0; q->ring != NULL && i < q->count; i++) {
		acrt__rxq_item *it = &q->ring[(q->head + i) % q->cap];
		acrt_event_unref(it->ev);
		if (it->tok != NULL)
			q->free_tok(it->tok);
	}
	for (unsigned c = 0; q->per != NULL && c < q->consumers; c++)
		toks_free(q, &q->per[c].handed);
	for (unsigned p = 0; p < 64; p++)
		if (q->mark_tok[p] != NULL)
			q->free_tok(q->mark_tok[p]);
	toks_free(q, &q->ackq);
	acrt__free(q->per);
	acrt__free(q->ring);
	pthread_cond_destroy(&q->room_cv);
	pthread_cond_destroy(&q->ack_cv);
	pthread_mutex_destroy(&q->mu);
	acrt__free(q->base.name);
	return left;
}

/* ---- Reader ---------------------------------------------------------------- */

bool
acrt__rxq_wait_room(acrt__rxq *q, size_t *room)
{
	pthread_mutex_lock(&q->mu);
	if (q->reading) { /* what the last read returned is in the buffer */
		q->reading = false;
		pthread_cond_broadcast(&q->ack_cv);
	}
	while (!q->stop && !q->cancelled &&
	       (q->cap - q->count < ACRT__RXQ_PER_MSG || q->all_marks || draining(q)))
		(void)acrt__cond_wait_until(&q->room_cv, &q->mu, acrt__mono_ns() + WAIT_NS);
	bool quit = q->stop || q->cancelled;
	*room = q->cap - q->count;
	q->reading = !quit;
	pthread_mutex_unlock(&q->mu);
	return !quit;
}

void
acrt__rxq_backoff(acrt__rxq *q, bool acker, int64_t until)
{
	pthread_mutex_lock(&q->mu);
	if (!q->stop && !q->cancelled)
		(void)acrt__cond_wait_until(acker ? &q->ack_cv : &q->room_cv, &q->mu, until);
	pthread_mutex_unlock(&q->mu);
}

int
acrt__rxq_decode(const void *msg, size_t len, acrt_event **evs, size_t *nev, long *marker,
                 const char **why)
{
	size_t off = 0, rlen = 0;
	const void *rec = NULL;
	int fr, rc = 0;
	*nev = 0;
	*marker = -1;
	while (rc == 0 && (fr = acrt__wire_next(msg, len, &off, &rec, &rlen)) == 1) {
		int kind = 0;
		acrt_event *ev = NULL;
		uint32_t producer = 0;
		rc = acrt__wire_decode(rec, rlen, &kind, &ev, &producer, why);
		if (rc != 0)
			break;
		if (kind == ACRT__WIRE_EOS) {
			*marker = producer < 64 ? (long)producer : 63;
		} else if (*nev == ACRT__RXQ_PER_MSG) {
			acrt_event_unref(ev);
			*why = "more than 64 events in one message";
			rc = -1;
		} else {
			evs[(*nev)++] = ev;
		}
	}
	if (rc == 0 && fr < 0) {
		*why = "broken framing";
		rc = -1;
	}
	if (rc != 0) {
		for (size_t i = 0; i < *nev; i++)
			acrt_event_unref(evs[i]);
		*nev = 0;
	}
	return rc;
}

bool
acrt__rxq_put(acrt__rxq *q, int rc, acrt_event **evs, size_t nev, long marker, void *tok)
{
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < nev; i++) {
		acrt__rxq_item *it = &q->ring[(q->head + q->count) % q->cap];
		it->ev = evs[i];
		it->tok = i + 1 == nev && marker < 0 ? tok : NULL;
		q->count++;
		q->received++;
	}
	bool kept = nev > 0 && marker < 0;
	if (rc == 0 && marker >= 0 && !(q->marks & (1ull << marker))) {
		q->marks |= 1ull << marker;
		q->mark_tok[marker] = tok;
		q->all_marks = (unsigned)__builtin_popcountll(q->marks) >= q->producers;
		pthread_cond_broadcast(&q->ack_cv);
		kept = true;
	} else if (rc != -2 && nev == 0) { /* a repeated marker, a bad record */
		if (rc == -1)
			q->bad++;
		if (toks_push(&q->ackq, tok) == 0) { /* never deliverable: acknowledge it */
			pthread_cond_broadcast(&q->ack_cv);
			kept = true;
		}
	}
	pthread_mutex_unlock(&q->mu);
	if (!kept && tok != NULL) /* out of memory: delivered again on the next run */
		q->free_tok(tok);
	return nev > 0;
}

void
acrt__rxq_redelivered(acrt__rxq *q, size_t n)
{
	pthread_mutex_lock(&q->mu);
	q->redelivered += n;
	pthread_mutex_unlock(&q->mu);
}

/* ---- Acker ----------------------------------------------------------------- */

/* Everything handed out is acknowledged and no more will come (mu held). */
static bool
finished(const acrt__rxq *q)
{
	return (q->all_marks || draining(q)) && !q->ended && !q->reading && q->count == 0 &&
	       q->handed_total == 0 && q->ackq.n == 0;
}

bool
acrt__rxq_ack_wait(acrt__rxq *q, acrt__rxq_toks *mine)
{
	pthread_mutex_lock(&q->mu);
	while (!q->stop && !q->cancelled && q->ackq.n == 0 && mine->n == 0 && !finished(q))
		(void)acrt__cond_wait_until(&q->ack_cv, &q->mu, acrt__mono_ns() + WAIT_NS);
	bool quit = q->stop || q->cancelled;
	if (!quit && q->ackq.n > 0)
		(void)toks_move(mine, &q->ackq); /* out of memory: the next round */
	pthread_mutex_unlock(&q->mu);
	return !quit;
}

void
acrt__rxq_acked(acrt__rxq *q, size_t n)
{
	pthread_mutex_lock(&q->mu);
	q->acked += n;
	pthread_mutex_unlock(&q->mu);
}

bool
acrt__rxq_finishing(acrt__rxq *q, void **marks, size_t *nm)
{
	pthread_mutex_lock(&q->mu);
	bool fin = finished(q);
	*nm = 0;
	for (unsigned p = 0; fin && q->all_marks && p < 64; p++)
		if (q->marks & (1ull << p))
			marks[(*nm)++] = q->mark_tok[p];
	pthread_mutex_unlock(&q->mu);
	return fin;
}

void
acrt__rxq_end(acrt__rxq *q)
{
	pthread_mutex_lock(&q->mu);
	q->ended = true;
	for (unsigned p = 0; q->all_marks && p < 64; p++)
		if (q->mark_tok[p] != NULL) { /* acknowledged by the acker */
			q->free_tok(q->mark_tok[p]);
			q->mark_tok[p] = NULL;
		}
	pthread_mutex_unlock(&q->mu);
	acrt__waitq_notify(q->wq);
}

/* ---- Transport ops --------------------------------------------------------- */

/* Everything handed to consumer pc is processed: its tokens go to the acker.
 * False when out of memory (they stay for the next time). mu held. */
static bool
ack_handed(acrt__rxq *q, acrt__rxq_consumer *pc)
{
	size_t n = pc->handed.n;
	if (toks_move(&q->ackq, &pc->handed) != 0)
		return false;
	q->handed_total -= n;
	pthread_cond_broadcast(&q->ack_cv);
	return true;
}

size_t
acrt__rxq_try_recv(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
                   acrt__rx_status *st)
{
	acrt__rxq *q = (acrt__rxq *)t;
	size_t k = 0;
	pthread_mutex_lock(&q->mu);
	acrt__rxq_consumer *pc = &q->per[consumer < q->consumers ? consumer : 0];
	if (q->cancelled) {
		*st = ACRT__RX_CANCELED;
		goto out;
	}
	if (pc->empty_seen && ack_handed(q, pc)) /* what it was handed is processed */
		pc->empty_seen = false;
	if (q->count > 0) {
		k = q->count < max ? q->count : max;
		/* End on a message's last event when possible, so that one replica
		 * gets a whole message and acknowledges it after all of it. */
		size_t b = k;
		while (k < q->count && b > 0 && q->ring[(q->head + b - 1) % q->cap].tok == NULL)
			b--;
		if (k < q->count && b > 0)
			k = b;
		size_t taken = 0;
		for (; taken < k; taken++) {
			acrt__rxq_item *it = &q->ring[(q->head + taken) % q->cap];
			if (it->tok != NULL && toks_push(&pc->handed, it->tok) != 0)
				break; /* out of memory: hand out fewer */
			q->handed_total += it->tok != NULL;
			it->tok = NULL;
			evs[taken] = it->ev;
		}
		k = taken;
		q->head = (q->head + k) % q->cap;
		q->count -= k;
		*st = k > 0 ? ACRT__RX_ITEMS : ACRT__RX_EMPTY;
		pthread_cond_broadcast(&q->room_cv);
	} else if (q->ended) {
		*st = ACRT__RX_EOS;
	} else {
		pc->empty_seen = true;
		*st = ACRT__RX_EMPTY;
		if (q->all_marks) /* the acker may now finish */
			pthread_cond_broadcast(&q->ack_cv);
	}
out:
	pthread_mutex_unlock(&q->mu);
	return k;
}

void
acrt__rxq_processed(acrt__transport *t, unsigned consumer)
{
	acrt__rxq *q = (acrt__rxq *)t;
	pthread_mutex_lock(&q->mu);
	(void)ack_handed(q, &q->per[consumer < q->consumers ? consumer : 0]); /* else at the next */
	pthread_mutex_unlock(&q->mu);
}

void
acrt__rxq_cancel(acrt__transport *t)
{
	acrt__rxq *q = (acrt__rxq *)t;
	pthread_mutex_lock(&q->mu);
	q->cancelled = true;
	pthread_cond_broadcast(&q->room_cv);
	pthread_cond_broadcast(&q->ack_cv);
	pthread_mutex_unlock(&q->mu);
	acrt__waitq_notify(q->wq);
}

void
acrt__rxq_stats(acrt__transport *t, acrt__transport_stats *out)
{
	acrt__rxq *q = (acrt__rxq *)t;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&q->mu);
	out->received = q->received;
	out->depth = q->count;
	out->capacity = q->cap;
	out->in_flight = q->handed_total;
	out->redelivered = q->redelivered;
	pthread_mutex_unlock(&q->mu);
	out->remote = 2;
	out->connected = atomic_load(&q->connected);
	out->backlog = atomic_load(&q->backlog);
	out->bound = q->bound;
}
