/*
 * checkpoint.c - the checkpoint coordinator, the instances' side of barriers,
 * and the writer thread (see checkpoint.h for the protocol).
 *
 * Locking: ck->mu guards everything in acrt__ckpt_rt below it, except the
 * atomics (trigger, aborted, deadline), which instance threads read without
 * it. The adapter is used by one thread at a time: the runtime's thread
 * before the writer starts and after it is joined, the writer in between.
 */
#include "harness/checkpoint.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"
#include "core/strbuf.h"
#include "core/waitq.h"
#include "observe/enrich.h"
#include "observe/log.h"
#include "state/adapter.h"
#include "state/kv.h"
#include "state/part.h"

#define RECENT 16 /* completed checkpoints remembered for the API */

typedef struct ckpt_rec {
	uint64_t id;
	int64_t wall_ns;
	size_t bytes, parts;
	double seconds; /* from trigger to stored */
} ckpt_rec;

typedef struct queued {
	acrt__ckpt ck;
	int64_t started; /* monotonic, when triggered */
	struct queued *next;
} queued;

struct acrt__ckpt_rt {
	acrt__runtime *rt;
	const acrt__state_ops *ops;
	acrt__state_adapter *ad;
	acrt__state_cfg cfg;
	char *path; /* owned copy for cfg.path */
	int64_t interval_ns, timeout_ns;
	unsigned retain;
	size_t n_slots; /* instances */

	_Atomic uint64_t trigger; /* newest barrier sources must inject */
	_Atomic uint64_t aborted; /* barriers up to this id are abandoned */
	_Atomic int64_t deadline; /* alignment deadline of the open checkpoint */

	pthread_mutex_t mu;
	pthread_cond_t cv; /* the writer waits here */
	uint64_t last_id;  /* highest id handed out (also from the store) */
	uint64_t cur;      /* the open checkpoint, 0 = none */
	int64_t cur_started, cur_wall;
	bool cur_failed; /* an instance could not snapshot: abort at the next tick */
	acrt__blob *slots; /* n_slots parts of the open checkpoint */
	size_t got;
	acrt__blob *finals; /* n_slots: final parts of ended instances */
	bool requested;
	int64_t next_due;
	queued *q_head, **q_tail;
	bool stop;
	pthread_t writer;
	bool writer_up;
	/* statistics */
	uint64_t n_done, n_failed, n_aborted;
	ckpt_rec recent[RECENT]; /* ring, newest at (n_done - 1) % RECENT */
	char last_error[256];
};

/* ---- Parts ------------------------------------------------------------------ */

static void
blob_free(acrt__blob *b)
{
	free(b->name);
	free(b->data);
	b->name = NULL;
	b->data = NULL;
	b->len = 0;
}

static int
blob_copy(acrt__blob *dst, const acrt__blob *src)
{
	dst->name = strdup(src->name);
	dst->data = malloc(src->len);
	if (dst->name == NULL || dst->data == NULL) {
		blob_free(dst);
		return ACRT_ENOMEM;
	}
	memcpy(dst->data, src->data, src->len);
	dst->len = src->len;
	return ACRT_OK;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The instance's part, unsealed (the writer seals it): room for the header,
 * then managed state and own snapshot. On the instance's thread. */
static int
build_part(acrt_ctx *ctx, acrt__blob *out)
{
	const acrt_component_desc *d = ctx->comp->desc;
	void *own = NULL;
	size_t ownlen = 0;
	char name[160];
	if (d->snapshot != NULL && ctx->set_up) {
		int rc = d->snapshot(ctx, ctx->self, &own, &ownlen);
		if (rc != ACRT_OK) {
			acrt__log(ACRT_LOG_ERROR, ctx->comp->spec->name, 0, NULL, "snapshot failed: %s",
			          ctx->err[0] ? ctx->err : acrt_strerror(rc));
			ctx->err[0] = '\0';
			free(own);
			return rc;
		}
	}
	size_t kvlen = ctx->kv != NULL ? acrt__kv_dump_size(ctx->kv) : 8;
	size_t n = ACRT__PART_HDR + 8 + kvlen + 8 + ownlen;
	unsigned char *buf = malloc(n);
	snprintf(name, sizeof name, "%s#%d", ctx->comp->spec->name, ctx->replica);
	out->name = strdup(name);
	if (buf == NULL || out->name == NULL) {
		free(buf);
		free(own);
		free(out->name);
		out->name = NULL;
		return ACRT_ENOMEM;
	}
	unsigned char *p = buf + ACRT__PART_HDR;
	put_u64(p, kvlen);
	if (ctx->kv != NULL)
		acrt__kv_dump(ctx->kv, p + 8);
	else
		put_u64(p + 8, 0);
	put_u64(p + 8 + kvlen, ownlen);
	if (ownlen > 0)
		memcpy(p + 16 + kvlen, own, ownlen);
	free(own);
	out->data = buf;
	out->len = n;
	return ACRT_OK;
}

/* ---- Coordinator ------------------------------------------------------------ */

/* Moves the open checkpoint to the writer. Called with mu held. */
static void
complete_locked(acrt__ckpt_rt *ck)
{
	queued *q = calloc(1, sizeof *q);
	if (q == NULL) { /* keep going: this one is lost, the next may fit */
		for (size_t i = 0; i < ck->n_slots; i++)
			blob_free(&ck->slots[i]);
		free(ck->slots);
		ck->n_failed++;
		snprintf(ck->last_error, sizeof ck->last_error, "out of memory");
	} else {
		q->ck.id = ck->cur;
		q->ck.wall_ns = ck->cur_wall;
		q->ck.parts = ck->slots;
		q->ck.n_parts = ck->n_slots;
		q->started = ck->cur_started;
		*ck->q_tail = q;
		ck->q_tail = &q->next;
		pthread_cond_signal(&ck->cv);
	}
	ck->slots = NULL;
	ck->cur = 0;
	ck->got = 0;
}

/* Hands in part b (owned) for checkpoint id, or a failure when b is NULL. */
static void
submit(acrt__ckpt_rt *ck, size_t slot, uint64_t id, acrt__blob *b)
{
	pthread_mutex_lock(&ck->mu);
	if (id == ck->cur && ck->slots[slot].data == NULL) {
		if (b == NULL) {
			ck->cur_failed = true;
		} else {
			ck->slots[slot] = *b;
			b->name = NULL;
			b->data = NULL;
			if (++ck->got == ck->n_slots)
				complete_locked(ck);
		}
	}
	pthread_mutex_unlock(&ck->mu);
	if (b != NULL)
		blob_free(b);
}

static void
wake_all(acrt__runtime *rt)
{
	pthread_mutex_lock(&rt->mu);
	pthread_cond_broadcast(&rt->wake); /* sources sleeping in acrt_sleep_until */
	pthread_mutex_unlock(&rt->mu);
	for (size_t i = 0; i < rt->bp->n_comps; i++)
		if (rt->comps[i].has_inbox)
			acrt__waitq_notify(&rt->comps[i].inbox.wq);
}

/* Opens checkpoint id+1. Called with mu held; returns true when sources must
 * be woken (the trigger was raised). */
static bool
open_locked(acrt__ckpt_rt *ck, int64_t now)
{
	acrt__blob *slots = calloc(ck->n_slots, sizeof *slots);
	if (slots == NULL)
		return false;
	ck->slots = slots;
	ck->cur = ++ck->last_id;
	ck->cur_started = now;
	ck->cur_wall = acrt__wall_ns();
	ck->cur_failed = false;
	ck->got = 0;
	ck->requested = false;
	atomic_store(&ck->deadline, now + ck->timeout_ns);
	for (size_t i = 0; i < ck->n_slots; i++) /* ended instances: their final state */
		if (ck->finals[i].data != NULL && blob_copy(&slots[i], &ck->finals[i]) == ACRT_OK)
			ck->got++;
	if (ck->got == ck->n_slots) {
		complete_locked(ck);
		return false;
	}
	atomic_store_explicit(&ck->trigger, ck->cur, memory_order_release);
	return true;
}

static void
abort_locked(acrt__ckpt_rt *ck, const char *why)
{
	uint64_t id = ck->cur;
	atomic_store_explicit(&ck->aborted, id, memory_order_release);
	for (size_t i = 0; i < ck->n_slots; i++)
		blob_free(&ck->slots[i]);
	free(ck->slots);
	ck->slots = NULL;
	ck->cur = 0;
	ck->got = 0;
	ck->n_aborted++;
	snprintf(ck->last_error, sizeof ck->last_error, "checkpoint %" PRIu64 " aborted: %s", id,
	         why);
	json_t *x = json_pack("{s:I,s:s}", "checkpoint", (json_int_t)id, "reason", why);
	acrt__log(ACRT_LOG_WARN, NULL, 0, x, "checkpoint %" PRIu64 " aborted: %s", id, why);
	json_decref(x);
}

int64_t
acrt__ckpt_tick(acrt__runtime *rt, int64_t now)
{
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return ACRT__FOREVER;
	bool wake = false, aborted = false;
	pthread_mutex_lock(&ck->mu);
	if (ck->cur != 0 && (ck->cur_failed || now >= atomic_load(&ck->deadline))) {
		abort_locked(ck, ck->cur_failed ? "a component could not snapshot"
		                                : "barriers did not align within checkpoint_timeout_ms");
		aborted = true;
	}
	bool stopping = atomic_load(&rt->stopping) || atomic_load(&rt->cancelled);
	if (ck->cur == 0 && !stopping &&
	    (ck->requested || (ck->interval_ns > 0 && now >= ck->next_due))) {
		ck->next_due = now + ck->interval_ns;
		wake = open_locked(ck, now);
	}
	/* While one is open, look again soon: completion happens on instance
	 * threads, and the next interval counts from the trigger. */
	int64_t next = ck->cur != 0                       ? now + 5000000
	               : ck->interval_ns > 0 && !stopping ? ck->next_due
	                                                  : ACRT__FOREVER;
	if (ck->requested && !stopping)
		next = now;
	pthread_mutex_unlock(&ck->mu);
	if (wake || aborted)
		wake_all(rt);
	return next;
}

int64_t
acrt__ckpt_request(acrt__runtime *rt)
{
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return -1;
	pthread_mutex_lock(&ck->mu);
	ck->requested = true;
	int64_t id = (int64_t)ck->last_id;
	pthread_mutex_unlock(&ck->mu);
	return id;
}

/* ---- Instances ---------------------------------------------------------------- */

static int flush_batches(acrt_ctx *ctx);

int
acrt__ckpt_barrier(acrt_ctx *ctx, uint64_t id)
{
	acrt__ckpt_rt *ck = ctx->rt->ck;
	if (ck == NULL || id <= ctx->barrier_done)
		return ACRT_OK;
	/* Everything before the barrier is processed and sent before it. */
	int rc = flush_batches(ctx);
	if (rc == ACRT_OK)
		rc = acrt__ctx_flush_all(ctx);
	if (rc == ACRT_ECANCELED || rc == ACRT_EFATAL)
		return rc;
	ctx->barrier_done = id;
	acrt__blob part = {0};
	submit(ck, ctx->ck_slot, id, build_part(ctx, &part) == ACRT_OK ? &part : NULL);

	int64_t deadline = atomic_load(&ck->deadline);
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		acrt__outport *op = &ctx->comp->outs[i];
		if (op->chained != NULL) {
			rc = acrt__ckpt_barrier(&op->chained->inst[ctx->replica], id);
			if (rc == ACRT_ECANCELED)
				return rc;
			continue;
		}
		for (size_t t = 0; t < op->n_targets; t++) {
			acrt_event *b = acrt__event_new_barrier(id);
			if (b == NULL)
				continue; /* the checkpoint will not align, and be aborted */
			acrt__transport *tr = op->targets[t];
			if (tr->ops->send_barrier(tr, b, deadline) == ACRT_ECANCELED)
				return ACRT_ECANCELED;
		}
	}
	return ACRT_OK;
}

int
acrt__ckpt_source_barrier(acrt_ctx *ctx)
{
	uint64_t id = atomic_load_explicit(ctx->trigger, memory_order_acquire);
	if (id <= atomic_load_explicit(&ctx->rt->ck->aborted, memory_order_acquire)) {
		ctx->barrier_done = id; /* abandoned meanwhile */
		return ACRT_OK;
	}
	return acrt__ckpt_barrier(ctx, id);
}

void
acrt__ckpt_instance_end(acrt_ctx *ctx)
{
	acrt__ckpt_rt *ck = ctx->rt->ck;
	if (ck == NULL)
		return;
	if (acrt__ckpt_due(ctx))
		(void)acrt__ckpt_source_barrier(ctx);
	acrt__blob fin = {0};
	if (build_part(ctx, &fin) != ACRT_OK)
		return; /* no final part: checkpoints from now on abort, and say why */
	pthread_mutex_lock(&ck->mu);
	size_t s = ctx->ck_slot;
	if (ck->cur != 0 && ck->slots[s].data == NULL &&
	    blob_copy(&ck->slots[s], &fin) == ACRT_OK && ++ck->got == ck->n_slots)
		complete_locked(ck);
	ck->finals[s] = fin;
	pthread_mutex_unlock(&ck->mu);
}

/* A batching consumer's open batches hold events from before the barrier. */
static int
flush_batches(acrt_ctx *ctx)
{
	if (!ctx->comp->batching.enabled || ctx->batches == NULL)
		return ACRT_OK;
	return acrt__batching_drain(ctx);
}

/* ---- Writer -------------------------------------------------------------- */

static void
record(acrt__ckpt_rt *ck, const acrt__ckpt *c, size_t bytes, double secs)
{
	ckpt_rec *r = &ck->recent[ck->n_done % RECENT];
	r->id = c->id;
	r->wall_ns = c->wall_ns;
	r->bytes = bytes;
	r->parts = c->n_parts;
	r->seconds = secs;
	ck->n_done++;
}

/* Keeps the newest `retain` checkpoints. Writer thread. */
static void
apply_retain(acrt__ckpt_rt *ck)
{
	acrt__ckpt *all = NULL;
	size_t n = 0;
	char err[256];
	if (ck->ops->list(ck->ad, &all, &n, err, sizeof err) != ACRT_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (i >= ck->retain && ck->ops->del(ck->ad, all[i].id, err, sizeof err) != ACRT_OK)
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "retain: deleting checkpoint %" PRIu64 ": %s",
			          all[i].id, err);
		acrt__ckpt_clear(&all[i]);
	}
	free(all);
}

static void
write_one(acrt__ckpt_rt *ck, queued *q)
{
	acrt__ckpt *c = &q->ck;
	char err[256] = "";
	size_t bytes = 0;
	int rc = ACRT_ENOMEM;
	if (ck->ad == NULL && ck->ops->open(&ck->cfg, &ck->ad, err, sizeof err) != ACRT_OK) {
		ck->ad = NULL; /* still unreachable: fail-soft, the next one tries again */
		rc = ACRT_ERR;
		goto failed;
	}
	for (size_t i = 0; i < c->n_parts; i++) {
		acrt__part_seal(c->parts[i].data, c->parts[i].len - ACRT__PART_HDR);
		bytes += c->parts[i].len;
	}
	acrt__blob *parts = realloc(c->parts, (c->n_parts + 1) * sizeof *parts);
	if (parts == NULL)
		goto failed;
	c->parts = parts;
	if (acrt__part_manifest(ck->rt->bp->name, c, &parts[c->n_parts]) != ACRT_OK)
		goto failed;
	c->n_parts++;
	rc = ck->ops->put(ck->ad, c, err, sizeof err);
	if (rc != ACRT_OK)
		goto failed;
	double secs = (double)(acrt__mono_ns() - q->started) / 1e9;
	pthread_mutex_lock(&ck->mu);
	record(ck, c, bytes, secs);
	pthread_mutex_unlock(&ck->mu);
	json_t *x = json_pack("{s:I,s:I,s:I,s:f}", "checkpoint", (json_int_t)c->id, "parts",
	                      (json_int_t)c->n_parts, "bytes", (json_int_t)bytes, "seconds", secs);
	acrt__log(ACRT_LOG_INFO, NULL, 0, x, "checkpoint %" PRIu64 " stored (%zu bytes, %.3f s)",
	          c->id, bytes, secs);
	json_decref(x);
	apply_retain(ck);
	return;
failed:
	if (err[0] == '\0')
		snprintf(err, sizeof err, "%s", acrt_strerror(rc));
	pthread_mutex_lock(&ck->mu);
	ck->n_failed++;
	snprintf(ck->last_error, sizeof ck->last_error, "checkpoint %" PRIu64 ": %s", c->id, err);
	pthread_mutex_unlock(&ck->mu);
	json_t *y = json_pack("{s:I,s:s,s:s}", "checkpoint", (json_int_t)c->id, "adapter",
	                      ck->ops->name, "error", err);
	y = acrt__enrich_error(y, rc, "state", NULL, 1);
	acrt__log(ACRT_LOG_ERROR, NULL, 0, y,
	          "checkpoint %" PRIu64 " could not be stored (%s): %s; the run goes on and the next "
	          "checkpoint tries again",
	          c->id, ck->ops->name, err);
	json_decref(y);
}

static void *
writer_main(void *arg)
{
	acrt__ckpt_rt *ck = arg;
	pthread_setname_np(pthread_self(), "acrt-ckpt");
	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (ck->q_head == NULL && !ck->stop)
			pthread_cond_wait(&ck->cv, &ck->mu);
		queued *q = ck->q_head;
		if (q == NULL)
			break;
		ck->q_head = q->next;
		if (ck->q_head == NULL)
			ck->q_tail = &ck->q_head;
		pthread_mutex_unlock(&ck->mu);
		write_one(ck, q);
		acrt__ckpt_clear(&q->ck);
		free(q);
		pthread_mutex_lock(&ck->mu);
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* ---- Opening, resuming, finishing ------------------------------------------- */

typedef struct first_problem {
	char text[320];
	size_t n;
} first_problem;

static void
note_problem(void *arg, const char *part, const char *reason)
{
	first_problem *p = arg;
	if (p->n++ == 0)
		snprintf(p->text, sizeof p->text, "part %s: %s", part, reason);
}

/* Loads checkpoint c (verified) into the instances. */
static int
apply_checkpoint(acrt__runtime *rt, const acrt__ckpt *c)
{
	char name[160], why[160];
	for (size_t i = 0; i < rt->bp->n_comps; i++) {
		acrt__comp *comp = &rt->comps[i];
		for (int r = 0; r < comp->n_inst; r++) {
			acrt_ctx *ctx = &comp->inst[r];
			const unsigned char *p, *kv, *own;
			size_t n, kvlen, ownlen;
			snprintf(name, sizeof name, "%s#%d", comp->spec->name, r);
			const acrt__blob *b = acrt__ckpt_part(c, name);
			if (b == NULL) {
				acrt__log(ACRT_LOG_WARN, comp->spec->name, 0, NULL,
				          "checkpoint %" PRIu64 " has no state for %s: it starts empty", c->id,
				          name);
				continue;
			}
			if (acrt__part_open(b->data, b->len, &p, &n, why, sizeof why) != ACRT_OK ||
			    acrt__part_split(p, n, &kv, &kvlen, &own, &ownlen) != ACRT_OK)
				goto bad;
			if (ctx->kv == NULL && (ctx->kv = acrt__kv_new()) == NULL)
				return ACRT_ENOMEM;
			if (acrt__kv_load(ctx->kv, kv, kvlen) != ACRT_OK)
				goto bad;
			ctx->restore_buf = malloc(ownlen ? ownlen : 1);
			if (ctx->restore_buf == NULL)
				return ACRT_ENOMEM;
			memcpy(ctx->restore_buf, own, ownlen);
			ctx->restore_len = ownlen;
			ctx->has_restore = true;
			continue;
		bad:
			acrt__log(ACRT_LOG_ERROR, comp->spec->name, 0, NULL,
			          "checkpoint %" PRIu64 ": part %s is malformed", c->id, name);
			return ACRT_EINVAL;
		}
	}
	return ACRT_OK;
}

/* Finds the checkpoint to resume from (want: "" = newest complete one) and
 * loads it. Returns 0, or 1 after logging. */
static int
resume_from(acrt__ckpt_rt *ck, const acrt__ckpt *all, size_t n, const char *want)
{
	char err[256];
	uint64_t id = 0;
	if (want[0] != '\0') {
		char *end;
		id = strtoull(want, &end, 10);
		if (*end != '\0' || id == 0) {
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "--resume=%s: expected a checkpoint id",
			          want);
			return 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (id != 0 && all[i].id != id)
			continue;
		acrt__ckpt c = {0};
		first_problem fp = {.n = 0};
		if (ck->ops->get(ck->ad, all[i].id, &c, err, sizeof err) != ACRT_OK) {
			snprintf(fp.text, sizeof fp.text, "%s", err);
			fp.n = 1;
		} else {
			acrt__ckpt_verify(&c, note_problem, &fp);
		}
		if (fp.n == 0) {
			int rc = apply_checkpoint(ck->rt, &c);
			acrt__ckpt_clear(&c);
			if (rc != ACRT_OK)
				return 1;
			acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
			          "resuming from checkpoint %" PRIu64 " (%s)", all[i].id, ck->ops->name);
			return 0;
		}
		acrt__ckpt_clear(&c);
		if (id != 0) {
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
			          "checkpoint %" PRIu64 " cannot be restored: %s", id, fp.text);
			return 1;
		}
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "checkpoint %" PRIu64 " is skipped (%s); trying the previous one", all[i].id,
		          fp.text);
	}
	if (id != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "--resume=%s: no such checkpoint in %s", want,
		          ck->ops->name);
		return 1;
	}
	acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "--resume: no complete checkpoint found: starting fresh");
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
	int rc = resume != NULL ? resume_from(ck, all, n, resume) : 0;
	for (size_t i = 0; i < n; i++)
		acrt__ckpt_clear(&all[i]);
	free(all);
	return rc;
}

/* The store settings of a blueprint, defaults filled in (also for the CLI). */
static int
fill_cfg(const acrt__blueprint *bp, acrt__state_cfg *cfg, char **path)
{
	char rel[300];
	memset(cfg, 0, sizeof *cfg);
	cfg->adapter = bp->state.adapter ? bp->state.adapter : "sqlite_snapshot";
	snprintf(rel, sizeof rel, "state/%s.db", bp->name ? bp->name : "system");
	*path = bp->state.path ? strdup(bp->state.path) : acrt__path_join(bp->dir, rel);
	cfg->path = *path;
	cfg->redis_url = bp->state.redis_url ? bp->state.redis_url : "redis://127.0.0.1:6379";
	cfg->system_name = bp->name ? bp->name : "system";
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
	free(path);
	return rc;
}

int
acrt__ckpt_open(acrt__runtime *rt, const char *resume)
{
	const acrt__blueprint *bp = rt->bp;
	if (!bp->state.on) {
		if (resume == NULL)
			return 0;
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "--resume needs runtime.state in the deployment (there is nothing to resume)");
		return 1;
	}
	acrt__ckpt_rt *ck = calloc(1, sizeof *ck);
	if (ck == NULL)
		return 1;
	ck->rt = rt;
	ck->q_tail = &ck->q_head;
	ck->interval_ns = (int64_t)(bp->state.interval_s * 1e9);
	ck->timeout_ns = bp->state.align_timeout_ms * 1000000;
	ck->retain = (unsigned)bp->state.retain;
	ck->next_due = acrt__mono_ns() + ck->interval_ns;
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
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
	ck->finals = calloc(ck->n_slots ? ck->n_slots : 1, sizeof *ck->finals);
	if (ck->finals == NULL || fill_cfg(bp, &ck->cfg, &ck->path) != ACRT_OK)
		return 1;
	ck->ops = acrt__state_ops_find(ck->cfg.adapter);
	char err[256] = "";
	if (ck->ops->open(&ck->cfg, &ck->ad, err, sizeof err) != ACRT_OK) {
		ck->ad = NULL;
		snprintf(ck->last_error, sizeof ck->last_error, "%s", err);
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "state: cannot open the %s store: %s%s", ck->ops->name, err,
		          resume ? "" : "; checkpoints will try again");
	}
	if (scan_store(ck, resume) != 0)
		return 1;
	if (pthread_create(&ck->writer, NULL, writer_main, ck) != 0)
		return 1;
	ck->writer_up = true;
	return 0;
}

int
acrt__ckpt_restore(acrt__runtime *rt)
{
	for (size_t i = 0; rt->ck != NULL && i < rt->bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; r < c->n_inst; r++) {
			acrt_ctx *ctx = &c->inst[r];
			if (!ctx->has_restore)
				continue;
			int rc = ACRT_OK;
			if (c->desc->restore != NULL && ctx->set_up)
				rc = c->desc->restore(ctx, ctx->self, ctx->restore_buf, ctx->restore_len);
			free(ctx->restore_buf);
			ctx->restore_buf = NULL;
			if (rc != ACRT_OK) {
				acrt__log(ACRT_LOG_ERROR, c->spec->name, 0, NULL, "restore failed: %s",
				          ctx->err[0] ? ctx->err : acrt_strerror(rc));
				return 1;
			}
		}
	}
	return 0;
}

void
acrt__ckpt_finish(acrt__runtime *rt, bool graceful)
{
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return;
	pthread_mutex_lock(&ck->mu);
	if (ck->cur != 0)
		abort_locked(ck, "the run ended before it was complete");
	if (graceful && ck->writer_up) { /* everyone's final state */
		size_t finals = 0;
		for (size_t i = 0; i < ck->n_slots; i++)
			finals += ck->finals[i].data != NULL;
		if (finals == ck->n_slots)
			(void)open_locked(ck, acrt__mono_ns());
	}
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	if (ck->writer_up)
		pthread_join(ck->writer, NULL);
	while (ck->q_head != NULL) { /* the writer never started */
		queued *q = ck->q_head;
		ck->q_head = q->next;
		acrt__ckpt_clear(&q->ck);
		free(q);
	}
	for (size_t i = 0; ck->finals != NULL && i < ck->n_slots; i++)
		blob_free(&ck->finals[i]);
	free(ck->finals);
	if (ck->ad != NULL)
		ck->ops->close(ck->ad);
	free(ck->path);
	pthread_cond_destroy(&ck->cv);
	pthread_mutex_destroy(&ck->mu);
	rt->ck = NULL;
	free(ck);
}

/* ---- Reporting ------------------------------------------------------------- */

json_t *
acrt__ckpt_json(acrt__runtime *rt)
{
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return json_pack("{s:b,s:[]}", "enabled", 0, "checkpoints");
	json_t *list = json_array();
	pthread_mutex_lock(&ck->mu);
	for (uint64_t k = 0; k < ck->n_done && k < RECENT; k++) {
		const ckpt_rec *r = &ck->recent[(ck->n_done - 1 - k) % RECENT];
		json_array_append_new(list, json_pack("{s:I,s:I,s:I,s:I,s:f}", "id", (json_int_t)r->id,
		                                      "time_unix_ns", (json_int_t)r->wall_ns, "bytes",
		                                      (json_int_t)r->bytes, "parts",
		                                      (json_int_t)r->parts, "seconds", r->seconds));
	}
	json_t *j = json_pack("{s:b,s:s,s:I,s:I,s:I,s:s,s:o,s:o}", "enabled", 1, "adapter",
	                      ck->ops->name, "completed", (json_int_t)ck->n_done, "failed",
	                      (json_int_t)ck->n_failed, "aborted", (json_int_t)ck->n_aborted,
	                      "last_error", ck->last_error, "in_progress",
	                      ck->cur ? json_integer((json_int_t)ck->cur) : json_null(),
	                      "checkpoints", list);
	pthread_mutex_unlock(&ck->mu);
	return j;
}

void
acrt__ckpt_metrics(acrt__runtime *rt, acrt__strbuf *sb)
{
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return;
	pthread_mutex_lock(&ck->mu);
	const ckpt_rec *r = ck->n_done ? &ck->recent[(ck->n_done - 1) % RECENT] : NULL;
	acrt__strbuf_printf(
	    sb,
	    "# HELP acrt_checkpoints_total Checkpoints by outcome (stored, failed to store, aborted).\n"
	    "# TYPE acrt_checkpoints_total counter\n"
	    "acrt_checkpoints_total{result=\"completed\"} %" PRIu64 "\n"
	    "acrt_checkpoints_total{result=\"failed\"} %" PRIu64 "\n"
	    "acrt_checkpoints_total{result=\"aborted\"} %" PRIu64 "\n"
	    "# HELP acrt_checkpoint_last_id Id of the newest stored checkpoint.\n"
	    "# TYPE acrt_checkpoint_last_id gauge\n"
	    "acrt_checkpoint_last_id %" PRIu64 "\n"
	    "# HELP acrt_checkpoint_last_bytes Size of the newest stored checkpoint.\n"
	    "# TYPE acrt_checkpoint_last_bytes gauge\n"
	    "acrt_checkpoint_last_bytes %zu\n"
	    "# HELP acrt_checkpoint_last_duration_seconds Trigger to stored, newest checkpoint.\n"
	    "# TYPE acrt_checkpoint_last_duration_seconds gauge\n"
	    "acrt_checkpoint_last_duration_seconds %.6f\n",
	    ck->n_done, ck->n_failed, ck->n_aborted, r ? r->id : 0, r ? r->bytes : 0,
	    r ? r->seconds : 0.0);
	pthread_mutex_unlock(&ck->mu);
}
