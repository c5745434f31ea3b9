/*
 * adapter.c - what the three checkpoint adapters share (adapter.h): finding
 * one by name, the rules put() enforces for all of them, building and freeing
 * checkpoint structs, and the error string. Every buffer a checkpoint owns
 * (parts array, names, data) and every list() array comes from plain malloc,
 * not acrt__malloc: checkpoints cross into the harness and the CLI, which build
 * parts with malloc (the instance parts, with the plugins' snapshot bytes) and
 * release list() results with free(). The adapters' own handles and scratch
 * buffers use acrt__malloc.
 */
#include "state/adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest id every adapter stores exactly (a double's 53-bit mantissa). */
#define MAX_ID (UINT64_C(1) << 53)

void
acrt__ckpt_clear(acrt__ckpt *ck)
{
	if (ck == NULL)
		return;
	for (size_t i = 0; i < ck->n_parts; i++) {
		free(ck->parts[i].name);
		free(ck->parts[i].data);
	}
	free(ck->parts);
	free(ck->lost);
	ck->parts = NULL;
	ck->n_parts = 0;
	ck->lost = NULL;
}

const acrt__state_ops *
acrt__state_ops_find(const char *name)
{
	static const acrt__state_ops *const all[] = {&acrt__sqlite_ops, &acrt__redis_ops,
	                                             &acrt__inmem_ops};
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

int
acrt__state_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int
acrt__state_missing(char *err, size_t errlen, uint64_t id)
{
	return acrt__state_fail(err, errlen, ACRT_ENOENT, "no checkpoint %llu",
	                        (unsigned long long)id);
}

int
acrt__ckpt_check(const acrt__ckpt *ck, char *err, size_t errlen)
{
	if (ck == NULL)
		return acrt__state_fail(err, errlen, ACRT_EINVAL, "no checkpoint");
	if (ck->id == 0 || ck->id > MAX_ID)
		return acrt__state_fail(err, errlen, ACRT_EINVAL,
		                        "checkpoint id %llu out of range 1..2^53",
		                        (unsigned long long)ck->id);
	if (ck->n_parts > 0 && ck->parts == NULL)
		return acrt__state_fail(err, errlen, ACRT_EINVAL, "checkpoint %llu: no parts array",
		                        (unsigned long long)ck->id);
	/* Part counts are small (one per instance): quadratic is fine. */
	for (size_t i = 0; i < ck->n_parts; i++) {
		const acrt__blob *p = &ck->parts[i];
		if (p->name == NULL)
			return acrt__state_fail(err, errlen, ACRT_EINVAL,
			                        "checkpoint %llu: part %zu has no name",
			                        (unsigned long long)ck->id, i);
		if (p->data == NULL && p->len > 0)
			return acrt__state_fail(err, errlen, ACRT_EINVAL,
			                        "checkpoint %llu: part %s has no data",
			                        (unsigned long long)ck->id, p->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ck->parts[j].name, p->name) == 0)
				return acrt__state_fail(err, errlen, ACRT_EINVAL,
				                        "checkpoint %llu: part %s appears twice",
				                        (unsigned long long)ck->id, p->name);
	}
	return ACRT_OK;
}

int
acrt__ckpt_add_part(acrt__ckpt *ck, const char *name, size_t nlen, const void *data, size_t len)
{
	char *n = malloc(nlen + 1);
	/* malloc(0) may return NULL: an empty part still gets a buffer. */
	unsigned char *d = data != NULL ? malloc(len > 0 ? len : 1) : NULL;
	acrt__blob *parts = NULL;
	if (n == NULL || (data != NULL && d == NULL))
		goto fail;
	parts = realloc(ck->parts, (ck->n_parts + 1) * sizeof *parts);
	if (parts == NULL)
		goto fail;
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	if (len > 0 && d != NULL)
		memcpy(d, data, len);
	ck->parts = parts;
	ck->parts[ck->n_parts++] = (acrt__blob){.name = n, .data = d, .len = len};
	return ACRT_OK;
fail:
	free(n);
	free(d);
	return ACRT_ENOMEM;
}
