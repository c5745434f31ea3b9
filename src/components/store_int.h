/*
 * store_int.h - private to the Store (store.c, store_crud.c): generated ids
 * and the original Autocoder's CRUD by `action`. Called on the Store
 * instance's own thread (managed state is per instance).
 */
#ifndef ACRT_STORE_INT_H
#define ACRT_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* One request (an event with an `action` field) of `crud: true`, answered on
 * `output`. Returns like process. */
int acrt__store_crud(acrt_ctx *ctx, acrt_event *ev);

#endif /* ACRT_STORE_INT_H */
