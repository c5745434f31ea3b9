/*
 * store_int.h - private to the Store (store.c, store_crud.c): generated ids
 * and the original Autocoder's CRUD by `action`, over managed state
 * (store_crud.c) or a PostgreSQL table (pg_crud.c). Called on the Store
 * instance's own thread (managed state is per instance).
 */
#ifndef ACRT_STORE_INT_H
#define ACRT_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "acrt/acrt.h"

/* Whether a state key is the Store's own (the next id), not a record's. */
bool acrt__store_reserved(const void *key, size_t klen);
/* The records in managed state (the next id's entry is not one). */
size_t acrt__store_records(acrt_ctx *ctx);
/* The next generated id in managed state (1 when none was taken). */
int64_t acrt__store_peek_id(acrt_ctx *ctx);
/* Takes the next generated id (and counts it in state): ACRT_OK, or
 * ACRT_ENOMEM. */
int acrt__store_take_id(acrt_ctx *ctx, int64_t *id);
/* One request (an event with an `action` field) of `crud: true` in managed
 * state, answered on `output`. Returns like process. */
int acrt__store_crud(acrt_ctx *ctx, acrt_event *ev);

/* Where CRUD's records live. An id is text ("1"), a record an object {"id",
 * "data"}. Each returns ACRT_OK, ACRT_ENOENT (get, del: no such record) or
 * another code, which fails the request (after acrt_fail, or with the
 * backend's own reason: pg_crud.c takes ACRT_ERETRYABLE as its database
 * failing). */
typedef struct acrt__crud_ops {
	/* The record, a new reference in *rec; for_update: to be put back. */
	int (*get)(void *b, acrt_ctx *ctx, const char *id, bool for_update, json_t **rec);
	int (*put)(void *b, acrt_ctx *ctx, const char *id, const json_t *rec);
	int (*del)(void *b, acrt_ctx *ctx, const char *id);
	/* Appends every record to recs, in any order. */
	int (*list)(void *b, acrt_ctx *ctx, json_t *recs);
	int (*take_id)(void *b, acrt_ctx *ctx, int64_t *id);
} acrt__crud_ops;

/* Does the request ev (it has an `action`) with ops on b. ACRT_OK with the
 * reply in *reply (derived from ev, with acrt-http-status set; the caller
 * emits or holds it), or ops' code. */
int acrt__crud_request(acrt_ctx *ctx, acrt_event *ev, const acrt__crud_ops *ops, void *b,
                       acrt_event **reply);

#endif /* ACRT_STORE_INT_H */
