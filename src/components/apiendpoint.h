/*
 * apiendpoint.h - private to apiendpoint.c (config, setup, the queue, run,
 * cleanup) and apiendpoint_http.c (the libmicrohttpd daemon and everything
 * that runs on its threads). See apiendpoint.c for the design.
 */
#ifndef ACRT_APIENDPOINT_H
#define ACRT_APIENDPOINT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "core/httpd.h"
#include "schema/schema.h"

typedef struct ep_route {
	const char *path, *method; /* borrowed from config */
	const char *allow;         /* every method of this path, for 405's Allow */
	const char *action;        /* reply: the event is {action, data, params} */
} ep_route;

/* Counters: atomics bumped by the HTTP threads, published with acrt_count by
 * run() (the deltas since its last publish), so the hot path takes no lock. */
enum {
	EP_ST_ACCEPTED,   /* 202 */
	EP_ST_INVALID,    /* 400 */
	EP_ST_SCHEMA,     /* 422 */
	EP_ST_UNAUTH,     /* 401 */
	EP_ST_NOT_FOUND,  /* 404 */
	EP_ST_NOT_METHOD, /* 405 */
	EP_ST_TOO_LARGE,  /* 413 */
	EP_ST_THROTTLED,  /* 429 */
	EP_ST_STOPPING,   /* 503 */
	EP_ST_TIMED_OUT,  /* closed: no complete request within the deadline */
	EP_ST_REPLIED,    /* reply: answered with the pipeline's event */
	EP_ST_GATEWAY_TO, /* reply: 504, no answer within timeout_ms */
	EP_ST_UNMATCHED,  /* reply: an event on `response` no held request waits for */
	EP_ST_N
};

/* One request being read, then (with reply) held: its route, the body so
 * far, and its answer once the pipeline sent it. Belongs to the HTTP thread
 * serving its connection, freed by on_completed; while held it is also in
 * the endpoint's pending table (under pmu), and the fields below `rid` are
 * guarded by pmu. */
typedef struct ep_req {
	const struct ep_route *route;
	char *buf;
	size_t len, cap;
	bool too_big;
	uint64_t rid;                /* the request id; 0: not held */
	int64_t deadline;            /* monotonic ns: 504 past it */
	struct MHD_Connection *conn; /* the held connection */
	bool suspended;              /* MHD_suspend_connection was called */
	bool done;                   /* the answer below is set */
	unsigned status;
	char traceparent[56]; /* the answering event's (W3C), "" for 504/503 */
	char *reply;          /* malloc'd body */
	size_t reply_len;
} ep_req;

typedef struct endpoint {
	/* Set by setup, read-only afterwards (any thread). */
	/* The HTTP threads call only acrt__ctx_stop_requested() and acrt_log()
	 * with it (never acrt_stopping(): it may take a checkpoint barrier). */
	acrt_ctx *ctx;
	const char *out_port; /* config `output` (the config's string), default "output" */
	ep_route *routes;
	size_t n_routes;
	char **allows; /* owned strings the routes' allow point to */
	size_t max_body;
	unsigned threads;
	bool auth;
	unsigned char digest[ACRT__BEARER_DIGEST];
	char addr[80]; /* the bound address, HOST:PORT */
	/* The schema declared on port `output`, compiled; NULL when there is none
	 * (or it accepts everything). Immutable once compiled: every HTTP thread
	 * validates with it at once (schema.h); bodies it rejects get 422. */
	acrt__schema *schema;

	/* The daemon: started and stopped on the run() thread, or stopped by
	 * cleanup if run() never ran (apiendpoint_http.c). */
	int listen_fd; /* bound by setup, the daemon's once started (-1) */
	struct MHD_Daemon *d;
	/* Shared answers, made before the daemon starts, freed after it stopped
	 * (libmicrohttpd responses are refcounted; any thread may queue them). */
	struct MHD_Response *r401, *r404, *r413, *r429, *r503;
	/* The whole-request deadline (core/httpd.h) with its own sweeping
	 * thread: started with the daemon, freed after it stopped. */
	acrt__http_guard *guard; /* counts into stats[EP_ST_TIMED_OUT] */

	/* The queue: a ring of cap events, guarded by mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled when an event arrives while run() waits */
	acrt_event **ring;
	size_t cap, head, n;
	bool closed;  /* run() drains and ends: new requests get 503 */
	bool waiting; /* run() is parked on cv */
	bool sync_init;

	/* reply: requests held until an event with their request id comes to
	 * input `response` (apiendpoint_reply.c). Set by setup; the table and
	 * each held request's answer fields are guarded by pmu. */
	bool reply;
	int64_t reply_timeout_ns;
	size_t max_pending;
	struct acrt__waitq *wq; /* the inbox's: run() parks on it, pushes notify it */
	pthread_mutex_t pmu;
	bool pmu_init;
	ep_req **pending; /* max_pending slots, NULL when free */
	size_t n_pending;
	atomic_uint_fast64_t next_rid;
	int64_t expire_at; /* run() only: the next 504 sweep */

	atomic_uint_fast64_t stats[EP_ST_N];
	uint64_t published[EP_ST_N]; /* run() only */
} endpoint;

typedef enum { EP_PUSH_OK, EP_PUSH_FULL, EP_PUSH_CLOSED } ep_push_rc;

/* apiendpoint.c, called by the HTTP threads: queues ev (taken on EP_PUSH_OK
 * only; the caller keeps it otherwise). Never blocks beyond the queue lock. */
ep_push_rc acrt__ep_push(endpoint *e, acrt_event *ev);

/* apiendpoint_http.c, called on the run() thread: makes the shared answers
 * and starts the daemon on e->listen_fd (logs the address). ACRT_OK, or
 * ACRT_ERR after acrt_fail. */
int acrt__ep_daemon_start(acrt_ctx *ctx, endpoint *e);
/* Stops the daemon (joining its threads: no request runs afterwards) and
 * frees the shared answers; closes listen_fd if the daemon never took it.
 * Idempotent. */
void acrt__ep_daemon_stop(endpoint *e);

/* apiendpoint_reply.c. An HTTP thread holds r (a valid request, its event
 * ev not yet pushed): registers it under a new request id set on ev.
 * Returns false when max_pending requests are held already. */
bool acrt__ep_hold(endpoint *e, ep_req *r, acrt_event *ev, struct MHD_Connection *c);
/* An HTTP thread, after the push: suspends the connection unless the answer
 * came already (true: answer it now with acrt__ep_answer_held). */
bool acrt__ep_suspend(endpoint *e, ep_req *r);
/* Drops r from the table (its push failed, or its connection ended). */
void acrt__ep_unhold(endpoint *e, ep_req *r);
/* An HTTP thread: queues r's answer (done). */
enum MHD_Result acrt__ep_answer_held(endpoint *e, struct MHD_Connection *c, ep_req *r);
/* run(): takes the events on `response` and answers their requests, answers
 * 504 past the deadline; with stopping, answers every held request 503.
 * Returns how many events it took. */
size_t acrt__ep_reply_pass(acrt_ctx *ctx, endpoint *e, bool stopping);
/* Answers every held request 503 and resumes it (before the daemon stops). */
void acrt__ep_release_all(endpoint *e);

#endif /* ACRT_APIENDPOINT_H */
