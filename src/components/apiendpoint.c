/*
 * apiendpoint.c - the built-in APIEndpoint: HTTP ingress with libmicrohttpd.
 * Each request body on a configured route (`routes: [{path, method}]`) that is
 * valid JSON, and valid against port `output`'s schema when it declares one,
 * becomes one event on port `output` (or the port config `output` names);
 * docs/COMPONENTS.md has the config and
 * every status code. This file: the config check, setup, the queue, run() and
 * cleanup; apiendpoint_http.c: the daemon and its handlers.
 *
 * Threads and ownership:
 *
 *   setup (harness thread)   reads the config and the token file, binds the
 *                            listening socket (a busy address fails setup),
 *                            allocates the queue. Nothing is served yet:
 *                            clients wait in the kernel's backlog.
 *   run (the instance's      starts the daemon on that socket, then owns every
 *        own thread)         emit: it takes events from the queue and emits
 *                            them; chained components below run here too.
 *   libmicrohttpd threads    (`threads`, default 1) parse requests, check auth,
 *                            route, JSON and the output port's schema (compiled
 *                            by setup, shared read-only), make the event and
 *                            push it into the queue, then answer: they never
 *                            call acrt_emit, so they never block on the
 *                            pipeline.
 *   cleanup (harness thread) stops a daemon still running, frees the rest.
 *
 * The queue (mu, cv) is bounded by the output binding's buffer_size. A full
 * queue answers 429 with Retry-After: 1 (the pipeline is not keeping up); a
 * request arriving once the system is stopping, or after run() closed the
 * queue, answers 503. Exactly once: a request is answered 202 only after its
 * event is in the queue, and run() closes the queue (under mu) before it
 * drains it to the end, so every event pushed is emitted, also at a graceful
 * stop. Only a forced cancel drops what is still queued (counted, logged).
 * A body the output schema rejects is answered 422 with the errors and never
 * queued: no event was made of it, and the client knows (counted, logged
 * rate-limited through acrt_log); nothing downstream can fail it for its shape.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blueprint/blueprint.h"
#include "components/apiendpoint.h"
#include "components/builtins.h"
#include "components/routes.h"
#include "core/common.h"
#include "core/waitq.h"
#include "runtime/ctx_query.h"

#define EP_DEFAULT_BODY (1024 * 1024)     /* max_body_bytes default */
#define EP_IDLE_POLL_NS (50 * 1000000LL)  /* run() checks acrt_stopping this often when idle */
#define EP_PUBLISH_NS (250 * 1000000LL)   /* counters published at most this often */
#define EP_YIELDS 4                       /* sched_yield()s before run() parks */
#define EP_BATCH 64                       /* events run() takes from the queue at once */
#define EP_REPLY_TIMEOUT_MS 5000          /* reply.timeout_ms default */
#define EP_REPLY_TIMEOUT_MAX 9000         /* below the 10 s whole-request deadline */
#define EP_REPLY_PENDING 1024             /* reply.max_pending default */
#define EP_REPLY_POLL_NS (10 * 1000000LL) /* run() parks this long at most with reply */

static const char *const methods[] = {"POST", "PUT", "PATCH", NULL};
/* With reply, also GET and DELETE (the event of a request without a body is
 * {}), since the answer comes from the pipeline. */
static const char *const reply_methods[] = {"POST", "PUT", "PATCH", "GET", "DELETE", NULL};
static _Thread_local bool checking_reply; /* acrt__endpoint_check: reply is configured */

static const acrt_prop endpoint_props[] = {
    {"listen", ACRT_PROP_STRING, 1, 0, 0, NULL, "HOST:PORT to serve (e.g. 127.0.0.1:8080)"},
    {"routes", ACRT_PROP_ARRAY, 1, 0, 0, NULL,
     "[{path: /p, method: POST|PUT|PATCH (default POST)}, ...]: each body is one event"},
    {"auth", ACRT_PROP_OBJECT, 0, 0, 0, NULL,
     "{token_file: PATH}: require Authorization: Bearer TOKEN"},
    {"max_body_bytes", ACRT_PROP_INT, 0, 1, 1 << 30, NULL,
     "largest request body accepted (default 1048576); larger: 413"},
    {"threads", ACRT_PROP_INT, 0, 1, 64, NULL, "threads serving HTTP requests (default 1)"},
    {"reply", ACRT_PROP_OBJECT, 0, 0, 0, NULL,
     "{timeout_ms, max_pending}: hold each request until input `response` answers it"},
    {"output", ACRT_PROP_STRING, 0, 0, 0, NULL,
     "the output port each request's event goes out on (default output)"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

/* ---- Config check (acrt validate) ----------------------------------------- */

static bool
path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
			return false;
	return true;
}

static bool
one_of(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (strcmp(*l, s) == 0)
			return true;
	return false;
}

static const char *
route_method(const json_t *r)
{
	const char *m = json_string_value(json_object_get(r, "method"));
	return m != NULL ? m : "POST";
}

static int
check_listen(const json_t *config, const char **key, char *msg, size_t len)
{
	const char *l = json_string_value(json_object_get(config, "listen"));
	char host[256], port[8];
	*key = "listen";
	if (l == NULL || acrt__listen_split(l, host, sizeof host, port, sizeof port) != 0 ||
	    atoi(port) < 1 || strchr(host, ' ') != NULL) {
		snprintf(msg, len,
		         "expected HOST:PORT with a port from 1 to 65535 (e.g. "
		         "127.0.0.1:8080, [::1]:8080, :8080 for every interface)");
		return -1;
	}
	return 0;
}

static int
check_auth(const json_t *config, const char **key, char *msg, size_t len)
{
	static _Thread_local char path[96];
	const json_t *auth = json_object_get(config, "auth");
	const char *k;
	json_t *v;
	if (auth == NULL)
		return 0;
	json_object_foreach((json_t *)auth, k, v)
	{
		if (strcmp(k, "token_file") != 0) {
			snprintf(path, sizeof path, "auth.%.50s", k);
			*key = path;
			snprintf(msg, len, "unknown key '%s' (auth has token_file)", k);
			return -1;
		}
	}
	v = json_object_get(auth, "token_file");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		*key = v != NULL ? "auth.token_file" : "auth";
		snprintf(msg, len, "%s",
		         v != NULL ? "expected a path (a non-empty string)"
		                   : "auth needs 'token_file' (a path, relative to the blueprint)");
		return -1;
	}
	return 0;
}

static int
check_path(const json_t *v, char *msg, size_t len)
{
	if (json_is_string(v) && path_ok(json_string_value(v)))
		return 0;
	snprintf(msg, len,
	         "a path must start with '/' and hold no spaces, '?' or '#' (e.g. /orders)");
	return -1;
}

static int
check_method(const json_t *v, char *msg, size_t len)
{
	if (json_is_string(v) &&
	    one_of(checking_reply ? reply_methods : methods, json_string_value(v)))
		return 0;
	snprintf(msg, len, "%s",
	         checking_reply ? "method must be POST, PUT, PATCH, GET or DELETE"
	                        : "method must be POST, PUT or PATCH (a request body is the event; "
	                          "GET and DELETE need reply)");
	return -1;
}

static int
check_action(const json_t *v, char *msg, size_t len)
{
	if (checking_reply && json_is_string(v) && json_string_length(v) > 0)
		return 0;
	snprintf(msg, len, "%s",
	         checking_reply ? "expected a non-empty string (e.g. create)"
	                        : "action needs reply (the event becomes {action, data, ...})");
	return -1;
}

static const acrt__route_field route_fields[] = {
    {"path", "a route needs 'path' (e.g. /orders)", check_path},
    {"method", NULL, check_method},
    {"action", NULL, check_action},
};

static int
check_reply(const json_t *config, const char **key, char *msg, size_t len)
{
	const json_t *rp = json_object_get(config, "reply");
	const char *k;
	json_t *v;
	if (rp == NULL)
		return 0;
	json_object_foreach((json_t *)rp, k, v)
	{
		bool to = strcmp(k, "timeout_ms") == 0;
		long long hi = to ? EP_REPLY_TIMEOUT_MAX : 65536;
		if (!to && strcmp(k, "max_pending") != 0) {
			*key = "reply";
			snprintf(msg, len, "unknown key '%s' (reply has timeout_ms, max_pending)",
			         k);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > hi) {
			*key = to ? "reply.timeout_ms" : "reply.max_pending";
			snprintf(msg, len, "expected an integer from 1 to %lld", hi);
			return -1;
		}
	}
	return 0;
}

int
acrt__endpoint_check(const json_t *config, const char **key, char *msg, size_t len)
{
	checking_reply = json_object_get(config, "reply") != NULL;
	if (check_reply(config, key, msg, len) < 0)
		return -1;
	if (check_listen(config, key, msg, len) < 0 || check_auth(config, key, msg, len) < 0 ||
	    acrt__routes_check(config, route_fields, 3, key, msg, len) < 0)
		return -1;
	const char *op = json_string_value(json_object_get(config, "output"));
	if (op != NULL && (op[0] < 'a' || op[0] > 'z' ||
	                   strspn(op, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(op))) {
		*key = "output";
		snprintf(msg, len, "a port name (^[a-z][a-z0-9_]*$)");
		return -1;
	}
	const json_t *routes = json_object_get(config, "routes");
	for (size_t i = 0; i < json_array_size(routes); i++) {
		const json_t *r = json_array_get(routes, i);
		const char *p = json_string_value(json_object_get(r, "path"));
		for (size_t j = 0; j < i; j++) {
			const json_t *o = json_array_get(routes, j);
			if (strcmp(json_string_value(json_object_get(o, "path")), p) == 0 &&
			    strcmp(route_method(o), route_method(r)) == 0) {
				*key = acrt__routes_key(i, "path");
				snprintf(msg, len,
				         "duplicate route %s %s: routes.%zu has it already",
				         route_method(r), p, j);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- Counters ------------------------------------------------------------------ */

static const char *const stat_names[EP_ST_N] = {
    "requests_accepted",     "requests_invalid",   "requests_rejected_schema",
    "requests_unauthorized", "requests_not_found", "requests_not_allowed",
    "requests_too_large",    "requests_throttled", "requests_unavailable",
    "connections_timed_out", "requests_replied",   "requests_reply_timed_out",
    "replies_unmatched",
};

/* ---- The queue ---------------------------------------------------------------- */

ep_push_rc
acrt__ep_push(endpoint *e, acrt_event *ev)
{
	ep_push_rc rc = EP_PUSH_OK;
	pthread_mutex_lock(&e->mu);
	if (e->closed) {
		rc = EP_PUSH_CLOSED;
	} else if (e->n == e->cap) {
		rc = EP_PUSH_FULL;
	} else {
		e->ring[(e->head + e->n) % e->cap] = ev;
		e->n++;
		if (e->waiting)
			pthread_cond_signal(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	if (rc == EP_PUSH_OK && e->wq != NULL) /* reply: run() parks on the inbox's */
		acrt__waitq_notify(e->wq);
	return rc;
}

/* run(): takes up to max events; *closed tells whether the queue is closed. */
static size_t
q_take(endpoint *e, acrt_event **out, size_t max, bool *closed)
{
	pthread_mutex_lock(&e->mu);
	size_t n = e->n < max ? e->n : max;
	for (size_t i = 0; i < n; i++) {
		out[i] = e->ring[e->head];
		e->head = (e->head + 1) % e->cap;
	}
	e->n -= n;
	*closed = e->closed;
	pthread_mutex_unlock(&e->mu);
	return n;
}

/* run(): waits until an event arrives, the queue closes, or the deadline. */
static void
q_wait(endpoint *e, int64_t deadline)
{
	pthread_mutex_lock(&e->mu);
	if (e->n == 0 && !e->closed) {
		e->waiting = true;
		(void)acrt__cond_wait_until(&e->cv, &e->mu, deadline);
		e->waiting = false;
	}
	pthread_mutex_unlock(&e->mu);
}

static void
q_close(endpoint *e)
{
	pthread_mutex_lock(&e->mu);
	e->closed = true;
	pthread_mutex_unlock(&e->mu);
}

/* ---- Setup, run, cleanup ------------------------------------------------------ */

static void
endpoint_cleanup(acrt_ctx *ctx, void *self)
{
	endpoint *e = self;
	if (e == NULL)
		return;
	acrt__ep_daemon_stop(e);
	for (size_t i = 0; e->ring != NULL && i < e->n; i++) /* only if run never drained */
		acrt_event_unref(e->ring[(e->head + i) % e->cap]);
	free(e->ring);
	for (size_t i = 0; e->allows != NULL && i < e->n_routes; i++)
		free(e->allows[i]);
	free(e->allows);
	free(e->routes);
	if (e->sync_init) {
		pthread_cond_destroy(&e->cv);
		pthread_mutex_destroy(&e->mu);
	}
	acrt__schema_free(e->schema); /* no HTTP thread is left to use it */
	free(e->pending);             /* every held request was answered by daemon_stop */
	if (e->pmu_init)
		pthread_mutex_destroy(&e->pmu);
	explicit_bzero(e->digest, sizeof e->digest);
	free(e);
}

/* routes[] from the config, with each path's Allow list. */
static int
load_routes(acrt_ctx *ctx, endpoint *e)
{
	const json_t *routes = json_object_get(acrt_config(ctx), "routes");
	size_t n = json_array_size(routes);
	if (n == 0)
		return acrt_fail(ctx, "no routes");
	e->routes = calloc(n, sizeof *e->routes);
	e->allows = calloc(n, sizeof *e->allows);
	if (e->routes == NULL || e->allows == NULL)
		return acrt_fail(ctx, "out of memory");
	e->n_routes = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(routes, i);
		e->routes[i].path = json_string_value(json_object_get(r, "path"));
		e->routes[i].method = route_method(r);
		e->routes[i].action = json_string_value(json_object_get(r, "action"));
		if (e->routes[i].path == NULL)
			return acrt_fail(ctx, "route %zu has no path", i + 1);
	}
	for (size_t i = 0; i < n; i++) {
		char allow[64] = "";
		for (size_t j = 0; j < n; j++) {
			if (strcmp(e->routes[j].path, e->routes[i].path) != 0 ||
			    strstr(allow, e->routes[j].method) != NULL)
				continue;
			size_t l = strlen(allow);
			snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "",
			         e->routes[j].method);
		}
		if ((e->allows[i] = strdup(allow)) == NULL)
			return acrt_fail(ctx, "out of memory");
		e->routes[i].allow = e->allows[i];
	}
	return ACRT_OK;
}

/* The schema of port `output`, compiled once for every HTTP thread. The
 * loader compiled it already (a bad one never gets here), so only memory can
 * fail. A schema that accepts everything (true, {}) is not checked at all. */
static int
load_schema(acrt_ctx *ctx, endpoint *e)
{
	const json_t *s = acrt__ctx_output_schema(ctx, e->out_port);
	if (s == NULL || json_is_true(s) || (json_is_object(s) && json_object_size(s) == 0))
		return ACRT_OK;
	char why[256] = "";
	if ((e->schema = acrt__schema_compile(s, why, sizeof why)) == NULL)
		return acrt_fail(ctx, "the schema of port '%s': %s", e->out_port, why);
	return ACRT_OK;
}

/* reply: the pending table, and the inbox of input `response`. */
static int
load_reply(acrt_ctx *ctx, endpoint *e)
{
	const json_t *rp = json_object_get(acrt_config(ctx), "reply");
	if (rp == NULL)
		return ACRT_OK;
	const json_t *t = json_object_get(rp, "timeout_ms"),
	             *m = json_object_get(rp, "max_pending");
	e->reply = true;
	e->reply_timeout_ns =
	    (t != NULL ? json_integer_value(t) : EP_REPLY_TIMEOUT_MS) * (int64_t)1000000;
	e->max_pending = m != NULL ? (size_t)json_integer_value(m) : EP_REPLY_PENDING;
	if ((e->wq = acrt__ctx_inbox_waitq(ctx)) == NULL)
		return acrt_fail(ctx, "reply needs an input port 'response' with a binding into it "
		                      "(inputs: [{name: response}]): the pipeline's answers");
	if (pthread_mutex_init(&e->pmu, NULL) != 0)
		return acrt_fail(ctx, "out of memory");
	e->pmu_init = true;
	if ((e->pending = calloc(e->max_pending, sizeof *e->pending)) == NULL)
		return acrt_fail(ctx, "out of memory");
	return ACRT_OK;
}

static int
endpoint_setup(acrt_ctx *ctx, void **self)
{
	/* the same rule `acrt validate` reports (blueprint/rules.c) */
	const char *misfit = acrt__type_replicas_misfit("APIEndpoint", acrt__ctx_replicas(ctx));
	if (misfit != NULL)
		return acrt_fail(ctx, "%s", misfit);
	endpoint *e = calloc(1, sizeof *e);
	if (e == NULL)
		return acrt_fail(ctx, "out of memory");
	int rc = ACRT_ERR;
	e->ctx = ctx;
	e->listen_fd = -1;
	e->max_body = (size_t)acrt_config_int(ctx, "max_body_bytes", EP_DEFAULT_BODY);
	e->threads = (unsigned)acrt_config_int(ctx, "threads", 1);
	if (e->max_body < 1 || e->threads < 1 || e->threads > 64) {
		acrt_fail(ctx, "max_body_bytes and threads must be positive");
		goto fail;
	}
	if (pthread_mutex_init(&e->mu, NULL) != 0)
		goto nomem;
	if (acrt__cond_init_mono(&e->cv) != 0) {
		pthread_mutex_destroy(&e->mu);
		goto nomem;
	}
	e->sync_init = true;
	e->out_port = acrt_config_string(ctx, "output", "output");
	if (load_routes(ctx, e) != ACRT_OK || load_schema(ctx, e) != ACRT_OK)
		goto fail;
	if (load_reply(ctx, e) != ACRT_OK)
		goto fail;
	e->cap = acrt__ctx_output_capacity(ctx, e->out_port);
	if ((e->ring = calloc(e->cap, sizeof *e->ring)) == NULL)
		goto nomem;

	const char *tf = json_string_value(
	    json_object_get(json_object_get(acrt_config(ctx), "auth"), "token_file"));
	if (tf != NULL) {
		char *p = acrt__path_join(acrt_base_dir(ctx), tf), err[600];
		if (p == NULL)
			goto nomem;
		int lr = acrt__bearer_load(p, e->digest, err, sizeof err);
		acrt__free(p);
		if (lr != 0) {
			acrt_fail(ctx, "%s", err);
			goto fail;
		}
		e->auth = true;
	}

	const char *listen_s = acrt_config_string(ctx, "listen", "");
	char host[256], port[8];
	if (acrt__listen_split(listen_s, host, sizeof host, port, sizeof port) != 0) {
		acrt_fail(ctx, "listen '%s' is not HOST:PORT", listen_s);
		goto fail;
	}
	struct sockaddr_storage bound;
	if ((e->listen_fd = acrt__listen_bind(host, port, &bound)) < 0) {
		acrt_fail(ctx, "cannot listen on %s: %s", listen_s, strerror(errno));
		goto fail;
	}
	acrt__listen_format(&bound, e->addr, sizeof e->addr);
	*self = e;
	return ACRT_OK;
nomem:
	acrt_fail(ctx, "out of memory");
fail:
	endpoint_cleanup(ctx, e);
	return rc;
}

/* Adds what the HTTP threads counted since the last call to the component's
 * counters (acrt_count takes the runtime's lock: every EP_PUBLISH_NS and at
 * the end, never per request). */
static void
publish_stats(acrt_ctx *ctx, endpoint *e)
{
	for (int i = 0; i < EP_ST_N; i++) {
		uint64_t v = atomic_load_explicit(&e->stats[i], memory_order_relaxed);
		if (v != e->published[i]) {
			acrt_count(ctx, stat_names[i], v - e->published[i]);
			e->published[i] = v;
		}
	}
}

static void
maybe_publish(acrt_ctx *ctx, endpoint *e, int64_t *at)
{
	int64_t now = acrt_now_ns(ctx);
	if (now >= *at) {
		publish_stats(ctx, e);
		*at = now + EP_PUBLISH_NS;
	}
}

/* Emits batch[0..n); on a failure releases the rest and returns the code. */
static int
emit_batch(acrt_ctx *ctx, const char *port, acrt_event **batch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = acrt_emit(ctx, port, batch[i]);
		if (rc != ACRT_OK) {
			for (size_t k = i + 1; k < n; k++)
				acrt_event_unref(batch[k]);
			return rc;
		}
	}
	return ACRT_OK;
}

static int
endpoint_run(acrt_ctx *ctx, void *self)
{
	endpoint *e = self;
	acrt_event *batch[EP_BATCH];
	int rc = acrt__ep_daemon_start(ctx, e);
	if (rc != ACRT_OK)
		return rc;
	int spins = 0;      /* yields since the queue was last non-empty */
	bool dirty = false; /* emitted since the last flush */
	int64_t publish_at = acrt_now_ns(ctx) + EP_PUBLISH_NS;
	for (;;) {
		bool closed;
		uint64_t key = e->wq != NULL ? acrt__waitq_key(e->wq) : 0;
		size_t answers = e->reply ? acrt__ep_reply_pass(ctx, e, false) : 0;
		size_t n = q_take(e, batch, EP_BATCH, &closed);
		if (n > 0) {
			spins = 0;
			if ((rc = emit_batch(ctx, e->out_port, batch, n)) != ACRT_OK)
				break;
			dirty = true;
			maybe_publish(ctx, e, &publish_at);
			continue;
		}
		if (closed) /* closed and drained: every accepted request is emitted */
			break;
		if (acrt_stopping(ctx)) {
			q_close(e); /* from now on 503; then drain what was accepted */
			continue;
		}
		/* Idle: let what we emitted go (and chained sinks write out). */
		if (dirty) {
			rc = acrt_flush(ctx);
			if (rc == ACRT_ECANCELED || rc == ACRT_EFATAL)
				break;
			rc = ACRT_OK;
			dirty = false;
		}
		maybe_publish(ctx, e, &publish_at);
		/* Under load the next request is usually microseconds away: yield a
		 * few times before parking, so that not every request pays a futex
		 * wake-up and a context switch (about +10% requests/s on 2 CPUs). */
		if (answers > 0) {
			spins = 0;
			continue;
		}
		if (spins++ < EP_YIELDS) {
			sched_yield();
			continue;
		}
		spins = 0;
		if (e->reply) /* a request or an answer notifies the inbox's wait queue */
			(void)acrt__waitq_wait(e->wq, key, acrt_now_ns(ctx) + EP_REPLY_POLL_NS);
		else
			q_wait(e, acrt_now_ns(ctx) + EP_IDLE_POLL_NS);
	}
	q_close(e);   /* nothing is pushed after this: a request now gets 503 */
	if (e->reply) /* held requests: 503 (their answers would come after the end) */
		(void)acrt__ep_reply_pass(ctx, e, true);
	/* A graceful end keeps the daemon answering 503 while the rest of the system
	 * drains (cleanup stops it); a failure stops it now. */
	if (rc != ACRT_OK)
		acrt__ep_daemon_stop(e);
	bool closed;
	size_t lost = 0, n;
	while ((n = q_take(e, batch, EP_BATCH, &closed)) > 0) {
		lost += n;
		for (size_t i = 0; i < n; i++)
			acrt_event_unref(batch[i]);
	}
	if (lost > 0) {
		acrt_log(ctx, ACRT_LOG_WARN,
		         "%zu accepted request(s) were not emitted: the run ended with %s", lost,
		         acrt_strerror(rc));
		acrt_count(ctx, "requests_lost", lost);
	}
	publish_stats(ctx, e);
	return rc;
}

const acrt_component_desc acrt__endpoint_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "APIEndpoint",
    .props = endpoint_props,
    .setup = endpoint_setup,
    .run = endpoint_run,
    .cleanup = endpoint_cleanup,
};
