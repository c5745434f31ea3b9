/*
 * linereader.h - reads newline-delimited records from a file descriptor with
 * one buffer and plain read(2), for the file and stdin sources. Before every
 * read that may block, it flushes the component's outbox (acrt_flush), so
 * events are never held back while the source waits for input.
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
	int fd;
	char *buf;
	size_t cap, start, end;
	bool eof;
	uint64_t consumed; /* bytes of the lines returned so far, newlines included */
	size_t max_line;   /* longer lines are skipped (ACRT__LR_SKIPPED) */
	bool skipping;     /* inside a line longer than max_line */
	uint64_t skipped;  /* its bytes so far */
} acrt__linereader;

/* The default longest line: 64 MiB. */
#define ACRT__LR_MAX_LINE (64u * 1024 * 1024)
/* acrt__lr_next: a line longer than max_line was read past (not returned). */
#define ACRT__LR_SKIPPED 2

/* max_line: the longest line returned (0: ACRT__LR_MAX_LINE). */
int acrt__lr_init(acrt__linereader *lr, int fd, size_t max_line);
void acrt__lr_free(acrt__linereader *lr);
/*
 * Returns the next line (without its newline; a final line without one is
 * returned too) in *line and *len, valid until the next call. Returns 1 for a line,
 * ACRT__LR_SKIPPED for a line longer than max_line (read past without keeping
 * it: *line is NULL, *len its length; `consumed` counts it, so a position
 * saved after it resumes past it), 0 at end of input (with follow: after
 * waiting, only when stopping), or a negative acrt_err. Waits in slices so
 * that acrt_stopping() is honoured.
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
