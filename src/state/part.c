/*
 * part.c - sealing, opening and verifying checkpoint parts (see part.h).
 * The checksum is SHA-256 through OpenSSL's EVP (already a dependency for
 * build.lock), computed on the checkpoint writer thread, never on a
 * component's thread. The manifest lists each part's checksum again, read
 * from its header (no second hash), and the checkpoint's id and system: a
 * part is bound to the checkpoint whose manifest lists its digest, so that a
 * sound part copied from another checkpoint is refused like a corrupt one.
 */
#include "state/part.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acrt/acrt.h"
#include "core/common.h"

static const unsigned char magic[8] = {'A', 'C', 'R', 'T', 'P', 'R', 'T', '1'};

static void
sha256(const unsigned char *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;
	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32); /* cannot happen with the default provider; verify then fails */
}

void
acrt__part_seal(unsigned char *buf, size_t payload_len)
{
	memcpy(buf, magic, 8);
	acrt__le_put(buf + 8, ACRT__PART_FORMAT, 4);
	acrt__le_put(buf + 12, 0, 4);
	acrt__le_put(buf + 16, payload_len, 8);
	sha256(buf + ACRT__PART_HDR, payload_len, buf + 24);
}

int
acrt__part_open(const unsigned char *buf, size_t len, const unsigned char **payload, size_t *plen,
                char *err, size_t errlen)
{
	unsigned char sum[32];
	if (len < ACRT__PART_HDR || memcmp(buf, magic, 8) != 0) {
		snprintf(err, errlen, "not a checkpoint part (bad header)");
		return ACRT_EINVAL;
	}
	uint64_t fmt = acrt__le_get(buf + 8, 4), n = acrt__le_get(buf + 16, 8);
	if (fmt != ACRT__PART_FORMAT) {
		snprintf(err, errlen, "format version %llu (this acrt reads %d)",
		         (unsigned long long)fmt, ACRT__PART_FORMAT);
		return ACRT_EINVAL;
	}
	if (n != len - ACRT__PART_HDR) {
		snprintf(err, errlen, "truncated: %zu payload bytes, header says %llu",
		         len - ACRT__PART_HDR, (unsigned long long)n);
		return ACRT_EINVAL;
	}
	sha256(buf + ACRT__PART_HDR, (size_t)n, sum);
	if (memcmp(sum, buf + 24, 32) != 0) {
		snprintf(err, errlen, "checksum mismatch (sha256)");
		return ACRT_EINVAL;
	}
	*payload = buf + ACRT__PART_HDR;
	*plen = (size_t)n;
	return ACRT_OK;
}

int
acrt__part_split(const unsigned char *p, size_t n, const unsigned char **kv, size_t *kvlen,
                 const unsigned char **own, size_t *ownlen)
{
	if (n < 16)
		return ACRT_EINVAL;
	uint64_t a = acrt__le_get(p, 8);
	if (a > n - 16)
		return ACRT_EINVAL;
	uint64_t b = acrt__le_get(p + 8 + a, 8);
	if (b != n - 16 - a)
		return ACRT_EINVAL;
	*kv = p + 8;
	*kvlen = (size_t)a;
	*own = p + 16 + a;
	*ownlen = (size_t)b;
	return ACRT_OK;
}

/* The 64 lowercase hex digits of a sealed part's payload digest. */
static void
digest_hex(const unsigned char *sealed, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[sealed[24 + i] >> 4];
		out[2 * i + 1] = hex[sealed[24 + i] & 15];
	}
	out[64] = '\0';
}

int
acrt__part_manifest(const char *system, const acrt__ckpt *ck, acrt__blob *out)
{
	const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
	json_t *names = json_array(), *sums = json_object();
	json_t *m = json_pack("{s:i,s:s,s:I,s:I,s:o,s:o}", "format", ACRT__MANIFEST_FORMAT,
	                      "system", system ? system : "", "id", (json_int_t)ck->id, "wall_ns",
	                      (json_int_t)ck->wall_ns, "parts", names, "sha256", sums);
	char hex[65];
	int rc = ACRT_ENOMEM;
	if (m == NULL)
		goto out;
	for (size_t i = 0; i < ck->n_parts; i++) {
		const acrt__blob *b = &ck->parts[i];
		if (strcmp(b->name, ACRT__MANIFEST) == 0)
			continue;
		if (b->data == NULL || b->len < ACRT__PART_HDR) {
			rc = ACRT_EINVAL;
			goto out;
		}
		digest_hex(b->data, hex);
		if (json_array_append_new(names, json_string(b->name)) != 0 ||
		    json_object_set_new(sums, b->name, json_string(hex)) != 0)
			goto out;
	}
	/* The text is written straight behind the header: measured first, then
	 * dumped into place (a manifest is small; no buffer in between). */
	size_t n = json_dumpb(m, NULL, 0, flags);
	if (n == 0)
		goto out;
	/* Plain malloc: the blob joins a checkpoint, whose parts are released
	 * with free() (acrt__ckpt_clear, and the harness's own blob helpers). */
	out->data = malloc(ACRT__PART_HDR + n);
	out->name = strdup(ACRT__MANIFEST);
	if (out->data == NULL || out->name == NULL ||
	    json_dumpb(m, (char *)out->data + ACRT__PART_HDR, n, flags) != n) {
		free(out->data);
		free(out->name);
		out->data = NULL;
		out->name = NULL;
		goto out;
	}
	acrt__part_seal(out->data, n);
	out->len = ACRT__PART_HDR + n;
	rc = ACRT_OK;
out:
	json_decref(m);
	return rc;
}

const acrt__blob *
acrt__ckpt_part(const acrt__ckpt *ck, const char *name)
{
	for (size_t i = 0; i < ck->n_parts; i++)
		if (strcmp(ck->parts[i].name, name) == 0)
			return &ck->parts[i];
	return NULL;
}

/* What verify learns from the manifest. */
typedef struct manifest_view {
	json_t *root;    /* owned; NULL when missing or unreadable */
	json_t *names;   /* "parts", an array, or NULL */
	json_t *sums;    /* "sha256", an object (format 2), or NULL */
	int format;      /* 0 when unreadable */
	bool opened;     /* the manifest part's header and checksum are sound */
	bool bad_format; /* a format this acrt does not read (reported) */
} manifest_view;

/* Opens and checks the manifest itself: its format, and that it is ck's
 * (id) and system's. Returns the problems reported. */
static size_t
manifest_read(const acrt__ckpt *ck, const char *system, acrt__verify_fn fn, void *arg,
              manifest_view *mv)
{
	const acrt__blob *b = acrt__ckpt_part(ck, ACRT__MANIFEST);
	const unsigned char *p;
	size_t n, bad = 0;
	char why[320];
	memset(mv, 0, sizeof *mv);
	if (b == NULL)
		return 0;
	if (acrt__part_open(b->data, b->len, &p, &n, why, sizeof why) != ACRT_OK) {
		fn(arg, ACRT__MANIFEST, why);
		return 1;
	}
	mv->opened = true;
	mv->root = json_loadb((const char *)p, n, 0, NULL);
	json_t *f = json_object_get(mv->root, "format");
	if (mv->root == NULL || !json_is_integer(f))
		return 0; /* reported as unreadable by the caller */
	json_int_t fmt = json_integer_value(f);
	if (fmt < 1 || fmt > ACRT__MANIFEST_FORMAT) {
		snprintf(why, sizeof why, "manifest format %lld (this acrt reads 1 to %d)",
		         (long long)fmt, ACRT__MANIFEST_FORMAT);
		fn(arg, ACRT__MANIFEST, why);
		mv->bad_format = true;
		return 1;
	}
	mv->format = (int)fmt;
	json_t *id = json_object_get(mv->root, "id");
	if (!json_is_integer(id) || (uint64_t)json_integer_value(id) != ck->id) {
		snprintf(why, sizeof why,
		         "the manifest is checkpoint %lld's, not checkpoint %llu's: its parts "
		         "were copied from another checkpoint",
		         json_is_integer(id) ? (long long)json_integer_value(id) : -1LL,
		         (unsigned long long)ck->id);
		fn(arg, ACRT__MANIFEST, why);
		bad++;
	}
	const char *sys = json_string_value(json_object_get(mv->root, "system"));
	if (system != NULL && (sys == NULL || strcmp(sys, system) != 0)) {
		snprintf(why, sizeof why,
		         "the manifest is system '%.100s''s, not '%.100s''s: the checkpoint was "
		         "written by another system",
		         sys ? sys : "?", system);
		fn(arg, ACRT__MANIFEST, why);
		bad++;
	}
	mv->names = json_object_get(mv->root, "parts");
	if (!json_is_array(mv->names))
		mv->names = NULL;
	if (mv->format >= 2) {
		mv->sums = json_object_get(mv->root, "sha256");
		if (!json_is_object(mv->sums)) {
			fn(arg, ACRT__MANIFEST,
			   "no part digests (\"sha256\") in a format 2 manifest");
			mv->sums = NULL;
			bad++;
		}
	}
	return bad;
}

static bool
listed(json_t *names, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	}
	return false;
}

/* One part against the manifest: opens, is listed, has the listed digest. */
static size_t
part_check(const acrt__blob *b, const manifest_view *mv, uint64_t id, acrt__verify_fn fn, void *arg)
{
	const unsigned char *p;
	size_t n;
	char why[320], hex[65];
	if (acrt__part_open(b->data, b->len, &p, &n, why, sizeof why) != ACRT_OK) {
		fn(arg, b->name, why);
		return 1;
	}
	if (mv->names == NULL)
		return 0; /* no usable manifest: reported once, by the caller */
	if (!listed(mv->names, b->name)) {
		fn(arg, b->name, "present but not listed in the manifest");
		return 1;
	}
	if (mv->sums == NULL)
		return 0; /* format 1: no digests to compare */
	const char *want = json_string_value(json_object_get(mv->sums, b->name));
	digest_hex(b->data, hex);
	if (want == NULL) {
		fn(arg, b->name, "the manifest lists no digest for it");
		return 1;
	}
	if (strcmp(want, hex) != 0) {
		snprintf(why, sizeof why,
		         "its sha256 %.12s... is not the %.12s... that checkpoint %llu's manifest "
		         "lists: the part is not this checkpoint's (copied from another one?)",
		         hex, want, (unsigned long long)id);
		fn(arg, b->name, why);
		return 1;
	}
	return 0;
}

size_t
acrt__ckpt_verify_bound(const acrt__ckpt *ck, const char *system, acrt__verify_fn fn, void *arg,
                        int *format)
{
	manifest_view mv;
	size_t bad = manifest_read(ck, system, fn, arg, &mv);
	for (size_t i = 0; i < ck->n_parts; i++)
		if (strcmp(ck->parts[i].name, ACRT__MANIFEST) != 0)
			bad += part_check(&ck->parts[i], &mv, ck->id, fn, arg);
	if (mv.names == NULL) {
		/* Missing, or unreadable: reported here unless its header already was
		 * (or its format), or unless the parts' own problems say it all. */
		bool said =
		    (acrt__ckpt_part(ck, ACRT__MANIFEST) != NULL && !mv.opened) || mv.bad_format;
		if (!said) {
			fn(arg, ACRT__MANIFEST, "missing or unreadable: the checkpoint is partial");
			bad++;
		}
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(mv.names, i, v)
		{
			if (!json_is_string(v) ||
			    acrt__ckpt_part(ck, json_string_value(v)) == NULL) {
				fn(arg, json_is_string(v) ? json_string_value(v) : "?",
				   "listed in the manifest but missing: the checkpoint is partial");
				bad++;
			}
		}
	}
	if (format != NULL)
		*format = mv.format;
	json_decref(mv.root);
	return bad;
}

size_t
acrt__ckpt_verify(const acrt__ckpt *ck, acrt__verify_fn fn, void *arg)
{
	return acrt__ckpt_verify_bound(ck, NULL, fn, arg, NULL);
}
