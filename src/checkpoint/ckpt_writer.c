/*
 * ckpt_writer.c - the checkpoint writer thread ("acrt-ckpt", checkpoint.h):
 * it seals each completed checkpoint's parts, adds the manifest, stores it in
 * one atomic put, tells the network transports what it covers (their
 * acknowledgements follow stored checkpoints), applies `retain`, and keeps
 * the store's lease alive between checkpoints. Locking as in checkpoint.c:
 * the adapter is the writer's alone while it runs.
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

void
acrt__ck_note_lost(acrt__ckpt_rt *ck, const acrt__ckpt *all, size_t n)
{
	const size_t ring = sizeof ck->lost_ids / sizeof ck->lost_ids[0];
	for (size_t i = 0; i < n; i++) {
		if (all[i].lost == NULL)
			continue;
		bool seen = false;
		pthread_mutex_lock(&ck->mu);
		for (size_t k = 0; k < ring && k < ck->n_lost && !seen; k++)
			seen = ck->lost_ids[k] == all[i].id;
		if (!seen)
			ck->lost_ids[ck->n_lost++ % ring] = all[i].id;
		pthread_mutex_unlock(&ck->mu);
		if (seen)
			continue;
		json_t *x = json_pack("{s:I,s:s,s:s}", "checkpoint", (json_int_t)all[i].id,
		                      "adapter", ck->ops->name, "error", all[i].lost);
		acrt__log(ACRT_LOG_WARN, NULL, 0, x,
		          "state: checkpoint %" PRIu64
		          " is unusable, its data is missing from the store: %s; it will never "
		          "be restored",
		          all[i].id, all[i].lost);
		json_decref(x);
	}
}

/* Keeps the newest `retain` checkpoints (one whose data the store lost is
 * reported, and deleted like any other once older). Writer thread. */
static void
apply_retain(acrt__ckpt_rt *ck)
{
	acrt__ckpt *all = NULL;
	size_t n = 0;
	char err[256];
	if (ck->ops->list(ck->ad, &all, &n, err, sizeof err) != ACRT_OK)
		return;
	acrt__ck_note_lost(ck, all, n);
	for (size_t i = 0; i < n; i++) {
		if (i >= ck->retain && ck->ops->del(ck->ad, all[i].id, err, sizeof err) != ACRT_OK)
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
			          "retain: deleting checkpoint %" PRIu64 ": %s", all[i].id, err);
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
	acrt__lock_holder h;
	if (ck->ad == NULL && acrt__ck_claim(ck, &h, err, sizeof err) == ACRT__FLOCK_HELD) {
		rc = ACRT_ERR; /* the lock could not be taken at start; now someone has it */
		goto failed;
	}
	/* Still ours? (and extended: a checkpoint refreshes the lease too) */
	if (acrt__ck_refresh(ck, err, sizeof err) == ACRT__LEASE_HELD) {
		rc = ACRT_ERR; /* expired while this run could not reach the store */
		goto failed;
	}
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
	if (acrt__part_manifest(acrt__ckpt_store_system(ck->rt->bp), c, &parts[c->n_parts]) !=
	    ACRT_OK)
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
	/* Stored: the receiving sides acknowledge to their brokers what it covers. */
	for (size_t i = 0; i < ck->rt->n_transports; i++) {
		acrt__transport *t = ck->rt->transports[i];
		if (t->ck_on && t->ops->ck_committed != NULL)
			t->ops->ck_committed(t, c->id);
	}
	apply_retain(ck);
	return;
failed:
	if (err[0] == '\0')
		snprintf(err, sizeof err, "%s", acrt_strerror(rc));
	pthread_mutex_lock(&ck->mu);
	ck->n_failed++;
	snprintf(ck->last_error, sizeof ck->last_error, "checkpoint %" PRIu64 ": %.200s", c->id,
	         err);
	pthread_mutex_unlock(&ck->mu);
	json_t *y = json_pack("{s:I,s:s,s:s}", "checkpoint", (json_int_t)c->id, "adapter",
	                      ck->ops->name, "error", err);
	y = acrt__enrich_error(y, rc, "state", NULL, 1, true);
	acrt__log(ACRT_LOG_ERROR, NULL, 0, y,
	          "checkpoint %" PRIu64
	          " could not be stored (%s): %s; the run goes on and the next "
	          "checkpoint tries again",
	          c->id, ck->ops->name, err);
	json_decref(y);
}

/* Keeps the store's lease alive between checkpoints (every ttl/3, whatever
 * checkpoint_interval_s is); warns while another run has it. */
static void
lease_tick(acrt__ckpt_rt *ck)
{
	char err[256] = "";
	int rc = acrt__ck_refresh(ck, err, sizeof err);
	if (rc == ACRT__LEASE_HELD)
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "state: the %s store's lock is now another run's (%s): checkpoints are "
		          "not stored until it is free again",
		          ck->ops->name, err);
}

void *
acrt__ck_writer_main(void *arg)
{
	acrt__ckpt_rt *ck = arg;
	pthread_setname_np(pthread_self(), "acrt-ckpt");
	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (ck->q_head == NULL && !ck->stop) {
			if (ck->lease == NULL) {
				pthread_cond_wait(&ck->cv, &ck->mu);
				continue;
			}
			if (acrt__mono_ns() < ck->lease_due) {
				struct timespec ts = {
				    .tv_sec = (time_t)(ck->lease_due / 1000000000),
				    .tv_nsec = (long)(ck->lease_due % 1000000000)};
				(void)pthread_cond_timedwait(&ck->cv, &ck->mu, &ts); /* monotonic */
				continue;
			}
			pthread_mutex_unlock(&ck->mu);
			lease_tick(ck);
			pthread_mutex_lock(&ck->mu);
		}
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
