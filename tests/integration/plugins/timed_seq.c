/*
 * timed_seq - a test source that emits {"seq": n, "t_ms": T} for n = 1..count,
 * one every `interval_us` microseconds, where T is the event's own event time
 * (acrt_event_time_ns, in ms, floored). A time-windowed test can then compute
 * from the output alone which window each event belongs to, exactly.
 *
 * The time is known only once the event exists, so it is written into the
 * event's JSON while the event is still a draft (not emitted, so no one else
 * can see it; its payload bytes are serialised later, from the JSON).
 */
#include <jansson.h>
#include <stdint.h>

#include "acrt/acrt.h"

static const acrt_prop timed_seq_props[] = {
    {"count", ACRT_PROP_INT, 1, 1, 1e9, NULL, "events to emit"},
    {"interval_us", ACRT_PROP_INT, 0, 0, 1e9, NULL, "pause between events (default 1000)"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

static int64_t
floor_ms(int64_t ns)
{
	int64_t q = ns / 1000000;
	return ns % 1000000 < 0 ? q - 1 : q;
}

static int
timed_seq_run(acrt_ctx *ctx, void *self)
{
	(void)self;
	int64_t count = acrt_config_int(ctx, "count", 1);
	int64_t every = acrt_config_int(ctx, "interval_us", 1000) * 1000;
	int64_t start = acrt_now_ns(ctx);
	for (int64_t n = 1; n <= count; n++) {
		if (acrt_stopping(ctx))
			return ACRT_OK;
		int64_t due = start + (n - 1) * every;
		if (every > 0 && acrt_now_ns(ctx) < due) {
			int rc = acrt_sleep_until(ctx, due);
			if (rc != ACRT_OK)
				return rc == ACRT_ESTOPPING ? ACRT_OK : rc;
		}
		json_t *o = json_pack("{s:I}", "seq", (json_int_t)n);
		if (o == NULL)
			return acrt_fail(ctx, "out of memory");
		json_t *keep = json_incref(o); /* to add t_ms once the event has its time */
		acrt_event *ev = acrt_event_new_json(ctx, o);
		if (ev == NULL) {
			json_decref(keep);
			return acrt_fail(ctx, "out of memory");
		}
		int set = json_object_set_new(
		    keep, "t_ms", json_integer((json_int_t)floor_ms(acrt_event_time_ns(ev))));
		json_decref(keep);
		if (set != 0) {
			acrt_event_unref(ev);
			return acrt_fail(ctx, "out of memory");
		}
		int rc = acrt_emit(ctx, "output", ev);
		if (rc != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

/* Exported even under -fvisibility=hidden. */
ACRT_API const acrt_component_desc timed_seq = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "timed_seq",
    .props = timed_seq_props,
    .run = timed_seq_run,
};
