/*
 * track - a passthrough component that records its lifecycle: it logs
 * "setup track" / "cleanup track" (INFO) and appends "setup NAME" /
 * "cleanup NAME" to its `marker` file. Used by test_setup_failure.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "marker.h"

static int
track_setup(acrt_ctx *ctx, void **self)
{
	(void)self;
	acrt_log(ctx, ACRT_LOG_INFO, "setup track");
	marker(ctx, "setup %s", acrt_name(ctx));
	return ACRT_OK;
}

static int
track_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	return forward(ctx, ev);
}

static void
track_cleanup(acrt_ctx *ctx, void *self)
{
	(void)self;
	acrt_log(ctx, ACRT_LOG_INFO, "cleanup track");
	marker(ctx, "cleanup %s", acrt_name(ctx));
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc track = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "track",
    .setup = track_setup,
    .process = track_process,
    .cleanup = track_cleanup,
};
