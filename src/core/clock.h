/*
 * clock.h - a cheap wall clock for event timestamps.
 *
 * clock_gettime() costs ~20 ns through the vDSO; at ten million events a
 * second that is a fifth of a core. On x86-64 with an invariant TSC this
 * clock reads the TSC (~9 ns) and converts it with a per-thread anchor that
 * is re-read from CLOCK_REALTIME every ~1 ms, with a rate calibrated once
 * against CLOCK_MONOTONIC over the first 10 ms of the process. Error: a few
 * nanoseconds within an anchor period; it follows NTP steps within ~1 ms.
 * Elsewhere (or until calibrated) it is plain CLOCK_REALTIME.
 *
 * Thread-safe; never blocks.
 */
#ifndef ACRT_CLOCK_H
#define ACRT_CLOCK_H

#include <stdint.h>

/* Nanoseconds since the Unix epoch. */
int64_t acrt__event_clock_ns(void);
/* CLOCK_MONOTONIC nanoseconds, the same way (for per-event timeouts). */
int64_t acrt__fast_mono_ns(void);

#endif /* ACRT_CLOCK_H */
