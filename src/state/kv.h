/*
 * kv.h - the managed keyed state of one component instance (acrt_state_* in
 * acrt.h): an open-addressing hash map of byte keys to byte values, and its
 * serialised form, which is what a checkpoint stores for the instance.
 *
 * Threads: a map belongs to one instance and is used by that instance's
 * thread only (the harness thread during setup/cleanup/restore); no locking.
 * Ownership: the map owns copies of every key and value.
 *
 * Serialised form (little-endian): u64 count, then per entry u32 klen,
 * u32 vlen, key bytes, value bytes. Versioning and the checksum are added
 * around it by part.c.
 */
#ifndef ACRT_STATE_KV_H
#define ACRT_STATE_KV_H

#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"

typedef struct acrt__kv acrt__kv;

acrt__kv *acrt__kv_new(void);
void acrt__kv_free(acrt__kv *kv);

int acrt__kv_get(const acrt__kv *kv, const void *key, size_t klen, const void **val, size_t *vlen);
int acrt__kv_put(acrt__kv *kv, const void *key, size_t klen, const void *val, size_t vlen);
int acrt__kv_del(acrt__kv *kv, const void *key, size_t klen);
int acrt__kv_iter(const acrt__kv *kv, acrt_state_fn fn, void *arg);
size_t acrt__kv_count(const acrt__kv *kv);

/* Bytes the serialised map takes. */
size_t acrt__kv_dump_size(const acrt__kv *kv);
/* Writes the serialised map into out[acrt__kv_dump_size()]. */
void acrt__kv_dump(const acrt__kv *kv, unsigned char *out);
/* Replaces the map's content with a serialised one. ACRT_EINVAL when the
 * bytes are malformed (the map is then empty). */
int acrt__kv_load(acrt__kv *kv, const void *buf, size_t len);

#endif /* ACRT_STATE_KV_H */
