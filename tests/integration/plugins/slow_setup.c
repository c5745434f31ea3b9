/*
 * slow_setup - a component whose setup blocks, ignoring everything, for
 * `seconds` (default 60) in a nanosleep loop, as a setup stuck on an
 * unreachable server would. Appends "setup NAME" when its setup starts,
 * "setup done NAME" if it ever returns, and "cleanup NAME" to its `marker`
 * file. Used by test_startup_timeout.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <time.h>

#include "marker.h"

static int
slow_setup_setup(acrt_ctx *ctx, void **self)
{
	(void)self;
	marker(ctx, "setup %s", acrt_name(ctx));
	int64_t secs = acrt_config_int(ctx, "seconds", 60);
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)secs;
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	marker(ctx, "setup done %s", acrt_name(ctx));
	return ACRT_OK;
}

static int
slow_setup_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	return forward(ctx, ev);
}

static void
slow_setup_cleanup(acrt_ctx *ctx, void *self)
{
	(void)self;
	marker(ctx, "cleanup %s", acrt_name(ctx));
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc slow_setup = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "slow_setup",
    .setup = slow_setup_setup,
    .process = slow_setup_process,
    .cleanup = slow_setup_cleanup,
};
