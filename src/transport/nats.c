/*
 * nats.c - the `nats` transport (nats.h): the connection and stream that both
 * sides share, and the sending side. The receiving side is nats_rx.c.
 *
 * Invariants (the same as redis.c's, on JetStream):
 *   1. Bounded: the stream holds at most ceil(buffer_size / 64) messages;
 *      the broker refuses one more (DiscardNew, error 10077) and the sender
 *      waits. Nothing is trimmed: a message leaves the work-queue stream only
 *      when its consumer acknowledges it, after all its events were
 *      processed (rxq.h).
 *   2. send() reports as sent only what the broker acknowledged. A message
 *      keeps its id (Nats-Msg-Id: a random per-process nonce and a counter)
 *      across retries, so a resend after a lost acknowledgement is dropped by
 *      the broker (within its duplicate window, 2 minutes): at-least-once,
 *      and duplicates only from a producer killed mid-send.
 *   3. End of stream: one marker message per producer instance, sent at
 *      close() and retried until stored (it waits for room like data).
 * Locks: tx->mu serialises the producer instances; the link's connection is
 * nats.c's, safe from any thread.
 */
#include "transport/nats.h"

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
#include "core/secret.h"
#include "core/strbuf.h"
#include "transport/nats_int.h"
#include "transport/wire.h"

#define WARN_EVERY_NS 10000000000LL
#define PUB_WAIT_MS 2000 /* the broker's acknowledgement of one publish */

/* ---- The link: connection, context, stream -------------------------------- */

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void
acrt__nl_status_text(natsStatus s, int jerr, char *buf, size_t len)
{
	const char *what = natsStatus_GetText(s), *last = nats_GetLastError(NULL);
	if (last != NULL && last[0] == '(') { /* "(conn.c:1905): text": the text */
		const char *p = strstr(last, "): ");
		last = p != NULL ? p + 3 : last;
	}
	if (last == NULL || *last == '\0' || strcmp(last, what) == 0)
		last = NULL;
	if (jerr != 0)
		snprintf(buf, len, "%s (JetStream error %d%s%.160s)", what, jerr, last ? ": " : "",
		         last ? last : "");
	else
		snprintf(buf, len, "%s%s%.200s", what, last ? ": " : "", last ? last : "");
}

void
acrt__nl_warn(nlink *l, const char *what, natsStatus s, int jerr)
{
	int64_t now = acrt__mono_ns(), last = atomic_load(&l->last_warn);
	if (last != 0 && now - last < WARN_EVERY_NS)
		return;
	if (!atomic_compare_exchange_strong(&l->last_warn, &last, now))
		return;
	char why[300];
	acrt__nl_status_text(s, jerr, why, sizeof why);
	acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
	          "binding %s: the nats transport fails (%s: %s); retrying with backoff, the "
	          "binding stalls meanwhile",
	          l->bname, what, why);
}

static void
on_disconnected(natsConnection *nc, void *arg)
{
	(void)nc;
	nlink *l = arg;
	atomic_store(&l->down, true);
	if (!atomic_load(&l->closing))
		acrt__nl_warn(l, "disconnected from the broker", NATS_CONNECTION_DISCONNECTED, 0);
}

static void
on_reconnected(natsConnection *nc, void *arg)
{
	(void)nc;
	nlink *l = arg;
	atomic_store(&l->down, false);
	atomic_fetch_add(&l->reconnects, 1);
	if (!atomic_load(&l->closing))
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "binding %s: reconnected to the nats broker", l->bname);
}

static void
on_closed(natsConnection *nc, void *arg)
{
	(void)nc;
	nlink *l = arg;
	pthread_mutex_lock(&l->mu);
	l->closed = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Reads a secret file into nats.c's options through set(), then wipes it. */
static natsStatus
with_secret(const char *path, natsOptions *o, const char *user,
            natsStatus (*set)(natsOptions *, const char *, const char *), char *err, size_t errlen,
            const char *key)
{
	char *secret = NULL;
	if (acrt__secret_file_read(path, 4096, &secret) != 0) {
		snprintf(err, errlen, "runtime.transport.%s: cannot read '%s'", key, path);
		return NATS_ERR;
	}
	natsStatus s = set(o, user, secret);
	memset(secret, 0, strlen(secret));
	free(secret);
	return s;
}

static natsStatus
set_token(natsOptions *o, const char *user, const char *token)
{
	(void)user;
	return natsOptions_SetToken(o, token);
}

/* The options of h: URL, credentials, TLS, reconnects. */
static natsStatus
make_options(nlink *l, const acrt__hop *h, natsOptions **out, char *err, size_t errlen)
{
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, h->url);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "acrt");
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, 250);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(o, false, NULL, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, l);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, l);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(o, on_closed, l);
	if (s == NATS_OK && h->token_file != NULL)
		s = with_secret(h->token_file, o, NULL, set_token, err, errlen, "token_file");
	if (s == NATS_OK && h->password_file != NULL)
		s = with_secret(h->password_file, o, h->user, natsOptions_SetUserInfo, err, errlen,
		                "password_file");
	if (s == NATS_OK && h->creds_file != NULL)
		s = natsOptions_SetUserCredentialsFromFiles(o, h->creds_file, NULL);
	if (s == NATS_OK && h->tls)
		s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK && h->tls_ca_file != NULL)
		s = natsOptions_LoadCATrustedCertificates(o, h->tls_ca_file);
	if (s == NATS_OK && h->tls_cert_file != NULL)
		s = natsOptions_LoadCertificatesChain(o, h->tls_cert_file, h->tls_key_file);
	if (s != NATS_OK && err[0] == '\0') {
		char why[300];
		acrt__nl_status_text(s, 0, why, sizeof why);
		snprintf(err, errlen, "nats: bad transport settings: %s", why);
	}
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		o = NULL;
	}
	*out = o;
	return s;
}

int
acrt__nl_stream(nlink *l, char *err, size_t errlen)
{
	jsStreamConfig sc;
	jsStreamConfig_Init(&sc);
	const char *subjects[1] = {l->subject};
	sc.Name = l->stream;
	sc.Description = l->bname;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Retention = js_WorkQueuePolicy;
	sc.MaxMsgs = l->max_msgs;
	sc.Discard = js_DiscardNew;
	sc.Storage = js_FileStorage;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_AddStream(&si, l->js, &sc, NULL, &jerr);
	if (s != NATS_OK && jerr == JSStreamNameExistErr) /* another bound: take this one */
		s = js_UpdateStream(&si, l->js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK) {
		char why[300];
		acrt__nl_status_text(s, jerr, why, sizeof why);
		snprintf(err, errlen, "nats: cannot create the stream %s: %s", l->stream, why);
		return -1;
	}
	return 0;
}

int
acrt__nl_open(nlink *l, const acrt__hop *h, char *err, size_t errlen)
{
	err[0] = '\0';
	uint64_t hash = fnv1a(h->key);
	snprintf(l->stream, sizeof l->stream, "ACRT_%016llx", (unsigned long long)hash);
	snprintf(l->subject, sizeof l->subject, "acrt.bind.%016llx", (unsigned long long)hash);
	size_t i = 0;
	for (const char *p = h->group; *p != '\0' && i + 1 < sizeof l->durable; p++, i++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_';
		l->durable[i] = ok ? c : '_';
	}
	l->durable[i] = '\0';
	l->max_msgs = (int64_t)((h->capacity + NATS_PER_MSG - 1) / NATS_PER_MSG);
	if ((l->bname = acrt__strdup(h->name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&l->mu, NULL) != 0)
		goto nolock;
	if (acrt__cond_init_mono(&l->cv) != 0) {
		pthread_mutex_destroy(&l->mu);
		goto nolock;
	}
	l->mu_on = true;
	natsOptions *o = NULL;
	if (make_options(l, h, &o, err, errlen) != NATS_OK)
		return -1;
	natsStatus s = natsConnection_Connect(&l->nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		char why[300];
		acrt__nl_status_text(s, 0, why, sizeof why);
		/* nats.c's words never hold the URL's credentials. */
		snprintf(err, errlen, "nats: cannot connect: %s", why);
		return -1;
	}
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	s = natsConnection_JetStream(&l->js, l->nc, &jo);
	if (s != NATS_OK) {
		snprintf(err, errlen, "nats: no JetStream context: %s", natsStatus_GetText(s));
		return -1;
	}
	return acrt__nl_stream(l, err, errlen);
nolock:
	snprintf(err, errlen, "cannot create a lock");
	return -1;
}

void
acrt__nl_close(nlink *l)
{
	atomic_store(&l->closing, true);
	if (l->js != NULL)
		jsCtx_Destroy(l->js);
	if (l->nc != NULL) {
		natsConnection_Close(l->nc);
		int64_t until = acrt__mono_ns() + 2000000000LL;
		pthread_mutex_lock(&l->mu);
		while (!l->closed && acrt__mono_ns() < until)
			(void)acrt__cond_wait_until(&l->cv, &l->mu, until);
		pthread_mutex_unlock(&l->mu);
		natsConnection_Destroy(l->nc);
	}
	if (l->mu_on) {
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
	}
	l->mu_on = false;
	l->js = NULL;
	l->nc = NULL;
	acrt__free(l->bname);
	l->bname = NULL;
}

/* ---- Sending side -------------------------------------------------------- */

typedef struct tx {
	acrt__transport base;
	nlink l;
	pthread_mutex_t mu; /* the producers; the buffer */
	pthread_cond_t cv;  /* cancel wakes a waiting producer; CLOCK_MONOTONIC */
	atomic_bool cancelled;
	atomic_uint closed; /* producers closed: the next marker's index */
	size_t capacity;
	acrt__strbuf rec;          /* the message being sent */
	char nonce[20];            /* this process's message-id prefix */
	uint64_t seq;              /* the next message id; under mu */
	uint64_t sent, blocked_ns; /* under mu */
	atomic_uint_fast64_t dropped;
	int64_t backoff_ns;
} tx;

static void
tx_wait(tx *t, int64_t until)
{
	if (!atomic_load(&t->cancelled))
		(void)acrt__cond_wait_until(&t->cv, &t->mu, until);
}

enum { PUB_OK, PUB_FULL, PUB_FAILED };

/* Publishes t->rec as message id `id`; waits at most until deadline for
 * the broker's acknowledgement. */
static int
tx_publish(tx *t, const char *id, int64_t deadline)
{
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MsgId = id;
	int64_t left_ms = (deadline - acrt__mono_ns()) / 1000000;
	po.MaxWait = left_ms < 1 ? 1 : left_ms < PUB_WAIT_MS ? left_ms : PUB_WAIT_MS;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus s =
	    js_Publish(&pa, t->l.js, t->l.subject, t->rec.p, (int)t->rec.len, &po, &jerr);
	jsPubAck_Destroy(pa);
	if (s == NATS_OK) {
		t->backoff_ns = 0;
		return PUB_OK;
	}
	if (jerr == JSStreamStoreFailedErr)
		return PUB_FULL; /* maximum messages exceeded: the consumer is behind */
	acrt__nl_warn(&t->l, "publish", s, jerr);
	if (s == NATS_NO_RESPONDERS || jerr == JSStreamNotFoundErr) {
		char err[300]; /* the broker lost the stream (no storage): make it again */
		if (acrt__nl_stream(&t->l, err, sizeof err) != 0)
			acrt__nl_warn(&t->l, err, NATS_ERR, 0);
	}
	return PUB_FAILED;
}

/* Waits after a failed publish: backoff 50 ms doubling to 2 s. */
static void
tx_backoff(tx *t, int64_t deadline)
{
	t->backoff_ns = t->backoff_ns == 0 ? 50000000 : t->backoff_ns * 2;
	if (t->backoff_ns > 2000000000)
		t->backoff_ns = 2000000000;
	int64_t until = acrt__mono_ns() + t->backoff_ns;
	tx_wait(t, until < deadline ? until : deadline);
}

/* Frames evs[0..m) into t->rec, fewer when the message would pass the
 * broker's max_payload. Returns how many; 0 when evs[0] alone is too big
 * (*big: its size) or out of memory (-1 in *big). */
static size_t
tx_frame(tx *t, acrt_event **evs, size_t m, int64_t *big)
{
	int64_t max = natsConnection_GetMaxPayload(t->l.nc);
	t->rec.len = 0;
	for (size_t i = 0; i < m; i++) {
		size_t before = t->rec.len;
		if (acrt__wire_frame(evs[i], &t->rec) != 0) {
			*big = -1;
			return 0;
		}
		if (max > 0 && (int64_t)t->rec.len > max) {
			t->rec.len = before;
			if (i == 0)
				*big = (int64_t)(t->rec.len - before);
			return i;
		}
	}
	return m;
}

static int
tx_send(acrt__transport *base, acrt_event **evs, size_t n, size_t *sent_out, int64_t deadline,
        unsigned flags)
{
	(void)flags;
	tx *t = (tx *)base;
	size_t sent = 0;
	int rc = ACRT_OK;
	int64_t poll_ns = 200000, t0 = 0;
	char id[48];

	pthread_mutex_lock(&t->mu);
	while (sent < n) {
		if (atomic_load(&t->cancelled)) {
			rc = ACRT_ECANCELED;
			break;
		}
		int64_t now = acrt__mono_ns();
		if (now >= deadline) {
			rc = ACRT_ETIMEDOUT;
			break;
		}
		int64_t big = 0;
		size_t m = tx_frame(t, evs + sent,
		                    n - sent < NATS_PER_MSG ? n - sent : NATS_PER_MSG, &big);
		if (m == 0 && big < 0) {
			rc = ACRT_ENOMEM;
			break;
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
		snprintf(id, sizeof id, "%s-%llu", t->nonce, (unsigned long long)t->seq);
		int pr = tx_publish(t, id, deadline);
		if (pr == PUB_OK) {
			for (size_t i = 0; i < m; i++)
				acrt_event_unref(evs[sent + i]);
			sent += m;
			t->sent += m;
			t->seq++;
			poll_ns = 200000;
		} else if (pr == PUB_FULL) { /* wait for the consumer (0.2 to 10 ms) */
			if (t0 == 0)
				t0 = now;
			tx_wait(t, now + poll_ns < deadline ? now + poll_ns : deadline);
			poll_ns = poll_ns * 2 > 10000000 ? 10000000 : poll_ns * 2;
		} else {
			tx_backoff(t, deadline); /* resent with the same id */
		}
	}
	if (t0 != 0)
		t->blocked_ns += (uint64_t)(acrt__mono_ns() - t0);
	pthread_mutex_unlock(&t->mu);
	*sent_out = sent;
	return rc;
}

static void
tx_kick(acrt__transport *base)
{
	(void)base; /* every send is stored at once: nothing waits locally */
}

static size_t
tx_try_recv(acrt__transport *base, unsigned consumer, acrt_event **evs, size_t max,
            acrt__rx_status *st)
{
	(void)base, (void)consumer, (void)evs, (void)max;
	*st = ACRT__RX_EOS; /* the receiving side is on the consumer's node */
	return 0;
}

static int
tx_send_barrier(acrt__transport *base, acrt_event *ev, int64_t deadline)
{
	(void)base, (void)deadline;
	acrt_event_unref(ev); /* not across nodes in this build (wiring refuses state) */
	return ACRT_ETIMEDOUT;
}

/* Stores this producer instance's end marker (retrying until cancelled). */
static void
tx_close(acrt__transport *base)
{
	tx *t = (tx *)base;
	unsigned idx = atomic_fetch_add(&t->closed, 1);
	char id[48];
	snprintf(id, sizeof id, "%s-eos-%u", t->nonce, idx);
	pthread_mutex_lock(&t->mu);
	t->rec.len = 0;
	if (acrt__wire_frame_eos(idx, &t->rec) != 0) {
		pthread_mutex_unlock(&t->mu);
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "binding %s: out of memory for the end-of-stream marker", t->l.bname);
		return;
	}
	int64_t poll_ns = 200000;
	while (!atomic_load(&t->cancelled)) {
		int64_t forever = acrt__mono_ns() + 3600 * 1000000000LL;
		int pr = tx_publish(t, id, forever);
		if (pr == PUB_OK)
			break;
		if (pr == PUB_FAILED) {
			tx_backoff(t, forever);
			continue;
		}
		tx_wait(t, acrt__mono_ns() + poll_ns);
		poll_ns = poll_ns * 2 > 10000000 ? 10000000 : poll_ns * 2;
	}
	pthread_mutex_unlock(&t->mu);
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
	out->dropped = atomic_load(&t->dropped);
	if (pthread_mutex_trylock(&t->mu) != 0)
		return; /* a producer is on the network: never wait for it here */
	out->sent = t->sent;
	out->blocked_ns = t->blocked_ns;
	pthread_mutex_unlock(&t->mu);
	out->capacity = t->capacity;
}

static size_t
tx_destroy(acrt__transport *base)
{
	tx *t = (tx *)base;
	if (t == NULL)
		return 0;
	acrt__nl_close(&t->l);
	free(t->rec.p);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	acrt__free(t->base.name);
	acrt__free(t);
	return 0;
}

static const acrt__transport_ops tx_ops = {
    .kind = "nats",
    .send = tx_send,
    .kick = tx_kick,
    .try_recv = tx_try_recv,
    .send_barrier = tx_send_barrier,
    .close = tx_close,
    .cancel = tx_cancel,
    .stats = tx_stats,
    .destroy = tx_destroy,
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
	if (acrt__nl_open(&t->l, h, err, errlen) != 0) {
		tx_destroy(&t->base);
		return NULL;
	}
	return &t->base;
}
