/*
 * gate - a passthrough that holds every event until a gate file exists, so
 * that a test can block a pipeline on purpose and release it later (used by
 * test_apiendpoint.sh for 429 and the drain). Config: `gate` (a path, absolute
 * or relative to the blueprint's directory) and optionally `marker`, to which
 * it appends "blocked NAME" the first time it waits and, with `record: true`,
 * "event TRACEPARENT METHOD PATH" for each event it forwards (the values of
 * its traceparent and of the headers http-method and http-path, "-" when
 * absent).
 *
 * It waits on its own instance thread, checking the file every 5 ms with
 * acrt_sleep_until; through a graceful stop (SIGTERM) it keeps holding the
 * event until the gate opens, and it gives up only when the run is cancelled.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "marker.h"

typedef struct gate_state {
	char path[4096];
	bool open;   /* the file was seen: never checked again */
	bool marked; /* "blocked" was written */
	bool record; /* an "event" line per event */
} gate_state;

static int
gate_setup(acrt_ctx *ctx, void **self)
{
	gate_state *g = calloc(1, sizeof *g);
	if (g == NULL)
		return acrt_fail(ctx, "out of memory");
	const char *p = acrt_config_string(ctx, "gate", NULL);
	if (p == NULL) {
		free(g);
		return acrt_fail(ctx, "config 'gate' (a path) is required");
	}
	if (p[0] == '/')
		snprintf(g->path, sizeof g->path, "%s", p);
	else
		snprintf(g->path, sizeof g->path, "%s/%s", acrt_base_dir(ctx), p);
	g->record = acrt_config_bool(ctx, "record", 0);
	*self = g;
	return ACRT_OK;
}

static int
gate_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	gate_state *g = self;
	(void)port;
	while (!g->open && access(g->path, F_OK) != 0) {
		if (!g->marked) {
			marker(ctx, "blocked %s", acrt_name(ctx));
			g->marked = true;
		}
		int rc = acrt_sleep_until(ctx, acrt_now_ns(ctx) + 5 * 1000000LL);
		if (rc == ACRT_ECANCELED)
			return rc;
		if (rc == ACRT_ESTOPPING) { /* keep holding through a graceful stop */
			struct timespec ts = {0, 5 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	g->open = true;
	if (g->record) {
		char tp[56];
		acrt_event_traceparent(ev, tp);
		const char *m = acrt_event_header(ev, "http-method");
		const char *p = acrt_event_header(ev, "http-path");
		marker(ctx, "event %s %s %s", tp, m ? m : "-", p ? p : "-");
	}
	return forward(ctx, ev);
}

static void
gate_cleanup(acrt_ctx *ctx, void *self)
{
	(void)ctx;
	free(self);
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc gate = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "gate",
    .setup = gate_setup,
    .process = gate_process,
    .cleanup = gate_cleanup,
};
