/*
 * linereader.c - see linereader.h. poll(2) with a 100 ms slice before each
 * read lets a source blocked on stdin notice a graceful stop.
 */
#include "components/linereader.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"

#define LR_INITIAL (256 * 1024)
#define POLL_SLICE_MS 100

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
	lr->buf = acrt__malloc(lr->cap + ACRT__LR_SLACK);
	return lr->buf != NULL ? 0 : ACRT_ENOMEM;
}

void
acrt__lr_free(acrt__linereader *lr)
{
	acrt__free(lr->buf);
	lr->buf = NULL;
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

/* Reads more input. 1: got bytes, 0: end of input (or stop), <0: error. */
static int
fill(acrt__linereader *lr, acrt_ctx *ctx, bool follow)
{
	if (make_room(lr) != 0)
		return ACRT_ENOMEM;
	acrt_flush(ctx); /* we may block below */
	for (;;) {
		if (acrt_stopping(ctx))
			return 0;
		struct pollfd p = {.fd = lr->fd, .events = POLLIN};
		int pr = poll(&p, 1, POLL_SLICE_MS);
		if (pr < 0 && errno != EINTR)
			return ACRT_ERR;
		if (pr <= 0)
			continue;
		ssize_t n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
		if (n > 0) {
			lr->end += (size_t)n;
			return 1;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return ACRT_ERR;
		/* n == 0: end of file. Regular files keep polling readable. */
		if (!follow)
			return 0;
		int rc = acrt_sleep_until(ctx, acrt_now_ns(ctx) + POLL_SLICE_MS * 1000000LL);
		if (rc != ACRT_OK)
			return 0;
	}
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
		if (lr->eof && lr->skipping) { /* the input ends inside an over-long line */
			lr->skipped += lr->end - lr->start;
			lr->consumed += lr->skipped;
			lr->start = lr->end;
			lr->skipping = false;
			*line = NULL;
			*len = (size_t)lr->skipped;
			return ACRT__LR_SKIPPED;
		}
		if (lr->eof) {
			if (lr->end > lr->start) { /* last line without a newline */
				*line = lr->buf + lr->start;
				*len = lr->end - lr->start;
				lr->start = lr->end;
				lr->consumed += *len;
				if (*len <= lr->max_line)
					return 1;
				*line = NULL;
				return ACRT__LR_SKIPPED;
			}
			return 0;
		}
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
		if (rc == 0)
			lr->eof = true;
	}
}
