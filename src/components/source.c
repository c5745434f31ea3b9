/*
 * source.c - the built-in Source: `generator: sequence` ({"seq": n, ...payload}
 * for n = 1..count, optionally paced at rate_per_s), `source: file` (JSON
 * lines; `follow: true` tails the file) and `source: stdin` (JSON lines).
 *
 * Lines are events as they are: each is checked to be one valid JSON text
 * (RFC 8259, core/json.h) and emitted as its own bytes, unparsed, so that a
 * sink writes it out byte for byte and a component parses only what it
 * reads. A line ends at LF; a CR before it is not part of the event (CRLF
 * files); blank lines are skipped. A line that is not valid JSON is refused
 * on its own: logged with its line number and the reason, counted in
 * `invalid_lines`, and the source goes on.
 *
 * `follow: true` follows the path like `tail -F` (components/linereader.h):
 * a rename-and-create rotation is read to the end of the old file, then the
 * new file from its start; a copytruncate is read again from the start; a
 * missing file (at setup, or between the rename and the create) is waited
 * for. The checkpointed position names the file by device and inode, so a
 * resume finds it again even if it was rotated in between (restore_file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "components/builtins.h"
#include "components/linereader.h"
#include "core/common.h"
#include "core/json.h"
#include "runtime/ctx_query.h"

static const char *const generators[] = {"sequence", NULL};
static const char *const sources[] = {"file", "stdin", NULL};

static const acrt_prop source_props[] = {
    {"generator", ACRT_PROP_STRING, 0, 0, 0, generators, "built-in generator: sequence"},
    {"source", ACRT_PROP_STRING, 0, 0, 0, sources, "read JSON lines from: file | stdin"},
    {"count", ACRT_PROP_INT, 0, 0, 9.2e18, NULL, "sequence: events to emit (absent: unbounded)"},
    {"rate_per_s", ACRT_PROP_NUMBER, 0, 1e-9, 1e12, NULL, "sequence: events per second"},
    {"payload", ACRT_PROP_OBJECT, 0, 0, 0, NULL, "sequence: fields merged into every event"},
    {"path", ACRT_PROP_STRING, 0, 0, 0, NULL, "file: path (relative to the blueprint)"},
    {"follow", ACRT_PROP_BOOL, 0, 0, 0, NULL,
     "file: keep reading as the file grows, through rotations, like tail -F"},
    {"max_line_bytes", ACRT_PROP_INT, 0, 64, 1073741824, NULL,
     "file, stdin: a longer line is skipped, logged and counted (64 MiB)"},
    {"ports", ACRT_PROP_ARRAY, 0, 0, 0, NULL, "output ports each event goes on ([output])"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__source_check(const json_t *config, const char **key, char *msg, size_t len)
{
	json_t *gen = json_object_get(config, "generator");
	json_t *src = json_object_get(config, "source");
	if ((gen == NULL) == (src == NULL)) {
		*key = gen != NULL ? "source" : NULL;
		snprintf(msg, len,
		         "a Source needs exactly one of 'generator: sequence' or "
		         "'source: file|stdin'");
		return -1;
	}
	if (src != NULL && strcmp(json_string_value(src), "file") == 0 &&
	    json_object_get(config, "path") == NULL) {
		*key = "source";
		snprintf(msg, len, "'source: file' needs 'path'");
		return -1;
	}
	return acrt__ports_check(config, key, msg, len);
}

typedef struct source {
	int kind; /* 0 sequence, 1 file, 2 stdin */
	int64_t count;
	double rate;
	json_t *payload; /* borrowed from config */
	int fd;
	bool follow;
	char *path;
	/* Position for checkpoints: the next sequence number, or the byte offset
	 * of the next line not yet emitted. Advanced only after an emit returns, so
	 * a barrier taken inside acrt_emit() snapshots the event as not sent. */
	int64_t next;
	uint64_t offset;
	uint64_t dev, ino;  /* the file `offset` is in (st_dev, st_ino; 0, 0: none yet) */
	const char **ports; /* `ports`, borrowed from the config */
	size_t n_ports;
} source;

/*
 * The snapshot (docs/STATE.md), little-endian:
 *   sequence, stdin: 8 bytes, the next sequence number (stdin: the offset, unused)
 *   file:           24 bytes: [0..8) the offset of the next line not emitted,
 *                   [8..16) st_dev and [16..24) st_ino of the file it is in
 *                   (both 0 while a followed path has no file yet).
 * A file position of 8 bytes (the offset alone, from before rotations were
 * followed) is restored as before, into whatever file is at the path.
 */
#define FILE_POS_BYTES 24

/* dev and inode of an open file (0, 0 if fstat fails). */
static void
file_id(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	*dev = *ino = 0;
	if (fstat(fd, &st) == 0)
		*dev = (uint64_t)st.st_dev, *ino = (uint64_t)st.st_ino;
}

static int
source_setup(acrt_ctx *ctx, void **self)
{
	source *s = acrt__calloc(1, sizeof *s);
	if (s == NULL)
		return acrt_fail(ctx, "out of memory");
	s->fd = -1;
	if (acrt__ports_read(ctx, "output", &s->ports, &s->n_ports) != ACRT_OK) {
		acrt__free(s);
		return ACRT_ERR;
	}
	const char *src = acrt_config_string(ctx, "source", NULL);
	if (src == NULL) {
		s->kind = 0;
		s->count = acrt_config_int(ctx, "count", -1);
		s->rate = acrt_config_number(ctx, "rate_per_s", 0);
		s->payload = json_object_get(acrt_config(ctx), "payload");
	} else if (strcmp(src, "stdin") == 0) {
		s->kind = 2;
		s->fd = STDIN_FILENO;
	} else {
		s->kind = 1;
		s->path = acrt__config_path(ctx, "path");
		if (s->path == NULL) {
			acrt__free(s->ports);
			acrt__free(s);
			return acrt_fail(ctx, "out of memory");
		}
		s->follow = acrt_config_bool(ctx, "follow", 0);
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0 && s->follow && errno == ENOENT) { /* tail -F: wait for it */
			acrt_log(ctx, ACRT_LOG_INFO, "'%s' does not exist yet; waiting for it",
			         s->path);
		} else if (s->fd < 0) {
			int e = errno;
			acrt_fail(ctx, "cannot open '%s': %s", s->path, strerror(e));
			acrt__free(s->path);
			acrt__free(s->ports);
			acrt__free(s);
			return ACRT_ERR;
		} else {
			file_id(s->fd, &s->dev, &s->ino);
		}
	}
	s->next = 1;
	*self = s;
	return ACRT_OK;
}

/* Checkpoints: the position (FILE_POS_BYTES above). */
static int
source_snapshot(acrt_ctx *ctx, void *self, void **buf, size_t *len)
{
	source *s = self;
	(void)ctx;
	uint64_t v = s->kind == 0 ? (uint64_t)s->next : s->offset;
	size_t n = s->kind == 1 ? FILE_POS_BYTES : 8;
	/* Plain malloc: the runtime frees snapshot buffers with free() (acrt.h). */
	unsigned char *b = malloc(n);
	if (b == NULL)
		return ACRT_ENOMEM;
	acrt__le_put(b, v, 8);
	if (s->kind == 1) {
		acrt__le_put(b + 8, s->dev, 8);
		acrt__le_put(b + 16, s->ino, 8);
	}
	*buf = b;
	*len = n;
	return ACRT_OK;
}

/* Opens the regular file with that device and inode among the entries of
 * path's directory (where a rotation renames it: app.log -> app.log.1); -1 if
 * there is none. Its path goes into *found (acrt__free it). */
static int
open_rotated(const char *path, uint64_t dev, uint64_t ino, char **found)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? acrt__strdup(".") : acrt__strdup(path);
	int fd = -1;
	DIR *d = NULL;
	if (dir == NULL)
		goto out;
	if (slash != NULL)
		dir[slash - path > 0 ? slash - path : 1] = '\0';
	if ((d = opendir(dir)) == NULL)
		goto out;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
		*found = fd >= 0 ? acrt__path_join(dir, e->d_name) : NULL;
		break;
	}
out:
	if (d != NULL)
		closedir(d);
	acrt__free(dir);
	return fd;
}

/*
 * A file position back from a checkpoint, after setup opened the path (or
 * found nothing there, following). Documented in docs/COMPONENTS.md:
 *   - the path is still the checkpoint's file: on from the offset, or from 0
 *     if the file is now shorter (truncated while we were down);
 *   - another file is at the path (rotated while we were down): following,
 *     the old one is looked for by its inode in the same directory; found,
 *     its rest is read first (then the path's file, from 0, as after any
 *     rotation); not found (or not following), the path's file is read from
 *     0 and a warning says the rest of the old one may be lost;
 *   - 8 bytes (the older format, no inode): the offset, in the path's file.
 */
static int
restore_file(acrt_ctx *ctx, source *s, const unsigned char *b, size_t len)
{
	uint64_t off = acrt__le_get(b, 8);
	bool known = len == FILE_POS_BYTES;
	uint64_t dev = known ? acrt__le_get(b + 8, 8) : 0,
	         ino = known ? acrt__le_get(b + 16, 8) : 0;
	if (known && dev == 0 && ino == 0)
		return ACRT_OK; /* saved before the followed file existed: from its start */
	if (known && (s->fd < 0 || s->dev != dev || s->ino != ino)) {
		char *found = NULL;
		int fd = s->follow ? open_rotated(s->path, dev, ino, &found) : -1;
		if (fd < 0) {
			acrt_log(
			    ctx, ACRT_LOG_WARN,
			    "'%s' is not the file of the checkpoint (rotated or replaced while "
			    "stopped)%s: reading '%s' from its start; what the old file held "
			    "after byte %llu may be lost",
			    s->path, s->follow ? ", and that file is not beside it any more" : "",
			    s->path, (unsigned long long)off);
			return ACRT_OK;
		}
		acrt_log(ctx, ACRT_LOG_INFO,
		         "'%s' was rotated while stopped: reading the rest of '%s' first", s->path,
		         found != NULL ? found : "its old file");
		acrt__free(found);
		if (s->fd >= 0)
			close(s->fd);
		s->fd = fd;
		s->dev = dev, s->ino = ino;
	}
	if (s->fd < 0) { /* the older format, following a path that is missing */
		if (off > 0)
			acrt_log(ctx, ACRT_LOG_WARN,
			         "'%s' does not exist: the checkpoint's position (byte %llu) is "
			         "lost; the file will be read from its start",
			         s->path, (unsigned long long)off);
		return ACRT_OK;
	}
	struct stat st;
	if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size < off) {
		acrt_log(
		    ctx, ACRT_LOG_WARN,
		    "'%s' holds %lld bytes, less than the checkpoint's position %llu (truncated "
		    "while stopped): reading it from the start",
		    s->path, (long long)st.st_size, (unsigned long long)off);
		return ACRT_OK;
	}
	if (lseek(s->fd, (off_t)off, SEEK_SET) < 0)
		return acrt_fail(ctx, "restore: cannot seek '%s' to %llu: %s", s->path,
		                 (unsigned long long)off, strerror(errno));
	s->offset = off;
	return ACRT_OK;
}

static int
source_restore(acrt_ctx *ctx, void *self, const void *buf, size_t len)
{
	source *s = self;
	if (len == 0)
		return ACRT_OK; /* nothing saved */
	if (s->kind == 1) {
		if (len != 8 && len != FILE_POS_BYTES)
			return acrt_fail(
			    ctx, "restore: expected 8 or 24 bytes of file position, got %zu", len);
		return restore_file(ctx, s, buf, len);
	}
	if (len != 8)
		return acrt_fail(ctx, "restore: expected 8 bytes of position, got %zu", len);
	uint64_t v = acrt__le_get(buf, 8);
	if (s->kind == 0) {
		s->next = (int64_t)v;
	} else if (v > 0) {
		acrt_log(ctx, ACRT_LOG_WARN,
		         "stdin cannot be rewound: resuming reads from where it is");
	}
	return ACRT_OK;
}

static int
run_sequence(acrt_ctx *ctx, source *s)
{
	int64_t start = acrt_now_ns(ctx), first = s->next;
	double ns_per_event = s->rate > 0 ? 1e9 / s->rate : 0;
	for (int64_t n = first; s->count < 0 || n <= s->count; n = ++s->next) {
		if (acrt_stopping(ctx))
			return ACRT_OK;
		if (ns_per_event > 0) {
			int64_t due = start + (int64_t)((double)(n - first) * ns_per_event);
			if (acrt_now_ns(ctx) < due) {
				int rc = acrt_sleep_until(ctx, due);
				if (rc != ACRT_OK)
					return rc == ACRT_ESTOPPING ? ACRT_OK : rc;
			}
		}
		json_t *o = json_object();
		if (o == NULL || json_object_set_new(o, "seq", json_integer(n)) != 0 ||
		    (s->payload != NULL && json_object_update(o, s->payload) != 0)) {
			json_decref(o);
			return acrt_fail(ctx, "out of memory");
		}
		acrt_event *ev = acrt_event_new_json(ctx, o);
		if (ev == NULL)
			return acrt_fail(ctx, "out of memory");
		int rc = acrt__ports_emit(ctx, s->ports, s->n_ports, ev);
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

/* The reader moved to another file (or to the start of this one): the
 * position is now its offset 0. No event is emitted in between, so a
 * snapshot sees either the end of the old file or the start of the new. */
static void
moved(acrt_ctx *ctx, source *s, const acrt__linereader *lr, int how)
{
	s->fd = lr->fd;
	s->dev = lr->dev;
	s->ino = lr->ino;
	s->offset = 0;
	if (how == ACRT__LR_OPENED)
		acrt_log(ctx, ACRT_LOG_INFO, "'%s' now exists; reading it", s->path);
	else if (how == ACRT__LR_ROTATED)
		acrt_log(ctx, ACRT_LOG_INFO, "'%s' was rotated; reading the new file", s->path);
	else
		acrt_log(ctx, ACRT_LOG_INFO,
		         "'%s' was truncated below the %llu bytes read (copytruncate?); reading it "
		         "again from the start",
		         s->path, (unsigned long long)lr->truncated_from);
}

static int
run_lines(acrt_ctx *ctx, source *s)
{
	acrt__linereader lr;
	size_t max_line = (size_t)acrt_config_int(ctx, "max_line_bytes", ACRT__LR_MAX_LINE);
	if (acrt__lr_init(&lr, s->fd, max_line) != 0)
		return acrt_fail(ctx, "out of memory");
	/* Following, the reader closes the files it is done with: s->fd follows lr.fd. */
	if (s->kind == 1 && s->follow)
		acrt__lr_follow(&lr, s->path);
	lr.consumed = s->offset; /* restored: the file was positioned there */
	int rc;
	const char *line;
	size_t len;
	uint64_t lineno = 0;
	while ((rc = acrt__lr_next(&lr, ctx, s->follow, &line, &len)) >= 1) {
		if (rc >= ACRT__LR_OPENED) { /* following: another file, or this one again */
			moved(ctx, s, &lr, rc);
			lineno = 0;
			continue;
		}
		lineno++;
		if (rc == ACRT__LR_SKIPPED) { /* never fatal: the next line goes on */
			acrt_log(ctx, ACRT_LOG_WARN,
			         "line %llu is longer than max_line_bytes=%zu (%zu bytes); skipped",
			         (unsigned long long)lineno, lr.max_line, len);
			acrt_count(ctx, "oversized_lines", 1);
			acrt__ctx_skipped(ctx, 1); /* lost input: the summary, exit 3 */
			s->offset = lr.consumed;   /* a resume goes past it */
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--; /* CRLF */
		if (len == 0) {
			s->offset = lr.consumed;
			continue;
		}
		char why[128];
		if (acrt__json_check(line, len, acrt__lr_room(&lr, line), why, sizeof why) != 0) {
			acrt_log(ctx, ACRT_LOG_WARN, "line %llu is not valid JSON (%s); skipped",
			         (unsigned long long)lineno, why);
			acrt_count(ctx, "invalid_lines", 1);
			acrt__ctx_skipped(ctx, 1);
			s->offset = lr.consumed;
			continue;
		}
		acrt_event *ev = acrt_event_new(ctx, line, len, "application/json");
		if (ev == NULL) {
			rc = acrt_fail(ctx, "out of memory");
			break;
		}
		if ((rc = acrt__ports_emit(ctx, s->ports, s->n_ports, ev)) != ACRT_OK)
			break;
		s->offset = lr.consumed;
	}
	acrt__lr_free(&lr);
	return rc < 0 ? rc : ACRT_OK;
}

static int
source_run(acrt_ctx *ctx, void *self)
{
	source *s = self;
	return s->kind == 0 ? run_sequence(ctx, s) : run_lines(ctx, s);
}

static void
source_cleanup(acrt_ctx *ctx, void *self)
{
	source *s = self;
	if (s == NULL)
		return;
	if (s->kind == 1 && s->fd >= 0)
		close(s->fd);
	acrt__free(s->path);
	acrt__free(s->ports);
	acrt__free(s);
}

const acrt_component_desc acrt__source_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Source",
    .props = source_props,
    .setup = source_setup,
    .run = source_run,
    .snapshot = source_snapshot,
    .restore = source_restore,
    .cleanup = source_cleanup,
};
