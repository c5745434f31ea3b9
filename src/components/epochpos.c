/*
 * epochpos.c - a sink's epoch-and-position snapshot (epochpos.h).
 */
#include "components/epochpos.h"

#include <stdlib.h>

#include "core/common.h"

#define SNAP_VERSION 1
#define SNAP_LEN 17

int
acrt__epochpos_snapshot(acrt_ctx *ctx, uint64_t epoch, uint64_t pos, void **buf, size_t *len)
{
	unsigned char *b = malloc(SNAP_LEN); /* the runtime frees it with free() */
	if (b == NULL)
		return acrt_fail(ctx, "out of memory");
	b[0] = SNAP_VERSION;
	acrt__le_put(b + 1, epoch, 8);
	acrt__le_put(b + 9, pos, 8);
	*buf = b;
	*len = SNAP_LEN;
	return ACRT_OK;
}

int
acrt__epochpos_restore(acrt_ctx *ctx, const char *what, const void *buf, size_t len,
                       uint64_t *epoch, uint64_t *pos)
{
	const unsigned char *b = buf;
	if (len == 0)
		return ACRT_OK;
	if (len != SNAP_LEN || b[0] != SNAP_VERSION)
		return acrt_fail(ctx, "restore: not %s's snapshot (%zu bytes)", what, len);
	*epoch = acrt__le_get(b + 1, 8);
	*pos = acrt__le_get(b + 9, 8);
	return ACRT_OK;
}
