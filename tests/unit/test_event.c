/*
 * test_event.c - events: refcounts and release, fan-out sharing one event,
 * drafts vs sealed (headers), lazy JSON parse and serialisation cached once
 * even under concurrent readers, trace context propagation, the event clock.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/event.h"
#include "testutil.h"

static void
test_refcount_frees_on_last_unref(void **state)
{
	(void)state;
	int64_t live = acrt__event_live();
	acrt_event *ev = acrt__event_new_bytes(NULL, "abc", 3, "text/plain");
	assert_non_null(ev);
	assert_int_equal(acrt__event_live(), live + 1);
	acrt_event_ref(ev);
	acrt__event_ref_n(ev, 2); /* fan-out to three more targets */
	for (int i = 0; i < 3; i++) {
		acrt_event_unref(ev);
		assert_int_equal(acrt__event_live(), live + 1);
	}
	acrt_event_unref(ev);
	assert_int_equal(acrt__event_live(), live);
	acrt_event_unref(NULL); /* NULL is accepted */
}

static void
test_payload_inline_and_large(void **state)
{
	(void)state;
	char big[1000];
	memset(big, 'x', sizeof big);
	acrt_event *a = acrt__event_new_bytes(NULL, "hi", 2, NULL);
	acrt_event *b = acrt__event_new_bytes(NULL, big, sizeof big, "application/x-big");
	size_t n;
	assert_memory_equal(acrt_event_data(a, &n), "hi", 2);
	assert_int_equal(n, 2);
	assert_string_equal(acrt_event_content_type(a), "application/octet-stream");
	assert_memory_equal(acrt_event_data(b, &n), big, sizeof big);
	assert_int_equal(n, sizeof big);
	assert_string_equal(acrt_event_content_type(b), "application/x-big");
	acrt_event_unref(a);
	acrt_event_unref(b);
}

static void
test_headers_only_on_drafts(void **state)
{
	(void)state;
	acrt_event *ev = acrt__event_new_bytes(NULL, "x", 1, NULL);
	assert_int_equal(acrt_event_set_header(ev, "k", "v1"), ACRT_OK);
	assert_int_equal(acrt_event_set_header(ev, "k", "v2"), ACRT_OK);
	assert_string_equal(acrt_event_header(ev, "k"), "v2");
	acrt__event_seal(ev);
	assert_int_equal(acrt_event_set_header(ev, "k", "v3"), ACRT_EINVAL);
	assert_string_equal(acrt_event_header(ev, "k"), "v2");
	assert_null(acrt_event_header(ev, "missing"));
	acrt_event_unref(ev);
}

static void
test_json_lazy_and_cached(void **state)
{
	(void)state;
	const char *txt = "{\"a\":1,\"b\":[true,null]}";
	acrt_event *ev = acrt__event_new_bytes(NULL, txt, strlen(txt), "application/json");
	const json_t *j1 = acrt_event_json(ev);
	assert_non_null(j1);
	assert_ptr_equal(acrt_event_json(ev), j1); /* parsed once */
	assert_int_equal(json_integer_value(json_object_get(j1, "a")), 1);
	acrt_event_unref(ev);

	/* A JSON event is serialised only when asked, then cached. */
	acrt_event *je = acrt__event_new_json(NULL, json_pack("{s:i}", "seq", 7));
	size_t n1, n2;
	const char *d1 = acrt_event_data(je, &n1);
	assert_string_equal(d1, "{\"seq\":7}");
	assert_ptr_equal(acrt_event_data(je, &n2), d1);
	assert_int_equal(n1, n2);
	acrt_event_unref(je);

	acrt_event *bad = acrt__event_new_bytes(NULL, "{nope", 5, NULL);
	assert_null(acrt_event_json(bad));
	acrt_event_unref(bad);
}

typedef struct race {
	acrt_event *ev;
	const json_t *json;
	const void *data;
} race;

static void *
reader(void *p)
{
	race *r = p;
	r->json = acrt_event_json(r->ev);
	r->data = acrt_event_data(r->ev, NULL);
	return NULL;
}

static void
test_concurrent_readers_share_one_parse(void **state)
{
	(void)state;
	for (int round = 0; round < 50; round++) {
		acrt_event *ev =
		    acrt__event_new_json(NULL, json_pack("{s:i,s:s}", "n", round, "s", "x"));
		acrt__event_seal(ev);
		race r[4];
		pthread_t th[4];
		for (int i = 0; i < 4; i++) {
			r[i] = (race){.ev = ev};
			pthread_create(&th[i], NULL, reader, &r[i]);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		for (int i = 1; i < 4; i++) {
			assert_ptr_equal(r[i].json, r[0].json);
			assert_ptr_equal(r[i].data, r[0].data);
		}
		acrt_event_unref(ev);
	}
}

static void
test_steal_json_only_when_exclusive(void **state)
{
	(void)state;
	acrt_event *ev = acrt__event_new_json(NULL, json_pack("{s:i}", "seq", 1));
	acrt__event_seal(ev);
	acrt_event_ref(ev); /* shared with another holder: no steal */
	assert_null(acrt__event_steal_json(ev));
	acrt_event_unref(ev);
	json_t *held = json_incref((json_t *)acrt_event_json(ev)); /* JSON shared: no steal */
	assert_null(acrt__event_steal_json(ev));
	json_decref(held);
	json_t *j = acrt__event_steal_json(ev); /* sole owner of both: stolen */
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 1);
	json_decref(j);
	acrt_event_unref(ev); /* the event no longer owns the JSON: no double free */
}

/* The APIEndpoint's request id and answer status go to derived events (and
 * through a JSON one); other headers do not. */
static void
test_request_headers_inherited(void **state)
{
	(void)state;
	acrt_event *req = acrt__event_new_bytes(NULL, "{}", 2, NULL);
	assert_int_equal(acrt_event_set_header(req, ACRT_REQUEST_ID_HEADER, "42"), ACRT_OK);
	assert_int_equal(acrt_event_set_header(req, ACRT_HTTP_STATUS_HEADER, "201"), ACRT_OK);
	assert_int_equal(acrt_event_set_header(req, "http-path", "/todos"), ACRT_OK);
	acrt_event *child = acrt__event_new_bytes(req, "c", 1, NULL);
	acrt_event *grand = acrt__event_new_json(child, json_object());
	acrt_event *root = acrt__event_new_bytes(NULL, "r", 1, NULL);
	assert_non_null(child);
	assert_non_null(grand);
	assert_string_equal(acrt_event_header(child, ACRT_REQUEST_ID_HEADER), "42");
	assert_string_equal(acrt_event_header(grand, ACRT_REQUEST_ID_HEADER), "42");
	assert_string_equal(acrt_event_header(grand, ACRT_HTTP_STATUS_HEADER), "201");
	assert_null(acrt_event_header(child, "http-path"));
	assert_null(acrt_event_header(root, ACRT_REQUEST_ID_HEADER));
	/* a derived event is a draft: its status may be changed */
	assert_int_equal(acrt_event_set_header(grand, ACRT_HTTP_STATUS_HEADER, "404"), ACRT_OK);
	assert_string_equal(acrt_event_header(grand, ACRT_HTTP_STATUS_HEADER), "404");
	acrt_event_unref(req);
	acrt_event_unref(child);
	acrt_event_unref(grand);
	acrt_event_unref(root);
}

static void
test_trace_context_propagates(void **state)
{
	(void)state;
	acrt_event *parent = acrt__event_new_bytes(NULL, "p", 1, NULL);
	acrt_event *child = acrt__event_new_bytes(parent, "c", 1, NULL);
	acrt_event *other = acrt__event_new_bytes(NULL, "o", 1, NULL);
	assert_memory_equal(acrt_event_trace_id(child), acrt_event_trace_id(parent), 16);
	assert_int_equal(acrt_event_time_ns(child),
	                 acrt_event_time_ns(parent)); /* ingestion time */
	assert_true(acrt_event_time_ns(parent) > 0);
	assert_memory_not_equal(acrt_event_span_id(child), acrt_event_span_id(parent), 8);
	assert_memory_not_equal(acrt_event_trace_id(other), acrt_event_trace_id(parent), 16);
	assert_true(acrt_event_id(child) != acrt_event_id(parent));
	char tp[56];
	acrt_event_traceparent(child, tp);
	assert_int_equal(strlen(tp), 55);
	assert_memory_equal(tp, "00-", 3);
	assert_int_equal(tp[35], '-');
	assert_string_equal(tp + 52, "-01");
	acrt_event_unref(parent);
	acrt_event_unref(child);
	acrt_event_unref(other);
}

static void
test_event_clock_tracks_realtime(void **state)
{
	(void)state;
	/* Past calibration (10 ms), the TSC clock stays within 1 ms of CLOCK_REALTIME. */
	int64_t until = acrt__mono_ns() + 30 * MS;
	int64_t worst = 0;
	while (acrt__mono_ns() < until) {
		int64_t a = acrt__wall_ns(), t = acrt__event_clock_ns(), b = acrt__wall_ns();
		int64_t d = t < a ? a - t : t > b ? t - b : 0;
		if (d > worst)
			worst = d;
		a = acrt__mono_ns(), t = acrt__fast_mono_ns(), b = acrt__mono_ns();
		d = t < a ? a - t : t > b ? t - b : 0;
		if (d > worst)
			worst = d;
	}
	assert_true(worst < 1 * MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refcount_frees_on_last_unref),
	    cmocka_unit_test(test_payload_inline_and_large),
	    cmocka_unit_test(test_headers_only_on_drafts),
	    cmocka_unit_test(test_json_lazy_and_cached),
	    cmocka_unit_test(test_concurrent_readers_share_one_parse),
	    cmocka_unit_test(test_steal_json_only_when_exclusive),
	    cmocka_unit_test(test_trace_context_propagates),
	    cmocka_unit_test(test_request_headers_inherited),
	    cmocka_unit_test(test_event_clock_tracks_realtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
