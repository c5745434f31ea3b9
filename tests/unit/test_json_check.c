/*
 * test_json_check.c - the Source's fast validator (core/json_check.c) against
 * simdjson's check (json_simd.cc): it must accept nothing simdjson refuses
 * (that is what keeps an invalid line out), and it should accept what
 * simdjson accepts (else a valid line takes the slow path). Checked on a
 * corpus of valid and invalid texts, every escape and UTF-8 edge, and on
 * random mutations of the corpus (a fixed seed; ACRT_TEST_JSON_ROUNDS raises
 * the number of rounds for a longer run by hand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"

static const char *const corpus[] = {
    "{\"ts\":1733300000.134,\"host\":\"web-06\",\"method\":\"POST\",\"path\":\"/logout\","
    "\"status\":200,\"latency\":169.503,\"bytes\":1394710,\"ip\":\"10.190.189.136\",\"ua\":"
    "\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0\",\"req_id\":\"75d1f862-5172-7d2c-1c35-64e80d82d45b\"}",
    "{\"id\":12345678901234567890}",
    "[-98765432109876543210123, 18446744073709551616, 9223372036854775808]",
    "{\"a\":1e400,\"b\":-1e400,\"c\":1e-400}",
    "{\"a\":0.10000000000000000001,\"b\":3.141592653589793238462643383279}",
    "{\"a\":-0.0,\"b\":-0,\"c\":1E2,\"d\":2.5E+10,\"e\":1e-7}",
    "{\"s\":\"a\\u0000b\"}",
    "{\"s\":\"\\ud83d\\ude00 \\u00e9 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}",
    "{ \"a\" : [ 1 , 2 ] }  ",
    "\t\r\n 123 \r\n\t",
    "\"x\"",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "[{}, [], [[]], {\"a\":{}}]",
    "{\"a\":12345678901234567890, \"b\":[1e400]}",
    "{\"u\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}",
    "{\"long\":\"0123456789abcdef0123456789abcdef0123456789abcdef\\n0123456789\"}",
    "{\"a\":1,}",
    "{\"a\":01}",
    "[1 2]",
    "{\"a\":\"\x01\"}",
    "\xff",
    "}",
    "{\"a\":1} x",
    "nul",
    "\"abc",
    "{\"a\":NaN}",
    "[1.]",
    "[.5]",
    "[-]",
    "[1e]",
    "[1e+]",
    "{\"s\":\"\\ud800\"}",
    "{\"s\":\"\\udc00\"}",
    "{\"s\":\"\\ud800\\u0041\"}",
    "{\"s\":\"\\x\"}",
    "{\"s\":\"\\u12g4\"}",
    "{\"u\":\"\xc0\xaf\"}",
    "{\"u\":\"\xe0\x80\xaf\"}",
    "{\"u\":\"\xed\xa0\x80\"}",
    "{\"u\":\"\xf4\x90\x80\x80\"}",
    "{\"u\":\"\xf5\x80\x80\x80\"}",
    "{\"u\":\"\xc3\"}",
    "{\"a\" 1}",
    "{1:2}",
    "[1,,2]",
    "[",
    "]",
    "{\"a\":[1}",
    "",
};

static int
simd(const char *p, size_t n)
{
	char why[128];
	char *b = malloc(n + ACRT__JSON_PADDING);
	assert_non_null(b);
	memcpy(b, p, n);
	int rc = acrt__json_check_simd(b, n, n + ACRT__JSON_PADDING, why, sizeof why);
	free(b);
	return rc;
}

/* Compares the two on p[0..n). Returns 1 when the fast one refused a text
 * simdjson accepts (allowed, counted), fails the test when it accepted one
 * simdjson refuses. */
static int
compare(const char *p, size_t n)
{
	int fast = acrt__json_valid_fast(p, n), slow = simd(p, n) == 0;
	if (fast && !slow) {
		char shown[200];
		size_t k = n < 150 ? n : 150;
		for (size_t i = 0; i < k; i++)
			shown[i] =
			    (unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x7f ? p[i] : '?';
		shown[k] = '\0';
		fail_msg("the fast check accepted a text simdjson refuses (%zu bytes): %s", n,
		         shown);
	}
	return !fast && slow;
}

static void
test_corpus_agrees(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
		if (compare(corpus[i], strlen(corpus[i])) != 0)
			fail_msg("the fast check refused valid text #%zu: %s", i, corpus[i]);
	/* NUL after a value, and inside a string */
	assert_int_equal(compare("123\0", 4), 0);
	assert_int_equal(acrt__json_valid_fast("123\0", 4), 0);
	assert_int_equal(compare("\"a\0\"", 4), 0);
	assert_int_equal(acrt__json_valid_fast("\"a\0\"", 4), 0);
}

static void
test_every_escape_and_utf8_lead(void **state)
{
	(void)state;
	char t[32];
	for (int c = 0; c < 256; c++) { /* "\X" for every byte X */
		int n = snprintf(t, sizeof t, "[\"\\%c\"]", c == 0 ? '0' : c);
		t[3] = (char)c;
		compare(t, (size_t)n);
	}
	for (int a = 0x80; a < 0x100; a++) /* two and three byte sequences, broad strokes */
		for (int b = 0x70; b < 0x100; b += 0x0f) {
			int n = snprintf(t, sizeof t, "[\"%c%c\"]", a, b);
			compare(t, (size_t)n);
			n = snprintf(t, sizeof t, "[\"%c%c\x80\"]", a, b);
			compare(t, (size_t)n);
			n = snprintf(t, sizeof t, "[\"%c%c\x80\x80\"]", a, b);
			compare(t, (size_t)n);
		}
	static const unsigned hi[] = {0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0x0041};
	for (size_t i = 0; i < 7; i++)
		for (size_t j = 0; j < 7; j++) {
			int n = snprintf(t, sizeof t, "[\"\\u%04x\\u%04X\"]", hi[i], hi[j]);
			compare(t, (size_t)n);
		}
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_mutations_agree(void **state)
{
	(void)state;
	static const char alphabet[] =
	    "{}[]\",:\\ \t\r\n0123456789-+.eEtrufalsn\x00\x01\x7f\x80\xc3"
	    "\xa9\xed\xa0\xf0\x9f\xff";
	const char *env = getenv("ACRT_TEST_JSON_ROUNDS");
	long rounds = env != NULL ? atol(env) : 200000;
	char buf[600];
	long slow_only = 0;
	for (long r = 0; r < rounds; r++) {
		const char *src = corpus[next() % (sizeof corpus / sizeof *corpus)];
		size_t n = strlen(src);
		memcpy(buf, src, n);
		int edits = 1 + (int)(next() % 3);
		for (int k = 0; k < edits; k++) {
			size_t at = n > 0 ? next() % n : 0;
			unsigned op = (unsigned)(next() % 3);
			char c = alphabet[next() % (sizeof alphabet - 1)];
			if (op == 0 && n > 0) { /* replace */
				buf[at] = c;
			} else if (op == 1 && n + 1 < sizeof buf) { /* insert */
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
			} else if (n > 0) { /* delete */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			}
		}
		slow_only += compare(buf, n);
	}
	/* Depth: the fast check leaves anything past the limit to simdjson. */
	print_message("%ld mutation(s) of %ld left to simdjson although valid\n", slow_only,
	              rounds);
	assert_int_equal(slow_only, 0);
}

static void
test_depth(void **state)
{
	(void)state;
	size_t d = ACRT__JSON_MAX_DEPTH;
	char *s = malloc(2 * d + 4);
	assert_non_null(s);
	memset(s, '[', d);
	memset(s + d, ']', d);
	assert_int_equal(acrt__json_valid_fast(s, 2 * d), 1);
	assert_int_equal(compare(s, 2 * d), 0);
	s[0] = '{'; /* {[[...]]] */
	assert_int_equal(compare(s, 2 * d), 0);
	assert_int_equal(acrt__json_valid_fast(s, 2 * d), 0);
	memset(s, '[', d + 1);
	memset(s + d + 1, ']', d + 1);
	assert_int_equal(acrt__json_valid_fast(s, 2 * d + 2), 0); /* one past: simdjson's */
	assert_int_not_equal(simd(s, 2 * d + 2), 0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_agrees),
	    cmocka_unit_test(test_every_escape_and_utf8_lead),
	    cmocka_unit_test(test_mutations_agree),
	    cmocka_unit_test(test_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
