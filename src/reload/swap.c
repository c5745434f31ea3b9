/*
 * swap.c - hot reload in place: a component whose config or capabilities
 * changed is replaced while every other component and stream keeps running
 * (docs/RELOAD.md). Anything else (components or bindings added or removed,
 * a changed implementation, replicas, batching, ports, runtime settings, a
 * changed source) takes the generation switch of reload.c instead.
 *
 * For each changed component C, one at a time (so that pausing one never
 * waits on another paused one):
 *   1. pause the threads that run C: C's own instances, or, when C is chained,
 *      the instances of the component at the head of its chain (a source is
 *      paused inside acrt_emit / acrt_sleep_until, a consumer between two
 *      batches). Before parking a thread sends what it emitted, so nothing of
 *      C is in flight; C's input stream keeps what arrives meanwhile;
 *   2. on this (supervising) thread: C's config and capabilities trade places
 *      with the new blueprint's (trade()); for each instance: own snapshot,
 *      cleanup, the new capability chain, setup, restore. Managed state stays
 *      where it is (the instance's map is handed over as is);
 *   3. resume. If a setup fails, the old config comes back for every instance
 *      (setup again with it, restore), and the reload is reported as failed.
 *
 * Ownership: the running blueprint (rt->bp) stays the same object for the
 * whole generation; only the traded fields of the swapped components' specs
 * change, under the pause. The new blueprint ends up holding the old values,
 * borrowed by nothing once the old instances are cleaned up: the caller
 * (reload.c) frees it when acrt__swap_in_place returns, whatever it returned.
 *
 * Threads: acrt__swap_in_place runs on the supervising thread; acrt__swap_park
 * on the instance's own thread. ctx->pause_req is written by the supervisor
 * and read relaxed by the instance; ctx->parked is guarded by rt->mu.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/log.h"
#include "core/waitq.h"
#include "reload/reload.h"
#include "runtime/runtime.h"

#define PAUSE_TIMEOUT_NS (5 * 1000000000LL)

/* The component whose threads run c: c itself, or the head of its chain. */
static acrt__comp *
chain_head(acrt__runtime *rt, acrt__comp *c)
{
	for (bool moved = true; c->chained && moved;) {
		moved = false;
		for (size_t i = 0; i < rt->bp->n_comps && !moved; i++)
			for (size_t p = 0; p < rt->comps[i].spec->n_outputs; p++)
				if (rt->comps[i].outs[p].chained == c) {
					c = &rt->comps[i];
					moved = true;
					break;
				}
	}
	return c;
}

static void
set_pause(acrt__runtime *rt, acrt__comp *head, bool on)
{
	pthread_mutex_lock(&rt->mu);
	for (int r = 0; r < head->n_inst; r++)
		atomic_store(&head->inst[r].pause_req, on);
	pthread_cond_broadcast(&rt->wake); /* sleepers, and parked instances on resume */
	pthread_mutex_unlock(&rt->mu);
	if (on && head->has_inbox)
		acrt__waitq_notify(&head->inbox.wq); /* a consumer parked on its inbox */
}

/* Waits until every instance of head is parked or has ended. */
static bool
wait_parked(acrt__runtime *rt, acrt__comp *head)
{
	int64_t deadline = acrt__mono_ns() + PAUSE_TIMEOUT_NS;
	bool all = false;
	pthread_mutex_lock(&rt->mu);
	while (!all) {
		all = true;
		for (int r = 0; r < head->n_inst; r++)
			if (!head->inst[r].parked &&
			    atomic_load(&head->inst[r].run_state) == ACRT__INST_RUNNING)
				all = false;
		if (all || acrt__mono_ns() >= deadline)
			break;
		acrt__cond_wait_until(&rt->wake, &rt->mu, acrt__mono_ns() + 10000000);
	}
	pthread_mutex_unlock(&rt->mu);
	return all;
}

/* Eligible for a swap in place: the same components in the same order, the
 * same bindings and runtime settings, and every change a config or
 * capabilities change of a component that is not a source. */
static bool
eligible(const acrt__runtime *rt, const acrt__blueprint *nb, const json_t *d)
{
	if (json_array_size(json_object_get(d, "added")) ||
	    json_array_size(json_object_get(d, "removed")) ||
	    json_array_size(json_object_get(d, "bindings_added")) ||
	    json_array_size(json_object_get(d, "bindings_removed")) ||
	    json_is_true(json_object_get(d, "runtime")) || nb->n_comps != rt->bp->n_comps)
		return false;
	for (size_t i = 0; i < nb->n_comps; i++)
		if (strcmp(nb->comps[i].name, rt->bp->comps[i].name) != 0)
			return false;
	const char *name;
	json_t *what;
	json_object_foreach((json_t *)json_object_get(d, "changed"), name, what)
	{
		long i = acrt__blueprint_find(nb, name);
		if (i < 0 || rt->comps[i].desc->run != NULL)
			return false;
		if (rt->comps[i].chained && acrt__spec_wants_timer(&nb->comps[i]))
			return false; /* it now needs a thread of its own: rewire */
		size_t k;
		json_t *w;
		json_array_foreach(what, k, w)
		{
			const char *s = json_string_value(w);
			if (strcmp(s, "config") != 0 && strcmp(s, "capabilities") != 0)
				return false;
		}
	}
	return true;
}

/* One instance to spec: own snapshot (when set up), cleanup, new chain,
 * setup, restore. The own snapshot travels in and out through snap, snaplen. */
static int
reinstall(acrt_ctx *ctx, const acrt__comp_spec *spec, void **snap, size_t *snaplen)
{
	acrt__comp *c = ctx->comp;
	const acrt_component_desc *d = c->desc;
	acrt__chain *chain = NULL;
	char err[512];
	if (ctx->set_up) {
		if (d->snapshot != NULL && *snap == NULL &&
		    d->snapshot(ctx, ctx->self, snap, snaplen) != ACRT_OK) {
			acrt__log(ACRT_LOG_ERROR, spec->name, 0, NULL,
			          "reload: snapshot failed: %s", ctx->err[0] ? ctx->err : "?");
			return ACRT_ERR;
		}
		if (d->cleanup != NULL)
			d->cleanup(ctx, ctx->self);
		ctx->set_up = false;
		ctx->self = NULL;
	}
	if (acrt__chain_build(spec, &ctx->cap_clock, &chain, err, sizeof err) != 0) {
		acrt__log(ACRT_LOG_ERROR, spec->name, 0, NULL, "reload: %s", err);
		acrt__chain_free(ctx->chain); /* may borrow values the caller frees */
		ctx->chain = NULL;
		return ACRT_ERR;
	}
	acrt__chain_free(ctx->chain);
	ctx->chain = chain;
	bool was = ctx->processing;
	ctx->processing = false;
	ctx->has_restore = *snap != NULL; /* setup sees a resumption (a file sink keeps its file) */
	int rc =
	    acrt__instance_setup(ctx, acrt__mono_ns() + ctx->rt->bp->startup_timeout_ms * 1000000);
	if (rc == ACRT_OK && d->restore != NULL && *snap != NULL)
		rc = d->restore(ctx, ctx->self, *snap, *snaplen);
	ctx->processing = was;
	return rc;
}

/* The fields a swap in place may change (eligible() allows config and
 * capabilities only) trade places between the running spec and the new one:
 * the running blueprint keeps its identity (every pointer into it stays
 * valid: names, ports, bindings, the blueprint itself as other threads read
 * it), and the new blueprint, left holding the old values, can be freed. */
static void
trade(acrt__comp_spec *run, acrt__comp_spec *nu)
{
	json_t *cfg = run->config, *caps = run->capabilities;
	run->config = nu->config;
	run->capabilities = nu->capabilities;
	nu->config = cfg;
	nu->capabilities = caps;
}

/* Gives component i nb's config and capabilities, all instances; back to the
 * old ones for all of them if one cannot be set up. ACRT_OK, or ACRT_ERR
 * (rolled back), or ACRT_EFATAL (neither could be set up).
 *
 * The running spec is written here alone, on the supervising thread, while
 * every thread that runs the component is parked (swap.c's pause). */
static int
swap_comp(acrt__runtime *rt, size_t i, acrt__blueprint *nb, char *why, size_t n)
{
	acrt__comp *c = &rt->comps[i];
	acrt__comp_spec *run = (acrt__comp_spec *)c->spec; /* the running blueprint's */
	int r;
	trade(run, &nb->comps[i]);
	for (r = 0; r < c->n_inst; r++) {
		acrt_ctx *ctx = &c->inst[r];
		void *snap = NULL;
		size_t len = 0;
		if (atomic_load(&ctx->run_state) != ACRT__INST_RUNNING)
			continue; /* ended: nothing to replace */
		int rc = reinstall(ctx, run, &snap, &len);
		if (rc == ACRT_OK) {
			free(snap);
			continue;
		}
		snprintf(why, n, "component '%s' could not be set up with its new config: %s",
		         run->name, ctx->err[0] ? ctx->err : acrt_strerror(rc));
		if (ctx->set_up && c->desc->cleanup != NULL)
			c->desc->cleanup(ctx, ctx->self);
		ctx->set_up = false;
		trade(run, &nb->comps[i]); /* the old config again, for every instance */
		rc = reinstall(ctx, run, &snap, &len);
		free(snap);
		/* Those already swapped, even after a failure: none may keep a value
		 * of nb, which the caller frees. */
		for (int k = 0; k < r; k++) {
			snap = NULL;
			if (atomic_load(&c->inst[k].run_state) == ACRT__INST_RUNNING &&
			    reinstall(&c->inst[k], run, &snap, &len) != ACRT_OK)
				rc = ACRT_ERR;
			free(snap);
		}
		return rc == ACRT_OK ? ACRT_ERR : ACRT_EFATAL;
	}
	return ACRT_OK;
}

int
acrt__swap_in_place(acrt__runtime *rt, acrt__blueprint *nb, const json_t *d, char *why, size_t n)
{
	if (!eligible(rt, nb, d))
		return 0;
	const char *name;
	json_t *what;
	json_object_foreach((json_t *)json_object_get(d, "changed"), name, what)
	{
		long i = acrt__blueprint_find(nb, name);
		acrt__comp *head = chain_head(rt, &rt->comps[i]);
		set_pause(rt, head, true);
		if (!wait_parked(rt, head)) {
			set_pause(rt, head, false);
			snprintf(why, n, "'%s' could not be paused within 5 s", head->spec->name);
			return -1;
		}
		int rc = swap_comp(rt, (size_t)i, nb, why, n);
		set_pause(rt, head, false);
		if (rc == ACRT_EFATAL) {
			acrt__log(
			    ACRT_LOG_ERROR, name, 0, NULL,
			    "reload: neither the new nor the old config could be set up; stopping");
			acrt__tg_cancel(&rt->tg);
			return -1;
		}
		if (rc != ACRT_OK)
			return -1; /* the components swapped before it keep their new config */
	}
	return 1; /* rt->bp holds the new configs; nb the old ones (reload.c frees it) */
}
