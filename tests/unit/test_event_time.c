/*
 * test_event_time.c - the Aggregator's event time (components/evtime.h):
 * RFC 3339 with offsets and fractions, epoch seconds and milliseconds read
 * exactly from the number's text, `auto`, and every kind of bad value with
 * its reason; and the window arithmetic and watermark of components/window.h
 * driven by an explicit clock (no sleeps): assignment of tumbling and
 * hopping windows, the watermark's bound, idleness, and the close order;
 * and the accumulators that merging session windows fold together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "components/aggregator.h"
#include "components/evtime.h"
#include "components/window.h"
#include "core/common.h"

/* 2026-12-05T06:00:00Z */
#define T0 1796450400000LL

static int64_t
rfc(const char *s)
{
	int64_t ms = 0;
	const char *why = NULL;
	int rc = acrt__rfc3339_ms(s, strlen(s), &ms, &why);
	if (rc != 0) {
		print_error("%s: %s\n", s, why);
		fail();
	}
	return ms;
}

static void
rfc_bad(const char *s, const char *want)
{
	int64_t ms = 12345;
	const char *why = NULL;
	if (acrt__rfc3339_ms(s, strlen(s), &ms, &why) == 0) {
		print_error("%s: accepted as %lld\n", s, (long long)ms);
		fail();
	}
	assert_int_equal(ms, 12345); /* untouched */
	assert_non_null(why);
	if (strstr(why, want) == NULL) {
		print_error("%s: reason '%s' does not say '%s'\n", s, why, want);
		fail();
	}
}

static void
test_rfc3339(void **st)
{
	(void)st;
	assert_int_equal(rfc("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(rfc("2026-12-05T06:00:00Z"), T0);
	assert_int_equal(rfc("2026-12-05t06:00:00z"), T0);
	assert_int_equal(rfc("2026-12-05 06:00:00Z"), T0);
	/* offsets: the same instant */
	assert_int_equal(rfc("2026-12-05T07:30:00+01:30"), T0);
	assert_int_equal(rfc("2026-12-04T22:00:00-08:00"), T0);
	assert_int_equal(rfc("2026-12-05T06:00:00-00:00"), T0);
	/* fractions: truncated to the ms */
	assert_int_equal(rfc("2026-12-05T06:00:00.5Z"), T0 + 500);
	assert_int_equal(rfc("2026-12-05T06:00:00.12Z"), T0 + 120);
	assert_int_equal(rfc("2026-12-05T06:00:00.123Z"), T0 + 123);
	assert_int_equal(rfc("2026-12-05T06:00:00.123999999Z"), T0 + 123);
	assert_int_equal(rfc("2026-12-05T06:00:00.999+00:00"), T0 + 999);
	/* before the epoch, leap days, a leap second */
	assert_int_equal(rfc("1969-12-31T23:59:59.999Z"), -1);
	assert_int_equal(rfc("2024-02-29T00:00:00Z"), 1709164800000LL);
	assert_int_equal(rfc("2000-02-29T00:00:00Z"), 951782400000LL);
	assert_int_equal(rfc("2016-12-31T23:59:60Z"), 1483228800000LL);
	assert_int_equal(rfc("0000-01-01T00:00:00Z"), ACRT__TIME_MIN_MS);
	assert_int_equal(rfc("9999-12-31T23:59:59.999Z"), ACRT__TIME_MAX_MS);

	rfc_bad("", "not an RFC 3339");
	rfc_bad("2026-12-05", "not an RFC 3339");
	rfc_bad("2026-12-05T06:00:00", "not an RFC 3339");
	rfc_bad("2026-12-05T06:00:00.Z", "not an RFC 3339");
	rfc_bad("2026-12-05T06:00:00+0100", "no time zone");
	rfc_bad("2026-12-05T06:00:00 UTC", "no time zone");
	rfc_bad("2026-12-05T06:00:00Zx", "trailing");
	rfc_bad("2026-13-05T06:00:00Z", "month");
	rfc_bad("2026-00-05T06:00:00Z", "month");
	rfc_bad("2026-02-29T06:00:00Z", "day");
	rfc_bad("1900-02-29T06:00:00Z", "day");
	rfc_bad("2026-04-31T06:00:00Z", "day");
	rfc_bad("2026-12-05T24:00:00Z", "hour");
	rfc_bad("2026-12-05T06:60:00Z", "minute");
	rfc_bad("2026-12-05T06:00:61Z", "second");
	rfc_bad("2026-12-05T06:00:00+24:00", "offset");
	rfc_bad("2026-12-05T06:00:00+01:60", "offset");
	rfc_bad("2026/12/05T06:00:00Z", "not an RFC 3339");
	rfc_bad("0000-01-01T00:00:00+00:01", "out of range");
	rfc_bad("9999-12-31T23:59:59-00:01", "out of range");
}

static int64_t
epoch(const char *s, int64_t unit)
{
	int64_t ms = 0;
	const char *why = NULL;
	if (acrt__epoch_ms(s, strlen(s), unit, &ms, &why) != 0) {
		print_error("%s: %s\n", s, why);
		fail();
	}
	return ms;
}

static void
epoch_bad(const char *s, int64_t unit, const char *want)
{
	int64_t ms = 12345;
	const char *why = NULL;
	if (acrt__epoch_ms(s, strlen(s), unit, &ms, &why) == 0) {
		print_error("%s: accepted as %lld\n", s, (long long)ms);
		fail();
	}
	assert_int_equal(ms, 12345);
	if (strstr(why, want) == NULL) {
		print_error("%s: reason '%s' does not say '%s'\n", s, why, want);
		fail();
	}
}

static void
test_epoch(void **st)
{
	(void)st;
	assert_int_equal(epoch("1796450400", 1000), T0);
	assert_int_equal(epoch("1796450400.123", 1000), T0 + 123);
	/* a double would make this ...122.99999: read from the text, it is exact */
	assert_int_equal(epoch("1733300000.123", 1000), 1733300000123LL);
	assert_int_equal(epoch("1733300000.1239", 1000), 1733300000123LL);
	assert_int_equal(epoch("1.796450400123e9", 1000), T0 + 123);
	assert_int_equal(epoch("17964504001.23E-1", 1000), T0 + 123);
	assert_int_equal(epoch("1796450400123", 1), T0 + 123);
	assert_int_equal(epoch("1796450400123.9", 1), T0 + 123);
	assert_int_equal(epoch("1.796450400123e12", 1), T0 + 123);
	assert_int_equal(epoch("0", 1000), 0);
	assert_int_equal(epoch("-0", 1), 0);
	assert_int_equal(epoch("0.0001", 1000), 0);
	/* negative times floor toward the past */
	assert_int_equal(epoch("-1", 1000), -1000);
	assert_int_equal(epoch("-0.0001", 1000), -1);
	assert_int_equal(epoch("-1.5", 1), -2);
	assert_int_equal(epoch("-1.0", 1), -1);
	/* many digits: the later ones only decide the floor */
	assert_int_equal(epoch("1.0000000000000000000000000000000000000000000000001", 1), 1);
	assert_int_equal(epoch("-1.0000000000000000000000000000000000000000000000001", 1), -2);

	epoch_bad("", 1000, "not a JSON number");
	epoch_bad("abc", 1000, "not a JSON number");
	epoch_bad("12a", 1000, "not a JSON number");
	epoch_bad("01", 1000, "not a JSON number");
	epoch_bad("1.", 1000, "not a JSON number");
	epoch_bad(".5", 1000, "not a JSON number");
	epoch_bad("1e", 1000, "not a JSON number");
	epoch_bad("+1", 1000, "not a JSON number");
	epoch_bad("1e400", 1000, "out of range");
	epoch_bad("253402300800", 1000, "out of range");
	epoch_bad("-62167219201", 1000, "out of range");
	epoch_bad("99999999999999999999", 1, "out of range");
}

/* A value as the JSON reader hands it out. */
static int
value_time(const char *raw, acrt__jtype t, double num, acrt__tfmt fmt, int64_t *ms, char *why)
{
	acrt__jval v = {.type = t, .raw = raw, .raw_len = strlen(raw), .num = num};
	return acrt__time_of_value(&v, fmt, ms, why, 200);
}

static void
test_value(void **st)
{
	(void)st;
	int64_t ms;
	char why[200];
	/* auto: numbers by magnitude, strings as RFC 3339 or as numbers */
	assert_int_equal(
	    value_time("1796450400.5", ACRT__J_NUMBER, 1796450400.5, ACRT__TF_AUTO, &ms, why), 0);
	assert_int_equal(ms, T0 + 500);
	assert_int_equal(
	    value_time("1796450400123", ACRT__J_NUMBER, 1796450400123.0, ACRT__TF_AUTO, &ms, why),
	    0);
	assert_int_equal(ms, T0 + 123);
	assert_int_equal(
	    value_time("99999999999", ACRT__J_NUMBER, 99999999999.0, ACRT__TF_AUTO, &ms, why), 0);
	assert_int_equal(ms, 99999999999000LL); /* below 1e11: seconds */
	assert_int_equal(value_time("100000000000", ACRT__J_NUMBER, 1e11, ACRT__TF_AUTO, &ms, why),
	                 0);
	assert_int_equal(ms, 100000000000LL); /* from 1e11: ms */
	assert_int_equal(
	    value_time("\"2026-12-05T07:00:00+01:00\"", ACRT__J_STRING, 0, ACRT__TF_AUTO, &ms, why),
	    0);
	assert_int_equal(ms, T0);
	assert_int_equal(value_time("\"1796450400\"", ACRT__J_STRING, 0, ACRT__TF_AUTO, &ms, why),
	                 0);
	assert_int_equal(ms, T0);
	/* an escaped string is read by its value */
	assert_int_equal(value_time("\"2026-12-05T06:00:00\\u005a\"", ACRT__J_STRING, 0,
	                            ACRT__TF_RFC3339, &ms, why),
	                 0);
	assert_int_equal(ms, T0);
	/* explicit formats */
	assert_int_equal(value_time("5", ACRT__J_NUMBER, 5, ACRT__TF_EPOCH_S, &ms, why), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(value_time("5", ACRT__J_NUMBER, 5, ACRT__TF_EPOCH_MS, &ms, why), 0);
	assert_int_equal(ms, 5);
	assert_int_equal(value_time("\"5\"", ACRT__J_STRING, 0, ACRT__TF_EPOCH_MS, &ms, why), 0);
	assert_int_equal(ms, 5);

	/* bad values: the reason names the problem and shows the value */
	struct {
		const char *raw;
		acrt__jtype t;
		acrt__tfmt fmt;
		const char *want;
	} bad[] = {
	    {"", ACRT__J_ABSENT, ACRT__TF_AUTO, "missing"},
	    {"null", ACRT__J_NULL, ACRT__TF_AUTO, "not a string or a number: null"},
	    {"true", ACRT__J_TRUE, ACRT__TF_EPOCH_S, "not a string or a number: true"},
	    {"[1]", ACRT__J_ARRAY, ACRT__TF_RFC3339, "not a string: [1]"},
	    {"{}", ACRT__J_OBJECT, ACRT__TF_AUTO, "not a string or a number: {}"},
	    {"5", ACRT__J_NUMBER, ACRT__TF_RFC3339, "a number, expected an RFC 3339 string: 5"},
	    {"\"yesterday\"", ACRT__J_STRING, ACRT__TF_AUTO, "not an RFC 3339 time"},
	    {"\"2026-02-30T00:00:00Z\"", ACRT__J_STRING, ACRT__TF_AUTO, "day out of range"},
	    {"\"12:30\"", ACRT__J_STRING, ACRT__TF_AUTO, "not an RFC 3339 time"},
	    {"\"2026-12-05T06:00:00Z\"", ACRT__J_STRING, ACRT__TF_EPOCH_S, "not a JSON number"},
	    {"1e30", ACRT__J_NUMBER, ACRT__TF_EPOCH_MS, "out of range"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ms = 777;
		if (value_time(bad[i].raw, bad[i].t, 1e30, bad[i].fmt, &ms, why) == 0) {
			print_error("%s: accepted as %lld\n", bad[i].raw, (long long)ms);
			fail();
		}
		if (strstr(why, bad[i].want) == NULL) {
			print_error("%s: reason '%s' does not say '%s'\n", bad[i].raw, why,
			            bad[i].want);
			fail();
		}
	}
	assert_int_equal(acrt__tfmt_parse("epoch_ms"), ACRT__TF_EPOCH_MS);
	assert_int_equal(acrt__tfmt_parse("auto"), ACRT__TF_AUTO);
	assert_int_equal(acrt__tfmt_parse("iso"), -1);
}

static void
test_assign(void **st)
{
	(void)st;
	int64_t s[8];
	acrt__wspec tumb = {.kind = ACRT__WIN_TUMBLING, .size = 1000, .slide = 1000};
	assert_int_equal(acrt__win_assign(&tumb, 1999, s, 8), 1);
	assert_int_equal(s[0], 1000);
	assert_int_equal(acrt__win_assign(&tumb, 2000, s, 8), 1);
	assert_int_equal(s[0], 2000);
	assert_int_equal(acrt__win_assign(&tumb, -1, s, 8), 1);
	assert_int_equal(s[0], -1000); /* floored, not truncated toward 0 */
	acrt__wspec hop = {.kind = ACRT__WIN_HOPPING, .size = 1000, .slide = 250};
	assert_int_equal(acrt__win_assign(&hop, 1100, s, 8), 4);
	assert_int_equal(s[0], 250);
	assert_int_equal(s[1], 500);
	assert_int_equal(s[2], 750);
	assert_int_equal(s[3], 1000);
	assert_int_equal(acrt__win_assign(&hop, 1000, s, 8), 4);
	assert_int_equal(s[0], 250); /* [0, 1000) excludes its end */
	acrt__wspec odd = {.kind = ACRT__WIN_HOPPING, .size = 1000, .slide = 300};
	assert_int_equal(acrt__win_assign(&odd, 950, s, 8), 4); /* 0, 300, 600, 900 */
	assert_int_equal(s[3], 900);
	assert_int_equal(acrt__win_assign(&odd, 1000, s, 8), 3); /* 300, 600, 900 */
	assert_int_equal(s[0], 300);
	assert_int_equal(acrt__win_assign(&hop, 1100, s, 2), 2); /* bounded by max */
}

#define SEC 1000000000LL

static void
test_watermark(void **st)
{
	(void)st;
	acrt__wmark m;
	int64_t now = 5 * SEC; /* the clock, driven by hand */
	acrt__wm_init(&m, 2000, 500, now);
	assert_int_equal(m.wm, ACRT__WM_NONE);
	assert_false(acrt__wm_quiet(&m, now + 10 * SEC)); /* no event yet: nothing to advance */
	assert_int_equal(acrt__wm_due(&m, 100), 0);
	assert_true(acrt__wm_event(&m, 10000));
	assert_int_equal(m.wm, 8000);           /* largest seen less the bound */
	assert_false(acrt__wm_event(&m, 9000)); /* out of order: no change */
	assert_true(acrt__wm_event(&m, 10500));
	assert_int_equal(m.wm, 8500);
	/* quiet: not yet idle until 500 ms have passed */
	now = 20 * SEC;
	assert_false(acrt__wm_quiet(&m, now));
	assert_int_equal(acrt__wm_due(&m, 9000), now + 500 * 1000000LL); /* the idle timeout */
	assert_int_equal(acrt__wm_due(&m, 11000), now + 2500 * 1000000LL);
	assert_false(acrt__wm_quiet(&m, now + 499 * 1000000LL));
	assert_true(acrt__wm_quiet(&m, now + 500 * 1000000LL));
	assert_int_equal(m.wm, 9000); /* 8500 + the 500 ms quiet */
	assert_true(acrt__wm_quiet(&m, now + 2500 * 1000000LL));
	assert_int_equal(m.wm, 11000);
	/* an event older than the advanced watermark does not move it back */
	assert_false(acrt__wm_event(&m, 10600));
	assert_int_equal(m.wm, 11000);
	/* quiet again from now: it counts from the new quiet start */
	now = 30 * SEC;
	assert_false(acrt__wm_quiet(&m, now));
	assert_false(acrt__wm_quiet(&m, now + 600 * 1000000LL)); /* 10600-2000+600 < 11000 */
	assert_int_equal(m.wm, 11000);
	assert_true(acrt__wm_quiet(&m, now + 2500 * 1000000LL));
	assert_int_equal(m.wm, 11100);
	/* without an idle timeout the watermark waits for events */
	acrt__wmark n;
	acrt__wm_init(&n, 0, 0, 0);
	assert_true(acrt__wm_event(&n, 100));
	assert_false(acrt__wm_quiet(&n, 3600 * SEC));
	assert_int_equal(n.wm, 100);
	assert_int_equal(acrt__wm_due(&n, 200), 0);
}

static void
test_heap(void **st)
{
	(void)st;
	acrt__wheap h = {0};
	assert_null(acrt__wheap_top(&h));
	/* (close, start, key): pushed out of order, popped in order */
	struct {
		int64_t close, start;
		const char *key;
	} in[] = {{3000, 2000, "\"b\""}, {2000, 1000, "\"b\""}, {3000, 2000, "\"a\""},
	          {2000, 500, "\"z\""},  {1000, 0, "null"},     {3000, 1500, "7"},
	          {2000, 1000, "\"a\""}, {3000, 2000, "\"ab\""}};
	const char *want[] = {"null", "\"z\"", "\"a\"", "\"b\"", "7", "\"a\"", "\"ab\"", "\"b\""};
	int64_t want_close[] = {1000, 2000, 2000, 2000, 3000, 3000, 3000, 3000};
	size_t n = sizeof in / sizeof in[0];
	for (int round = 0; round < 200; round++) { /* many insertion orders */
		for (size_t i = 0; i < n; i++) {
			size_t j = (i * 5 + (size_t)round * 3) % n; /* 5 and n are coprime */
			assert_int_equal(acrt__wheap_push(&h, in[j].close, in[j].start, in[j].key,
			                                  strlen(in[j].key)),
			                 0);
		}
		for (size_t i = 0; i < n; i++) {
			acrt__wclose x;
			acrt__wheap_pop(&h, &x);
			assert_int_equal(x.close, want_close[i]);
			assert_int_equal(x.klen, strlen(want[i]));
			assert_memory_equal(x.key, want[i], x.klen);
			acrt__free(x.key);
		}
		assert_null(acrt__wheap_top(&h));
	}
	assert_int_equal(acrt__wheap_push(&h, 1, 1, "k", 1), 0);
	acrt__wheap_free(&h); /* frees what is left */
	assert_int_equal(h.n, 0);
}

/* Accumulators of values added one by one, merged in two halves, must equal
 * the accumulator of all of them (a session that bridged two others). */
static void
test_acc_merge(void **st)
{
	(void)st;
	json_t *vals[] = {json_integer(5),  json_integer(-3),        json_null(),
	                  json_string("x"), json_real(2.5),          json_integer(INT64_MAX),
	                  json_integer(7),  json_integer(INT64_MAX), json_real(-10.25)};
	size_t n = sizeof vals / sizeof vals[0];
	for (size_t cut = 0; cut <= n; cut++) {
		acrt__agg_acc all = {0}, left = {0}, right = {0};
		for (size_t i = 0; i < n; i++) {
			acrt__agg_acc_add(&all, vals[i]);
			acrt__agg_acc_add(i < cut ? &left : &right, vals[i]);
		}
		acrt__agg_acc_merge(&left, &right);
		assert_int_equal(left.present, all.present);
		assert_int_equal(left.n, all.n);
		assert_int_equal(left.flags, all.flags);
		/* both are reals here (2.5 and the int64 overflow) */
		assert_true(left.sum.d == all.sum.d);
		assert_true(left.min.d == all.min.d && left.min.d == -10.25);
		assert_true(left.max.d == all.max.d && left.max.d == (double)INT64_MAX);
		/* round trip through the 48-byte record */
		unsigned char rec[ACRT__AGG_REC];
		acrt__agg_acc back;
		acrt__agg_rec_put(rec, &left);
		acrt__agg_rec_get(&back, rec);
		assert_memory_equal(&back.sum, &left.sum, sizeof back.sum);
		assert_int_equal(back.n, left.n);
	}
	/* integers only: exact integer results, whatever the cut */
	for (size_t cut = 0; cut <= 4; cut++) {
		acrt__agg_acc left = {0}, right = {0};
		int64_t v[] = {4, -9, 12, 3};
		for (size_t i = 0; i < 4; i++) {
			json_t *j = json_integer(v[i]);
			acrt__agg_acc_add(i < cut ? &left : &right, j);
			json_decref(j);
		}
		acrt__agg_acc_merge(&left, &right);
		assert_int_equal(left.flags, 0);
		assert_int_equal(left.n, 4);
		assert_int_equal(left.sum.i, 10);
		assert_int_equal(left.min.i, -9);
		assert_int_equal(left.max.i, 12);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(vals[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339),   cmocka_unit_test(test_epoch),
	    cmocka_unit_test(test_value),     cmocka_unit_test(test_assign),
	    cmocka_unit_test(test_watermark), cmocka_unit_test(test_heap),
	    cmocka_unit_test(test_acc_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
