/*
 * linecheck.h - checks batches of JSON lines on two threads, for the file and
 * stdin sources.
 *
 * Checking that every line is one valid JSON text (core/json.h) is most of a
 * line-reading source's work: about 0.6 GB/s per core on 240-byte lines, half
 * the speed of writing them out again. A batch of lines is split in two: the
 * source's own thread checks one half while a helper thread checks the other,
 * so validation uses both cores (the rest of the pipeline runs on the
 * source's downstream thread: the source is never chained, wiring.c).
 *
 * Owned by one source instance: acrt__lc_new and acrt__lc_free on its
 * thread (the helper is started on the first large batch and joined by
 * acrt__lc_free, so it never outlives the source's run), acrt__lc_check from
 * that thread only. The helper blocks nothing but itself; acrt__lc_check
 * waits for its half, which takes microseconds.
 */
#ifndef ACRT_LINECHECK_H
#define ACRT_LINECHECK_H

#include <stddef.h>
#include <stdint.h>

/* One line of a batch: filled by the caller (p, len, cap), then ok and why
 * by acrt__lc_check. */
typedef struct acrt__lc_line {
	const char *p;
	size_t len, cap; /* cap: readable bytes from p (json.h) */
	uint64_t lineno, end_offset;
	int ok;
	char why[96];
} acrt__lc_line;

typedef struct acrt__linecheck acrt__linecheck;

/* NULL on out of memory. name: the helper thread's name (truncated to 15). */
acrt__linecheck *acrt__lc_new(const char *name);
void acrt__lc_free(acrt__linecheck *lc);
/* Checks lines[0..n): on two threads when the batch is large enough (and the
 * helper could be started), else on this one. */
void acrt__lc_check(acrt__linecheck *lc, acrt__lc_line *lines, size_t n);

#endif /* ACRT_LINECHECK_H */
