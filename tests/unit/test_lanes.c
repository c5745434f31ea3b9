/*
 * test_lanes.c - the dealer of a binding to a component on several nodes
 * (src/transport/lanes.c): turns of 64 events round the lanes, whatever the
 * sizes of the sends; a resumed dealer goes on from its lanes' positions;
 * close, barriers and sync reach every lane. Local streams stand in for the
 * network lanes (a position is given to them through a wrapper).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "testutil.h"
#include "transport/lanes.h"
#include "transport/local.h"

static acrt_event *
mk(uint32_t seq)
{
	acrt_event *ev = acrt__event_new_bytes(NULL, &seq, sizeof seq, NULL);
	acrt__event_seal(ev);
	return ev;
}

static uint32_t
seq_of(acrt_event *ev)
{
	uint32_t s;
	size_t n;
	memcpy(&s, acrt_event_data(ev, &n), sizeof s);
	return s;
}

/* A local stream with a position and a sync count: a network lane's stand-in. */
typedef struct fake {
	acrt__transport base;
	acrt__transport *in;
	acrt__transport_ops ops;
	uint64_t pos;
	int syncs;
} fake;

static int
f_send(acrt__transport *b, acrt_event **evs, size_t n, size_t *sent, int64_t dl, unsigned fl)
{
	fake *f = (fake *)b;
	int rc = f->in->ops->send(f->in, evs, n, sent, dl, fl);
	f->pos += *sent;
	return rc;
}
static void
f_kick(acrt__transport *b)
{
	((fake *)b)->in->ops->kick(((fake *)b)->in);
}
static int
f_barrier(acrt__transport *b, acrt_event *ev, int64_t dl)
{
	return ((fake *)b)->in->ops->send_barrier(((fake *)b)->in, ev, dl);
}
static void
f_close(acrt__transport *b)
{
	((fake *)b)->in->ops->close(((fake *)b)->in);
}
static void
f_cancel(acrt__transport *b)
{
	((fake *)b)->in->ops->cancel(((fake *)b)->in);
}
static void
f_stats(acrt__transport *b, acrt__transport_stats *out)
{
	((fake *)b)->in->ops->stats(((fake *)b)->in, out);
}
static int
f_sync(acrt__transport *b, int64_t dl)
{
	(void)dl;
	((fake *)b)->syncs++;
	return ACRT_OK;
}
static uint64_t
f_position(acrt__transport *b)
{
	return ((fake *)b)->pos;
}

static void
fake_init(fake *f, acrt__waitq *wq, uint64_t pos)
{
	memset(f, 0, sizeof *f);
	f->in = acrt__stream_new("lane", 1024, 1, 1, wq);
	assert_non_null(f->in);
	f->ops = (acrt__transport_ops){.kind = "fake",
	                               .send = f_send,
	                               .kick = f_kick,
	                               .send_barrier = f_barrier,
	                               .close = f_close,
	                               .cancel = f_cancel,
	                               .stats = f_stats,
	                               .sync = f_sync,
	                               .position = f_position};
	f->base.ops = &f->ops;
	f->pos = pos;
}

/* Takes what lane f holds: the sequences, in order, into out; how many. */
static size_t
drain(fake *f, acrt__waitq *wq, uint32_t *out, size_t max)
{
	size_t n = 0;
	acrt_event *evs[256];
	acrt__rx_status st;
	size_t k;
	while ((k = acrt__transport_recv(f->in, wq, evs, 256, acrt__mono_ns(), &st)) > 0)
		for (size_t i = 0; i < k; i++) {
			if (n < max)
				out[n++] = seq_of(evs[i]);
			acrt_event_unref(evs[i]);
		}
	return n;
}

/* Sends seqs [from, from + n) in sends of `step` events. */
static void
deal(acrt__transport *d, uint32_t from, size_t n, size_t step)
{
	acrt_event *evs[512];
	for (size_t i = 0; i < n; i++)
		evs[i] = mk(from + (uint32_t)i);
	for (size_t at = 0; at < n; at += step) {
		size_t m = n - at < step ? n - at : step, sent = 0;
		assert_int_equal(d->ops->send(d, evs + at, m, &sent, ACRT__FOREVER, 0), ACRT_OK);
		assert_int_equal(sent, m);
	}
}

/* Whatever the sizes of the sends, lane k gets turns k, k+3, ... of 64. */
static void
test_turns_of_64(void **state)
{
	(void)state;
	static const size_t steps[] = {1, 7, 64, 100, 500};
	for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
		acrt__waitq wq;
		assert_int_equal(acrt__waitq_init(&wq), 0);
		fake f[3];
		acrt__transport *l[3];
		for (int i = 0; i < 3; i++) {
			fake_init(&f[i], &wq, 0);
			l[i] = &f[i].base;
		}
		acrt__transport *d = acrt__lanes_new("b", l, 3);
		assert_non_null(d);
		deal(d, 0, 500, steps[s]);
		for (int i = 0; i < 3; i++) {
			uint32_t got[600];
			size_t n = drain(&f[i], &wq, got, 600);
			size_t want = 0;
			for (uint32_t q = 0; q < 500; q++)
				if ((q / ACRT__LANE_TURN) % 3 == (uint32_t)i) {
					assert_true(want < n);
					assert_int_equal(got[want], q);
					want++;
				}
			assert_int_equal(n, want);
		}
		d->ops->destroy(d);
		for (int i = 0; i < 3; i++)
			f[i].in->ops->destroy(f[i].in);
		acrt__waitq_destroy(&wq);
	}
}

/* A dealer over lanes that had numbered 74 and 64 events (a resumed
 * producer: turns 0 and 1, and ten events of turn 2, lane 0's): it goes on
 * with the 54 left of turn 2 on lane 0, then turn 3 on lane 1. */
static void
test_resumes_from_positions(void **state)
{
	(void)state;
	acrt__waitq wq;
	assert_int_equal(acrt__waitq_init(&wq), 0);
	fake f[2];
	acrt__transport *l[2];
	fake_init(&f[0], &wq, 64 + 10); /* turns 0 and 2 (ten of it) */
	fake_init(&f[1], &wq, 64);      /* turn 1 */
	l[0] = &f[0].base;
	l[1] = &f[1].base;
	acrt__transport *d = acrt__lanes_new("b", l, 2);
	assert_non_null(d);
	deal(d, 138, 100, 100); /* events 138 .. 237 */
	uint32_t got[200];
	size_t n0 = drain(&f[0], &wq, got, 200);
	assert_int_equal(n0, 54); /* 138 .. 191 */
	assert_int_equal(got[0], 138);
	assert_int_equal(got[53], 191);
	size_t n1 = drain(&f[1], &wq, got, 200);
	assert_int_equal(n1, 46); /* 192 .. 237, turn 3 */
	assert_int_equal(got[0], 192);
	d->ops->destroy(d);
	for (int i = 0; i < 2; i++)
		f[i].in->ops->destroy(f[i].in);
	acrt__waitq_destroy(&wq);
}

/* sync, close and a barrier reach every lane; the dealer names its lanes as
 * its parts in checkpoints. */
static void
test_forwards_to_every_lane(void **state)
{
	(void)state;
	acrt__waitq wq;
	assert_int_equal(acrt__waitq_init(&wq), 0);
	fake f[2];
	acrt__transport *l[2];
	for (int i = 0; i < 2; i++) {
		fake_init(&f[i], &wq, 0);
		l[i] = &f[i].base;
	}
	acrt__transport *d = acrt__lanes_new("b", l, 2);
	assert_non_null(d);
	assert_int_equal(d->n_parts, 2);
	assert_ptr_equal(d->parts[1], l[1]);
	assert_int_equal(d->ops->sync(d, ACRT__FOREVER), ACRT_OK);
	assert_int_equal(f[0].syncs, 1);
	assert_int_equal(f[1].syncs, 1);
	acrt_event *b = acrt__event_new_barrier(7);
	assert_non_null(b);
	assert_int_equal(d->ops->send_barrier(d, b, ACRT__FOREVER), ACRT_OK);
	d->ops->close(d);
	for (int i = 0; i < 2; i++) {
		acrt_event *evs[4];
		acrt__rx_status st;
		size_t k = acrt__transport_recv(f[i].in, &wq, evs, 4, acrt__mono_ns(), &st);
		assert_int_equal(k, 1); /* the barrier, each its own reference */
		assert_int_equal(evs[0]->barrier_id, 7);
		acrt_event_unref(evs[0]);
		k = acrt__transport_recv(f[i].in, &wq, evs, 4, acrt__mono_ns(), &st);
		assert_int_equal(k, 0);
		assert_int_equal(st, ACRT__RX_EOS); /* closed */
	}
	d->ops->destroy(d);
	for (int i = 0; i < 2; i++)
		f[i].in->ops->destroy(f[i].in);
	acrt__waitq_destroy(&wq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_turns_of_64),
	    cmocka_unit_test(test_resumes_from_positions),
	    cmocka_unit_test(test_forwards_to_every_lane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
