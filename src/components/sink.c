/*
 * sink.c - the built-in Sink: `sink: file` (JSON lines at `path`, relative to
 * the blueprint; parent directories are created; truncated at start),
 * `sink: stdout` (JSON lines), `sink: "null"` (counts only; a bare YAML null
 * means the same), `sink: http` (batches POSTed to `url`: http_sink.c, this
 * file only dispatches to it), `sink: postgres` (rows of a PostgreSQL table:
 * pg_sink.c, dispatched to likewise). `format: envelope` writes each event as
 * {"event_id", "headers", "payload"}; `format: auto` (the default) does so
 * when every binding into the sink comes from a dead letter (docs/COMPONENTS.md).
 *
 * Output is buffered and written with write(2) when the buffer passes 128 KiB,
 * whenever the sink goes idle (no input waiting: the runtime's idle hook), and
 * at cleanup. So a reader of the file sees every event that reached the sink
 * as soon as the flow pauses, and a busy sink writes in large blocks.
 *
 * A write that fails (a full disk, EIO) is never dropped: the
 * sink keeps what it holds and retries with backoff (50 ms doubling to 2 s),
 * so its input waits and the pipeline backpressures; the runtime shows it
 * (acrt_component_write_blocked, the `sink_write_blocked` alert). With
 * `on_write_error: fail` it gives up after `write_error_timeout_ms` and stops
 * the system (exit 1). Giving up, or a cancel while it retries, cuts the file
 * back to the end of the last whole event and counts the rest as unwritten:
 * a file never ends in a partial line (docs/RELIABILITY.md). A closed pipe
 * (EPIPE) or another error no retry cures stops the system at once.
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
#include "components/http_sink.h"
#include "components/pg_sink.h"
#include "components/writeretry.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "runtime/ctx_query.h"

#define SINK_BUF (256 * 1024)

static const char *const sink_kinds[] = {"file", "stdout", "null", "http", "postgres", NULL};
static const char *const formats[] = {"auto", "lines", "envelope", "ndjson", "json_array", NULL};

static const acrt_prop sink_props[] = {
    {"sink", ACRT_PROP_STRING, 0, 0, 0, sink_kinds,
     "where events go: file | stdout | null | http | postgres"},
    {"path", ACRT_PROP_STRING, 0, 0, 0, NULL, "file: path (relative to the blueprint)"},
    {"format", ACRT_PROP_STRING, 0, 0, 0, formats,
     "lines (each event as it is) | envelope (headers and payload) | auto (envelope for dead "
     "letters); http: ndjson (the default) | json_array"},
    ACRT__WRETRY_PROPS,
    ACRT__HTTP_SINK_PROPS,
    ACRT__PG_SINK_PROPS,
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__sink_check(const json_t *config, const char **key, char *msg, size_t len)
{
	json_t *k = json_object_get(config, "sink");
	if (json_is_string(k) && strcmp(json_string_value(k), "postgres") == 0)
		return acrt__pg_check(config, false, key, msg, len);
	static const char *const pg_only[] = {"dsn", "dsn_file", "table", "key", NULL};
	for (size_t i = 0; pg_only[i] != NULL; i++)
		if (json_object_get(config, pg_only[i]) != NULL) {
			*key = pg_only[i];
			snprintf(msg, len, "'%s' is for 'sink: postgres'", pg_only[i]);
			return -1;
		}
	if (json_is_string(k) && strcmp(json_string_value(k), "http") == 0)
		return acrt__http_sink_check(config, key, msg, len);
	static const char *const http_only[] = {"url",
	                                        "headers",
	                                        "token_file",
	                                        "ca_file",
	                                        "max_items",
	                                        "max_bytes",
	                                        "max_ms",
	                                        "connect_timeout_ms",
	                                        "request_timeout_ms",
	                                        "retry_initial_ms",
	                                        "retry_max_ms",
	                                        NULL};
	for (size_t i = 0; http_only[i] != NULL; i++)
		if (json_object_get(config, http_only[i]) != NULL) {
			*key = http_only[i];
			snprintf(msg, len, "'%s' is for 'sink: http'", http_only[i]);
			return -1;
		}
	const char *f = json_string_value(json_object_get(config, "format"));
	if (f != NULL && (strcmp(f, "ndjson") == 0 || strcmp(f, "json_array") == 0)) {
		*key = "format";
		snprintf(msg, len, "'format: %s' is for 'sink: http'", f);
		return -1;
	}
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
	bool envelope;
	acrt__wretry retry; /* on_write_error */
	char *buf;          /* whole lines waiting to be written */
	size_t n;           /* bytes in buf */
	size_t done;        /* of those, written already (a short write) */
	uint64_t base;      /* own_fd: the file offset of buf[0] */
	char *path;
	acrt__jbuf env;        /* format: envelope: one event's text */
	acrt__http_sink *http; /* sink: http (http_sink.c); none of the above is used */
	acrt__pg *pg;          /* sink: postgres (pg_sink.c); likewise */
} sink;

static size_t
count_lines(const char *p, size_t n)
{
	size_t k = 0;
	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		k++;
	return k;
}

/* A write failed with errno e: waits before the next attempt, or says why
 * not (writeretry.h). A full disk or quota, an I/O error may pass; a closed
 * pipe (EPIPE: `acrt run | head`) never reopens. */
static int
write_failed(acrt_ctx *ctx, sink *s, int e)
{
	bool curable =
	    e == ENOSPC || e == EDQUOT || e == EIO || e == EAGAIN || e == ENOBUFS || e == ENOMEM;
	return acrt__wretry_failed(&s->retry, ctx, s->path != NULL ? s->path : "stdout",
	                           strerror(e), curable);
}

/* Writes p[*done..n) (whole lines), retrying as on_write_error says. ACRT_OK
 * once all is written; otherwise the code to return (the caller cuts back). */
static int
put(acrt_ctx *ctx, sink *s, const char *p, size_t n, size_t *done)
{
	while (*done < n) {
		ssize_t w = write(s->fd, p + *done, n - *done);
		if (w > 0) {
			*done += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		int rc = write_failed(ctx, s, w == 0 ? EIO : errno);
		if (rc != ACRT_OK)
			return rc;
	}
	acrt__wretry_ok(&s->retry, ctx, s->path != NULL ? s->path : "stdout");
	return ACRT_OK;
}

/* Gave up on p[0..n), of which `done` bytes are in the file from `base`: cuts
 * the file back to the end of the last whole line and counts the other lines
 * as unwritten. Returns the file offset after the cut. */
static uint64_t
cut_back(acrt_ctx *ctx, sink *s, const char *p, size_t n, size_t done)
{
	size_t keep = done;
	while (keep > 0 && p[keep - 1] != '\n')
		keep--;
	size_t lost = count_lines(p + keep, n - keep);
	if (lost > 0) {
		acrt__ctx_unwritten(ctx, lost);
		acrt_log(ctx, ACRT_LOG_ERROR, "%zu event(s) not written to '%s'", lost,
		         s->path != NULL ? s->path : "stdout");
	}
	if (s->own_fd && keep < done &&
	    (ftruncate(s->fd, (off_t)(s->base + keep)) != 0 ||
	     lseek(s->fd, (off_t)(s->base + keep), SEEK_SET) < 0))
		acrt_log(ctx, ACRT_LOG_ERROR, "cannot cut '%s' back to its last whole line: %s",
		         s->path, strerror(errno));
	return s->base + keep;
}

/* Writes out the buffer. On giving up the buffer is emptied (cut_back). */
static int
flush_buf(acrt_ctx *ctx, sink *s)
{
	int rc = put(ctx, s, s->buf, s->n, &s->done);
	if (rc != ACRT_OK)
		s->base = cut_back(ctx, s, s->buf, s->n, s->done);
	else
		s->base += s->n;
	s->n = s->done = 0;
	return rc;
}

/* One event's line: its bytes, or its envelope. NULL when out of memory. */
static const char *
line_of(sink *s, acrt_event *ev, size_t *len)
{
	const char *d = acrt_event_data(ev, len);
	if (d == NULL || !s->envelope)
		return d;
	acrt__jbuf *b = &s->env;
	b->len = 0;
	b->ok = 1;
	char num[32];
	int k = snprintf(num, sizeof num, "%llu", (unsigned long long)acrt_event_id(ev));
	acrt__jbuf_put(b, "{\"event_id\":", 12);
	acrt__jbuf_put(b, num, (size_t)k);
	acrt__jbuf_put(b, ",\"headers\":{", 12);
	for (uint32_t i = 0; i < ev->n_headers; i++) {
		if (i > 0)
			acrt__jbuf_putc(b, ',');
		const char *hk = ev->headers[i].key, *hv = ev->headers[i].value;
		acrt__jbuf_string(b, hk, strlen(hk));
		acrt__jbuf_putc(b, ':');
		acrt__jbuf_string(b, hv, strlen(hv));
	}
	acrt__jbuf_put(b, "},\"payload\":", 12);
	const char *ct = acrt_event_content_type(ev);
	if (ct == NULL || strstr(ct, "json") != NULL)
		acrt__jbuf_put(b, d, *len); /* JSON as it came */
	else
		acrt__jbuf_string(b, d, *len); /* other content: as a string */
	acrt__jbuf_putc(b, '}');
	if (!b->ok)
		return NULL;
	*len = b->len;
	return b->p;
}

static int
sink_setup(acrt_ctx *ctx, void **self)
{
	sink *s = acrt__calloc(1, sizeof *s);
	if (s == NULL)
		return acrt_fail(ctx, "out of memory");
	s->fd = -1;
	acrt__jbuf_init(&s->env);
	const char *kind = acrt_config_string(ctx, "sink", "null");
	if (strcmp(kind, "http") == 0) {
		int rc = acrt__http_sink_setup(ctx, &s->http);
		if (rc != ACRT_OK) {
			acrt__free(s);
			return rc;
		}
		*self = s;
		return ACRT_OK;
	}
	if (strcmp(kind, "postgres") == 0) {
		int rc = acrt__pg_setup(ctx, false, &s->pg);
		if (rc != ACRT_OK) {
			acrt__free(s);
			return rc;
		}
		*self = s;
		return ACRT_OK;
	}
	if (strcmp(kind, "null") == 0) {
		*self = s;
		return ACRT_OK;
	}
	const char *format = acrt_config_string(ctx, "format", "auto");
	s->envelope = strcmp(format, "envelope") == 0 ||
	              (strcmp(format, "auto") == 0 && acrt__ctx_fed_by_port(ctx, "dead_letter"));
	acrt__wretry_init(&s->retry, ctx);
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
	(void)port;
	sink *s = self;
	if (s->http != NULL)
		return acrt__http_sink_process(ctx, s->http, ev);
	if (s->pg != NULL)
		return acrt__pg_process(ctx, s->pg, ev);
	if (s->fd < 0)
		return ACRT_OK;
	size_t len;
	const char *d = line_of(s, ev, &len);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	/* What the buffer holds goes first, so that a write given up on never
	 * holds this event: it is failed (the runtime counts it), or unwritten on
	 * a cancel (which the runtime does not count); the buffer's are unwritten
	 * (cut_back). */
	int rc;
	if (s->n > 0 && (s->n + len + 1 > SINK_BUF || s->n > SINK_BUF / 2) &&
	    (rc = flush_buf(ctx, s)) != ACRT_OK)
		goto gave_up;
	if (len + 1 > SINK_BUF) { /* larger than the buffer: written through */
		size_t done = 0, nl = 0;
		if ((rc = put(ctx, s, d, len, &done)) != ACRT_OK ||
		    (rc = put(ctx, s, "\n", 1, &nl)) != ACRT_OK) {
			/* cut back to before it; the runtime counts it failed */
			if (s->own_fd && (ftruncate(s->fd, (off_t)s->base) != 0 ||
			                  lseek(s->fd, (off_t)s->base, SEEK_SET) < 0))
				acrt_log(ctx, ACRT_LOG_ERROR, "cannot cut '%s' back: %s", s->path,
				         strerror(errno));
			goto gave_up;
		}
		s->base += len + 1;
		return ACRT_OK;
	}
	memcpy(s->buf + s->n, d, len);
	s->buf[s->n + len] = '\n';
	s->n += len + 1;
	return ACRT_OK;
gave_up:
	if (rc == ACRT_ECANCELED)
		acrt__ctx_unwritten(ctx, 1);
	return rc;
}

/* The input has ended: write out what we hold, with the retries of
 * on_write_error (a cancel ends them), before the final checkpoint. */
static int sink_idle(acrt_ctx *ctx, void *self);

static int
sink_finish(acrt_ctx *ctx, void *self)
{
	sink *s = self;
	if (s->http != NULL)
		return acrt__http_sink_flush(ctx, s->http);
	if (s->pg != NULL)
		return acrt__pg_flush(ctx, s->pg);
	return sink_idle(ctx, self);
}

/* Nothing waiting upstream: write out what we hold, so that a reader of the
 * file sees every event that reached us. */
static int
sink_idle(acrt_ctx *ctx, void *self)
{
	sink *s = self;
	if (s->http != NULL)
		return acrt__http_sink_idle(ctx, s->http);
	if (s->pg != NULL)
		return acrt__pg_flush(ctx, s->pg);
	if (s->fd < 0 || s->n == 0)
		return ACRT_OK;
	return flush_buf(ctx, s);
}

/* Checkpoints: the file's length once everything received is written and on
 * disk (fdatasync: a checkpoint never covers an event that is not), as 8
 * little-endian bytes, then the file's path. restore truncates the file back
 * to that length, so a resumed run's output holds every event exactly once
 * (docs/STATE.md); a snapshot of another path (a reload changed `path`) means
 * this file starts empty, as a new run's would. */
static int
sink_snapshot(acrt_ctx *ctx, void *self, void **buf, size_t *len)
{
	sink *s = self;
	if (s->http != NULL)
		return acrt__http_sink_snapshot(ctx, s->http, buf, len);
	if (s->pg != NULL)
		return acrt__pg_snapshot(ctx, s->pg, buf, len);
	if (!s->own_fd)
		return ACRT_OK; /* stdout and null keep nothing */
	int rc;
	if (s->n > 0 && (rc = flush_buf(ctx, s)) != ACRT_OK)
		return rc;
	while (fdatasync(s->fd) != 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if ((rc = write_failed(ctx, s, e)) != ACRT_OK)
			return rc;
	}
	size_t pl = strlen(s->path);
	/* Plain malloc: the runtime frees snapshot buffers with free() (acrt.h). */
	unsigned char *b = malloc(8 + pl);
	if (b == NULL)
		return acrt_fail(ctx, "out of memory");
	acrt__le_put(b, s->base, 8);
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
	if (s->http != NULL)
		return acrt__http_sink_restore(ctx, s->http, buf, len);
	if (s->pg != NULL)
		return acrt__pg_restore(ctx, s->pg, buf, len);
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
	s->base = off;
	return ACRT_OK;
}

/* What is still held is written (one attempt); what cannot be is cut back
 * and counted (flush_buf). */
static void
sink_cleanup(acrt_ctx *ctx, void *self)
{
	sink *s = self;
	if (s == NULL)
		return;
	acrt__http_sink_cleanup(ctx, s->http);
	acrt__pg_cleanup(ctx, s->pg);
	if (s->fd >= 0 && s->n > 0) {
		/* Normally empty (the idle hook ran at the end of input). Nothing would
		 * stop a retry here: one attempt. */
		acrt__wretry_no_more(&s->retry);
		(void)flush_buf(ctx, s);
	}
	if (s->own_fd && close(s->fd) != 0)
		acrt_log(ctx, ACRT_LOG_ERROR, "close failed: %s", strerror(errno));
	acrt__jbuf_free(&s->env);
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
    .finish = sink_finish,
};
