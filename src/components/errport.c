/*
 * errport.c - how a built-in fails an event it cannot take (builtins.h): the
 * event goes on to the component's `error` port (dropped there when the port
 * is unbound, where `acrt tap` can still watch it), and the delivery fails with the reason, so the
 * runtime logs and counts it. An event sent on that way is not lost (the run's summary counts it
 * with the dead letters); one failed with the port unbound is.
 */
#include <stdarg.h>
#include <stdio.h>

#include "components/builtins.h"
#include "runtime/ctx_query.h"

int
acrt__fail_event(acrt_ctx *ctx, acrt_event *ev, const char *counter, const char *fmt, ...)
{
	if (counter != NULL)
		acrt_count(ctx, counter, 1);
	/* Emitted also when unbound (dropped there): `acrt tap` may watch it. */
	int rc = acrt_emit(ctx, "error", acrt_event_ref(ev));
	if (rc != ACRT_OK && rc != ACRT_ENOENT) /* ENOENT: no such port */
		return rc;
	if (rc == ACRT_OK && acrt__ctx_output_bound(ctx, "error"))
		acrt__ctx_diverted(ctx);
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return acrt_fail(ctx, "%s", why);
}
