/*
 * test_state.c - managed state and checkpoint parts, in-process:
 *   - kv: put/get/del against a reference model under random operations
 *     (growth, in-place and resized updates, backward-shift deletion),
 *     dump/load round trip, malformed dumps rejected;
 *   - parts: seal/open round trip, every single flipped bit detected,
 *     truncation, wrong version; checkpoint verification (manifest vs parts);
 *   - barriers in a local stream: alone and in order, held for every producer
 *     (and released by a close), handed to every consumer replica once, with
 *     nothing behind it delivered before all replicas took it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/common.h"
#include "core/event.h"
#include "state/kv.h"
#include "state/part.h"
#include "testutil.h"
#include "transport/local.h"

#define NKEYS 5000

static void
test_kv_random_ops_match_model(void **state)
{
	(void)state;
	acrt__kv *kv = acrt__kv_new();
	assert_non_null(kv);
	static int64_t model[NKEYS]; /* -1 absent, else the value's length */
	for (int i = 0; i < NKEYS; i++)
		model[i] = -1;
	srand(7);
	char val[64];
	for (int op = 0; op < 200000; op++) {
		uint32_t k = (uint32_t)rand() % NKEYS;
		int what = rand() % 3;
		if (what < 2) { /* put, with a length that varies: in place or resized */
			size_t len = (size_t)(rand() % 40);
			memset(val, (int)(k & 0xff), len);
			assert_int_equal(acrt__kv_put(kv, &k, sizeof k, val, len), ACRT_OK);
			model[k] = (int64_t)len;
		} else {
			int rc = acrt__kv_del(kv, &k, sizeof k);
			assert_int_equal(rc, model[k] < 0 ? ACRT_ENOENT : ACRT_OK);
			model[k] = -1;
		}
	}
	size_t present = 0;
	for (uint32_t k = 0; k < NKEYS; k++) {
		const void *v;
		size_t vl;
		int rc = acrt__kv_get(kv, &k, sizeof k, &v, &vl);
		if (model[k] < 0) {
			assert_int_equal(rc, ACRT_ENOENT);
			continue;
		}
		present++;
		assert_int_equal(rc, ACRT_OK);
		assert_int_equal(vl, (size_t)model[k]);
		for (size_t i = 0; i < vl; i++)
			assert_int_equal(((const unsigned char *)v)[i], k & 0xff);
	}
	assert_int_equal(acrt__kv_count(kv), present);

	/* dump -> load into another map: the same content */
	size_t n = acrt__kv_dump_size(kv);
	unsigned char *buf = malloc(n);
	assert_non_null(buf);
	acrt__kv_dump(kv, buf);
	acrt__kv *kv2 = acrt__kv_new();
	assert_int_equal(acrt__kv_load(kv2, buf, n), ACRT_OK);
	assert_int_equal(acrt__kv_count(kv2), present);
	for (uint32_t k = 0; k < NKEYS; k++) {
		const void *v1, *v2;
		size_t l1, l2;
		int r1 = acrt__kv_get(kv, &k, sizeof k, &v1, &l1);
		assert_int_equal(acrt__kv_get(kv2, &k, sizeof k, &v2, &l2), r1);
		if (r1 == ACRT_OK) {
			assert_int_equal(l1, l2);
			assert_memory_equal(v1, v2, l1);
		}
	}
	/* malformed: truncated, trailing garbage, a huge length */
	assert_int_equal(acrt__kv_load(kv2, buf, n - 1), ACRT_EINVAL);
	assert_int_equal(acrt__kv_count(kv2), 0);
	unsigned char *big = malloc(n + 1);
	memcpy(big, buf, n);
	big[n] = 0;
	assert_int_equal(acrt__kv_load(kv2, big, n + 1), ACRT_EINVAL);
	if (present > 0) {
		memset(buf + 8, 0xff, 4); /* the first key's length */
		assert_int_equal(acrt__kv_load(kv2, buf, n), ACRT_EINVAL);
	}
	assert_int_equal(acrt__kv_load(kv2, buf, 3), ACRT_EINVAL);
	free(big);
	free(buf);
	acrt__kv_free(kv2);
	acrt__kv_free(kv);
}

static void
test_kv_empty_keys_and_values(void **state)
{
	(void)state;
	acrt__kv *kv = acrt__kv_new();
	const void *v;
	size_t vl;
	assert_int_equal(acrt__kv_put(kv, "", 0, "", 0), ACRT_OK);
	assert_int_equal(acrt__kv_get(kv, "", 0, &v, &vl), ACRT_OK);
	assert_int_equal(vl, 0);
	assert_int_equal(acrt__kv_put(kv, "a\0b", 3, "x", 1), ACRT_OK);
	assert_int_equal(acrt__kv_get(kv, "a", 1, &v, &vl), ACRT_ENOENT); /* bytes, not C strings */
	assert_int_equal(acrt__kv_get(kv, "a\0b", 3, &v, &vl), ACRT_OK);
	assert_int_equal(acrt__kv_del(kv, "", 0), ACRT_OK);
	assert_int_equal(acrt__kv_count(kv), 1);
	acrt__kv_free(kv);
}

/* A value lent by get may be passed back to put, even when the arena grows. */
static void
test_kv_put_from_a_lent_value(void **state)
{
	(void)state;
	acrt__kv *kv = acrt__kv_new();
	char big[300];
	memset(big, 'x', sizeof big);
	assert_int_equal(acrt__kv_put(kv, "a", 1, big, sizeof big), ACRT_OK);
	for (int i = 0; i < 2000; i++) { /* grows the arena many times over */
		const void *v;
		size_t vl;
		char k[16];
		assert_int_equal(acrt__kv_get(kv, "a", 1, &v, &vl), ACRT_OK);
		snprintf(k, sizeof k, "k%d", i);
		assert_int_equal(acrt__kv_put(kv, k, strlen(k), v, vl), ACRT_OK);
		assert_int_equal(acrt__kv_get(kv, "a", 1, &v, &vl), ACRT_OK);
		assert_int_equal(
		    acrt__kv_put(kv, "a", 1, vl == 300 ? v : big, vl == 300 ? 299 : 300), ACRT_OK);
	}
	const void *v;
	size_t vl;
	assert_int_equal(acrt__kv_get(kv, "k1999", 5, &v, &vl), ACRT_OK);
	assert_true(vl == 300 || vl == 299);
	assert_int_equal(((const char *)v)[0], 'x');
	assert_int_equal(((const char *)v)[vl - 1], 'x');
	assert_int_equal(acrt__kv_count(kv), 2001);
	acrt__kv_free(kv);
}

static unsigned char *
sealed(const char *payload, size_t *len)
{
	size_t n = strlen(payload);
	unsigned char *b = malloc(ACRT__PART_HDR + n);
	memcpy(b + ACRT__PART_HDR, payload, n);
	acrt__part_seal(b, n);
	*len = ACRT__PART_HDR + n;
	return b;
}

static void
test_part_detects_every_bit_flip(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = sealed("the state of one instance", &len);
	const unsigned char *p;
	size_t n;
	char why[160];
	assert_int_equal(acrt__part_open(b, len, &p, &n, why, sizeof why), ACRT_OK);
	assert_int_equal(n, strlen("the state of one instance"));
	assert_memory_equal(p, "the state", 9);
	for (size_t i = 0; i < len; i++) {
		if (i >= 12 && i < 16)
			continue; /* the reserved word is not checked */
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1 << bit);
			assert_int_equal(acrt__part_open(b, len, &p, &n, why, sizeof why),
			                 ACRT_EINVAL);
			b[i] ^= (unsigned char)(1 << bit);
		}
	}
	assert_int_equal(acrt__part_open(b, len - 1, &p, &n, why, sizeof why), ACRT_EINVAL);
	assert_non_null(strstr(why, "truncated"));
	b[8] = 2; /* format version 2 */
	assert_int_equal(acrt__part_open(b, len, &p, &n, why, sizeof why), ACRT_EINVAL);
	assert_non_null(strstr(why, "format version 2"));
	free(b);
}

static size_t problems;
static void
count_problem(void *arg, const char *part, const char *reason)
{
	(void)arg;
	(void)part;
	(void)reason;
	problems++;
}

static void
test_verify_manifest_and_parts(void **state)
{
	(void)state;
	acrt__blob parts[3] = {{0}};
	acrt__ckpt ck = {.id = 9, .wall_ns = 1, .parts = parts, .n_parts = 2};
	parts[0].name = strdup("a#0");
	parts[0].data = sealed("x", &parts[0].len);
	parts[1].name = strdup("b#0");
	parts[1].data = sealed("yy", &parts[1].len);
	assert_int_equal(acrt__part_manifest("sys", &ck, &parts[2]), ACRT_OK);
	ck.n_parts = 3;
	problems = 0;
	assert_int_equal(acrt__ckpt_verify(&ck, count_problem, NULL), 0);
	parts[1].data[parts[1].len - 1] ^= 1; /* corrupt b#0 */
	assert_int_equal(acrt__ckpt_verify(&ck, count_problem, NULL), 1);
	parts[1].data[parts[1].len - 1] ^= 1;
	acrt__blob manifest = parts[2]; /* b#0 missing: partial */
	free(parts[1].name);
	free(parts[1].data);
	parts[1] = manifest;
	ck.n_parts = 2;
	assert_true(acrt__ckpt_verify(&ck, count_problem, NULL) >= 1);
	ck.n_parts = 1; /* no manifest at all */
	assert_int_equal(acrt__ckpt_verify(&ck, count_problem, NULL), 1);
	free(parts[0].name);
	free(parts[0].data);
	free(manifest.name);
	free(manifest.data);
}

/* ---- barriers in a stream --------------------------------------------------- */

static acrt_event *
data_ev(uint64_t v)
{
	return acrt__event_new_bytes(NULL, &v, sizeof v, NULL);
}

static void
send1(acrt__transport *t, acrt_event *ev)
{
	size_t sent;
	assert_int_equal(t->ops->send(t, &ev, 1, &sent, ACRT__FOREVER, 0), ACRT_OK);
}

static void
test_stream_barrier_to_every_replica_once(void **state)
{
	(void)state;
	acrt__waitq wq;
	acrt__waitq_init(&wq);
	acrt__transport *t = acrt__stream_new("t", 16, 1, 2, &wq);
	acrt_event *got[8];
	acrt__rx_status st;
	send1(t, data_ev(1));
	assert_int_equal(t->ops->send_barrier(t, acrt__event_new_barrier(5), ACRT__FOREVER),
	                 ACRT_OK);
	send1(t, data_ev(2));
	/* replica 0: the event before the barrier (not the barrier with it) */
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 1);
	assert_int_equal(got[0]->kind, ACRT__EV_DATA);
	acrt_event_unref(got[0]);
	/* replica 0 takes the barrier, then sees nothing until replica 1 has it */
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 1);
	assert_int_equal(got[0]->kind, ACRT__EV_BARRIER);
	assert_int_equal(got[0]->barrier_id, 5);
	acrt_event_unref(got[0]);
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 0);
	assert_int_equal(st, ACRT__RX_EMPTY);
	assert_int_equal(t->ops->try_recv(t, 1, got, 8, &st), 1);
	assert_int_equal(got[0]->kind, ACRT__EV_BARRIER);
	acrt_event_unref(got[0]);
	/* now past it: the event behind, to whoever asks */
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 1);
	assert_int_equal(got[0]->kind, ACRT__EV_DATA);
	acrt_event_unref(got[0]);
	acrt__transport_stats ts;
	t->ops->stats(t, &ts);
	assert_int_equal(ts.sent, 2); /* barriers are not events */
	assert_int_equal(ts.received, 2);
	assert_int_equal(ts.depth, 0);
	assert_int_equal(t->ops->destroy(t), 0);
	acrt__waitq_destroy(&wq);
}

static void
test_stream_barrier_waits_for_every_producer(void **state)
{
	(void)state;
	acrt__waitq wq;
	acrt__waitq_init(&wq);
	acrt__transport *t = acrt__stream_new("t", 16, 2, 1, &wq);
	acrt_event *got[8];
	acrt__rx_status st;
	/* producer A arrives; B has not: A waits (here: until its deadline) and the
	 * barrier does not enter the ring */
	int64_t soon = acrt__mono_ns() + 20000000;
	assert_int_equal(t->ops->send_barrier(t, acrt__event_new_barrier(3), soon), ACRT_ETIMEDOUT);
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 0);
	/* a new attempt; B closes instead of sending it: the barrier is released */
	t->ops->close(t); /* B */
	assert_int_equal(t->ops->send_barrier(t, acrt__event_new_barrier(4), ACRT__FOREVER),
	                 ACRT_OK);
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 1);
	assert_int_equal(got[0]->barrier_id, 4);
	acrt_event_unref(got[0]);
	t->ops->close(t); /* A */
	assert_int_equal(t->ops->try_recv(t, 0, got, 8, &st), 0);
	assert_int_equal(st, ACRT__RX_EOS);
	assert_int_equal(t->ops->destroy(t), 0);
	acrt__waitq_destroy(&wq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kv_random_ops_match_model),
	    cmocka_unit_test(test_kv_empty_keys_and_values),
	    cmocka_unit_test(test_kv_put_from_a_lent_value),
	    cmocka_unit_test(test_part_detects_every_bit_flip),
	    cmocka_unit_test(test_verify_manifest_and_parts),
	    cmocka_unit_test(test_stream_barrier_to_every_replica_once),
	    cmocka_unit_test(test_stream_barrier_waits_for_every_producer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
