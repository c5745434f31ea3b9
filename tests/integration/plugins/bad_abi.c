/*
 * bad_abi - a descriptor claiming ABI major 99: the runtime must refuse it
 * (acrt validate / acrt run exit 2 with a message mentioning "ABI") without
 * calling anything.
 */
#include <stdlib.h>

#include "acrt/acrt.h"

static int
bad_abi_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)ctx;
	(void)self;
	(void)port;
	(void)ev;
	abort(); /* must never be called */
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc bad_abi = {
    .abi_version = (uint32_t)(99u << 16),
    .struct_size = sizeof(acrt_component_desc),
    .name = "bad_abi",
    .process = bad_abi_process,
};
