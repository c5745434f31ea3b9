/*
 * common.h - small helpers every part of the runtime uses: the monotonic and
 * wall clocks, the allocator wrappers (with byte counters and fault injection
 * for tests), string duplication and likely/unlikely hints.
 *
 * Every function here is thread-safe and never blocks.
 */
#ifndef ACRT_COMMON_H
#define ACRT_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define acrt__likely(x) __builtin_expect(!!(x), 1)
#define acrt__unlikely(x) __builtin_expect(!!(x), 0)
#define ACRT__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ACRT__CACHELINE 64

/* Monotonic nanoseconds (CLOCK_MONOTONIC). */
static inline int64_t
acrt__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME). */
static inline int64_t
acrt__wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Converts a monotonic-ns deadline to a timespec for pthread_cond_timedwait on a
 * CLOCK_MONOTONIC condition variable. */
static inline struct timespec
acrt__timespec(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	return ts;
}

/* "No deadline". */
#define ACRT__FOREVER INT64_MAX

/* Allocation: counted, and failable on purpose in tests (acrt__alloc_fail_after). */
void *acrt__malloc(size_t n);
void *acrt__calloc(size_t n, size_t size);
void *acrt__realloc(void *p, size_t n);
void acrt__free(void *p);
char *acrt__strdup(const char *s);
/* Bytes currently allocated through these wrappers. */
size_t acrt__alloc_bytes(void);
/* Test hook: the n-th allocation from now fails (0 disables). */
void acrt__alloc_fail_after(long n);
/* Allocations left before the injected failure (0 once it has happened or
 * when disabled). */
long acrt__alloc_fail_after_pending(void);

/* `path` if absolute (or dir is NULL), else "dir/path"; from acrt__malloc
 * (acrt__free it). NULL when out of memory. */
char *acrt__path_join(const char *dir, const char *path);
/* mkdir -p of the directories above the file `path` (each new one with
 * `mode`). path is restored before returning. 0, or -1 with errno. */
int acrt__mkdirs_for(char *path, unsigned mode);

/* Little-endian integers of n bytes (1..8), for the byte formats on disk
 * (checkpoint parts, managed state, snapshots). */
static inline void
acrt__le_put(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t
acrt__le_get(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Per-thread fast PRNG (xoshiro256**), seeded from getrandom(). */
uint64_t acrt__rand64(void);

/* The most replicas a component may have (architecture.yaml and
 * component_overrides): a stream tracks its consumers as bits of a uint64_t. */
#define ACRT__MAX_REPLICAS 64

#endif /* ACRT_COMMON_H */
