/*
 * fuzz_checkpoint.c - libFuzzer target for reading checkpoints back
 * (src/state/part.c, kv.c: what --resume and `acrt checkpoints verify` read
 * from a store, through part.h and kv.h only). The input is one checkpoint:
 *
 *   byte 0     flags: 1 seal every part here (the rest is its payload, so
 *              checksums hold), 2 make the manifest here (acrt__part_manifest:
 *              the parts are then bound), 4 the system is not the manifest's
 *   then       pieces separated by lines `%%%%`: the "_manifest" part, then
 *              instance parts "c#0", "c#1", ...
 *
 * acrt__ckpt_verify_bound must report problems, never crash; every part that
 * opens is split (acrt__part_split) and its managed state loaded
 * (acrt__kv_load) as recovery.c does; a map that loads dumps and loads again
 * to the same count. docs/FUZZING.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acrt/acrt.h"
#include "fuzz_common.h"
#include "state/kv.h"
#include "state/part.h"

#define MAX_PARTS 16

static void
on_problem(void *arg, const char *part, const char *reason)
{
	FUZZ_ASSERT(part != NULL && reason != NULL && reason[0] != '\0');
	++*(size_t *)arg;
}

/* A blob holding p[0..n), sealed or as it is. */
static void
make_part(acrt__blob *b, const char *name, const uint8_t *p, size_t n, int seal)
{
	b->name = strdup(name);
	b->len = seal ? ACRT__PART_HDR + n : n;
	b->data = malloc(b->len ? b->len : 1);
	FUZZ_ASSERT(b->name != NULL && b->data != NULL);
	memcpy(b->data + (seal ? ACRT__PART_HDR : 0), p, n);
	if (seal)
		acrt__part_seal(b->data, n);
}

/* As recovery.c applies an instance's part: split, then load its map. */
static void
read_instance(const acrt__blob *b)
{
	const unsigned char *payload, *kvp, *own;
	size_t plen, kvlen, ownlen;
	char err[160];
	if (acrt__part_open(b->data, b->len, &payload, &plen, err, sizeof err) != ACRT_OK) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(payload >= b->data && payload + plen <= b->data + b->len);
	if (acrt__part_split(payload, plen, &kvp, &kvlen, &own, &ownlen) != ACRT_OK)
		return;
	FUZZ_ASSERT(kvp + kvlen <= payload + plen && own + ownlen <= payload + plen);
	acrt__kv *kv = acrt__kv_new();
	FUZZ_ASSERT(kv != NULL);
	if (acrt__kv_load(kv, kvp, kvlen) == ACRT_OK) {
		size_t n = acrt__kv_count(kv), sz = acrt__kv_dump_size(kv);
		unsigned char *d = malloc(sz ? sz : 1);
		FUZZ_ASSERT(d != NULL);
		acrt__kv_dump(kv, d);
		acrt__kv *again = acrt__kv_new();
		FUZZ_ASSERT(again != NULL);
		FUZZ_ASSERT(acrt__kv_load(again, d, sz) == ACRT_OK);
		FUZZ_ASSERT(acrt__kv_count(again) == n);
		acrt__kv_free(again);
		free(d);
	}
	acrt__kv_free(kv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int flags = data[0];
	acrt__blob parts[MAX_PARTS + 1];
	acrt__ckpt ck = {.id = 7, .wall_ns = 1, .parts = parts, .n_parts = 0};
	const uint8_t *rest = data + 1, *a, *b;
	size_t left = size - 1, an, bn;
	int piece = 0;
	acrt__blob manifest = {0};
	do {
		fuzz_split(rest, left, &a, &an, &b, &bn);
		if (piece == 0) {
			make_part(&manifest, ACRT__MANIFEST, a, an, flags & 1);
		} else if (ck.n_parts < MAX_PARTS) {
			char name[16];
			snprintf(name, sizeof name, "c#%d", piece - 1);
			make_part(&parts[ck.n_parts++], name, a, an, flags & 1);
		}
		piece++;
		rest = b;
		left = bn;
	} while (rest != NULL);
	if (flags & 2) { /* a manifest made for these parts */
		acrt__blob made = {0};
		if (acrt__part_manifest("fuzzsys", &ck, &made) == ACRT_OK) {
			free(manifest.name);
			free(manifest.data);
			manifest = made;
			FUZZ_ASSERT(strcmp(manifest.name, ACRT__MANIFEST) == 0);
		}
	}
	parts[ck.n_parts++] = manifest;

	size_t problems = 0;
	int format = -1;
	size_t n = acrt__ckpt_verify_bound(&ck, (flags & 4) ? "other" : "fuzzsys", on_problem,
	                                   &problems, &format);
	FUZZ_ASSERT(n == problems);
	FUZZ_ASSERT(format >= 0);
	FUZZ_ASSERT(acrt__ckpt_part(&ck, ACRT__MANIFEST) != NULL);
	for (size_t i = 0; i + 1 < ck.n_parts; i++)
		read_instance(&parts[i]);
	for (size_t i = 0; i < ck.n_parts; i++) {
		free(parts[i].name);
		free(parts[i].data);
	}
	return 0;
}
