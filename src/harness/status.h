/*
 * status.h - the live status line of `acrt run` on a terminal: events in and
 * out per second and events in flight, redrawn by the supervising thread.
 * Reads the instances' relaxed counters and the transports' stats; never
 * blocks a component.
 */
#ifndef ACRT_STATUS_H
#define ACRT_STATUS_H

#include <stdint.h>

#include "harness/runtime.h"

typedef struct acrt__status {
	int64_t last_ns;
	uint64_t last_in, last_out;
} acrt__status;

void acrt__status_init(acrt__status *st, acrt__runtime *rt);
/* Redraws at most every 250 ms. */
void acrt__status_tick(acrt__status *st, acrt__runtime *rt);
/* System totals: events into sinks (and other consumers), out of every
 * component, and failed events. `in` counts events received by components
 * without outputs; `out` counts events emitted by sources. */
void acrt__status_totals(acrt__runtime *rt, uint64_t *in, uint64_t *out, uint64_t *errors);

#endif /* ACRT_STATUS_H */
