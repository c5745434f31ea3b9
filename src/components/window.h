/*
 * window.h - the time side of the Aggregator's event-time windows
 * (docs/COMPONENTS.md, "Event time"): which windows an event time falls in,
 * the watermark, and the order in which open windows close. No component
 * state, no clock of its own: the processing time is always a parameter, so
 * the unit tests drive it by hand (tests/unit/test_event_time.c).
 *
 * Times are ms since the epoch (evtime.h's model); processing time is ns of
 * the runtime's monotonic clock (acrt_now_ns).
 *
 * Windows: tumbling [k*size, (k+1)*size); hopping [k*slide, k*slide + size)
 * for every k with the event inside (size / slide of them, aligned to the
 * epoch); session: [first, last + gap) per group, merged when an event falls
 * within gap of another session. A window [start, end) closes once the
 * watermark is at least end + allowed_lateness.
 *
 * The watermark: the largest event time seen less max_out_of_order; it never
 * goes back. With an idle timeout, once the input has been quiet (nothing
 * waiting) for idle_timeout, the watermark advances with the processing
 * clock, as if the event time went on from the largest seen at the speed of
 * processing time: max_seen - max_out_of_order + (time quiet).
 *
 * Threads: one instance's thread uses its own structs; nothing is shared.
 */
#ifndef ACRT_WINDOW_H
#define ACRT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum acrt__wkind {
	ACRT__WIN_TUMBLING = 1,
	ACRT__WIN_HOPPING = 2,
	ACRT__WIN_SESSION = 3
} acrt__wkind;

typedef struct acrt__wspec {
	acrt__wkind kind;
	int64_t size, slide; /* tumbling: slide == size */
	int64_t gap;         /* session */
} acrt__wspec;

/* The most windows one event may fall in (size / slide, checked by the
 * Aggregator's config check). */
#define ACRT__WIN_MAX_PER_EVENT 1000

/* Tumbling and hopping: the starts of the windows holding t, ascending, into
 * starts[0..max); returns how many (at most ceil(size / slide)). */
size_t acrt__win_assign(const acrt__wspec *w, int64_t t, int64_t *starts, size_t max);

#define ACRT__WM_NONE INT64_MIN

typedef struct acrt__wmark {
	int64_t ooo_ms;      /* max_out_of_order_ms */
	int64_t idle_ns;     /* idle_timeout_ms in ns; 0: never idle */
	int64_t max_seen;    /* largest event time seen, ms; ACRT__WM_NONE before any */
	int64_t wm;          /* the watermark, ms; ACRT__WM_NONE before any event */
	int64_t quiet_since; /* processing ns when the input last went quiet */
	bool arrived;        /* an event came since the input last went quiet */
} acrt__wmark;

void acrt__wm_init(acrt__wmark *m, int64_t ooo_ms, int64_t idle_ms, int64_t now_ns);
/* An event of time t: true when the watermark rose. */
bool acrt__wm_event(acrt__wmark *m, int64_t t);
/* Nothing is waiting at processing time now_ns (the idle hook): notes when
 * the input went quiet and, once quiet for idle_ns, advances the watermark
 * with the processing clock. True when it rose. */
bool acrt__wm_quiet(acrt__wmark *m, int64_t now_ns);
/* The processing time (ns) at which a quiet input's watermark reaches
 * `close` (ms); 0 when it never will (idleness off, or no event yet). */
int64_t acrt__wm_due(const acrt__wmark *m, int64_t close);

/* Open windows by closing time: a binary min-heap ordered by (close, start,
 * group key bytes), which is also the order closed windows are emitted in.
 * An entry may be stale (its window merged away or already closed): the
 * Aggregator checks each popped entry against its state. */
typedef struct acrt__wclose {
	int64_t close, start; /* ms: end + allowed lateness; the window's start */
	char *key;            /* the group key (acrt__malloc'd copy) */
	size_t klen;
} acrt__wclose;

typedef struct acrt__wheap {
	acrt__wclose *e;
	size_t n, cap;
} acrt__wheap;

/* Adds an entry (copies key). 0, or ACRT_ENOMEM. */
int acrt__wheap_push(acrt__wheap *h, int64_t close, int64_t start, const void *key, size_t klen);
/* The first entry, or NULL when empty. */
const acrt__wclose *acrt__wheap_top(const acrt__wheap *h);
/* Removes the first entry into *out (the caller acrt__frees out->key). */
void acrt__wheap_pop(acrt__wheap *h, acrt__wclose *out);
void acrt__wheap_free(acrt__wheap *h);

#endif /* ACRT_WINDOW_H */
