/*
 * checkpoint.c - the checkpoint coordinator and the instances' side of
 * barriers (see checkpoint.h for the protocol); the writer thread is
 * ckpt_writer.c.
 *
 * Locking: ck->mu guards everything in acrt__ckpt_rt below it, except the
 * atomics (trigger, aborted, deadline), which instance threads read without
 * it. The adapter is used by one thread at a time: the runtime's thread
 * before the writer starts and after it is joined, the writer in between.
 */
#include "checkpoint/checkpoint.h"
#include "checkpoint/ckpt_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"
#include "core/enrich.h"
#include "core/event.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "core/waitq.h"
#include "state/adapter.h"
#include "state/kv.h"
#include "state/part.h"

/* ---- Parts ------------------------------------------------------------------ */

void
acrt__ck_blob_free(acrt__blob *b)
{
	free(b->name);
	free(b->data);
	b->name = NULL;
	b->data = NULL;
	b->len = 0;
}

int
acrt__ck_blob_copy(acrt__blob *dst, const acrt__blob *src)
{
	dst->name = strdup(src->name);
	dst->data = malloc(src->len);
	if (dst->name == NULL || dst->data == NULL) {
		acrt__ck_blob_free(dst);
		return ACRT_ENOMEM;
	}
	memcpy(dst->data, src->data, src->len);
	dst->len = src->len;
	return ACRT_OK;
}

/* The instance's part, unsealed (the writer seals it): room for the header,
 * then managed state and own snapshot. On the instance's thread. */
int
acrt__ck_build_part(acrt_ctx *ctx, acrt__blob *out)
{
	const acrt_component_desc *d = ctx->comp->desc;
	void *own = NULL;
	size_t ownlen = 0;
	char name[160];
	if (d->snapshot != NULL && ctx->set_up) {
		int rc = d->snapshot(ctx, ctx->self, &own, &ownlen);
		if (rc != ACRT_OK) {
			acrt__log(ACRT_LOG_ERROR, ctx->comp->spec->name, 0, NULL,
			          "snapshot failed: %s",
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
	acrt__le_put(p, kvlen, 8);
	if (ctx->kv != NULL)
		acrt__kv_dump(ctx->kv, p + 8);
	else
		acrt__le_put(p + 8, 0, 8);
	acrt__le_put(p + 8 + kvlen, ownlen, 8);
	if (ownlen > 0)
		memcpy(p + 16 + kvlen, own, ownlen);
	free(own);
	out->data = buf;
	out->len = n;
	return ACRT_OK;
}

/* The part of network transport t (its position, ck_save) for checkpoint id
 * (UINT64_MAX: its final part), unsealed like an instance's. */
static int
hop_part(acrt__transport *t, uint64_t id, acrt__blob *out)
{
	char name[320];
	snprintf(name, sizeof name, "hop:%s", t->name);
	out->name = strdup(name);
	out->data = malloc(ACRT__PART_HDR + ACRT__HOP_PART);
	if (out->name == NULL || out->data == NULL) {
		acrt__ck_blob_free(out);
		return ACRT_ENOMEM;
	}
	t->ops->ck_save(t, id, out->data + ACRT__PART_HDR);
	out->len = ACRT__PART_HDR + ACRT__HOP_PART;
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
			acrt__ck_blob_free(&ck->slots[i]);
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
		acrt__ck_blob_free(b);
}

/* Sources sleeping in acrt_sleep_until take a new trigger; consumers parked
 * on their inbox drop an abandoned alignment. */
static void
wake_all(acrt__runtime *rt)
{
	acrt__runtime_wake(rt);
	for (size_t i = 0; i < rt->bp->n_comps; i++)
		if (rt->comps[i].has_inbox)
			acrt__waitq_notify(&rt->comps[i].inbox.wq);
}

/* Opens checkpoint id+1. Called with mu held; returns true when sources must
 * be woken (the trigger was raised). */
bool
acrt__ck_open_locked(acrt__ckpt_rt *ck, int64_t now)
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
		if (ck->finals[i].data != NULL &&
		    acrt__ck_blob_copy(&slots[i], &ck->finals[i]) == ACRT_OK)
			ck->got++;
	if (ck->got == ck->n_slots) {
		complete_locked(ck);
		return false;
	}
	atomic_store_explicit(&ck->trigger, ck->cur, memory_order_release);
	return true;
}

void
acrt__ck_abort_locked(acrt__ckpt_rt *ck, const char *why)
{
	uint64_t id = ck->cur;
	atomic_store_explicit(&ck->aborted, id, memory_order_release);
	for (size_t i = 0; i < ck->n_slots; i++)
		acrt__ck_blob_free(&ck->slots[i]);
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
		acrt__ck_abort_locked(
		    ck, ck->cur_failed ? "a component could not snapshot"
		                       : "barriers did not align within checkpoint_timeout_ms");
		aborted = true;
	}
	bool stopping = atomic_load(&rt->stopping) || atomic_load(&rt->cancelled);
	if (ck->cur == 0 && !stopping &&
	    (ck->requested || (ck->interval_ns > 0 && now >= ck->next_due))) {
		ck->next_due = now + ck->interval_ns;
		wake = acrt__ck_open_locked(ck, now);
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

void
acrt__ck_nudge(void *arg)
{
	acrt__runtime *rt = arg;
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return;
	pthread_mutex_lock(&ck->mu);
	ck->requested = true;
	pthread_mutex_unlock(&ck->mu);
	uint64_t one = 1;
	(void)!write(ck->wake_fd, &one, sizeof one); /* the supervisor's poll */
}

int
acrt__ckpt_fd(acrt__runtime *rt)
{
	return rt->ck != NULL ? rt->ck->wake_fd : -1;
}

void
acrt__ckpt_fd_read(acrt__runtime *rt)
{
	uint64_t n;
	if (rt->ck != NULL)
		(void)!read(rt->ck->wake_fd, &n, sizeof n);
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
	submit(ck, ctx->ck_slot, id, acrt__ck_build_part(ctx, &part) == ACRT_OK ? &part : NULL);
	/* Its inputs from other nodes: the position before the barrier. */
	const acrt__inbox *ib = &ctx->comp->inbox;
	for (size_t i = 0; ctx->comp->has_inbox && i < ib->n; i++)
		if (ib->in[i]->ck_on) {
			acrt__blob hp = {0};
			submit(ck, ib->in[i]->ck_slot, id,
			       hop_part(ib->in[i], id, &hp) == ACRT_OK ? &hp : NULL);
		}

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
			int src = tr->ops->send_barrier(tr, b, deadline);
			if (src == ACRT_ECANCELED)
				return ACRT_ECANCELED;
			acrt__transport *const *sd = tr->n_parts ? tr->parts : &op->targets[t];
			for (size_t k = 0; src == ACRT_OK && k < (tr->n_parts ? tr->n_parts : 1);
			     k++)
				if (sd[k]->ck_on) { /* to another node: all of it stored */
					acrt__blob hp = {0};
					submit(ck, sd[k]->ck_slot, id,
					       hop_part(sd[k], id, &hp) == ACRT_OK ? &hp : NULL);
				}
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

/* Hands in fin (owned) as the final part of slot s: it stands for it in the
 * open checkpoint and every later one. */
static void
hand_final(acrt__ckpt_rt *ck, size_t s, acrt__blob *fin)
{
	pthread_mutex_lock(&ck->mu);
	if (ck->cur != 0 && ck->slots[s].data == NULL &&
	    acrt__ck_blob_copy(&ck->slots[s], fin) == ACRT_OK && ++ck->got == ck->n_slots)
		complete_locked(ck);
	acrt__ck_blob_free(&ck->finals[s]);
	ck->finals[s] = *fin;
	pthread_mutex_unlock(&ck->mu);
}

/* The final parts of an ended instance's network transports: its outputs'
 * once the broker has everything sent (a dealer's lanes each), its inputs'
 * last position. */
static void
hop_finals(acrt__ckpt_rt *ck, acrt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->comp->spec->n_outputs; i++) {
		acrt__outport *op = &ctx->comp->outs[i];
		for (size_t t = 0; t < op->n_targets; t++) {
			acrt__transport *tr = op->targets[t];
			acrt__transport *const *sd = tr->n_parts ? tr->parts : &op->targets[t];
			size_t n = tr->n_parts ? tr->n_parts : 1;
			bool on = false;
			for (size_t k = 0; k < n; k++)
				on |= sd[k]->ck_on;
			if (!on || tr->ops->sync == NULL ||
			    tr->ops->sync(tr, ACRT__FOREVER) != ACRT_OK)
				continue;
			for (size_t k = 0; k < n; k++) {
				acrt__blob fin = {0};
				if (sd[k]->ck_on && hop_part(sd[k], UINT64_MAX, &fin) == ACRT_OK)
					hand_final(ck, sd[k]->ck_slot, &fin);
			}
		}
	}
	const acrt__inbox *ib = &ctx->comp->inbox;
	for (size_t i = 0; ctx->comp->has_inbox && i < ib->n; i++) {
		acrt__blob fin = {0};
		if (ib->in[i]->ck_on && hop_part(ib->in[i], UINT64_MAX, &fin) == ACRT_OK)
			hand_final(ck, ib->in[i]->ck_slot, &fin);
	}
}

void
acrt__ckpt_instance_end(acrt_ctx *ctx)
{
	acrt__ckpt_rt *ck = ctx->rt->ck;
	if (ck == NULL)
		return;
	if (acrt__ckpt_due(ctx))
		(void)acrt__ckpt_source_barrier(ctx);
	hop_finals(ck, ctx);
	acrt__blob fin = {0};
	if (acrt__ck_build_part(ctx, &fin) != ACRT_OK)
		return; /* no final part: checkpoints from now on abort, and say why */
	hand_final(ck, ctx->ck_slot, &fin);
}

/* A delivery that holds events (open batches) holds them from before the
 * barrier. */
static int
flush_batches(acrt_ctx *ctx)
{
	const acrt__delivery *d = ctx->delivery;
	return d != NULL && d->drain != NULL ? d->drain(ctx) : ACRT_OK;
}

/* ---- Finishing ------------------------------------------------------------ */

int
acrt__ckpt_finish(acrt__runtime *rt, bool graceful)
{
	acrt__ckpt_rt *ck = rt->ck;
	if (ck == NULL)
		return 0;
	uint64_t final_id = 0; /* the last checkpoint, when one is taken */
	pthread_mutex_lock(&ck->mu);
	if (ck->cur != 0)
		acrt__ck_abort_locked(ck, "the run ended before it was complete");
	if (graceful && ck->writer_up) { /* everyone's final state */
		size_t finals = 0;
		for (size_t i = 0; i < ck->n_slots; i++)
			finals += ck->finals[i].data != NULL;
		if (finals == ck->n_slots) {
			uint64_t before = ck->last_id;
			(void)acrt__ck_open_locked(ck, acrt__mono_ns());
			final_id = ck->last_id != before ? ck->last_id : UINT64_MAX;
		}
	}
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	if (ck->writer_up)
		pthread_join(ck->writer, NULL);
	/* The writer has stored or failed it: the newest stored one is it. */
	bool stored = final_id == 0 ||
	              (ck->n_done > 0 && ck->recent[(ck->n_done - 1) % RECENT].id == final_id);
	while (ck->q_head != NULL) { /* the writer never started */
		queued *q = ck->q_head;
		ck->q_head = q->next;
		acrt__ckpt_clear(&q->ck);
		free(q);
	}
	for (size_t i = 0; ck->finals != NULL && i < ck->n_slots; i++)
		acrt__ck_blob_free(&ck->finals[i]);
	free(ck->finals);
	if (ck->ad != NULL)
		ck->ops->close(ck->ad);
	acrt__ck_unclaim(ck); /* after the store is closed */
	if (ck->wake_fd >= 0)
		close(ck->wake_fd);
	acrt__free(ck->path);
	pthread_cond_destroy(&ck->cv);
	pthread_mutex_destroy(&ck->mu);
	rt->ck = NULL;
	free(ck);
	if (stored)
		return 0;
	acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
	          "the final checkpoint could not be stored: the run ends with exit 1, and a "
	          "--resume starts from the newest stored one");
	return -1;
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
		json_array_append_new(list,
		                      json_pack("{s:I,s:I,s:I,s:I,s:f}", "id", (json_int_t)r->id,
		                                "time_unix_ns", (json_int_t)r->wall_ns, "bytes",
		                                (json_int_t)r->bytes, "parts", (json_int_t)r->parts,
		                                "seconds", r->seconds));
	}
	json_t *j = json_pack(
	    "{s:b,s:s,s:I,s:I,s:I,s:I,s:s,s:o,s:o}", "enabled", 1, "adapter", ck->ops->name,
	    "completed", (json_int_t)ck->n_done, "failed", (json_int_t)ck->n_failed, "aborted",
	    (json_int_t)ck->n_aborted, "data_missing", (json_int_t)ck->n_lost, "last_error",
	    ck->last_error, "in_progress",
	    ck->cur ? json_integer((json_int_t)ck->cur) : json_null(), "checkpoints", list);
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
	    "# HELP acrt_checkpoints_total Checkpoints by outcome (stored, failed to store, "
	    "aborted).\n"
	    "# TYPE acrt_checkpoints_total counter\n"
	    "acrt_checkpoints_total{result=\"completed\"} %" PRIu64 "\n"
	    "acrt_checkpoints_total{result=\"failed\"} %" PRIu64 "\n"
	    "acrt_checkpoints_total{result=\"aborted\"} %" PRIu64 "\n"
	    "# HELP acrt_checkpoints_aborted_total Checkpoints aborted (barriers did not align in "
	    "time).\n"
	    "# TYPE acrt_checkpoints_aborted_total counter\n"
	    "acrt_checkpoints_aborted_total %" PRIu64 "\n"
	    "# HELP acrt_checkpoints_failed_total Checkpoints the store could not take.\n"
	    "# TYPE acrt_checkpoints_failed_total counter\n"
	    "acrt_checkpoints_failed_total %" PRIu64 "\n"
	    "# HELP acrt_checkpoints_data_missing_total Stored checkpoints found with their data "
	    "gone from the store (listed in its index; never restored).\n"
	    "# TYPE acrt_checkpoints_data_missing_total counter\n"
	    "acrt_checkpoints_data_missing_total %" PRIu64 "\n"
	    "# HELP acrt_checkpoint_last_id Id of the newest stored checkpoint.\n"
	    "# TYPE acrt_checkpoint_last_id gauge\n"
	    "acrt_checkpoint_last_id %" PRIu64 "\n"
	    "# HELP acrt_checkpoint_last_bytes Size of the newest stored checkpoint.\n"
	    "# TYPE acrt_checkpoint_last_bytes gauge\n"
	    "acrt_checkpoint_last_bytes %zu\n"
	    "# HELP acrt_checkpoint_last_duration_seconds Trigger to stored, newest checkpoint.\n"
	    "# TYPE acrt_checkpoint_last_duration_seconds gauge\n"
	    "acrt_checkpoint_last_duration_seconds %.6f\n",
	    ck->n_done, ck->n_failed, ck->n_aborted, ck->n_aborted, ck->n_failed, ck->n_lost,
	    r ? r->id : 0, r ? r->bytes : 0, r ? r->seconds : 0.0);
	pthread_mutex_unlock(&ck->mu);
}

const acrt__ckpt_ops acrt__ckpt_instance_ops = {
    .barrier = acrt__ckpt_barrier,
    .source_barrier = acrt__ckpt_source_barrier,
    .instance_end = acrt__ckpt_instance_end,
};
