/*
 * dedup.c - the built-in Dedup: drops the events whose key was seen before,
 * within a window. docs/COMPONENTS.md has the user's side.
 *
 *   key: FIELD or .a.b      the key (a top-level field, or a path of object
 *                           keys); an event without it is keyed by its whole
 *                           text, as the original's StreamProcessor does
 *   window_ms: T            a key is a duplicate only within T ms (event time:
 *                           acrt_event_time_ns, or time_field's) after the
 *                           event that passed
 *   time_field: F           the event's time from its top-level field F
 *   time_format: auto       rfc3339 | epoch_s | epoch_ms | auto (evtime.h); an
 *                           event without a valid time fails (`invalid_time`)
 *   max_keys: N (100000)    the most keys remembered: past it, the oldest
 *                           is forgotten (the window by count)
 *
 * Events that pass go on unchanged (no copy) on each of `ports` (default
 * `output`); duplicates are
 * dropped and counted (`duplicates`). A payload that is not valid JSON fails
 * (port `error`, counter `invalid_events`).
 *
 * State: managed keyed state (acrt_state_*), so checkpoints capture the seen
 * keys and --resume restores them. Entry key: the key's text
 * (acrt__key_of_value: a value's exact text, or the whole event's text);
 * entry value, 16 bytes little-endian: [0..8) the sequence number of its
 * first sighting (1, 2, ...), [8..16) its event time in ms. Beside it, in
 * memory only, a FIFO of the keys in sequence order, rebuilt from the state at
 * setup, tells which key is the oldest. Both hold at most max_keys entries.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "components/evtime.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"

#define DEDUP_MAX_DEPTH 16

static const char *const dedup_time_formats[] = {"auto", "rfc3339", "epoch_s", "epoch_ms", NULL};

static const acrt_prop dedup_props[] = {
    {"key", ACRT_PROP_STRING, 0, 0, 0, NULL,
     "field or .path of the key (absent, or missing in an event: the whole event)"},
    {"window_ms", ACRT_PROP_INT, 0, 1, 9007199254740992.0, NULL,
     "a key repeats only within this many ms of event time (absent: no time limit)"},
    {"time_field", ACRT_PROP_STRING, 0, 0, 0, NULL,
     "the event's time from this top-level field (absent: the time it entered acrt)"},
    {"time_format", ACRT_PROP_STRING, 0, 0, 0, dedup_time_formats,
     "time_field's format: auto (default) | rfc3339 | epoch_s | epoch_ms"},
    {"max_keys", ACRT_PROP_INT, 0, 1, 100000000, NULL,
     "keys remembered; past it the oldest is forgotten (100000)"},
    {"ports", ACRT_PROP_ARRAY, 0, 0, 0, NULL, "output ports each event goes on ([output])"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

/* The path of `key`: "f" or ".a.b" into segments (borrowed into buf). */
static size_t
split_path(const char *key, char *buf, size_t cap, const char **segs, size_t *lens)
{
	size_t n = 0;
	snprintf(buf, cap, "%s", key[0] == '.' ? key + 1 : key);
	for (char *p = buf; n < DEDUP_MAX_DEPTH;) {
		char *dot = strchr(p, '.');
		segs[n] = p;
		lens[n] = dot != NULL ? (size_t)(dot - p) : strlen(p);
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return n;
}

int
acrt__dedup_check(const json_t *config, const char **key, char *msg, size_t len)
{
	const char *k = json_string_value(json_object_get(config, "key"));
	if (k == NULL)
		return acrt__ports_check(config, key, msg, len);
	*key = "key";
	size_t n = strlen(k);
	bool ok = n > 0 && n < 256 && strcmp(k, ".") != 0 && k[n - 1] != '.' &&
	          strstr(k + (k[0] == '.'), "..") == NULL && strstr(k, "..") == NULL;
	size_t dots = 0;
	for (const char *p = k + (k[0] == '.'); *p; p++)
		dots += *p == '.';
	if (!ok || dots >= DEDUP_MAX_DEPTH) {
		snprintf(msg, len,
		         "expected a field name or a path of at most %d keys (.a.b), not '%s'",
		         DEDUP_MAX_DEPTH, k);
		return -1;
	}
	return acrt__ports_check(config, key, msg, len);
}

typedef struct fifo_key {
	char *k;
	size_t klen;
	uint64_t seq;
	int64_t t_ms;
} fifo_key;

typedef struct dedup {
	const char *segs[DEDUP_MAX_DEPTH];
	size_t lens[DEDUP_MAX_DEPTH];
	size_t nsegs; /* 0: the whole event is the key */
	char pathbuf[256];
	int64_t window_ms;      /* 0: none */
	const char *time_field; /* NULL: the time the event entered acrt (config's) */
	acrt__tfmt tfmt;
	size_t max_keys;
	/* The FIFO: a ring of cap slots (growing to max_keys), oldest at head.
	 * An entry whose key was seen again past the window is stale: its key's
	 * state holds a newer sequence number, and popping it leaves that alone. */
	fifo_key *q;
	size_t cap, head, n;
	uint64_t next_seq;
	const char **ports; /* `ports`, borrowed from the config */
	size_t n_ports;
} dedup;

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

/* Pops the oldest entry of the FIFO, and forgets its key unless the key was
 * remembered again since (a newer sequence number in state). */
static void
pop_oldest(acrt_ctx *ctx, dedup *d)
{
	fifo_key *f = &d->q[d->head];
	const void *v;
	size_t vlen;
	if (acrt_state_get(ctx, f->k, f->klen, &v, &vlen) == ACRT_OK && vlen == 16 &&
	    get64(v) == f->seq)
		(void)acrt_state_del(ctx, f->k, f->klen);
	acrt__free(f->k);
	f->k = NULL;
	d->head = (d->head + 1) % d->cap;
	d->n--;
}

/* Room for one more entry: the ring doubles up to max_keys, then the oldest
 * goes. 0, or -1 when out of memory. */
static int
make_room(acrt_ctx *ctx, dedup *d)
{
	if (d->n < d->cap)
		return 0;
	if (d->cap >= d->max_keys) {
		pop_oldest(ctx, d);
		return 0;
	}
	size_t cap = d->cap ? 2 * d->cap : 64;
	if (cap > d->max_keys)
		cap = d->max_keys;
	fifo_key *q = acrt__malloc(cap * sizeof *q);
	if (q == NULL)
		return -1;
	for (size_t i = 0; i < d->n; i++)
		q[i] = d->q[(d->head + i) % d->cap];
	acrt__free(d->q);
	d->q = q;
	d->cap = cap;
	d->head = 0;
	return 0;
}

static int
remember(acrt_ctx *ctx, dedup *d, const char *k, size_t klen, int64_t t_ms)
{
	if (make_room(ctx, d) < 0)
		return acrt_fail(ctx, "out of memory");
	char *copy = acrt__malloc(klen + 1);
	if (copy == NULL)
		return acrt_fail(ctx, "out of memory");
	memcpy(copy, k, klen);
	copy[klen] = '\0';
	unsigned char v[16];
	uint64_t seq = d->next_seq++;
	put64(v, seq);
	put64(v + 8, (uint64_t)t_ms);
	if (acrt_state_put(ctx, k, klen, v, sizeof v) != ACRT_OK) {
		acrt__free(copy);
		return acrt_fail(ctx, "out of memory (state)");
	}
	d->q[(d->head + d->n) % d->cap] = (fifo_key){copy, klen, seq, t_ms};
	d->n++;
	return ACRT_OK;
}

static int
dedup_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	dedup *d = self;
	(void)port;
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	if (text == NULL)
		return acrt_fail(ctx, "out of memory");
	acrt__jval kv = {.type = ACRT__J_ABSENT};
	if (d->nsegs > 0) {
		int lr = acrt__json_lookup(text, len, cap, d->segs, d->lens, d->nsegs, &kv);
		if (lr < 0)
			return acrt__fail_event(ctx, ev, "invalid_events",
			                        "payload is not valid JSON");
		if (lr > 0)
			kv.type = ACRT__J_ABSENT; /* a step through a non-object: no key */
	} else {
		char why[128];
		if (acrt__json_check(text, len, cap, why, sizeof why) != 0)
			return acrt__fail_event(ctx, ev, "invalid_events",
			                        "payload is not valid JSON (%s)", why);
	}
	int64_t t = acrt_event_time_ns(ev) / 1000000;
	if (d->time_field != NULL) { /* the event's own time */
		const char *seg = d->time_field;
		size_t slen = strlen(seg);
		acrt__jval tv = {.type = ACRT__J_ABSENT};
		char why[200];
		int lr = acrt__json_lookup(text, len, cap, &seg, &slen, 1, &tv);
		if (lr > 0)
			tv.type = ACRT__J_ABSENT;
		if (lr < 0 || acrt__time_of_value(&tv, d->tfmt, &t, why, sizeof why) != 0)
			return acrt__fail_event(ctx, ev, "invalid_time", "time_field '%s': %s",
			                        d->time_field, lr < 0 ? "not valid JSON" : why);
	}
	/* With a window, the keys that left it are forgotten first. */
	while (d->window_ms > 0 && d->n > 0 && t - d->q[d->head].t_ms >= d->window_ms)
		pop_oldest(ctx, d);
	char kbuf[ACRT__KEY_INLINE];
	char *kheap = NULL;
	size_t klen = len;
	const char *k = text; /* no key: the whole event */
	if (kv.type != ACRT__J_ABSENT &&
	    (k = acrt__key_of_value(&kv, kbuf, sizeof kbuf, &kheap, &klen)) == NULL)
		return acrt_fail(ctx, "out of memory");
	const void *old;
	size_t olen;
	int rc = ACRT_OK;
	if (acrt_state_get(ctx, k, klen, &old, &olen) == ACRT_OK && olen == 16 &&
	    (d->window_ms == 0 ||
	     t - (int64_t)get64((const unsigned char *)old + 8) < d->window_ms)) {
		acrt_count(ctx, "duplicates", 1);
		goto out;
	}
	if ((rc = remember(ctx, d, k, klen, t)) == ACRT_OK)
		rc = acrt__ports_emit(ctx, d->ports, d->n_ports, acrt_event_ref(ev));
out:
	acrt__free(kheap);
	return rc;
}

/* ---- Setup: the FIFO rebuilt from restored state ---------------------------- */

typedef struct restored {
	fifo_key *v;
	size_t n, cap;
	bool oom;
} restored;

static int
collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	restored *r = arg;
	if (vlen != 16)
		return 0; /* not ours: left alone, never a duplicate */
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		fifo_key *v = acrt__realloc(r->v, cap * sizeof *v);
		if (v == NULL)
			return r->oom = true, 1;
		r->v = v;
		r->cap = cap;
	}
	char *k = acrt__malloc(klen + 1);
	if (k == NULL)
		return r->oom = true, 1;
	memcpy(k, key, klen);
	k[klen] = '\0';
	r->v[r->n++] =
	    (fifo_key){k, klen, get64(val), (int64_t)get64((const unsigned char *)val + 8)};
	return 0;
}

static int
seq_cmp(const void *x, const void *y)
{
	uint64_t a = ((const fifo_key *)x)->seq, b = ((const fifo_key *)y)->seq;
	return (a > b) - (a < b);
}

static void
dedup_cleanup(acrt_ctx *ctx, void *self)
{
	dedup *d = self;
	(void)ctx;
	if (d == NULL)
		return;
	for (size_t i = 0; d->q != NULL && i < d->n; i++)
		acrt__free(d->q[(d->head + i) % d->cap].k);
	acrt__free(d->q);
	acrt__free(d->ports);
	acrt__free(d);
}

static int
dedup_setup(acrt_ctx *ctx, void **self)
{
	dedup *d = acrt__calloc(1, sizeof *d);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	const char *key = acrt_config_string(ctx, "key", NULL);
	if (key != NULL)
		d->nsegs = split_path(key, d->pathbuf, sizeof d->pathbuf, d->segs, d->lens);
	d->window_ms = acrt_config_int(ctx, "window_ms", 0);
	d->time_field = acrt_config_string(ctx, "time_field", NULL);
	int tf = acrt__tfmt_parse(acrt_config_string(ctx, "time_format", "auto"));
	d->tfmt = tf < 0 ? ACRT__TF_AUTO : (acrt__tfmt)tf;
	d->max_keys = (size_t)acrt_config_int(ctx, "max_keys", 100000);
	d->next_seq = 1;
	restored r = {0};
	if (acrt__ports_read(ctx, "output", &d->ports, &d->n_ports) != ACRT_OK) {
		acrt__free(d);
		return ACRT_ERR;
	}
	if (acrt_state_count(ctx) > 0 && (acrt_state_iter(ctx, collect, &r), r.oom))
		goto nomem;
	if (r.n > 1)
		qsort(r.v, r.n, sizeof *r.v, seq_cmp);
	/* The newest max_keys are kept (the config may have lowered it). */
	size_t skip = r.n > d->max_keys ? r.n - d->max_keys : 0;
	if (r.n - skip > 0) {
		d->cap = r.n - skip;
		if ((d->q = acrt__malloc(d->cap * sizeof *d->q)) == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < r.n; i++) {
		if (i < skip) {
			(void)acrt_state_del(ctx, r.v[i].k, r.v[i].klen);
			acrt__free(r.v[i].k);
			continue;
		}
		d->q[d->n++] = r.v[i];
		if (r.v[i].seq >= d->next_seq)
			d->next_seq = r.v[i].seq + 1;
	}
	acrt__free(r.v);
	if (r.n > 0)
		acrt_log(ctx, ACRT_LOG_INFO, "resumed with %zu seen key(s)", d->n);
	*self = d;
	return ACRT_OK;
nomem:
	for (size_t i = 0; i < r.n; i++)
		acrt__free(r.v[i].k);
	acrt__free(r.v);
	dedup_cleanup(ctx, d);
	return acrt_fail(ctx, "out of memory");
}

const acrt_component_desc acrt__dedup_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Dedup",
    .props = dedup_props,
    .setup = dedup_setup,
    .process = dedup_process,
    .cleanup = dedup_cleanup,
};
