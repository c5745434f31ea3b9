/*
 * recovery.c - opening the checkpoint store at start, `acrt run --resume`
 * (choosing, verifying and loading a checkpoint into the instances), and the
 * restore calls after setup. Runs on the runtime's thread before the writer
 * thread starts (see checkpoint.h). The CLI's `acrt checkpoints` opens the
 * store through acrt__state_open_bp.
 *
 * Before a run opens its store it takes the store's lock (the adapter's
 * lock_path, core/filelock.h), so that two systems pointing at one store
 * never both write checkpoints: the second is refused at start (exit 1). The
 * lock is held until the generation ends, and across a reload (rt->ck_carry).
 * A store with no file (redis) keeps its lock in the store instead, a lease
 * with an expiry (lease_take): the writer refreshes it (acrt__ck_refresh),
 * and a reload hands it over the same way (lease_carry).
 * acrt__state_open_bp, for the CLI's read-only commands, takes none.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/ckpt_int.h"
#include "core/common.h"
#include "core/log.h"
#include "state/adapter.h"
#include "state/kv.h"
#include "state/part.h"

/* ---- Opening, resuming, finishing ------------------------------------------- */

typedef struct first_problem {
	char text[640];
	size_t n;
} first_problem;

static void
note_problem(void *arg, const char *part, const char *reason)
{
	first_problem *p = arg;
	if (p->n++ == 0)
		snprintf(p->text, sizeof p->text, "part %s: %s", part, reason);
}

/* Reads checkpoint id and verifies it, bound to this system: fp says why it
 * cannot be restored (fp->n == 0: it can, in *c). */
static void
read_verified(acrt__ckpt_rt *ck, uint64_t id, acrt__ckpt *c, first_problem *fp)
{
	char err[512];
	int format = 0;
	const char *sys = acrt__ckpt_store_system(ck->rt->bp);
	int rc = ck->ops->get(ck->ad, id, c, err, sizeof err);
	if (rc != ACRT_OK) {
		snprintf(fp->text, sizeof fp->text, "%s", err);
		fp->n = 1;
		return;
	}
	acrt__ckpt_verify_bound(c, sys, note_problem, fp, &format);
	if (fp->n > 1) {
		size_t len = strlen(fp->text);
		snprintf(fp->text + len, sizeof fp->text - len, "; and %zu more problem%s",
		         fp->n - 1, fp->n > 2 ? "s" : "");
	}
	if (fp->n == 0 && format < ACRT__MANIFEST_FORMAT)
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "checkpoint %" PRIu64
		          " was written by an older acrt (manifest format %d): its manifest lists "
		          "no part digests, so a part copied from another checkpoint would not be "
		          "noticed; restored after the checks it allows (id, system, checksums)",
		          id, format);
}

int
acrt__ck_apply_payload(acrt_ctx *ctx, const unsigned char *p, size_t n, char *why, size_t whylen)
{
	const unsigned char *kv, *own;
	size_t kvlen, ownlen;
	if (acrt__part_split(p, n, &kv, &kvlen, &own, &ownlen) != ACRT_OK) {
		snprintf(why, whylen, "malformed instance payload");
		return ACRT_EINVAL;
	}
	if (ctx->kv == NULL && (ctx->kv = acrt__kv_new()) == NULL)
		return ACRT_ENOMEM;
	if (acrt__kv_load(ctx->kv, kv, kvlen) != ACRT_OK) {
		snprintf(why, whylen, "malformed managed state");
		return ACRT_EINVAL;
	}
	free(ctx->restore_buf);
	ctx->restore_buf = malloc(ownlen ? ownlen : 1);
	if (ctx->restore_buf == NULL)
		return ACRT_ENOMEM;
	memcpy(ctx->restore_buf, own, ownlen);
	ctx->restore_len = ownlen;
	ctx->has_restore = true;
	return ACRT_OK;
}

/* Loads the positions of the bindings to and from other nodes. */
static int
apply_hops(acrt__runtime *rt, const acrt__ckpt *c)
{
	char name[320], why[160];
	for (size_t i = 0; i < rt->n_transports; i++) {
		acrt__transport *t = rt->transports[i];
		if (!t->ck_on)
			continue;
		snprintf(name, sizeof name, "hop:%s", t->name);
		const acrt__blob *b = acrt__ckpt_part(c, name);
		if (b == NULL) {
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
			          "checkpoint %" PRIu64
			          " has no position for binding %s: it starts "
			          "afresh (a binding new since)",
			          c->id, t->name);
			continue;
		}
		if (t->ops->ck_load(t, b->data + ACRT__PART_HDR, b->len - ACRT__PART_HDR, why,
		                    sizeof why) != 0) {
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
			          "checkpoint %" PRIu64 ": part %s: %s", c->id, name, why);
			return ACRT_EINVAL;
		}
	}
	return ACRT_OK;
}

/* Loads checkpoint c into the instances. acrt__ckpt_verify_bound has checked
 * every part's header, checksum and binding to c (the manifest's id, system
 * and digests): the payloads are used as they are. */
static int
apply_checkpoint(acrt__runtime *rt, const acrt__ckpt *c)
{
	char name[160], why[160];
	for (size_t i = 0; i < rt->bp->n_comps; i++) {
		acrt__comp *comp = &rt->comps[i];
		for (int r = 0; r < comp->n_inst; r++) {
			snprintf(name, sizeof name, "%s#%d", comp->spec->name, r);
			const acrt__blob *b = acrt__ckpt_part(c, name);
			if (b == NULL) {
				acrt__log(ACRT_LOG_WARN, comp->spec->name, 0, NULL,
				          "checkpoint %" PRIu64
				          " has no state for %s: it starts empty",
				          c->id, name);
				continue;
			}
			int rc = acrt__ck_apply_payload(&comp->inst[r], b->data + ACRT__PART_HDR,
			                                b->len - ACRT__PART_HDR, why, sizeof why);
			if (rc != ACRT_OK) {
				acrt__log(ACRT_LOG_ERROR, comp->spec->name, 0, NULL,
				          "checkpoint %" PRIu64 ": part %s: %s", c->id, name,
				          rc == ACRT_ENOMEM ? "out of memory" : why);
				return rc;
			}
		}
	}
	return apply_hops(rt, c);
}

/* Finds the checkpoint to resume from (want: "" = newest complete one) and
 * loads it. Returns 0, or 1 after logging. */
static int
resume_from(acrt__ckpt_rt *ck, const acrt__ckpt *all, size_t n, const char *want)
{
	uint64_t id = 0;
	if (want[0] != '\0') {
		char *end;
		id = strtoull(want, &end, 10);
		if (*end != '\0' || id == 0) {
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
			          "--resume=%s: expected a checkpoint id", want);
			return 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (id != 0 && all[i].id != id)
			continue;
		acrt__ckpt c = {0};
		first_problem fp = {.n = 0};
		read_verified(ck, all[i].id, &c, &fp);
		if (fp.n == 0) {
			int rc = apply_checkpoint(ck->rt, &c);
			acrt__ckpt_clear(&c);
			if (rc != ACRT_OK)
				return 1;
			acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
			          "resuming from checkpoint %" PRIu64 " (%s)", all[i].id,
			          ck->ops->name);
			return 0;
		}
		acrt__ckpt_clear(&c);
		if (id != 0) {
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
			          "checkpoint %" PRIu64 " cannot be restored: %s", id, fp.text);
			return 1;
		}
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "checkpoint %" PRIu64 " is skipped (%s); trying the previous one",
		          all[i].id, fp.text);
	}
	if (id != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "--resume=%s: no such checkpoint in %s",
		          want, ck->ops->name);
		return 1;
	}
	acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
	          "--resume: no complete checkpoint found: starting fresh");
	return 0;
}

/* Highest stored id, and the resume. Runtime thread, before the writer. */
static int
scan_store(acrt__ckpt_rt *ck, const char *resume)
{
	acrt__ckpt *all = NULL;
	size_t n = 0;
	char err[256];
	if (ck->ad == NULL || ck->ops->list(ck->ad, &all, &n, err, sizeof err) != ACRT_OK) {
		if (resume == NULL)
			return 0; /* fail-soft: writes will retry */
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "--resume: cannot read the %s store: %s",
		          ck->ops->name, ck->ad ? err : ck->last_error);
		return 1;
	}
	if (n > 0)
		ck->last_id = all[0].id;
	acrt__ck_note_lost(ck, all, n); /* logged and counted, then skipped below */
	int rc = resume != NULL ? resume_from(ck, all, n, resume) : 0;
	for (size_t i = 0; i < n; i++)
		acrt__ckpt_clear(&all[i]);
	free(all);
	return rc;
}

const char *
acrt__ckpt_store_system(const acrt__blueprint *bp)
{
	return bp->state.store_name ? bp->state.store_name /* a node's: nodes.c */
	       : bp->name           ? bp->name
	                            : "system";
}

/* The store settings of a blueprint, defaults filled in (also for the CLI). */
static int
fill_cfg(const acrt__blueprint *bp, acrt__state_cfg *cfg, char **path)
{
	char rel[300];
	memset(cfg, 0, sizeof *cfg);
	cfg->adapter = bp->state.adapter ? bp->state.adapter : "sqlite_snapshot";
	const char *sys = acrt__ckpt_store_system(bp);
	snprintf(rel, sizeof rel, "state/%s.db", sys);
	*path = bp->state.path ? acrt__strdup(bp->state.path) : acrt__path_join(bp->dir, rel);
	cfg->path = *path;
	cfg->redis_url = bp->state.redis_url ? bp->state.redis_url : "redis://127.0.0.1:6379";
	cfg->system_name = sys;
	cfg->timeout_ms = 2000;
	return *path != NULL ? ACRT_OK : ACRT_ENOMEM;
}

int
acrt__state_open_bp(const acrt__blueprint *bp, acrt__state_adapter **ad,
                    const acrt__state_ops **ops, char *err, size_t errlen)
{
	acrt__state_cfg cfg;
	char *path = NULL;
	if (fill_cfg(bp, &cfg, &path) != ACRT_OK)
		return ACRT_ENOMEM;
	*ops = acrt__state_ops_find(cfg.adapter);
	int rc = *ops != NULL ? (*ops)->open(&cfg, ad, err, errlen) : ACRT_EINVAL;
	acrt__free(path);
	return rc;
}

/* ---- The store's lock: one writing process per store -------------------- */

/* A lease a generation that quiesced for a reload hands to the next one, as
 * rt->ck_carry does a file lock (a store with no file: redis). */
static pthread_mutex_t carry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	acrt__runtime *rt;
	const acrt__state_ops *ops;
	acrt__state_lease *lease;
} lease_carry; /* carry_mu */

/* Where a store's keys are, for messages: its path, or its keys. */
static void
store_where(const acrt__ckpt_rt *ck, char *out, size_t outlen)
{
	if (ck->ops->lease_take == NULL && ck->cfg.path != NULL)
		snprintf(out, outlen, "%s", ck->cfg.path);
	else
		snprintf(out, outlen, "acrt:%s:*", ck->cfg.system_name ? ck->cfg.system_name : "?");
}

static int
claim_lease(acrt__ckpt_rt *ck, char *err, size_t errlen)
{
	char why[400] = "", where[240];
	int rc = ck->ops->lease_take(&ck->cfg, &ck->lease, why, sizeof why);
	store_where(ck, where, sizeof where);
	if (rc == ACRT__LEASE_HELD) {
		ck->lease = NULL;
		snprintf(err, errlen, "the %s store %s is in use by another run (%s)",
		         ck->ops->name, where, why);
		return ACRT__FLOCK_HELD;
	}
	if (rc != ACRT_OK) {
		ck->lease = NULL;
		snprintf(err, errlen, "%s", why);
		return ACRT__FLOCK_ERROR;
	}
	if (why[0] != '\0')
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL, "state: %s store %s: %s", ck->ops->name,
		          where, why);
	pthread_mutex_lock(&ck->mu);
	ck->lease_due = 0; /* the writer refreshes it at once: shared, it may be old */
	pthread_mutex_unlock(&ck->mu);
	return ACRT__FLOCK_TAKEN;
}

int
acrt__ck_refresh(acrt__ckpt_rt *ck, char *err, size_t errlen)
{
	if (ck->lease == NULL)
		return ACRT_OK;
	int rc = ck->ops->lease_refresh(ck->lease, err, errlen);
	pthread_mutex_lock(&ck->mu);
	ck->lease_due = acrt__mono_ns() + (int64_t)ck->ops->lease_ttl_ms * 1000000 / 3;
	pthread_mutex_unlock(&ck->mu);
	return rc;
}

int
acrt__ck_claim(acrt__ckpt_rt *ck, acrt__lock_holder *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	if (ck->lock != NULL || ck->lease != NULL)
		return ACRT__FLOCK_TAKEN;
	if (ck->ops->lease_take != NULL)
		return claim_lease(ck, err, errlen);
	if (ck->ops->lock_path == NULL)
		return ACRT__FLOCK_TAKEN;
	char *lp = ck->ops->lock_path(&ck->cfg);
	if (lp == NULL) {
		snprintf(err, errlen, "out of memory");
		return ACRT__FLOCK_ERROR;
	}
	char why[400];
	int st = acrt__filelock_take(lp, &ck->lock, h, why, sizeof why);
	if (st == ACRT__FLOCK_HELD && h->pid != 0)
		snprintf(err, errlen,
		         "the %s store %s is in use by another run (pid %ld, since %s; lock %s)",
		         ck->ops->name, ck->cfg.path, h->pid, h->since[0] ? h->since : "?", lp);
	else if (st == ACRT__FLOCK_HELD)
		snprintf(err, errlen, "the %s store %s is in use by another run (lock %s)",
		         ck->ops->name, ck->cfg.path, lp);
	else if (st == ACRT__FLOCK_ERROR)
		snprintf(err, errlen, "%s", why);
	acrt__free(lp);
	return st;
}

void
acrt__ck_unclaim(acrt__ckpt_rt *ck)
{
	acrt__runtime *rt = ck->rt;
	if (ck->lock != NULL && atomic_load(&rt->reloading) && rt->ck_carry == NULL)
		rt->ck_carry = ck->lock; /* the next generation lets it go */
	else
		acrt__filelock_release(ck->lock);
	ck->lock = NULL;
	if (ck->lease == NULL)
		return;
	pthread_mutex_lock(&carry_mu);
	bool carry = atomic_load(&rt->reloading) && lease_carry.lease == NULL;
	if (carry) {
		lease_carry.rt = rt;
		lease_carry.ops = ck->ops;
		lease_carry.lease = ck->lease;
	}
	pthread_mutex_unlock(&carry_mu);
	if (!carry)
		ck->ops->lease_release(ck->lease);
	ck->lease = NULL;
}

int
acrt__ckpt_store_check(const acrt__blueprint *bp, char *why, size_t whylen)
{
	if (!bp->state.on)
		return 0;
	acrt__ckpt_rt ck; /* only what acrt__ck_claim reads */
	memset(&ck, 0, sizeof ck);
	pthread_mutex_init(&ck.mu, NULL);
	if (fill_cfg(bp, &ck.cfg, &ck.path) != ACRT_OK) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	ck.ops = acrt__state_ops_find(ck.cfg.adapter);
	acrt__lock_holder h;
	int st = ck.ops != NULL ? acrt__ck_claim(&ck, &h, why, whylen) : ACRT__FLOCK_TAKEN;
	acrt__filelock_release(ck.lock); /* held already: one holder less; else freed */
	if (ck.lease != NULL)
		ck.ops->lease_release(ck.lease); /* likewise */
	acrt__free(ck.path);
	pthread_mutex_destroy(&ck.mu);
	return st == ACRT__FLOCK_HELD ? -1 : 0;
}

/* Takes the store's lock before the store is opened for the run. Another run
 * holding it refuses this one: returns 1 after logging. */
static int
claim_store(acrt__ckpt_rt *ck)
{
	acrt__lock_holder h;
	char err[600];
	int st = acrt__ck_claim(ck, &h, err, sizeof err);
	if (st == ACRT__FLOCK_HELD) {
		char wait[80] = "";
		if (ck->ops->lease_take != NULL)
			snprintf(wait, sizeof wait,
			         ", or wait up to %d s for a killed run's lock to expire",
			         ck->ops->lease_ttl_ms / 1000);
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "state: %s: two systems must not write checkpoints into one store; "
		          "stop the other run%s, or give this system its own %s",
		          err, wait,
		          ck->ops->lease_take != NULL ? "system_name (or Redis db)"
		                                      : "runtime.state.path");
		return 1;
	}
	if (st == ACRT__FLOCK_ERROR) { /* the store itself will likely fail too: fail-soft */
		char where[240];
		store_where(ck, where, sizeof where);
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "state: no store lock (%s): another run writing to %s would not be "
		          "refused",
		          err, where);
	} else if (h.pid != 0) {
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "state: the previous run on %s (pid %ld, since %s) did not end "
		          "cleanly%s; its lock %s is reclaimed",
		          ck->cfg.path, h.pid, h.since[0] ? h.since : "an unknown time",
		          h.gone ? " (the process is gone)" : "", acrt__filelock_path(ck->lock));
	}
	return 0;
}

static int
open_checkpoints(acrt__runtime *rt, const char *resume)
{
	const acrt__blueprint *bp = rt->bp;
	if (!bp->state.on) {
		if (resume == NULL)
			return 0;
		acrt__log(
		    ACRT_LOG_ERROR, NULL, 0, NULL,
		    "--resume needs runtime.state in the deployment (there is nothing to resume)");
		return 1;
	}
	acrt__ckpt_rt *ck = calloc(1, sizeof *ck);
	if (ck == NULL)
		return 1;
	ck->wake_fd = -1;
	ck->rt = rt;
	ck->q_tail = &ck->q_head;
	ck->interval_ns = (int64_t)(bp->state.interval_s * 1e9);
	ck->timeout_ns = bp->state.align_timeout_ms * 1000000;
	ck->retain = (unsigned)bp->state.retain;
	ck->next_due = acrt__mono_ns() + ck->interval_ns;
	pthread_mutex_init(&ck->mu, NULL);
	pthread_condattr_t ca;            /* the writer's timed waits (the lease) are monotonic */
	(void)pthread_condattr_init(&ca); /* cannot fail (glibc) */
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ck->cv, &ca);
	pthread_condattr_destroy(&ca);
	rt->ck = ck;
	for (size_t i = 0; i < bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; r < c->n_inst; r++) {
			c->inst[r].ck_slot = ck->n_slots++;
			if (c->desc->run != NULL)
				c->inst[r].trigger = &ck->trigger;
		}
		if (c->has_inbox)
			c->inbox.aborted = &ck->aborted;
	}
	/* Bindings to and from other nodes: each side's position is a part of
	 * its own (exactly-once across nodes, docs/MULTINODE.md). */
	ck->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck->link = (acrt__ck_link){
	    .trigger = &ck->trigger, .aborted = &ck->aborted, .nudge = acrt__ck_nudge, .arg = rt};
	for (size_t i = 0; i < rt->n_transports; i++) {
		acrt__transport *t = rt->transports[i];
		if (t->ops->ck_save == NULL)
			continue;
		t->ck_slot = ck->n_slots++;
		t->ck_on = true;
		if (t->ops->ck_start != NULL)
			t->ops->ck_start(t, &ck->link);
	}
	ck->finals = calloc(ck->n_slots ? ck->n_slots : 1, sizeof *ck->finals);
	if (ck->finals == NULL || fill_cfg(bp, &ck->cfg, &ck->path) != ACRT_OK)
		return 1;
	ck->ops = acrt__state_ops_find(ck->cfg.adapter);
	if (claim_store(ck) != 0)
		return 1;
	char err[256] = "";
	if (ck->ops->open(&ck->cfg, &ck->ad, err, sizeof err) != ACRT_OK) {
		ck->ad = NULL;
		snprintf(ck->last_error, sizeof ck->last_error, "%s", err);
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "state: cannot open the %s store: %s%s",
		          ck->ops->name, err, resume ? "" : "; checkpoints will try again");
	}
	if (scan_store(ck, resume) != 0)
		return 1;
	if (pthread_create(&ck->writer, NULL, acrt__ck_writer_main, ck) != 0)
		return 1;
	ck->writer_up = true;
	return 0;
}

int
acrt__ckpt_open(acrt__runtime *rt, const char *resume)
{
	/* A reload: the previous generation's store lock is let go only once
	 * this one holds its own (the same file: shared, core/filelock.h). */
	acrt__filelock *carried = rt->ck_carry;
	rt->ck_carry = NULL;
	const acrt__state_ops *lops = NULL;
	acrt__state_lease *lease = NULL;
	pthread_mutex_lock(&carry_mu);
	if (lease_carry.rt == rt) {
		lops = lease_carry.ops;
		lease = lease_carry.lease;
		memset(&lease_carry, 0, sizeof lease_carry);
	}
	pthread_mutex_unlock(&carry_mu);
	int rc = open_checkpoints(rt, resume);
	acrt__filelock_release(carried);
	if (lease != NULL) /* the same lock: shared (adapter.h, lease_take) */
		lops->lease_release(lease);
	return rc;
}

int
acrt__ckpt_restore(acrt__runtime *rt)
{
	for (size_t i = 0; i < rt->bp->n_comps; i++) { /* checkpoints and reloads */
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; r < c->n_inst; r++) {
			acrt_ctx *ctx = &c->inst[r];
			if (!ctx->has_restore)
				continue;
			int rc = ACRT_OK;
			if (c->desc->restore != NULL && ctx->set_up)
				rc = c->desc->restore(ctx, ctx->self, ctx->restore_buf,
				                      ctx->restore_len);
			free(ctx->restore_buf);
			ctx->restore_buf = NULL;
			if (rc != ACRT_OK) {
				acrt__log(ACRT_LOG_ERROR, c->spec->name, 0, NULL,
				          "restore failed: %s",
				          ctx->err[0] ? ctx->err : acrt_strerror(rc));
				return 1;
			}
		}
	}
	return 0;
}
