/*
 * test_rxq.c - the receiving side the network transports share
 * (src/transport/rxq.h), driven by hand as a reader thread and a consumer
 * would drive it, without a broker:
 *   - sequences: a message sent again (same epoch and sequences) is dropped,
 *     counted, and acknowledged; a later epoch starts afresh; an older one is
 *     dropped; a message straddling the last sequence keeps its new part;
 *   - with checkpoints: barrier N is handed alone, once to each replica, when
 *     the trigger rises; the position saved for N is the last sequence
 *     handed before it; processed messages are acknowledged only once a
 *     checkpoint covering them is stored; a restored position drops what it
 *     covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "core/waitq.h"
#include "transport/rxq.h"
#include "transport/side.h"
#include "transport/wire.h"

static int freed;
static void
free_tok(void *tok)
{
	(void)tok;
	freed++;
}

static const acrt__transport_ops ops = {
    .kind = "test",
    .send = acrt__side_no_send,
    .kick = acrt__side_kick,
    .try_recv = acrt__rxq_try_recv,
    .send_barrier = acrt__side_no_barrier,
    .close = acrt__side_no_close,
    .cancel = acrt__rxq_cancel,
    .stats = acrt__rxq_stats,
    .processed = acrt__rxq_processed,
};

typedef struct fixture {
	acrt__rxq q;
	acrt__waitq wq;
	_Atomic uint64_t trigger, aborted;
	int nudges;
} fixture;

static void
nudge(void *arg)
{
	((fixture *)arg)->nudges++;
}

static fixture *
setup(unsigned consumers, size_t capacity)
{
	fixture *f = calloc(1, sizeof *f);
	char err[128];
	assert_non_null(f);
	assert_int_equal(acrt__waitq_init(&f->wq), 0);
	f->q.base.ops = &ops;
	assert_int_equal(acrt__rxq_init(&f->q, "t", capacity, consumers, 1, &f->wq, NULL, free_tok,
	                                err, sizeof err),
	                 0);
	return f;
}

static void
teardown(fixture *f)
{
	acrt__rxq_fini(&f->q);
	acrt__waitq_destroy(&f->wq);
	free(f);
}

/* The reader's side: a message of n events with sequences first.. of epoch;
 * its token is a distinct pointer (tok). */
static void
put(fixture *f, uint64_t epoch, uint64_t first, size_t n, void *tok)
{
	acrt_event *evs[ACRT__RXQ_PER_MSG];
	for (size_t i = 0; i < n; i++) {
		evs[i] = acrt__event_new_bytes(NULL, "{}", 2, NULL);
		assert_non_null(evs[i]);
		acrt__event_seal(evs[i]);
	}
	uint64_t seq[2] = {epoch, first};
	acrt__rxq_put(&f->q, 0, evs, n, -1, seq, tok);
}

/* Takes everything there is for replica c: the number of data events, and
 * the barrier's id in *bar (0: none). */
static size_t
take(fixture *f, unsigned c, uint64_t *bar)
{
	acrt_event *evs[256];
	acrt__rx_status st;
	size_t total = 0;
	*bar = 0;
	for (;;) {
		size_t k = acrt__rxq_try_recv(&f->q.base, c, evs, 256, &st);
		if (st != ACRT__RX_ITEMS)
			return total;
		for (size_t i = 0; i < k; i++) {
			if (evs[i]->kind == ACRT__EV_BARRIER)
				*bar = evs[i]->barrier_id;
			else
				total++;
			acrt_event_unref(evs[i]);
		}
		if (*bar != 0)
			return total;
	}
}

static size_t
ackable(fixture *f)
{
	return f->q.ackq.n;
}

static void
test_sequences(void **state)
{
	(void)state;
	fixture *f = setup(1, 4096);
	int t[8];
	uint64_t bar;
	put(f, 10, 1, 64, &t[0]);
	put(f, 10, 65, 64, &t[1]);
	put(f, 10, 1, 64, &t[2]);   /* sent again: dropped */
	put(f, 10, 100, 64, &t[3]); /* 100..128 had, 129..163 new */
	put(f, 9, 500, 10, &t[4]);  /* an older epoch: dropped */
	put(f, 11, 1, 5, &t[5]);    /* a later epoch: afresh */
	assert_int_equal(take(f, 0, &bar), 64 + 64 + 35 + 5);
	assert_int_equal(bar, 0);
	assert_int_equal(f->q.dups, 64 + 29 + 10);
	/* The duplicates' messages are acknowledged at once; the others once
	 * processed (the consumer comes back empty-handed). */
	assert_int_equal(ackable(f), 2);
	acrt__rxq_processed(&f->q.base, 0);
	assert_int_equal(ackable(f), 6);
	teardown(f);
}

static void
test_checkpoints(void **state)
{
	(void)state;
	fixture *f = setup(2, 4096);
	acrt__ck_link link = {&f->trigger, &f->aborted, nudge, f};
	acrt__rxq_ck_start(&f->q.base, &link);
	int t[8];
	uint64_t bar;
	unsigned char pos[ACRT__HOP_PART];
	uint64_t e, s;

	put(f, 7, 1, 64, &t[0]);
	assert_int_equal(take(f, 0, &bar), 64);
	put(f, 7, 65, 64, &t[1]);
	atomic_store(&f->trigger, 1); /* checkpoint 1 */
	/* Replica 0 gets the barrier alone, before the message after it... */
	assert_int_equal(take(f, 0, &bar), 0);
	assert_int_equal(bar, 1);
	/* ...and nothing more until replica 1 has taken it too. */
	assert_int_equal(take(f, 0, &bar), 0);
	assert_int_equal(bar, 0);
	assert_int_equal(take(f, 1, &bar), 0);
	assert_int_equal(bar, 1);
	acrt__rxq_ck_save(&f->q.base, 1, pos);
	assert_int_equal(acrt__wire_hop_get(pos, sizeof pos, 2, &e, &s), 0);
	assert_int_equal(e, 7);
	assert_int_equal(s, 64); /* the last sequence handed before barrier 1 */
	assert_int_equal(take(f, 1, &bar), 64);
	/* Both processed: held, not acknowledged. */
	acrt__rxq_processed(&f->q.base, 0);
	acrt__rxq_processed(&f->q.base, 1);
	assert_int_equal(ackable(f), 0);
	assert_int_equal(f->q.held.toks.n, 2);
	/* Checkpoint 1 stored: it covers the first message (replica 0 came
	 * back for more, so had processed it, before taking barrier 1), not the
	 * second (handed after the barrier). Checkpoint 2 covers both. */
	acrt__rxq_ck_committed(&f->q.base, 1);
	assert_int_equal(ackable(f), 1);
	acrt__rxq_ck_committed(&f->q.base, 2);
	assert_int_equal(ackable(f), 2);
	/* The position for a final part (no barrier of that id): the last one. */
	acrt__rxq_ck_save(&f->q.base, UINT64_MAX, pos);
	assert_int_equal(acrt__wire_hop_get(pos, sizeof pos, 2, &e, &s), 0);
	assert_int_equal(s, 128);
	teardown(f);

	/* A restored position drops what it covers (a resumed node). */
	f = setup(1, 4096);
	link = (acrt__ck_link){&f->trigger, &f->aborted, nudge, f};
	acrt__rxq_ck_start(&f->q.base, &link);
	acrt__wire_hop_put(pos, 2, 7, 100);
	char why[64];
	assert_int_equal(acrt__rxq_ck_load(&f->q.base, pos, sizeof pos, why, sizeof why), 0);
	acrt__wire_hop_put(pos, 1, 7, 100);
	assert_int_equal(acrt__rxq_ck_load(&f->q.base, pos, sizeof pos, why, sizeof why), -1);
	put(f, 7, 65, 64, &t[2]);
	assert_int_equal(take(f, 0, &bar), 28);
	teardown(f);
}

static void
test_nudge(void **state)
{
	(void)state;
	fixture *f = setup(1, 64 * 16); /* a bound of 16 messages */
	acrt__ck_link link = {&f->trigger, &f->aborted, nudge, f};
	acrt__rxq_ck_start(&f->q.base, &link);
	int t[8];
	uint64_t bar;
	for (int i = 0; i < 4; i++) {
		put(f, 1, 1 + 64 * (uint64_t)i, 64, &t[i]);
		assert_int_equal(take(f, 0, &bar), 64);
		acrt__rxq_processed(&f->q.base, 0);
	}
	/* A quarter of the bound held: one request for a checkpoint. */
	assert_int_equal(f->nudges, 1);
	put(f, 1, 257, 64, &t[4]);
	take(f, 0, &bar);
	acrt__rxq_processed(&f->q.base, 0);
	assert_int_equal(f->nudges, 1);
	/* Once a barrier covers them, the count starts again. */
	atomic_store(&f->trigger, 1);
	assert_int_equal(take(f, 0, &bar), 0);
	assert_int_equal(bar, 1);
	acrt__rxq_ck_committed(&f->q.base, 1);
	assert_int_equal(ackable(f), 5);
	teardown(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequences),
	    cmocka_unit_test(test_checkpoints),
	    cmocka_unit_test(test_nudge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
