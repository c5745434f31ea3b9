/*
 * linereader.h - reads newline-delimited records from a file descriptor with
 * one buffer and plain read(2), for the file and stdin sources. Before every
 * read that may block, it flushes the component's outbox (acrt_flush), so
 * events are never held back while the source waits for input.
 *
 * With acrt__lr_follow it follows a path the way `tail -F` does (the file
 * Source's `follow: true`). At the end of the data, on each wait slice
 * (100 ms), it stats the path:
 *   - the path names another file (rename-and-create rotation): it opens
 *     that file at once, reads the old one to its end (a read that returns 0
 *     after the new file was seen: every line written to the old file before
 *     the rename is read) and on for 1 s after the new file was seen (a writer
 *     may append to the old file until it reopens its log), returns its last
 *     line even without a newline, then goes on with the new file from offset
 *     0 (ACRT__LR_ROTATED);
 *   - the path names the same file, now shorter than the read position
 *     (copytruncate): it reads it again from offset 0 (ACRT__LR_TRUNCATED);
 *   - the path is missing (rotated away, its successor not created yet): it
 *     keeps reading the old file and waits;
 *   - fd is -1 (the file did not exist at setup): it waits until the path can
 *     be opened (ACRT__LR_OPENED).
 * When following, a stop leaves a last line without its newline unread (not
 * counted in `consumed`), so that a position saved then resumes at its start.
 *
 * Owned by one source instance; not thread-safe.
 */
#ifndef ACRT_LINEREADER_H
#define ACRT_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"

typedef struct acrt__linereader {
	int fd; /* -1 only when following a path that did not exist yet */
	char *buf;
	size_t cap, start, end;
	bool eof;
	uint64_t consumed; /* bytes of fd's lines returned so far, newlines included */
	size_t max_line;   /* longer lines are skipped (ACRT__LR_SKIPPED) */
	bool skipping;     /* inside a line longer than max_line */
	uint64_t skipped;  /* its bytes so far */
	/* Following a path (acrt__lr_follow); path NULL: fd alone, never closed. */
	const char *path;  /* borrowed */
	uint64_t dev, ino; /* fd's file (st_dev, st_ino); 0, 0 without one */
	int next_fd;       /* the file now at path, once a rotation was seen; -1 */
	uint64_t next_dev, next_ino;
	int64_t switch_at;       /* next_fd is read once fd is at its end after this */
	bool switching;          /* fd is read to its end: its last bytes, then next_fd */
	uint64_t truncated_from; /* ACRT__LR_TRUNCATED: the read position before */
	int open_errno;          /* the last failure to open path (logged once) */
} acrt__linereader;

/* The default longest line: 64 MiB. */
#define ACRT__LR_MAX_LINE (64u * 1024 * 1024)
/* acrt__lr_next: a line longer than max_line was read past (not returned). */
#define ACRT__LR_SKIPPED 2
/* acrt__lr_next, only when following a path (*line NULL, *len 0; consumed is
 * 0 and fd, dev, ino name the file now read): */
#define ACRT__LR_OPENED 3    /* the path, missing so far, now exists */
#define ACRT__LR_ROTATED 4   /* the old file was read to its end; now the new one */
#define ACRT__LR_TRUNCATED 5 /* the file shrank below truncated_from; from 0 again */

/* max_line: the longest line returned (0: ACRT__LR_MAX_LINE). fd may be -1
 * only if acrt__lr_follow is called next. */
int acrt__lr_init(acrt__linereader *lr, int fd, size_t max_line);
/* Follows `path` (borrowed; fd is the file opened from it, or -1) like tail -F:
 * see the top of this file. From then on the reader owns the files it reads:
 * it closes fd when it moves to the next file, and lr->fd is the current one
 * (the caller closes that one after acrt__lr_free). */
void acrt__lr_follow(acrt__linereader *lr, const char *path);
/* Frees the buffer and a next file opened but not yet read; not lr->fd. */
void acrt__lr_free(acrt__linereader *lr);
/*
 * Returns the next line (without its newline; a final line without one is
 * returned too) in *line and *len, valid until the next call. Returns 1 for a line,
 * ACRT__LR_SKIPPED for a line longer than max_line (read past without keeping
 * it: *line is NULL, *len its length; `consumed` counts it, so a position
 * saved after it resumes past it), ACRT__LR_OPENED/ROTATED/TRUNCATED when
 * following (above), 0 at end of input (with follow: after waiting, only when
 * stopping), or a negative acrt_err. Waits in slices so that acrt_stopping()
 * is honoured.
 */
int acrt__lr_next(acrt__linereader *lr, acrt_ctx *ctx, bool follow, const char **line, size_t *len);
/* Bytes readable from `line` (a line just returned): the buffer keeps
 * ACRT__LR_SLACK spare bytes past its end, so a JSON reader that reads a
 * little past a line (core/json.h) can read it in place. */
#define ACRT__LR_SLACK 64
static inline size_t
acrt__lr_room(const acrt__linereader *lr, const char *line)
{
	return (size_t)(lr->buf + lr->cap + ACRT__LR_SLACK - line);
}

#endif /* ACRT_LINEREADER_H */
