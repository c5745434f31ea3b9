/*
 * test_ckpt_binding.c - a checkpoint's parts are bound to it (issue 17,
 * "Trust and secrets"; part.h): the manifest carries the checkpoint's id, its
 * system and each part's SHA-256, and verification checks them all:
 *   - a sound part (good header and checksum) taken from another checkpoint,
 *     or under another part's name, is refused, naming the part;
 *   - a manifest of another checkpoint id or another system is refused;
 *   - a part the manifest does not list, or lists without a digest, is refused;
 *   - a manifest format this acrt does not know is refused;
 *   - a format 1 manifest (before the binding) is still read: id and system
 *     checked, no digests, its format reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acrt/acrt.h"
#include "state/adapter.h"
#include "state/part.h"

/* A sealed part holding payload. */
static acrt__blob
sealed(const char *name, const char *payload)
{
	size_t n = strlen(payload);
	acrt__blob b = {
	    .name = strdup(name), .data = malloc(ACRT__PART_HDR + n), .len = ACRT__PART_HDR + n};
	assert_non_null(b.name);
	assert_non_null(b.data);
	memcpy(b.data + ACRT__PART_HDR, payload, n);
	acrt__part_seal(b.data, n);
	return b;
}

/* Checkpoint id of system sys with parts a#0 and b#0 (payloads tagged with
 * the id) and its manifest. */
static void
make(acrt__ckpt *ck, uint64_t id, const char *sys)
{
	char pa[32], pb[32];
	snprintf(pa, sizeof pa, "a state at %llu", (unsigned long long)id);
	snprintf(pb, sizeof pb, "b state at %llu", (unsigned long long)id);
	*ck = (acrt__ckpt){.id = id, .wall_ns = 1};
	ck->parts = calloc(3, sizeof *ck->parts);
	assert_non_null(ck->parts);
	ck->parts[0] = sealed("a#0", pa);
	ck->parts[1] = sealed("b#0", pb);
	ck->n_parts = 2;
	assert_int_equal(acrt__part_manifest(sys, ck, &ck->parts[2]), ACRT_OK);
	ck->n_parts = 3;
}

/* Replaces part i's bytes with a copy of src's. */
static void
copy_part(acrt__ckpt *dst, size_t i, const acrt__blob *src)
{
	free(dst->parts[i].data);
	dst->parts[i].data = malloc(src->len);
	assert_non_null(dst->parts[i].data);
	memcpy(dst->parts[i].data, src->data, src->len);
	dst->parts[i].len = src->len;
}

/* Replaces ck's manifest with sealed JSON text. */
static void
set_manifest(acrt__ckpt *ck, const char *json)
{
	acrt__blob m = sealed(ACRT__MANIFEST, json);
	copy_part(ck, 2, &m);
	free(m.name);
	free(m.data);
}

typedef struct seen {
	size_t n;
	char part[64], reason[400];
} seen;

static void
record(void *arg, const char *part, const char *reason)
{
	seen *s = arg;
	if (s->n++ == 0) {
		snprintf(s->part, sizeof s->part, "%s", part);
		snprintf(s->reason, sizeof s->reason, "%s", reason);
	}
}

static size_t
check(const acrt__ckpt *ck, const char *sys, seen *s, int *format)
{
	memset(s, 0, sizeof *s);
	size_t n = acrt__ckpt_verify_bound(ck, sys, record, s, format);
	assert_int_equal(n, s->n);
	return n;
}

static void
test_sound_checkpoint_passes(void **state)
{
	(void)state;
	acrt__ckpt ck;
	seen s;
	int format = -1;
	make(&ck, 9, "orders");
	assert_int_equal(check(&ck, "orders", &s, &format), 0);
	assert_int_equal(format, ACRT__MANIFEST_FORMAT);
	assert_int_equal(check(&ck, NULL, &s, NULL), 0); /* no system check */
	assert_int_equal(acrt__ckpt_verify(&ck, record, &s), 0);
	acrt__ckpt_clear(&ck);
}

static void
test_part_from_another_checkpoint_is_refused(void **state)
{
	(void)state;
	acrt__ckpt old, cur;
	seen s;
	make(&old, 5, "orders");
	make(&cur, 9, "orders");
	copy_part(&cur, 0, &old.parts[0]); /* a#0 of checkpoint 5, sound on its own */
	const unsigned char *p;
	size_t n;
	char why[160];
	assert_int_equal(
	    acrt__part_open(cur.parts[0].data, cur.parts[0].len, &p, &n, why, sizeof why), ACRT_OK);
	assert_int_equal(check(&cur, "orders", &s, NULL), 1);
	assert_string_equal(s.part, "a#0");
	assert_non_null(strstr(s.reason, "not this checkpoint's"));
	assert_non_null(strstr(s.reason, "checkpoint 9"));
	acrt__ckpt_clear(&old);
	acrt__ckpt_clear(&cur);
}

static void
test_part_under_another_name_is_refused(void **state)
{
	(void)state;
	acrt__ckpt ck;
	seen s;
	make(&ck, 9, "orders");
	acrt__blob b = ck.parts[1];
	copy_part(&ck, 0, &b); /* b#0's bytes as a#0 */
	assert_int_equal(check(&ck, "orders", &s, NULL), 1);
	assert_string_equal(s.part, "a#0");
	acrt__ckpt_clear(&ck);
}

static void
test_manifest_of_another_checkpoint_is_refused(void **state)
{
	(void)state;
	acrt__ckpt old, cur;
	seen s;
	make(&old, 5, "orders");
	make(&cur, 9, "orders");
	for (size_t i = 0; i < 3; i++) /* the whole of checkpoint 5 under id 9 */
		copy_part(&cur, i, &old.parts[i]);
	assert_int_equal(check(&cur, "orders", &s, NULL), 1);
	assert_string_equal(s.part, ACRT__MANIFEST);
	assert_non_null(strstr(s.reason, "checkpoint 5's, not checkpoint 9's"));
	acrt__ckpt_clear(&old);
	acrt__ckpt_clear(&cur);
}

static void
test_manifest_of_another_system_is_refused(void **state)
{
	(void)state;
	acrt__ckpt ck;
	seen s;
	make(&ck, 9, "orders");
	assert_int_equal(check(&ck, "billing", &s, NULL), 1);
	assert_string_equal(s.part, ACRT__MANIFEST);
	assert_non_null(strstr(s.reason, "system 'orders''s, not 'billing''s"));
	acrt__ckpt_clear(&ck);
}

static void
test_unlisted_and_undigested_parts_are_refused(void **state)
{
	(void)state;
	acrt__ckpt ck;
	seen s;
	make(&ck, 9, "orders");
	set_manifest(&ck, "{\"format\":2,\"id\":9,\"parts\":[\"a#0\"],\"sha256\":{},"
	                  "\"system\":\"orders\",\"wall_ns\":1}");
	assert_int_equal(check(&ck, "orders", &s, NULL), 2);
	assert_string_equal(s.part, "a#0");
	assert_non_null(strstr(s.reason, "no digest"));
	set_manifest(&ck, "{\"format\":2,\"id\":9,\"parts\":[\"a#0\",\"b#0\"],"
	                  "\"system\":\"orders\",\"wall_ns\":1}");
	assert_int_equal(check(&ck, "orders", &s, NULL), 1);
	assert_string_equal(s.part, ACRT__MANIFEST);
	assert_non_null(strstr(s.reason, "no part digests"));
	acrt__ckpt_clear(&ck);
}

static void
test_unknown_manifest_format_is_refused(void **state)
{
	(void)state;
	acrt__ckpt ck;
	seen s;
	int format = -1;
	make(&ck, 9, "orders");
	set_manifest(&ck, "{\"format\":3,\"id\":9,\"parts\":[\"a#0\",\"b#0\"],"
	                  "\"system\":\"orders\",\"wall_ns\":1}");
	assert_int_equal(check(&ck, "orders", &s, &format), 1);
	assert_string_equal(s.part, ACRT__MANIFEST);
	assert_non_null(strstr(s.reason, "manifest format 3"));
	assert_int_equal(format, 0);
	acrt__ckpt_clear(&ck);
}

static void
test_format_1_is_read_without_digests(void **state)
{
	(void)state;
	acrt__ckpt ck;
	seen s;
	int format = -1;
	make(&ck, 9, "orders");
	/* As acrt wrote it before the binding: names only. */
	set_manifest(&ck, "{\"format\":1,\"id\":9,\"parts\":[\"a#0\",\"b#0\"],"
	                  "\"system\":\"orders\",\"wall_ns\":1}");
	assert_int_equal(check(&ck, "orders", &s, &format), 0);
	assert_int_equal(format, 1);
	set_manifest(&ck, "{\"format\":1,\"id\":5,\"parts\":[\"a#0\",\"b#0\"],"
	                  "\"system\":\"orders\",\"wall_ns\":1}");
	assert_int_equal(check(&ck, "orders", &s, &format), 1); /* its id is still checked */
	assert_string_equal(s.part, ACRT__MANIFEST);
	acrt__ckpt_clear(&ck);
}

static void
test_manifest_needs_sealed_parts(void **state)
{
	(void)state;
	acrt__blob parts[2] = {{.name = "a#0", .data = (unsigned char *)"short", .len = 5}};
	acrt__ckpt ck = {.id = 1, .parts = parts, .n_parts = 1};
	assert_int_equal(acrt__part_manifest("orders", &ck, &parts[1]), ACRT_EINVAL);
	assert_null(parts[1].data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sound_checkpoint_passes),
	    cmocka_unit_test(test_part_from_another_checkpoint_is_refused),
	    cmocka_unit_test(test_part_under_another_name_is_refused),
	    cmocka_unit_test(test_manifest_of_another_checkpoint_is_refused),
	    cmocka_unit_test(test_manifest_of_another_system_is_refused),
	    cmocka_unit_test(test_unlisted_and_undigested_parts_are_refused),
	    cmocka_unit_test(test_unknown_manifest_format_is_refused),
	    cmocka_unit_test(test_format_1_is_read_without_digests),
	    cmocka_unit_test(test_manifest_needs_sealed_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
