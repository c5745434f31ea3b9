/*
 * sink.c - the built-in Sink: `sink: file` (JSON lines at `path`, relative to
 * the blueprint; parent directories are created; truncated at start),
 * `sink: stdout` (JSON lines), `sink: "null"` (counts only; a bare YAML null
 * means the same).
 *
 * Output is buffered and written with write(2) when the buffer passes 128 KiB,
 * whenever the sink goes idle (no input waiting: the runtime's idle hook), and
 * at cleanup. So a reader of the file sees every event that reached the sink
 * as soon as the flow pauses, and a busy sink writes in large blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "components/builtins.h"
#include "core/common.h"
#include "runtime/ctx_query.h"

#define SINK_BUF (256 * 1024)

static const char *const sink_kinds[] = {"file", "stdout", "null", NULL};

static const acrt_prop sink_props[] = {
    {"sink", ACRT_PROP_STRING, 0, 0, 0, sink_kinds, "where events go: file | stdout | null"},
    {"path", ACRT_PROP_STRING, 0, 0, 0, NULL, "file: path (relative to the blueprint)"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__sink_check(const json_t *config, const char **key, char *msg, size_t len)
{
	json_t *k = json_object_get(config, "sink");
	if (json_is_string(k) && strcmp(json_string_value(k), "file") == 0 &&
	    !json_is_string(json_object_get(config, "path"))) {
		*key = "sink";
		snprintf(msg, len, "'sink: file' needs 'path'");
		return -1;
	}
	return 0;
}

typedef struct sink {
	int fd; /* -1 for null */
	bool own_fd;
	char *buf;
	size_t n;
	char *path;
} sink;

static int
sink_write_out(sink *s)
{
	size_t off = 0;
	while (off < s->n) {
		ssize_t w = write(s->fd, s->buf + off, s->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	s->n = 0;
	return 0;
}

static int
sink_setup(acrt_ctx *ctx, void **self)
{
	sink *s = acrt__calloc(1, sizeof *s);
	if (s == NULL)
		return acrt_fail(ctx, "out of memory");
	s->fd = -1;
	const char *kind = acrt_config_string(ctx, "sink", "null");
	if (strcmp(kind, "null") == 0) {
		*self = s;
		return ACRT_OK;
	}
	s->buf = acrt__malloc(SINK_BUF);
	if (s->buf == NULL)
		goto nomem;
	if (strcmp(kind, "stdout") == 0) {
		s->fd = STDOUT_FILENO;
	} else {
		s->path = acrt__config_path(ctx, "path");
		if (s->path == NULL)
			goto nomem;
		/* Resuming: keep the file; restore truncates it to the checkpoint. */
		int trunc = acrt__ctx_resuming(ctx) ? 0 : O_TRUNC;
		if (acrt__mkdirs_for(s->path, 0755) != 0 ||
		    (s->fd = open(s->path, O_WRONLY | O_CREAT | trunc | O_CLOEXEC, 0644)) < 0) {
			int e = errno;
			acrt_fail(ctx, "cannot open '%s' for writing: %s", s->path, strerror(e));
			acrt__free(s->path);
			acrt__free(s->buf);
			acrt__free(s);
			return ACRT_ERR;
		}
		s->own_fd = true;
	}
	*self = s;
	return ACRT_OK;
nomem:
	acrt__free(s->buf);
	acrt__free(s);
	return acrt_fail(ctx, "out of memory");
}

static int
sink_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	sink *s = self;
	if (s->fd < 0)
		return ACRT_OK;
	size_t len;
	const char *d = acrt_event_data(ev, &len);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	if (s->n + len + 1 > SINK_BUF && s->n > 0 && sink_write_out(s) != 0)
		return acrt_fail(ctx, "write failed: %s", strerror(errno));
	if (len + 1 > SINK_BUF) { /* larger than the buffer: write it through */
		if (write(s->fd, d, len) != (ssize_t)len || write(s->fd, "\n", 1) != 1)
			return acrt_fail(ctx, "write failed: %s", strerror(errno));
		return ACRT_OK;
	}
	memcpy(s->buf + s->n, d, len);
	s->buf[s->n + len] = '\n';
	s->n += len + 1;
	if (s->n > SINK_BUF / 2 && sink_write_out(s) != 0)
		return acrt_fail(ctx, "write failed: %s", strerror(errno));
	return ACRT_OK;
}

/* Nothing waiting upstream: write out what we hold, so that a reader of the
 * file sees every event that reached us. */
static int
sink_idle(acrt_ctx *ctx, void *self)
{
	sink *s = self;
	if (s->fd < 0 || s->n == 0)
		return ACRT_OK;
	if (sink_write_out(s) != 0)
		return acrt_fail(ctx, "write failed: %s", strerror(errno));
	return ACRT_OK;
}

/* Checkpoints: the file's length once everything received is written (8
 * little-endian bytes), then the file's path. restore truncates the file back
 * to that length, so a resumed run's output holds every event exactly once
 * (docs/STATE.md); a snapshot of another path (a reload changed `path`) means
 * this file starts empty, as a new run's would. */
static int
sink_snapshot(acrt_ctx *ctx, void *self, void **buf, size_t *len)
{
	sink *s = self;
	if (!s->own_fd)
		return ACRT_OK; /* stdout and null keep nothing */
	if (s->n > 0 && sink_write_out(s) != 0)
		return acrt_fail(ctx, "write failed: %s", strerror(errno));
	off_t off = lseek(s->fd, 0, SEEK_CUR);
	size_t pl = strlen(s->path);
	/* Plain malloc: the runtime frees snapshot buffers with free() (acrt.h). */
	unsigned char *b = malloc(8 + pl);
	if (off < 0 || b == NULL) {
		free(b);
		return acrt_fail(ctx, "cannot read the offset of '%s'", s->path);
	}
	acrt__le_put(b, (uint64_t)off, 8);
	memcpy(b + 8, s->path, pl);
	*buf = b;
	*len = 8 + pl;
	return ACRT_OK;
}

static int
sink_restore(acrt_ctx *ctx, void *self, const void *buf, size_t len)
{
	sink *s = self;
	const unsigned char *b = buf;
	if (!s->own_fd || len == 0)
		return ACRT_OK;
	if (len < 8)
		return acrt_fail(ctx, "restore: expected an 8-byte offset, got %zu bytes", len);
	uint64_t off = acrt__le_get(b, 8);
	bool same =
	    len == 8 || (len - 8 == strlen(s->path) && memcmp(b + 8, s->path, len - 8) == 0);
	if (!same)
		off = 0; /* the snapshot is of another file */
	if (ftruncate(s->fd, (off_t)off) != 0 || lseek(s->fd, (off_t)off, SEEK_SET) < 0)
		return acrt_fail(ctx, "restore: cannot truncate '%s' to %llu bytes: %s", s->path,
		                 (unsigned long long)off, strerror(errno));
	return ACRT_OK;
}

static void
sink_cleanup(acrt_ctx *ctx, void *self)
{
	sink *s = self;
	if (s == NULL)
		return;
	if (s->fd >= 0 && s->n > 0 && sink_write_out(s) != 0)
		acrt_log(ctx, ACRT_LOG_ERROR, "final write failed: %s", strerror(errno));
	if (s->own_fd && close(s->fd) != 0)
		acrt_log(ctx, ACRT_LOG_ERROR, "close failed: %s", strerror(errno));
	acrt__free(s->path);
	acrt__free(s->buf);
	acrt__free(s);
}

const acrt_component_desc acrt__sink_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Sink",
    .props = sink_props,
    .setup = sink_setup,
    .process = sink_process,
    .snapshot = sink_snapshot,
    .restore = sink_restore,
    .cleanup = sink_cleanup,
    .idle = sink_idle,
};
