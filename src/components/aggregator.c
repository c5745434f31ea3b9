/*
 * aggregator.c - the built-in Aggregator: its config, setup, and the
 * processing-time windows (the default): keyed tumbling windows over the time
 * each event entered acrt (acrt_event_time_ns, floored to `window_ms`), or one
 * window for the whole stream when `window_ms` is absent. `ops: {field: op |
 * [op, ...]}` (count, sum, min, max, avg). One output event per (group, window):
 *   {"key": K, "window_start": MS, "window_end": MS, "<field>_<op>": V, ...}
 * With `time_field` or `window: {...}`, agg_time.c runs the windows instead
 * (event time, watermarks, lateness, hopping and session windows; its state
 * layout is described there); aggacc.c has the accumulators both share.
 * docs/COMPONENTS.md has the user's side; this is the implementer's.
 *
 * Processing time: when a window closes (driven by the events, never by a clock):
 *   - each group (key value) has at most one open window; an event of that
 *     group in a later window emits the open one, then opens its own;
 *   - an event of that group in an earlier window than the open one is late:
 *     counted (`late_events`) and dropped;
 *   - when the input ends (the descriptor's `finish` hook, on the instance's
 *     thread before its outputs close), every open window is emitted, ordered
 *     by window_start, then by key, and removed from the state.
 *
 * State: managed keyed state (acrt_state_*), so the runtime's checkpoints
 * capture it and --resume restores it before setup. One entry per open
 * (group, window). Entry key: the compact JSON of the group's key value (object
 * keys sorted; "null" when the field is absent or there is no `key`), so that
 * distinct JSON values are distinct groups. Entry value, little-endian:
 *   [0]       u8   format version (1)
 *   [1]       u8   0
 *   [2..3]    u16  number of fields
 *   [4..7]    u32  layout hash (FNV-1a of key, window_ms, the fields and ops)
 *   [8..15]   i64  window start, ms since the epoch (tumbling: aligned to
 *                  window_ms; without window_ms: the group's earliest event)
 *   [16..23]  i64  the group's latest event time in the window, ms
 *   then one 48-byte record per field, in field-name order:
 *   +0        u8   flags: 1 the sum is a real, 2 min and max are reals
 *   +1..+7         0
 *   +8        i64  events where the field is present and not null (count)
 *   +16       i64  numeric values seen (sum, min, max, avg)
 *   +24, +32, +40  sum, min, max: i64, or the bits of an f64 per the flags
 * avg is sum / n at emission, so a restored window continues exactly. A
 * value whose version, size or layout hash does not match the config (a
 * checkpoint taken with another config) is discarded at setup, with a warning.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/aggregator.h"
#include "components/builtins.h"
#include "core/common.h"

#define AGG_VERSION 1
#define AGG_HEAD 24
#define AGG_REC ACRT__AGG_REC
#define AGG_MAX_FIELDS ACRT__AGG_MAX_FIELDS
#define N_OPS ACRT__AGG_N_OPS
#define OP_NUMERIC ACRT__OP_NUMERIC
#define op_name acrt__agg_op_name
#define fnv acrt__agg_fnv
#define floor_div acrt__agg_floor_div

static const char *const time_formats[] = {"auto", "rfc3339", "epoch_s", "epoch_ms", NULL};

static const acrt_prop agg_props[] = {
    {"key", ACRT_PROP_STRING, 0, 0, 0, NULL, "field whose value groups events (absent: one group)"},
    {"window_ms", ACRT_PROP_INT, 0, 1, 9007199254740992.0, NULL,
     "tumbling window length in ms (absent: one window for the whole stream)"},
    {"ops", ACRT_PROP_OBJECT, 1, 0, 0, NULL,
     "{field: op or [op, ...]}; op: count | sum | min | max | avg"},
    {"time_field", ACRT_PROP_STRING, 0, 0, 0, NULL,
     "event time: the top-level field holding each event's time (absent: processing time)"},
    {"time_format", ACRT_PROP_STRING, 0, 0, 0, time_formats,
     "time_field's format: auto (default) | rfc3339 | epoch_s | epoch_ms"},
    {"window", ACRT_PROP_OBJECT, 0, 0, 0, NULL,
     "{size_ms} tumbling, {size_ms, slide_ms} hopping, {gap_ms} session (instead of window_ms)"},
    {"max_out_of_order_ms", ACRT_PROP_INT, 0, 0, 1e12, NULL,
     "event time: the watermark is the largest time seen less this (default 0)"},
    {"allowed_lateness_ms", ACRT_PROP_INT, 0, 0, 1e12, NULL,
     "event time: a window closes when the watermark passes its end plus this (default 0)"},
    {"idle_timeout_ms", ACRT_PROP_INT, 0, 0, 1e12, NULL,
     "event time: after this long without input the watermark follows the clock (0: never)"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

/* ---- Config ------------------------------------------------------------------- */

static unsigned
op_bit(const char *s)
{
	for (unsigned i = 0; i < N_OPS; i++)
		if (strcmp(s, op_name(i)) == 0)
			return 1u << i;
	return 0;
}

/* The ops of one `ops` value (an op name or a non-empty list of them), or 0
 * with a reason in msg and, for a list, the offending item in *item. */
static unsigned
ops_parse(const json_t *v, char *msg, size_t len, long *item)
{
	static const char expect[] = "expected count, sum, min, max or avg";
	*item = -1;
	if (json_is_string(v)) {
		unsigned b = op_bit(json_string_value(v));
		if (b == 0)
			snprintf(msg, len, "unknown op '%s' (%s)", json_string_value(v), expect);
		return b;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		snprintf(msg, len,
		         "expected an op (count, sum, min, max, avg) or a non-empty list "
		         "of ops");
		return 0;
	}
	unsigned bits = 0;
	size_t i;
	json_t *o;
	json_array_foreach(v, i, o)
	{
		*item = (long)i;
		unsigned b = json_is_string(o) ? op_bit(json_string_value(o)) : 0;
		if (b == 0) {
			if (json_is_string(o))
				snprintf(msg, len, "unknown op '%s' (%s)", json_string_value(o),
				         expect);
			else
				snprintf(msg, len, "item %zu: %s", i, expect);
			return 0;
		}
		if (bits & b) {
			snprintf(msg, len, "op '%s' is listed twice", json_string_value(o));
			return 0;
		}
		bits |= b;
	}
	return bits;
}

int
acrt__aggregator_check(const json_t *config, const char **key, char *msg, size_t len)
{
	/* *key is "ops.FIELD[.I]" for the validator to point at the bad op */
	static _Thread_local char path[160];
	const json_t *k = json_object_get(config, "key");
	if (k != NULL && json_string_length(k) == 0) {
		*key = "key";
		snprintf(msg, len, "expected a field name (a non-empty string)");
		return -1;
	}
	const json_t *ops = json_object_get(config, "ops");
	*key = "ops";
	if (json_object_size(ops) == 0) {
		snprintf(msg, len, "at least one {field: op} is needed");
		return -1;
	}
	if (json_object_size(ops) > AGG_MAX_FIELDS) {
		snprintf(msg, len, "at most %d fields", AGG_MAX_FIELDS);
		return -1;
	}
	const char *f;
	json_t *v;
	json_object_foreach((json_t *)ops, f, v)
	{
		long item;
		if (ops_parse(v, msg, len, &item) != 0)
			continue;
		if (strchr(f, '.') == NULL && strlen(f) < 100) {
			if (item >= 0)
				snprintf(path, sizeof path, "ops.%s.%ld", f, item);
			else
				snprintf(path, sizeof path, "ops.%s", f);
			*key = path;
		}
		return -1;
	}
	return acrt__aggt_check(config, key, msg, len);
}

/* ---- Processing time ---------------------------------------------------------- */

typedef acrt__agg agg;
typedef acrt__agg_acc acc;
typedef acrt__agg_field agg_field;

/* A window's header, decoded. */
typedef struct win {
	int64_t start, last; /* ms */
} win;

#define put64 acrt__agg_put64
#define get64 acrt__agg_get64

static void
encode(agg *a, const win *w)
{
	unsigned char *p = a->val;
	memset(p, 0, AGG_HEAD);
	p[0] = AGG_VERSION;
	p[2] = (unsigned char)(a->n_fields & 0xff);
	p[3] = (unsigned char)(a->n_fields >> 8);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)(a->layout >> (8 * i));
	put64(p + 8, (uint64_t)w->start);
	put64(p + 16, (uint64_t)w->last);
	for (size_t f = 0; f < a->n_fields; f++)
		acrt__agg_rec_put(p + AGG_HEAD + f * AGG_REC, &a->accs[f]);
}

/* Whether a stored value fits this config (version, size, layout). */
static bool
valid(const agg *a, const unsigned char *p, size_t len)
{
	if (len != a->vlen || p[0] != AGG_VERSION)
		return false;
	uint32_t h = 0;
	for (int i = 0; i < 4; i++)
		h |= (uint32_t)p[4 + i] << (8 * i);
	return (size_t)(p[2] | (p[3] << 8)) == a->n_fields && h == a->layout;
}

/* Decodes a stored value into *w and a->accs; false if it does not fit. */
static bool
decode(agg *a, const void *val, size_t len, win *w)
{
	const unsigned char *p = val;
	if (!valid(a, p, len))
		return false;
	w->start = (int64_t)get64(p + 8);
	w->last = (int64_t)get64(p + 16);
	for (size_t f = 0; f < a->n_fields; f++)
		acrt__agg_rec_get(&a->accs[f], p + AGG_HEAD + f * AGG_REC);
	return true;
}

static void
open_window(agg *a, win *w, int64_t start, int64_t t)
{
	w->start = start;
	w->last = t;
	memset(a->accs, 0, a->n_fields * sizeof *a->accs);
}

/* Emits the window in *w and a->accs on `output`. */
static int
emit_window(acrt_ctx *ctx, agg *a, const char *key, size_t klen, const win *w)
{
	int64_t end = a->window_ms > 0 ? w->start + a->window_ms : w->last + 1;
	return acrt__agg_emit(ctx, a, key, klen, w->start, end, a->accs);
}

static int
agg_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	agg *a = self;
	(void)port;
	const char *why = NULL;
	const json_t *in = acrt__agg_read(a, ev, &why);
	if (in == NULL)
		return acrt__fail_event(ctx, ev, "invalid_events", "%s", why);
	if (a->et)
		return acrt__aggt_process(ctx, a, ev, in);
	char kbuf[ACRT__KEY_INLINE];
	char *kheap = NULL;
	size_t klen;
	const char *k = acrt__key_of_value(&a->keyv, kbuf, sizeof kbuf, &kheap, &klen);
	if (k == NULL)
		return acrt_fail(ctx, "out of memory");

	int64_t t = floor_div(acrt_event_time_ns(ev), 1000000);
	int64_t start = a->window_ms > 0 ? floor_div(t, a->window_ms) * a->window_ms : t;
	int rc = ACRT_OK;
	const void *old;
	size_t olen;
	win w;
	if (acrt_state_get(ctx, k, klen, &old, &olen) != ACRT_OK || !decode(a, old, olen, &w)) {
		open_window(a, &w, start, t);
	} else if (a->window_ms == 0 || start == w.start) {
		if (t < w.start) /* without window_ms, start is the earliest event */
			w.start = t;
		if (t > w.last)
			w.last = t;
	} else if (start > w.start) {
		rc = emit_window(ctx, a, k, klen, &w);
		if (rc != ACRT_OK)
			goto out;
		open_window(a, &w, start, t);
	} else { /* an earlier window than the group's open one */
		acrt_count(ctx, "late_events", 1);
		goto out;
	}
	uint64_t skipped = 0;
	for (size_t f = 0; f < a->n_fields; f++)
		if (acrt__agg_acc_add(&a->accs[f], json_object_get(in, a->fields[f].name)) &&
		    (a->fields[f].ops & OP_NUMERIC))
			skipped++;
	if (skipped > 0)
		acrt_count(ctx, "skipped_values", skipped);
	encode(a, &w);
	if (acrt_state_put(ctx, k, klen, a->val, a->vlen) != ACRT_OK)
		rc = acrt_fail(ctx, "out of memory (state)");
out:
	acrt__free(kheap);
	return rc;
}

/* ---- End of input: every open window -------------------------------------------- */

typedef struct entry {
	void *key;
	size_t klen;
	int64_t start;
	unsigned char *val;
	size_t vlen;
} entry;

typedef struct entries {
	entry *e;
	size_t n, cap;
	int64_t bad; /* entries that do not fit the config */
	const agg *a;
} entries;

static int
collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	entries *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		entry *e = acrt__realloc(l->e, cap * sizeof *e);
		if (e == NULL)
			return ACRT_ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	entry *e = &l->e[l->n];
	e->key = acrt__malloc(klen + 1);
	e->val = acrt__malloc(vlen + 1);
	if (e->key == NULL || e->val == NULL) {
		acrt__free(e->key);
		acrt__free(e->val);
		return ACRT_ENOMEM;
	}
	memcpy(e->key, key, klen);
	memcpy(e->val, val, vlen);
	e->klen = klen;
	e->vlen = vlen;
	bool ok = valid(l->a, val, vlen);
	e->start = ok ? (int64_t)get64(e->val + 8) : INT64_MIN;
	if (!ok)
		l->bad++;
	l->n++;
	return 0;
}

static void
entries_free(entries *l)
{
	for (size_t i = 0; i < l->n; i++) {
		acrt__free(l->e[i].key);
		acrt__free(l->e[i].val);
	}
	acrt__free(l->e);
}

static int
entry_cmp(const void *x, const void *y)
{
	const entry *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);
	return c != 0 ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* A copy of every state entry, ordered by window start then key. */
static int
snapshot_entries(acrt_ctx *ctx, const agg *a, entries *l)
{
	memset(l, 0, sizeof *l);
	l->a = a;
	if (acrt_state_iter(ctx, collect, l) != ACRT_OK) {
		entries_free(l);
		return acrt_fail(ctx, "out of memory");
	}
	if (l->n > 1)
		qsort(l->e, l->n, sizeof *l->e, entry_cmp);
	return ACRT_OK;
}

/* The input has ended: emit every open window, then forget it. */
static int
agg_finish(acrt_ctx *ctx, void *self)
{
	agg *a = self;
	if (a->et)
		return acrt__aggt_finish(ctx, a);
	entries l;
	int rc = snapshot_entries(ctx, a, &l);
	if (rc != ACRT_OK)
		return rc;
	for (size_t i = 0; i < l.n && rc == ACRT_OK; i++) {
		win w;
		if (!decode(a, l.e[i].val, l.e[i].vlen, &w))
			continue; /* discarded at setup already; cannot happen */
		rc = emit_window(ctx, a, l.e[i].key, l.e[i].klen, &w);
	}
	for (size_t i = 0; i < l.n && rc == ACRT_OK; i++)
		(void)acrt_state_del(ctx, l.e[i].key, l.e[i].klen);
	entries_free(&l);
	return rc;
}

/* ---- Setup and cleanup ----------------------------------------------------------- */

static int
field_cmp(const void *x, const void *y)
{
	return strcmp(((const agg_field *)x)->name, ((const agg_field *)y)->name);
}

static void
agg_free(agg *a)
{
	if (a == NULL)
		return;
	for (size_t f = 0; a->fields != NULL && f < a->n_fields; f++)
		for (unsigned i = 0; i < N_OPS; i++)
			acrt__free(a->fields[f].out[i]);
	acrt__free(a->fields);
	acrt__free(a->val);
	acrt__free(a->accs);
	json_decref(a->picked);
	acrt__aggt_free(a);
	acrt__free(a);
}

static int
agg_fields(agg *a, const json_t *ops, char *err, size_t errlen)
{
	a->n_fields = json_object_size(ops);
	if (a->n_fields == 0 || a->n_fields > AGG_MAX_FIELDS) {
		snprintf(err, errlen, "'ops' needs 1 to %d fields", AGG_MAX_FIELDS);
		return ACRT_EINVAL;
	}
	a->fields = acrt__calloc(a->n_fields, sizeof *a->fields);
	a->accs = acrt__calloc(a->n_fields, sizeof *a->accs);
	if (a->fields == NULL || a->accs == NULL)
		goto nomem;
	size_t f = 0;
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)ops, name, v)
	{
		long item;
		a->fields[f].name = name;
		a->fields[f].len = strlen(name);
		if ((a->fields[f++].ops = ops_parse(v, err, errlen, &item)) == 0)
			return ACRT_EINVAL;
	}
	qsort(a->fields, a->n_fields, sizeof *a->fields, field_cmp);
	a->layout =
	    fnv(2166136261u, a->key != NULL ? a->key : "", a->key != NULL ? strlen(a->key) + 1 : 0);
	a->layout = fnv(a->layout, &a->window_ms, sizeof a->window_ms);
	for (f = 0; f < a->n_fields; f++) {
		agg_field *fl = &a->fields[f];
		a->layout = fnv(a->layout, fl->name, strlen(fl->name) + 1);
		a->layout = fnv(a->layout, &fl->ops, sizeof fl->ops);
		for (unsigned i = 0; i < N_OPS; i++) {
			if (!(fl->ops & (1u << i)))
				continue;
			size_t n = strlen(fl->name) + strlen(op_name(i)) + 2;
			if ((fl->out[i] = acrt__malloc(n)) == NULL)
				goto nomem;
			snprintf(fl->out[i], n, "%s_%s", fl->name, op_name(i));
		}
	}
	a->vlen = AGG_HEAD + a->n_fields * AGG_REC;
	if ((a->val = acrt__malloc(a->vlen)) == NULL)
		goto nomem;
	return ACRT_OK;
nomem:
	snprintf(err, errlen, "out of memory");
	return ACRT_ENOMEM;
}

/* After --resume: drop the entries that do not fit this config. */
static int
check_restored(acrt_ctx *ctx, agg *a)
{
	if (acrt_state_count(ctx) == 0)
		return ACRT_OK;
	entries l;
	int rc = snapshot_entries(ctx, a, &l);
	if (rc != ACRT_OK)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (!valid(a, l.e[i].val, l.e[i].vlen))
			(void)acrt_state_del(ctx, l.e[i].key, l.e[i].klen);
	if (l.bad > 0) {
		acrt_log(ctx, ACRT_LOG_WARN,
		         "%lld restored window(s) do not match this config (key, window_ms, "
		         "ops) and were discarded",
		         (long long)l.bad);
		acrt_count(ctx, "state_discarded", (uint64_t)l.bad);
	}
	acrt_log(ctx, ACRT_LOG_INFO, "resumed with %zu open window(s)", l.n - (size_t)l.bad);
	entries_free(&l);
	return ACRT_OK;
}

static int
agg_setup(acrt_ctx *ctx, void **self)
{
	agg *a = acrt__calloc(1, sizeof *a);
	if (a == NULL || (a->picked = json_object()) == NULL) {
		acrt__free(a);
		return acrt_fail(ctx, "out of memory");
	}
	a->key = acrt_config_string(ctx, "key", NULL);
	a->key_len = a->key != NULL ? strlen(a->key) : 0;
	a->window_ms = acrt_config_int(ctx, "window_ms", 0);
	char err[256];
	int rc = ACRT_EINVAL;
	if (a->window_ms < 0) {
		snprintf(err, sizeof err, "window_ms must be >= 1");
		goto fail;
	}
	if ((rc = agg_fields(a, json_object_get(acrt_config(ctx), "ops"), err, sizeof err)) !=
	    ACRT_OK)
		goto fail;
	const json_t *cfg = acrt_config(ctx);
	a->et =
	    json_object_get(cfg, "time_field") != NULL || json_object_get(cfg, "window") != NULL;
	if (a->et && (rc = acrt__aggt_setup(ctx, a, err, sizeof err)) != ACRT_OK)
		goto fail;
	if (!a->et && (rc = check_restored(ctx, a)) != ACRT_OK) {
		agg_free(a);
		return rc;
	}
	*self = a;
	return ACRT_OK;
fail:
	agg_free(a);
	return acrt_fail(ctx, "%s", err);
}

static void
agg_cleanup(acrt_ctx *ctx, void *self)
{
	(void)ctx;
	agg_free(self);
}

static int
agg_idle(acrt_ctx *ctx, void *self)
{
	agg *a = self;
	return a->et ? acrt__aggt_idle(ctx, a) : ACRT_OK;
}

/* Processing time keeps everything in managed state: no own snapshot. */
static int
agg_snapshot(acrt_ctx *ctx, void *self, void **buf, size_t *len)
{
	(void)ctx;
	agg *a = self;
	*buf = NULL;
	*len = 0;
	return a->et ? acrt__aggt_snapshot(a, buf, len) : ACRT_OK;
}

static int
agg_restore(acrt_ctx *ctx, void *self, const void *buf, size_t len)
{
	agg *a = self;
	return a->et ? acrt__aggt_restore(ctx, a, buf, len) : ACRT_OK;
}

const acrt_component_desc acrt__aggregator_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Aggregator",
    .props = agg_props,
    .setup = agg_setup,
    .process = agg_process,
    .snapshot = agg_snapshot,
    .restore = agg_restore,
    .cleanup = agg_cleanup,
    .idle = agg_idle,
    .finish = agg_finish,
};
