/*
 * hang - a component that never finishes its first event: process() loops on
 * acrt_sleep_until() and ignores a graceful stop; it returns only when the run
 * is cancelled (ACRT_ECANCELED), e.g. when shutdown_timeout_ms has passed or on
 * a second signal. Appends "process NAME" when it starts hanging, "canceled
 * NAME" when it returns, and "cleanup NAME" to its `marker` file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <time.h>

#include "marker.h"

static int
hang_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	(void)ev;
	marker(ctx, "process %s", acrt_name(ctx));
	for (;;) {
		int rc = acrt_sleep_until(ctx, acrt_now_ns(ctx) + 100 * 1000000LL);
		if (rc == ACRT_ECANCELED)
			break;
		if (rc == ACRT_ESTOPPING) {
			/* Keep hanging through a graceful stop, without spinning. */
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	marker(ctx, "canceled %s", acrt_name(ctx));
	return ACRT_ECANCELED;
}

static void
hang_cleanup(acrt_ctx *ctx, void *self)
{
	(void)self;
	marker(ctx, "cleanup %s", acrt_name(ctx));
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc hang = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "hang",
    .process = hang_process,
    .cleanup = hang_cleanup,
};
