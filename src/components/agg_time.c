/*
 * agg_time.c - the Aggregator's event-time windows (docs/COMPONENTS.md,
 * "Event time"): on when the config has `time_field` or `window: {...}`.
 *
 * Each event's time comes from `time_field` (evtime.h: RFC 3339, epoch s or
 * ms; a missing or bad one fails the event onto the `error` port, counted in
 * `invalid_time`), or without it from when the event entered acrt. The
 * windows it falls in (window.h: tumbling, hopping, or the group's session
 * within gap_ms) are updated unless they have closed already; an event whose
 * every window has closed is late: it goes on port `late` with the reason in
 * headers (counted in `late_events`), or, `late` unbound, fails (so a
 * dead_letter capability takes it, else it is logged and counted as lost).
 *
 * The watermark (window.h) rises with each event; after each rise the open
 * windows whose end + allowed_lateness_ms it has reached are emitted, in the
 * close heap's order (closing time, start, group key). With idle_timeout_ms
 * the idle hook advances it with the processing clock while the input is
 * quiet, and asks the consumer loop to wake it (acrt__ctx_wake_at) when the
 * next window would close. At the end of the input (finish) every open window
 * is emitted in the same order.
 *
 * State: managed keyed state, one entry per group that has open windows.
 * Entry key: the group key's JSON text (as in aggregator.c). Value,
 * little-endian:
 *   [0]       u8   format version (2; 1 is the processing-time layout)
 *   [1]       u8   window kind (window.h: 1 tumbling, 2 hopping, 3 session)
 *   [2..3]    u16  number of fields
 *   [4..7]    u32  layout hash (aggregator.c's, plus the window's kind and sizes)
 *   [8..11]   u32  number of open windows
 *   [12..15]       0
 *   then each open window, by start ascending:
 *   +0        i64  start, ms (event time)
 *   +8        i64  end, ms, exclusive (a session: its last event + gap_ms)
 *   +16       one 48-byte record per field, as aggregator.c describes
 * The watermark and the largest time seen are the component's own snapshot
 * (24 bytes: [0] u8 version 1, [8..15] i64 largest time, [16..23] i64
 * watermark; INT64_MIN before any event), in the same checkpoint part. The
 * close heap is rebuilt from the entries at setup, so a resumed run emits the
 * same windows in the same order as one that was never stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/aggregator.h"
#include "components/builtins.h"
#include "core/common.h"
#include "runtime/ctx_query.h"

#define ET_VERSION 2
#define ET_HEAD 16
#define W_HEAD 16
#define SNAP_VERSION 1
#define SNAP_LEN 24
#define MAX_MS 1000000000000LL /* window sizes, gaps, bounds: at most ~31 years */

#define put64 acrt__agg_put64
#define get64 acrt__agg_get64

/* ---- Config check --------------------------------------------------------- */

static int
bad(const char **key, const char *k, char *msg, size_t len, const char *what)
{
	*key = k;
	snprintf(msg, len, "%s", what);
	return -1;
}

static int
check_window(const json_t *w, const char **key, char *msg, size_t len)
{
	static const char *const keys[] = {"size_ms", "slide_ms", "gap_ms"};
	static _Thread_local char path[64];
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)w, k, v)
	{
		int i = 0;
		while (i < 3 && strcmp(k, keys[i]) != 0)
			i++;
		if (i == 3) {
			if (strlen(k) < 40)
				snprintf(path, sizeof path, "window.%s", k);
			*key = strlen(k) < 40 ? path : "window";
			snprintf(msg, len, "unknown key (expected size_ms, slide_ms or gap_ms)");
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > MAX_MS) {
			snprintf(path, sizeof path, "window.%s", k);
			*key = path;
			snprintf(msg, len, "expected an integer from 1 to %lld (ms)", MAX_MS);
			return -1;
		}
	}
	json_int_t size = json_integer_value(json_object_get(w, "size_ms"));
	json_int_t slide = json_integer_value(json_object_get(w, "slide_ms"));
	bool gap = json_object_get(w, "gap_ms") != NULL;
	if (gap && (size || slide))
		return bad(key, "window.gap_ms", msg, len,
		           "a session window (gap_ms) takes no size_ms or slide_ms");
	if (!gap && !size)
		return bad(key, "window", msg, len,
		           "expected {size_ms} (tumbling), {size_ms, slide_ms} (hopping) or "
		           "{gap_ms} (session)");
	if (slide > size)
		return bad(key, "window.slide_ms", msg, len, "must be at most size_ms");
	if (slide && size / slide >= ACRT__WIN_MAX_PER_EVENT)
		return bad(key, "window.slide_ms", msg, len,
		           "too small: an event would fall in 1000 windows or more (size_ms / "
		           "slide_ms)");
	return 0;
}

int
acrt__aggt_check(const json_t *config, const char **key, char *msg, size_t len)
{
	static const char *const et_only[] = {"time_format", "max_out_of_order_ms",
	                                      "allowed_lateness_ms", "idle_timeout_ms"};
	const json_t *tf = json_object_get(config, "time_field");
	const json_t *w = json_object_get(config, "window");
	bool wms = json_object_get(config, "window_ms") != NULL;
	if (tf != NULL && json_string_length(tf) == 0)
		return bad(key, "time_field", msg, len,
		           "expected a field name (a non-empty string)");
	if (w != NULL) {
		if (wms)
			return bad(key, "window", msg, len,
			           "give either window_ms or window, not both");
		if (check_window(w, key, msg, len) != 0)
			return -1;
	} else if (tf != NULL && !wms) {
		return bad(key, "time_field", msg, len,
		           "event time needs a window: window_ms, or window: {size_ms} | "
		           "{size_ms, slide_ms} | {gap_ms}");
	}
	for (size_t i = 0; i < sizeof et_only / sizeof et_only[0]; i++) {
		if (json_object_get(config, et_only[i]) == NULL)
			continue;
		if (tf == NULL && (w == NULL || i == 0))
			return bad(key, et_only[i], msg, len,
			           i == 0 ? "applies to time_field only"
			                  : "applies to event-time windows only: set time_field "
			                    "(or window)");
	}
	return 0;
}

/* ---- A group's entry, edited in a->buf -------------------------------------- */

static size_t
wrec(const acrt__agg *a)
{
	return W_HEAD + a->n_fields * ACRT__AGG_REC;
}

static uint32_t
nwin(const unsigned char *p)
{
	return (uint32_t)acrt__le_get(p + 8, 4);
}

static unsigned char *
wptr(const acrt__agg *a, size_t i)
{
	return a->buf + ET_HEAD + i * wrec(a);
}

static bool
et_valid(const acrt__agg *a, const unsigned char *p, size_t len)
{
	if (len < ET_HEAD || p[0] != ET_VERSION || p[1] != (unsigned char)a->win.kind)
		return false;
	if ((size_t)acrt__le_get(p + 2, 2) != a->n_fields ||
	    (uint32_t)acrt__le_get(p + 4, 4) != a->layout)
		return false;
	return len == ET_HEAD + (size_t)nwin(p) * wrec(a);
}

static int
reserve(acrt__agg *a, size_t n)
{
	if (n <= a->bufcap)
		return ACRT_OK;
	size_t cap = a->bufcap ? a->bufcap : 256;
	while (cap < n)
		cap *= 2;
	unsigned char *b = acrt__realloc(a->buf, cap);
	if (b == NULL)
		return ACRT_ENOMEM;
	a->buf = b;
	a->bufcap = cap;
	return ACRT_OK;
}

/* Loads group k's entry into a->buf (no windows when it has none). */
static int
load(acrt_ctx *ctx, acrt__agg *a, const char *k, size_t klen)
{
	const void *v;
	size_t vlen;
	if (acrt_state_get(ctx, k, klen, &v, &vlen) == ACRT_OK && et_valid(a, v, vlen)) {
		if (reserve(a, vlen) != ACRT_OK)
			return ACRT_ENOMEM;
		memcpy(a->buf, v, vlen);
		a->buflen = vlen;
		return ACRT_OK;
	}
	if (reserve(a, ET_HEAD) != ACRT_OK)
		return ACRT_ENOMEM;
	memset(a->buf, 0, ET_HEAD);
	a->buf[0] = ET_VERSION;
	a->buf[1] = (unsigned char)a->win.kind;
	acrt__le_put(a->buf + 2, a->n_fields, 2);
	acrt__le_put(a->buf + 4, a->layout, 4);
	a->buflen = ET_HEAD;
	return ACRT_OK;
}

static int
store(acrt_ctx *ctx, acrt__agg *a, const char *k, size_t klen)
{
	if (nwin(a->buf) == 0) {
		(void)acrt_state_del(ctx, k, klen); /* ENOENT: it had none */
		return ACRT_OK;
	}
	return acrt_state_put(ctx, k, klen, a->buf, a->buflen);
}

static int64_t
w_start(const acrt__agg *a, size_t i)
{
	return (int64_t)get64(wptr(a, i));
}

static int64_t
w_end(const acrt__agg *a, size_t i)
{
	return (int64_t)get64(wptr(a, i) + 8);
}

/* The index of the window starting at `start`, or where it would go. */
static size_t
find(const acrt__agg *a, int64_t start, bool *found)
{
	size_t lo = 0, hi = nwin(a->buf);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w_start(a, mid) < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < nwin(a->buf) && w_start(a, lo) == start;
	return lo;
}

static int
insert(acrt__agg *a, size_t i, int64_t start, int64_t end)
{
	size_t r = wrec(a), n = nwin(a->buf);
	if (reserve(a, a->buflen + r) != ACRT_OK)
		return ACRT_ENOMEM;
	unsigned char *p = wptr(a, i);
	memmove(p + r, p, (n - i) * r);
	memset(p, 0, r);
	put64(p, (uint64_t)start);
	put64(p + 8, (uint64_t)end);
	acrt__le_put(a->buf + 8, n + 1, 4);
	a->buflen += r;
	return ACRT_OK;
}

static void
remove_at(acrt__agg *a, size_t i)
{
	size_t r = wrec(a), n = nwin(a->buf);
	unsigned char *p = wptr(a, i);
	memmove(p, p + r, (n - i - 1) * r);
	acrt__le_put(a->buf + 8, n - 1, 4);
	a->buflen -= r;
}

/* ---- Closing windows ------------------------------------------------------------ */

static bool
closed(const acrt__agg *a, int64_t end)
{
	return a->wm.wm != ACRT__WM_NONE && end + a->lateness <= a->wm.wm;
}

/* One entry of the close heap: emits its window if it is due (or `all`), puts
 * it back with its true closing time if a session grew since it was pushed
 * (so that windows leave in the order of their true closing times), skips it
 * if stale. */
static int
close_one(acrt_ctx *ctx, acrt__agg *a, const acrt__wclose *x, bool all)
{
	if (load(ctx, a, x->key, x->klen) != ACRT_OK)
		return acrt_fail(ctx, "out of memory");
	bool found;
	size_t i = find(a, x->start, &found);
	if (!found)
		return ACRT_OK; /* merged into another session, or emitted already */
	int64_t end = w_end(a, i);
	if (end + a->lateness != x->close || (!all && !closed(a, end))) /* a session grew */
		return acrt__wheap_push(&a->heap, end + a->lateness, x->start, x->key, x->klen) == 0
		           ? ACRT_OK
		           : acrt_fail(ctx, "out of memory");
	for (size_t f = 0; f < a->n_fields; f++)
		acrt__agg_rec_get(&a->accs[f], wptr(a, i) + W_HEAD + f * ACRT__AGG_REC);
	remove_at(a, i);
	if (store(ctx, a, x->key, x->klen) != ACRT_OK)
		return acrt_fail(ctx, "out of memory (state)");
	return acrt__agg_emit(ctx, a, x->key, x->klen, x->start, end, a->accs);
}

/* Emits every window the watermark has closed (all: every open window). */
static int
close_due(acrt_ctx *ctx, acrt__agg *a, bool all)
{
	const acrt__wclose *top;
	while ((top = acrt__wheap_top(&a->heap)) != NULL &&
	       (all || (a->wm.wm != ACRT__WM_NONE && top->close <= a->wm.wm))) {
		acrt__wclose x;
		acrt__wheap_pop(&a->heap, &x);
		int rc = close_one(ctx, a, &x, all);
		acrt__free(x.key);
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

/* ---- Events --------------------------------------------------------------------- */

/* An event whose every window has closed (the last of them ended at `end`). */
static int
late(acrt_ctx *ctx, acrt__agg *a, acrt_event *ev, int64_t t, int64_t end)
{
	char reason[300], n1[24], n2[24];
	snprintf(reason, sizeof reason,
	         "event time %lld is late: its window ended at %lld and the watermark %lld has "
	         "passed that plus allowed_lateness_ms %lld",
	         (long long)t, (long long)end, (long long)a->wm.wm, (long long)a->lateness);
	acrt_count(ctx, "late_events", 1);
	if (!acrt__ctx_output_bound(ctx, "late"))
		return acrt_fail(ctx, "late event: %s", reason); /* a dead letter may take it */
	size_t len;
	const void *data = acrt_event_data(ev, &len);
	acrt_event *le =
	    data != NULL ? acrt_event_new(ctx, data, len, acrt_event_content_type(ev)) : NULL;
	snprintf(n1, sizeof n1, "%lld", (long long)t);
	snprintf(n2, sizeof n2, "%lld", (long long)a->wm.wm);
	if (le == NULL || acrt_event_set_header(le, "acrt-late", reason) != ACRT_OK ||
	    acrt_event_set_header(le, "acrt-event-time-ms", n1) != ACRT_OK ||
	    acrt_event_set_header(le, "acrt-watermark-ms", n2) != ACRT_OK ||
	    acrt_event_set_header(le, "acrt-component", acrt_name(ctx)) != ACRT_OK) {
		if (le != NULL)
			acrt_event_unref(le);
		return acrt_fail(ctx, "out of memory");
	}
	return acrt_emit(ctx, "late", le);
}

/* Tumbling and hopping: adds the event to each of its windows still open.
 * *last_end: the end of its last window. Returns how many took it. */
static int
add_fixed(acrt_ctx *ctx, acrt__agg *a, const char *k, size_t klen, int64_t t, const json_t *in,
          size_t *took, int64_t *last_end)
{
	size_t n = acrt__win_assign(&a->win, t, a->starts, a->max_starts);
	uint64_t skipped = 0;
	*took = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t s = a->starts[i], end = s + a->win.size;
		*last_end = end;
		if (closed(a, end))
			continue;
		bool found;
		size_t j = find(a, s, &found);
		if (!found && (insert(a, j, s, end) != ACRT_OK ||
		               acrt__wheap_push(&a->heap, end + a->lateness, s, k, klen) != 0))
			return acrt_fail(ctx, "out of memory");
		uint64_t sk = acrt__agg_recs_add(a, wptr(a, j) + W_HEAD, in);
		if ((*took)++ == 0)
			skipped = sk; /* counted once per event */
	}
	if (skipped > 0)
		acrt_count(ctx, "skipped_values", skipped);
	return ACRT_OK;
}

/* Session: the event's [t, t + gap) joins every open session it touches
 * (they merge into the first; touching counts: an event gap_ms after a
 * session's last one joins it) or, if it is not closed already, opens one
 * (merged first, then checked, as Flink does). */
static int
add_session(acrt_ctx *ctx, acrt__agg *a, const char *k, size_t klen, int64_t t, const json_t *in,
            size_t *took, int64_t *last_end)
{
	int64_t lo = t, hi = t + a->win.gap;
	*last_end = hi;
	*took = 0;
	size_t n = nwin(a->buf), j = 0;
	while (j < n && w_end(a, j) < lo)
		j++;
	if (j == n || w_start(a, j) > hi) { /* touches none: a new session */
		if (closed(a, hi))
			return ACRT_OK; /* late (an open session it touches would take it) */
		if (insert(a, j, lo, hi) != ACRT_OK ||
		    acrt__wheap_push(&a->heap, hi + a->lateness, lo, k, klen) != 0)
			return acrt_fail(ctx, "out of memory");
	} else {
		int64_t start = w_start(a, j), end = w_end(a, j);
		while (j + 1 < nwin(a->buf) && w_start(a, j + 1) <= hi) { /* bridged: merge */
			for (size_t f = 0; f < a->n_fields; f++) {
				acrt__agg_acc x, y;
				unsigned char *r = wptr(a, j) + W_HEAD + f * ACRT__AGG_REC;
				acrt__agg_rec_get(&x, r);
				acrt__agg_rec_get(&y, wptr(a, j + 1) + W_HEAD + f * ACRT__AGG_REC);
				acrt__agg_acc_merge(&x, &y);
				acrt__agg_rec_put(r, &x);
			}
			if (w_end(a, j + 1) > end)
				end = w_end(a, j + 1);
			remove_at(a, j + 1);
		}
		if (hi > end)
			end = hi;
		put64(wptr(a, j) + 8, (uint64_t)end);
		if (lo < start) { /* starts earlier: a new heap entry for its new start */
			put64(wptr(a, j), (uint64_t)lo);
			if (acrt__wheap_push(&a->heap, end + a->lateness, lo, k, klen) != 0)
				return acrt_fail(ctx, "out of memory");
		}
	}
	uint64_t sk = acrt__agg_recs_add(a, wptr(a, j) + W_HEAD, in);
	if (sk > 0)
		acrt_count(ctx, "skipped_values", sk);
	*took = 1;
	return ACRT_OK;
}

int
acrt__aggt_process(acrt_ctx *ctx, acrt__agg *a, acrt_event *ev, const json_t *in)
{
	int64_t t;
	if (a->time_field != NULL) {
		char why[200];
		if (acrt__time_of_value(&a->timev, a->tfmt, &t, why, sizeof why) != 0)
			return acrt__fail_event(ctx, ev, "invalid_time", "time_field '%s': %s",
			                        a->time_field, why);
	} else {
		t = acrt__agg_floor_div(acrt_event_time_ns(ev), 1000000);
	}
	char kbuf[ACRT__KEY_INLINE];
	char *kheap = NULL;
	size_t klen, took = 0;
	int64_t last_end = t;
	const char *k = acrt__key_of_value(&a->keyv, kbuf, sizeof kbuf, &kheap, &klen);
	if (k == NULL)
		return acrt_fail(ctx, "out of memory");
	int rc = load(ctx, a, k, klen);
	if (rc != ACRT_OK) {
		rc = acrt_fail(ctx, "out of memory");
		goto out;
	}
	rc = a->win.kind == ACRT__WIN_SESSION
	         ? add_session(ctx, a, k, klen, t, in, &took, &last_end)
	         : add_fixed(ctx, a, k, klen, t, in, &took, &last_end);
	if (rc != ACRT_OK)
		goto out;
	if (took == 0) {
		a->wm.arrived = true;
		rc = late(ctx, a, ev, t, last_end);
		goto out;
	}
	if (store(ctx, a, k, klen) != ACRT_OK) {
		rc = acrt_fail(ctx, "out of memory (state)");
		goto out;
	}
	if (acrt__wm_event(&a->wm, t))
		rc = close_due(ctx, a, false);
out:
	acrt__free(kheap);
	return rc;
}

int
acrt__aggt_idle(acrt_ctx *ctx, acrt__agg *a)
{
	if (a->wm.idle_ns <= 0)
		return ACRT_OK;
	int rc = ACRT_OK;
	if (acrt__wm_quiet(&a->wm, acrt_now_ns(ctx)))
		rc = close_due(ctx, a, false);
	const acrt__wclose *top = acrt__wheap_top(&a->heap);
	acrt__ctx_wake_at(ctx, top != NULL ? acrt__wm_due(&a->wm, top->close) : 0);
	return rc;
}

int
acrt__aggt_finish(acrt_ctx *ctx, acrt__agg *a)
{
	return close_due(ctx, a, true);
}

int
acrt__aggt_snapshot(acrt__agg *a, void **buf, size_t *len)
{
	/* Plain malloc: the runtime frees snapshot buffers with free() (acrt.h). */
	unsigned char *b = malloc(SNAP_LEN);
	if (b == NULL)
		return ACRT_ENOMEM;
	memset(b, 0, SNAP_LEN);
	b[0] = SNAP_VERSION;
	put64(b + 8, (uint64_t)a->wm.max_seen);
	put64(b + 16, (uint64_t)a->wm.wm);
	*buf = b;
	*len = SNAP_LEN;
	return ACRT_OK;
}

int
acrt__aggt_restore(acrt_ctx *ctx, acrt__agg *a, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	if (len == 0)
		return ACRT_OK; /* a processing-time checkpoint: no watermark yet */
	if (len != SNAP_LEN || b[0] != SNAP_VERSION)
		return acrt_fail(ctx,
		                 "restore: expected %d bytes of watermark (version %d), got %zu",
		                 SNAP_LEN, SNAP_VERSION, len);
	a->wm.max_seen = (int64_t)get64(b + 8);
	a->wm.wm = (int64_t)get64(b + 16);
	if (a->wm.wm != ACRT__WM_NONE)
		acrt_log(ctx, ACRT_LOG_INFO, "resumed at watermark %lld (largest event time %lld)",
		         (long long)a->wm.wm, (long long)a->wm.max_seen);
	return ACRT_OK;
}

/* ---- Setup ---------------------------------------------------------------------- */

typedef struct keys {
	char **k;
	size_t *len, n, cap;
	bool oom;
} keys;

static int
collect_key(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	keys *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **k = acrt__realloc(l->k, cap * sizeof *k);
		if (k != NULL)
			l->k = k;
		size_t *len = k != NULL ? acrt__realloc(l->len, cap * sizeof *len) : NULL;
		if (len == NULL)
			return l->oom = true, 1;
		l->len = len;
		l->cap = cap;
	}
	if ((l->k[l->n] = acrt__malloc(klen + 1)) == NULL)
		return l->oom = true, 1;
	memcpy(l->k[l->n], key, klen);
	l->len[l->n++] = klen;
	return 0;
}

/* After --resume (or a reload): drops the entries that do not fit this
 * config and puts every open window of the others on the close heap. */
static int
rebuild(acrt_ctx *ctx, acrt__agg *a)
{
	keys l = {0};
	int rc = ACRT_OK;
	size_t open = 0, discarded = 0;
	if (acrt_state_count(ctx) == 0)
		return ACRT_OK;
	if (acrt_state_iter(ctx, collect_key, &l) != ACRT_OK || l.oom)
		rc = ACRT_ENOMEM;
	for (size_t i = 0; i < l.n && rc == ACRT_OK; i++) {
		const void *v;
		size_t vlen;
		if (acrt_state_get(ctx, l.k[i], l.len[i], &v, &vlen) != ACRT_OK)
			continue;
		if (!et_valid(a, v, vlen)) {
			(void)acrt_state_del(ctx, l.k[i], l.len[i]);
			discarded++;
			continue;
		}
		if (load(ctx, a, l.k[i], l.len[i]) != ACRT_OK) {
			rc = ACRT_ENOMEM;
			break;
		}
		for (size_t j = 0; j < nwin(a->buf) && rc == ACRT_OK; j++, open++)
			if (acrt__wheap_push(&a->heap, w_end(a, j) + a->lateness, w_start(a, j),
			                     l.k[i], l.len[i]) != 0)
				rc = ACRT_ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++)
		acrt__free(l.k[i]);
	acrt__free(l.k);
	acrt__free(l.len);
	if (rc != ACRT_OK)
		return rc;
	if (discarded > 0) {
		acrt_log(ctx, ACRT_LOG_WARN,
		         "%zu restored group(s) of windows do not match this config (key, window, "
		         "ops) and were discarded",
		         discarded);
		acrt_count(ctx, "state_discarded", discarded);
	}
	acrt_log(ctx, ACRT_LOG_INFO, "resumed with %zu open window(s)", open);
	return ACRT_OK;
}

int
acrt__aggt_setup(acrt_ctx *ctx, acrt__agg *a, char *err, size_t errlen)
{
	const json_t *cfg = acrt_config(ctx), *w = json_object_get(cfg, "window");
	a->time_field = acrt_config_string(ctx, "time_field", NULL);
	a->time_len = a->time_field != NULL ? strlen(a->time_field) : 0;
	int f = acrt__tfmt_parse(acrt_config_string(ctx, "time_format", "auto"));
	a->tfmt = f < 0 ? ACRT__TF_AUTO : (acrt__tfmt)f;
	if (w != NULL && json_object_get(w, "gap_ms") != NULL) {
		a->win.kind = ACRT__WIN_SESSION;
		a->win.gap = json_integer_value(json_object_get(w, "gap_ms"));
	} else {
		a->win.size =
		    w != NULL ? json_integer_value(json_object_get(w, "size_ms")) : a->window_ms;
		a->win.slide = w != NULL ? json_integer_value(json_object_get(w, "slide_ms")) : 0;
		if (a->win.slide == 0)
			a->win.slide = a->win.size;
		a->win.kind = a->win.slide == a->win.size ? ACRT__WIN_TUMBLING : ACRT__WIN_HOPPING;
	}
	if (a->win.kind != ACRT__WIN_SESSION &&
	    (a->win.size < 1 || a->win.slide < 1 || a->win.slide > a->win.size)) {
		snprintf(err, errlen, "event time needs a window (window_ms or window)");
		return ACRT_EINVAL;
	}
	if (a->win.kind == ACRT__WIN_SESSION && a->win.gap < 1) {
		snprintf(err, errlen, "window.gap_ms must be >= 1");
		return ACRT_EINVAL;
	}
	a->lateness = acrt_config_int(ctx, "allowed_lateness_ms", 0);
	acrt__wm_init(&a->wm, acrt_config_int(ctx, "max_out_of_order_ms", 0),
	              acrt_config_int(ctx, "idle_timeout_ms", 0), acrt_now_ns(ctx));
	int64_t shape[4] = {a->win.kind, a->win.size, a->win.slide, a->win.gap};
	a->layout = acrt__agg_fnv(a->layout, shape, sizeof shape);
	a->max_starts =
	    a->win.kind == ACRT__WIN_SESSION ? 1 : (size_t)(a->win.size / a->win.slide) + 1;
	a->starts = acrt__calloc(a->max_starts, sizeof *a->starts);
	if (a->starts == NULL || rebuild(ctx, a) != ACRT_OK) {
		snprintf(err, errlen, "out of memory");
		return ACRT_ENOMEM;
	}
	return ACRT_OK;
}

void
acrt__aggt_free(acrt__agg *a)
{
	acrt__wheap_free(&a->heap);
	acrt__free(a->starts);
	acrt__free(a->buf);
}
