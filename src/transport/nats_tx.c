/*
 * nats_tx.c - the sending side of the nats transport (nats.h): a window of
 * framed messages that a publisher thread publishes asynchronously, in order,
 * and publishes again from the first failure.
 *
 * send() frames up to per_msg events (nats_int.h: buffer_size / 32, 64 to 256) per message into
 * a slot of the window (WINDOW messages, or half the stream's bound when smaller), releases the
 * events and returns; it waits
 * only while the window is full. The publisher thread publishes each new slot (js_PublishAsync) and
 * nats.c's acknowledgement handler marks it acked or failed; acked slots at the head free their
 * room (the handler frees them itself: the publisher is woken only for a failure). So a hop costs
 * one broker round trip per WINDOW messages, not per message, and the producer's thread never
 * touches the network. A lazy send (a full outbox, more to come) wakes the publisher once per
 * WAKE_BATCH new messages, which it then publishes together, and leaves its last message open:
 * the next send adds to it (a message once published is never added to: its Nats-Msg-Id names
 * its bytes). kick(), a barrier, close(), a full window and every eager send wake it at once,
 * the open message included.
 *
 * Invariants:
 *   1. Bounded: the stream holds at most ceil(buffer_size / per_msg) messages
 *      (DiscardNew: the broker refuses one more, JetStream error 10077); a
 *      refused message waits in the window, the window's room holds the
 *      producer back. Nothing is trimmed: a message leaves the work-queue
 *      stream only when its consumer acknowledges it, after all its events
 *      were processed (rxq.h). Local memory: WINDOW messages.
 *   2. In order, never lost: each message carries ExpectLastSeq, the
 *      sequence the stream's last message must have, so when one fails every
 *      later one fails too (10071) and none is stored out of order. After a
 *      failure the thread waits for every answer (or takes back what has
 *      none after ACK_WAIT), backs off (polls while the stream is full), asks
 *      the stream's last sequence and publishes again from the first
 *      unacknowledged slot. A message keeps its id (Nats-Msg-Id: a random
 *      per-process nonce and the slot's number) across resends, so one the
 *      broker had stored is answered as a duplicate, not stored twice.
 *   3. End of stream: close() puts one marker message per producer instance
 *      in the window after its data and waits until the broker has it.
 *   4. Sequences (wire.h): each message opens with the epoch and the
 *      sequence of its first event, so the receiving side drops what it has
 *      already had. With checkpoints, a barrier waits until the broker has
 *      every message before it, and the checkpoint keeps the epoch and the
 *      last sequence (ck_save): a producer resumed from it sends the same
 *      sequences again (docs/MULTINODE.md, "Exactly-once across nodes").
 * A message past the server's max_payload cannot cross: its event is logged
 * and counted (stats.dropped: lost).
 *
 * Locks: tx->mu guards the window and the counters; the producers, the
 * publisher thread and nats.c's handler thread take it. The thread publishes
 * with mu held (an asynchronous publish does not wait for answers: the window
 * is far below nats.c's pending limit) and releases it around its requests
 * to the broker (probe), so that stats and producers never wait on the
 * network.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/common.h"
#include "core/event.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "transport/nats.h"
#include "transport/nats_int.h"
#include "transport/side.h"
#include "transport/wire.h"

#define WINDOW 64                /* messages in flight: 4,096 events */
#define ACK_WAIT_NS 5000000000LL /* an answer later than this is lost */
#define TICK_NS 100000000LL      /* the thread's look at timeouts and stop */
#define ID_HDR "Nats-Msg-Id"
#define WAKE_BATCH 8 /* new messages that wake the publisher during lazy sends */

enum { S_FREE, S_NEW, S_SENT, S_ACKED, S_FAILED };

typedef struct slot {
	acrt__strbuf rec; /* the framed message */
	size_t nev;       /* its data events */
	bool open;        /* S_NEW and never published: a send may add events */
	uint64_t id;      /* its number: Nats-Msg-Id is nonce-id */
	int state;
	int jerr;      /* S_FAILED: the JetStream error */
	natsStatus st; /* S_FAILED: nats.c's status */
	int64_t at;    /* S_SENT: when */
} slot;

typedef struct tx {
	acrt__transport base;
	nlink l;
	pthread_mutex_t mu;
	pthread_cond_t room_cv, work_cv; /* CLOCK_MONOTONIC */
	slot win[WINDOW];
	uint64_t head, next; /* ids [head, next) are in the window */
	uint64_t unwoken;    /* new slots the publisher was not woken for (lazy sends) */
	bool hold_open;      /* a lazy send left the last slot open: more comes */
	uint64_t limit;      /* the window's size: WINDOW, or the stream's bound if less */
	uint64_t expect;     /* the stream's last sequence before the next publish */
	int64_t credit;      /* messages the stream surely has room for (flow control) */
	bool cancelled, stop;
	bool fenced;        /* another process claimed this side: nothing more goes out */
	int64_t checked;    /* when the claim was last found this process's */
	atomic_uint closed; /* producers closed: the next marker's index */
	size_t capacity;
	char nonce[20];
	int64_t backoff_ns, poll_ns;
	uint64_t sent, blocked_ns, resent;
	uint64_t epoch, seq; /* this side's epoch; the last event's sequence */
	atomic_uint_fast64_t dropped;
	pthread_t thread;
	bool thread_on;
} tx;

static slot *
at(tx *t, uint64_t id)
{
	return &t->win[id % WINDOW];
}

/* Frees the acknowledged slots at the head (mu held). */
static void
retire(tx *t)
{
	bool freed = false;
	while (t->head < t->next && at(t, t->head)->state == S_ACKED) {
		at(t, t->head)->state = S_FREE;
		t->head++;
		freed = true;
	}
	if (freed) {
		t->backoff_ns = 0;
		t->poll_ns = 0;
		pthread_cond_broadcast(&t->room_cv);
	}
}

/* nats.c's thread: the broker's answer to one asynchronous publish. */
static void
on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	tx *t = closure;
	const char *hid = NULL;
	if (natsMsgHeader_Get(msg, ID_HDR, &hid) == NATS_OK && hid != NULL) {
		const char *dash = strrchr(hid, '-');
		uint64_t id = dash != NULL ? strtoull(dash + 1, NULL, 10) : 0;
		pthread_mutex_lock(&t->mu);
		slot *s = at(t, id);
		if (id >= t->head && id < t->next && s->id == id && s->state == S_SENT) {
			if (pa != NULL) { /* frees the head here: no wake of the publisher */
				s->state = S_ACKED;
				retire(t);
			} else {
				s->state = S_FAILED;
				s->jerr = pae != NULL ? (int)pae->ErrCode : 0;
				s->st = pae != NULL ? pae->Err : NATS_ERR;
				pthread_cond_broadcast(&t->work_cv);
			}
		}
		pthread_mutex_unlock(&t->mu);
	}
	natsMsg_Destroy(msg);
}

/* Publishes slot s asynchronously (mu held); a refusal at once marks it
 * failed. */
static void
publish(tx *t, slot *s)
{
	char id[48];
	snprintf(id, sizeof id, "%s-%llu", t->nonce, (unsigned long long)s->id);
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MsgId = id;
	po.ExpectLastSeq = t->expect; /* 0: not checked (an empty stream) */
	s->open = false;              /* its id now names these bytes (a resend must match) */
	natsStatus st = js_PublishAsync(t->l.js, t->l.subject, s->rec.p, (int)s->rec.len, &po);
	s->at = acrt__mono_ns();
	t->expect++;
	if (st == NATS_OK) {
		s->state = S_SENT;
	} else {
		s->state = S_FAILED;
		s->st = st;
		s->jerr = 0;
	}
}

/* Asks the stream its last sequence and message count (a request of up to
 * the context's wait, 5 s, while the broker is away): mu is released around
 * it, so that producers, stats and the acknowledgement handler never wait
 * for the network. Only the publisher thread calls it. 0, or -1 with err. */
static int
probe(tx *t, char *err, size_t errlen)
{
	pthread_mutex_unlock(&t->mu);
	int rc = acrt__nl_last_seq(&t->l, err, errlen);
	pthread_mutex_lock(&t->mu);
	return rc;
}

/* Asks the stream how many messages it holds (a small request) and sets
 * the credit to its room. False when it has none (when it cannot say, a
 * publish will meet the failure and recover from it). mu held. */
static bool
ask_room(tx *t)
{
	char err[300];
	if (probe(t, err, sizeof err) != 0) {
		t->credit = 1;
		return true;
	}
	t->credit = t->l.msgs < (uint64_t)t->l.max_msgs ? t->l.max_msgs - (int64_t)t->l.msgs : 0;
	if (t->credit > 0)
		t->poll_ns = 0;
	return t->credit > 0;
}

/* The first failed slot, or NULL (mu held). */
static slot *
first_failed(tx *t)
{
	for (uint64_t id = t->head; id < t->next; id++)
		if (at(t, id)->state == S_FAILED)
			return at(t, id);
	return NULL;
}

static bool
any_sent(tx *t)
{
	for (uint64_t id = t->head; id < t->next; id++)
		if (at(t, id)->state == S_SENT)
			return true;
	return false;
}

/* Answers later than ACK_WAIT (a broker gone): nats.c hands back what it
 * still waits for (its answers would be dropped), and those slots fail. */
static void
expire(tx *t, int64_t now)
{
	bool late = false;
	for (uint64_t id = t->head; id < t->next && !late; id++)
		late = at(t, id)->state == S_SENT && now - at(t, id)->at > ACK_WAIT_NS;
	if (!late)
		return;
	natsMsgList pending = {0};
	if (js_PublishAsyncGetPendingList(&pending, t->l.js) == NATS_OK)
		natsMsgList_Destroy(&pending);
	for (uint64_t id = t->head; id < t->next; id++)
		if (at(t, id)->state == S_SENT) {
			at(t, id)->state = S_FAILED;
			at(t, id)->st = NATS_TIMEOUT;
			at(t, id)->jerr = 0;
		}
}

/* The stream is full: waits the next poll interval (0.2 ms doubling to
 * 10 ms, reset once room is found), or until woken. mu held. */
static void
poll_wait(tx *t)
{
	t->poll_ns =
	    acrt__hop_next_wait(t->poll_ns, ACRT__HOP_POLL_FIRST_NS, ACRT__HOP_POLL_MAX_NS);
	(void)acrt__cond_wait_until(&t->work_cv, &t->mu, acrt__mono_ns() + t->poll_ns);
}

/* After a failure, once nothing is in flight: wait (polling while the
 * stream is full, else backing off with a warning), learn the stream's last
 * sequence, and mark every slot from the first unacknowledged one for
 * publishing again, in order. mu held; released while waiting. */
static void
recover(tx *t, slot *f)
{
	int64_t wait;
	char err[300];
	if (f->jerr == JSStreamStoreFailedErr) { /* full: the consumer is behind */
		/* Ask for room (a small request) rather than publish the window
		 * again into a full stream, polling 0.2 ms doubling to 10 ms. */
		for (;;) {
			poll_wait(t);
			if (t->stop || t->cancelled)
				return;
			if (probe(t, err, sizeof err) != 0 || t->l.msgs < (uint64_t)t->l.max_msgs)
				break;
		}
		wait = 0;
	} else {
		if (f->jerr != JSStreamWrongLastSequenceErr)
			acrt__nl_warn(&t->l, "publish", f->st, f->jerr);
		t->backoff_ns = acrt__hop_next_wait(t->backoff_ns, ACRT__HOP_BACKOFF_FIRST_NS,
		                                    ACRT__HOP_BACKOFF_MAX_NS);
		wait = f->jerr == JSStreamWrongLastSequenceErr ? 0 : t->backoff_ns;
	}
	if (wait > 0)
		(void)acrt__cond_wait_until(&t->work_cv, &t->mu, acrt__mono_ns() + wait);
	if (t->stop || t->cancelled)
		return;
	if (probe(t, err, sizeof err) != 0) {
		acrt__nl_warn(&t->l, err, NATS_ERR, 0);
		return; /* the slots stay failed: the next round tries again */
	}
	t->expect = t->l.last_seq;
	t->credit = t->l.msgs < (uint64_t)t->l.max_msgs ? t->l.max_msgs - (int64_t)t->l.msgs : 0;
	/* After a full stream, only as many as it has room for now (the rest
	 * stay failed, behind them: the next round asks again); else all. */
	uint64_t room = f->jerr == JSStreamStoreFailedErr && t->l.msgs < (uint64_t)t->l.max_msgs
	                    ? (uint64_t)t->l.max_msgs - t->l.msgs
	                    : UINT64_MAX;
	for (uint64_t id = t->head; id < t->next && room > 0; id++)
		if (at(t, id)->state != S_ACKED) {
			at(t, id)->state = S_NEW;
			t->resent++;
			room--;
		}
}

/* Before publishing after a pause: is the side still this process's? False
 * once another process claimed it (fenced: logged, producers woken). mu
 * held; released around the request. */
static bool
still_owned(tx *t, int64_t now)
{
	if (now - t->checked < ACRT__HOP_FENCE_CHECK_NS)
		return true;
	char err[300];
	pthread_mutex_unlock(&t->mu);
	int own = acrt__nl_owned(&t->l, err, sizeof err);
	pthread_mutex_lock(&t->mu);
	if (own != 0) { /* unknown (the broker is away): the publish will say */
		t->checked = own > 0 ? now : t->checked;
		return true;
	}
	acrt__nl_fenced(&t->l, "sending");
	t->fenced = true;
	pthread_cond_broadcast(&t->room_cv);
	return false;
}

static bool
any_new(tx *t)
{
	for (uint64_t id = t->head; id < t->next; id++)
		if (at(t, id)->state == S_NEW)
			return true;
	return false;
}

static void *
publisher_main(void *arg)
{
	tx *t = arg;
	pthread_mutex_lock(&t->mu);
	while (!t->stop && !t->cancelled) {
		retire(t);
		int64_t now = acrt__mono_ns();
		expire(t, now);
		if (any_new(t) && !still_owned(t, now))
			break;
		/* New slots go in order, up to the first failed one (those after it
		 * wait for its recovery, so that none overtakes it), as far as the
		 * stream surely has room: past that, ask it (credit). */
		bool work = false, starved = false;
		for (uint64_t id = t->head; id < t->next && at(t, id)->state != S_FAILED; id++) {
			if (at(t, id)->state != S_NEW)
				continue;
			if (t->hold_open && id + 1 == t->next && at(t, id)->open)
				break; /* the producer fills it further (lazy send) */
			if (t->credit <= 0 && (starved = !ask_room(t)))
				break;
			publish(t, at(t, id));
			t->credit--;
			work = true;
		}
		if (starved && !work) { /* full: the consumer is behind */
			poll_wait(t);
			continue;
		}
		slot *f = first_failed(t);
		if (f != NULL && !work && !any_sent(t)) {
			recover(t, f);
			continue;
		}
		if (!work)
			(void)acrt__cond_wait_until(&t->work_cv, &t->mu, now + TICK_NS);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* Wakes the publisher for the new slots; with `all`, for the open one too
 * (mu held). */
static void
wake(tx *t, bool all)
{
	if (all && t->hold_open) {
		t->hold_open = false;
		t->unwoken++;
	}
	if (t->unwoken > 0) {
		t->unwoken = 0;
		pthread_cond_broadcast(&t->work_cv);
	}
}

/* Takes a free slot for the next message, waiting for room until deadline.
 * NULL (with *rc) on a timeout or cancel. mu held. */
static slot *
take_slot(tx *t, int64_t deadline, int *rc)
{
	int64_t t0 = 0;
	if (t->next - t->head >= t->limit)
		wake(t, true); /* about to wait for room: everything new must go out */
	while (t->next - t->head >= t->limit || t->fenced) {
		if (t->cancelled || t->fenced) {
			*rc = t->fenced ? ACRT_EFATAL : ACRT_ECANCELED;
			break;
		}
		int64_t now = acrt__mono_ns();
		if (now >= deadline) {
			*rc = ACRT_ETIMEDOUT;
			break;
		}
		if (t0 == 0)
			t0 = now;
		(void)acrt__cond_wait_until(&t->room_cv, &t->mu, deadline);
	}
	if (t0 != 0)
		t->blocked_ns += (uint64_t)(acrt__mono_ns() - t0);
	if (t->next - t->head >= t->limit || t->fenced)
		return NULL;
	slot *s = at(t, t->next);
	s->id = t->next;
	s->rec.len = 0;
	s->nev = 0;
	s->open = false;
	return s;
}

/* The last slot, when it is still open for more events (mu held). */
static slot *
open_slot(tx *t)
{
	if (t->next == t->head)
		return NULL;
	slot *s = at(t, t->next - 1);
	return s->open && s->state == S_NEW && s->nev < t->l.per_msg ? s : NULL;
}

/* Frames evs[0..m) into s->rec (after a sequence record when s is empty,
 * else after its events), fewer when the message would pass the broker's
 * max_payload. Returns how many; 0 when evs[0] does not fit: *big is then
 * its size when alone it is too big for any message, 0 when s is full,
 * -1 out of memory (s is left as it was). */
static size_t
frame(tx *t, slot *s, acrt_event **evs, size_t m, int64_t *big)
{
	int64_t max = natsConnection_GetMaxPayload(t->l.nc);
	size_t entry = s->rec.len;
	if (s->nev == 0 && acrt__wire_frame_seq(t->epoch, t->seq + 1, &s->rec) != 0)
		goto oom;
	for (size_t i = 0; i < m; i++) {
		size_t before = s->rec.len;
		if (acrt__wire_frame(evs[i], &s->rec) != 0)
			goto oom;
		if (max > 0 && (int64_t)s->rec.len > max) {
			if (i == 0)
				*big = s->nev == 0 ? (int64_t)(s->rec.len - before) : 0;
			s->rec.len = before;
			return i;
		}
	}
	return m;
oom:
	s->rec.len = entry;
	s->rec.oom = false;
	*big = -1;
	return 0;
}

static int
tx_send(acrt__transport *base, acrt_event **evs, size_t n, size_t *sent_out, int64_t deadline,
        unsigned flags)
{
	tx *t = (tx *)base;
	size_t sent = 0;
	int rc = ACRT_OK;
	pthread_mutex_lock(&t->mu);
	while (sent < n) {
		/* Up to per_msg events a message: a lazy send's last message stays
		 * open (unpublished) for the next send's events. */
		slot *s = open_slot(t);
		bool fresh = s == NULL;
		if (fresh && (s = take_slot(t, deadline, &rc)) == NULL)
			break;
		int64_t big = 0;
		size_t room = t->l.per_msg - s->nev;
		size_t m = frame(t, s, evs + sent, n - sent < room ? n - sent : room, &big);
		if (m == 0 && big < 0) {
			rc = ACRT_ENOMEM;
			break;
		}
		if (m == 0 && big == 0) { /* s is full by bytes: the next one */
			s->open = false;
			continue;
		}
		if (m == 0) { /* one event past max_payload can never cross */
			acrt__log(
			    ACRT_LOG_ERROR, NULL, 0, NULL,
			    "binding %s: an event of %lld bytes is larger than the nats "
			    "broker's max_payload (%lld): it cannot cross nodes and is dropped, "
			    "counted as lost (raise max_payload in the server's configuration)",
			    t->l.bname, (long long)big,
			    (long long)natsConnection_GetMaxPayload(t->l.nc));
			acrt_event_unref(evs[sent++]);
			atomic_fetch_add(&t->dropped, 1);
			continue;
		}
		for (size_t i = 0; i < m; i++)
			acrt_event_unref(evs[sent + i]);
		sent += m;
		t->sent += m;
		t->seq += m;
		s->nev += m;
		if (fresh) {
			s->state = S_NEW;
			s->open = true;
			t->next++;
			t->unwoken++;
		}
	}
	/* A lazy send (a full outbox, more to come) wakes the publisher once
	 * per WAKE_BATCH messages (or half the window), so that it publishes
	 * them together; kick() and every other send wake it at once. */
	uint64_t batch = t->limit / 2 < WAKE_BATCH ? t->limit / 2 : WAKE_BATCH;
	bool lazy = (flags & ACRT__SEND_LAZY) && rc == ACRT_OK;
	t->hold_open = lazy && open_slot(t) != NULL;
	if (!lazy || t->unwoken >= batch)
		wake(t, !lazy);
	pthread_mutex_unlock(&t->mu);
	*sent_out = sent;
	return rc;
}

/* The producer is about to block elsewhere or end: what lazy sends left
 * goes out now. */
static void
tx_kick(acrt__transport *base)
{
	tx *t = (tx *)base;
	pthread_mutex_lock(&t->mu);
	wake(t, true);
	pthread_mutex_unlock(&t->mu);
}

/* Puts this producer instance's end marker after its data and waits until
 * the broker has everything (or the transport is cancelled). */
static void
tx_close(acrt__transport *base)
{
	tx *t = (tx *)base;
	unsigned idx = atomic_fetch_add(&t->closed, 1);
	int rc = ACRT_OK;
	pthread_mutex_lock(&t->mu);
	wake(t, true);
	slot *s = take_slot(t, ACRT__FOREVER, &rc);
	if (s != NULL && acrt__wire_frame_eos(idx, &s->rec) == 0) {
		s->state = S_NEW;
		t->next++;
		pthread_cond_broadcast(&t->work_cv);
		uint64_t mine = t->next;
		while (!t->cancelled && !t->fenced && t->head < mine)
			(void)acrt__cond_wait_until(&t->room_cv, &t->mu, ACRT__FOREVER);
	} else if (s != NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "binding %s: out of memory for the end-of-stream marker", t->l.bname);
	}
	pthread_mutex_unlock(&t->mu);
}

/* Everything sent so far is stored by the broker: the publish window is
 * acknowledged up to the last message (transport.h, sync; a barrier waits
 * for it, side.h). */
static int
tx_sync(acrt__transport *base, int64_t deadline)
{
	tx *t = (tx *)base;
	int rc = ACRT_OK;
	pthread_mutex_lock(&t->mu);
	wake(t, true);
	uint64_t mine = t->next;
	while (t->head < mine) {
		if (t->cancelled || t->fenced) {
			rc = t->fenced ? ACRT_EFATAL : ACRT_ECANCELED;
			break;
		}
		if (acrt__mono_ns() >= deadline) {
			rc = ACRT_ETIMEDOUT;
			break;
		}
		(void)acrt__cond_wait_until(&t->room_cv, &t->mu, deadline);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static uint64_t
tx_position(acrt__transport *base)
{
	tx *t = (tx *)base;
	pthread_mutex_lock(&t->mu);
	uint64_t v = t->seq;
	pthread_mutex_unlock(&t->mu);
	return v;
}

static void
tx_ck_save(acrt__transport *base, uint64_t id, unsigned char out[ACRT__HOP_PART])
{
	(void)id;
	tx *t = (tx *)base;
	acrt__side_pos_save(&t->mu, 1, &t->epoch, &t->seq, out);
}

static int
tx_ck_load(acrt__transport *base, const unsigned char *p, size_t n, char *why, size_t whylen)
{
	tx *t = (tx *)base;
	return acrt__side_pos_load(&t->mu, 1, &t->epoch, &t->seq, p, n, why, whylen);
}

static void
tx_cancel(acrt__transport *base)
{
	tx *t = (tx *)base;
	pthread_mutex_lock(&t->mu);
	t->cancelled = true;
	pthread_cond_broadcast(&t->room_cv);
	pthread_cond_broadcast(&t->work_cv);
	pthread_mutex_unlock(&t->mu);
}

static void
tx_stats(acrt__transport *base, acrt__transport_stats *out)
{
	tx *t = (tx *)base;
	memset(out, 0, sizeof *out);
	out->dropped = atomic_load(&t->dropped);
	pthread_mutex_lock(&t->mu); /* never held across a wait for the network */
	out->sent = t->sent;
	out->blocked_ns = t->blocked_ns;
	out->depth = (size_t)(t->next - t->head);
	out->in_flight = t->next - t->head;
	out->redelivered = t->resent;
	out->fenced = t->fenced;
	pthread_mutex_unlock(&t->mu);
	out->capacity = t->capacity;
	out->remote = 1;
	out->connected = !atomic_load(&t->l.down);
	out->backlog = -1;
	out->bound = (uint64_t)t->l.max_msgs;
}

static size_t
tx_destroy(acrt__transport *base)
{
	tx *t = (tx *)base;
	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_broadcast(&t->work_cv);
	pthread_cond_broadcast(&t->room_cv);
	pthread_mutex_unlock(&t->mu);
	if (t->thread_on)
		pthread_join(t->thread, NULL);
	acrt__nl_close(&t->l); /* no acknowledgement handler runs after this */
	if (t->resent > 0)
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "binding %s: %llu messages published again after a failure", t->base.name,
		          (unsigned long long)t->resent);
	for (size_t i = 0; i < WINDOW; i++)
		free(t->win[i].rec.p);
	pthread_cond_destroy(&t->room_cv);
	pthread_cond_destroy(&t->work_cv);
	pthread_mutex_destroy(&t->mu);
	acrt__free(t->base.name);
	acrt__free(t);
	return 0;
}

static const acrt__transport_ops tx_ops = {
    .kind = "nats",
    .send = tx_send,
    .kick = tx_kick,
    .try_recv = acrt__side_no_recv,
    .send_barrier = acrt__side_barrier,
    .sync = tx_sync,
    .position = tx_position,
    .close = tx_close,
    .cancel = tx_cancel,
    .stats = tx_stats,
    .destroy = tx_destroy,
    .ck_save = tx_ck_save,
    .ck_load = tx_ck_load,
};

acrt__transport *
acrt__nats_tx_new(const acrt__hop *h, char *err, size_t errlen)
{
	tx *t = acrt__calloc(1, sizeof *t);
	if (t == NULL || (t->base.name = acrt__strdup(h->name)) == NULL) {
		acrt__free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base.ops = &tx_ops;
	t->capacity = h->capacity;
	uint64_t nonce = 0;
	if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		nonce = (uint64_t)acrt__mono_ns() ^ ((uint64_t)getpid() << 32);
	snprintf(t->nonce, sizeof t->nonce, "%016llx", (unsigned long long)nonce);
	t->epoch = (uint64_t)acrt__wall_ns(); /* raised above the last run's by the claim */
	if (pthread_mutex_init(&t->mu, NULL) != 0 || acrt__cond_init_mono(&t->room_cv) != 0 ||
	    acrt__cond_init_mono(&t->work_cv) != 0) {
		acrt__free(t->base.name);
		acrt__free(t);
		snprintf(err, errlen, "cannot create a lock");
		return NULL;
	}
	if (acrt__nl_open(&t->l, h, on_ack, t, err, errlen) != 0 ||
	    acrt__nl_claim(&t->l, "send", &t->epoch, err, errlen) != 0)
		goto fail;
	t->checked = acrt__mono_ns();
	t->expect = t->l.last_seq;
	t->credit = t->l.msgs < (uint64_t)t->l.max_msgs ? t->l.max_msgs - (int64_t)t->l.msgs : 0;
	/* The consumer holds up to half the stream's bound unacknowledged
	 * (rxq.c): more than the other half in flight would only be refused. */
	int64_t half = t->l.max_msgs / 2 > 0 ? t->l.max_msgs / 2 : 1;
	t->limit = half < WINDOW ? (uint64_t)half : WINDOW;
	if (pthread_create(&t->thread, NULL, publisher_main, t) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		goto fail;
	}
	t->thread_on = true;
	return &t->base;
fail:
	tx_destroy(&t->base);
	return NULL;
}
