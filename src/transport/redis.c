/*
 * redis.c - the `redis` transport (redis.h): a binding between two nodes over
 * one Redis stream, at-least-once, bounded, with end of stream.
 *
 * Keys: the stream acrt:<system>:bind:<from.port>-><to.port>; its consumer
 * group is the consuming component, its one consumer name the same (so a
 * restarted node finds its pending entries). Each entry has one field "e":
 * the frames (wire.h) of up to PER_ENTRY (64) events, or one end marker, so
 * the broker handles one entry, one XREADGROUP item, one XACK and XDEL id per
 * 64 events.
 *
 * Invariants:
 *   1. Bounded: the sending script adds only while XLEN < ceil(capacity /
 *      64), so the stream never holds more than that many entries (at most
 *      capacity + 63 events) plus one end marker per producer instance.
 *      Nothing is trimmed: an entry leaves the stream only by XDEL after its
 *      XACK, and only once all its events were processed (3).
 *   2. send() frames its events into entries (each opened by the sequence
 *      record of wire.h) and adds them with the script; a lazy send (a full
 *      outbox, more to come) keeps up to 16 entries for one call, added by
 *      the next eager send, kick(), a barrier or close(). A lost reply makes
 *      it add them again: the receiving side drops the copy by sequence.
 *   3. An entry's events go to one replica (try_recv ends a batch on an
 *      entry's last event when it can), which acknowledges the entry with
 *      its last event. A batch handed to consumer r is acknowledged only after r has come
 *      back empty-handed once (try_recv returned EMPTY to it) and called
 *      again: between the two, the runtime's consumer loop has processed the
 *      batch and run the idle hooks of the consumer and the instances chained
 *      below it (instance.c: acrt__ctx_idle before parking), so a file sink
 *      has written it out. A consumer that stays busy runs those idle hooks
 *      every processed_every events and then acknowledges (rxq.h,
 *      acrt__rxq_processed), so acks do not wait until it catches up.
 *   4. On start the reader first re-reads the group's pending entries (ids
 *      from 0), so whatever an earlier run received and did not acknowledge
 *      is delivered again; then new entries (">"). After a reconnect it
 *      re-reads the pending entries after the last id it received: those
 *      Redis delivered while the reply was lost with the connection.
 *   5. EOS is reported once the end markers of all producer instances were
 *      read, the local buffer is empty and every handed batch is acked; the
 *      markers themselves are acked and deleted last, so a consumer killed
 *      before that still finds them pending at its restart.
 * Locks: tx->mu serialises the producers' connection; rx->mu guards the
 * local buffer, the handed and ack lists and the flags; each thread owns its
 * own connection and touches it without a lock.
 */
#include "transport/redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/common.h"
#include "core/event.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/strbuf.h"
#include "transport/redis_int.h"
#include "transport/side.h"
#include "transport/wire.h"

#define SEND_BATCH 16 /* stream entries a lazy send keeps for one round trip */

/* KEYS: the stream, this side's claim; ARGV: the claim's token. -1: another
 * process claimed the side (fenced), else the stream's length in entries. */
static const char look_script[] = "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end\n"
                                  "return redis.call('XLEN', KEYS[1])\n";

/* ---- Sending side -------------------------------------------------------- */

typedef struct tx {
	acrt__transport base;
	rcfg cfg;
	pthread_mutex_t mu; /* the connection, the buffers */
	pthread_cond_t cv;  /* cancel wakes a waiting producer; CLOCK_MONOTONIC */
	conn k;
	atomic_bool cancelled;
	atomic_uint closed; /* producers closed: the next marker's index */
	unsigned producers;
	size_t capacity;
	acrt__strbuf recs[SEND_BATCH]; /* entries framed, not yet added (npend) */
	size_t nev[SEND_BATCH];        /* events in each */
	size_t npend;                  /* entries in recs waiting to be added (mu) */
	uint64_t framed;               /* the last sequence given to a framed event (mu) */
	int64_t credit;                /* entries the stream surely has room for (mu) */
	int64_t looked;                /* when the claim was last found ours; 0: look (mu) */
	size_t cap_entries;            /* the bound in entries */
	uint64_t sent, blocked_ns;     /* under mu */
	uint64_t epoch, seq;           /* the epoch; the last added event's sequence (mu) */
	atomic_bool up;                /* the last command went through (stats) */
	atomic_bool fenced;            /* another process claimed this side */
} tx;

/* Waits on tx->cv until `until` (or a cancel). Called with mu held. */
static void
tx_wait(tx *t, int64_t until)
{
	if (!atomic_load(&t->cancelled))
		(void)acrt__cond_wait_until(&t->cv, &t->mu, until);
}

/* Opens the connection unless open; a new one looks at the claim before it
 * adds anything. 0, or -1 with err. mu held. */
static int
tx_open(tx *t, char *err, size_t errlen)
{
	if (t->k.c == NULL)
		t->looked = 0;
	return acrt__rd_conn_open(&t->k, err, errlen);
}

/* Looks at the claim and the stream's length in one small script call: the
 * credit (entries the stream surely has room for; only this side adds).
 * 0, -1 (connection dropped, err set), -2 fenced (logged once). mu held. */
static int
tx_look(tx *t, char *err, size_t errlen)
{
	const char *argv[6] = {"EVAL",     look_script,      "2",
	                       t->cfg.key, t->cfg.owner_key, t->cfg.token};
	redisReply *r = acrt__rd_conn_cmd(&t->k, err, errlen, 6, argv, NULL);
	if (r == NULL)
		return -1;
	int rc = 0;
	if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
		if (!atomic_exchange(&t->fenced, true))
			acrt__rd_fenced(&t->cfg, "sending");
		rc = -2;
	} else if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
		t->credit = (int64_t)t->cap_entries - (int64_t)r->integer;
		t->looked = acrt__mono_ns();
	} else {
		snprintf(err, errlen, "redis: unexpected answer to the claim script: %.200s",
		         acrt__rd_reply_error(r) ? r->str : "not a count");
		acrt__rd_conn_drop(&t->k);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

/* Adds entries recs[0..m) (a marker: bounded false) with XADD, pipelined,
 * as far as the credit goes; the claim and the length are looked at when
 * the connection is new, the credit is short, or the last look is older
 * than 200 ms. *added is how many it took. 0, -1 (connection dropped, err
 * set: some may have been added; added again, the receiving side drops the
 * copies by sequence), or -2 when another process has claimed this side. */
static int
tx_add(tx *t, acrt__strbuf *recs, size_t m, bool bounded, size_t *added, char *err, size_t errlen)
{
	*added = 0;
	int64_t now = acrt__mono_ns();
	if (t->looked == 0 || now - t->looked >= ACRT__HOP_FENCE_CHECK_NS ||
	    (bounded && t->credit < (int64_t)m)) {
		int lr = tx_look(t, err, errlen);
		if (lr != 0)
			return lr;
	}
	size_t k = m;
	if (bounded)
		k = t->credit <= 0 ? 0 : (size_t)t->credit < m ? (size_t)t->credit : m;
	for (size_t i = 0; i < k; i++) {
		const char *argv[5] = {"XADD", t->cfg.key, "*", "e", recs[i].p};
		size_t lens[5] = {4, strlen(t->cfg.key), 1, 1, recs[i].len};
		if (redisAppendCommandArgv(t->k.c, 5, argv, lens) != REDIS_OK) {
			snprintf(err, errlen, "redis: out of memory");
			acrt__rd_conn_drop(&t->k);
			return -1;
		}
	}
	int rc = 0;
	for (size_t i = 0; i < k; i++) {
		void *rep = NULL;
		if (redisGetReply(t->k.c, &rep) != REDIS_OK || rep == NULL) {
			snprintf(err, errlen, "redis %s:%d: %s", t->cfg.host, t->cfg.port,
			         t->k.c->errstr[0] ? t->k.c->errstr : "connection lost");
			acrt__rd_conn_drop(&t->k);
			return -1;
		}
		const char *e = acrt__rd_reply_error(rep);
		if (e != NULL && rc == 0) {
			snprintf(err, errlen, "redis: XADD: %.200s", e);
			rc = -1;
		}
		freeReplyObject(rep);
	}
	if (rc != 0) {
		acrt__rd_conn_drop(&t->k);
		return rc;
	}
	if (bounded)
		t->credit -= (int64_t)k;
	*added = k;
	return 0;
}

/* Adds the framed entries recs[0..npend) to the stream, in order, waiting
 * (polling 0.2 to 10 ms) while the stream is full and backing off while
 * Redis is away, until all are added, the deadline, a cancel, or a fence.
 * mu held. ACRT_OK, ACRT_ETIMEDOUT, ACRT_ECANCELED or ACRT_EFATAL (fenced). */
static int
tx_flush(tx *t, int64_t deadline)
{
	char err[300];
	int64_t poll_ns = ACRT__HOP_POLL_FIRST_NS, t0 = 0;
	int rc = ACRT_OK;
	while (t->npend > 0) {
		if (atomic_load(&t->cancelled) || atomic_load(&t->fenced)) {
			rc = atomic_load(&t->fenced) ? ACRT_EFATAL : ACRT_ECANCELED;
			break;
		}
		int64_t now = acrt__mono_ns();
		if (now >= deadline) {
			rc = ACRT_ETIMEDOUT;
			break;
		}
		if (tx_open(t, err, sizeof err) != 0) {
			atomic_store(&t->up, false);
			int64_t until = acrt__rd_conn_failed(&t->k, err);
			tx_wait(t, until < deadline ? until : deadline);
			continue;
		}
		size_t added = 0;
		int ar = tx_add(t, t->recs, t->npend, true, &added, err, sizeof err);
		if (ar == -2)
			continue; /* fenced: the loop ends */
		if (ar != 0) {
			atomic_store(&t->up, false);
			int64_t until = acrt__rd_conn_failed(&t->k, err);
			tx_wait(t, until < deadline ? until : deadline);
			continue; /* added again: the stream may hold them twice (the
			           * sequences make the copy a duplicate) */
		}
		atomic_store(&t->up, true);
		for (size_t e = 0; e < added; e++) {
			t->sent += t->nev[e];
			t->seq += t->nev[e];
		}
		/* The added entries leave the front; their buffers go to the back. */
		for (size_t e = 0; e < added; e++) {
			acrt__strbuf b = t->recs[0];
			memmove(t->recs, t->recs + 1, (SEND_BATCH - 1) * sizeof *t->recs);
			memmove(t->nev, t->nev + 1, (SEND_BATCH - 1) * sizeof *t->nev);
			t->recs[SEND_BATCH - 1] = b;
			t->nev[SEND_BATCH - 1] = 0;
		}
		t->npend -= added;
		if (t->npend == 0)
			break;
		if (added > 0) {
			poll_ns = ACRT__HOP_POLL_FIRST_NS;
			continue;
		}
		/* Full: wait for the consumer to acknowledge (polling, 0.2 to 10 ms). */
		if (t0 == 0)
			t0 = now;
		tx_wait(t, now + poll_ns < deadline ? now + poll_ns : deadline);
		poll_ns =
		    acrt__hop_next_wait(poll_ns, ACRT__HOP_POLL_FIRST_NS, ACRT__HOP_POLL_MAX_NS);
	}
	if (t0 != 0)
		t->blocked_ns += (uint64_t)(acrt__mono_ns() - t0);
	return rc;
}

/* Frames evs into entries of up to PER_ENTRY events, each opened by its
 * sequence record, and keeps them (the events are released: their bytes are
 * in the entries). A lazy send (a full outbox, more to come) keeps up to
 * SEND_BATCH entries for one script call; kick(), a barrier, close() or the
 * next eager send adds them. */
static int
tx_send(acrt__transport *base, acrt_event **evs, size_t n, size_t *sent_out, int64_t deadline,
        unsigned flags)
{
	tx *t = (tx *)base;
	size_t sent = 0;
	int rc = ACRT_OK;
	pthread_mutex_lock(&t->mu);
	while (sent < n && rc == ACRT_OK) {
		if (t->npend == SEND_BATCH) {
			rc = tx_flush(t, deadline);
			continue;
		}
		if (atomic_load(&t->cancelled) || atomic_load(&t->fenced)) {
			rc = atomic_load(&t->fenced) ? ACRT_EFATAL : ACRT_ECANCELED;
			break;
		}
		acrt__strbuf *rec = &t->recs[t->npend];
		size_t m = n - sent < PER_ENTRY ? n - sent : PER_ENTRY;
		rec->len = 0;
		int fr = acrt__wire_frame_seq(t->epoch, t->framed + 1, rec);
		for (size_t i = 0; fr == 0 && i < m; i++)
			fr = acrt__wire_frame(evs[sent + i], rec);
		if (fr != 0) {
			rc = ACRT_ENOMEM;
			break;
		}
		for (size_t i = 0; i < m; i++)
			acrt_event_unref(evs[sent + i]);
		t->nev[t->npend++] = m;
		t->framed += m;
		sent += m;
	}
	if (rc == ACRT_OK && !(flags & ACRT__SEND_LAZY))
		rc = tx_flush(t, deadline);
	pthread_mutex_unlock(&t->mu);
	*sent_out = sent;
	return rc;
}

/* Everything sent so far is added to the stream: the entries a lazy send
 * kept go in now (transport.h, sync; a barrier waits for it, side.h). */
static int
tx_sync(acrt__transport *base, int64_t deadline)
{
	tx *t = (tx *)base;
	pthread_mutex_lock(&t->mu);
	int rc = tx_flush(t, deadline);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* The entries a lazy send kept go to Redis now (the producer is about to
 * wait elsewhere or end). Unlike a local stream's, this kick waits for Redis
 * as send() does. */
static void
tx_kick(acrt__transport *base)
{
	(void)tx_sync(base, ACRT__FOREVER); /* a cancel or a fence ends it */
}

/* Stores this producer instance's end marker (retrying until cancelled). */
static void
tx_close(acrt__transport *base)
{
	tx *t = (tx *)base;
	unsigned idx = atomic_fetch_add(&t->closed, 1);
	acrt__strbuf rec = {0};
	char err[300];
	if (acrt__wire_frame_eos(idx, &rec) != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "binding %s: out of memory for the end-of-stream marker", t->cfg.name);
		return;
	}
	pthread_mutex_lock(&t->mu);
	(void)tx_flush(t, ACRT__FOREVER); /* its data first */
	while (!atomic_load(&t->cancelled) && !atomic_load(&t->fenced)) {
		size_t added = 0;
		int ar = -1;
		if (tx_open(t, err, sizeof err) == 0 &&
		    (ar = tx_add(t, &rec, 1, false, &added, err, sizeof err)) == 0 && added == 1)
			break;
		if (ar == -2)
			break; /* fenced */
		tx_wait(t, acrt__rd_conn_failed(&t->k, err));
	}
	pthread_mutex_unlock(&t->mu);
	free(rec.p);
}

/* A checkpoint barrier: what a lazy send kept is added first, so that Redis
 * has everything before the barrier (the barrier itself does not cross: the
 * receiving node takes its own checkpoints). */
static uint64_t
tx_position(acrt__transport *base)
{
	tx *t = (tx *)base;
	pthread_mutex_lock(&t->mu);
	uint64_t v = t->framed;
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
	if (acrt__side_pos_load(&t->mu, 1, &t->epoch, &t->seq, p, n, why, whylen) != 0)
		return -1;
	pthread_mutex_lock(&t->mu);
	t->framed = t->seq; /* nothing is framed before the run starts */
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void
tx_cancel(acrt__transport *base)
{
	tx *t = (tx *)base;
	pthread_mutex_lock(&t->mu);
	atomic_store(&t->cancelled, true);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void
tx_stats(acrt__transport *base, acrt__transport_stats *out)
{
	tx *t = (tx *)base;
	memset(out, 0, sizeof *out);
	out->remote = 1;
	out->connected = atomic_load(&t->up);
	out->fenced = atomic_load(&t->fenced);
	out->backlog = -1;
	out->bound = t->cap_entries;
	out->capacity = t->capacity;
	if (pthread_mutex_trylock(&t->mu) != 0)
		return; /* a producer is on the network: never wait for it here */
	out->sent = t->sent;
	out->blocked_ns = t->blocked_ns;
	for (size_t e = 0; e < t->npend; e++) /* framed, not yet added */
		out->depth += t->nev[e];
	pthread_mutex_unlock(&t->mu);
}

static size_t
tx_destroy(acrt__transport *base)
{
	tx *t = (tx *)base;
	if (t == NULL)
		return 0;
	acrt__rd_conn_drop(&t->k);
	for (size_t i = 0; i < SEND_BATCH; i++)
		free(t->recs[i].p);
	acrt__rd_cfg_free(&t->cfg);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	acrt__free(t->base.name);
	acrt__free(t);
	return 0;
}

static const acrt__transport_ops tx_ops = {
    .kind = "redis",
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
acrt__redis_tx_new(const acrt__redis_hop *h, char *err, size_t errlen)
{
	tx *t = acrt__calloc(1, sizeof *t);
	if (t == NULL || (t->base.name = acrt__strdup(h->name)) == NULL) {
		acrt__free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base.ops = &tx_ops;
	t->capacity = h->capacity;
	t->cap_entries = (h->capacity + PER_ENTRY - 1) / PER_ENTRY;
	t->producers = h->producers;
	t->epoch = (uint64_t)acrt__wall_ns(); /* raised above the last run's by the claim */
	t->k.cfg = &t->cfg;
	atomic_store(&t->up, true);
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		acrt__free(t->base.name);
		acrt__free(t);
		snprintf(err, errlen, "cannot create a mutex");
		return NULL;
	}
	if (acrt__cond_init_mono(&t->cv) != 0) {
		pthread_mutex_destroy(&t->mu);
		acrt__free(t->base.name);
		acrt__free(t);
		snprintf(err, errlen, "cannot create a condition variable");
		return NULL;
	}
	if (acrt__rd_cfg_init(&t->cfg, h, err, errlen) != 0 ||
	    acrt__rd_conn_open(&t->k, err, errlen) != 0 ||
	    acrt__rd_claim(&t->k, "send", &t->epoch, err, errlen) != 0) {
		tx_destroy(&t->base);
		return NULL;
	}
	return &t->base;
}
