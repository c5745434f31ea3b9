/*
 * linecheck.h - checks a line-reading Source's lines on a second thread while
 * the source's own thread reads the next ones (file and stdin Sources,
 * source.c).
 *
 * Checking that a line is one valid JSON text is most of a passthrough's work
 * (simdjson's parse, about 190 ns for a 230-byte access-log line); reading,
 * splitting and copying the lines into events is the rest. A checker thread
 * takes the first half off the source's thread, so a file -> file run keeps
 * three threads (reader, checker, sink) of about equal weight busy on two
 * cores instead of one overloaded reader.
 *
 * Lines travel in batches (up to LC_BATCH_LINES lines or LC_BATCH_BYTES
 * bytes) through two slots: while the checker checks batch k+1, the source's
 * thread emits batch k (already checked) and fills batch k+2. No batch waits
 * for another at every hand-off, unlike a split of each batch between the two
 * threads (tried first: the reader waited for its helper every few hundred
 * lines, and three busy threads on two cores made that slower than one).
 *
 * Order is kept: items reach `emit` exactly in the order they were added,
 * each once. An item whose line is not valid JSON reaches `emit` with ok = 0
 * and the reason in why, so the source logs it with its line number; its
 * neighbours are not affected.
 *
 * Threads: everything but the check runs on the caller's thread (the source
 * instance's own): add, drain and free, and every call of `emit`. The checker
 * thread only reads the events' bytes and writes ok/why. With one CPU (or
 * when no thread can be had) lines are checked on the caller's thread, at a
 * batch's end.
 */
#ifndef ACRT_LINECHECK_H
#define ACRT_LINECHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"

typedef struct acrt__lc_item {
	acrt_event *ev;  /* the line as a draft event (owned); NULL: a blank line */
	uint64_t lineno; /* the line's number in its file */
	uint64_t end;    /* the read position after the line (what a checkpoint saves) */
	int ok;          /* set by the check: 1 one valid JSON text, 0 not */
	char why[112];   /* ok == 0: the reason */
} acrt__lc_item;

/* Called in order for every item added; it owns it->ev from then on (emits
 * or unrefs it). A non-zero return stops the emitting: the events not yet
 * emitted are unref'd by acrt__lc_free. */
typedef int (*acrt__lc_emit_fn)(void *arg, acrt__lc_item *it);

typedef struct acrt__linecheck acrt__linecheck;

/* name: the checker thread's name (up to 15 bytes are kept). NULL when out
 * of memory. */
acrt__linecheck *acrt__lc_new(const char *name, acrt__lc_emit_fn emit, void *arg);
/* Adds one line of len bytes (ev NULL for a blank line) behind the others; may emit
 * earlier ones. Takes ev in every case. Returns 0 or the first non-zero
 * result of `emit`. */
int acrt__lc_add(acrt__linecheck *lc, acrt_event *ev, size_t len, uint64_t lineno, uint64_t end);
/* Checks and emits every line added so far (before the source waits for
 * input, at the end, and before a rotation or a skipped line is reported).
 * Returns 0 or the first non-zero result of `emit`. */
int acrt__lc_drain(acrt__linecheck *lc);
/* Stops the checker thread and unrefs every event not emitted. NULL is fine. */
void acrt__lc_free(acrt__linecheck *lc);

#endif /* ACRT_LINECHECK_H */
