/*
 * tap.c - see tap.h: the registry of active taps, the producers' side (the
 * offers, on instance threads) and the streamed responses (on the
 * supervising thread).
 *
 * A tap is one slot of the registry (at most TAP_MAX at once). Its life, all
 * on the supervising thread but the offers:
 *
 *   acrt__tap_serve      slot configured and activated under its mutex, then
 *                        the port's pointer set (release): producers start
 *                        offering; a streamed response is queued
 *   offers (producers)   trylock; limit, rate, room in the ring; ref the event
 *   tap_read (MHD)       events taken from the ring under the mutex (a few
 *                        loads and stores), formatted outside it, copied out;
 *                        nothing to send: the connection is suspended
 *   acrt__tap_service    resumes a suspended stream with events, one that
 *                        must end, or one whose client hung up (poll RDHUP:
 *                        MHD does not watch suspended connections)
 *   tap_done (MHD)       the response is gone (end, error, disconnect, stop):
 *                        slot deactivated, ring released, and the port's
 *                        pointer cleared when no other tap watches the port
 *
 * A producer that loaded the pointer just before it was cleared finds the
 * slot inactive under the mutex and leaves; the registry is freed only after
 * every instance thread has ended (acrt__tap_free), so it is never read freed.
 */
#include "observe/tap.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "core/strbuf.h"

#define TAP_MAX 8        /* taps at once (a 9th gets 503) */
#define TAP_RING 256     /* sampled events waiting per tap; more are skipped */
#define TAP_BLOCK 8192   /* MHD's buffer for the body, per call */
#define TAP_TICK_MS 20   /* the API's poll timeout while a tap streams */
#define TAP_TAKE 64      /* events formatted per refill */
#define TAP_RATE_MAX 1e6 /* --rate above this is refused (400) */
#define TAP_LIMIT_MAX 1e12
#define NO_COMP SIZE_MAX /* tap_slot.comp of a slot detached from its generation */

typedef struct tap_item {
	acrt_event *ev;   /* one reference, owned by the ring */
	uint64_t skipped; /* events of the port skipped just before this one */
	int replica;
} tap_item;

typedef struct tap_slot {
	/* ---- Shared with the producers ---- */
	pthread_mutex_t mu; /* producers only try it; guards the fields below */
	atomic_bool active; /* read without mu as a filter, re-checked under it */
	size_t comp;        /* the component's index (query.h), or NO_COMP */
	bool output;        /* an output port (index port), else an input (port_name) */
	size_t port;
	const char *port_name;             /* borrowed from the blueprint */
	uint64_t limit;                    /* events to sample in all; 0 = no limit */
	uint64_t accepted;                 /* sampled so far */
	int64_t interval_ns;               /* rate: 1 s / N; 0 = no rate limit */
	int64_t next_ns;                   /* monotonic: the earliest the next sample may be */
	uint64_t skipped;                  /* since the last sampled event (rate, full ring) */
	atomic_uint_fast64_t busy_skipped; /* skipped because mu was busy */
	tap_item ring[TAP_RING];
	size_t head;     /* oldest item */
	atomic_size_t n; /* items in the ring; read without mu by the service */
	/* ---- Supervising thread only ---- */
	bool in_use; /* from acrt__tap_serve to tap_done */
	acrt__runtime *rt;
	struct MHD_Connection *conn;
	int fd;           /* the client's socket, to notice a hang-up while suspended */
	bool suspended;   /* by tap_read; resumed by the service */
	bool ending;      /* send what is buffered, then end the stream */
	bool stopping;    /* its generation ends: drain the ring, then end */
	bool gone;        /* the client hung up: end with an error (closes) */
	uint64_t written; /* lines formatted */
	acrt__strbuf out; /* formatted, not yet handed to MHD from off */
	size_t off;
} tap_slot;

struct acrt__taps {
	tap_slot slot[TAP_MAX];
	int n_in_use;
};

/* ---- Producers (instance threads) ------------------------------------------ */

/* Under s->mu: samples ev unless the limit, the rate or a full ring says no. */
static void
slot_take(tap_slot *s, int replica, acrt_event *ev)
{
	if (s->limit != 0 && s->accepted >= s->limit)
		return; /* done: the stream ends once the rest is sent */
	int64_t now = 0;
	if (s->interval_ns != 0) {
		now = acrt__fast_mono_ns();
		if (now < s->next_ns) {
			s->skipped++;
			return;
		}
	}
	size_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
	if (n == TAP_RING) {
		s->skipped++;
		return;
	}
	tap_item *it = &s->ring[(s->head + n) % TAP_RING];
	it->ev = acrt_event_ref(ev);
	it->replica = replica;
	it->skipped =
	    s->skipped + atomic_exchange_explicit(&s->busy_skipped, 0, memory_order_relaxed);
	s->skipped = 0;
	s->accepted++;
	if (s->interval_ns != 0)
		s->next_ns = now + s->interval_ns;
	atomic_store_explicit(&s->n, n + 1, memory_order_relaxed);
}

static void
offer(acrt__taps *t, acrt_ctx *ctx, bool output, size_t port, const char *port_name, acrt_event *ev)
{
	size_t comp = acrt__q_ctx_comp(ctx);
	for (size_t i = 0; i < TAP_MAX; i++) {
		tap_slot *s = &t->slot[i];
		if (!atomic_load_explicit(&s->active, memory_order_acquire))
			continue;
		if (pthread_mutex_trylock(&s->mu) != 0) { /* the reader holds it: skip */
			atomic_fetch_add_explicit(&s->busy_skipped, 1, memory_order_relaxed);
			continue;
		}
		if (atomic_load_explicit(&s->active, memory_order_relaxed) && s->comp == comp &&
		    s->output == output &&
		    (output ? s->port == port : strcmp(s->port_name, port_name) == 0))
			slot_take(s, acrt__q_ctx_replica(ctx), ev);
		pthread_mutex_unlock(&s->mu);
	}
}

void
acrt__tap_offer_out(acrt_ctx *ctx, size_t port, acrt_event *ev)
{
	acrt__taps *t = acrt__q_out_tap(ctx, port);
	if (t != NULL)
		offer(t, ctx, true, port, NULL, ev);
}

void
acrt__tap_offer_in(acrt_ctx *ctx, const char *port, acrt_event *ev)
{
	acrt__taps *t = acrt__q_in_tap(ctx);
	if (t != NULL)
		offer(t, ctx, false, 0, port, ev);
}

/* ---- The registry (supervising thread) ------------------------------------- */

static acrt__taps *
registry(acrt__runtime *rt)
{
	if (acrt__q_taps(rt) != NULL)
		return acrt__q_taps(rt);
	acrt__taps *t = acrt__calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < TAP_MAX; i++) {
		if (pthread_mutex_init(&t->slot[i].mu, NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&t->slot[i].mu);
			acrt__free(t);
			return NULL;
		}
		atomic_init(&t->slot[i].active, false);
		atomic_init(&t->slot[i].n, 0);
		atomic_init(&t->slot[i].busy_skipped, 0);
		t->slot[i].fd = -1;
		t->slot[i].comp = NO_COMP;
	}
	acrt__q_set_taps(rt, t);
	return t;
}

/* Sets or clears the pointer s's port is watched through: an output port's
 * own, or the one pointer of all the component's input ports. Set while any
 * slot in use watches it. */
static void
update_flag(acrt__runtime *rt, const tap_slot *s)
{
	acrt__taps *t = acrt__q_taps(rt);
	bool any = false;
	for (size_t i = 0; i < TAP_MAX && !any; i++) {
		const tap_slot *o = &t->slot[i];
		any = o->in_use && o->comp == s->comp && o->output == s->output &&
		      (!s->output || o->port == s->port);
	}
	if (s->output)
		acrt__q_set_out_tap(rt, s->comp, s->port, any ? t : NULL);
	else
		acrt__q_set_in_tap(rt, s->comp, any ? t : NULL);
}

/* The response is gone: the slot is free again. */
static void
slot_release(tap_slot *s)
{
	acrt_event *evs[TAP_RING];
	size_t n;
	pthread_mutex_lock(&s->mu);
	atomic_store_explicit(&s->active, false, memory_order_relaxed);
	n = atomic_load_explicit(&s->n, memory_order_relaxed);
	for (size_t k = 0; k < n; k++)
		evs[k] = s->ring[(s->head + k) % TAP_RING].ev;
	s->head = 0;
	atomic_store_explicit(&s->n, 0, memory_order_relaxed);
	pthread_mutex_unlock(&s->mu);
	for (size_t k = 0; k < n; k++)
		acrt_event_unref(evs[k]);
	if (n > 0)
		acrt__event_thread_flush(); /* the blocks go back to the pipeline's depot */
	s->in_use = false;
	acrt__q_taps(s->rt)->n_in_use--;
	if (s->comp != NO_COMP) /* else detached at the end of its generation */
		update_flag(s->rt, s);
	free(s->out.p);
	s->out = (acrt__strbuf){0};
	s->off = 0;
	s->conn = NULL;
	s->fd = -1;
}

/* ---- JSON lines (supervising thread) --------------------------------------- */

static void
rfc3339(int64_t ns, char *buf, size_t n)
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	struct tm tm;
	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(buf, n, "1970-01-01T00:00:00Z");
		return;
	}
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static bool
is_json_type(const char *ct)
{
	size_t n = strcspn(ct, ";");
	return (n == 16 && strncmp(ct, "application/json", 16) == 0) ||
	       (n > 5 && strncmp(ct + n - 5, "+json", 5) == 0);
}

/* Appends `"payload_encoding":E,"payload":V}` for ev: JSON when the event
 * carries parsed JSON or JSON bytes, else a string when the bytes are UTF-8,
 * else base64. Never changes the event (no lazy parse or dump cached in it). */
static int
append_payload(acrt__strbuf *b, acrt_event *ev)
{
	json_t *j = atomic_load_explicit(&ev->json, memory_order_acquire);
	size_t len = 0;
	const char *d = NULL;
	int rc = 0;
	char why[128];
	if (j != NULL) { /* built as a tree: printed by the JSON writer */
		acrt__jbuf jb;
		acrt__jbuf_init(&jb);
		acrt__jbuf_jansson(&jb, j);
		rc |= acrt__strbuf_add(b, "\"payload_encoding\":\"json\",\"payload\":", 36);
		rc |= jb.ok ? acrt__strbuf_add(b, jb.p, jb.len) : -1;
		acrt__jbuf_free(&jb);
		rc |= acrt__strbuf_add(b, "}\n", 2);
		return rc != 0 ? -1 : 0;
	}
	d = acrt_event_data(ev, &len); /* bytes as they are: no JSON behind them */
	if (d == NULL)
		return -1;
	if (is_json_type(acrt_event_content_type(ev)) && memchr(d, '\n', len) == NULL &&
	    acrt__json_check(d, len, len, why, sizeof why) == 0) {
		/* JSON text: shown exactly as it travels */
		rc |= acrt__strbuf_add(b, "\"payload_encoding\":\"json\",\"payload\":", 36);
		rc |= acrt__strbuf_add(b, d, len);
	} else {
		json_t *str = json_stringn(d, len); /* NULL unless valid UTF-8 */
		if (str != NULL) {
			rc |=
			    acrt__strbuf_add(b, "\"payload_encoding\":\"utf-8\",\"payload\":", 37);
			rc |= json_dump_callback(str, acrt__strbuf_json_cb, b, JSON_ENCODE_ANY);
			json_decref(str);
		} else {
			size_t cap = 4 * ((len + 2) / 3) + 1;
			unsigned char *enc = acrt__malloc(cap);
			if (enc == NULL)
				return -1;
			int n = EVP_EncodeBlock(enc, (const unsigned char *)d, (int)len);
			rc |= acrt__strbuf_add(b, "\"payload_encoding\":\"base64\",\"payload\":\"",
			                       40);
			rc |= acrt__strbuf_add(b, (const char *)enc, n > 0 ? (size_t)n : 0);
			rc |= acrt__strbuf_add(b, "\"", 1);
			acrt__free(enc);
		}
	}
	rc |= acrt__strbuf_add(b, "}\n", 2);
	return rc != 0 ? -1 : 0;
}

/* One line: the envelope with jansson, then the payload (appended, so that
 * the event's own JSON is only read, never referenced from ours). */
static int
append_line(acrt__strbuf *b, const tap_slot *s, const tap_item *it)
{
	acrt_event *ev = it->ev;
	char when[48], tp[56];
	rfc3339(acrt_event_time_ns(ev), when, sizeof when);
	acrt_event_traceparent(ev, tp);
	json_t *hdr = json_object();
	for (uint32_t i = 0; hdr != NULL && i < ev->n_headers; i++)
		json_object_set_new(hdr, ev->headers[i].key, json_string(ev->headers[i].value));
	const acrt__comp_spec *sp = acrt__q_spec(s->rt, s->comp);
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:s,s:s,s:o,s:s,s:I}", "component", sp->name,
	                      "port", s->output ? sp->outputs[s->port].name : s->port_name,
	                      "direction", s->output ? "output" : "input", "replica", it->replica,
	                      "id", (json_int_t)acrt_event_id(ev), "time", when, "traceparent", tp,
	                      "headers", hdr, "content_type", acrt_event_content_type(ev),
	                      "skipped", (json_int_t)it->skipped);
	if (o == NULL)
		return -1;
	size_t mark = b->len;
	int rc = json_dump_callback(o, acrt__strbuf_json_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (rc != 0 || b->oom || b->len < mark + 2)
		return -1;
	b->p[b->len - 1] = ','; /* reopen the object for the payload */
	return append_payload(b, ev);
}

static bool
component_ended(const acrt__runtime *rt, size_t k)
{
	for (int r = 0; r < acrt__q_replicas(rt, k); r++)
		if (acrt__q_state(rt, k, r) == ACRT__INST_RUNNING)
			return false;
	return true;
}

/* Formats what the ring holds into s->out (empty on entry); decides whether
 * the stream ends. */
static void
refill(tap_slot *s)
{
	/* Read before taking: whatever the component emitted before it ended is
	 * in the ring by then (release in finish_instance, then the mutex). */
	bool ended = component_ended(s->rt, s->comp);
	tap_item items[TAP_TAKE];
	size_t n;
	pthread_mutex_lock(&s->mu);
	size_t have = atomic_load_explicit(&s->n, memory_order_relaxed);
	n = have < TAP_TAKE ? have : TAP_TAKE;
	for (size_t k = 0; k < n; k++)
		items[k] = s->ring[(s->head + k) % TAP_RING];
	s->head = (s->head + n) % TAP_RING;
	atomic_store_explicit(&s->n, have - n, memory_order_relaxed);
	pthread_mutex_unlock(&s->mu);
	for (size_t k = 0; k < n; k++) {
		if (!s->out.oom && append_line(&s->out, s, &items[k]) != 0)
			s->out.oom = true;
		acrt_event_unref(items[k].ev);
		s->written++;
	}
	if (n > 0)
		acrt__event_thread_flush(); /* the blocks go back to the pipeline's depot */
	if (s->out.oom) { /* out of memory: end the stream rather than send a torn line */
		s->gone = true;
		return;
	}
	if ((s->limit != 0 && s->written >= s->limit) || ((ended || s->stopping) && have == n))
		s->ending = true;
}

static ssize_t
tap_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	tap_slot *s = cls;
	if (s->off == s->out.len && !s->gone) {
		s->off = s->out.len = 0;
		if (!s->ending)
			refill(s);
	}
	if (s->gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (s->off < s->out.len) {
		size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
		memcpy(buf, s->out.p + s->off, n);
		s->off += n;
		return (ssize_t)n;
	}
	if (s->ending)
		return MHD_CONTENT_READER_END_OF_STREAM;
	MHD_suspend_connection(s->conn); /* nothing yet: acrt__tap_service resumes it */
	s->suspended = true;
	return 0;
}

static void
tap_done(void *cls)
{
	tap_slot *s = cls;
	if (s->in_use)
		slot_release(s);
}

/* ---- The route (supervising thread) ---------------------------------------- */

static int reply(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A JSON error {"error": message}; the message may hold user input (jansson
 * escapes it). */
static int
reply(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	acrt__strbuf b = {0};
	json_t *o = json_pack("{s:s}", "error", msg);
	if (o == NULL || json_dump_callback(o, acrt__strbuf_json_cb, &b, JSON_COMPACT) != 0 ||
	    acrt__strbuf_add(&b, "\n", 1) != 0) {
		json_decref(o);
		free(b.p);
		return MHD_NO;
	}
	json_decref(o);
	struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(b.p);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A query number: absent -> dflt; else a finite number in [lo, hi]. */
static int
query_number(struct MHD_Connection *c, const char *key, double lo, double hi, double dflt,
             double *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	if (v == NULL || v[0] == '\0') {
		*out = dflt;
		return 0;
	}
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !(d >= lo && d <= hi))
		return -1;
	*out = d;
	return 0;
}

/* Lists the ports of c into buf: "outputs a, b; inputs c". */
static void
port_list(const acrt__comp_spec *sp, char *buf, size_t n)
{
	size_t w = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sp->n_outputs && w < n; i++)
		w += (size_t)snprintf(buf + w, n - w, "%s%s", i ? ", " : "outputs ",
		                      sp->outputs[i].name);
	for (size_t i = 0; i < sp->n_inputs && w < n; i++)
		w += (size_t)snprintf(buf + w, n - w, "%s%s",
		                      i   ? ", "
		                      : w ? "; inputs "
		                          : "inputs ",
		                      sp->inputs[i].name);
}

int
acrt__tap_serve(acrt__runtime *rt, struct MHD_Connection *c, const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "component");
	const char *port = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "port");
	double limit, rate;
	if (name == NULL || name[0] == '\0')
		return reply(c, MHD_HTTP_BAD_REQUEST, "the query needs component=NAME");
	if (query_number(c, "limit", 0, TAP_LIMIT_MAX, 0, &limit) != 0 ||
	    limit != (double)(uint64_t)limit)
		return reply(c, MHD_HTTP_BAD_REQUEST, "limit must be an integer, 0 (none) to 1e12");
	if (query_number(c, "rate", 0, TAP_RATE_MAX, 0, &rate) != 0)
		return reply(c, MHD_HTTP_BAD_REQUEST,
		             "rate must be events per second, 0 (none) to 1000000");
	const acrt__blueprint *bp = acrt__q_blueprint(rt);
	long k = acrt__blueprint_find(bp, name);
	if (k < 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "no component '%.100s' in system '%.100s'",
		             name, bp->name);
	size_t comp = (size_t)k;
	const acrt__comp_spec *sp = acrt__q_spec(rt, comp);
	bool output = false;
	size_t idx = 0;
	const char *pname = NULL;
	if (port == NULL || port[0] == '\0') { /* the first output, else the first input */
		output = sp->n_outputs > 0;
		if (output)
			pname = sp->outputs[0].name;
		else if (sp->n_inputs > 0)
			pname = sp->inputs[0].name;
	} else {
		for (size_t i = 0; i < sp->n_outputs && pname == NULL; i++)
			if (strcmp(sp->outputs[i].name, port) == 0) {
				output = true;
				idx = i;
				pname = sp->outputs[i].name;
			}
		for (size_t i = 0; i < sp->n_inputs && pname == NULL; i++)
			if (strcmp(sp->inputs[i].name, port) == 0)
				pname = sp->inputs[i].name;
	}
	if (pname == NULL) {
		char ports[256];
		port_list(sp, ports, sizeof ports);
		return reply(c, MHD_HTTP_NOT_FOUND, "component '%s' has no port '%.100s' (%s)",
		             name, port != NULL ? port : "", ports[0] ? ports : "no ports");
	}
	if (!output && acrt__q_batched(rt, comp))
		return reply(c, MHD_HTTP_BAD_REQUEST,
		             "the input ports of '%s' cannot be tapped: it batches its input "
		             "(tap the output feeding it)",
		             name);

	acrt__taps *t = registry(rt);
	tap_slot *s = NULL;
	for (size_t i = 0; t != NULL && i < TAP_MAX && s == NULL; i++)
		if (!t->slot[i].in_use)
			s = &t->slot[i];
	if (s == NULL)
		return reply(
		    c, t == NULL ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_SERVICE_UNAVAILABLE,
		    t == NULL ? "out of memory" : "too many taps at once (at most %d)", TAP_MAX);

	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, TAP_BLOCK, tap_read, s, tap_done);
	if (r == NULL)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->rt = rt;
	s->conn = c;
	s->fd = ci != NULL ? ci->connect_fd : -1;
	s->suspended = s->ending = s->gone = s->stopping = false;
	s->written = 0;
	s->in_use = true;
	t->n_in_use++;
	pthread_mutex_lock(&s->mu);
	s->comp = comp;
	s->output = output;
	s->port = idx;
	s->port_name = pname;
	s->limit = (uint64_t)limit;
	s->accepted = 0;
	s->interval_ns = rate > 0 ? (int64_t)(1e9 / rate) : 0;
	if (rate > 0 && s->interval_ns == 0)
		s->interval_ns = 1;
	s->next_ns = 0;
	s->skipped = 0;
	atomic_store_explicit(&s->busy_skipped, 0, memory_order_relaxed);
	atomic_store_explicit(&s->active, true, memory_order_release);
	pthread_mutex_unlock(&s->mu);
	update_flag(rt, s); /* producers start offering */

	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r); /* on failure this runs tap_done: the slot is freed */
	return ret;
}

/* ---- The API's loop (supervising thread) ----------------------------------- */

static bool
client_gone(const tap_slot *s)
{
	if (s->fd < 0)
		return false;
	struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

void
acrt__tap_service(acrt__runtime *rt)
{
	acrt__taps *t = acrt__q_taps(rt);
	if (t == NULL || t->n_in_use == 0)
		return;
	for (size_t i = 0; i < TAP_MAX; i++) {
		tap_slot *s = &t->slot[i];
		if (!s->in_use || !s->suspended)
			continue;
		if (client_gone(s))
			s->gone = true;
		else if (atomic_load_explicit(&s->n, memory_order_relaxed) == 0 && !s->ending &&
		         s->comp != NO_COMP && !component_ended(rt, s->comp))
			continue;
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
}

/* Taps streaming now. */
static int
taps_in_use(const acrt__runtime *rt)
{
	const acrt__taps *t = acrt__q_taps(rt);
	return t != NULL ? t->n_in_use : 0;
}

int
acrt__tap_timeout_ms(const acrt__runtime *rt)
{
	return taps_in_use(rt) > 0 ? TAP_TICK_MS : -1;
}

/* Forgets s's component: no producer reaches s any more, the port is
 * unhooked (every slot of the generation is detached together). */
static void
slot_detach(tap_slot *s)
{
	size_t k = s->comp;
	pthread_mutex_lock(&s->mu);
	atomic_store_explicit(&s->active, false, memory_order_relaxed);
	s->comp = NO_COMP;
	pthread_mutex_unlock(&s->mu);
	if (s->output)
		acrt__q_set_out_tap(s->rt, k, s->port, NULL);
	else
		acrt__q_set_in_tap(s->rt, k, NULL);
}

void
acrt__tap_end_generation(acrt__runtime *rt)
{
	acrt__taps *t = acrt__q_taps(rt);
	if (t == NULL || t->n_in_use == 0)
		return;
	for (size_t i = 0; i < TAP_MAX; i++) {
		tap_slot *s = &t->slot[i];
		if (!s->in_use || s->comp == NO_COMP)
			continue;
		s->stopping = true; /* what is in the ring still goes out: format it now */
		while (!s->ending && !s->gone)
			refill(s);
		slot_detach(s);
		if (s->suspended) {
			s->suspended = false;
			MHD_resume_connection(s->conn);
		}
	}
}

void
acrt__tap_shutdown(acrt__runtime *rt, struct MHD_Daemon *d)
{
	acrt__tap_end_generation(rt);
	/* Non-blocking rounds: resume, write the rest and the last chunk. */
	for (int round = 0; round < 64 && taps_in_use(rt) > 0; round++)
		(void)MHD_run(d);
}

void
acrt__tap_free(acrt__runtime *rt)
{
	acrt__taps *t = acrt__q_taps(rt);
	if (t == NULL)
		return;
	for (size_t i = 0; i < TAP_MAX; i++) {
		if (t->slot[i].in_use) /* MHD_stop_daemon ran tap_done for every stream */
			slot_release(&t->slot[i]);
		pthread_mutex_destroy(&t->slot[i].mu);
	}
	acrt__q_set_taps(rt, NULL);
	acrt__free(t);
}
