/*
 * ctor_marker - a component whose shared-object constructor runs code the
 * moment the plugin is dlopened, before acrt reads its descriptor: it appends
 * "constructor PID" to the file named by $ACRT_TEST_CTOR_MARKER. The
 * allowlist test (test_plugin_allowlist.sh) checks that a plugin outside the
 * allowed directories is refused before it is opened, so the file never
 * appears. The component itself forwards its input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acrt/acrt.h"

__attribute__((constructor)) static void
ctor_marker_init(void)
{
	const char *path = getenv("ACRT_TEST_CTOR_MARKER");
	if (path == NULL || path[0] == '\0')
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[64];
	int n = snprintf(line, sizeof line, "constructor %ld\n", (long)getpid());
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

static int
ctor_marker_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	(void)port;
	return acrt_emit(ctx, "output", acrt_event_ref(ev));
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc ctor_marker = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "ctor_marker",
    .process = ctor_marker_process,
};
