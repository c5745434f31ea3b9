/*
 * notify.c - see notify.h. The messages go through libsystemd's sd_notify(3)
 * (one datagram each on the AF_UNIX socket NOTIFY_SOCKET names); systemd
 * reads them at once, so a send does not wait.
 */
#include "observe/notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/common.h"
#include "core/log.h"

#define STATUS_EVERY_NS (2000 * 1000000LL)

bool
acrt__notify_init(acrt__notify *n)
{
	memset(n, 0, sizeof *n);
	const char *sock = getenv("NOTIFY_SOCKET");
	if (sock == NULL || sock[0] == '\0')
		return false;
	uint64_t usec = 0;
	/* 0: keep WATCHDOG_USEC/WATCHDOG_PID (a reload does not exec again) */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		n->wd_every_ns = (int64_t)(usec * 1000 / 2);
	return true;
}

static void
send_msg(acrt__notify *n, const char *msg)
{
	int rc = sd_notify(0, msg);
	if (rc >= 0 || n->failed_logged)
		return;
	n->failed_logged = true;
	acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "systemd: sd_notify failed: %s", strerror(-rc));
}

/* "STATUS=running: 3 components, out 1200/s, ..." into buf; the rates over
 * the last second or more (a change of phase soon after keeps them). */
static void
status_line(acrt__notify *n, int64_t now, char *buf, size_t len)
{
	acrt__runtime *rt = n->rt;
	uint64_t in, out, errors;
	acrt__runtime_totals(rt, &in, &out, &errors);
	double dt = (double)(now - n->last_ns) / 1e9;
	if (dt >= 1 || in < n->last_in || out < n->last_out) {
		n->rate_in = dt > 0 && in >= n->last_in ? (double)(in - n->last_in) / dt : 0;
		n->rate_out = dt > 0 && out >= n->last_out ? (double)(out - n->last_out) / dt : 0;
		n->last_ns = now;
		n->last_in = in;
		n->last_out = out;
	}
	const char *what = n->phase == ACRT__PHASE_DRAINING    ? "draining"
	                   : n->phase == ACRT__PHASE_RELOADING ? "reloading"
	                                                       : "running";
	snprintf(buf, len,
	         "STATUS=%s: %zu components, out %.0f/s, in %.0f/s, in flight %zu, errors %" PRIu64,
	         what, acrt__q_components(rt), n->rate_out, n->rate_in, acrt__runtime_depth(rt),
	         errors);
	n->status_next_ns = now + STATUS_EVERY_NS;
}

/* See notify.h: the loop turns (we are in it), and a stop or a reload's
 * quiesce has not outlasted shutdown_timeout_ms plus one watchdog interval. */
static bool
healthy(acrt__notify *n, int64_t now)
{
	if (!acrt__q_stopping(n->rt)) {
		n->stopping_since = 0;
		return true;
	}
	if (n->stopping_since == 0)
		n->stopping_since = now;
	int64_t grace =
	    acrt__q_blueprint(n->rt)->shutdown_timeout_ms * 1000000 + 2 * n->wd_every_ns;
	return now - n->stopping_since <= grace;
}

static int
notify_start(void *arg, acrt__runtime *rt)
{
	acrt__notify *n = arg;
	int64_t now = acrt__mono_ns();
	uint64_t errors;
	n->rt = rt;
	n->stopping_since = 0;
	if (n->wd_next_ns == 0) /* kept across a switch: overdue after a long setup */
		n->wd_next_ns = now;
	n->last_ns = now; /* the totals count this generation */
	acrt__runtime_totals(rt, &n->last_in, &n->last_out, &errors);
	n->status_next_ns = now + STATUS_EVERY_NS;
	return 0;
}

static int64_t
notify_next_ns(void *arg, int64_t now)
{
	const acrt__notify *n = arg;
	(void)now;
	if (n->rt == NULL)
		return ACRT__FOREVER;
	if (n->wd_every_ns > 0 && n->wd_next_ns < n->status_next_ns)
		return n->wd_next_ns;
	return n->status_next_ns;
}

static void
notify_tick(void *arg, int64_t now)
{
	acrt__notify *n = arg;
	char buf[256];
	if (n->rt == NULL)
		return;
	if (n->wd_every_ns > 0 && now >= n->wd_next_ns) {
		if (healthy(n, now))
			send_msg(n, "WATCHDOG=1");
		n->wd_next_ns = now + n->wd_every_ns;
	}
	if (now >= n->status_next_ns) {
		status_line(n, now, buf, sizeof buf);
		send_msg(n, buf);
	}
}

static void
notify_phase(void *arg, acrt__phase phase)
{
	acrt__notify *n = arg;
	char buf[320], status[256];
	int64_t now = acrt__mono_ns();
	if (n->rt == NULL || n->stopping_sent)
		return;
	n->phase = phase;
	status_line(n, now, status, sizeof status);
	if (phase == ACRT__PHASE_READY) {
		snprintf(buf, sizeof buf, "READY=1\n%s", status);
	} else if (phase == ACRT__PHASE_RELOADING) {
		snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%" PRId64 "\n%s", now / 1000,
		         status);
	} else {
		snprintf(buf, sizeof buf, "STOPPING=1\n%s", status);
		n->stopping_sent = true;
	}
	send_msg(n, buf);
}

static void
notify_stop(void *arg, bool reload)
{
	acrt__notify *n = arg;
	int64_t now = acrt__mono_ns();
	if (reload && n->rt != NULL && n->wd_every_ns > 0 && healthy(n, now)) {
		/* a switch: the loop stops turning for the cleanup and the next setup
		 * (at most startup_timeout_ms), so a fresh ping first */
		send_msg(n, "WATCHDOG=1");
		n->wd_next_ns = now + n->wd_every_ns;
	}
	if (!reload && n->rt != NULL && !n->stopping_sent) /* the system ended by itself */
		notify_phase(n, ACRT__PHASE_DRAINING);
	n->rt = NULL;
}

const acrt__service acrt__notify_service = {
    .name = "systemd notify",
    .start = notify_start,
    .next_ns = notify_next_ns,
    .tick = notify_tick,
    .stop = notify_stop,
    .phase = notify_phase,
};
