/*
 * window.c - window assignment, the watermark and the close heap of the
 * Aggregator's event-time windows (see window.h).
 */
#include "components/window.h"

#include <string.h>

#include "acrt/acrt.h"
#include "core/common.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

size_t
acrt__win_assign(const acrt__wspec *w, int64_t t, int64_t *starts, size_t max)
{
	int64_t hi = floor_div(t, w->slide);               /* the last window's k */
	int64_t lo = floor_div(t - w->size, w->slide) + 1; /* the first one's */
	size_t n = 0;
	for (int64_t k = lo; k <= hi && n < max; k++)
		starts[n++] = k * w->slide;
	return n;
}

void
acrt__wm_init(acrt__wmark *m, int64_t ooo_ms, int64_t idle_ms, int64_t now_ns)
{
	memset(m, 0, sizeof *m);
	m->ooo_ms = ooo_ms;
	m->idle_ns = idle_ms * 1000000;
	m->max_seen = ACRT__WM_NONE;
	m->wm = ACRT__WM_NONE;
	m->quiet_since = now_ns;
}

bool
acrt__wm_event(acrt__wmark *m, int64_t t)
{
	m->arrived = true;
	if (m->max_seen != ACRT__WM_NONE && t <= m->max_seen)
		return false;
	m->max_seen = t;
	if (m->wm != ACRT__WM_NONE && t - m->ooo_ms <= m->wm)
		return false;
	m->wm = t - m->ooo_ms;
	return true;
}

bool
acrt__wm_quiet(acrt__wmark *m, int64_t now_ns)
{
	if (m->arrived) {
		m->arrived = false;
		m->quiet_since = now_ns;
	}
	int64_t quiet = now_ns - m->quiet_since;
	if (m->idle_ns <= 0 || m->max_seen == ACRT__WM_NONE || quiet < m->idle_ns)
		return false;
	int64_t w = m->max_seen - m->ooo_ms + quiet / 1000000;
	if (w <= m->wm)
		return false;
	m->wm = w;
	return true;
}

int64_t
acrt__wm_due(const acrt__wmark *m, int64_t close)
{
	if (m->idle_ns <= 0 || m->max_seen == ACRT__WM_NONE)
		return 0;
	int64_t ahead = close - (m->max_seen - m->ooo_ms); /* ms of quiet needed */
	if (ahead > 1000000000000LL)                       /* 30 years: never */
		return 0;
	int64_t need = ahead * 1000000 > m->idle_ns ? ahead * 1000000 : m->idle_ns;
	return m->quiet_since + need;
}

/* ---- The close heap ---- */

static int
cmp(const acrt__wclose *a, const acrt__wclose *b)
{
	if (a->close != b->close)
		return a->close < b->close ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);
	return c != 0 ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

int
acrt__wheap_push(acrt__wheap *h, int64_t close, int64_t start, const void *key, size_t klen)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		acrt__wclose *e = acrt__realloc(h->e, cap * sizeof *e);
		if (e == NULL)
			return ACRT_ENOMEM;
		h->e = e;
		h->cap = cap;
	}
	char *k = acrt__malloc(klen + 1);
	if (k == NULL)
		return ACRT_ENOMEM;
	memcpy(k, key, klen);
	acrt__wclose x = {.close = close, .start = start, .key = k, .klen = klen};
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (cmp(&h->e[p], &x) <= 0)
			break;
		h->e[i] = h->e[p];
		i = p;
	}
	h->e[i] = x;
	return 0;
}

const acrt__wclose *
acrt__wheap_top(const acrt__wheap *h)
{
	return h->n > 0 ? &h->e[0] : NULL;
}

void
acrt__wheap_pop(acrt__wheap *h, acrt__wclose *out)
{
	*out = h->e[0];
	acrt__wclose x = h->e[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && cmp(&h->e[c + 1], &h->e[c]) < 0)
			c++;
		if (cmp(&x, &h->e[c]) <= 0)
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	if (h->n > 0)
		h->e[i] = x;
}

void
acrt__wheap_free(acrt__wheap *h)
{
	for (size_t i = 0; i < h->n; i++)
		acrt__free(h->e[i].key);
	acrt__free(h->e);
	memset(h, 0, sizeof *h);
}
