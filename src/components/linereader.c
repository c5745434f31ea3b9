/*
 * linereader.c - see linereader.h. poll(2) with a 100 ms slice before each
 * read lets a source blocked on stdin notice a graceful stop. When following
 * a path, each slice spent at the end of the data also stats the path
 * (check_path): that is how a rotation or a truncation is seen, at most a
 * slice after it happened.
 */
#include "components/linereader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"

#define LR_INITIAL (256 * 1024)
#define POLL_SLICE_MS 100
/* After a rotation, the old file is read for at least this long (to its end),
 * for a writer that still appends to it until it reopens its log (Fluent
 * Bit's Rotate_Wait, 5 s by default there). */
#define ROTATE_WAIT_MS 1000

/* What fill() got. */
enum {
	FILL_EOF = 0,       /* end of input, or a stop */
	FILL_DATA = 1,      /* bytes */
	FILL_SWITCH = 2,    /* fd is read to its end and next_fd is the file to read next */
	FILL_TRUNCATED = 3, /* fd's file was truncated: it is read again from 0 */
};

int
acrt__lr_init(acrt__linereader *lr, int fd, size_t max_line)
{
	lr->fd = fd;
	lr->max_line = max_line > 0 ? max_line : ACRT__LR_MAX_LINE;
	lr->skipping = false;
	lr->skipped = 0;
	lr->consumed = 0;
	lr->cap = LR_INITIAL;
	lr->start = lr->end = 0;
	lr->eof = false;
	lr->path = NULL;
	lr->dev = lr->ino = 0;
	lr->next_fd = -1;
	lr->next_dev = lr->next_ino = 0;
	lr->switching = false;
	lr->switch_at = 0;
	lr->truncated_from = 0;
	lr->open_errno = 0;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		lr->dev = (uint64_t)st.st_dev, lr->ino = (uint64_t)st.st_ino;
	lr->buf = acrt__malloc(lr->cap + ACRT__LR_SLACK);
	return lr->buf != NULL ? 0 : ACRT_ENOMEM;
}

void
acrt__lr_follow(acrt__linereader *lr, const char *path)
{
	lr->path = path;
}

void
acrt__lr_free(acrt__linereader *lr)
{
	acrt__free(lr->buf);
	lr->buf = NULL;
	if (lr->next_fd >= 0)
		close(lr->next_fd);
	lr->next_fd = -1;
}

/* Makes room at the end of the buffer; -1 when it cannot grow (out of
 * memory; a line past max_line is skipped before it comes to this). */
static int
make_room(acrt__linereader *lr)
{
	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	if (lr->end < lr->cap)
		return 0;
	if (lr->cap > lr->max_line) /* not reached: a longer line is skipped first */
		return -1;
	/* Up to max_line + 1 bytes: enough to see that a line is too long. */
	size_t ncap = lr->cap * 2 > lr->max_line + 1 ? lr->max_line + 1 : lr->cap * 2;
	char *nb = acrt__realloc(lr->buf, ncap + ACRT__LR_SLACK);
	if (nb == NULL)
		return -1;
	lr->buf = nb;
	lr->cap = ncap;
	return 0;
}

/* Remembers why the path could not be opened, and says so once per reason (a
 * missing file is the normal wait, not worth a line). */
static void
open_failed(acrt__linereader *lr, acrt_ctx *ctx, int err)
{
	if (err == lr->open_errno)
		return;
	lr->open_errno = err;
	if (err != 0 && err != ENOENT)
		acrt_log(ctx, ACRT_LOG_WARN, "cannot open '%s': %s; still waiting for it", lr->path,
		         strerror(err));
}

/* Opens the file at path as next_fd, unless it is fd's own file. 1: opened;
 * 0: not (missing, unreadable, a directory, or the file already read). */
static int
open_next(acrt__linereader *lr, acrt_ctx *ctx)
{
	struct stat st;
	int fd = open(lr->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		open_failed(lr, ctx, errno);
		return 0;
	}
	int err = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (err != 0) {
		open_failed(lr, ctx, err);
		close(fd);
		return 0;
	}
	open_failed(lr, ctx, 0);
	if (lr->fd >= 0 && (uint64_t)st.st_dev == lr->dev && (uint64_t)st.st_ino == lr->ino) {
		close(fd); /* renamed back, or replaced and restored in between: the same file */
		return 0;
	}
	lr->next_fd = fd;
	lr->next_dev = (uint64_t)st.st_dev;
	lr->next_ino = (uint64_t)st.st_ino;
	return 1;
}

/* At the end of fd's data, following a path, with no next file yet: 1 when
 * the path now names another file (opened as next_fd), FILL_TRUNCATED when it
 * names fd's file and that is now shorter than what was read (fd is then at
 * offset 0 and the buffer empty), else 0. */
static int
check_path(acrt__linereader *lr, acrt_ctx *ctx)
{
	struct stat st;
	if (stat(lr->path, &st) != 0)
		return 0; /* rotated away and not created again yet: keep reading the old one */
	if ((uint64_t)st.st_dev != lr->dev || (uint64_t)st.st_ino != lr->ino)
		return open_next(lr, ctx);
	off_t pos = lseek(lr->fd, 0, SEEK_CUR);
	if (pos < 0 || fstat(lr->fd, &st) != 0 || st.st_size >= pos)
		return 0;
	if (lseek(lr->fd, 0, SEEK_SET) < 0)
		return 0;
	/* A partial last line in the buffer was the old content's: it is in the
	 * copy, not in what the file holds now. */
	lr->truncated_from = (uint64_t)pos;
	lr->start = lr->end = 0;
	lr->consumed = 0;
	lr->skipping = false;
	lr->skipped = 0;
	return FILL_TRUNCATED;
}

/* What at_end() decided, besides FILL_SWITCH and FILL_TRUNCATED. */
enum { AT_END_WAIT = -100, AT_END_READ = -101 };

/* A read of fd, following a path, returned 0: FILL_SWITCH (fd is read to its
 * end), FILL_TRUNCATED, AT_END_READ (read again now) or AT_END_WAIT (a slice). */
static int
at_end(acrt__linereader *lr, acrt_ctx *ctx)
{
	if (lr->next_fd >= 0) /* this read came after the new file was seen */
		return acrt_now_ns(ctx) >= lr->switch_at ? FILL_SWITCH : AT_END_WAIT;
	int c = check_path(lr, ctx);
	if (c == 1) { /* read the old file to its end first */
		lr->switch_at = acrt_now_ns(ctx) + ROTATE_WAIT_MS * 1000000LL;
		return AT_END_READ;
	}
	return c == FILL_TRUNCATED ? c : AT_END_WAIT;
}

/* Reads more input: a FILL_* result, or <0 on an error. */
static int
fill(acrt__linereader *lr, acrt_ctx *ctx, bool follow)
{
	if (make_room(lr) != 0)
		return ACRT_ENOMEM;
	acrt_flush(ctx); /* we may block below */
	for (;;) {
		if (acrt_stopping(ctx))
			return FILL_EOF;
		if (lr->fd < 0) { /* following a path that names no file yet */
			if (lr->path == NULL)
				return ACRT_EINVAL;
			if (open_next(lr, ctx) == 1)
				return FILL_SWITCH;
		} else {
			struct pollfd p = {.fd = lr->fd, .events = POLLIN};
			int pr = poll(&p, 1, POLL_SLICE_MS);
			if (pr < 0 && errno != EINTR)
				return ACRT_ERR;
			if (pr <= 0)
				continue;
			ssize_t n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
			if (n > 0) {
				lr->end += (size_t)n;
				return FILL_DATA;
			}
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0)
				return ACRT_ERR;
			/* n == 0: end of file. Regular files keep polling readable. */
			if (!follow)
				return FILL_EOF;
			int c = lr->path != NULL ? at_end(lr, ctx) : AT_END_WAIT;
			if (c == AT_END_READ)
				continue;
			if (c != AT_END_WAIT)
				return c;
		}
		int rc = acrt_sleep_until(ctx, acrt_now_ns(ctx) + POLL_SLICE_MS * 1000000LL);
		if (rc != ACRT_OK)
			return FILL_EOF;
	}
}

/* Moves on to next_fd, from its start. */
static int
switch_file(acrt__linereader *lr)
{
	int rc = lr->fd < 0 ? ACRT__LR_OPENED : ACRT__LR_ROTATED;
	if (lr->fd >= 0)
		close(lr->fd);
	lr->fd = lr->next_fd;
	lr->dev = lr->next_dev;
	lr->ino = lr->next_ino;
	lr->next_fd = -1;
	lr->start = lr->end = 0;
	lr->consumed = 0;
	lr->switching = false;
	return rc;
}

int
acrt__lr_next(acrt__linereader *lr, acrt_ctx *ctx, bool follow, const char **line, size_t *len)
{
	size_t scan = lr->start;
	for (;;) {
		char *nl = memchr(lr->buf + scan, '\n', lr->end - scan);
		if (nl != NULL && lr->skipping) { /* the end of an over-long line */
			lr->skipped += (size_t)(nl - (lr->buf + lr->start));
			lr->start = (size_t)(nl - lr->buf) + 1;
			lr->consumed += lr->skipped + 1;
			lr->skipping = false;
			*line = NULL;
			*len = (size_t)lr->skipped;
			return ACRT__LR_SKIPPED;
		}
		if (nl != NULL) {
			*line = lr->buf + lr->start;
			*len = (size_t)(nl - (lr->buf + lr->start));
			lr->start = (size_t)(nl - lr->buf) + 1;
			lr->consumed += *len + 1;
			if (*len <= lr->max_line)
				return 1;
			*line = NULL; /* whole in the buffer, but too long all the same */
			return ACRT__LR_SKIPPED;
		}
		/* Stopped while following: a last line without its newline may still
		 * be being written; it stays unread (a saved position is before it). */
		if (lr->eof && follow)
			return 0;
		/* The end of the input, or of a rotated file: its last bytes are a line. */
		if ((lr->eof || lr->switching) && lr->skipping) {
			lr->skipped += lr->end - lr->start;
			lr->consumed += lr->skipped;
			lr->start = lr->end;
			lr->skipping = false;
			*line = NULL;
			*len = (size_t)lr->skipped;
			return ACRT__LR_SKIPPED;
		}
		if ((lr->eof || lr->switching) && lr->end > lr->start) {
			*line = lr->buf + lr->start;
			*len = lr->end - lr->start;
			lr->start = lr->end;
			lr->consumed += *len;
			if (*len <= lr->max_line)
				return 1;
			*line = NULL;
			return ACRT__LR_SKIPPED;
		}
		if (lr->switching) {
			*line = NULL;
			*len = 0;
			return switch_file(lr);
		}
		if (lr->eof)
			return 0;
		if (!lr->skipping && lr->end - lr->start > lr->max_line)
			lr->skipping = true, lr->skipped = 0; /* too long: read past it */
		if (lr->skipping) { /* drop what is read of it, keep no buffer for it */
			lr->skipped += lr->end - lr->start;
			lr->start = lr->end = 0;
		}
		size_t scanned = lr->end - lr->start; /* no newline in these bytes */
		int rc = fill(lr, ctx, follow);
		scan = lr->start + scanned; /* fill may have moved the data to offset 0 */
		if (rc < 0)
			return rc;
		if (rc == FILL_EOF)
			lr->eof = true;
		else if (rc == FILL_SWITCH)
			lr->switching = true;
		else if (rc == FILL_TRUNCATED) {
			*line = NULL;
			*len = 0;
			return ACRT__LR_TRUNCATED;
		}
	}
}
