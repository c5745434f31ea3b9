/*
 * test_wire.c - the wire encoding of events between nodes (src/transport/
 * wire.h): a round trip keeps the payload bytes (binary, NULs included, the
 * exact JSON text), content type, headers, ids, time and trace context; end
 * markers carry the producer index; frames split a packed message; every
 * truncation and a flipped magic, version, flag or kind is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "core/strbuf.h"
#include "transport/wire.h"

static acrt_event *
mk(const void *data, size_t len, const char *ct)
{
	acrt_event *ev = acrt__event_new_bytes(NULL, data, len, ct);
	assert_non_null(ev);
	assert_int_equal(acrt_event_set_header(ev, "k1", "v1"), ACRT_OK);
	assert_int_equal(acrt_event_set_header(ev, "key two", ""), ACRT_OK);
	acrt__event_seal(ev);
	return ev;
}

static void
test_round_trip(void **state)
{
	(void)state;
	static const char bin[] = {'a', 0, (char)0xff, '\n', 'z'};
	const char *json = "{\"n\": 1.50, \"s\":\"\\u00e9\"}"; /* exact text, not reformatted */
	struct {
		const void *p;
		size_t n;
		const char *ct;
	} cases[] = {{bin, sizeof bin, "application/octet-stream"},
	             {json, strlen(json), "application/json"},
	             {"", 0, "text/x-custom"}};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		acrt_event *ev = mk(cases[c].p, cases[c].n, cases[c].ct);
		acrt__strbuf b = {0};
		assert_int_equal(acrt__wire_encode(ev, &b), 0);
		int kind = -1;
		acrt_event *out = NULL;
		uint32_t prod = 0;
		const char *why = NULL;
		assert_int_equal(acrt__wire_decode(b.p, b.len, &kind, &out, &prod, &why), 0);
		assert_int_equal(kind, ACRT__WIRE_DATA);
		size_t n = 0;
		const void *d = acrt_event_data(out, &n);
		assert_int_equal(n, cases[c].n);
		assert_true(n == 0 || memcmp(d, cases[c].p, n) == 0);
		assert_string_equal(acrt_event_content_type(out), cases[c].ct);
		assert_string_equal(acrt_event_header(out, "k1"), "v1");
		assert_string_equal(acrt_event_header(out, "key two"), "");
		assert_true(out->id == ev->id && out->time_ns == ev->time_ns);
		assert_memory_equal(out->trace_id, ev->trace_id, 16);
		assert_memory_equal(out->span_id, ev->span_id, 8);
		/* every truncation is refused, and so is a trailing byte */
		for (size_t cut = 0; cut < b.len; cut++) {
			acrt_event *x = NULL;
			assert_int_equal(acrt__wire_decode(b.p, cut, &kind, &x, &prod, &why), -1);
			assert_null(x);
		}
		assert_int_equal(acrt__strbuf_add(&b, "x", 1), 0);
		assert_int_equal(acrt__wire_decode(b.p, b.len, &kind, &out, &prod, &why) == -1, 1);
		/* a flipped magic, version, kind or flag */
		for (size_t off = 0; off < 8; off++) {
			b.len--;
			b.p[off] ^= 0x40;
			acrt_event *x = NULL;
			assert_int_equal(acrt__wire_decode(b.p, b.len, &kind, &x, &prod, &why), -1);
			b.p[off] ^= 0x40;
			b.len++;
		}
		acrt_event_unref(out);
		acrt_event_unref(ev);
		free(b.p);
	}
}

static void
test_frames_and_markers(void **state)
{
	(void)state;
	acrt__strbuf b = {0};
	acrt_event *a = mk("1", 1, NULL), *c = mk("22", 2, NULL);
	assert_int_equal(acrt__wire_frame(a, &b), 0);
	assert_int_equal(acrt__wire_frame(c, &b), 0);
	assert_int_equal(acrt__wire_frame_eos(7, &b), 0);
	size_t off = 0, rlen = 0;
	const void *rec = NULL;
	int kinds[3], n = 0;
	uint32_t prod = 0;
	while (acrt__wire_next(b.p, b.len, &off, &rec, &rlen) == 1) {
		acrt_event *ev = NULL;
		const char *why = NULL;
		assert_true(n < 3);
		assert_int_equal(acrt__wire_decode(rec, rlen, &kinds[n], &ev, &prod, &why), 0);
		if (ev != NULL)
			acrt_event_unref(ev);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(kinds[0], ACRT__WIRE_DATA);
	assert_int_equal(kinds[2], ACRT__WIRE_EOS);
	assert_int_equal(prod, 7);
	off = 0;
	assert_int_equal(acrt__wire_next(b.p, b.len - 1, &off, &rec, &rlen), 1);
	assert_int_equal(acrt__wire_next(b.p, b.len - 1, &off, &rec, &rlen), 1);
	assert_int_equal(acrt__wire_next(b.p, b.len - 1, &off, &rec, &rlen), -1);
	acrt_event_unref(a);
	acrt_event_unref(c);
	free(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_frames_and_markers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
