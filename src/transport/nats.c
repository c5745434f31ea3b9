/*
 * nats.c - the `nats` transport (nats.h): the link both sides share, that is
 * the connection (URL, credentials, TLS, reconnects), the JetStream context,
 * the binding's names on the broker and its stream. The sending side is
 * nats_tx.c, the receiving side nats_rx.c.
 *
 * The stream is the bound (invariant 1 of nats_tx.c): work-queue retention,
 * MaxMsgs = ceil(buffer_size / per_msg), DiscardNew, file storage, where a
 * message packs up to per_msg = buffer_size / 32 events (64 to 256). Either side may
 * create it first; a bound changed since makes it updated.
 */
#include "transport/nats.h"

#include <malloc.h>
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
#include "transport/nats_int.h"

#define WARN_EVERY_NS 10000000000LL
/* How long a node's setup retries what another node making the same broker
 * objects at the same moment can make fail for a while (the stream, the
 * claims' bucket): a busy machine can start the two processes together.
 * Longer than one request's wait (5 s), which such a request has been seen
 * to use up. */
#define SETUP_RACE_NS 15000000000LL

/* ---- The link: connection, context, stream -------------------------------- */

/* Waits before the next try of a setup step that raced another node (the
 * hops' doubling from *wait, 20 ms to 320 ms); false once `until`
 * (monotonic) has passed. */
static bool
race_wait(int64_t *wait, int64_t until)
{
	*wait = acrt__hop_next_wait(*wait, 20000000LL, 320000000LL);
	if (acrt__mono_ns() + *wait > until)
		return false;
	nats_Sleep(*wait / 1000000);
	return true;
}

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
	unsigned mode = 0;
	int pr = acrt__secret_file_private(path, &mode);
	if (pr > 0) {
		snprintf(err, errlen,
		         "runtime.transport.%s: %s is open to its group or others (mode %03o): "
		         "chmod 600 it",
		         key, path, mode);
		return NATS_ERR;
	}
	if (pr < 0 || acrt__secret_file_read(path, 4096, &secret) != 0) {
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
	natsStatus s = NATS_ERR;
	/* Both nodes of a binding make the stream, maybe at the same moment: the
	 * server may then answer the second "subjects overlap" (10065) while the
	 * first is being created. Asked again, it has the stream: identical (OK)
	 * or with another bound (10058: the update takes this one). */
	int64_t until = acrt__mono_ns() + SETUP_RACE_NS, wait = 0;
	for (;;) {
		jerr = 0;
		s = js_AddStream(&si, l->js, &sc, NULL, &jerr);
		if (s != NATS_OK && jerr == JSStreamNameExistErr)
			s = js_UpdateStream(&si, l->js, &sc, NULL, &jerr);
		if (s == NATS_OK || jerr != JSStreamSubjectOverlapErr || !race_wait(&wait, until))
			break;
	}
	if (s == NATS_OK && si != NULL) {
		l->last_seq = si->State.LastSeq;
		l->msgs = si->State.Msgs;
	}
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
acrt__nl_last_seq(nlink *l, char *err, size_t errlen)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, l->js, l->stream, NULL, &jerr);
	if (s == NATS_OK && si != NULL) {
		l->last_seq = si->State.LastSeq;
		l->msgs = si->State.Msgs;
	}
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK)
		return 0;
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) /* the broker lost it */
		return acrt__nl_stream(l, err, errlen);
	char why[300];
	acrt__nl_status_text(s, jerr, why, sizeof why);
	snprintf(err, errlen, "nats: stream %s: %s", l->stream, why);
	return -1;
}

size_t
acrt__nl_per_msg(size_t capacity)
{
	size_t n = capacity / NATS_MSGS_PER_BOUND;
	return n < ACRT__RXQ_PER_MSG       ? ACRT__RXQ_PER_MSG
	       : n > ACRT__RXQ_PER_MSG_MAX ? ACRT__RXQ_PER_MSG_MAX
	                                   : n;
}

static atomic_bool g_used; /* a link was opened: nats.c's library is open */

void
acrt__nats_release(void)
{
	if (atomic_exchange(&g_used, false))
		(void)nats_CloseAndWait(2000);
}

/* Freed heap kept by malloc before it trims it back to the system. A hop
 * moves messages of up to 256 events (70 KiB on 235-byte lines) through
 * malloc on nats.c's threads and ours: with glibc's default (128 KiB, which
 * the first mmap'd block raises) each arena's top was trimmed and faulted
 * back in again and again, 57,000 page faults per 1M events on the
 * receiving node, a third of its system time. */
#define TRIM_THRESHOLD (16 << 20)

int
acrt__nl_open(nlink *l, const acrt__hop *h, jsPubAckHandler ack, void *closure, char *err,
              size_t errlen)
{
	if (!atomic_exchange(&g_used, true))
		(void)mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD); /* 0 only for a bad value */
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
	l->per_msg = acrt__nl_per_msg(h->capacity);
	l->max_msgs = (int64_t)((h->capacity + l->per_msg - 1) / l->per_msg);
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
	jo.PublishAsync.AckHandler = ack;
	jo.PublishAsync.AckHandlerClosure = closure;
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

#define OWNERS "acrt_owners"

int
acrt__nl_claim(nlink *l, const char *side, uint64_t *epoch, char *err, size_t errlen)
{
	uint64_t r[2] = {0, 0};
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		snprintf(err, errlen, "no random bytes for a claim");
		return -1;
	}
	snprintf(l->owner_key, sizeof l->owner_key, "%s.%s", l->stream, side);
	/* The bucket is made by whichever node comes first. One made at the
	 * same moment by another node may for a while be neither creatable
	 * ("subjects overlap") nor usable ("no responders": its stream is not
	 * serving yet): every step is tried again until SETUP_RACE_NS. */
	kvConfig kc;
	kvConfig_Init(&kc);
	kc.Bucket = OWNERS;
	kc.History = 1;
	natsStatus s = NATS_ERR;
	kvEntry *e = NULL;
	int64_t until = acrt__mono_ns() + SETUP_RACE_NS, wait = 0;
	for (;;) {
		s = NATS_OK;
		if (l->owners == NULL) {
			s = js_CreateKeyValue(&l->owners, l->js, &kc);
			if (s != NATS_OK) /* made by another node with other settings: use it */
				s = js_KeyValue(&l->owners, l->js, OWNERS);
		}
		if (s == NATS_OK && epoch != NULL) /* above the last claimant's epoch */
			s = kvStore_Get(&e, l->owners, l->owner_key);
		bool unclaimed = s == NATS_NOT_FOUND && l->owners != NULL; /* no claim yet */
		if (s == NATS_OK || unclaimed || !race_wait(&wait, until))
			break;
	}
	if (s == NATS_OK && epoch != NULL) {
		const char *dot = strchr(kvEntry_ValueString(e), '.');
		uint64_t prev = dot != NULL ? strtoull(dot + 1, NULL, 10) : 0;
		if (prev >= *epoch)
			*epoch = prev + 1;
	}
	if (e != NULL)
		kvEntry_Destroy(e);
	if (s == NATS_NOT_FOUND && l->owners != NULL) /* no claim yet */
		s = NATS_OK;
	snprintf(l->token, sizeof l->token, "%016llx%016llx.%llu", (unsigned long long)r[0],
	         (unsigned long long)r[1], (unsigned long long)(epoch != NULL ? *epoch : 0));
	if (strcmp(side, "recv") == 0) { /* the consumer's name carries the claim */
		size_t n = strlen(l->durable);
		if (n > 60)
			n = 60;
		snprintf(l->durable + n, sizeof l->durable - n, "_%.8s", l->token);
	}
	uint64_t rev = 0;
	wait = 0; /* the put's own tries start again at 20 ms */
	while (s == NATS_OK) {
		s = kvStore_PutString(&rev, l->owners, l->owner_key, l->token);
		bool again =
		    s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT; /* the same token again */
		if (!again || !race_wait(&wait, until))
			break;
	}
	if (s != NATS_OK) {
		char why[300];
		acrt__nl_status_text(s, 0, why, sizeof why);
		snprintf(err, errlen, "nats: cannot claim the binding in bucket %s: %s", OWNERS,
		         why);
		return -1;
	}
	return 0;
}

int
acrt__nl_owned(nlink *l, char *err, size_t errlen)
{
	kvEntry *e = NULL;
	natsStatus s = kvStore_Get(&e, l->owners, l->owner_key);
	if (s == NATS_NOT_FOUND)
		return 0; /* deleted: nobody's, and not this process's either */
	if (s != NATS_OK) {
		char why[300];
		acrt__nl_status_text(s, 0, why, sizeof why);
		snprintf(err, errlen, "nats: cannot read the claim on the binding: %s", why);
		return -1;
	}
	const char *v = kvEntry_ValueString(e);
	int own = v != NULL && strcmp(v, l->token) == 0;
	kvEntry_Destroy(e);
	return own;
}

void
acrt__nl_fenced(nlink *l, const char *side)
{
	acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
	          "binding %s: fenced: another process has claimed its %s side since this one "
	          "started (a replacement of this node); this stale process stops writing to "
	          "it and ends",
	          l->bname, side);
}

void
acrt__nl_close(nlink *l)
{
	atomic_store(&l->closing, true);
	if (l->owners != NULL)
		kvStore_Destroy(l->owners);
	l->owners = NULL;
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
