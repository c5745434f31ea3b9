/*
 * tiny_desc - a descriptor whose struct_size (8) is smaller than the smallest
 * the runtime accepts (ACRT_DESC_MIN_SIZE): it must be refused like a bad ABI.
 */
#include <stdlib.h>

#include "acrt/acrt.h"

static int
tiny_desc_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)ctx;
	(void)self;
	(void)port;
	(void)ev;
	abort(); /* must never be called */
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc tiny_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = 8,
    .name = "tiny_desc",
    .process = tiny_desc_process,
};
