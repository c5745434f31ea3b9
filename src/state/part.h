/*
 * part.h - the bytes of one checkpoint part, as every adapter stores them:
 *
 *   header (56 bytes): magic "ACRTPRT1", u32 format version, u32 reserved,
 *                      u64 payload length, SHA-256 of the payload
 *   payload
 *
 * An instance's payload is u64 length + its managed state (kv.h's form), then
 * u64 length + its own snapshot bytes (the descriptor's snapshot callback).
 * The checkpoint's "_manifest" part is JSON: format, system, id, wall time and
 * the names of every part, so that a checkpoint missing a part is seen as
 * partial. A part whose magic, version, length or checksum is wrong is
 * corrupt; neither is ever restored.
 *
 * Pure functions; any thread.
 */
#ifndef ACRT_STATE_PART_H
#define ACRT_STATE_PART_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/adapter.h"

#define ACRT__PART_FORMAT 1
#define ACRT__PART_HDR 56
#define ACRT__MANIFEST "_manifest"

/* buf holds ACRT__PART_HDR bytes of room, then payload_len payload bytes:
 * writes the header (computing the checksum). */
void acrt__part_seal(unsigned char *buf, size_t payload_len);

/* Checks a sealed part. ACRT_OK with the payload, or ACRT_EINVAL and a reason. */
int acrt__part_open(const unsigned char *buf, size_t len, const unsigned char **payload,
                    size_t *plen, char *err, size_t errlen);

/* Splits an instance payload into its managed state and own snapshot bytes. */
int acrt__part_split(const unsigned char *payload, size_t plen, const unsigned char **kv,
                     size_t *kvlen, const unsigned char **own, size_t *ownlen);

/* Builds the sealed manifest blob for ck's parts (all but the manifest). */
int acrt__part_manifest(const char *system, const acrt__ckpt *ck, acrt__blob *out);

/* Verifies a checkpoint read with its data: every part opens, the manifest
 * lists exactly the parts present. Returns the number of problems found, each
 * reported through fn (name of the part or "_manifest", reason). */
typedef void (*acrt__verify_fn)(void *arg, const char *part, const char *reason);
size_t acrt__ckpt_verify(const acrt__ckpt *ck, acrt__verify_fn fn, void *arg);

/* The part named name, or NULL. */
const acrt__blob *acrt__ckpt_part(const acrt__ckpt *ck, const char *name);

#endif /* ACRT_STATE_PART_H */
