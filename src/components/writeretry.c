/*
 * writeretry.c - retrying a failing write with backoff, or giving up as
 * on_write_error says (writeretry.h).
 */
#include "components/writeretry.h"

#include <string.h>

#include "core/common.h"
#include "runtime/ctx_query.h"

#define BACKOFF_MIN_NS (50 * 1000000LL)
#define BACKOFF_MAX_NS (2000 * 1000000LL)

const char *const acrt__wretry_modes[] = {"retry", "fail", NULL};

void
acrt__wretry_init(acrt__wretry *w, acrt_ctx *ctx)
{
	memset(w, 0, sizeof *w);
	w->fail = strcmp(acrt_config_string(ctx, "on_write_error", "retry"), "fail") == 0;
	w->fail_after = acrt_config_int(ctx, "write_error_timeout_ms", 30000) * 1000000LL;
}

void
acrt__wretry_no_more(acrt__wretry *w)
{
	w->fail = true;
	w->fail_after = 0;
}

int
acrt__wretry_failed(acrt__wretry *w, acrt_ctx *ctx, const char *what, const char *why, bool curable)
{
	int64_t now = acrt__mono_ns();
	acrt__ctx_write_state(ctx, true);
	if (!curable) {
		acrt_fail(ctx, "cannot write '%s': %s", what, why);
		return ACRT_EFATAL;
	}
	if (w->failing_ns == 0) {
		w->failing_ns = now;
		w->backoff_ns = BACKOFF_MIN_NS;
	}
	if (w->fail && now - w->failing_ns >= w->fail_after) {
		acrt_fail(ctx, "cannot write '%s' for %lld ms: %s (on_write_error: fail)", what,
		          (long long)((now - w->failing_ns) / 1000000), why);
		return ACRT_EFATAL;
	}
	acrt_log(ctx, ACRT_LOG_WARN, "cannot write '%s': %s; retrying in %lld ms, its input waits",
	         what, why, (long long)(w->backoff_ns / 1000000));
	int rc = acrt__ctx_pause_until(ctx, now + w->backoff_ns);
	w->backoff_ns = w->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : w->backoff_ns * 2;
	if (rc != ACRT_OK)
		acrt_fail(ctx, "cannot write '%s': %s; cancelled while retrying", what, why);
	return rc;
}

void
acrt__wretry_ok(acrt__wretry *w, acrt_ctx *ctx, const char *what)
{
	if (w->failing_ns == 0)
		return;
	acrt_log(ctx, ACRT_LOG_INFO, "writes to '%s' go through again after %lld ms", what,
	         (long long)((acrt__mono_ns() - w->failing_ns) / 1000000));
	w->failing_ns = 0;
	acrt__ctx_write_state(ctx, false);
}
