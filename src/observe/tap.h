/*
 * tap.h - the server side of `acrt tap` (docs/API.md, `GET /api/v1/tap`): a
 * live sample of the events passing one port of a running system, streamed
 * as JSON lines over the HTTP API to a client holding the write token.
 *
 * Cost when nobody taps: each output port has a pointer (acrt__outport.tap)
 * and each component one for its input ports (acrt__comp.in_tap), NULL unless
 * a tap watches them; the tap sets and reads them through runtime/query.h
 * (acrt__q_set_out_tap, acrt__q_out_tap, ...). emit (ctx.c) and the delivery
 * of an event (instance.c) load it relaxed and branch on it: no call, no lock,
 * no atomic read-modify-write. Only a tapped port pays for acrt__tap_offer_*.
 *
 * Threads and ownership:
 *   - the supervising thread (the API's, api.c) calls every function here but
 *     the two offers. It owns the registry (acrt__q_taps, made at the first tap,
 *     freed by acrt__tap_free once every instance thread has ended), sets and
 *     clears the port pointers, and turns the sampled events into JSON lines:
 *     the pipeline never formats anything for a tap.
 *   - instance threads call acrt__tap_offer_out/_in, only when the pointer is
 *     set. They never wait: they *try* the tap's mutex (busy: the event is
 *     skipped), apply --limit and --rate (a token bucket with a burst of one
 *     on the monotonic clock), and put a reference to the event (immutable
 *     once emitted) in the tap's bounded ring; a full ring skips the event.
 *     Skipped events are counted and reported in the next line.
 */
#ifndef ACRT_TAP_H
#define ACRT_TAP_H

#include <stddef.h>

#include "runtime/query.h"

struct MHD_Connection;
struct MHD_Daemon;

#define ACRT__TAP_PATH "/api/v1/tap"

typedef struct acrt__taps acrt__taps; /* the registry: acrt__q_taps(rt) */

/* Serves GET /api/v1/tap?component=C[&port=P][&limit=N][&rate=R] once the
 * caller has checked the write token: queues a streamed 200 response
 * (application/x-ndjson), or a JSON error (400 bad query, 404 unknown
 * component or port, 405 not GET, 503 too many taps). Returns MHD_YES or
 * MHD_NO, like an access handler. */
int acrt__tap_serve(acrt__runtime *rt, struct MHD_Connection *c, const char *method);
/* Before each MHD_run: resumes the streams that have events to send, that
 * must end (limit reached, component finished) or whose client left. */
void acrt__tap_service(acrt__runtime *rt);
/* The longest the API may wait before acrt__tap_service runs again: a short
 * tick while a tap streams, else -1 (no limit). */
int acrt__tap_timeout_ms(const acrt__runtime *rt);
/* A generation of the system ends (every instance thread has ended; its
 * components are about to be unwired, e.g. for a hot reload that switches
 * generations): what the rings hold is formatted now, every stream is told to
 * end and resumed, the ports are unhooked and the components forgotten. */
void acrt__tap_end_generation(acrt__runtime *rt);
/* Before MHD_stop_daemon: acrt__tap_end_generation (MHD must not be stopped
 * with suspended connections), then d is run a few times so that what was
 * sampled and the end of the stream reach the clients. */
void acrt__tap_shutdown(acrt__runtime *rt, struct MHD_Daemon *d);
/* After MHD_stop_daemon (every stream closed), with every instance thread
 * ended: frees the registry. Accepts a runtime that never tapped. */
void acrt__tap_free(acrt__runtime *rt);

/* Instance threads, when the port's pointer is set (cold: kept out of the hot
 * path's code, so that emit stays inlined): output port `port` (an
 * index) of ctx's component is emitting ev (sealed), or input port `port` (a
 * name) is delivering it. Borrow ev; take their own reference if sampled. */
void acrt__tap_offer_out(acrt_ctx *ctx, size_t port, acrt_event *ev) __attribute__((cold));
void acrt__tap_offer_in(acrt_ctx *ctx, const char *port, acrt_event *ev) __attribute__((cold));

#endif /* ACRT_TAP_H */
