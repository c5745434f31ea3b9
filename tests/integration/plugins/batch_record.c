/*
 * batch_record - test plugin for harness-aggregated batching (docs/BATCHING.md).
 * Every batch it is handed appends one JSON line to the file named by config
 * `out` (absolute, or relative to the blueprint's directory):
 *
 *   {"batch_id":N,"size":N,"closed_by":"size|time|drain","first_event_ns":T,
 *    "last_event_ns":T,"formed_ns":T,"port":"input","mode":"batch|event",
 *    "seqs":[...]}
 *
 * Descriptors (pick one with #name):
 *   batch_record        process_batch only: one line per batch
 *   batch_record_both   process_batch and process (per_item falls back to process)
 *   batch_events        process only: one line per event ("seqs" holds its seq)
 * Config `fail_seqs: [..]`: process_batch fails (ACRT_ERR) a batch holding one of
 * them; process fails those events. Each line is written before the failure, so
 * the file shows what the component was handed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acrt/acrt.h"

typedef struct rec {
	int fd;
	const json_t *fail; /* array of seqs, or NULL */
	char *buf;
	size_t len, cap;
} rec;

static void put(rec *r, const char *fmt, ...) ACRT_PRINTF(2, 3);

static void
put(rec *r, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (r->len + (size_t)n < r->cap) {
			r->len += (size_t)n;
			return;
		}
		size_t cap = r->cap * 2 + (size_t)n + 64;
		char *b = realloc(r->buf, cap);
		if (b == NULL)
			return;
		r->buf = b;
		r->cap = cap;
	}
}

static long long
seq_of(acrt_event *ev)
{
	const json_t *j = acrt_event_json(ev);
	const json_t *s = j ? json_object_get(j, "seq") : NULL;
	return json_is_integer(s) ? (long long)json_integer_value(s) : -1;
}

static int
failing(const rec *r, long long seq)
{
	size_t i;
	const json_t *v;
	for (i = 0; i < json_array_size(r->fail); i++) {
		v = json_array_get(r->fail, i);
		if (json_is_integer(v) && json_integer_value(v) == seq)
			return 1;
	}
	return 0;
}

static int
rec_setup(acrt_ctx *ctx, void **self)
{
	const char *out = acrt_config_string(ctx, "out", NULL);
	if (out == NULL)
		return acrt_fail(ctx, "config `out` (a file path) is required");
	char full[4096];
	if (out[0] == '/')
		snprintf(full, sizeof full, "%s", out);
	else
		snprintf(full, sizeof full, "%s/%s", acrt_base_dir(ctx), out);
	rec *r = calloc(1, sizeof *r);
	if (r == NULL)
		return ACRT_ENOMEM;
	r->fd = open(full, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (r->fd < 0) {
		free(r);
		return acrt_fail(ctx, "cannot open %s", full);
	}
	r->fail = json_object_get(acrt_config(ctx), "fail_seqs");
	if (!json_is_array(r->fail))
		r->fail = NULL;
	*self = r;
	return ACRT_OK;
}

static void
rec_cleanup(acrt_ctx *ctx, void *self)
{
	(void)ctx;
	rec *r = self;
	close(r->fd);
	free(r->buf);
	free(r);
}

/* Writes the line: batch metadata plus the given seqs. */
static void
record(acrt_ctx *ctx, rec *r, const char *port, const char *mode, acrt_event *const *evs, size_t n)
{
	const acrt_batch_info *b = acrt_batch(ctx);
	r->len = 0;
	if (b == NULL)
		put(r, "{\"batch_id\":null,\"mode\":\"%s\",\"port\":\"%s\",\"seqs\":[", mode, port);
	else
		put(r,
		    "{\"batch_id\":%llu,\"size\":%zu,\"closed_by\":\"%s\",\"first_event_ns\":%lld,"
		    "\"last_event_ns\":%lld,\"formed_ns\":%lld,\"mode\":\"%s\",\"port\":\"%s\","
		    "\"seqs\":[",
		    (unsigned long long)b->batch_id, b->size, b->closed_by,
		    (long long)b->first_event_ns, (long long)b->last_event_ns,
		    (long long)b->formed_ns, mode, port);
	for (size_t i = 0; i < n; i++)
		put(r, "%s%lld", i ? "," : "", seq_of(evs[i]));
	put(r, "]}\n");
	ssize_t w = write(r->fd, r->buf, r->len);
	(void)w;
}

static int
rec_process_batch(acrt_ctx *ctx, void *self, const char *port, acrt_event *const *evs, size_t n)
{
	rec *r = self;
	record(ctx, r, port, "batch", evs, n);
	for (size_t i = 0; i < n; i++)
		if (r->fail != NULL && failing(r, seq_of(evs[i])))
			return acrt_fail(ctx, "batch holds seq %lld", seq_of(evs[i]));
	return ACRT_OK;
}

static int
rec_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	rec *r = self;
	record(ctx, r, port, "event", &ev, 1);
	long long s = seq_of(ev);
	if (r->fail != NULL && failing(r, s))
		return acrt_fail(ctx, "bad seq %lld", s);
	return ACRT_OK;
}

ACRT_API const acrt_component_desc batch_record = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "batch_record",
    .setup = rec_setup,
    .process_batch = rec_process_batch,
    .cleanup = rec_cleanup,
};

ACRT_API const acrt_component_desc batch_record_both = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "batch_record_both",
    .setup = rec_setup,
    .process = rec_process,
    .process_batch = rec_process_batch,
    .cleanup = rec_cleanup,
};

ACRT_API const acrt_component_desc batch_events = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "batch_events",
    .setup = rec_setup,
    .process = rec_process,
    .cleanup = rec_cleanup,
};
