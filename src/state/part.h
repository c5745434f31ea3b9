/*
 * part.h - the bytes of one checkpoint part, as every adapter stores them:
 *
 *   offset  size  field
 *   0       8     magic "ACRTPRT1"
 *   8       4     u32 LE part format version (ACRT__PART_FORMAT, 1)
 *   12      4     u32 reserved, written 0, not checked
 *   16      8     u64 LE payload length
 *   24      32    SHA-256 of the payload
 *   56      ...   payload
 *
 * An instance's payload is u64 LE length + its managed state (kv.h's form),
 * then u64 LE length + its own snapshot bytes (the descriptor's snapshot
 * callback).
 *
 * The checkpoint's "_manifest" part is sealed the same way; its payload is
 * compact JSON with sorted keys (ACRT__MANIFEST_FORMAT, 2):
 *
 *   {"format":2,"id":ID,"parts":[NAME,...],"sha256":{NAME:HEX,...},
 *    "system":SYSTEM,"wall_ns":NS}
 *
 * "id" and "system" bind the checkpoint: a manifest whose id is not the id
 * the store keeps it under, or whose system is not the system reading it, is
 * not this checkpoint's. "parts" names every other part, so that a missing
 * one makes the checkpoint partial. "sha256" holds each part's payload
 * digest (the 32 bytes at offset 24 of its header, 64 lowercase hex digits):
 * a part whose digest differs is not this checkpoint's (copied from another
 * checkpoint), even when its own header and checksum are sound. Format 1
 * (acrt before the binding) had no "sha256": it is still read (id and
 * system checked, digests not), and verify says so (docs/STATE.md).
 *
 * A part whose magic, version, length or checksum is wrong is corrupt; a
 * checkpoint with a corrupt, missing, unlisted or unbound part is never
 * restored.
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
#define ACRT__MANIFEST_FORMAT 2 /* the manifest's "format"; 1 is still read */
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

/* Builds the sealed manifest blob for ck's parts (all but the manifest),
 * which must be sealed already: their digests are read from their headers.
 * ACRT_EINVAL when one is shorter than a header. */
int acrt__part_manifest(const char *system, const acrt__ckpt *ck, acrt__blob *out);

/* Verifies a checkpoint read with its data: every part opens, the manifest
 * is ck->id's (and, when system is not NULL, that system's), lists exactly
 * the parts present, and (format 2) each part's digest is the one it lists.
 * Returns the number of problems found, each reported through fn (name of
 * the part or "_manifest", reason). *format (when not NULL) gets the
 * manifest's format, 0 when it could not be read. */
typedef void (*acrt__verify_fn)(void *arg, const char *part, const char *reason);
size_t acrt__ckpt_verify_bound(const acrt__ckpt *ck, const char *system, acrt__verify_fn fn,
                               void *arg, int *format);
/* acrt__ckpt_verify_bound with no system check and no format. */
size_t acrt__ckpt_verify(const acrt__ckpt *ck, acrt__verify_fn fn, void *arg);

/* The part named name, or NULL. */
const acrt__blob *acrt__ckpt_part(const acrt__ckpt *ck, const char *name);

#endif /* ACRT_STATE_PART_H */
