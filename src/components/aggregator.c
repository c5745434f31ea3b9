/*
 * aggregator.c - the built-in Aggregator: keyed tumbling windows over event
 * time (acrt_event_time_ns, floored to `window_ms`), or one window for the
 * whole stream when `window_ms` is absent. `ops: {field: op | [op, ...]}`
 * (count, sum, min, max, avg). One output event per (group, window):
 *   {"key": K, "window_start": MS, "window_end": MS, "<field>_<op>": V, ...}
 * docs/COMPONENTS.md has the user's side; this is the implementer's.
 *
 * When a window closes (deterministic: driven by the events, never by a clock):
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
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"

#define AGG_VERSION 1
#define AGG_HEAD 24
#define AGG_REC 48
#define AGG_MAX_FIELDS 256
#define N_OPS 5

enum { OP_COUNT = 1, OP_SUM = 2, OP_MIN = 4, OP_MAX = 8, OP_AVG = 16 };
enum { F_SUM_REAL = 1, F_MINMAX_REAL = 2 };
#define OP_NUMERIC (OP_SUM | OP_MIN | OP_MAX | OP_AVG)

static const char *const op_names[N_OPS] = {"count", "sum", "min", "max", "avg"};

static const acrt_prop agg_props[] = {
    {"key", ACRT_PROP_STRING, 0, 0, 0, NULL, "field whose value groups events (absent: one group)"},
    {"window_ms", ACRT_PROP_INT, 0, 1, 9007199254740992.0, NULL,
     "tumbling window length in ms (absent: one window for the whole stream)"},
    {"ops", ACRT_PROP_OBJECT, 1, 0, 0, NULL,
     "{field: op or [op, ...]}; op: count | sum | min | max | avg"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

/* ---- Config ------------------------------------------------------------------- */

static unsigned
op_bit(const char *s)
{
	for (unsigned i = 0; i < N_OPS; i++)
		if (strcmp(s, op_names[i]) == 0)
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
	return 0;
}

/* ---- Instance ------------------------------------------------------------------ */

typedef union num {
	int64_t i;
	double d;
} num;

/* One field's accumulator, decoded from its 48-byte record. */
typedef struct acc {
	unsigned flags;
	int64_t present, n;
	num sum, min, max;
} acc;

/* A window's header, decoded. */
typedef struct win {
	int64_t start, last; /* ms */
} win;

typedef struct agg_field {
	const char *name; /* borrowed from the config */
	unsigned ops;
	char *out[N_OPS]; /* "<field>_<op>" for each op in ops, else NULL */
} agg_field;

typedef struct agg {
	const char *key;   /* the grouping field, or NULL: one group */
	int64_t window_ms; /* 0: one window for the whole stream */
	agg_field *fields; /* sorted by name */
	size_t n_fields;
	uint32_t layout; /* hash of what the state layout depends on */
	size_t vlen;     /* bytes of one state value */
	unsigned char *val;
	acc *accs;       /* the window being updated or emitted */
	json_t *picked;  /* the op fields of the current event (read_event) */
	acrt__jval keyv; /* its key field (type ACRT__J_ABSENT when missing) */
} agg;

static uint32_t
fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint64_t
num_bits(num x, bool real)
{
	uint64_t u;
	if (!real)
		return (uint64_t)x.i;
	memcpy(&u, &x.d, sizeof u);
	return u;
}

static num
bits_num(uint64_t u, bool real)
{
	num x;
	if (real)
		memcpy(&x.d, &u, sizeof x.d);
	else
		x.i = (int64_t)u;
	return x;
}

static void
encode(agg *a, const win *w)
{
	unsigned char *p = a->val;
	memset(p, 0, a->vlen);
	p[0] = AGG_VERSION;
	p[2] = (unsigned char)(a->n_fields & 0xff);
	p[3] = (unsigned char)(a->n_fields >> 8);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)(a->layout >> (8 * i));
	put64(p + 8, (uint64_t)w->start);
	put64(p + 16, (uint64_t)w->last);
	for (size_t f = 0; f < a->n_fields; f++) {
		unsigned char *r = p + AGG_HEAD + f * AGG_REC;
		const acc *x = &a->accs[f];
		r[0] = (unsigned char)x->flags;
		put64(r + 8, (uint64_t)x->present);
		put64(r + 16, (uint64_t)x->n);
		put64(r + 24, num_bits(x->sum, x->flags & F_SUM_REAL));
		put64(r + 32, num_bits(x->min, x->flags & F_MINMAX_REAL));
		put64(r + 40, num_bits(x->max, x->flags & F_MINMAX_REAL));
	}
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
	for (size_t f = 0; f < a->n_fields; f++) {
		const unsigned char *r = p + AGG_HEAD + f * AGG_REC;
		acc *x = &a->accs[f];
		x->flags = r[0] & (F_SUM_REAL | F_MINMAX_REAL);
		x->present = (int64_t)get64(r + 8);
		x->n = (int64_t)get64(r + 16);
		x->sum = bits_num(get64(r + 24), x->flags & F_SUM_REAL);
		x->min = bits_num(get64(r + 32), x->flags & F_MINMAX_REAL);
		x->max = bits_num(get64(r + 40), x->flags & F_MINMAX_REAL);
	}
	return true;
}

static void
open_window(agg *a, win *w, int64_t start, int64_t t)
{
	w->start = start;
	w->last = t;
	memset(a->accs, 0, a->n_fields * sizeof *a->accs);
}

/* Adds one value of a field. Returns 1 if it was skipped for the numeric ops
 * (absent, null, or not a number), else 0. */
static int
acc_add(acc *x, const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return 1;
	x->present++;
	if (!json_is_number(v))
		return 1;
	bool isint = json_is_integer(v);
	int64_t iv = isint ? (int64_t)json_integer_value(v) : 0;
	double dv = json_number_value(v);
	if (x->n++ == 0) {
		x->flags = isint ? 0 : F_SUM_REAL | F_MINMAX_REAL;
		if (isint)
			x->sum.i = x->min.i = x->max.i = iv;
		else
			x->sum.d = x->min.d = x->max.d = dv;
		return 0;
	}
	int64_t s;
	if (!(x->flags & F_SUM_REAL) && isint && !__builtin_add_overflow(x->sum.i, iv, &s)) {
		x->sum.i = s;
	} else {
		if (!(x->flags & F_SUM_REAL)) { /* a real, or the integer sum overflowed */
			x->sum.d = (double)x->sum.i;
			x->flags |= F_SUM_REAL;
		}
		x->sum.d += dv;
	}
	if (!(x->flags & F_MINMAX_REAL) && isint) {
		if (iv < x->min.i)
			x->min.i = iv;
		if (iv > x->max.i)
			x->max.i = iv;
		return 0;
	}
	if (!(x->flags & F_MINMAX_REAL)) {
		x->min.d = (double)x->min.i;
		x->max.d = (double)x->max.i;
		x->flags |= F_MINMAX_REAL;
	}
	if (dv < x->min.d)
		x->min.d = dv;
	if (dv > x->max.d)
		x->max.d = dv;
	return 0;
}

static json_t *
json_num(num x, bool real)
{
	if (!real)
		return json_integer((json_int_t)x.i);
	return isfinite(x.d) ? json_real(x.d) : json_null();
}

static json_t *
op_value(const acc *x, unsigned op)
{
	if (op == OP_COUNT)
		return json_integer((json_int_t)x->present);
	if (x->n == 0)
		return json_null();
	switch (op) {
	case OP_SUM:
		return json_num(x->sum, x->flags & F_SUM_REAL);
	case OP_MIN:
		return json_num(x->min, x->flags & F_MINMAX_REAL);
	case OP_MAX:
		return json_num(x->max, x->flags & F_MINMAX_REAL);
	default: {
		double s = (x->flags & F_SUM_REAL) ? x->sum.d : (double)x->sum.i;
		num avg = {.d = s / (double)x->n};
		return json_num(avg, true);
	}
	}
}

/* Emits the window in *w and a->accs on `output`. key/klen: the group key's
 * JSON text (its state key), written as is, so a key leaves as it came. */
static int
emit_window(acrt_ctx *ctx, agg *a, const char *key, size_t klen, const win *w)
{
	int64_t end = a->window_ms > 0 ? w->start + a->window_ms : w->last + 1;
	acrt__jbuf b;
	char t[64];
	acrt__jbuf_init(&b);
	acrt__jbuf_put(&b, "{\"key\":", 7);
	acrt__jbuf_put(&b, key, klen);
	acrt__jbuf_put(&b, t,
	               (size_t)snprintf(t, sizeof t, ",\"window_start\":%lld,\"window_end\":%lld",
	                                (long long)w->start, (long long)end));
	for (size_t f = 0; f < a->n_fields; f++)
		for (unsigned i = 0; i < N_OPS; i++) {
			if (a->fields[f].out[i] == NULL)
				continue;
			json_t *v = op_value(&a->accs[f], 1u << i);
			acrt__jbuf_putc(&b, ',');
			acrt__jbuf_string(&b, a->fields[f].out[i], strlen(a->fields[f].out[i]));
			acrt__jbuf_putc(&b, ':');
			if (v == NULL)
				b.ok = 0;
			else
				acrt__jbuf_jansson(&b, v);
			json_decref(v);
		}
	acrt__jbuf_putc(&b, '}');
	size_t len;
	char *text = acrt__jbuf_take(&b, &len);
	acrt_event *ev = text != NULL ? acrt_event_new(ctx, text, len, "application/json") : NULL;
	acrt__free(text);
	if (ev == NULL)
		return acrt_fail(ctx, "out of memory");
	int rc = acrt_emit(ctx, "output", ev);
	return rc == ACRT_ENOENT ? ACRT_OK : rc; /* `output` may be undeclared */
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Keeps the fields the aggregator reads (the key and the op fields) of one
 * top-level field of the event's text. */
static int
pick(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	agg *a = arg;
	if (a->key != NULL && strlen(a->key) == kl && memcmp(a->key, k, kl) == 0)
		a->keyv = *v; /* the last one, if repeated */
	bool want = false;
	for (size_t f = 0; !want && f < a->n_fields; f++)
		want = strlen(a->fields[f].name) == kl && memcmp(a->fields[f].name, k, kl) == 0;
	if (!want)
		return 0;
	json_t *j = acrt__jval_to_jansson(v);
	if (j == NULL || json_object_setn_new(a->picked, k, kl, j) != 0)
		return 2;
	return 0;
}

/* The event's fields the aggregator reads, as a jansson object (borrowed,
 * reused): only those are converted, the rest of the text is skipped. */
static const json_t *
read_event(agg *a, acrt_event *ev, const char **why)
{
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	json_object_clear(a->picked);
	a->keyv.type = ACRT__J_ABSENT;
	int rc = text != NULL ? acrt__json_fields(text, len, cap, pick, a) : 2;
	if (rc == 0)
		return a->picked;
	*why = rc == 1   ? "payload is not a JSON object"
	       : rc == 2 ? "out of memory"
	                 : "payload is not valid JSON";
	return NULL;
}

static int
agg_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	agg *a = self;
	(void)port;
	const char *why = NULL;
	const json_t *in = read_event(a, ev, &why);
	if (in == NULL)
		return acrt__fail_event(ctx, ev, "invalid_events", "%s", why);
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
		if (acc_add(&a->accs[f], json_object_get(in, a->fields[f].name)) &&
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
			size_t n = strlen(fl->name) + strlen(op_names[i]) + 2;
			if ((fl->out[i] = acrt__malloc(n)) == NULL)
				goto nomem;
			snprintf(fl->out[i], n, "%s_%s", fl->name, op_names[i]);
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
	if ((rc = check_restored(ctx, a)) != ACRT_OK) {
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

const acrt_component_desc acrt__aggregator_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Aggregator",
    .props = agg_props,
    .setup = agg_setup,
    .process = agg_process,
    .cleanup = agg_cleanup,
    .finish = agg_finish,
};
