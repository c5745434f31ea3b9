/*
 * redis_rx.c - the receiving side of the redis transport (redis.h, the
 * invariants in redis.c): a reader thread fills a bounded local buffer with
 * XREADGROUP (the group's pending entries first, then new ones, BLOCKing on
 * the network, never on the consumer), an acker thread XACKs and XDELs what
 * the consumer has processed, and try_recv hands out the buffer without
 * blocking. Each thread has its own connection and reconnects with backoff.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"
#include "core/log.h"
#include "transport/redis_int.h"
#include "transport/wire.h"

#define READ_BATCH 1024 /* entries per XREADGROUP */
#define BLOCK_MS "200"  /* XREADGROUP BLOCK: bounds how long a stop waits */
#define WAIT_NS 200000000LL
#define ID_MAX 48 /* a stream entry id, "ms-seq" */

typedef struct item {
	acrt_event *ev;
	bool last;       /* the last event of its stream entry: id is set */
	char id[ID_MAX]; /* the entry's id, acknowledged once this is processed */
} item;

typedef struct idvec {
	char (*v)[ID_MAX];
	size_t n, cap;
} idvec;

typedef struct per_consumer {
	idvec handed;    /* ids handed to this replica and not yet acked */
	bool empty_seen; /* it came back empty-handed since (redis.c, 3) */
} per_consumer;

typedef struct rx {
	acrt__transport base;
	rcfg cfg;
	acrt__waitq *wq;              /* the consumer inbox's; not owned */
	const _Atomic bool *stopping; /* the runtime's; NULL: never */
	pthread_mutex_t mu;
	pthread_cond_t room_cv, ack_cv; /* CLOCK_MONOTONIC */
	/* Under mu: */
	item *ring;
	size_t cap, head, count;
	per_consumer *per;
	unsigned consumers, producers;
	size_t handed_total;
	idvec ackq;               /* processed: for the acker */
	uint64_t marks;           /* producer instances whose end marker was read */
	char mark_id[64][ID_MAX]; /* their entry ids (acked last) */
	bool all_marks, ended, cancelled, stop;
	bool reading; /* the reader has a read under way: nothing may end */
	uint64_t received, acked, redelivered, bad;
	/* Owned by the threads: */
	conn rk, ak;
	pthread_t reader, acker;
	bool reader_on, acker_on;
} rx;

static int
idvec_push(idvec *v, const char *id)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		void *p = acrt__realloc(v->v, cap * sizeof *v->v);
		if (p == NULL)
			return -1;
		v->v = p;
		v->cap = cap;
	}
	snprintf(v->v[v->n++], ID_MAX, "%s", id);
	return 0;
}

/* Appends every id of src to dst and empties src. 0, or -1 (src kept). */
static int
idvec_move(idvec *dst, idvec *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (idvec_push(dst, src->v[i]) != 0) {
			dst->n -= i;
			return -1;
		}
	src->n = 0;
	return 0;
}

static void
timed_wait(rx *r, pthread_cond_t *cv, int64_t until)
{
	(void)acrt__cond_wait_until(cv, &r->mu, until);
}

/* A graceful stop of the runtime (SIGTERM): read nothing more. */
static bool
draining(const rx *r)
{
	return r->stopping != NULL && atomic_load(r->stopping);
}

/* ---- Reader ---------------------------------------------------------------- */

/* Creates the group (from the stream's start) unless it exists. 0 or -1. */
static int
ensure_group(conn *k, char *err, size_t errlen)
{
	const char *argv[6] = {"XGROUP", "CREATE", k->cfg->key, k->cfg->group, "0", "MKSTREAM"};
	redisReply *rep = acrt__rd_conn_cmd(k, err, errlen, 6, argv, NULL);
	if (rep == NULL)
		return -1;
	const char *e = acrt__rd_reply_error(rep);
	int rc = 0;
	if (e != NULL && strncmp(e, "BUSYGROUP", 9) != 0) {
		snprintf(err, errlen, "redis: XGROUP CREATE: %.200s", e);
		rc = -1;
	}
	freeReplyObject(rep);
	return rc;
}

/* Decodes the frames of an entry's value into evs (at most PER_ENTRY data
 * events) and *marker (an end marker's instance, else -1). 0, -1 when
 * malformed (*why), -2 out of memory; on failure evs holds nothing. */
static int
decode_entry(const redisReply *val, acrt_event **evs, size_t *nev, long *marker, const char **why)
{
	size_t off = 0, rlen = 0;
	const void *rec = NULL;
	int fr, rc = 0;
	*nev = 0;
	*marker = -1;
	while (rc == 0 && (fr = acrt__wire_next(val->str, val->len, &off, &rec, &rlen)) == 1) {
		int kind = 0;
		acrt_event *ev = NULL;
		uint32_t producer = 0;
		rc = acrt__wire_decode(rec, rlen, &kind, &ev, &producer, why);
		if (rc != 0)
			break;
		if (kind == ACRT__WIRE_EOS) {
			*marker = producer < 64 ? (long)producer : 63;
		} else if (*nev == PER_ENTRY) {
			acrt_event_unref(ev);
			*why = "more than 64 events in one entry";
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

/* Takes one entry [id, [field, value, ...]] of an XREADGROUP reply: its
 * events into the buffer (the entry's id on the last), or its end marker. */
static void
take_entry(rx *r, const redisReply *e, bool *pushed)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return;
	const char *id = e->element[0]->str;
	const redisReply *f = e->element[1];
	const redisReply *val = NULL;
	for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
		if (strcmp(f->element[i]->str, "e") == 0)
			val = f->element[i + 1];
	acrt_event *evs[PER_ENTRY];
	size_t nev = 0;
	long marker = -1;
	const char *why = "no field 'e'";
	int rc = val != NULL && val->type == REDIS_REPLY_STRING
	             ? decode_entry(val, evs, &nev, &marker, &why)
	             : (f->type == REDIS_REPLY_ARRAY ? -1 : -3); /* -3: deleted meanwhile */
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < nev; i++) {
		item *it = &r->ring[(r->head + r->count) % r->cap];
		it->ev = evs[i];
		it->last = i + 1 == nev && marker < 0;
		if (it->last)
			snprintf(it->id, ID_MAX, "%s", id);
		r->count++;
		r->received++;
		*pushed = true;
	}
	if (rc == 0 && marker >= 0 && !(r->marks & (1ull << marker))) {
		r->marks |= 1ull << marker;
		snprintf(r->mark_id[marker], ID_MAX, "%s", id);
		r->all_marks = (unsigned)__builtin_popcountll(r->marks) >= r->producers;
		pthread_cond_broadcast(&r->ack_cv);
	} else if (rc != -2 && nev == 0) { /* a repeated marker, a bad record, deleted */
		if (rc == -1)
			r->bad++;
		(void)idvec_push(&r->ackq, id); /* never deliverable: acknowledge it */
		pthread_cond_broadcast(&r->ack_cv);
	}
	pthread_mutex_unlock(&r->mu);
	if (rc == -1)
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "binding %s: stream entry %s is not a valid record (%s): dropped",
		          r->cfg.name, id, why);
}

static void *
reader_main(void *arg)
{
	rx *r = arg;
	char err[300], last[ID_MAX] = "0", count[24];
	bool pending = true;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		if (r->reading) { /* what the last read returned is in the buffer */
			r->reading = false;
			pthread_cond_broadcast(&r->ack_cv);
		}
		while (!r->stop && !r->cancelled &&
		       (r->cap - r->count < PER_ENTRY || r->all_marks || draining(r)))
			timed_wait(r, &r->room_cv, acrt__mono_ns() + WAIT_NS);
		bool quit = r->stop || r->cancelled;
		size_t room = r->cap - r->count;
		r->reading = !quit;
		pthread_mutex_unlock(&r->mu);
		if (quit)
			break;
		bool fresh = r->rk.c == NULL;
		if (acrt__rd_conn_open(&r->rk, err, sizeof err) != 0 ||
		    (fresh && ensure_group(&r->rk, err, sizeof err) != 0)) {
			int64_t until = acrt__rd_conn_failed(&r->rk, err);
			acrt__rd_conn_drop(&r->rk);
			pthread_mutex_lock(&r->mu);
			if (!r->stop && !r->cancelled)
				timed_wait(r, &r->room_cv, until);
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		/* After a reconnect, first the entries Redis delivered to us whose
		 * reply was lost with the connection: pending, after the last id
		 * received (delivery is in id order). */
		if (fresh)
			pending = true;
		room /= PER_ENTRY; /* entries of up to PER_ENTRY events */
		snprintf(count, sizeof count, "%zu", room < READ_BATCH ? room : READ_BATCH);
		const char *argv[11] = {"XREADGROUP", "GROUP", r->cfg.group,
		                        r->cfg.name,  "COUNT", count};
		int argc = 6;
		if (!pending) {
			argv[argc++] = "BLOCK";
			argv[argc++] = BLOCK_MS;
		}
		argv[argc++] = "STREAMS";
		argv[argc++] = r->cfg.key;
		argv[argc++] = pending ? last : ">";
		redisReply *rep = acrt__rd_conn_cmd(&r->rk, err, sizeof err, argc, argv, NULL);
		if (rep == NULL || acrt__rd_reply_error(rep) != NULL) {
			if (rep != NULL) {
				snprintf(err, sizeof err, "XREADGROUP: %.200s", rep->str);
				freeReplyObject(rep);
				acrt__rd_conn_drop(&r->rk); /* NOGROUP after a wipe: recreate */
			}
			int64_t until = acrt__rd_conn_failed(&r->rk, err);
			pthread_mutex_lock(&r->mu);
			if (!r->stop && !r->cancelled)
				timed_wait(r, &r->room_cv, until);
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		const redisReply *entries = NULL;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2)
			entries = rep->element[0]->element[1];
		size_t n =
		    entries != NULL && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
		bool pushed = false;
		for (size_t i = 0; i < n; i++)
			take_entry(r, entries->element[i], &pushed);
		if (n > 0) { /* the last id received, where a pending read resumes */
			const redisReply *e = entries->element[n - 1];
			if (e->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
			    e->element[0]->type == REDIS_REPLY_STRING)
				snprintf(last, sizeof last, "%s", e->element[0]->str);
		}
		if (pending && n == 0) {
			pending = false;
		} else if (pending) {
			pthread_mutex_lock(&r->mu);
			r->redelivered += n;
			pthread_mutex_unlock(&r->mu);
		}
		freeReplyObject(rep);
		if (pushed)
			acrt__waitq_notify(r->wq);
	}
	acrt__rd_conn_drop(&r->rk);
	acrt__event_thread_flush(); /* the events this thread made */
	return NULL;
}

/* ---- Acker ----------------------------------------------------------------- */

/* XACK then XDEL of ids[0..n) in one round trip. 0, or -1 with err. */
static int
ack_ids(rx *r, char (*ids)[ID_MAX], size_t n, char *err, size_t errlen)
{
	if (acrt__rd_conn_open(&r->ak, err, errlen) != 0)
		return -1;
	const char **argv = acrt__malloc((n + 3) * sizeof *argv);
	if (argv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	argv[0] = "XACK";
	argv[1] = r->cfg.key;
	argv[2] = r->cfg.group;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = ids[i];
	int rc = -1;
	if (redisAppendCommandArgv(r->ak.c, (int)n + 3, argv, NULL) != REDIS_OK)
		goto out;
	argv[1] = "XDEL";
	argv[2] = r->cfg.key;
	if (redisAppendCommandArgv(r->ak.c, (int)n + 2, argv + 1, NULL) != REDIS_OK)
		goto out;
	rc = 0;
	for (int i = 0; i < 2; i++) {
		void *rep = NULL;
		if (redisGetReply(r->ak.c, &rep) != REDIS_OK || rep == NULL) {
			snprintf(err, errlen, "redis %s:%d: %s", r->cfg.host, r->cfg.port,
			         r->ak.c->errstr[0] ? r->ak.c->errstr : "connection lost");
			rc = -1;
			break;
		}
		const char *e = acrt__rd_reply_error(rep);
		if (e != NULL && rc == 0) {
			snprintf(err, errlen, "redis: %s: %.200s", i == 0 ? "XACK" : "XDEL", e);
			rc = -1;
		}
		freeReplyObject(rep);
	}
out:
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	if (rc != 0)
		acrt__rd_conn_drop(&r->ak); /* half a pipeline may be left: start over */
	acrt__free(argv);
	return rc;
}

/* Every producer ended and everything handed out is acknowledged (mu held). */
static bool
finished(const rx *r)
{
	return (r->all_marks || draining(r)) && !r->ended && !r->reading && r->count == 0 &&
	       r->handed_total == 0 && r->ackq.n == 0;
}

/* The acker's connection failed (err): back off until the retry is due, or
 * until a stop or cancel wakes it. */
static void
ack_backoff(rx *r, const char *err)
{
	int64_t until = acrt__rd_conn_failed(&r->ak, err);
	pthread_mutex_lock(&r->mu);
	if (!r->stop && !r->cancelled)
		timed_wait(r, &r->ack_cv, until);
	pthread_mutex_unlock(&r->mu);
}

static void *
acker_main(void *arg)
{
	rx *r = arg;
	idvec mine = {0};
	char err[300];
	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (!r->stop && !r->cancelled && r->ackq.n == 0 && mine.n == 0 && !finished(r))
			timed_wait(r, &r->ack_cv, acrt__mono_ns() + WAIT_NS);
		bool quit = r->stop || r->cancelled;
		if (!quit && r->ackq.n > 0)
			(void)idvec_move(&mine, &r->ackq); /* out of memory: the next round */
		pthread_mutex_unlock(&r->mu);
		if (quit)
			break;
		err[0] = '\0';
		if (mine.n > 0) {
			if (ack_ids(r, mine.v, mine.n, err, sizeof err) != 0) {
				ack_backoff(r, err);
				continue;
			}
			pthread_mutex_lock(&r->mu);
			r->acked += mine.n;
			pthread_mutex_unlock(&r->mu);
			mine.n = 0;
		}
		pthread_mutex_lock(&r->mu);
		bool fin = finished(r);
		char marks[64][ID_MAX];
		size_t nm = 0;
		bool all = r->all_marks; /* else draining: the markers stay for the next run */
		for (unsigned p = 0; fin && all && p < 64; p++)
			if (r->marks & (1ull << p))
				memcpy(marks[nm++], r->mark_id[p], ID_MAX);
		pthread_mutex_unlock(&r->mu);
		if (!fin)
			continue;
		/* The markers go last (redis.c, 5); then the consumers see EOS. */
		if (nm > 0 && ack_ids(r, marks, nm, err, sizeof err) != 0) {
			ack_backoff(r, err);
			continue;
		}
		pthread_mutex_lock(&r->mu);
		r->ended = true;
		pthread_mutex_unlock(&r->mu);
		acrt__waitq_notify(r->wq);
	}
	acrt__free(mine.v);
	acrt__rd_conn_drop(&r->ak);
	return NULL;
}

/* ---- Transport ops --------------------------------------------------------- */

static int
rx_send(acrt__transport *base, acrt_event **evs, size_t n, size_t *sent, int64_t deadline,
        unsigned flags)
{
	(void)base, (void)evs, (void)n, (void)deadline, (void)flags;
	*sent = 0; /* the sending side is on the producer's node */
	return ACRT_ECLOSED;
}

static void
rx_kick(acrt__transport *base)
{
	(void)base;
}

static size_t
rx_try_recv(acrt__transport *base, unsigned consumer, acrt_event **evs, size_t max,
            acrt__rx_status *st)
{
	rx *r = (rx *)base;
	size_t k = 0;
	pthread_mutex_lock(&r->mu);
	per_consumer *pc = &r->per[consumer < r->consumers ? consumer : 0];
	if (r->cancelled) {
		*st = ACRT__RX_CANCELED;
		goto out;
	}
	if (pc->empty_seen) { /* what it was handed is processed: acknowledge it */
		size_t n = pc->handed.n;
		if (idvec_move(&r->ackq, &pc->handed) == 0) {
			r->handed_total -= n;
			pc->empty_seen = false;
			pthread_cond_broadcast(&r->ack_cv);
		}
	}
	if (r->count > 0) {
		k = r->count < max ? r->count : max;
		/* End on an entry's last event when possible, so that one replica
		 * gets a whole entry and acknowledges it after all of it. */
		size_t b = k;
		while (k < r->count && b > 0 && !r->ring[(r->head + b - 1) % r->cap].last)
			b--;
		if (k < r->count && b > 0)
			k = b;
		size_t taken = 0;
		for (; taken < k; taken++) {
			item *it = &r->ring[(r->head + taken) % r->cap];
			if (it->last && idvec_push(&pc->handed, it->id) != 0)
				break; /* out of memory: hand out fewer */
			r->handed_total += it->last;
			evs[taken] = it->ev;
		}
		k = taken;
		r->head = (r->head + k) % r->cap;
		r->count -= k;
		*st = k > 0 ? ACRT__RX_ITEMS : ACRT__RX_EMPTY;
		pthread_cond_broadcast(&r->room_cv);
	} else if (r->ended) {
		*st = ACRT__RX_EOS;
	} else {
		pc->empty_seen = true;
		*st = ACRT__RX_EMPTY;
		if (r->all_marks) /* the acker may now finish */
			pthread_cond_broadcast(&r->ack_cv);
	}
out:
	pthread_mutex_unlock(&r->mu);
	return k;
}

static int
rx_send_barrier(acrt__transport *base, acrt_event *ev, int64_t deadline)
{
	(void)base, (void)deadline;
	acrt_event_unref(ev);
	return ACRT_ECLOSED;
}

static void
rx_close(acrt__transport *base)
{
	(void)base; /* no producer on this node */
}

static void
rx_cancel(acrt__transport *base)
{
	rx *r = (rx *)base;
	pthread_mutex_lock(&r->mu);
	r->cancelled = true;
	pthread_cond_broadcast(&r->room_cv);
	pthread_cond_broadcast(&r->ack_cv);
	pthread_mutex_unlock(&r->mu);
	acrt__waitq_notify(r->wq);
}

static void
rx_stats(acrt__transport *base, acrt__transport_stats *out)
{
	rx *r = (rx *)base;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&r->mu);
	out->received = r->received;
	out->depth = r->count;
	out->capacity = r->cap;
	pthread_mutex_unlock(&r->mu);
}

static size_t
rx_destroy(acrt__transport *base)
{
	rx *r = (rx *)base;
	if (r == NULL)
		return 0;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->room_cv);
	pthread_cond_broadcast(&r->ack_cv);
	pthread_mutex_unlock(&r->mu);
	if (r->reader_on)
		pthread_join(r->reader, NULL);
	if (r->acker_on)
		pthread_join(r->acker, NULL);
	size_t left = r->count;
	for (size_t i = 0; i < r->count; i++)
		acrt_event_unref(r->ring[(r->head + i) % r->cap].ev);
	if (r->redelivered > 0 || r->bad > 0)
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "binding %s: %llu entries delivered again from an earlier run, %llu "
		          "invalid records dropped",
		          r->cfg.name, (unsigned long long)r->redelivered,
		          (unsigned long long)r->bad);
	for (unsigned c = 0; r->per != NULL && c < r->consumers; c++)
		acrt__free(r->per[c].handed.v);
	acrt__free(r->per);
	acrt__free(r->ackq.v);
	acrt__free(r->ring);
	acrt__rd_conn_drop(&r->rk);
	acrt__rd_conn_drop(&r->ak);
	acrt__rd_cfg_free(&r->cfg);
	pthread_cond_destroy(&r->room_cv);
	pthread_cond_destroy(&r->ack_cv);
	pthread_mutex_destroy(&r->mu);
	acrt__free(r->base.name);
	acrt__free(r);
	return left;
}

static const acrt__transport_ops rx_ops = {
    .kind = "redis",
    .send = rx_send,
    .kick = rx_kick,
    .try_recv = rx_try_recv,
    .send_barrier = rx_send_barrier,
    .close = rx_close,
    .cancel = rx_cancel,
    .stats = rx_stats,
    .destroy = rx_destroy,
};

acrt__transport *
acrt__redis_rx_new(const acrt__redis_hop *h, char *err, size_t errlen)
{
	if (h->consumers == 0 || h->consumers > 64 || h->producers == 0 || h->producers > 64 ||
	    h->capacity == 0 || h->rx == NULL) {
		snprintf(err, errlen, "bad replica counts or buffer_size for a redis binding");
		return NULL;
	}
	rx *r = acrt__calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base.ops = &rx_ops;
	r->wq = h->rx;
	r->stopping = h->stopping;
	r->cap = h->capacity > PER_ENTRY ? h->capacity : PER_ENTRY;
	r->consumers = h->consumers;
	r->producers = h->producers;
	r->rk.cfg = r->ak.cfg = &r->cfg;
	if (pthread_mutex_init(&r->mu, NULL) != 0 || acrt__cond_init_mono(&r->room_cv) != 0 ||
	    acrt__cond_init_mono(&r->ack_cv) != 0) {
		snprintf(err, errlen, "cannot create a lock"); /* leaks nothing that matters */
		acrt__free(r);
		return NULL;
	}
	r->base.name = acrt__strdup(h->name);
	r->ring = acrt__calloc(r->cap, sizeof *r->ring);
	r->per = acrt__calloc(r->consumers, sizeof *r->per);
	if (r->base.name == NULL || r->ring == NULL || r->per == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (acrt__rd_cfg_init(&r->cfg, h, err, errlen) != 0 ||
	    acrt__rd_conn_open(&r->rk, err, errlen) != 0 || ensure_group(&r->rk, err, errlen) != 0)
		goto fail;
	if (pthread_create(&r->reader, NULL, reader_main, r) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		goto fail;
	}
	r->reader_on = true;
	if (pthread_create(&r->acker, NULL, acker_main, r) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		goto fail;
	}
	r->acker_on = true;
	return &r->base;
fail:
	rx_destroy(&r->base);
	return NULL;
}
