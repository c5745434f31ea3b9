/*
 * fatal - forwards events, but the `at`-th event (config, default 10) it
 * processes makes it fail with ACRT_EFATAL and the reason "fatal at event N":
 * the whole system must stop with exit code 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>

#include "marker.h"

typedef struct {
	int64_t seen, at;
} fatal_state;

static int
fatal_setup(acrt_ctx *ctx, void **self)
{
	fatal_state *s = calloc(1, sizeof *s);
	if (!s)
		return ACRT_ENOMEM;
	s->at = acrt_config_int(ctx, "at", 10);
	*self = s;
	return ACRT_OK;
}

static int
fatal_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	fatal_state *s = self;
	(void)port;
	if (++s->seen == s->at) {
		marker(ctx, "fatal %lld", (long long)s->seen);
		acrt_fail(ctx, "fatal at event %lld", (long long)s->seen);
		return ACRT_EFATAL;
	}
	return forward(ctx, ev);
}

static void
fatal_cleanup(acrt_ctx *ctx, void *self)
{
	marker(ctx, "cleanup %s", acrt_name(ctx));
	free(self);
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc fatal = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "fatal",
    .setup = fatal_setup,
    .process = fatal_process,
    .cleanup = fatal_cleanup,
};
