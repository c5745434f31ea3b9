/*
 * aggacc.c - the Aggregator's accumulators (aggregator.h): one per field and
 * window, kept in state as a 48-byte record (the layout is at the top of
 * aggregator.c), added to one value at a time, merged when session windows
 * meet, and written out as one row. Also the reading of an event's fields.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "components/aggregator.h"
#include "core/common.h"
#include "core/event.h"

enum { F_SUM_REAL = 1, F_MINMAX_REAL = 2 };

static const char *const op_names[ACRT__AGG_N_OPS] = {"count", "sum", "min", "max", "avg"};

uint32_t
acrt__agg_fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

int64_t
acrt__agg_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void
acrt__agg_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t
acrt__agg_get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint64_t
num_bits(acrt__agg_num x, bool real)
{
	uint64_t u;
	if (!real)
		return (uint64_t)x.i;
	memcpy(&u, &x.d, sizeof u);
	return u;
}

static acrt__agg_num
bits_num(uint64_t u, bool real)
{
	acrt__agg_num x;
	if (real)
		memcpy(&x.d, &u, sizeof x.d);
	else
		x.i = (int64_t)u;
	return x;
}

void
acrt__agg_rec_put(unsigned char *r, const acrt__agg_acc *x)
{
	memset(r, 0, ACRT__AGG_REC);
	r[0] = (unsigned char)x->flags;
	acrt__agg_put64(r + 8, (uint64_t)x->present);
	acrt__agg_put64(r + 16, (uint64_t)x->n);
	acrt__agg_put64(r + 24, num_bits(x->sum, x->flags & F_SUM_REAL));
	acrt__agg_put64(r + 32, num_bits(x->min, x->flags & F_MINMAX_REAL));
	acrt__agg_put64(r + 40, num_bits(x->max, x->flags & F_MINMAX_REAL));
}

void
acrt__agg_rec_get(acrt__agg_acc *x, const unsigned char *r)
{
	x->flags = r[0] & (F_SUM_REAL | F_MINMAX_REAL);
	x->present = (int64_t)acrt__agg_get64(r + 8);
	x->n = (int64_t)acrt__agg_get64(r + 16);
	x->sum = bits_num(acrt__agg_get64(r + 24), x->flags & F_SUM_REAL);
	x->min = bits_num(acrt__agg_get64(r + 32), x->flags & F_MINMAX_REAL);
	x->max = bits_num(acrt__agg_get64(r + 40), x->flags & F_MINMAX_REAL);
}

/* Adds a number to an accumulator that already holds one (n >= 1). */
static void
acc_num(acrt__agg_acc *x, bool isint, int64_t iv, double dv)
{
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
}

static void
acc_minmax(acrt__agg_acc *x, bool isint, int64_t imin, int64_t imax, double dmin, double dmax)
{
	if (!(x->flags & F_MINMAX_REAL) && isint) {
		if (imin < x->min.i)
			x->min.i = imin;
		if (imax > x->max.i)
			x->max.i = imax;
		return;
	}
	if (!(x->flags & F_MINMAX_REAL)) {
		x->min.d = (double)x->min.i;
		x->max.d = (double)x->max.i;
		x->flags |= F_MINMAX_REAL;
	}
	if (dmin < x->min.d)
		x->min.d = dmin;
	if (dmax > x->max.d)
		x->max.d = dmax;
}

int
acrt__agg_acc_add(acrt__agg_acc *x, const json_t *v)
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
	acc_num(x, isint, iv, dv);
	acc_minmax(x, isint, iv, iv, dv, dv);
	return 0;
}

void
acrt__agg_acc_merge(acrt__agg_acc *into, const acrt__agg_acc *from)
{
	into->present += from->present;
	if (from->n == 0)
		return;
	if (into->n == 0) {
		int64_t present = into->present;
		*into = *from;
		into->present = present;
		return;
	}
	into->n += from->n;
	bool sreal = from->flags & F_SUM_REAL;
	acc_num(into, !sreal, sreal ? 0 : from->sum.i, sreal ? from->sum.d : (double)from->sum.i);
	bool mreal = from->flags & F_MINMAX_REAL;
	acc_minmax(into, !mreal, mreal ? 0 : from->min.i, mreal ? 0 : from->max.i,
	           mreal ? from->min.d : (double)from->min.i,
	           mreal ? from->max.d : (double)from->max.i);
}

uint64_t
acrt__agg_recs_add(const acrt__agg *a, unsigned char *recs, const json_t *in)
{
	uint64_t skipped = 0;
	for (size_t f = 0; f < a->n_fields; f++) {
		acrt__agg_acc x;
		unsigned char *r = recs + f * ACRT__AGG_REC;
		acrt__agg_rec_get(&x, r);
		if (acrt__agg_acc_add(&x, json_object_get(in, a->fields[f].name)) &&
		    (a->fields[f].ops & ACRT__OP_NUMERIC))
			skipped++;
		acrt__agg_rec_put(r, &x);
	}
	return skipped;
}

static json_t *
json_num(acrt__agg_num x, bool real)
{
	if (!real)
		return json_integer((json_int_t)x.i);
	return isfinite(x.d) ? json_real(x.d) : json_null();
}

static json_t *
op_value(const acrt__agg_acc *x, unsigned op)
{
	if (op == ACRT__OP_COUNT)
		return json_integer((json_int_t)x->present);
	if (x->n == 0)
		return json_null();
	switch (op) {
	case ACRT__OP_SUM:
		return json_num(x->sum, x->flags & F_SUM_REAL);
	case ACRT__OP_MIN:
		return json_num(x->min, x->flags & F_MINMAX_REAL);
	case ACRT__OP_MAX:
		return json_num(x->max, x->flags & F_MINMAX_REAL);
	default: {
		double s = (x->flags & F_SUM_REAL) ? x->sum.d : (double)x->sum.i;
		acrt__agg_num avg = {.d = s / (double)x->n};
		return json_num(avg, true);
	}
	}
}

int
acrt__agg_emit(acrt_ctx *ctx, const acrt__agg *a, const char *key, size_t klen, int64_t start,
               int64_t end, const acrt__agg_acc *accs)
{
	acrt__jbuf b;
	char t[64];
	acrt__jbuf_init(&b);
	acrt__jbuf_put(&b, "{\"key\":", 7);
	acrt__jbuf_put(&b, key, klen);
	acrt__jbuf_put(&b, t,
	               (size_t)snprintf(t, sizeof t, ",\"window_start\":%lld,\"window_end\":%lld",
	                                (long long)start, (long long)end));
	for (size_t f = 0; f < a->n_fields; f++)
		for (unsigned i = 0; i < ACRT__AGG_N_OPS; i++) {
			if (a->fields[f].out[i] == NULL)
				continue;
			json_t *v = op_value(&accs[f], 1u << i);
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

static bool
is_name(const char *name, size_t len, const char *k, size_t kl)
{
	return name != NULL && len == kl && memcmp(name, k, kl) == 0;
}

/* Keeps the fields the aggregator reads (the key, the time and the op
 * fields) of one top-level field of the event's text. */
static int
pick(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	acrt__agg *a = arg;
	if (is_name(a->key, a->key_len, k, kl))
		a->keyv = *v; /* the last one, if repeated */
	if (is_name(a->time_field, a->time_len, k, kl))
		a->timev = *v;
	bool want = false;
	for (size_t f = 0; !want && f < a->n_fields; f++)
		want = is_name(a->fields[f].name, a->fields[f].len, k, kl);
	if (!want)
		return 0;
	json_t *j = acrt__jval_to_jansson(v);
	if (j == NULL || json_object_setn_new(a->picked, k, kl, j) != 0)
		return 2;
	return 0;
}

const json_t *
acrt__agg_read(acrt__agg *a, acrt_event *ev, const char **why)
{
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	json_object_clear(a->picked);
	a->keyv.type = ACRT__J_ABSENT;
	a->timev.type = ACRT__J_ABSENT;
	a->timev.raw = "";
	a->timev.raw_len = 0;
	int rc = text != NULL ? acrt__json_fields(text, len, cap, pick, a) : 2;
	if (rc == 0)
		return a->picked;
	*why = rc == 1   ? "payload is not a JSON object"
	       : rc == 2 ? "out of memory"
	                 : "payload is not valid JSON";
	return NULL;
}

const char *
acrt__agg_op_name(unsigned i)
{
	return i < ACRT__AGG_N_OPS ? op_names[i] : NULL;
}
