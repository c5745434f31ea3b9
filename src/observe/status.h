/*
 * status.h - the live status line of `acrt run` on a terminal: events in and
 * out per second and events in flight, redrawn every 250 ms by the
 * supervising thread as one of its services (runtime/service.h). Reads the
 * instances' relaxed counters and the streams' stats; never blocks a
 * component.
 */
#ifndef ACRT_STATUS_H
#define ACRT_STATUS_H

#include <stdint.h>

#include "runtime/query.h"
#include "runtime/service.h"

typedef struct acrt__status {
	acrt__runtime *rt; /* between start and stop */
	int64_t last_ns;
	uint64_t last_in, last_out;
} acrt__status;

/* The service: `arg` is an acrt__status, zeroed by its owner. */
extern const acrt__service acrt__status_service;

#endif /* ACRT_STATUS_H */
