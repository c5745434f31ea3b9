/*
 * apiendpoint_reply.c - the APIEndpoint's `reply` mode (docs/COMPONENTS.md,
 * "APIEndpoint: reply"): each valid request is held until an event carrying
 * its request id (header acrt-request-id, inherited by every event derived
 * from the request's, core/event.c) comes back on input `response`, and is
 * answered with that event's body and its acrt-http-status (default 200);
 * 504 past reply.timeout_ms, 503 when the system stops.
 *
 * Threads: an HTTP thread registers a request in the pending table (at most
 * reply.max_pending; past that 429) before its event is queued, then
 * suspends the connection (MHD_suspend_connection) unless the answer came
 * already; it never waits. run() polls the component's inbox without parking
 * (acrt__ctx_inbox_poll), fills in the answers, and resumes the connections
 * outside pmu (MHD_resume_connection takes libmicrohttpd's own lock; a
 * suspended connection is never completed, so its request stays valid until
 * resumed). The resumed connection's thread queues the answer. Every field an
 * answer sets, and the table, are guarded by pmu.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/apiendpoint.h"
#include "core/common.h"
#include "core/waitq.h"
#include "runtime/ctx_query.h"

#define EP_REPLY_BATCH 64                   /* events taken from `response` at once */
#define EP_REPLY_ROUNDS 16                  /* batches per pass, at most */
#define EP_RESUME_MAX 256                   /* connections resumed per lock hold */
#define EP_EXPIRE_EVERY_NS (10 * 1000000LL) /* the 504 sweep, at most this often */

bool
acrt__ep_hold(endpoint *e, ep_req *r, acrt_event *ev, struct MHD_Connection *c)
{
	char id[24];
	uint64_t rid = atomic_fetch_add_explicit(&e->next_rid, 1, memory_order_relaxed) + 1;
	snprintf(id, sizeof id, "%" PRIu64, rid);
	if (acrt_event_set_header(ev, ACRT_REQUEST_ID_HEADER, id) != ACRT_OK)
		return false;
	bool ok = false;
	pthread_mutex_lock(&e->pmu);
	if (e->n_pending < e->max_pending) {
		for (size_t i = 0; i < e->max_pending; i++) {
			if (e->pending[i] == NULL) {
				e->pending[i] = r;
				e->n_pending++;
				ok = true;
				break;
			}
		}
	}
	if (ok) {
		r->rid = rid;
		r->conn = c;
		r->deadline = acrt__mono_ns() + e->reply_timeout_ns;
		r->done = r->suspended = false;
	}
	pthread_mutex_unlock(&e->pmu);
	return ok;
}

/* Under pmu: takes r out of the table (if it is there). */
static void
unhold_locked(endpoint *e, ep_req *r)
{
	for (size_t i = 0; i < e->max_pending; i++) {
		if (e->pending[i] == r) {
			e->pending[i] = NULL;
			e->n_pending--;
			return;
		}
	}
}

void
acrt__ep_unhold(endpoint *e, ep_req *r)
{
	pthread_mutex_lock(&e->pmu);
	unhold_locked(e, r);
	pthread_mutex_unlock(&e->pmu);
}

bool
acrt__ep_suspend(endpoint *e, ep_req *r)
{
	pthread_mutex_lock(&e->pmu);
	bool done = r->done;
	if (!done) {
		r->suspended = true;
		MHD_suspend_connection(r->conn);
	}
	pthread_mutex_unlock(&e->pmu);
	return done;
}

enum MHD_Result
acrt__ep_answer_held(endpoint *e, struct MHD_Connection *c, ep_req *r)
{
	pthread_mutex_lock(&e->pmu);
	bool done = r->done;
	unsigned status = r->status;
	char tp[56];
	memcpy(tp, r->traceparent, sizeof tp);
	char *body = r->reply;
	size_t len = r->reply_len;
	r->reply = NULL;
	pthread_mutex_unlock(&e->pmu);
	if (!done) /* not answered yet (cannot happen: resumed only when answered) */
		return MHD_YES;
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    len, body != NULL ? body : (char *)"", MHD_RESPMEM_MUST_COPY);
	free(body);
	if (resp == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") ==
	        MHD_YES &&
	    (tp[0] == '\0' || MHD_add_response_header(resp, "traceparent", tp) == MHD_YES))
		ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Under pmu: gives r its answer (body taken) and takes it out of the table;
 * a suspended connection goes on the resume list. */
static void
resolve_locked(endpoint *e, ep_req *r, unsigned status, char *body, size_t len,
               struct MHD_Connection **resume, size_t *n_resume)
{
	r->done = true;
	r->status = status;
	r->traceparent[0] = '\0';
	r->reply = body;
	r->reply_len = len;
	unhold_locked(e, r);
	if (r->suspended) {
		r->suspended = false;
		resume[(*n_resume)++] = r->conn;
	}
}

static void
resume_all(struct MHD_Connection **resume, size_t n)
{
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(resume[i]);
}

static char *
error_body(const char *msg, size_t *len)
{
	size_t n = strlen(msg) + 14;
	char *b = malloc(n + 1);
	if (b == NULL)
		return NULL;
	*len = (size_t)snprintf(b, n + 1, "{\"error\":\"%s\"}\n", msg);
	return b;
}

/* Answers held requests: every one (stopping: 503) or those past their
 * deadline (504); returns how many. Resumes in rounds of EP_RESUME_MAX. */
static size_t
expire(endpoint *e, bool stopping)
{
	struct MHD_Connection *resume[EP_RESUME_MAX];
	size_t total = 0, n_resume;
	int64_t now = acrt__mono_ns();
	do {
		n_resume = 0;
		pthread_mutex_lock(&e->pmu);
		for (size_t i = 0; i < e->max_pending && n_resume < EP_RESUME_MAX; i++) {
			ep_req *r = e->pending[i];
			if (r == NULL || (!stopping && now < r->deadline))
				continue;
			size_t len = 0;
			char *b = error_body(stopping ? "the system is stopping"
			                              : "no answer from the pipeline in time",
			                     &len);
			resolve_locked(e, r, stopping ? 503 : 504, b, b != NULL ? len : 0, resume,
			               &n_resume);
			atomic_fetch_add_explicit(
			    &e->stats[stopping ? EP_ST_STOPPING : EP_ST_GATEWAY_TO], 1,
			    memory_order_relaxed);
			total++;
		}
		pthread_mutex_unlock(&e->pmu);
		resume_all(resume, n_resume);
	} while (n_resume == EP_RESUME_MAX);
	return total;
}

/* The status an answer asks for: acrt-http-status when it is 100 to 599. */
static unsigned
answer_status(const acrt_event *ev)
{
	const char *s = acrt_event_header(ev, ACRT_HTTP_STATUS_HEADER);
	if (s == NULL)
		return 200;
	char *end;
	long v = strtol(s, &end, 10);
	return *end == '\0' && v >= 100 && v <= 599 ? (unsigned)v : 200;
}

/* One event from `response`: the held request with its id gets its body. */
static void
match(endpoint *e, acrt_event *ev, struct MHD_Connection **resume, size_t *n_resume)
{
	const char *id = acrt_event_header(ev, ACRT_REQUEST_ID_HEADER);
	char *end;
	uint64_t rid = id != NULL ? strtoull(id, &end, 10) : 0;
	size_t len = 0;
	const void *data = rid != 0 ? acrt_event_data(ev, &len) : NULL;
	char *body = data != NULL ? malloc(len + 1) : NULL;
	bool found = false;
	if (body != NULL) {
		memcpy(body, data, len);
		body[len] = '\n';
		pthread_mutex_lock(&e->pmu);
		for (size_t i = 0; i < e->max_pending; i++) {
			ep_req *r = e->pending[i];
			if (r != NULL && r->rid == rid) {
				resolve_locked(e, r, answer_status(ev), body, len + 1, resume,
				               n_resume);
				acrt_event_traceparent(ev, r->traceparent); /* before the resume */
				found = true;
				break;
			}
		}
		pthread_mutex_unlock(&e->pmu);
	}
	if (!found) { /* answered already (504), not a request's, or out of memory */
		free(body);
		atomic_fetch_add_explicit(&e->stats[EP_ST_UNMATCHED], 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&e->stats[EP_ST_REPLIED], 1, memory_order_relaxed);
}

size_t
acrt__ep_reply_pass(acrt_ctx *ctx, endpoint *e, bool stopping)
{
	acrt_event *evs[EP_REPLY_BATCH];
	struct MHD_Connection *resume[EP_REPLY_BATCH];
	size_t total = 0, n;
	bool eos;
	for (int round = 0; round < EP_REPLY_ROUNDS; round++) {
		if ((n = acrt__ctx_inbox_poll(ctx, evs, EP_REPLY_BATCH, &eos)) == 0)
			break;
		size_t n_resume = 0;
		for (size_t i = 0; i < n; i++) {
			match(e, evs[i], resume, &n_resume);
			acrt_event_unref(evs[i]);
		}
		resume_all(resume, n_resume);
		total += n;
	}
	int64_t now = acrt__mono_ns();
	if (stopping || now >= e->expire_at) {
		expire(e, stopping);
		e->expire_at = now + EP_EXPIRE_EVERY_NS;
	}
	return total;
}

void
acrt__ep_release_all(endpoint *e)
{
	if (e->reply && e->pending != NULL)
		(void)expire(e, true);
}
