/*
 * diag.c - error lines for blueprint validation: "file:line:col: message",
 * one line each, at most ACRT__DIAG_MAX per acrt__diag; the notes beside
 * them, "file:line:col: note: message", at most ACRT__NOTE_MAX; plus the
 * "did you mean" hints (edit distance with transpositions, case-insensitive).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/bp_int.h"

void
acrt__diag_free(acrt__diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		acrt__free(d->lines[i]);
	acrt__free(d->lines);
	d->lines = NULL;
	d->n = 0;
	for (size_t i = 0; i < d->n_notes; i++)
		acrt__free(d->notes[i]);
	acrt__free(d->notes);
	d->notes = NULL;
	d->n_notes = 0;
}

char *
acrt__bp_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = acrt__malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

char *
acrt__bp_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = acrt__malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* Appends line (owned; NULL: out of memory) to the list *v of *n lines. */
static int
push_line(char ***v, size_t *n, char *line)
{
	if (!line)
		return -1;
	char **l = acrt__realloc(*v, (*n + 1) * sizeof *l);
	if (!l) {
		acrt__free(line);
		return -1;
	}
	*v = l;
	(*v)[(*n)++] = line;
	return 0;
}

int
acrt__diag_push(acrt__diag *d, char *line)
{
	return push_line(&d->lines, &d->n, line);
}

/* "file:line:col: KIND" and the message (fmt, or `too many KINDs` once n
 * reaches max), on one line; from acrt__malloc, NULL when out of memory. */
static char *
diag_line(const acrt__mark *m, const char *kind, size_t n, size_t max, const char *fmt, va_list ap)
{
	char msg[1024];
	if (n == max)
		snprintf(msg, sizeof msg, "too many %ss; stopping after %zu", kind, max);
	else
		vsnprintf(msg, sizeof msg, fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return acrt__bp_printf("%s:%d:%d: %s%s", m && m->file ? m->file : "<blueprint>",
	                       m ? m->line : 1, m ? m->col : 1,
	                       strcmp(kind, "note") == 0 ? "note: " : "", msg);
}

int
acrt__diag_add(acrt__diag *d, const acrt__mark *m, const char *fmt, ...)
{
	va_list ap;
	if (!d || d->n > ACRT__DIAG_MAX)
		return -1;
	va_start(ap, fmt);
	char *line = diag_line(m, "error", d->n, ACRT__DIAG_MAX, fmt, ap);
	va_end(ap);
	push_line(&d->lines, &d->n, line);
	return -1;
}

int
acrt__diag_note(acrt__diag *d, const acrt__mark *m, const char *fmt, ...)
{
	va_list ap;
	if (!d || d->n_notes > ACRT__NOTE_MAX)
		return 0;
	va_start(ap, fmt);
	char *line = diag_line(m, "note", d->n_notes, ACRT__NOTE_MAX, fmt, ap);
	va_end(ap);
	return push_line(&d->notes, &d->n_notes, line);
}

/* Optimal string alignment distance, case-insensitive. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *
acrt__suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	if (!word || !cands)
		return NULL;
	size_t limit = (strlen(word) + 2) / 3;
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	for (size_t i = 0; n == (size_t)-1 ? cands[i] != NULL : i < n; i++) {
		if (!cands[i])
			continue;
		size_t dist = distance(word, cands[i]);
		if (dist < best_d) {
			best_d = dist;
			best = cands[i];
		}
	}
	return best && best_d <= limit && strcmp(best, word) ? best : NULL;
}

void
acrt__hint(char *buf, size_t len, const char *word, const char *const *cands, size_t n)
{
	const char *s = acrt__suggest(word, cands, n);
	if (s)
		snprintf(buf, len, " (did you mean '%s'?)", s);
	else if (len)
		buf[0] = '\0';
}

bool
acrt__name_dash_ok(const char *s)
{
	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-'))
			return false;
	return s[-1] != '-';
}

bool
acrt__name_ok(const char *s)
{
	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}
