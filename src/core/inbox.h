/*
 * inbox.h - the input side of a consumer group: every transport bound to any
 * input port of one component, and the waitq they all notify. The component's
 * instances (replicas) each receive through their own cursor and share the
 * transports, so every event goes to exactly one instance.
 *
 * The inbox does not own its transports (the runtime does) but owns the waitq.
 */
#ifndef ACRT_INBOX_H
#define ACRT_INBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/transport.h"
#include "core/waitq.h"

typedef struct acrt__inbox {
	acrt__waitq wq;
	acrt__transport **in; /* n transports */
	size_t *port;         /* n: index of the input port each transport feeds */
	size_t n;
	/* Checkpoints (NULL when off): barriers with ids up to *aborted belong to
	 * abandoned checkpoints and are dropped; whoever raises it notifies wq. */
	const _Atomic uint64_t *aborted;
} acrt__inbox;

/* Per-instance receive position: round-robin start, inputs known finished,
 * and the alignment of a checkpoint barrier (Chandy-Lamport, as Flink aligns):
 * an input that has delivered barrier bar_id is blocked, its later events held
 * back in the transport, until every input has delivered it or ended. */
typedef struct acrt__inbox_cursor {
	size_t next;
	size_t n_done;
	bool *done;        /* n entries */
	unsigned consumer; /* this instance's replica index */
	bool *blocked;     /* n entries */
	size_t n_blocked;
	uint64_t bar_id;    /* the barrier being aligned (when n_blocked > 0) */
	uint64_t bar_last;  /* the last barrier that aligned */
	acrt_event *bar_ev; /* its event (one reference), while aligning */
	/* When set, a parked receive returns (EMPTY) so the instance can pause
	 * (hot reload); NULL: never. Points into the instance's acrt_ctx. */
	const _Atomic bool *interrupt;
} acrt__inbox_cursor;

int acrt__inbox_init(acrt__inbox *ib);
/* Adds a transport feeding input port `port`. 0 or -1 on out of memory. */
int acrt__inbox_add(acrt__inbox *ib, acrt__transport *t, size_t port);
void acrt__inbox_destroy(acrt__inbox *ib);

int acrt__inbox_cursor_init(acrt__inbox_cursor *c, const acrt__inbox *ib, unsigned consumer);
void acrt__inbox_cursor_free(acrt__inbox_cursor *c);

/*
 * Receives up to max events, all from one transport (*port says which input
 * port), round-robin over the inputs for fairness. Parks (after a brief spin)
 * while every input is empty. Returns the count (> 0), or 0 with *st = EOS
 * (every input ended and drained), CANCELED, or EMPTY at the deadline; or 1
 * with *st = BARRIER when a checkpoint barrier has aligned: evs[0] is the
 * barrier (the caller's reference), every event before it on every input has
 * been returned, and the inputs are unblocked again.
 */
size_t acrt__inbox_recv(acrt__inbox *ib, acrt__inbox_cursor *c, acrt_event **evs, size_t max,
                        size_t *port, int64_t deadline, acrt__rx_status *st);

/* The consumer of cursor c has processed what it took and its idle hooks ran:
 * tells each input that wants to know (transport.h, processed). */
void acrt__inbox_processed(acrt__inbox *ib, const acrt__inbox_cursor *c);
/* How many events a busy consumer may take between processed() calls: the
 * least processed_every of its inputs; 0 when none asks. */
size_t acrt__inbox_processed_every(const acrt__inbox *ib);

#endif /* ACRT_INBOX_H */
