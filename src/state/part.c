/*
 * part.c - sealing, opening and verifying checkpoint parts (see part.h).
 * The checksum is SHA-256 through OpenSSL's EVP (already a dependency for
 * build.lock), computed on the checkpoint writer thread, never on a
 * component's thread.
 */
#include "state/part.h"

#include <openssl/evp.h>
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

int
acrt__part_manifest(const char *system, const acrt__ckpt *ck, acrt__blob *out)
{
	const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
	json_t *names = json_array();
	json_t *m = json_pack("{s:i,s:s,s:I,s:I,s:o}", "format", ACRT__PART_FORMAT, "system",
	                      system ? system : "", "id", (json_int_t)ck->id, "wall_ns",
	                      (json_int_t)ck->wall_ns, "parts", names);
	int rc = ACRT_ENOMEM;
	if (m == NULL)
		goto out;
	for (size_t i = 0; i < ck->n_parts; i++)
		if (strcmp(ck->parts[i].name, ACRT__MANIFEST) != 0 &&
		    json_array_append_new(names, json_string(ck->parts[i].name)) != 0)
			goto out;
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

size_t
acrt__ckpt_verify(const acrt__ckpt *ck, acrt__verify_fn fn, void *arg)
{
	size_t bad = 0;
	char why[160];
	const unsigned char *p;
	size_t n;
	json_t *man = NULL;
	for (size_t i = 0; i < ck->n_parts; i++) {
		const acrt__blob *b = &ck->parts[i];
		if (acrt__part_open(b->data, b->len, &p, &n, why, sizeof why) != ACRT_OK) {
			fn(arg, b->name, why);
			bad++;
		} else if (strcmp(b->name, ACRT__MANIFEST) == 0) {
			man = json_loadb((const char *)p, n, 0, NULL);
		}
	}
	json_t *names = json_object_get(man, "parts");
	if (!json_is_array(names)) {
		if (acrt__ckpt_part(ck, ACRT__MANIFEST) == NULL || man != NULL || bad == 0) {
			fn(arg, ACRT__MANIFEST, "missing or unreadable: the checkpoint is partial");
			bad++;
		}
		json_decref(man);
		return bad;
	}
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		if (!json_is_string(v) || acrt__ckpt_part(ck, json_string_value(v)) == NULL) {
			fn(arg, json_is_string(v) ? json_string_value(v) : "?",
			   "listed in the manifest but missing: the checkpoint is partial");
			bad++;
		}
	}
	if (json_array_size(names) + 1 != ck->n_parts) {
		fn(arg, ACRT__MANIFEST, "parts present that the manifest does not list");
		bad++;
	}
	json_decref(man);
	return bad;
}
