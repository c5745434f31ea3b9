/*
 * redis_rx.c - the receiving side of the redis transport (redis.h, the
 * invariants in redis.c): a reader thread fills the shared local buffer
 * (rxq.h) with XREADGROUP (the group's pending entries first, then new ones,
 * BLOCKing on the network, never on the consumer), an acker thread XACKs and
 * XDELs what the consumer has processed, and try_recv (rxq.c) hands out the
 * buffer without blocking. Each thread has its own connection and
 * reconnects with backoff.
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
#include "transport/rxq.h"
#include "transport/side.h"

#define READ_BATCH 1024 /* entries per XREADGROUP */
#define BLOCK_MS "200"  /* XREADGROUP BLOCK: bounds how long a stop waits */

typedef struct rx {
	acrt__rxq q; /* first: the transport; tokens are entry ids (strings) */
	rcfg cfg;
	/* Owned by the threads: */
	conn rk, ak;
	pthread_t reader, acker;
	bool reader_on, acker_on;
} rx;

static void
free_id(void *id)
{
	acrt__free(id);
}

/* Another process claimed this side: nothing more is read or acknowledged,
 * and the consumers see the binding cancelled (their node ends). */
static void
fence(rx *r)
{
	atomic_store(&r->q.fenced, true);
	acrt__rxq_cancel(&r->q.base);
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

/* Takes one entry [id, [field, value, ...]] of an XREADGROUP reply: its
 * events into the buffer (the entry's id as their token), or its end marker.
 * True when events were added. */
static bool
take_entry(rx *r, const redisReply *e)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return false;
	const char *id = e->element[0]->str;
	const redisReply *f = e->element[1];
	const redisReply *val = NULL;
	for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
		if (strcmp(f->element[i]->str, "e") == 0)
			val = f->element[i + 1];
	acrt_event *evs[ACRT__RXQ_PER_MSG];
	size_t nev = 0;
	long marker = -1;
	uint64_t seq[2] = {0, 0};
	const char *why = "no field 'e'";
	int rc = val != NULL && val->type == REDIS_REPLY_STRING
	             ? acrt__rxq_decode(val->str, val->len, evs, ACRT__RXQ_PER_MSG, &nev, &marker,
	                                seq, &why)
	             : (f->type == REDIS_REPLY_ARRAY ? -1 : -3); /* -3: deleted meanwhile */
	char *tok = acrt__strdup(id);
	if (tok == NULL) { /* pending: delivered again on the next run */
		for (size_t i = 0; i < nev; i++)
			acrt_event_unref(evs[i]);
		return false;
	}
	if (rc == -1)
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "binding %s: stream entry %s is not a valid record (%s): dropped",
		          r->cfg.name, id, why);
	return acrt__rxq_put(&r->q, rc, evs, nev, marker, seq, tok);
}

static void *
reader_main(void *arg)
{
	rx *r = arg;
	char err[300], last[64] = "0", count[24];
	bool pending = true;
	size_t room = 0;
	int64_t checked = 0;
	while (acrt__rxq_wait_room(&r->q, &room)) {
		bool fresh = r->rk.c == NULL;
		if (acrt__rd_conn_open(&r->rk, err, sizeof err) != 0 ||
		    (fresh && ensure_group(&r->rk, err, sizeof err) != 0)) {
			atomic_store(&r->q.connected, false);
			int64_t until = acrt__rd_conn_failed(&r->rk, err);
			acrt__rd_conn_drop(&r->rk);
			acrt__rxq_backoff(&r->q, false, until);
			continue;
		}
		/* A stale process (another claimed this side since) reads nothing
		 * more: checked before a read when the last check is old. */
		int64_t now = acrt__mono_ns();
		if (now - checked >= ACRT__HOP_FENCE_CHECK_NS) {
			int own = acrt__rd_owned(&r->rk, err, sizeof err);
			if (own == 0) {
				acrt__rd_fenced(&r->cfg, "receiving");
				fence(r);
				break;
			}
			if (own < 0)
				continue; /* the connection is dropped: the next round opens it */
			checked = now;
		}
		/* After a reconnect, first the entries Redis delivered to us whose
		 * reply was lost with the connection: pending, after the last id
		 * received (delivery is in id order). */
		if (fresh)
			pending = true;
		room /= ACRT__RXQ_PER_MSG; /* entries of up to 64 events */
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
			atomic_store(&r->q.connected, false);
			acrt__rxq_backoff(&r->q, false, acrt__rd_conn_failed(&r->rk, err));
			continue;
		}
		atomic_store(&r->q.connected, true);
		const redisReply *entries = NULL;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2)
			entries = rep->element[0]->element[1];
		size_t n =
		    entries != NULL && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
		bool pushed = false;
		for (size_t i = 0; i < n; i++)
			pushed |= take_entry(r, entries->element[i]);
		if (n > 0) { /* the last id received, where a pending read resumes */
			const redisReply *e = entries->element[n - 1];
			if (e->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
			    e->element[0]->type == REDIS_REPLY_STRING)
				snprintf(last, sizeof last, "%s", e->element[0]->str);
		}
		if (pending && n == 0)
			pending = false;
		else if (pending)
			acrt__rxq_redelivered(&r->q, n);
		freeReplyObject(rep);
		if (pushed)
			acrt__waitq_notify(r->q.wq);
	}
	acrt__rd_conn_drop(&r->rk);
	acrt__event_thread_flush(); /* the events this thread made */
	return NULL;
}

/* ---- Acker ----------------------------------------------------------------- */

/* KEYS: the stream, this side's claim; ARGV: the claim's token, the group,
 * the entry ids. -1: another process claimed the side (fenced). */
static const char ack_script[] = "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end\n"
                                 "redis.call('XACK', KEYS[1], ARGV[2], unpack(ARGV, 3))\n"
                                 "redis.call('XDEL', KEYS[1], unpack(ARGV, 3))\n"
                                 "return 0\n";

#define ACK_CHUNK 1000 /* ids per script call (Lua's unpack has a limit) */

/* XACK then XDEL of ids[0..n), if this process still owns the side, in one
 * script call per ACK_CHUNK. 0, -1 with err, or -2 when fenced (logged). */
static int
ack_ids(rx *r, void **ids, size_t n, char *err, size_t errlen)
{
	if (acrt__rd_conn_open(&r->ak, err, errlen) != 0)
		return -1;
	const char *argv[7 + ACK_CHUNK] = {"EVAL",           ack_script,   "2",         r->cfg.key,
	                                   r->cfg.owner_key, r->cfg.token, r->cfg.group};
	for (size_t at = 0; at < n; at += ACK_CHUNK) {
		size_t m = n - at < ACK_CHUNK ? n - at : ACK_CHUNK;
		for (size_t i = 0; i < m; i++)
			argv[7 + i] = ids[at + i];
		redisReply *rep = acrt__rd_conn_cmd(&r->ak, err, errlen, (int)(7 + m), argv, NULL);
		if (rep == NULL)
			return -1;
		const char *e = acrt__rd_reply_error(rep);
		int rc = e != NULL                                                ? -1
		         : rep->type == REDIS_REPLY_INTEGER && rep->integer == -1 ? -2
		                                                                  : 0;
		if (e != NULL)
			snprintf(err, errlen, "redis: XACK/XDEL: %.200s", e);
		freeReplyObject(rep);
		if (rc == -1)
			acrt__rd_conn_drop(&r->ak);
		if (rc == -2)
			acrt__rd_fenced(&r->cfg, "receiving");
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void *
acker_main(void *arg)
{
	rx *r = arg;
	acrt__rxq_toks mine = {0};
	char err[300];
	void *marks[64];
	size_t nm = 0;
	while (acrt__rxq_ack_wait(&r->q, &mine)) {
		err[0] = '\0';
		if (mine.n > 0) {
			int ar = ack_ids(r, mine.v, mine.n, err, sizeof err);
			if (ar == -2) {
				fence(r);
				break;
			}
			if (ar != 0) {
				acrt__rxq_backoff(&r->q, true, acrt__rd_conn_failed(&r->ak, err));
				continue;
			}
			acrt__rxq_acked(&r->q, mine.n);
			for (size_t i = 0; i < mine.n; i++)
				free_id(mine.v[i]);
			mine.n = 0;
		}
		if (!acrt__rxq_finishing(&r->q, marks, &nm))
			continue;
		/* The markers go last (redis.c, 5); then the consumers see EOS. */
		int ar = nm > 0 ? ack_ids(r, marks, nm, err, sizeof err) : 0;
		if (ar == -2) {
			fence(r);
			break;
		}
		if (ar != 0) {
			acrt__rxq_backoff(&r->q, true, acrt__rd_conn_failed(&r->ak, err));
			continue;
		}
		acrt__rxq_end(&r->q);
	}
	for (size_t i = 0; i < mine.n; i++)
		free_id(mine.v[i]);
	acrt__free(mine.v);
	acrt__rd_conn_drop(&r->ak);
	return NULL;
}

/* ---- Transport ops --------------------------------------------------------- */

static size_t
rx_destroy(acrt__transport *base)
{
	rx *r = (rx *)base;
	if (r == NULL)
		return 0;
	acrt__rxq_stop(&r->q);
	if (r->reader_on)
		pthread_join(r->reader, NULL);
	if (r->acker_on)
		pthread_join(r->acker, NULL);
	if (r->q.redelivered > 0 || r->q.bad > 0 || r->q.dups > 0)
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "binding %s: %llu entries delivered again from an earlier run, %llu "
		          "invalid records dropped, %llu duplicate events dropped",
		          r->cfg.name, (unsigned long long)r->q.redelivered,
		          (unsigned long long)r->q.bad, (unsigned long long)r->q.dups);
	size_t left = acrt__rxq_fini(&r->q);
	acrt__rd_conn_drop(&r->rk);
	acrt__rd_conn_drop(&r->ak);
	acrt__rd_cfg_free(&r->cfg);
	acrt__free(r);
	return left;
}

static const acrt__transport_ops rx_ops = {
    .kind = "redis",
    .send = acrt__side_no_send,
    .kick = acrt__side_kick,
    .try_recv = acrt__rxq_try_recv,
    .send_barrier = acrt__side_no_barrier,
    .close = acrt__side_no_close,
    .cancel = acrt__rxq_cancel,
    .stats = acrt__rxq_stats,
    .destroy = rx_destroy,
    .processed = acrt__rxq_processed,
    .ck_start = acrt__rxq_ck_start,
    .ck_save = acrt__rxq_ck_save,
    .ck_load = acrt__rxq_ck_load,
    .ck_committed = acrt__rxq_ck_committed,
};

acrt__transport *
acrt__redis_rx_new(const acrt__redis_hop *h, char *err, size_t errlen)
{
	rx *r = acrt__calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->q.base.ops = &rx_ops;
	r->rk.cfg = r->ak.cfg = &r->cfg;
	if (acrt__rxq_init(&r->q, h->name, h->capacity, h->consumers, h->producers, h->rx,
	                   h->stopping, free_id, err, errlen) != 0)
		goto fail;
	if (acrt__rd_cfg_init(&r->cfg, h, err, errlen) != 0 ||
	    acrt__rd_conn_open(&r->rk, err, errlen) != 0 ||
	    ensure_group(&r->rk, err, errlen) != 0 ||
	    acrt__rd_claim(&r->rk, "recv", NULL, err, errlen) != 0)
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
	return &r->q.base;
fail:
	rx_destroy(&r->q.base);
	return NULL;
}
