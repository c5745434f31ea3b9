/*
 * kv.c - managed keyed state: an open-addressing (linear probing) hash map
 * with tombstone-free deletion (backward shift), one malloc per entry holding
 * key and value together. See kv.h for the serialised form.
 *
 * Sized for the snapshot path: acrt__kv_dump walks the slot array once and
 * copies entries into one buffer, about 10-20 ns per small entry.
 */
#include "state/kv.h"

#include "core/common.h"

#include <stdlib.h>
#include <string.h>

typedef struct kv_entry {
	uint32_t klen, vlen;
	unsigned char bytes[]; /* key, then value */
} kv_entry;

typedef struct kv_slot {
	uint64_t hash; /* 0 = empty (real hashes are forced non-zero) */
	kv_entry *e;
} kv_slot;

struct acrt__kv {
	kv_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
	size_t bytes; /* sum of klen + vlen */
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

acrt__kv *
acrt__kv_new(void)
{
	acrt__kv *kv = calloc(1, sizeof *kv);
	if (kv == NULL)
		return NULL;
	kv->slots = calloc(16, sizeof *kv->slots);
	if (kv->slots == NULL) {
		free(kv);
		return NULL;
	}
	kv->mask = 15;
	return kv;
}

static void
kv_clear(acrt__kv *kv)
{
	for (size_t i = 0; i <= kv->mask; i++) {
		free(kv->slots[i].e);
		kv->slots[i].e = NULL;
		kv->slots[i].hash = 0;
	}
	kv->count = 0;
	kv->bytes = 0;
}

void
acrt__kv_free(acrt__kv *kv)
{
	if (kv == NULL)
		return;
	kv_clear(kv);
	free(kv->slots);
	free(kv);
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
		if (s->hash == h && s->e->klen == klen && memcmp(s->e->bytes, key, klen) == 0)
			return i;
		i = (i + 1) & kv->mask;
	}
}

static int
kv_grow(acrt__kv *kv)
{
	size_t ncap = (kv->mask + 1) * 2;
	kv_slot *ns = calloc(ncap, sizeof *ns);
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
	free(kv->slots);
	kv->slots = ns;
	kv->mask = ncap - 1;
	return ACRT_OK;
}

int
acrt__kv_get(const acrt__kv *kv, const void *key, size_t klen, const void **val, size_t *vlen)
{
	const kv_slot *s = &kv->slots[kv_find(kv, kv_hash(key, klen), key, klen)];
	if (s->hash == 0)
		return ACRT_ENOENT;
	*val = s->e->bytes + s->e->klen;
	*vlen = s->e->vlen;
	return ACRT_OK;
}

int
acrt__kv_put(acrt__kv *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (klen > UINT32_MAX || vlen > UINT32_MAX)
		return ACRT_EINVAL;
	uint64_t h = kv_hash(key, klen);
	size_t i = kv_find(kv, h, key, klen);
	kv_slot *s = &kv->slots[i];
	if (s->hash != 0 && s->e->vlen == vlen) { /* same size: in place */
		memcpy(s->e->bytes + klen, val, vlen);
		return ACRT_OK;
	}
	kv_entry *e = malloc(sizeof *e + klen + vlen);
	if (e == NULL)
		return ACRT_ENOMEM;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	memcpy(e->bytes, key, klen);
	if (vlen)
		memcpy(e->bytes + klen, val, vlen);
	if (s->hash != 0) {
		kv->bytes += vlen - s->e->vlen;
		free(s->e);
		s->e = e;
		return ACRT_OK;
	}
	if ((kv->count + 1) * 4 > (kv->mask + 1) * 3) { /* load factor 3/4 */
		if (kv_grow(kv) != ACRT_OK) {
			free(e);
			return ACRT_ENOMEM;
		}
		i = kv_find(kv, h, key, klen);
		s = &kv->slots[i];
	}
	s->hash = h;
	s->e = e;
	kv->count++;
	kv->bytes += klen + vlen;
	return ACRT_OK;
}

int
acrt__kv_del(acrt__kv *kv, const void *key, size_t klen)
{
	size_t i = kv_find(kv, kv_hash(key, klen), key, klen);
	if (kv->slots[i].hash == 0)
		return ACRT_ENOENT;
	kv->bytes -= kv->slots[i].e->klen + kv->slots[i].e->vlen;
	free(kv->slots[i].e);
	kv->count--;
	/* Backward-shift deletion: move later members of the probe run into the
	 * hole when their home slot allows it, so lookups never need tombstones. */
	size_t j = i;
	for (;;) {
		kv->slots[i].hash = 0;
		kv->slots[i].e = NULL;
		for (;;) {
			j = (j + 1) & kv->mask;
			if (kv->slots[j].hash == 0)
				return ACRT_OK;
			size_t home = kv->slots[j].hash & kv->mask;
			/* j may move to i unless home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		kv->slots[i] = kv->slots[j];
		i = j;
	}
}

int
acrt__kv_iter(const acrt__kv *kv, acrt_state_fn fn, void *arg)
{
	for (size_t i = 0; i <= kv->mask; i++) {
		const kv_entry *e = kv->slots[i].e;
		if (kv->slots[i].hash == 0)
			continue;
		int rc = fn(arg, e->bytes, e->klen, e->bytes + e->klen, e->vlen);
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
	return 8 + kv->count * 8 + kv->bytes;
}

void
acrt__kv_dump(const acrt__kv *kv, unsigned char *out)
{
	acrt__le_put(out, kv->count, 8);
	unsigned char *p = out + 8;
	for (size_t i = 0; i <= kv->mask; i++) {
		const kv_entry *e = kv->slots[i].e;
		if (kv->slots[i].hash == 0)
			continue;
		acrt__le_put(p, e->klen, 4);
		acrt__le_put(p + 4, e->vlen, 4);
		memcpy(p + 8, e->bytes, (size_t)e->klen + e->vlen);
		p += 8 + (size_t)e->klen + e->vlen;
	}
}

int
acrt__kv_load(acrt__kv *kv, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;
	kv_clear(kv);
	if (len < 8)
		return ACRT_EINVAL;
	uint64_t n = acrt__le_get(p, 8);
	p += 8;
	for (uint64_t k = 0; k < n; k++) {
		if ((size_t)(end - p) < 8)
			goto bad;
		size_t kl = (size_t)acrt__le_get(p, 4), vl = (size_t)acrt__le_get(p + 4, 4);
		p += 8;
		if ((size_t)(end - p) < kl || (size_t)(end - p) - kl < vl)
			goto bad;
		int rc = acrt__kv_put(kv, p, kl, p + kl, vl);
		if (rc != ACRT_OK) {
			kv_clear(kv);
			return rc;
		}
		p += kl + vl;
	}
	if (p != end)
		goto bad;
	return ACRT_OK;
bad:
	kv_clear(kv);
	return ACRT_EINVAL;
}
