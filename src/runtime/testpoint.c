/*
 * testpoint.c - the feeder and the capture of `acrt test` (testpoint.h). They
 * are ordinary components on the public ABI, except that the feeder reads its
 * own output streams' depth (it lives in the runtime for that): to keep the
 * test's order across input ports, it waits until the events sent to one
 * port have been taken before it sends to the next. A component processes a
 * batch it has taken before it receives again, so the next port's events
 * cannot overtake them.
 */
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "runtime/runtime.h"
#include "runtime/testpoint.h"

/* Polling period while the previous port's events are still in their streams. */
#define TAKEN_POLL_NS 200000LL

/* Waits until every stream of output port `port` is empty. */
static int
wait_taken(acrt_ctx *ctx, const char *port)
{
	int rc = acrt_flush(ctx);
	if (rc != ACRT_OK)
		return rc;
	const acrt__comp *c = ctx->comp;
	for (size_t p = 0; p < c->spec->n_outputs; p++) {
		if (strcmp(c->outs[p].name, port) != 0)
			continue;
		for (size_t t = 0; t < c->outs[p].n_targets; t++) {
			acrt__transport *tr = c->outs[p].targets[t];
			for (;;) {
				acrt__transport_stats st;
				tr->ops->stats(tr, &st);
				if (st.depth == 0)
					break;
				rc = acrt_sleep_until(ctx, acrt_now_ns(ctx) + TAKEN_POLL_NS);
				if (rc != ACRT_OK)
					return rc;
			}
		}
	}
	return ACRT_OK;
}

static int
feeder_run(acrt_ctx *ctx, void *self)
{
	(void)self;
	const acrt__test_feed *f = ctx->comp->spec->test_arg;
	const char *prev = NULL;
	for (size_t i = 0; f != NULL && i < f->n; i++) {
		const acrt__test_feed_ev *e = &f->evs[i];
		int rc;
		if (prev != NULL && strcmp(prev, e->port) != 0 &&
		    (rc = wait_taken(ctx, prev)) != ACRT_OK)
			return rc;
		prev = e->port;
		acrt_event *ev = acrt_event_new(ctx, e->text, e->len, "application/json");
		if (ev == NULL)
			return acrt_fail(ctx, "out of memory");
		if ((rc = acrt_emit(ctx, e->port, ev)) != ACRT_OK)
			return rc;
	}
	return ACRT_OK;
}

const acrt_component_desc acrt__test_feeder_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "acrt test feeder",
    .run = feeder_run,
};

static int
capture_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	(void)self;
	acrt__test_got *g = ctx->comp->spec->test_arg;
	acrt__test_got_port *gp = NULL;
	for (size_t i = 0; g != NULL && i < g->n && gp == NULL; i++)
		if (strcmp(g->ports[i].port, port) == 0)
			gp = &g->ports[i];
	if (gp == NULL)
		return acrt_fail(ctx, "no capture for port '%s'", port);
	size_t len;
	const void *data = acrt_event_data(ev, &len);
	if (data == NULL)
		return acrt_fail(ctx, "out of memory");
	if (gp->n == gp->cap) {
		size_t cap = gp->cap ? gp->cap * 2 : 16;
		char **t = acrt__realloc(gp->texts, cap * sizeof *t);
		if (t == NULL)
			return ACRT_EFATAL; /* a capture that drops events would lie */
		gp->texts = t;
		size_t *l = acrt__realloc(gp->lens, cap * sizeof *l);
		if (l == NULL)
			return ACRT_EFATAL;
		gp->lens = l;
		gp->cap = cap;
	}
	char *copy = acrt__malloc(len + 1 + ACRT__JSON_PADDING);
	if (copy == NULL)
		return ACRT_EFATAL;
	memcpy(copy, data, len);
	memset(copy + len, 0, 1 + ACRT__JSON_PADDING);
	gp->texts[gp->n] = copy;
	gp->lens[gp->n++] = len;
	return ACRT_OK;
}

const acrt_component_desc acrt__test_capture_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "acrt test capture",
    .process = capture_process,
};

void
acrt__test_got_clear(acrt__test_got *g)
{
	for (size_t i = 0; g != NULL && i < g->n; i++) {
		acrt__test_got_port *gp = &g->ports[i];
		for (size_t k = 0; k < gp->n; k++)
			acrt__free(gp->texts[k]);
		acrt__free(gp->texts);
		acrt__free(gp->lens);
		gp->texts = NULL;
		gp->lens = NULL;
		gp->n = gp->cap = 0;
	}
}
