/*
 * strbuf.c - see strbuf.h.
 */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
grow(acrt__strbuf *b, size_t need)
{
	if (b->oom)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int
acrt__strbuf_add(acrt__strbuf *b, const char *s, size_t n)
{
	if (grow(b, n) != 0)
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
acrt__strbuf_printf(acrt__strbuf *b, const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2 && !b->oom; attempt++) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->cap ? b->p + b->len : NULL, b->cap ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return -1;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		if (grow(b, (size_t)n) != 0)
			return -1;
	}
	return b->oom ? -1 : 0;
}

int
acrt__strbuf_json_cb(const char *s, size_t n, void *data)
{
	return acrt__strbuf_add(data, s, n);
}
