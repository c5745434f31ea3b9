/*
 * test_stream.c - the `local` transport and the inbox: order per producer,
 * backpressure, end of stream, cancellation, the close/cancel race (no event
 * lost or duplicated), and a many-producer many-consumer stress run (also run
 * under ThreadSanitizer by `make tsan`).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "core/inbox.h"
#include "testutil.h"
#include "transport/local.h"

typedef struct tag {
	uint32_t producer;
	uint32_t seq;
} tag;

static acrt_event *
mk(uint32_t producer, uint32_t seq)
{
	tag t = {producer, seq};
	acrt_event *ev = acrt__event_new_bytes(NULL, &t, sizeof t, NULL);
	acrt__event_seal(ev);
	return ev;
}

static tag
tag_of(acrt_event *ev)
{
	tag t;
	size_t n;
	memcpy(&t, acrt_event_data(ev, &n), sizeof t);
	return t;
}

/* ---- backpressure, EOS -------------------------------------------------- */

static void
test_backpressure_blocks(void **state)
{
	(void)state;
	acrt__waitq wq;
	assert_int_equal(acrt__waitq_init(&wq), 0);
	acrt__transport *t = acrt__stream_new("t", 4, 1, 1, &wq);
	assert_non_null(t);
	acrt_event *evs[6];
	for (int i = 0; i < 6; i++)
		evs[i] = mk(0, (uint32_t)i);
	size_t sent = 0;
	/* Five into four slots: the fifth waits and times out; four were taken. */
	int rc = t->ops->send(t, evs, 5, &sent, acrt__mono_ns() + 30 * MS, 0);
	assert_int_equal(rc, ACRT_ETIMEDOUT);
	assert_int_equal(sent, 4);
	acrt__transport_stats st;
	t->ops->stats(t, &st);
	assert_int_equal(st.depth, 4);
	assert_true(st.blocked_ns > 0);

	acrt_event *got[4];
	acrt__rx_status rs;
	assert_int_equal(t->ops->try_recv(t, 0, got, 2, &rs), 2);
	assert_int_equal(tag_of(got[0]).seq, 0);
	assert_int_equal(tag_of(got[1]).seq, 1);
	acrt_event_unref(got[0]);
	acrt_event_unref(got[1]);
	/* Room again: the rest goes through without waiting. */
	rc = t->ops->send(t, evs + 4, 2, &sent, acrt__mono_ns() + 1000 * MS, 0);
	assert_int_equal(rc, ACRT_OK);
	assert_int_equal(sent, 2);
	assert_int_equal(t->ops->destroy(t), 4);
	acrt__waitq_destroy(&wq);
	assert_int_equal(acrt__event_live(), 0);
}

typedef struct sender_arg {
	acrt__transport *t;
	acrt_event *ev;
	int rc;
	atomic_bool done;
} sender_arg;

static void *
sender(void *p)
{
	sender_arg *a = p;
	size_t sent = 0;
	a->rc = a->t->ops->send(a->t, &a->ev, 1, &sent, ACRT__FOREVER, 0);
	if (sent == 0)
		acrt_event_unref(a->ev);
	acrt__event_thread_flush();
	atomic_store(&a->done, true);
	return NULL;
}

static void
test_blocked_sender_resumes(void **state)
{
	(void)state;
	acrt__waitq wq;
	acrt__waitq_init(&wq);
	acrt__transport *t = acrt__stream_new("t", 1, 1, 1, &wq);
	acrt_event *first = mk(0, 0);
	size_t sent;
	assert_int_equal(t->ops->send(t, &first, 1, &sent, ACRT__FOREVER, 0), ACRT_OK);
	sender_arg a = {.t = t, .ev = mk(0, 1)};
	pthread_t th;
	pthread_create(&th, NULL, sender, &a);
	/* The sender must be parked on the full stream... */
	assert_true(WAIT_FOR(({
		                     acrt__transport_stats s;
		                     t->ops->stats(t, &s);
		                     s.blocked_ns > 0 || atomic_load(&a.done);
	                     }),
	                     100) ||
	            !atomic_load(&a.done));
	assert_false(atomic_load(&a.done));
	/* ...until a receive frees the slot. */
	acrt_event *got;
	acrt__rx_status rs;
	assert_int_equal(acrt__transport_recv(t, &wq, &got, 1, ACRT__FOREVER, &rs), 1);
	acrt_event_unref(got);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, ACRT_OK);
	assert_int_equal(t->ops->destroy(t), 1);
	acrt__waitq_destroy(&wq);
}

static void
test_end_of_stream_after_last_producer(void **state)
{
	(void)state;
	acrt__waitq wq;
	acrt__waitq_init(&wq);
	acrt__transport *t = acrt__stream_new("t", 8, 2, 1, &wq);
	acrt_event *e = mk(0, 7);
	size_t sent;
	t->ops->send(t, &e, 1, &sent, ACRT__FOREVER, 0);
	t->ops->close(t);
	acrt_event *got[4];
	acrt__rx_status rs;
	/* One producer still open: the item, then "empty" at the deadline. */
	assert_int_equal(acrt__transport_recv(t, &wq, got, 4, ACRT__FOREVER, &rs), 1);
	acrt_event_unref(got[0]);
	assert_int_equal(acrt__transport_recv(t, &wq, got, 4, acrt__mono_ns() + 20 * MS, &rs), 0);
	assert_int_equal(rs, ACRT__RX_EMPTY);
	e = mk(1, 8);
	t->ops->send(t, &e, 1, &sent, ACRT__FOREVER, 0);
	t->ops->close(t);
	/* Last producer closed: the remaining item is still delivered, then EOS. */
	assert_int_equal(acrt__transport_recv(t, &wq, got, 4, ACRT__FOREVER, &rs), 1);
	assert_int_equal(tag_of(got[0]).seq, 8);
	acrt_event_unref(got[0]);
	assert_int_equal(acrt__transport_recv(t, &wq, got, 4, ACRT__FOREVER, &rs), 0);
	assert_int_equal(rs, ACRT__RX_EOS);
	/* Sending after the end is refused, the caller keeps the event. */
	e = mk(0, 9);
	assert_int_equal(t->ops->send(t, &e, 1, &sent, ACRT__FOREVER, 0), ACRT_ECLOSED);
	assert_int_equal(sent, 0);
	acrt_event_unref(e);
	assert_int_equal(t->ops->destroy(t), 0);
	acrt__waitq_destroy(&wq);
}

/* ---- cancel wakes every waiter ------------------------------------------- */

typedef struct recv_arg {
	acrt__transport *t;
	acrt__waitq *wq;
	acrt__rx_status st;
	atomic_bool done;
} recv_arg;

static void *
receiver(void *p)
{
	recv_arg *a = p;
	acrt_event *got[4];
	size_t n;
	while ((n = acrt__transport_recv(a->t, a->wq, got, 4, ACRT__FOREVER, &a->st)) > 0)
		for (size_t i = 0; i < n; i++)
			acrt_event_unref(got[i]);
	acrt__event_thread_flush();
	atomic_store(&a->done, true);
	return NULL;
}

static void
test_cancel_wakes_waiters(void **state)
{
	(void)state;
	acrt__waitq wq_full, wq_empty;
	acrt__waitq_init(&wq_full);
	acrt__waitq_init(&wq_empty);
	acrt__transport *full = acrt__stream_new("full", 1, 1, 1, &wq_full);
	acrt__transport *empty = acrt__stream_new("empty", 4, 1, 1, &wq_empty);
	acrt_event *e = mk(0, 0);
	size_t sent;
	full->ops->send(full, &e, 1, &sent, ACRT__FOREVER, 0);

	sender_arg s = {.t = full, .ev = mk(0, 1)};
	recv_arg r = {.t = empty, .wq = &wq_empty};
	pthread_t ts, tr;
	pthread_create(&ts, NULL, sender, &s);
	pthread_create(&tr, NULL, receiver, &r);
	assert_true(WAIT_FOR(atomic_load(&wq_empty.waiters) > 0, 2000));
	assert_false(atomic_load(&s.done));

	full->ops->cancel(full);
	empty->ops->cancel(empty);
	assert_true(WAIT_FOR(atomic_load(&s.done) && atomic_load(&r.done), 2000));
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	assert_int_equal(s.rc, ACRT_ECANCELED);
	assert_int_equal(r.st, ACRT__RX_CANCELED);
	full->ops->destroy(full);
	empty->ops->destroy(empty);
	acrt__waitq_destroy(&wq_full);
	acrt__waitq_destroy(&wq_empty);
	assert_int_equal(acrt__event_live(), 0);
}

/* ---- many producers, many consumers ------------------------------------- */

#define NPROD 4
#define NCONS 3

typedef struct mpmc {
	acrt__inbox ib;
	acrt__transport *t;
	uint32_t per_producer;
	atomic_uint_fast64_t sent_ok, received;
	atomic_uchar *seen; /* NPROD * per_producer */
	atomic_int dups, order_violations;
	bool cancel_midway;
} mpmc;

typedef struct worker {
	mpmc *m;
	uint32_t id;
} worker;

static void *
producer(void *p)
{
	worker *w = p;
	mpmc *m = w->m;
	acrt_event *batch[32];
	uint32_t seq = 0;
	while (seq < m->per_producer) {
		size_t n = 0;
		while (n < 1 + (seq % 32) && seq < m->per_producer)
			batch[n++] = mk(w->id, seq++);
		size_t sent = 0;
		int rc = m->t->ops->send(m->t, batch, n, &sent, ACRT__FOREVER, 0);
		atomic_fetch_add(&m->sent_ok, sent);
		for (size_t i = sent; i < n; i++) /* not taken: still ours */
			acrt_event_unref(batch[i]);
		if (rc != ACRT_OK)
			break;
	}
	m->t->ops->close(m->t);
	acrt__event_thread_flush();
	return NULL;
}

static void *
consumer(void *p)
{
	worker *w = p;
	mpmc *m = w->m;
	acrt__inbox_cursor cur;
	acrt__inbox_cursor_init(&cur, &m->ib, 0);
	int64_t last[NPROD];
	for (int i = 0; i < NPROD; i++)
		last[i] = -1;
	acrt_event *got[64];
	for (;;) {
		size_t port;
		acrt__rx_status st;
		size_t n =
		    acrt__inbox_recv(&m->ib, &cur, got, 1 + w->id * 20, &port, ACRT__FOREVER, &st);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			tag t = tag_of(got[i]);
			if (atomic_exchange(&m->seen[t.producer * m->per_producer + t.seq], 1))
				atomic_fetch_add(&m->dups, 1);
			/* Within one consumer, each producer's items arrive in order. */
			if ((int64_t)t.seq <= last[t.producer])
				atomic_fetch_add(&m->order_violations, 1);
			last[t.producer] = t.seq;
			acrt_event_unref(got[i]);
		}
		atomic_fetch_add(&m->received, n);
	}
	acrt__inbox_cursor_free(&cur);
	acrt__event_thread_flush();
	return NULL;
}

static void
run_mpmc(uint32_t per_producer, size_t cap, bool cancel_midway)
{
	mpmc m = {.per_producer = per_producer, .cancel_midway = cancel_midway};
	acrt__inbox_init(&m.ib);
	m.t = acrt__stream_new("mpmc", cap, NPROD, 1, &m.ib.wq);
	acrt__inbox_add(&m.ib, m.t, 0);
	m.seen = calloc((size_t)NPROD * per_producer, 1);
	pthread_t th[NPROD + NCONS];
	worker w[NPROD + NCONS];
	for (uint32_t i = 0; i < NPROD + NCONS; i++) {
		w[i] = (worker){&m, i < NPROD ? i : i - NPROD};
		pthread_create(&th[i], NULL, i < NPROD ? producer : consumer, &w[i]);
	}
	if (cancel_midway) {
		WAIT_FOR(atomic_load(&m.received) > per_producer / 2, 5000);
		m.t->ops->cancel(m.t);
	}
	for (int i = 0; i < NPROD + NCONS; i++)
		pthread_join(th[i], NULL);
	size_t left = m.t->ops->destroy(m.t);
	/* Every event the stream took was received exactly once or released at
	 * destroy: nothing lost, nothing twice. */
	assert_int_equal(atomic_load(&m.received) + left, atomic_load(&m.sent_ok));
	assert_int_equal(atomic_load(&m.dups), 0);
	assert_int_equal(atomic_load(&m.order_violations), 0);
	if (!cancel_midway) {
		assert_int_equal(atomic_load(&m.sent_ok), (uint64_t)NPROD * per_producer);
		assert_int_equal(left, 0);
	}
	acrt__inbox_destroy(&m.ib);
	free(m.seen);
	assert_int_equal(acrt__event_live(), 0);
}

static uint32_t
scaled(uint32_t n)
{
	const char *s = getenv("ACRT_TEST_SCALE"); /* the TSan build runs smaller */
	return s != NULL ? (uint32_t)(n * atof(s)) + 1 : n;
}

static void
test_mpmc_stress(void **state)
{
	(void)state;
	run_mpmc(scaled(200000), 64, false);
	run_mpmc(scaled(20000), 1, false); /* capacity 1: maximal contention */
}

static void
test_close_cancel_race(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++)
		run_mpmc(scaled(20000), (size_t)(1 + i * 7), true);
}

/* ---- inbox: several inputs, EOS only when all ended ---------------------- */

static void
test_inbox_fan_in(void **state)
{
	(void)state;
	acrt__inbox ib;
	acrt__inbox_init(&ib);
	acrt__transport *a = acrt__stream_new("a", 4, 1, 1, &ib.wq);
	acrt__transport *b = acrt__stream_new("b", 4, 1, 1, &ib.wq);
	acrt__inbox_add(&ib, a, 0);
	acrt__inbox_add(&ib, b, 1);
	acrt__inbox_cursor cur;
	acrt__inbox_cursor_init(&cur, &ib, 0);
	acrt_event *e = mk(0, 1);
	size_t sent, port;
	b->ops->send(b, &e, 1, &sent, ACRT__FOREVER, 0);
	a->ops->close(a);
	acrt_event *got[4];
	acrt__rx_status st;
	assert_int_equal(acrt__inbox_recv(&ib, &cur, got, 4, &port, ACRT__FOREVER, &st), 1);
	acrt_event_unref(got[0]);
	assert_int_equal(port, 1);
	assert_int_equal(acrt__inbox_recv(&ib, &cur, got, 4, &port, acrt__mono_ns() + 20 * MS, &st),
	                 0);
	assert_int_equal(st, ACRT__RX_EMPTY); /* b is still open */
	b->ops->close(b);
	assert_int_equal(acrt__inbox_recv(&ib, &cur, got, 4, &port, ACRT__FOREVER, &st), 0);
	assert_int_equal(st, ACRT__RX_EOS);
	acrt__inbox_cursor_free(&cur);
	a->ops->destroy(a);
	b->ops->destroy(b);
	acrt__inbox_destroy(&ib);
}

/* Fan-out: one event, two transports, the same pointer in both (no copy);
 * it is freed only when both consumers have released it. */
static void
test_fan_out_shares_one_event(void **state)
{
	(void)state;
	acrt__waitq wq1, wq2;
	acrt__waitq_init(&wq1);
	acrt__waitq_init(&wq2);
	acrt__transport *a = acrt__stream_new("a", 4, 1, 1, &wq1);
	acrt__transport *b = acrt__stream_new("b", 4, 1, 1, &wq2);
	int64_t live = acrt__event_live();
	acrt_event *ev = mk(0, 42);
	acrt__event_ref_n(ev, 1); /* one reference per target, taken before the first send */
	size_t sent;
	assert_int_equal(a->ops->send(a, &ev, 1, &sent, ACRT__FOREVER, 0), ACRT_OK);
	assert_int_equal(b->ops->send(b, &ev, 1, &sent, ACRT__FOREVER, 0), ACRT_OK);
	acrt_event *ga, *gb;
	acrt__rx_status st;
	assert_int_equal(a->ops->try_recv(a, 0, &ga, 1, &st), 1);
	assert_int_equal(b->ops->try_recv(b, 0, &gb, 1, &st), 1);
	assert_ptr_equal(ga, ev);
	assert_ptr_equal(gb, ev);
	acrt_event_unref(ga);
	assert_int_equal(acrt__event_live(), live + 1); /* b still holds it */
	assert_int_equal(tag_of(gb).seq, 42);
	acrt_event_unref(gb);
	assert_int_equal(acrt__event_live(), live);
	a->ops->destroy(a);
	b->ops->destroy(b);
	acrt__waitq_destroy(&wq1);
	acrt__waitq_destroy(&wq2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backpressure_blocks),
	    cmocka_unit_test(test_blocked_sender_resumes),
	    cmocka_unit_test(test_end_of_stream_after_last_producer),
	    cmocka_unit_test(test_cancel_wakes_waiters),
	    cmocka_unit_test(test_inbox_fan_in),
	    cmocka_unit_test(test_fan_out_shares_one_event),
	    cmocka_unit_test(test_mpmc_stress),
	    cmocka_unit_test(test_close_cancel_race),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
