/*
 * inmem.c - the inmem_ephemeral checkpoint adapter (adapter.h): checkpoints
 * kept in process memory, lost at exit. For tests and for systems that want
 * the checkpoint machinery without a file or a server.
 *
 * The store is an array of deep copies sorted by id, newest first, so list()
 * is a walk and put() a binary search plus one memmove. Each handle has its
 * own store. The handle and its array come from acrt__malloc; the
 * checkpoints in it, like every checkpoint an adapter hands out, are plain
 * malloc (adapter.c says why).
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "state/adapter.h"

typedef struct inmem {
	acrt__state_adapter base;
	acrt__ckpt *v; /* sorted by id, highest first */
	size_t n, cap;
} inmem;

/* Copies src into *dst (names, and the data when with_data); *dst is written
 * only on success. */
static int
copy_ckpt(acrt__ckpt *dst, const acrt__ckpt *src, bool with_data)
{
	acrt__ckpt c = {.id = src->id, .wall_ns = src->wall_ns};
	for (size_t i = 0; i < src->n_parts; i++) {
		const acrt__blob *p = &src->parts[i];
		/* Stored parts always have data (add_part gives empty ones a buffer). */
		const void *data =
		    with_data ? (p->data != NULL ? (const void *)p->data : "") : NULL;
		int rc = acrt__ckpt_add_part(&c, p->name, strlen(p->name), data, p->len);
		if (rc != ACRT_OK) {
			acrt__ckpt_clear(&c);
			return rc;
		}
	}
	*dst = c;
	return ACRT_OK;
}

/* Index of id, or where it would go (with *found false). */
static size_t
find(const inmem *m, uint64_t id, bool *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].id == id) {
			*found = true;
			return mid;
		}
		if (m->v[mid].id > id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int
inmem_open(const acrt__state_cfg *cfg, acrt__state_adapter **out, char *err, size_t errlen)
{
	inmem *m = acrt__calloc(1, sizeof *m);
	if (m == NULL)
		return acrt__state_fail(err, errlen, ACRT_ENOMEM, "inmem: out of memory");
	m->base.ops = &acrt__inmem_ops;
	*out = &m->base;
	return ACRT_OK;
}

static int
inmem_put(acrt__state_adapter *a, const acrt__ckpt *ck, char *err, size_t errlen)
{
	inmem *m = (inmem *)a;
	int rc = acrt__ckpt_check(ck, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	acrt__ckpt copy;
	bool found;
	size_t at = find(m, ck->id, &found);
	if (found)
		return acrt__state_fail(err, errlen, ACRT_EINVAL, "checkpoint %llu exists",
		                        (unsigned long long)ck->id);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		acrt__ckpt *v = acrt__realloc(m->v, cap * sizeof *v);
		if (v == NULL)
			goto nomem;
		m->v = v;
		m->cap = cap;
	}
	if (copy_ckpt(&copy, ck, true) != ACRT_OK)
		goto nomem;
	memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof *m->v);
	m->v[at] = copy;
	m->n++;
	return ACRT_OK;
nomem:
	return acrt__state_fail(err, errlen, ACRT_ENOMEM, "inmem: out of memory");
}

static int
inmem_list(acrt__state_adapter *a, acrt__ckpt **out, size_t *n, char *err, size_t errlen)
{
	inmem *m = (inmem *)a;
	/* Plain calloc: the caller frees list() results with free() (adapter.h). */
	acrt__ckpt *v = calloc(m->n > 0 ? m->n : 1, sizeof *v);
	size_t i = 0;
	if (v == NULL)
		goto nomem;
	for (; i < m->n; i++)
		if (copy_ckpt(&v[i], &m->v[i], false) != ACRT_OK)
			goto nomem;
	*out = v;
	*n = m->n;
	return ACRT_OK;
nomem:
	while (i > 0)
		acrt__ckpt_clear(&v[--i]);
	free(v);
	return acrt__state_fail(err, errlen, ACRT_ENOMEM, "inmem: out of memory");
}

static int
inmem_get(acrt__state_adapter *a, uint64_t id, acrt__ckpt *out, char *err, size_t errlen)
{
	inmem *m = (inmem *)a;
	bool found;
	size_t at = find(m, id, &found);
	if (!found)
		return acrt__state_missing(err, errlen, id);
	if (copy_ckpt(out, &m->v[at], true) != ACRT_OK)
		return acrt__state_fail(err, errlen, ACRT_ENOMEM, "inmem: out of memory");
	return ACRT_OK;
}

static int
inmem_del(acrt__state_adapter *a, uint64_t id, char *err, size_t errlen)
{
	inmem *m = (inmem *)a;
	bool found;
	size_t at = find(m, id, &found);
	if (!found)
		return acrt__state_missing(err, errlen, id);
	acrt__ckpt_clear(&m->v[at]);
	memmove(&m->v[at], &m->v[at + 1], (m->n - at - 1) * sizeof *m->v);
	m->n--;
	return ACRT_OK;
}

static void
inmem_close(acrt__state_adapter *a)
{
	inmem *m = (inmem *)a;
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		acrt__ckpt_clear(&m->v[i]);
	acrt__free(m->v);
	acrt__free(m);
}

const acrt__state_ops acrt__inmem_ops = {
    .name = "inmem_ephemeral",
    .persistent = false,
    .open = inmem_open,
    .put = inmem_put,
    .list = inmem_list,
    .get = inmem_get,
    .del = inmem_del,
    .close = inmem_close,
};
