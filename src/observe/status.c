/*
 * status.c - see status.h.
 */
#include "observe/status.h"

#include <stdio.h>

#include "core/common.h"
#include "core/log.h"

#define TICK_NS (250 * 1000000LL)

static int
status_start(void *arg, acrt__runtime *rt)
{
	acrt__status *st = arg;
	uint64_t errors;
	st->rt = rt;
	st->last_ns = acrt__mono_ns();
	acrt__runtime_totals(rt, &st->last_in, &st->last_out, &errors);
	return 0;
}

static int64_t
status_next_ns(void *arg, int64_t now)
{
	const acrt__status *st = arg;
	(void)now;
	return st->rt != NULL ? st->last_ns + TICK_NS : ACRT__FOREVER;
}

static void
status_tick(void *arg, int64_t now)
{
	acrt__status *st = arg;
	if (st->rt == NULL || now - st->last_ns < TICK_NS)
		return;
	acrt__runtime *rt = st->rt;
	uint64_t in, out, errors;
	acrt__runtime_totals(rt, &in, &out, &errors);
	double dt = (double)(now - st->last_ns) / 1e9;
	char line[200];
	snprintf(line, sizeof line, "%s  out %.0f/s  in %.0f/s  in-flight %zu  errors %llu%s",
	         acrt__q_blueprint(rt)->name, (double)(out - st->last_out) / dt,
	         (double)(in - st->last_in) / dt, acrt__runtime_depth(rt),
	         (unsigned long long)errors, acrt__q_stopping(rt) ? "  (draining)" : "");
	acrt__log_status(line);
	st->last_ns = now;
	st->last_in = in;
	st->last_out = out;
}

static void
status_stop(void *arg, bool reload)
{
	acrt__status *st = arg;
	(void)reload;
	if (st->rt != NULL)
		acrt__log_status(NULL); /* erased; the next generation draws it again */
	st->rt = NULL;
}

const acrt__service acrt__status_service = {
    .name = "the status line",
    .start = status_start,
    .next_ns = status_next_ns,
    .tick = status_tick,
    .stop = status_stop,
};
