/*
 * summary.h - what a run did with its events, over every generation of a
 * reloaded run: the figures of the last log line (`system ... finished`) and
 * the exit status they lead to (docs/RELIABILITY.md, "Exit status").
 *
 * An event is lost when a component failed it and no dead letter took it,
 * when a source skipped it as bad input, when a sink accepted it and could
 * not write it, or when a cancel discarded it in flight. A run that ended
 * normally but lost events exits ACRT__EXIT_LOST.
 *
 * Owned by the runtime (acrt__runtime.totals); the supervising thread adds a
 * generation after its threads have ended, so the instances' counters are
 * final. Not thread-safe.
 */
#ifndef ACRT_SUMMARY_H
#define ACRT_SUMMARY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of `acrt run` (docs/CLI.md). */
#define ACRT__EXIT_OK 0     /* ended, and every event reached a sink, a filter or a dead letter */
#define ACRT__EXIT_FAILED 1 /* stopped by a failure, a cancel, or state not stored */
#define ACRT__EXIT_USAGE 2  /* usage error, invalid blueprint, drifted build.lock */
#define ACRT__EXIT_LOST 3   /* ended, but events were lost (the summary says where) */

typedef struct acrt__run_totals {
	uint64_t source_events; /* emitted by components without inputs */
	uint64_t sink_events;   /* received by components with no bound output */
	uint64_t failed;        /* failed by a component or its capabilities */
	uint64_t dead_lettered; /* of those, sent on to a dead letter or a bound
	                         * `error` port */
	uint64_t failed_lost;   /* failed and not sent on (per component) */
	uint64_t skipped_input; /* input a source could not make an event of */
	uint64_t unwritten;     /* accepted by a sink, never written */
	uint64_t discarded;     /* in flight when a cancel stopped the run (in a
	                         * stream, or emitted and not sent) */
	int generations;
	json_t *by_component; /* name -> {failed, dead_lettered, skipped_input,
	                       * unwritten}, only what is not zero */
} acrt__run_totals;

struct acrt__runtime;

/* Adds the generation that just ended (its threads have ended) and the
 * events a cancel discarded in its streams. Returns 0, or -1 out of memory
 * (the figures are still added; only by_component may miss a name). */
int acrt__totals_add(acrt__run_totals *t, struct acrt__runtime *rt, uint64_t discarded);
/* Events lost, as above. */
uint64_t acrt__totals_lost(const acrt__run_totals *t);
/* The figures as log record fields (a new object; NULL out of memory). */
json_t *acrt__totals_json(const acrt__run_totals *t, double seconds);
void acrt__totals_free(acrt__run_totals *t);

#endif /* ACRT_SUMMARY_H */
