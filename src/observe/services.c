/*
 * services.c - see services.h. Each service is a thin adapter: the work is in
 * api.c, tap.c, alerts.c, status.c and notify.c.
 */
#include "observe/services.h"

#include <string.h>

#include "core/common.h"
#include "observe/alerts.h"
#include "observe/api.h"
#include "observe/tap.h"

/* ---- The HTTP API: started with the first generation; a reload keeps it,
 * and its tokens, across generations ---- */

static int
api_start(void *arg, acrt__runtime *rt)
{
	acrt__observe *o = arg;
	return o->api == NULL ? acrt__api_start(rt, &o->api) : 0;
}

static int
api_fd(void *arg)
{
	return acrt__api_fd(((acrt__observe *)arg)->api);
}

static int64_t
api_next_ns(void *arg, int64_t now)
{
	int ms = acrt__api_timeout_ms(((acrt__observe *)arg)->api);
	return ms < 0 ? ACRT__FOREVER : now + (int64_t)ms * 1000000;
}

static void
api_tick(void *arg, int64_t now)
{
	(void)now;
	acrt__api_run(((acrt__observe *)arg)->api);
}

static void
api_stop(void *arg, bool reload)
{
	acrt__observe *o = arg;
	if (reload)
		return;
	acrt__api_stop(o->api);
	o->api = NULL;
}

/* ---- acrt tap: a tap's stream ends with its generation ---- */

static int
tap_start(void *arg, acrt__runtime *rt)
{
	((acrt__observe *)arg)->rt = rt;
	return 0;
}

static void
tap_stop(void *arg, bool reload)
{
	acrt__observe *o = arg;
	(void)reload;
	if (o->rt != NULL)
		acrt__tap_end_generation(o->rt);
	o->rt = NULL;
}

/* ---- Alert rules: evaluated once a second while rules exist ---- */

static int
alerts_start(void *arg, acrt__runtime *rt)
{
	return acrt__alerts_start(rt, &((acrt__observe *)arg)->alerts);
}

static int64_t
alerts_next_ns(void *arg, int64_t now)
{
	(void)now;
	return acrt__alerts_next_ns(((acrt__observe *)arg)->alerts);
}

static void
alerts_tick(void *arg, int64_t now)
{
	acrt__alerts_tick(((acrt__observe *)arg)->alerts, now);
}

static void
alerts_stop(void *arg, bool reload)
{
	acrt__observe *o = arg;
	(void)reload;
	acrt__alerts_stop(o->alerts); /* resolves what is active, joins the sender */
	o->alerts = NULL;
}

void
acrt__observe_init(acrt__observe *o, acrt__run_opts *opts, bool status_line)
{
	memset(o, 0, sizeof *o);
	/* Stopped in reverse order: systemd's notify, the status line, alerts,
	 * taps, the API. Notify starts last: READY=1 only once all started. */
	size_t n = 0;
	o->services[n++] = (acrt__service){.name = "the HTTP API",
	                                   .arg = o,
	                                   .start = api_start,
	                                   .fd = api_fd,
	                                   .next_ns = api_next_ns,
	                                   .tick = api_tick,
	                                   .stop = api_stop};
	o->services[n++] =
	    (acrt__service){.name = "acrt tap", .arg = o, .start = tap_start, .stop = tap_stop};
	o->services[n++] = (acrt__service){.name = "alert rules",
	                                   .arg = o,
	                                   .start = alerts_start,
	                                   .next_ns = alerts_next_ns,
	                                   .tick = alerts_tick,
	                                   .stop = alerts_stop};
	if (status_line) {
		o->services[n] = acrt__status_service;
		o->services[n++].arg = &o->status;
	}
	if (acrt__notify_init(&o->notify)) {
		o->services[n] = acrt__notify_service;
		o->services[n++].arg = &o->notify;
	}
	opts->services = o->services;
	opts->n_services = n;
	opts->tap_hooks = (acrt__tap_hooks){.in = acrt__tap_offer_in, .out = acrt__tap_offer_out};
}
