/*
 * fail_setup - a component whose setup always fails with the reason
 * "deliberate setup failure". Its cleanup must therefore never run; it would
 * append "cleanup NAME" to its `marker` file if it did.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "marker.h"

static int
fail_setup_setup(acrt_ctx *ctx, void **self)
{
	(void)self;
	marker(ctx, "setup %s", acrt_name(ctx));
	return acrt_fail(ctx, "deliberate setup failure");
}

static int
fail_setup_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	marker(ctx, "process %s", acrt_name(ctx));
	return forward(ctx, ev);
}

static void
fail_setup_cleanup(acrt_ctx *ctx, void *self)
{
	(void)self;
	marker(ctx, "cleanup %s", acrt_name(ctx));
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc fail_setup = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "fail_setup",
    .setup = fail_setup_setup,
    .process = fail_setup_process,
    .cleanup = fail_setup_cleanup,
};
