/*
 * strbuf.h - a growable, NUL-terminated text buffer on plain malloc (so that
 * a caller may hand the bytes to a library that frees them, as libmicrohttpd
 * does). Used to build metrics text, build.lock and expanded YAML scalars.
 *
 * Errors are sticky: after an allocation fails, every call is a no-op
 * returning -1 and `oom` stays true, so a sequence of appends checks once.
 * Not thread-safe (one owner).
 */
#ifndef ACRT_STRBUF_H
#define ACRT_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "acrt/acrt.h"

typedef struct acrt__strbuf {
	char *p; /* NUL-terminated when len > 0; owned; free() it */
	size_t len, cap;
	bool oom;
} acrt__strbuf;

/* Appends n bytes. 0, or -1 when out of memory. */
int acrt__strbuf_add(acrt__strbuf *b, const char *s, size_t n);
/* Appends formatted text. 0, or -1. */
int acrt__strbuf_printf(acrt__strbuf *b, const char *fmt, ...) ACRT_PRINTF(2, 3);
/* For json_dump_callback: data is the acrt__strbuf. */
int acrt__strbuf_json_cb(const char *s, size_t n, void *data);

#endif /* ACRT_STRBUF_H */
