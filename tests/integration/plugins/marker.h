/*
 * marker.h - shared by the test plugins: appends one line to the file named by
 * the component's `marker` config key (absolute, or relative to the blueprint's
 * directory), so that a test can tell which callbacks ran and in which order.
 * Each line is written with one write(2) on an O_APPEND descriptor, so lines of
 * concurrent instances never interleave.
 */
#ifndef TEST_MARKER_H
#define TEST_MARKER_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "acrt/acrt.h"

static void marker(acrt_ctx *ctx, const char *fmt, ...) ACRT_PRINTF(2, 3);

static void
marker(acrt_ctx *ctx, const char *fmt, ...)
{
	const char *path = acrt_config_string(ctx, "marker", NULL);
	if (!path)
		return;
	char full[4096];
	if (path[0] == '/')
		snprintf(full, sizeof full, "%s", path);
	else
		snprintf(full, sizeof full, "%s/%s", acrt_base_dir(ctx), path);
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	int fd = open(full, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	ssize_t w = write(fd, line, (size_t)n);
	(void)w;
	close(fd);
}

/* Forwards ev unchanged on port "output". */
static inline int
forward(acrt_ctx *ctx, acrt_event *ev)
{
	return acrt_emit(ctx, "output", acrt_event_ref(ev));
}

#endif
