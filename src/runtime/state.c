/*
 * state.c - the public managed-state API (acrt_state_* in acrt.h): thin
 * wrappers over the instance's acrt__kv (state/kv.c), created on first use.
 * Called only on the instance's own thread (see acrt.h), so nothing locks.
 */
#include "runtime/ctx_query.h"
#include "runtime/runtime.h"
#include "state/kv.h"

static acrt__kv *
ctx_kv(acrt_ctx *ctx)
{
	if (ctx->kv == NULL)
		ctx->kv = acrt__kv_new();
	return ctx->kv;
}

int
acrt_state_get(acrt_ctx *ctx, const void *key, size_t klen, const void **val, size_t *vlen)
{
	if (ctx == NULL || (key == NULL && klen > 0) || val == NULL || vlen == NULL)
		return ACRT_EINVAL;
	if (ctx->kv == NULL)
		return ACRT_ENOENT;
	return acrt__kv_get(ctx->kv, key, klen, val, vlen);
}

int
acrt_state_put(acrt_ctx *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (ctx == NULL || (key == NULL && klen > 0) || (val == NULL && vlen > 0))
		return ACRT_EINVAL;
	acrt__kv *kv = ctx_kv(ctx);
	return kv != NULL ? acrt__kv_put(kv, key, klen, val, vlen) : ACRT_ENOMEM;
}

int
acrt_state_del(acrt_ctx *ctx, const void *key, size_t klen)
{
	if (ctx == NULL || (key == NULL && klen > 0))
		return ACRT_EINVAL;
	return ctx->kv != NULL ? acrt__kv_del(ctx->kv, key, klen) : ACRT_ENOENT;
}

int
acrt_state_iter(acrt_ctx *ctx, acrt_state_fn fn, void *arg)
{
	if (ctx == NULL || fn == NULL)
		return ACRT_EINVAL;
	return ctx->kv != NULL ? acrt__kv_iter(ctx->kv, fn, arg) : ACRT_OK;
}

size_t
acrt_state_count(acrt_ctx *ctx)
{
	return ctx != NULL && ctx->kv != NULL ? acrt__kv_count(ctx->kv) : 0;
}

bool
acrt__ctx_resuming(acrt_ctx *ctx)
{
	return ctx != NULL && ctx->has_restore;
}
