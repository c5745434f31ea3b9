/*
 * clock.c - see clock.h.
 */
#include "core/clock.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "core/common.h"

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#include <x86intrin.h>

#define CALIBRATE_NS (10 * 1000000LL)
#define ANCHOR_CYCLES (1ull << 21) /* ~0.7 ms at 3 GHz */

static struct {
	uint64_t tsc0;
	int64_t mono0;
	atomic_uint_fast64_t mult; /* ns per cycle, 32.32 fixed point; 0 = not yet */
	bool usable;
} g;

typedef struct anchor_t {
	uint64_t tsc;
	int64_t ns;
} anchor_t;

static _Thread_local anchor_t anchor, mono_anchor;

__attribute__((constructor)) static void
clock_ctor(void)
{
	unsigned a, b, c, d;
	/* CPUID 0x80000007 EDX bit 8: invariant TSC. */
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u));
	g.usable = (d >> 8) & 1;
	g.mono0 = acrt__mono_ns();
	g.tsc0 = __rdtsc();
}

static int64_t
slow_path(uint64_t tsc, anchor_t *a, int64_t (*read)(void))
{
	int64_t now = read();
	uint64_t mult = atomic_load_explicit(&g.mult, memory_order_relaxed);
	if (mult == 0 && g.usable) {
		int64_t dm = acrt__mono_ns() - g.mono0;
		uint64_t dt = tsc - g.tsc0;
		if (dm >= CALIBRATE_NS && dt > 0) {
			mult = (uint64_t)(((unsigned __int128)dm << 32) / dt);
			atomic_store_explicit(&g.mult, mult, memory_order_relaxed);
		}
	}
	a->tsc = tsc;
	a->ns = now;
	return now;
}

static inline int64_t
tsc_clock(anchor_t *a, int64_t (*read)(void))
{
	uint64_t tsc = __rdtsc();
	uint64_t mult = atomic_load_explicit(&g.mult, memory_order_relaxed);
	uint64_t d = tsc - a->tsc;
	if (acrt__likely(mult != 0 && a->ns != 0 && d < ANCHOR_CYCLES))
		return a->ns + (int64_t)((d * mult) >> 32);
	return slow_path(tsc, a, read);
}

static int64_t
read_wall(void)
{
	return acrt__wall_ns();
}

static int64_t
read_mono(void)
{
	return acrt__mono_ns();
}

int64_t
acrt__event_clock_ns(void)
{
	return tsc_clock(&anchor, read_wall);
}

int64_t
acrt__fast_mono_ns(void)
{
	return tsc_clock(&mono_anchor, read_mono);
}

#else

int64_t
acrt__event_clock_ns(void)
{
	return acrt__wall_ns();
}

int64_t
acrt__fast_mono_ns(void)
{
	return acrt__mono_ns();
}

#endif
