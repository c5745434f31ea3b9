/*
 * kv.c - managed keyed state: an open-addressing (linear probing) hash map
 * with tombstone-free deletion (backward shift) over an append-only arena of
 * records, each laid out exactly as the serialised form of kv.h:
 *
 *   u32 klen (bit 31: dead), u32 vlen, key bytes, value bytes
 *
 * A put of a value of the same size overwrites it in place; another size
 * appends a new record and marks the old one dead; a delete marks it dead.
 * The arena is compacted when dead bytes outweigh live ones (amortised O(1)).
 *
 * Why: the snapshot path (acrt__kv_dump, on the instance's thread at every
 * checkpoint barrier) is then a sequential copy of the arena instead of a
 * pointer chase per entry: about 1 ms instead of 40 ms for a million small
 * entries (bench/bench_state.c), which is what keeps a 1 s checkpoint interval
 * within a few percent of a run without checkpoints.
 */
#include "state/kv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#define DEAD 0x80000000u
#define REC_HDR 8

typedef struct kv_slot {
	uint64_t hash; /* 0 = empty (real hashes are forced non-zero) */
	uint64_t off;  /* the record's offset in the arena */
} kv_slot;

struct acrt__kv {
	kv_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
	unsigned char *arena;
	size_t used, cap; /* bytes of records, bytes allocated */
	size_t dead;      /* bytes of dead records */
};

/* FNV-1a, then a murmur finaliser for well-spread low bits. */
static uint64_t
kv_hash(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

static uint32_t
rec_u32(const unsigned char *p)
{
	return (uint32_t)acrt__le_get(p, 4);
}

static size_t
rec_size(const unsigned char *r)
{
	return REC_HDR + (rec_u32(r) & ~DEAD) + (size_t)rec_u32(r + 4);
}

acrt__kv *
acrt__kv_new(void)
{
	acrt__kv *kv = acrt__calloc(1, sizeof *kv);
	if (kv == NULL)
		return NULL;
	kv->slots = acrt__calloc(16, sizeof *kv->slots);
	if (kv->slots == NULL) {
		acrt__free(kv);
		return NULL;
	}
	kv->mask = 15;
	return kv;
}

static void
kv_clear(acrt__kv *kv)
{
	memset(kv->slots, 0, (kv->mask + 1) * sizeof *kv->slots);
	kv->count = 0;
	kv->used = 0;
	kv->dead = 0;
}

void
acrt__kv_free(acrt__kv *kv)
{
	if (kv == NULL)
		return;
	acrt__free(kv->slots);
	acrt__free(kv->arena);
	acrt__free(kv);
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t
kv_find(const acrt__kv *kv, uint64_t h, const void *key, size_t klen)
{
	size_t i = h & kv->mask;
	for (;;) {
		const kv_slot *s = &kv->slots[i];
		if (s->hash == 0)
			return i;
		if (s->hash == h) {
			const unsigned char *r = kv->arena + s->off;
			if (rec_u32(r) == klen &&
			    (klen == 0 || memcmp(r + REC_HDR, key, klen) == 0))
				return i;
		}
		i = (i + 1) & kv->mask;
	}
}

/* Rehashes into ncap slots (a power of two, room for count to spare). */
static int
kv_resize(acrt__kv *kv, size_t ncap)
{
	kv_slot *ns = acrt__calloc(ncap, sizeof *ns);
	if (ns == NULL)
		return ACRT_ENOMEM;
	for (size_t i = 0; i <= kv->mask; i++) {
		kv_slot s = kv->slots[i];
		if (s.hash == 0)
			continue;
		size_t j = s.hash & (ncap - 1);
		while (ns[j].hash != 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = s;
	}
	acrt__free(kv->slots);
	kv->slots = ns;
	kv->mask = ncap - 1;
	return ACRT_OK;
}

/* Room for n more arena bytes. */
static int
kv_reserve(acrt__kv *kv, size_t n)
{
	if (kv->cap - kv->used >= n)
		return ACRT_OK;
	size_t ncap = kv->cap ? kv->cap : 4096;
	while (ncap - kv->used < n)
		ncap *= 2;
	unsigned char *a = acrt__realloc(kv->arena, ncap);
	if (a == NULL)
		return ACRT_ENOMEM;
	kv->arena = a;
	kv->cap = ncap;
	return ACRT_OK;
}

/* Drops dead records: one pass over the arena, one lookup per live record
 * to move its slot. */
static void
kv_compact(acrt__kv *kv)
{
	size_t in = 0, out = 0;
	while (in < kv->used) {
		unsigned char *r = kv->arena + in;
		size_t sz = rec_size(r);
		if (!(rec_u32(r) & DEAD)) {
			size_t klen = rec_u32(r);
			size_t i = kv_find(kv, kv_hash(r + REC_HDR, klen), r + REC_HDR, klen);
			if (out != in)
				memmove(kv->arena + out, r, sz);
			kv->slots[i].off = out;
			out += sz;
		}
		in += sz;
	}
	kv->used = out;
	kv->dead = 0;
}

static void
kv_kill(acrt__kv *kv, uint64_t off)
{
	unsigned char *r = kv->arena + off;
	acrt__le_put(r, rec_u32(r) | DEAD, 4);
	kv->dead += rec_size(r);
}

static uint64_t
kv_append(acrt__kv *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
	unsigned char *r = kv->arena + kv->used;
	acrt__le_put(r, klen, 4);
	acrt__le_put(r + 4, vlen, 4);
	if (klen) /* key may be NULL when empty */
		memcpy(r + REC_HDR, key, klen);
	if (vlen)
		memcpy(r + REC_HDR + klen, val, vlen);
	uint64_t off = kv->used;
	kv->used += REC_HDR + klen + vlen;
	return off;
}

static bool
in_arena(const acrt__kv *kv, const void *p, size_t n)
{
	const unsigned char *a = kv->arena, *q = p;
	return n > 0 && a != NULL && q + n > a && q < a + kv->cap;
}

int
acrt__kv_get(const acrt__kv *kv, const void *key, size_t klen, const void **val, size_t *vlen)
{
	const kv_slot *s = &kv->slots[kv_find(kv, kv_hash(key, klen), key, klen)];
	if (s->hash == 0)
		return ACRT_ENOENT;
	const unsigned char *r = kv->arena + s->off;
	*val = r + REC_HDR + klen;
	*vlen = rec_u32(r + 4);
	return ACRT_OK;
}

int
acrt__kv_put(acrt__kv *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (klen >= DEAD || vlen > UINT32_MAX)
		return ACRT_EINVAL;
	uint64_t h = kv_hash(key, klen);
	size_t i = kv_find(kv, h, key, klen);
	if (kv->slots[i].hash != 0) {
		unsigned char *r = kv->arena + kv->slots[i].off;
		if (rec_u32(r + 4) == vlen) { /* same size: in place */
			if (vlen)
				memmove(r + REC_HDR + klen, val,
				        vlen); /* val may be this very value */
			return ACRT_OK;
		}
	}
	/* The key or value may point into the arena (a get's result), which may
	 * move when it grows: then work from a copy. */
	size_t need = REC_HDR + klen + vlen;
	unsigned char *copy = NULL;
	if (in_arena(kv, key, klen) || in_arena(kv, val, vlen)) {
		if ((copy = acrt__malloc(klen + vlen + 1)) == NULL)
			return ACRT_ENOMEM;
		if (klen)
			memcpy(copy, key, klen);
		if (vlen)
			memcpy(copy + klen, val, vlen);
		key = copy;
		val = copy + klen;
	}
	if (kv_reserve(kv, need) != ACRT_OK) {
		acrt__free(copy);
		return ACRT_ENOMEM;
	}
	if (kv->slots[i].hash != 0) { /* another size: a new record, the old one dead */
		kv_kill(kv, kv->slots[i].off);
		kv->slots[i].off = kv_append(kv, key, klen, val, vlen);
		acrt__free(copy);
		if (kv->dead > kv->used - kv->dead && kv->dead > 65536)
			kv_compact(kv);
		return ACRT_OK;
	}
	if ((kv->count + 1) * 4 > (kv->mask + 1) * 3) { /* load factor 3/4 */
		if (kv_resize(kv, (kv->mask + 1) * 2) != ACRT_OK) {
			acrt__free(copy);
			return ACRT_ENOMEM;
		}
		i = kv_find(kv, h, key, klen);
	}
	kv->slots[i].hash = h;
	kv->slots[i].off = kv_append(kv, key, klen, val, vlen);
	kv->count++;
	acrt__free(copy);
	return ACRT_OK;
}

int
acrt__kv_del(acrt__kv *kv, const void *key, size_t klen)
{
	size_t i = kv_find(kv, kv_hash(key, klen), key, klen);
	if (kv->slots[i].hash == 0)
		return ACRT_ENOENT;
	kv_kill(kv, kv->slots[i].off);
	kv->count--;
	/* Backward-shift deletion: move later members of the probe run into the
	 * hole when their home slot allows it, so lookups never need tombstones. */
	size_t j = i;
	for (;;) {
		kv->slots[i].hash = 0;
		for (;;) {
			j = (j + 1) & kv->mask;
			if (kv->slots[j].hash == 0)
				goto done;
			size_t home = kv->slots[j].hash & kv->mask;
			/* j may move to i unless home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		kv->slots[i] = kv->slots[j];
		i = j;
	}
done:
	if (kv->count == 0) {
		kv->used = 0;
		kv->dead = 0;
	} else if (kv->dead > kv->used - kv->dead && kv->dead > 65536) {
		kv_compact(kv);
	}
	return ACRT_OK;
}

int
acrt__kv_iter(const acrt__kv *kv, acrt_state_fn fn, void *arg)
{
	for (size_t off = 0; off < kv->used;) {
		const unsigned char *r = kv->arena + off;
		size_t klen = rec_u32(r) & ~DEAD, vlen = rec_u32(r + 4);
		off += REC_HDR + klen + vlen;
		if (rec_u32(r) & DEAD)
			continue;
		int rc = fn(arg, r + REC_HDR, klen, r + REC_HDR + klen, vlen);
		if (rc != 0)
			return rc;
	}
	return ACRT_OK;
}

size_t
acrt__kv_count(const acrt__kv *kv)
{
	return kv->count;
}

size_t
acrt__kv_dump_size(const acrt__kv *kv)
{
	return 8 + kv->used - kv->dead;
}

void
acrt__kv_dump(const acrt__kv *kv, unsigned char *out)
{
	acrt__le_put(out, kv->count, 8);
	if (kv->dead == 0) { /* the common case: one sequential copy */
		if (kv->used)
			memcpy(out + 8, kv->arena, kv->used);
		return;
	}
	unsigned char *p = out + 8;
	for (size_t off = 0; off < kv->used;) {
		const unsigned char *r = kv->arena + off;
		size_t sz = rec_size(r);
		if (!(rec_u32(r) & DEAD)) {
			memcpy(p, r, sz);
			p += sz;
		}
		off += sz;
	}
}

int
acrt__kv_load(acrt__kv *kv, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	kv_clear(kv);
	if (len < 8)
		return ACRT_EINVAL;
	uint64_t n = acrt__le_get(p, 8);
	if (n > (len - 8) / REC_HDR)
		return ACRT_EINVAL;
	size_t cap = kv->mask + 1; /* room for n at load factor 3/4, at once */
	while ((n + 1) * 4 > cap * 3)
		cap *= 2;
	if (cap != kv->mask + 1 && kv_resize(kv, cap) != ACRT_OK)
		return ACRT_ENOMEM;
	if (kv_reserve(kv, len - 8) != ACRT_OK)
		return ACRT_ENOMEM;
	/* The serialised records are the arena's own layout: copy them at once,
	 * then index them in one pass (validating each header as we go). */
	if (len > 8)
		memcpy(kv->arena, p + 8, len - 8);
	size_t off = 0, end = len - 8;
	for (uint64_t k = 0; k < n; k++) {
		if (end - off < REC_HDR)
			goto bad;
		const unsigned char *r = kv->arena + off;
		size_t kl = rec_u32(r), vl = rec_u32(r + 4);
		if (kl >= DEAD || end - off - REC_HDR < kl || end - off - REC_HDR - kl < vl)
			goto bad;
		uint64_t h = kv_hash(r + REC_HDR, kl);
		kv->used = off; /* kv_find reads records below `used` only through slots */
		size_t i = kv_find(kv, h, r + REC_HDR, kl);
		if (kv->slots[i].hash != 0)
			goto bad; /* the same key twice: not something acrt wrote */
		kv->slots[i].hash = h;
		kv->slots[i].off = off;
		kv->count++;
		off += REC_HDR + kl + vl;
	}
	if (off != end)
		goto bad;
	kv->used = end;
	return ACRT_OK;
bad:
	kv_clear(kv);
	return ACRT_EINVAL;
}
