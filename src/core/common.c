/*
 * common.c - the counting allocator and the per-thread PRNG of common.h.
 *
 * The allocator keeps a size header in front of each block so that
 * acrt__alloc_bytes() can report live bytes (Redis's zmalloc habit); tests can
 * make the n-th allocation fail to exercise error paths.
 */
#include "core/common.h"

#include <errno.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "acrt/acrt.h"

#define HDR 16 /* keeps the returned block 16-byte aligned */

static atomic_size_t live_bytes;
static atomic_long fail_countdown;

static bool
should_fail(void)
{
	if (acrt__likely(atomic_load_explicit(&fail_countdown, memory_order_relaxed) == 0))
		return false;
	return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void *
acrt__malloc(size_t n)
{
	if (should_fail() || n > SIZE_MAX - HDR)
		return NULL;
	unsigned char *p = malloc(n + HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	atomic_fetch_add_explicit(&live_bytes, n, memory_order_relaxed);
	return p + HDR;
}

void *
acrt__calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	void *p = acrt__malloc(n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

void *
acrt__realloc(void *p, size_t n)
{
	if (p == NULL)
		return acrt__malloc(n);
	if (should_fail() || n > SIZE_MAX - HDR)
		return NULL;
	unsigned char *base = (unsigned char *)p - HDR;
	size_t old;
	memcpy(&old, base, sizeof old);
	unsigned char *q = realloc(base, n + HDR);
	if (q == NULL)
		return NULL;
	memcpy(q, &n, sizeof n);
	atomic_fetch_add_explicit(&live_bytes, n, memory_order_relaxed);
	atomic_fetch_sub_explicit(&live_bytes, old, memory_order_relaxed);
	return q + HDR;
}

void
acrt__free(void *p)
{
	if (p == NULL)
		return;
	unsigned char *base = (unsigned char *)p - HDR;
	size_t n;
	memcpy(&n, base, sizeof n);
	atomic_fetch_sub_explicit(&live_bytes, n, memory_order_relaxed);
	free(base);
}

char *
acrt__strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = acrt__malloc(n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

char *
acrt__path_join(const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL)
		return acrt__strdup(path);
	size_t n = strlen(dir) + strlen(path) + 2;
	char *p = acrt__malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, path);
	return p;
}

size_t
acrt__alloc_bytes(void)
{
	return atomic_load(&live_bytes);
}

void
acrt__alloc_fail_after(long n)
{
	atomic_store(&fail_countdown, n);
}

long
acrt__alloc_fail_after_pending(void)
{
	long v = atomic_load(&fail_countdown);
	return v > 0 ? v : 0;
}

static _Thread_local uint64_t rng[4];
static _Thread_local bool rng_seeded;

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
acrt__rand64(void)
{
	if (acrt__unlikely(!rng_seeded)) {
		if (getrandom(rng, sizeof rng, 0) != (ssize_t)sizeof rng) {
			/* Never fatal: fall back to a seed from the clocks and the stack. */
			rng[0] = (uint64_t)acrt__wall_ns();
			rng[1] = (uint64_t)acrt__mono_ns() ^ (uintptr_t)&rng;
			rng[2] = 0x9e3779b97f4a7c15ull;
			rng[3] = 0xbf58476d1ce4e5b9ull;
		}
		rng_seeded = true;
	}
	uint64_t result = rotl(rng[1] * 5, 7) * 9;
	uint64_t t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return result;
}

const char *
acrt_strerror(int err)
{
	switch (err) {
	case ACRT_OK:
		return "ok";
	case ACRT_ERR:
		return "event failed";
	case ACRT_EFATAL:
		return "fatal component error";
	case ACRT_ECANCELED:
		return "cancelled";
	case ACRT_ETIMEDOUT:
		return "timed out";
	case ACRT_ECLOSED:
		return "stream closed";
	case ACRT_ENOMEM:
		return "out of memory";
	case ACRT_EINVAL:
		return "invalid argument";
	case ACRT_ENOENT:
		return "not found";
	case ACRT_ESTOPPING:
		return "stopping";
	case ACRT_EABI:
		return "ABI mismatch";
	case ACRT_ERETRYABLE:
		return "event failed (retryable)";
	default:
		return "unknown error";
	}
}

int
acrt_version_number(void)
{
	return ACRT_VERSION_NUMBER;
}

int
acrt__mkdirs_for(char *path, unsigned mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, (mode_t)mode);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}
