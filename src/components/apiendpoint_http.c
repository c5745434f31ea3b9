/*
 * apiendpoint_http.c - the APIEndpoint's HTTP side (see apiendpoint.c for the
 * design): the libmicrohttpd daemon, started and stopped on the component's
 * run() thread, and the request handlers that run on the daemon's own threads
 * (`threads`, default 1, a thread pool when more).
 *
 * Hostile clients (core/httpd.h): one address holds at most
 * ACRT__HTTP_PER_CLIENT_ENDPOINT connections, and a request must be through
 * (head, body, answer) within 10 s plus 1 s per MiB of max_body_bytes from its
 * connection's accept or the previous request's end, or the guard's thread
 * shuts the connection down (counted: connections_timed_out). A chunked body
 * is held to max_body_bytes as it arrives; the deadline bounds how long it may
 * keep arriving after that.
 *
 * A request's first call (headers only) checks, in order: the bearer token
 * (401), the path (404), the method (405 with Allow), a graceful stop (503)
 * and Content-Length (413); then the body is read into the request's buffer,
 * up to max_body_bytes (past it, the rest is dropped and the answer is 413).
 * With the whole body in: JSON (400 with jansson's reason, line and column),
 * a root event with headers http-path and http-method (and the caller's trace
 * id from a W3C traceparent header), the output port's schema when it has one
 * (422 {"error": "schema", "details": [...]}, the event dropped), and the
 * queue: 202 {"id": N}, 429 with Retry-After: 1 when full, 503 once closed.
 * A handler never emits, so it never waits for the pipeline.
 *
 * The schema check reads the body as every validator in acrt does
 * (acrt_event_json: integers within int64 exact, other numbers as doubles)
 * and validates it without an error list; only a rejected body is validated
 * again to list its errors. The tree is released before the event is queued,
 * so a queued event holds its text alone, as without a schema (the queue's
 * memory bound is unchanged). The compiled schema is shared by every HTTP
 * thread: it is immutable, and the regex match data is per thread.
 *
 * The handlers read the endpoint's setup-time fields, its atomics and the
 * shared answers; they touch the queue only through acrt__ep_push. Each
 * request's state (req) belongs to the thread serving its connection and is
 * freed by on_completed.
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "components/apiendpoint.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "runtime/ctx_query.h"

#define EP_CONN_TIMEOUT_S 10 /* a connection idle this long is closed */
#define EP_SCHEMA_ERRORS 16  /* errors a 422 lists, at most */
#define EP_SCHEMA_PATH 200   /* bytes of an error's path shown, at most */

typedef ep_req req; /* apiendpoint.h: one request being read (or held) */

static req answered; /* con_cls once an answer is queued: later body bytes are dropped */

#define JSON_TYPE "application/json"

static struct MHD_Response *
static_response(const char *body, const char *hk, const char *hv)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) != MHD_YES ||
	    (hk != NULL && MHD_add_response_header(r, hk, hv) != MHD_YES)) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

static enum MHD_Result
answer(endpoint *e, struct MHD_Connection *c, void **con_cls, unsigned status,
       struct MHD_Response *r, int stat)
{
	atomic_fetch_add_explicit(&e->stats[stat], 1, memory_order_relaxed);
	if (*con_cls == NULL)
		*con_cls = &answered;
	return MHD_queue_response(c, status, r);
}

/* A one-off JSON answer {"error": msg} (msg escaped by jansson). */
static enum MHD_Result
answer_error(endpoint *e, struct MHD_Connection *c, void **con_cls, unsigned status, const char *hk,
             const char *hv, const char *msg, int stat)
{
	char buf[768];
	json_t *o = json_pack("{s:s}", "error", msg);
	size_t n = o != NULL ? json_dumpb(o, buf, sizeof buf - 1, JSON_COMPACT) : 0;
	json_decref(o);
	if (n == 0 || n >= sizeof buf - 1)
		n = (size_t)snprintf(buf, sizeof buf, "{\"error\":\"bad request\"}");
	buf[n++] = '\n';
	struct MHD_Response *r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) == MHD_YES &&
	    (hk == NULL || MHD_add_response_header(r, hk, hv) == MHD_YES))
		ret = answer(e, c, con_cls, status, r, stat);
	MHD_destroy_response(r);
	return ret;
}

/* Continues the caller's trace when the request carries a valid W3C
 * `traceparent` (00-TRACEID-SPANID-FLAGS): the event keeps its trace id. */
static void
adopt_traceparent(acrt_event *ev, const char *tp)
{
	uint8_t id[16];
	bool nonzero = false;
	if (tp == NULL || strlen(tp) < 55 || tp[2] != '-' || tp[35] != '-' ||
	    strncmp(tp, "ff", 2) == 0)
		return;
	for (size_t i = 0; i < 16; i++) {
		unsigned v;
		char hex[3] = {tp[3 + 2 * i], tp[4 + 2 * i], '\0'};
		char *end;
		if (hex[0] == '+' || hex[0] == '-' || hex[0] == ' ')
			return;
		v = (unsigned)strtoul(hex, &end, 16);
		if (*end != '\0')
			return;
		id[i] = (uint8_t)v;
		nonzero |= v != 0;
	}
	if (nonzero)
		memcpy(ev->trace_id, id, sizeof id);
}

/* One schema error as "path: what" ("(root)" for the whole body; "maximum
 * 100, got 101" or the keyword), the path cut on a UTF-8 boundary. */
static void
schema_error_line(const acrt__schema_error *x, char *buf, size_t len)
{
	const char *p = x->path != NULL && x->path[0] != '\0' ? x->path : "(root)";
	size_t n = strlen(p);
	const char *cut = "";
	if (n > EP_SCHEMA_PATH) {
		n = EP_SCHEMA_PATH;
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
		cut = "...";
	}
	snprintf(buf, len, "%.*s%s: %s", (int)n, p, cut, acrt__schema_error_text(x));
}

/* {"error": "schema", "details": [...], "truncated": true?} with a newline,
 * from acrt__malloc into *out (its length in *len); -1 when out of memory. */
static int
schema_body(const acrt__schema_errors *errs, char **out, size_t *len, char *first, size_t flen)
{
	char line[320];
	json_t *details = json_array(), *o = NULL;
	int rc = -1;
	snprintf(first, flen, "(root): invalid"); /* no error recorded (none had room) */
	for (size_t i = 0; details != NULL && i < errs->n && i < EP_SCHEMA_ERRORS; i++) {
		schema_error_line(&errs->v[i], line, sizeof line);
		if (i == 0)
			snprintf(first, flen, "%s", line);
		if (json_array_append_new(details, json_string(line)) != 0)
			goto cleanup;
	}
	if (details == NULL || (errs->n == 0 && json_array_append_new(details, json_string(first))))
		goto cleanup;
	o = json_pack("{s:s,s:O}", "error", "schema", "details", details);
	if (o == NULL ||
	    (errs->n > EP_SCHEMA_ERRORS && json_object_set_new(o, "truncated", json_true()) != 0))
		goto cleanup;
	size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT);
	char *b = n > 0 ? acrt__malloc(n + 1) : NULL;
	if (b == NULL || json_dumpb(o, b, n, JSON_COMPACT) != n) {
		acrt__free(b);
		goto cleanup;
	}
	b[n] = '\n';
	*out = b;
	*len = n + 1;
	rc = 0;
cleanup:
	json_decref(o);
	json_decref(details);
	return rc;
}

/* The body breaks the output port's schema: 422 with its errors (listed by a
 * second validation, with an error list), counted, logged rate-limited
 * (acrt_log limits each call site). The caller drops the event. */
static enum MHD_Result
answer_schema(endpoint *e, struct MHD_Connection *c, void **con_cls, const json_t *body,
              const char *method, const char *path)
{
	acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
	errs.max = EP_SCHEMA_ERRORS + 1; /* one more tells that some were left out */
	char *text = NULL, first[320];
	size_t len = 0;
	enum MHD_Result ret = MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	(void)acrt__schema_validate(e->schema, body, &errs);
	if (errs.n == 1 && strcmp(errs.v[0].keyword, "out of memory") == 0)
		goto cleanup; /* not the body's fault */
	if (schema_body(&errs, &text, &len, first, sizeof first) != 0)
		goto cleanup;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		goto cleanup;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) == MHD_YES)
		ret = answer(e, c, con_cls, MHD_HTTP_UNPROCESSABLE_CONTENT, r, EP_ST_SCHEMA);
	MHD_destroy_response(r);
	acrt_log(e->ctx, ACRT_LOG_WARN, "%s %s: 422, the body breaks the output schema: %s%s",
	         method, path, first, errs.n > 1 ? "; ..." : "");
cleanup:
	acrt__free(text);
	acrt__schema_errors_free(&errs);
	return ret;
}

/* Whether url (its query string ignored) matches the route's path: equal,
 * or segment by segment where a path segment {NAME} takes any non-empty
 * segment of url. params (may be NULL) gets NAME: segment for each. Returns
 * -1 only when out of memory. */
static int
path_match(const char *pat, const char *url, json_t *params)
{
	size_t ulen = strcspn(url, "?");
	for (;;) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			size_t seg = strcspn(url, "/?");
			if (close == NULL || seg == 0)
				return 0;
			if (params != NULL) {
				char name[64], val[256];
				size_t nl = (size_t)(close - pat - 1);
				if (nl == 0 || nl >= sizeof name || seg >= sizeof val)
					return 0;
				memcpy(name, pat + 1, nl);
				name[nl] = '\0';
				memcpy(val, url, seg);
				val[seg] = '\0';
				if (json_object_set_new(params, name, json_string(val)) != 0)
					return -1;
			}
			pat = close + 1;
			url += seg;
			ulen -= seg;
			continue;
		}
		if (*pat == '\0')
			return ulen == 0 ? 1 : 0;
		if (ulen == 0 || *pat != *url)
			return 0;
		pat++;
		url++;
		ulen--;
	}
}

/* A route with `action` (reply): {"action": A, "data": BODY (when there is
 * one), NAME: segment for each {NAME} of its path}, as text from acrt__malloc
 * into *out; -1 when out of memory (or the path no longer matches). */
static int
action_body(const req *r, const char *url, const char *body, size_t blen, char **out, size_t *olen)
{
	json_t *o = json_pack("{s:s}", "action", r->route->action);
	int rc = -1;
	if (o == NULL || path_match(r->route->path, url, o) != 1)
		goto cleanup;
	if (r->len > 0) { /* a request without a body has no data */
		json_t *d = json_loadb(body, blen, JSON_DECODE_ANY, NULL);
		if (d == NULL || json_object_set_new(o, "data", d) != 0)
			goto cleanup;
	}
	size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT);
	if (n == 0 || (*out = acrt__malloc(n)) == NULL)
		goto cleanup;
	*olen = json_dumpb(o, *out, n, JSON_COMPACT);
	rc = 0;
cleanup:
	json_decref(o);
	return rc;
}

/* The whole body is in: JSON check, event, schema, queue, answer. */
static enum MHD_Result
finish_request(endpoint *e, struct MHD_Connection *c, void **con_cls, req *r, const char *url,
               const char *method)
{
	if (r->too_big) {
		atomic_fetch_add_explicit(&e->stats[EP_ST_TOO_LARGE], 1, memory_order_relaxed);
		return MHD_queue_response(c, MHD_HTTP_CONTENT_TOO_LARGE, e->r413);
	}
	if (acrt__ctx_stop_requested(e->ctx)) {
		atomic_fetch_add_explicit(&e->stats[EP_ST_STOPPING], 1, memory_order_relaxed);
		return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, e->r503);
	}
	/* The body is the event, as sent (docs/JSON.md): checked, not parsed
	 * (only the output schema's check below reads it into a tree). */
	char *body = r->buf != NULL ? r->buf : "";
	size_t blen = r->len;
	char why[128], *wrapped = NULL;
	bool bodyless = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;
	if (bodyless && blen == 0) {
		body = "{}"; /* a GET or DELETE without a body (reply only): the event is {} */
		blen = 2;
	}
	if (acrt__json_check(body, blen, blen, why, sizeof why) != 0) {
		char msg[400];
		json_error_t jerr; /* jansson's reason points at the line and column */
		json_t *j = json_loadb(body, blen, JSON_DECODE_ANY, &jerr);
		json_decref(j);
		if (j == NULL)
			snprintf(msg, sizeof msg, "invalid JSON: %s (line %d, column %d)",
			         jerr.text, jerr.line, jerr.column);
		else
			snprintf(msg, sizeof msg, "invalid JSON: %s", why);
		return answer_error(e, c, con_cls, MHD_HTTP_BAD_REQUEST, NULL, NULL, msg,
		                    EP_ST_INVALID);
	}
	/* One event is one line downstream (JSON lines sinks): a CR or LF in a
	 * valid text can only be whitespace between tokens, so dropping them
	 * changes no value. */
	if (memchr(body, '\n', blen) != NULL || memchr(body, '\r', blen) != NULL) {
		size_t o = 0;
		for (size_t i = 0; i < blen; i++)
			if (body[i] != '\n' && body[i] != '\r')
				body[o++] = body[i];
		blen = o;
	}
	if (r->route->action != NULL) {
		if (action_body(r, url, body, blen, &wrapped, &blen) != 0)
			return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
		body = wrapped;
	}
	/* a root event: its own trace */
	acrt_event *ev = acrt_event_new(NULL, body, blen, "application/json");
	acrt__free(wrapped);
	if (ev == NULL || acrt_event_set_header(ev, "http-path", r->route->path) != ACRT_OK ||
	    acrt_event_set_header(ev, "http-method", method) != ACRT_OK) {
		acrt_event_unref(ev);
		return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	}
	adopt_traceparent(ev, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent"));
	if (e->schema != NULL) {
		const json_t *j = acrt_event_json(ev); /* NULL: out of memory (the text is JSON) */
		if (j == NULL || acrt__schema_validate(e->schema, j, NULL) != 0) {
			enum MHD_Result ret =
			    j != NULL ? answer_schema(e, c, con_cls, j, method, r->route->path)
			              : MHD_NO;
			acrt_event_unref(ev);
			return ret;
		}
		json_decref(acrt__event_steal_json(ev)); /* the queue holds the text only */
	}
	if (e->reply && !acrt__ep_hold(e, r, ev, c)) { /* max_pending held: 429 */
		acrt_event_unref(ev);
		atomic_fetch_add_explicit(&e->stats[EP_ST_THROTTLED], 1, memory_order_relaxed);
		return MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, e->r429);
	}
	uint64_t id = acrt_event_id(ev); /* ev belongs to the queue once pushed */
	ep_push_rc pushed = acrt__ep_push(e, ev);
	if (pushed != EP_PUSH_OK && e->reply)
		acrt__ep_unhold(e, r);
	switch (pushed) {
	case EP_PUSH_FULL:
		acrt_event_unref(ev);
		atomic_fetch_add_explicit(&e->stats[EP_ST_THROTTLED], 1, memory_order_relaxed);
		return MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, e->r429);
	case EP_PUSH_CLOSED:
		acrt_event_unref(ev);
		atomic_fetch_add_explicit(&e->stats[EP_ST_STOPPING], 1, memory_order_relaxed);
		return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, e->r503);
	case EP_PUSH_OK:
		break;
	}
	atomic_fetch_add_explicit(&e->stats[EP_ST_ACCEPTED], 1, memory_order_relaxed);
	if (e->reply) /* held until the pipeline answers (or 504, 503) */
		return acrt__ep_suspend(e, r) ? acrt__ep_answer_held(e, c, r) : MHD_YES;
	char answer[48];
	int n = snprintf(answer, sizeof answer, "{\"id\":%llu}\n", (unsigned long long)id);
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer((size_t)n, answer, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE) == MHD_YES)
		ret = MHD_queue_response(c, MHD_HTTP_ACCEPTED, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Appends body bytes; past max_body the request is marked and the rest dropped. */
static void
append_body(endpoint *e, req *r, const char *data, size_t n)
{
	if (r->too_big)
		return;
	if (n > e->max_body - r->len) {
		r->too_big = true;
		free(r->buf);
		r->buf = NULL;
		r->len = r->cap = 0;
		return;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap > 0 ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		if (cap > e->max_body)
			cap = e->max_body;
		char *b = realloc(r->buf, cap);
		if (b == NULL) { /* treated as too large: we cannot hold it */
			r->too_big = true;
			free(r->buf);
			r->buf = NULL;
			r->len = r->cap = 0;
			return;
		}
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
}

/* The first call for a request (headers only): auth, route, limits. */
static enum MHD_Result
start_request(endpoint *e, struct MHD_Connection *c, const char *url, const char *method,
              void **con_cls)
{
	if (e->auth && !acrt__bearer_check(MHD_lookup_connection_value(
	                                       c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
	                                   e->digest))
		return answer(e, c, con_cls, MHD_HTTP_UNAUTHORIZED, e->r401, EP_ST_UNAUTH);
	const ep_route *path_hit = NULL, *match = NULL;
	for (size_t i = 0; i < e->n_routes && match == NULL; i++) {
		if (!(e->reply ? path_match(e->routes[i].path, url, NULL) == 1
		               : strcmp(e->routes[i].path, url) == 0))
			continue;
		path_hit = &e->routes[i];
		if (strcmp(e->routes[i].method, method) == 0)
			match = &e->routes[i];
	}
	if (path_hit == NULL)
		return answer(e, c, con_cls, MHD_HTTP_NOT_FOUND, e->r404, EP_ST_NOT_FOUND);
	if (match == NULL)
		return answer_error(e, c, con_cls, MHD_HTTP_METHOD_NOT_ALLOWED,
		                    MHD_HTTP_HEADER_ALLOW, path_hit->allow, "method not allowed",
		                    EP_ST_NOT_METHOD);
	if (acrt__ctx_stop_requested(e->ctx))
		return answer(e, c, con_cls, MHD_HTTP_SERVICE_UNAVAILABLE, e->r503, EP_ST_STOPPING);
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		errno = 0;
		char *end;
		unsigned long long v = strtoull(cl, &end, 10);
		if (errno != 0 || v > e->max_body)
			return answer(e, c, con_cls, MHD_HTTP_CONTENT_TOO_LARGE, e->r413,
			              EP_ST_TOO_LARGE);
	}
	req *r = calloc(1, sizeof *r);
	if (r == NULL)
		return MHD_NO;
	r->route = match;
	*con_cls = r;
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	endpoint *e = cls;
	if (*con_cls == NULL)
		return start_request(e, c, url, method, con_cls);
	if (*con_cls == &answered) { /* body bytes after an early answer: dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	req *r = *con_cls;
	if (r->rid != 0) /* resumed: the pipeline's answer (or 504, 503) */
		return acrt__ep_answer_held(e, c, r);
	if (*upload_data_size > 0) {
		append_body(e, r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish_request(e, c, con_cls, r, url, method);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	endpoint *e = cls;
	(void)toe;
	acrt__http_guard_next(c); /* the next request here gets a full deadline */
	req *r = *con_cls;
	if (r != NULL && r != &answered) {
		if (r->rid != 0) { /* held: out of the table; an answer not sent is dropped */
			acrt__ep_unhold(e, r);
			free(r->reply);
		}
		free(r->buf);
		free(r);
	}
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	endpoint *e = cls;
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	acrt_log(e->ctx, ACRT_LOG_DEBUG, "libmicrohttpd: %s", buf);
}

/* ---- The daemon ---------------------------------------------------------------- */

int
acrt__ep_daemon_start(acrt_ctx *ctx, endpoint *e)
{
	char too_large[96];
	snprintf(too_large, sizeof too_large, "{\"error\":\"request body over %zu bytes\"}\n",
	         e->max_body);
	e->r401 = static_response("{\"error\":\"a valid bearer token is required\"}\n",
	                          MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	e->r404 = static_response("{\"error\":\"no such route\"}\n", NULL, NULL);
	e->r413 = static_response(too_large, NULL, NULL);
	e->r429 = static_response("{\"error\":\"the pipeline is full: retry later\"}\n",
	                          MHD_HTTP_HEADER_RETRY_AFTER, "1");
	e->r503 = static_response("{\"error\":\"the system is stopping\"}\n", NULL, NULL);
	if (e->r401 == NULL || e->r404 == NULL || e->r413 == NULL || e->r429 == NULL ||
	    e->r503 == NULL)
		return acrt_fail(ctx, "out of memory");
	/* The whole request within the deadline, however steadily it trickles;
	 * a larger body limit buys 1 s per MiB (a client sending at 1 MiB/s or
	 * faster always makes it). Swept on the guard's own thread: run() may
	 * be blocked in acrt_emit while clients are waiting. */
	int64_t deadline_s = ACRT__HTTP_DEADLINE_S + (int64_t)(e->max_body >> 20);
	e->guard = acrt__http_guard_new(deadline_s * 1000000000, &e->stats[EP_ST_TIMED_OUT]);
	if (e->guard == NULL)
		return acrt_fail(ctx, "out of memory");
	if (acrt__http_guard_spawn(e->guard) != 0) {
		acrt__http_guard_free(e->guard);
		e->guard = NULL;
		return acrt_fail(ctx, "out of memory");
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	if (e->reply) /* held requests are suspended connections */
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	/* The logger first: options are applied in order and may log. */
	struct MHD_OptionItem pool[] = {
	    {e->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, e->threads, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	e->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, e, MHD_OPTION_EXTERNAL_LOGGER,
	                        mhd_log, e, MHD_OPTION_LISTEN_SOCKET, e->listen_fd,
	                        MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_LIMIT,
	                        acrt__http_connection_limit(), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	                        (unsigned)ACRT__HTTP_PER_CLIENT_ENDPOINT,
	                        MHD_OPTION_NOTIFY_CONNECTION, acrt__http_guard_notify, e->guard,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EP_CONN_TIMEOUT_S,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, e, MHD_OPTION_END);
	if (e->d == NULL)
		return acrt_fail(ctx, "libmicrohttpd did not start on %s", e->addr);
	e->listen_fd = -1; /* the daemon's now */
	char routes[512] = "";
	for (size_t i = 0, l = 0; i < e->n_routes && l < sizeof routes; i++)
		l += (size_t)snprintf(routes + l, sizeof routes - l, "%s%s %s", i ? ", " : "",
		                      e->routes[i].method, e->routes[i].path);
	acrt_log(ctx, ACRT_LOG_INFO,
	         "listening on http://%s: %s (queue %zu%s%s, %u thread%s); per client at most %d "
	         "connections, %lld s a request",
	         e->addr, routes, e->cap, e->auth ? ", bearer token" : "",
	         e->schema != NULL ? ", output schema" : "", e->threads, e->threads > 1 ? "s" : "",
	         ACRT__HTTP_PER_CLIENT_ENDPOINT, (long long)deadline_s);
	return ACRT_OK;
}

void
acrt__ep_daemon_stop(endpoint *e)
{
	if (e->d != NULL) {
		acrt__ep_release_all(e); /* held requests: 503, resumed before the stop */
		MHD_stop_daemon(e->d);   /* joins its threads, closes the listening socket */
	} else if (e->listen_fd >= 0)
		close(e->listen_fd);
	e->d = NULL;
	e->listen_fd = -1;
	acrt__http_guard_free(e->guard); /* after the daemon: every connection closed */
	e->guard = NULL;
	struct MHD_Response **rs[] = {&e->r401, &e->r404, &e->r413, &e->r429, &e->r503};
	for (size_t i = 0; i < ACRT__ARRAY_LEN(rs); i++) {
		if (*rs[i] != NULL)
			MHD_destroy_response(*rs[i]);
		*rs[i] = NULL;
	}
}
