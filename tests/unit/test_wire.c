/*
 * test_wire.c - the wire encoding of events between nodes (src/transport/
 * wire.h): a round trip keeps the payload bytes (binary, NULs included, the
 * exact JSON text), content type, headers, ids, time and trace context, also
 * when some are absent (zero) and with large ids and lengths; a plain JSON
 * event costs 45 bytes over its payload (version 1: 80); end markers carry
 * the producer index and sequence records their epoch and first sequence;
 * frames split a packed message; every truncation, a trailing byte, a
 * flipped magic, version, kind or flag, an overlong varint and fields a
 * marker may not have are refused; a version-1 record (earlier builds) is
 * still read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
		/* a flipped magic, version, kind or flag (0x40 is no flag) */
		for (size_t off = 0; off < 7; off++) {
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

/* Decodes b[0..n) and checks it is a data event equal to ev. */
static void
same_event(const void *b, size_t n, const acrt_event *ev)
{
	int kind = -1;
	acrt_event *out = NULL;
	uint32_t prod = 0;
	const char *why = NULL;
	assert_int_equal(acrt__wire_decode(b, n, &kind, &out, &prod, &why), 0);
	assert_int_equal(kind, ACRT__WIRE_DATA);
	size_t a = 0, c = 0;
	const void *pa = acrt_event_data(out, &a), *pc = acrt_event_data((acrt_event *)ev, &c);
	assert_int_equal(a, c);
	assert_true(a == 0 || memcmp(pa, pc, a) == 0);
	assert_string_equal(acrt_event_content_type(out),
	                    acrt_event_content_type((acrt_event *)ev));
	assert_int_equal(out->n_headers, ev->n_headers);
	assert_true(out->id == ev->id && out->time_ns == ev->time_ns);
	assert_memory_equal(out->trace_id, ev->trace_id, 16);
	assert_memory_equal(out->span_id, ev->span_id, 8);
	acrt_event_unref(out);
}

static void
test_compact(void **state)
{
	(void)state;
	const char *json = "{\"host\":\"10.0.0.1\",\"status\":200}";
	acrt_event *ev = acrt__event_new_bytes(NULL, json, strlen(json), "application/json");
	assert_non_null(ev);
	acrt__event_seal(ev);
	ev->id = 100; /* one varint byte */
	acrt__strbuf b = {0};
	assert_int_equal(acrt__wire_encode(ev, &b), 0);
	/* 7 head, 1 id, 8 time, 24 trace context, 1 payload length */
	assert_int_equal(b.len, strlen(json) + 41);
	same_event(b.p, b.len, ev);
	/* absent fields read as zero: id, time, trace context */
	ev->id = 0;
	ev->time_ns = 0;
	memset(ev->trace_id, 0, 16);
	memset(ev->span_id, 0, 8);
	b.len = 0;
	assert_int_equal(acrt__wire_encode(ev, &b), 0);
	assert_int_equal(b.len, strlen(json) + 8);
	same_event(b.p, b.len, ev);
	/* the largest id and a negative time */
	ev->id = UINT64_MAX;
	ev->time_ns = -5;
	b.len = 0;
	assert_int_equal(acrt__wire_encode(ev, &b), 0);
	same_event(b.p, b.len, ev);
	acrt_event_unref(ev);
	/* a payload past 16,383 bytes (a 3-byte length), text/plain */
	size_t big = 70000;
	char *p = malloc(big);
	assert_non_null(p);
	for (size_t i = 0; i < big; i++)
		p[i] = (char)(i * 7);
	ev = acrt__event_new_bytes(NULL, p, big, "text/plain");
	assert_non_null(ev);
	acrt__event_seal(ev);
	b.len = 0;
	assert_int_equal(acrt__wire_encode(ev, &b), 0);
	same_event(b.p, b.len, ev);
	acrt_event_unref(ev);
	free(p);
	free(b.p);
}

static void
test_refused(void **state)
{
	(void)state;
	int kind = -1;
	acrt_event *out = NULL;
	uint32_t prod = 0;
	const char *why = NULL;
	/* a data record with an 11-byte id varint */
	unsigned char over[32] = {'A', 'C', 'R', 'W', 2, 0, ACRT__WIRE_F_ID};
	for (int i = 0; i < 10; i++)
		over[7 + i] = 0x80;
	over[17] = 0x01;
	over[18] = 0; /* payload length 0 */
	assert_int_equal(acrt__wire_decode(over, 19, &kind, &out, &prod, &why), -1);
	/* the same with a 10-byte id of more than 64 bits */
	over[16] = 0x02;
	assert_int_equal(acrt__wire_decode(over, 18, &kind, &out, &prod, &why), -1);
	/* an end marker or sequence record with a trace, headers or a payload */
	static const unsigned bad_flags[] = {ACRT__WIRE_F_TRACE, ACRT__WIRE_F_HEADERS,
	                                     ACRT__WIRE_CT_MASK};
	for (int k = ACRT__WIRE_EOS; k <= ACRT__WIRE_SEQ; k++) {
		acrt__strbuf b = {0};
		assert_int_equal(k == ACRT__WIRE_EOS ? acrt__wire_encode_eos(3, &b)
		                                     : acrt__wire_frame_seq(9, 4, &b),
		                 0);
		unsigned char *r = (unsigned char *)b.p + (k == ACRT__WIRE_SEQ ? 4 : 0);
		size_t n = b.len - (k == ACRT__WIRE_SEQ ? 4 : 0);
		assert_int_equal(acrt__wire_decode(r, n, &kind, &out, &prod, &why), 0);
		assert_int_equal(kind, k);
		if (k == ACRT__WIRE_SEQ) {
			uint64_t epoch = 0, first = 0;
			acrt__wire_seq(r, n, &epoch, &first);
			assert_true(epoch == 9 && first == 4);
		} else {
			assert_int_equal(prod, 3);
		}
		for (size_t f = 0; f < 3; f++) {
			r[6] ^= (unsigned char)bad_flags[f];
			assert_int_equal(acrt__wire_decode(r, n, &kind, &out, &prod, &why), -1);
			r[6] ^= (unsigned char)bad_flags[f];
		}
		assert_int_equal(acrt__strbuf_add(&b, "", 1), 0); /* a payload length 0 */
		assert_int_equal(acrt__wire_decode(r, n + 1, &kind, &out, &prod, &why), -1);
		free(b.p);
	}
	/* an empty "other" content type, a header count of 0 */
	unsigned char e[] = {'A', 'C', 'R', 'W', 2, 0, 3u << ACRT__WIRE_CT_SHIFT, 0, 0};
	assert_int_equal(acrt__wire_decode(e, sizeof e, &kind, &out, &prod, &why), -1);
	e[6] = ACRT__WIRE_F_HEADERS;
	assert_int_equal(acrt__wire_decode(e, sizeof e, &kind, &out, &prod, &why), -1);
	assert_null(out);
}

/* Appends a u32 (little-endian) to b. */
static void
u32(acrt__strbuf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 24)};
	assert_int_equal(acrt__strbuf_add(b, (const char *)x, 4), 0);
}

static void
test_version1(void **state)
{
	(void)state;
	acrt_event *ev = mk("{\"a\":1}", 7, "application/json");
	acrt__strbuf b = {0};
	unsigned char fixed[48] = {'A', 'C', 'R', 'W', 1, 0};
	for (int i = 0; i < 8; i++) {
		fixed[8 + i] = (unsigned char)(ev->id >> (8 * i));
		fixed[16 + i] = (unsigned char)((uint64_t)ev->time_ns >> (8 * i));
	}
	memcpy(fixed + 24, ev->trace_id, 16);
	memcpy(fixed + 40, ev->span_id, 8);
	assert_int_equal(acrt__strbuf_add(&b, (const char *)fixed, 48), 0);
	u32(&b, 16);
	assert_int_equal(acrt__strbuf_add(&b, "application/json", 16), 0);
	u32(&b, 2);
	u32(&b, 2);
	assert_int_equal(acrt__strbuf_add(&b, "k1", 2), 0);
	u32(&b, 2);
	assert_int_equal(acrt__strbuf_add(&b, "v1", 2), 0);
	u32(&b, 7);
	assert_int_equal(acrt__strbuf_add(&b, "key two", 7), 0);
	u32(&b, 0);
	u32(&b, 7);
	assert_int_equal(acrt__strbuf_add(&b, "{\"a\":1}", 7), 0);
	same_event(b.p, b.len, ev);
	int kind = -1;
	acrt_event *out = NULL;
	uint32_t prod = 0;
	const char *why = NULL;
	for (size_t cut = 0; cut < b.len; cut++)
		assert_int_equal(acrt__wire_decode(b.p, cut, &kind, &out, &prod, &why), -1);
	b.p[7] = 1; /* version 1 has no flags */
	assert_int_equal(acrt__wire_decode(b.p, b.len, &kind, &out, &prod, &why), -1);
	b.p[7] = 0;
	b.p[4] = 3; /* no version 3 */
	assert_int_equal(acrt__wire_decode(b.p, b.len, &kind, &out, &prod, &why), -1);
	acrt_event_unref(ev);
	free(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip), cmocka_unit_test(test_frames_and_markers),
	    cmocka_unit_test(test_compact),    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_version1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
