/*
 * linecheck.c - see linecheck.h. Two batch slots: `fill` is being filled by
 * the caller; the other is either empty, or checked and waiting to be
 * emitted, or (inflight) being checked by the checker thread. A full batch is
 * handed over only once the other slot is checked; the caller then emits that
 * one while the checker works on the new one.
 */
#include "components/linecheck.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"
#include "core/json.h"

/* A batch is handed over at this many lines or bytes, whichever comes first:
 * about 240 KB of access-log lines, one hand-off per millisecond or so. */
#define LC_BATCH_LINES 1024
#define LC_BATCH_BYTES (1u << 20)

typedef struct batch {
	acrt__lc_item *items;
	size_t n, cap;
	size_t bytes;
	size_t emitted; /* items [0, emitted) went to emit */
} batch;

struct acrt__linecheck {
	acrt__lc_emit_fn emit;
	void *arg;
	batch b[2];
	int fill;        /* the slot the caller fills */
	bool use_thread; /* more than one CPU to run on */
	/* Shared with the checker thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool started, quit;
	batch *job; /* handed to the checker; NULL once checked */
	char name[16];
};

static void
check_batch(batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		acrt__lc_item *it = &b->items[i];
		if (it->ev == NULL)
			continue; /* blank */
		size_t len, cap;
		const char *p = acrt__event_text(it->ev, &len, &cap);
		it->ok = p != NULL && acrt__json_check(p, len, cap, it->why, sizeof it->why) == 0;
		if (p == NULL)
			snprintf(it->why, sizeof it->why, "out of memory");
	}
}

static void *
checker(void *arg)
{
	acrt__linecheck *lc = arg;
	pthread_setname_np(pthread_self(), lc->name);
	pthread_mutex_lock(&lc->mu);
	for (;;) {
		while (lc->job == NULL && !lc->quit)
			pthread_cond_wait(&lc->cv, &lc->mu);
		if (lc->job == NULL)
			break; /* quit, with nothing left to check */
		batch *b = lc->job;
		pthread_mutex_unlock(&lc->mu);
		check_batch(b);
		pthread_mutex_lock(&lc->mu);
		lc->job = NULL;
		pthread_cond_broadcast(&lc->cv);
	}
	pthread_mutex_unlock(&lc->mu);
	return NULL;
}

static bool
several_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return CPU_COUNT(&set) > 1;
	return false;
}

acrt__linecheck *
acrt__lc_new(const char *name, acrt__lc_emit_fn emit, void *arg)
{
	acrt__linecheck *lc = acrt__calloc(1, sizeof *lc);
	if (lc == NULL)
		return NULL;
	if (pthread_mutex_init(&lc->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&lc->cv, NULL) != 0) {
		pthread_mutex_destroy(&lc->mu);
		goto fail;
	}
	lc->emit = emit;
	lc->arg = arg;
	lc->use_thread = several_cpus();
	snprintf(lc->name, sizeof lc->name, "%s", name);
	return lc;
fail:
	acrt__free(lc);
	return NULL;
}

/* Waits until the checker has no batch. */
static void
wait_checked(acrt__linecheck *lc)
{
	if (!lc->started)
		return;
	pthread_mutex_lock(&lc->mu);
	while (lc->job != NULL)
		pthread_cond_wait(&lc->cv, &lc->mu);
	pthread_mutex_unlock(&lc->mu);
}

/* Hands b to the checker thread (started on the first call), or checks it
 * here when there is no second CPU or no thread to be had. */
static void
hand_over(acrt__linecheck *lc, batch *b)
{
	if (lc->use_thread && !lc->started) {
		if (pthread_create(&lc->th, NULL, checker, lc) == 0)
			lc->started = true;
		else
			lc->use_thread = false;
	}
	if (!lc->started) {
		check_batch(b);
		return;
	}
	pthread_mutex_lock(&lc->mu);
	lc->job = b;
	pthread_cond_broadcast(&lc->cv);
	pthread_mutex_unlock(&lc->mu);
}

/* Emits b's checked items in order, then empties it. */
static int
emit_batch(acrt__linecheck *lc, batch *b)
{
	int rc = 0;
	while (b->emitted < b->n) {
		acrt__lc_item *it = &b->items[b->emitted++];
		rc = lc->emit(lc->arg, it);
		if (rc != 0)
			return rc; /* the rest are unref'd by acrt__lc_free */
	}
	b->n = b->emitted = 0;
	b->bytes = 0;
	return 0;
}

int
acrt__lc_add(acrt__linecheck *lc, acrt_event *ev, size_t len, uint64_t lineno, uint64_t end)
{
	batch *b = &lc->b[lc->fill];
	if (b->n == b->cap) {
		size_t ncap = b->cap == 0 ? 64 : b->cap * 2;
		acrt__lc_item *ni = acrt__realloc(b->items, ncap * sizeof *ni);
		if (ni == NULL) {
			if (ev != NULL)
				acrt_event_unref(ev);
			return ACRT_ENOMEM;
		}
		b->items = ni;
		b->cap = ncap;
	}
	acrt__lc_item *it = &b->items[b->n++];
	it->ev = ev;
	it->lineno = lineno;
	it->end = end;
	it->ok = ev == NULL; /* a blank line is nothing to check */
	it->why[0] = '\0';
	b->bytes += len;
	if (b->n < LC_BATCH_LINES && b->bytes < LC_BATCH_BYTES)
		return 0;
	/* Full: once the other slot is checked, hand this one over and emit that. */
	batch *other = &lc->b[!lc->fill];
	wait_checked(lc);
	hand_over(lc, b);
	lc->fill = !lc->fill;
	return emit_batch(lc, other);
}

int
acrt__lc_drain(acrt__linecheck *lc)
{
	batch *b = &lc->b[lc->fill], *other = &lc->b[!lc->fill];
	wait_checked(lc);
	int rc = emit_batch(lc, other);
	if (rc != 0)
		return rc;
	check_batch(b); /* the tail: here, without a hand-off */
	return emit_batch(lc, b);
}

void
acrt__lc_free(acrt__linecheck *lc)
{
	if (lc == NULL)
		return;
	if (lc->started) {
		pthread_mutex_lock(&lc->mu);
		lc->quit = true;
		pthread_cond_broadcast(&lc->cv);
		pthread_mutex_unlock(&lc->mu);
		pthread_join(lc->th, NULL);
	}
	for (int s = 0; s < 2; s++) {
		batch *b = &lc->b[s];
		for (size_t i = b->emitted; i < b->n; i++)
			if (b->items[i].ev != NULL)
				acrt_event_unref(b->items[i].ev);
		acrt__free(b->items);
	}
	pthread_cond_destroy(&lc->cv);
	pthread_mutex_destroy(&lc->mu);
	acrt__free(lc);
}
