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
#include "transport/side.h"
#include "transport/wire.h"

#define WAIT_NS 200000000LL /* how often a waiting thread looks at stop */

static int hold(acrt__rxq *q, void *tok);

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
	return acrt__rxq_init_per(q, name, capacity, ACRT__RXQ_PER_MSG, consumers, producers, wq,
	                          stopping, free_tok, err, errlen);
}

int
acrt__rxq_init_per(acrt__rxq *q, const char *name, size_t capacity, size_t per_msg,
                   unsigned consumers, unsigned producers, acrt__waitq *wq,
                   const _Atomic bool *stopping, void (*free_tok)(void *), char *err, size_t errlen)
{
	if (consumers == 0 || consumers > 64 || producers == 0 || producers > 64 || capacity == 0 ||
	    wq == NULL || per_msg < ACRT__RXQ_PER_MSG || per_msg > ACRT__RXQ_PER_MSG_MAX) {
		snprintf(err, errlen, "bad replica counts or buffer_size for a remote binding");
		return -1;
	}
	q->wq = wq;
	q->stopping = stopping;
	q->free_tok = free_tok;
	/* Half the broker's bound: the other half stays for the producer to
	 * publish into while the consumer works through this one, which it
	 * acknowledges a quarter of the bound at a time (processed_every). */
	q->per_msg = per_msg;
	q->cap = capacity / 2 > per_msg ? capacity / 2 : per_msg;
	q->base.processed_every = q->cap / 2 > per_msg ? q->cap / 2 : per_msg;
	q->consumers = consumers;
	q->producers = producers;
	q->bound = (capacity + per_msg - 1) / per_msg;
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
	toks_free(q, &q->held.toks);
	acrt__free(q->held.tag);
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
	       (q->cap - q->count < q->per_msg || q->all_marks || draining(q)))
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
acrt__rxq_decode(const void *msg, size_t len, acrt_event **evs, size_t max, size_t *nev,
                 long *marker, uint64_t seq[2], const char **why)
{
	size_t off = 0, rlen = 0;
	const void *rec = NULL;
	int fr, rc = 0;
	*nev = 0;
	*marker = -1;
	seq[0] = seq[1] = 0;
	while (rc == 0 && (fr = acrt__wire_next(msg, len, &off, &rec, &rlen)) == 1) {
		int kind = 0;
		acrt_event *ev = NULL;
		uint32_t producer = 0;
		rc = acrt__wire_decode(rec, rlen, &kind, &ev, &producer, why);
		if (rc != 0)
			break;
		if (kind == ACRT__WIRE_EOS) {
			*marker = producer < 64 ? (long)producer : 63;
		} else if (kind == ACRT__WIRE_SEQ) {
			acrt__wire_seq(rec, rlen, &seq[0], &seq[1]);
		} else if (*nev == max) {
			acrt_event_unref(ev);
			*why = "more events in one message than the binding packs";
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
acrt__rxq_put(acrt__rxq *q, int rc, acrt_event **evs, size_t nev, long marker,
              const uint64_t seq[2], void *tok)
{
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < nev; i++) {
		acrt__rxq_item *it = &q->ring[(q->head + q->count) % q->cap];
		it->ev = evs[i];
		it->tok = i + 1 == nev && marker < 0 ? tok : NULL;
		it->epoch = seq[0];
		it->seq = seq[1] != 0 ? seq[1] + i : 0;
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
	/* At a stop, what is due is acknowledged first, in one more attempt
	 * (the last checkpoint's messages); a failure leaves them to the next
	 * run, which drops them as duplicates. */
	bool quit =
	    q->cancelled || (q->stop && ((q->ackq.n == 0 && mine->n == 0) || q->stop_tried));
	if (q->stop && !quit)
		q->stop_tried = true;
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
	for (unsigned p = 0; fin && q->all_marks && p < 64; p++) {
		if (!(q->marks & (1ull << p)))
			continue;
		if (!q->eo)
			marks[(*nm)++] = q->mark_tok[p];
		else if (hold(q, q->mark_tok[p]) == 0) /* with the last checkpoint */
			q->mark_tok[p] = NULL;
	}
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

/* Everything handed to consumer pc is processed: its tokens go to the acker,
 * or with checkpoints are held for the next one. False when out of memory
 * (they stay for the next time). mu held. */
static bool
ack_handed(acrt__rxq *q, acrt__rxq_consumer *pc)
{
	size_t n = pc->handed.n;
	if (q->eo) {
		size_t i = 0;
		while (i < n && hold(q, pc->handed.v[i]) == 0)
			i++;
		if (i > 0 && i < n)
			memmove(pc->handed.v, pc->handed.v + i, (n - i) * sizeof *pc->handed.v);
		pc->handed.n -= i;
		q->handed_total -= i;
		return i == n;
	}
	if (toks_move(&q->ackq, &pc->handed) != 0)
		return false;
	q->handed_total -= n;
	pthread_cond_broadcast(&q->ack_cv);
	return true;
}

/* A token acknowledged once this side's next checkpoint is stored. 0, or -1
 * when out of memory. mu held. */
static int
hold(acrt__rxq *q, void *tok)
{
	acrt__rxq_held *h = &q->held;
	if (h->toks.n == h->toks.cap) {
		size_t cap = h->toks.cap ? h->toks.cap * 2 : 256;
		uint64_t *tag = acrt__realloc(h->tag, cap * sizeof *tag);
		if (tag == NULL)
			return -1;
		h->tag = tag;
		void **v = acrt__realloc(h->toks.v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		h->toks.v = v;
		h->toks.cap = cap;
	}
	h->tag[h->toks.n] = q->last_inj;
	h->toks.v[h->toks.n++] = tok;
	q->held_new++;
	return 0;
}

/* With checkpoints: whether the messages held since the last barrier call
 * for a checkpoint soon (a quarter of the broker's bound), once per barrier.
 * mu held. */
static bool
want_checkpoint(acrt__rxq *q)
{
	uint64_t quarter = q->bound / 4 > 0 ? q->bound / 4 : 1;
	if (!q->eo || q->nudged || q->held_new < quarter)
		return false;
	q->nudged = true;
	return true;
}

/* With checkpoints: hands barrier trig's event to replica pc, opening it
 * when the trigger has risen. Returns 1 (barrier in *ev), 0 (nothing to do),
 * -1 (pc waits for the other replicas to take it). mu held. */
static int
barrier_for(acrt__rxq *q, acrt__rxq_consumer *pc, acrt_event **ev)
{
	uint64_t aborted = atomic_load_explicit(q->ck.aborted, memory_order_acquire);
	if (q->inj != 0 && q->inj <= aborted)
		q->inj = 0; /* abandoned: nobody waits for it */
	if (q->inj == 0) {
		uint64_t trig = atomic_load_explicit(q->ck.trigger, memory_order_acquire);
		if (trig <= q->last_inj || trig <= aborted || q->ended)
			return 0;
		q->inj = q->last_inj = trig;
		q->inj_taken = 0;
		q->inj_epoch = q->hw_epoch;
		q->inj_seq = q->hw_seq;
		q->nudged = false;
		q->held_new = 0; /* what is held now, the barrier covers */
	}
	if (pc->bar_taken >= q->inj)
		return -1;
	if ((*ev = acrt__event_new_barrier(q->inj)) == NULL)
		return 0; /* out of memory: the checkpoint will be aborted */
	pc->bar_taken = q->inj;
	if (++q->inj_taken == q->consumers)
		q->inj = 0;
	return 1;
}

/* An event that a sending side's sequence says was handed out already. */
static bool
duplicate(const acrt__rxq *q, const acrt__rxq_item *it)
{
	return it->seq != 0 &&
	       (it->epoch < q->hw_epoch || (it->epoch == q->hw_epoch && it->seq <= q->hw_seq));
}

size_t
acrt__rxq_try_recv(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
                   acrt__rx_status *st)
{
	acrt__rxq *q = (acrt__rxq *)t;
	size_t k = 0;
	bool nudge = false, others = false;
	pthread_mutex_lock(&q->mu);
	acrt__rxq_consumer *pc = &q->per[consumer < q->consumers ? consumer : 0];
	if (q->cancelled) {
		*st = ACRT__RX_CANCELED;
		goto out;
	}
	if (pc->empty_seen && ack_handed(q, pc)) /* what it was handed is processed */
		pc->empty_seen = false;
	nudge = want_checkpoint(q);
	if (q->eo && max > 0) {
		int b = barrier_for(q, pc, &evs[0]);
		if (b != 0) {
			k = b > 0;
			*st = b > 0 ? ACRT__RX_ITEMS : ACRT__RX_EMPTY;
			others = b > 0 && q->inj != 0; /* the other replicas take it too */
			goto out;
		}
	}
	while (k == 0 && q->count > 0) {
		size_t n = q->count < max ? q->count : max;
		/* End on a message's last event when possible, so that one replica
		 * gets a whole message and acknowledges it after all of it. */
		size_t b = n;
		while (n < q->count && b > 0 && q->ring[(q->head + b - 1) % q->cap].tok == NULL)
			b--;
		if (n < q->count && b > 0)
			n = b;
		size_t taken = 0;
		bool acked = false;
		for (; taken < n; taken++) {
			acrt__rxq_item *it = &q->ring[(q->head + taken) % q->cap];
			bool dup = duplicate(q, it);
			if (it->tok != NULL) {
				/* A duplicate's message (all of it: sequences rise) is
				 * acknowledged as if processed. */
				int rc =
				    dup ? (q->eo ? hold(q, it->tok) : toks_push(&q->ackq, it->tok))
				        : toks_push(&pc->handed, it->tok);
				if (rc != 0)
					break; /* out of memory: hand out fewer (it stays) */
				q->handed_total += !dup;
				acked |= dup && !q->eo;
				it->tok = NULL;
			}
			if (dup) {
				acrt_event_unref(it->ev);
				q->dups++;
				continue;
			}
			if (it->seq != 0) { /* taken: the last sequence handed out */
				q->hw_epoch = it->epoch;
				q->hw_seq = it->seq;
			}
			evs[k++] = it->ev;
		}
		q->head = (q->head + taken) % q->cap;
		q->count -= taken;
		pthread_cond_broadcast(&q->room_cv);
		if (acked) /* a duplicate's message is for the acker now */
			pthread_cond_broadcast(&q->ack_cv);
		if (taken < n)
			break;
	}
	if (k > 0) {
		*st = ACRT__RX_ITEMS;
	} else if (q->count > 0) {
		*st = ACRT__RX_EMPTY; /* out of memory: the next call tries again */
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
	if (nudge)
		q->ck.nudge(q->ck.arg);
	if (others)
		acrt__waitq_notify(q->wq);
	return k;
}

void
acrt__rxq_processed(acrt__transport *t, unsigned consumer)
{
	acrt__rxq *q = (acrt__rxq *)t;
	pthread_mutex_lock(&q->mu);
	(void)ack_handed(q, &q->per[consumer < q->consumers ? consumer : 0]); /* else at the next */
	bool nudge = want_checkpoint(q);
	pthread_mutex_unlock(&q->mu);
	if (nudge)
		q->ck.nudge(q->ck.arg);
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
	out->duplicates = q->dups;
	pthread_mutex_unlock(&q->mu);
	out->remote = 2;
	out->connected = atomic_load(&q->connected);
	out->fenced = atomic_load(&q->fenced);
	out->backlog = atomic_load(&q->backlog);
	out->bound = q->bound;
}

/* ---- Checkpoints ----------------------------------------------------------- */

void
acrt__rxq_ck_start(acrt__transport *t, const acrt__ck_link *link)
{
	acrt__rxq *q = (acrt__rxq *)t;
	pthread_mutex_lock(&q->mu);
	q->ck = *link;
	q->eo = true;
	pthread_mutex_unlock(&q->mu);
}

void
acrt__rxq_ck_save(acrt__transport *t, uint64_t id, unsigned char out[ACRT__HOP_PART])
{
	acrt__rxq *q = (acrt__rxq *)t;
	pthread_mutex_lock(&q->mu);
	bool at_barrier = id == q->last_inj;
	acrt__wire_hop_put(out, 2, at_barrier ? q->inj_epoch : q->hw_epoch,
	                   at_barrier ? q->inj_seq : q->hw_seq);
	pthread_mutex_unlock(&q->mu);
}

int
acrt__rxq_ck_load(acrt__transport *t, const unsigned char *p, size_t n, char *why, size_t whylen)
{
	acrt__rxq *q = (acrt__rxq *)t;
	return acrt__side_pos_load(&q->mu, 2, &q->hw_epoch, &q->hw_seq, p, n, why, whylen);
}

void
acrt__rxq_ck_committed(acrt__transport *t, uint64_t id)
{
	acrt__rxq *q = (acrt__rxq *)t;
	pthread_mutex_lock(&q->mu);
	acrt__rxq_held *h = &q->held;
	size_t n = 0;
	while (n < h->toks.n && h->tag[n] < id && toks_push(&q->ackq, h->toks.v[n]) == 0)
		n++;
	if (n > 0 && n < h->toks.n) {
		memmove(h->toks.v, h->toks.v + n, (h->toks.n - n) * sizeof *h->toks.v);
		memmove(h->tag, h->tag + n, (h->toks.n - n) * sizeof *h->tag);
	}
	h->toks.n -= n;
	if (n > 0)
		pthread_cond_broadcast(&q->ack_cv);
	pthread_mutex_unlock(&q->mu);
}
