/*
 * dead_letter.c - the dead_letter capability (SPEC section 1,
 * `dead_letter: {to: comp.port}`, tier 80): the events of a delivery that
 * failed for good go to the component's `dead_letter` output port, which the
 * blueprint loader binds to `to` (bindings.c adds the port and the binding).
 *
 * on_failure sends, for each event of the delivery (every event of a failed
 * batch), a new event with the original payload bytes, content type and
 * headers, plus:
 *
 *   acrt-error             why (the capability's reason and/or the component's
 *                          acrt_fail message, else the error code's name)
 *   acrt-error-code        acrt_strerror(rc), e.g. "event failed"
 *   acrt-component         the failing component's name
 *   acrt-capability        the capability that failed it, or "component"
 *   acrt-attempts          times the component was called (0 when a capability
 *                          before it rejected the event)
 *   acrt-original-event-id the failed event's id
 *   acrt-failed-at         when it failed (RFC 3339, UTC, milliseconds)
 *
 * While the component runs, around_process holds an extra reference to each
 * event, so that a built-in component copies its JSON instead of taking it
 * over (copy-on-write): the payload is still there if the delivery fails.
 * The new event is a child of the original (same trace). It is emitted with
 * the host's emit_raw (call->clock, set by runtime/wiring.c: the runtime's
 * acrt__ctx_emit_raw): no before_send hook sees it. A fatal failure
 * (ACRT_EFATAL: the system stops) is not dead-lettered. Counters: sent,
 * send_failed. The runtime still logs and counts the failure itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/caps.h"
#include "core/common.h"
#include "core/event.h"
#include "core/log.h"

#define DL_PORT "dead_letter"

typedef struct dl_state {
	const char *comp; /* borrowed from the spec */
	/* Written by the instance's thread only, read by stats(). */
	atomic_uint_fast64_t sent, send_failed;
} dl_state;

static int
dl_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err, size_t errlen)
{
	const json_t *to = json_object_get(config, "to");
	if (!json_is_string(to)) {
		snprintf(err, errlen, "dead_letter: 'to' must be 'component.port'");
		return -1;
	}
	bool have_port = false;
	for (size_t i = 0; i < comp->n_outputs && !have_port; i++)
		have_port = strcmp(comp->outputs[i].name, DL_PORT) == 0;
	if (!have_port) { /* the loader adds it; a hand-made spec may not */
		snprintf(err, errlen, "dead_letter: component '%s' has no '%s' output port",
		         comp->name, DL_PORT);
		return -1;
	}
	dl_state *s = acrt__calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "dead_letter: out of memory");
		return -1;
	}
	s->comp = comp->name;
	*state = s;
	return 0;
}

static void
dl_destroy(void *state)
{
	acrt__free(state);
}

/* The new event for one failed event, or NULL (out of memory). */
static acrt_event *
letter(const dl_state *s, acrt__cap_call *call, acrt_event *ev, int rc, const char *why)
{
	size_t len = 0;
	const void *data = acrt_event_data(ev, &len);
	if (data == NULL)
		return NULL;
	acrt_event *d = acrt__event_new_bytes(ev, data, len, acrt_event_content_type(ev));
	if (d == NULL)
		return NULL;
	char num[32];
	int r = ACRT_OK;
	for (uint32_t i = 0; i < ev->n_headers && r == ACRT_OK; i++)
		r = acrt_event_set_header(d, ev->headers[i].key, ev->headers[i].value);
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-error", why);
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-error-code", acrt_strerror(rc));
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-component", s->comp);
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-capability",
		                          call->failed_by ? call->failed_by : "component");
	snprintf(num, sizeof num, "%d", call->attempts);
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-attempts", num);
	snprintf(num, sizeof num, "%" PRIu64, acrt_event_id(ev));
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-original-event-id", num);
	char at[40];
	acrt__log_time_rfc3339(at, sizeof at);
	if (r == ACRT_OK)
		r = acrt_event_set_header(d, "acrt-failed-at", at);
	if (r != ACRT_OK) {
		acrt_event_unref(d);
		return NULL;
	}
	return d;
}

/* Holds a reference to each event while the component runs, so that a
 * built-in component cannot take the event's JSON for itself (copy-on-write,
 * acrt__event_steal_json) and leave the dead letter an empty payload. */
static int
dl_around(void *state, acrt__cap_call *call)
{
	(void)state;
	for (size_t i = 0; i < call->n; i++)
		acrt_event_ref(call->evs[i]);
	int rc = acrt__cap_next(call);
	for (size_t i = 0; i < call->n; i++)
		acrt_event_unref(call->evs[i]);
	return rc;
}

static void
dl_on_failure(void *state, acrt__cap_call *call, int rc)
{
	dl_state *s = state;
	const acrt__cap_clock *host = call->clock;
	if (call->ctx == NULL || host == NULL || host->emit_raw == NULL || rc == ACRT_EFATAL)
		return;
	char why[1024];
	const char *err = host->fail_reason != NULL ? host->fail_reason(host->arg) : "";
	if (call->reason[0] != '\0' && err[0] != '\0' && strstr(err, call->reason) == NULL)
		snprintf(why, sizeof why, "%.500s: %.500s", call->reason, err);
	else
		snprintf(why, sizeof why, "%.1000s",
		         err[0]            ? err
		         : call->reason[0] ? call->reason
		                           : acrt_strerror(rc));
	for (size_t i = 0; i < call->n; i++) {
		if (call->evs[i] == NULL || call->evs[i]->kind != ACRT__EV_DATA)
			continue;
		acrt_event *d = letter(s, call, call->evs[i], rc, why);
		if (d != NULL && host->emit_raw(host->arg, DL_PORT, d) == ACRT_OK)
			acrt__cap_count(&s->sent, 1);
		else
			acrt__cap_count(&s->send_failed, 1);
	}
}

static void
dl_stats(void *state, json_t *out)
{
	dl_state *s = state;
	json_object_set_new(
	    out, "sent",
	    json_integer((json_int_t)atomic_load_explicit(&s->sent, memory_order_relaxed)));
	json_object_set_new(
	    out, "send_failed",
	    json_integer((json_int_t)atomic_load_explicit(&s->send_failed, memory_order_relaxed)));
}

const acrt__cap_class acrt__cap_dead_letter = {
    .name = "dead_letter",
    .tier = 80,
    .create = dl_create,
    .destroy = dl_destroy,
    .around_process = dl_around,
    .on_failure = dl_on_failure,
    .stats = dl_stats,
};
