/*
 * aggregator.h - the built-in Aggregator's insides, shared by its files:
 * aggregator.c (config, setup, the processing-time windows), aggacc.c (the
 * accumulators, their 48-byte records, reading an event, emitting a row) and
 * agg_time.c (the event-time windows: time_field, watermarks, lateness,
 * tumbling, hopping and session windows). For those files only.
 *
 * Threads: an acrt__agg belongs to one instance and is used on its thread
 * (setup, restore and cleanup on the main thread, as acrt.h says).
 */
#ifndef ACRT_AGGREGATOR_H
#define ACRT_AGGREGATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "components/evtime.h"
#include "components/window.h"
#include "core/json.h"

#define ACRT__AGG_REC 48 /* bytes of one field's accumulator record */
#define ACRT__AGG_MAX_FIELDS 256
#define ACRT__AGG_N_OPS 5

enum {
	ACRT__OP_COUNT = 1,
	ACRT__OP_SUM = 2,
	ACRT__OP_MIN = 4,
	ACRT__OP_MAX = 8,
	ACRT__OP_AVG = 16
};
#define ACRT__OP_NUMERIC (ACRT__OP_SUM | ACRT__OP_MIN | ACRT__OP_MAX | ACRT__OP_AVG)

typedef union acrt__agg_num {
	int64_t i;
	double d;
} acrt__agg_num;

/* One field's accumulator, decoded from its 48-byte record. */
typedef struct acrt__agg_acc {
	unsigned flags; /* 1: the sum is a real; 2: min and max are reals */
	int64_t present, n;
	acrt__agg_num sum, min, max;
} acrt__agg_acc;

typedef struct acrt__agg_field {
	const char *name; /* borrowed from the config */
	size_t len;       /* strlen(name) */
	unsigned ops;
	char *out[ACRT__AGG_N_OPS]; /* "<field>_<op>" for each op in ops, else NULL */
} acrt__agg_field;

typedef struct acrt__agg {
	const char *key;          /* the grouping field, or NULL: one group */
	size_t key_len, time_len; /* strlen of key and time_field (0 when NULL) */
	int64_t window_ms;        /* 0: one window for the whole stream */
	acrt__agg_field *fields;  /* sorted by name */
	size_t n_fields;
	uint32_t layout; /* hash of what the state layout depends on */
	size_t vlen;     /* processing time: bytes of one state value */
	unsigned char *val;
	acrt__agg_acc *accs;    /* the window being updated or emitted */
	json_t *picked;         /* the op fields of the current event (acrt__agg_read) */
	acrt__jval keyv;        /* its key field (type ACRT__J_ABSENT when missing) */
	acrt__jval timev;       /* its time field (the same) */
	bool et;                /* event-time windows (agg_time.c) */
	const char *time_field; /* NULL: the time the event entered acrt */
	acrt__tfmt tfmt;
	acrt__wspec win;
	int64_t lateness; /* allowed_lateness_ms */
	acrt__wmark wm;
	acrt__wheap heap; /* every open window, by closing time */
	int64_t *starts;  /* acrt__win_assign's output */
	size_t max_starts;
	unsigned char *buf; /* a group's state value being edited */
	size_t buflen, bufcap;
} acrt__agg;

/* ---- aggacc.c ---- */
void acrt__agg_put64(unsigned char *p, uint64_t v);
uint64_t acrt__agg_get64(const unsigned char *p);
/* A field's record r[0..48) from/to an accumulator. */
void acrt__agg_rec_put(unsigned char *r, const acrt__agg_acc *x);
void acrt__agg_rec_get(acrt__agg_acc *x, const unsigned char *r);
/* Adds one value (NULL: absent). Returns 1 if it was skipped for the numeric
 * ops (absent, null, or not a number), else 0. */
int acrt__agg_acc_add(acrt__agg_acc *x, const json_t *v);
/* Folds `from` into `into` (session windows that merge). */
void acrt__agg_acc_merge(acrt__agg_acc *into, const acrt__agg_acc *from);
/* Adds the event's fields (in: acrt__agg_read's object) to the records at
 * recs (one per field, consecutive); returns the values skipped for numeric ops. */
uint64_t acrt__agg_recs_add(const acrt__agg *a, unsigned char *recs, const json_t *in);
/* The fields of ev the aggregator reads (the op fields as a jansson object,
 * borrowed and reused; the key and time fields into a->keyv, a->timev), or
 * NULL with a reason. */
const json_t *acrt__agg_read(acrt__agg *a, acrt_event *ev, const char **why);
/* Emits one row on `output` for the accumulators accs[0..n_fields):
 * {"key": K, "window_start": S, "window_end": E, "<field>_<op>": V, ...}.
 * key/klen: the group key's JSON text, written as is. */
int acrt__agg_emit(acrt_ctx *ctx, const acrt__agg *a, const char *key, size_t klen, int64_t start,
                   int64_t end, const acrt__agg_acc *accs);
/* "count", "sum", "min", "max", "avg" for bit i of the ops. */
const char *acrt__agg_op_name(unsigned i);
uint32_t acrt__agg_fnv(uint32_t h, const void *p, size_t n);
int64_t acrt__agg_floor_div(int64_t a, int64_t b);

/* ---- agg_time.c ---- */
/* The event-time keys' cross checks (acrt__aggregator_check's contract). */
int acrt__aggt_check(const json_t *config, const char **key, char *msg, size_t len);
/* Setup of the event-time side (a->et set): reads its config, checks the
 * restored state, builds the close heap. ACRT_OK, else an error in err. */
int acrt__aggt_setup(acrt_ctx *ctx, acrt__agg *a, char *err, size_t errlen);
int acrt__aggt_process(acrt_ctx *ctx, acrt__agg *a, acrt_event *ev, const json_t *in);
int acrt__aggt_idle(acrt_ctx *ctx, acrt__agg *a);
int acrt__aggt_finish(acrt_ctx *ctx, acrt__agg *a);
int acrt__aggt_snapshot(acrt__agg *a, void **buf, size_t *len);
int acrt__aggt_restore(acrt_ctx *ctx, acrt__agg *a, const void *buf, size_t len);
void acrt__aggt_free(acrt__agg *a);

#endif /* ACRT_AGGREGATOR_H */
