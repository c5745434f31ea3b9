/*
 * inbox.c - receiving from several transports at once (see inbox.h).
 *
 * One pass tries every unfinished input once, starting after the last one
 * served. If all are empty, the consumer spins briefly on the waitq's sequence
 * number (cheap: one shared load) and then parks on the waitq. Taking the key
 * before the pass means a send that lands during the pass wakes us at once.
 */
#include "core/inbox.h"

#include <sched.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"

#define SPIN_ROUNDS 64
#ifndef YIELD_ROUNDS
#define YIELD_ROUNDS 4
#endif

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

int
acrt__inbox_init(acrt__inbox *ib)
{
	ib->in = NULL;
	ib->port = NULL;
	ib->n = 0;
	return acrt__waitq_init(&ib->wq);
}

int
acrt__inbox_add(acrt__inbox *ib, acrt__transport *t, size_t port)
{
	acrt__transport **in = acrt__realloc(ib->in, (ib->n + 1) * sizeof *in);
	if (in == NULL)
		return -1;
	ib->in = in;
	size_t *p = acrt__realloc(ib->port, (ib->n + 1) * sizeof *p);
	if (p == NULL)
		return -1;
	ib->port = p;
	ib->in[ib->n] = t;
	ib->port[ib->n] = port;
	ib->n++;
	return 0;
}

void
acrt__inbox_destroy(acrt__inbox *ib)
{
	acrt__free(ib->in);
	acrt__free(ib->port);
	ib->in = NULL;
	ib->port = NULL;
	ib->n = 0;
	acrt__waitq_destroy(&ib->wq);
}

int
acrt__inbox_cursor_init(acrt__inbox_cursor *c, const acrt__inbox *ib, unsigned consumer)
{
	memset(c, 0, sizeof *c);
	c->consumer = consumer;
	c->done = acrt__calloc(ib->n ? ib->n : 1, sizeof *c->done);
	c->blocked = acrt__calloc(ib->n ? ib->n : 1, sizeof *c->blocked);
	if (c->done == NULL || c->blocked == NULL) {
		acrt__inbox_cursor_free(c);
		return -1;
	}
	return 0;
}

/* Gives up the alignment in progress (its checkpoint was abandoned). */
static void
unblock_all(const acrt__inbox *ib, acrt__inbox_cursor *c)
{
	for (size_t i = 0; i < ib->n; i++)
		c->blocked[i] = false;
	c->n_blocked = 0;
	if (c->bar_ev != NULL)
		acrt_event_unref(c->bar_ev);
	c->bar_ev = NULL;
}

void
acrt__inbox_cursor_free(acrt__inbox_cursor *c)
{
	acrt__free(c->done);
	acrt__free(c->blocked);
	if (c->bar_ev != NULL)
		acrt_event_unref(c->bar_ev);
	c->done = NULL;
	c->blocked = NULL;
	c->bar_ev = NULL;
}

static bool
abandoned(const acrt__inbox *ib, uint64_t id)
{
	return ib->aborted != NULL && id <= atomic_load_explicit(ib->aborted, memory_order_acquire);
}

/* Every input has delivered the barrier or ended: hand it out, unblock. */
static size_t
aligned(const acrt__inbox *ib, acrt__inbox_cursor *c, acrt_event **evs, acrt__rx_status *st)
{
	evs[0] = c->bar_ev;
	c->bar_ev = NULL;
	c->bar_last = c->bar_id;
	unblock_all(ib, c);
	*st = ACRT__RX_BARRIER;
	return 1;
}

/* Input idx delivered barrier b. Returns true when it completes alignment. */
static bool
on_barrier(const acrt__inbox *ib, acrt__inbox_cursor *c, size_t idx, acrt_event *b)
{
	uint64_t id = b->barrier_id;
	if (id <= c->bar_last || abandoned(ib, id)) {
		acrt_event_unref(b);
		return false;
	}
	if (c->n_blocked > 0 && id != c->bar_id)
		unblock_all(ib, c); /* a newer checkpoint: the older one was abandoned */
	if (c->n_blocked == 0) {
		c->bar_id = id;
		c->bar_ev = b;
	} else {
		acrt_event_unref(b);
	}
	c->blocked[idx] = true;
	c->n_blocked++;
	return c->n_blocked + c->n_done == ib->n;
}

/* One pass over the inputs; returns the count taken, or 0 with *st. */
static size_t
inbox_pass(acrt__inbox *ib, acrt__inbox_cursor *c, acrt_event **evs, size_t max, size_t *port,
           acrt__rx_status *st)
{
	if (c->n_blocked > 0 && abandoned(ib, c->bar_id))
		unblock_all(ib, c);
	for (size_t i = 0; i < ib->n; i++) {
		size_t idx = (c->next + i) % ib->n;
		if (c->done[idx] || c->blocked[idx])
			continue;
		acrt__rx_status s;
		size_t k = ib->in[idx]->ops->try_recv(ib->in[idx], c->consumer, evs, max, &s);
		if (k > 0 && evs[0]->kind == ACRT__EV_BARRIER) { /* always alone */
			if (on_barrier(ib, c, idx, evs[0]))
				return aligned(ib, c, evs, st);
			continue;
		}
		if (k > 0) {
			*port = ib->port[idx];
			c->next = idx + 1;
			*st = ACRT__RX_ITEMS;
			return k;
		}
		if (s == ACRT__RX_CANCELED) {
			*st = s;
			return 0;
		}
		if (s == ACRT__RX_EOS) {
			c->done[idx] = true;
			c->n_done++;
			if (c->n_blocked > 0 && c->n_blocked + c->n_done == ib->n)
				return aligned(ib, c, evs, st);
		}
	}
	*st = c->n_done == ib->n ? ACRT__RX_EOS : ACRT__RX_EMPTY;
	return 0;
}

size_t
acrt__inbox_recv(acrt__inbox *ib, acrt__inbox_cursor *c, acrt_event **evs, size_t max, size_t *port,
                 int64_t deadline, acrt__rx_status *st)
{
	for (;;) {
		uint64_t key = acrt__waitq_key(&ib->wq);
		size_t k = inbox_pass(ib, c, evs, max, port, st);
		if (k > 0 || *st != ACRT__RX_EMPTY)
			return k;
		if (deadline != ACRT__FOREVER && acrt__mono_ns() >= deadline)
			return 0; /* a poll: no spinning, no parking */
		if (c->interrupt != NULL &&
		    atomic_load_explicit(c->interrupt, memory_order_acquire))
			return 0; /* *st is EMPTY: the caller pauses */
		for (int i = 0; i < SPIN_ROUNDS && acrt__waitq_key(&ib->wq) == key; i++)
			cpu_relax();
		/* Then yield a few times: with more threads than cores, the producer
		 * we wait for may be runnable on this very core. */
		for (int i = 0; i < YIELD_ROUNDS && acrt__waitq_key(&ib->wq) == key; i++)
			sched_yield();
		if (acrt__waitq_key(&ib->wq) != key)
			continue;
		if (acrt__waitq_wait(&ib->wq, key, deadline) == ACRT_ETIMEDOUT) {
			*st = ACRT__RX_EMPTY;
			return 0;
		}
	}
}

void
acrt__inbox_processed(acrt__inbox *ib, const acrt__inbox_cursor *c)
{
	for (size_t i = 0; i < ib->n; i++)
		if (ib->in[i]->ops->processed != NULL)
			ib->in[i]->ops->processed(ib->in[i], c->consumer);
}

size_t
acrt__inbox_processed_every(const acrt__inbox *ib)
{
	size_t every = 0;
	for (size_t i = 0; i < ib->n; i++) {
		size_t e = ib->in[i]->processed_every;
		if (e != 0 && (every == 0 || e < every))
			every = e;
	}
	return every;
}
