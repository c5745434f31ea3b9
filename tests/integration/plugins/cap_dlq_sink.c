/*
 * cap_dlq_sink - a sink that shows dead-letter events: one JSON line per event
 * in the file named by config `path` (absolute, or relative to the blueprint's
 * directory):
 *
 *   {"payload": "<payload bytes as a string>", "content_type": "...",
 *    "headers": {"acrt-error": "...", ...}}
 *
 * with every header among the dead letter's known names (acrt-error,
 * acrt-error-code, acrt-component, acrt-capability, acrt-attempts,
 * acrt-original-event-id) and the names listed in config `headers` that the
 * event carries. Each line is one write(2) on an O_APPEND descriptor.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acrt/acrt.h"

static const char *const known[] = {"acrt-error",
                                    "acrt-error-code",
                                    "acrt-component",
                                    "acrt-capability",
                                    "acrt-attempts",
                                    "acrt-original-event-id",
                                    NULL};

static int
dlq_setup(acrt_ctx *ctx, void **self)
{
	const char *path = acrt_config_string(ctx, "path", NULL);
	if (path == NULL)
		return acrt_fail(ctx, "cap_dlq_sink: config 'path' is required");
	char full[4096];
	if (path[0] == '/')
		snprintf(full, sizeof full, "%s", path);
	else
		snprintf(full, sizeof full, "%s/%s", acrt_base_dir(ctx), path);
	int fd = open(full, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return acrt_fail(ctx, "cap_dlq_sink: cannot open %s", full);
	int *p = malloc(sizeof *p);
	if (p == NULL) {
		close(fd);
		return ACRT_ENOMEM;
	}
	*p = fd;
	*self = p;
	return ACRT_OK;
}

static void
add_header(json_t *h, const acrt_event *ev, const char *name)
{
	const char *v = acrt_event_header(ev, name);
	if (v != NULL)
		json_object_set_new(h, name, json_string(v));
}

static int
dlq_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)port;
	size_t len = 0;
	const char *data = acrt_event_data(ev, &len);
	const char *ct = acrt_event_content_type(ev);
	json_t *h = json_object();
	for (const char *const *k = known; *k; k++)
		add_header(h, ev, *k);
	const json_t *extra = json_object_get(acrt_config(ctx), "headers");
	size_t i;
	const json_t *v;
	json_array_foreach(extra, i, v) if (json_is_string(v))
	    add_header(h, ev, json_string_value(v));
	json_t *line = json_pack("{s:s%,s:s,s:o}", "payload", data ? data : "", data ? len : 0,
	                         "content_type", ct ? ct : "", "headers", h);
	/* json_dumpb into our own buffer: jansson's allocator is the runtime's */
	size_t n = line ? json_dumpb(line, NULL, 0, JSON_COMPACT) : 0;
	char *s = n ? malloc(n + 1) : NULL;
	if (s != NULL)
		json_dumpb(line, s, n, JSON_COMPACT);
	json_decref(line);
	if (s == NULL)
		return acrt_fail(ctx, "cap_dlq_sink: cannot encode the event");
	s[n] = '\n';
	ssize_t w = write(*(int *)self, s, n + 1);
	free(s);
	return w == (ssize_t)(n + 1) ? ACRT_OK : acrt_fail(ctx, "cap_dlq_sink: short write");
}

static void
dlq_cleanup(acrt_ctx *ctx, void *self)
{
	(void)ctx;
	close(*(int *)self);
	free(self);
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc cap_dlq_sink = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "cap_dlq_sink",
    .setup = dlq_setup,
    .process = dlq_process,
    .cleanup = dlq_cleanup,
};
