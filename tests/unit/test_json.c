/*
 * test_json.c - the exact JSON layer (core/json.h): what the validator accepts
 * and refuses (RFC 8259: numbers of any size, \u0000, nesting to the limit and
 * one past it, NUL after a value, trailing content), lookups with jq's
 * reading of missing keys, nulls and duplicates, top-level fields with exact
 * raw texts, the shortest printing of computed doubles, and jansson values
 * built from texts jansson's own parser refuses.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/common.h"
#include "core/json.h"

static int
check(const char *s, size_t n)
{
	char err[128];
	return acrt__json_check(s, n, n, err, sizeof err);
}

#define CHECK(s) check(s, sizeof(s) - 1)

static void
test_accepts_every_valid_text(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "{\"id\":12345678901234567890}",
	    "[-98765432109876543210123, 18446744073709551616, 9223372036854775808]",
	    "{\"a\":1e400,\"b\":-1e400,\"c\":1e-400}",
	    "{\"a\":0.10000000000000000001,\"b\":3.141592653589793238462643383279}",
	    "{\"a\":-0.0,\"b\":-0,\"c\":1E2,\"d\":2.5E+10,\"e\":1e-7}",
	    "{\"s\":\"a\\u0000b\"}",
	    "{\"s\":\"\\ud83d\\ude00 \\u00e9 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}",
	    "{ \"a\" : [ 1 , 2 ] }  ",
	    "123",
	    "\"x\"",
	    "null",
	    "[]",
	    "{\"a\":12345678901234567890, \"b\":[1e400]}",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		char err[128] = "";
		int rc = acrt__json_check(ok[i], strlen(ok[i]), strlen(ok[i]), err, sizeof err);
		if (rc != 0)
			fail_msg("refused %s: %s", ok[i], err);
	}
}

static void
test_refuses_invalid_texts(void **state)
{
	(void)state;
	static const char *const bad[] = {
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
	    "{\"a\":Infinity}",
	    "",
	    "  ",
	    "[1e400 2]",
	    "{\"a\":12345678901234567890} x",
	    "{\"a\":12345678901234567890,}",
	    "[-]",
	    "[1.]",
	    "[.5]",
	    "{\"a\":1e400",
	    "{\"s\":\"\\ud800\"}",
	    "tru",
	    "[1,]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (check(bad[i], strlen(bad[i])) == 0)
			fail_msg("accepted invalid text #%zu: %s", i, bad[i]);
	/* "123" then a NUL byte: not a valid text */
	assert_int_not_equal(check("123\0", 4), 0);
	assert_int_not_equal(check("{\"a\":1}\0", 8), 0);
}

static char *
nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 1);
	memset(s, '[', (size_t)depth);
	memset(s + depth, ']', (size_t)depth);
	s[depth * 2] = '\0';
	return s;
}

static void
test_depth_limit(void **state)
{
	(void)state;
	char err[128];
	char *ok = nested(ACRT__JSON_MAX_DEPTH), *deep = nested(ACRT__JSON_MAX_DEPTH + 1);
	assert_int_equal(acrt__json_check(ok, strlen(ok), strlen(ok), err, sizeof err), 0);
	assert_int_equal(acrt__json_check(deep, strlen(deep), strlen(deep), err, sizeof err), -1);
	assert_non_null(strstr(err, "deeper than 1024"));
	free(ok);
	free(deep);
}

static void
test_lookup_reads_like_jq(void **state)
{
	(void)state;
	const char *t = "{\"status\":503,\"a\":{\"b\":\"x\"},\"n\":null,\"d\":1,\"d\":2,"
	                "\"big\":12345678901234567890, \"k\\u0065y\":true}";
	size_t n = strlen(t);
	acrt__jval v;
	const char *k1[] = {"status"};
	size_t l1[] = {6};
	assert_int_equal(acrt__json_lookup(t, n, n, k1, l1, 1, &v), 0);
	assert_int_equal(v.type, ACRT__J_NUMBER);
	assert_true(v.num == 503);
	assert_int_equal(v.raw_len, 3);
	assert_memory_equal(v.raw, "503", 3);
	const char *k2[] = {"a", "b"};
	size_t l2[] = {1, 1};
	assert_int_equal(acrt__json_lookup(t, n, n, k2, l2, 2, &v), 0);
	assert_int_equal(v.type, ACRT__J_STRING);
	assert_memory_equal(v.raw, "\"x\"", 3);
	const char *k3[] = {"n", "x"}; /* null.x is null */
	size_t l3[] = {1, 1};
	assert_int_equal(acrt__json_lookup(t, n, n, k3, l3, 2, &v), 0);
	assert_int_equal(v.type, ACRT__J_ABSENT);
	const char *k4[] = {"status", "x"}; /* 503.x is a jq error */
	size_t l4[] = {6, 1};
	assert_int_equal(acrt__json_lookup(t, n, n, k4, l4, 2, &v), 1);
	const char *k5[] = {"d"}; /* the last duplicate wins, as in jq */
	size_t l5[] = {1};
	assert_int_equal(acrt__json_lookup(t, n, n, k5, l5, 1, &v), 0);
	assert_true(v.num == 2);
	const char *k6[] = {"big"};
	size_t l6[] = {3};
	assert_int_equal(acrt__json_lookup(t, n, n, k6, l6, 1, &v), 0);
	assert_memory_equal(v.raw, "12345678901234567890", 20);
	const char *k7[] = {"key"}; /* escaped key */
	size_t l7[] = {3};
	assert_int_equal(acrt__json_lookup(t, n, n, k7, l7, 1, &v), 0);
	assert_int_equal(v.type, ACRT__J_TRUE);
	const char *k8[] = {"missing"};
	size_t l8[] = {7};
	assert_int_equal(acrt__json_lookup(t, n, n, k8, l8, 1, &v), 0);
	assert_int_equal(v.type, ACRT__J_ABSENT);
}

typedef struct fields_seen {
	char buf[512];
	size_t n;
} fields_seen;

static int
on_field(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	fields_seen *f = arg;
	f->n += (size_t)snprintf(f->buf + f->n, sizeof f->buf - f->n, "%.*s=%.*s;", (int)kl, k,
	                         (int)v->raw_len, v->raw);
	return 0;
}

static void
test_fields_keep_raw_text(void **state)
{
	(void)state;
	const char *t = "{ \"a\" : 1E2 , \"b\":[1, 2 ],\"c\":{\"x\": 0.10000000000000000001},"
	                "\"d\":\"\\u00e9\" }";
	fields_seen f = {{0}, 0};
	assert_int_equal(acrt__json_fields(t, strlen(t), strlen(t), on_field, &f), 0);
	assert_string_equal(f.buf,
	                    "a=1E2;b=[1, 2 ];c={\"x\": 0.10000000000000000001};d=\"\\u00e9\";");
	assert_int_equal(acrt__json_fields("[1]", 3, 3, on_field, &f), 1);
}

typedef struct kept {
	const char *k[4];
	size_t kl[4];
	size_t n;
} kept;

static int
keep_key(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	kept *x = arg;
	(void)v;
	if (x->n < 4) {
		x->k[x->n] = k;
		x->kl[x->n++] = kl;
	}
	return 0;
}

/* json.h: what a call hands out stays valid until the next call on the thread,
 * also after a large text (whose parsers are dropped, but only then). */
static void
test_keys_outlive_the_call_of_a_large_text(void **state)
{
	(void)state;
	size_t big = 3u << 20;
	char *t = malloc(big + 32);
	size_t n = (size_t)sprintf(t, "{\"key_one\":\"");
	memset(t + n, 'x', big);
	n += big;
	n += (size_t)sprintf(t + n, "\",\"key_two\":1}");
	kept x = {{0}, {0}, 0};
	assert_int_equal(acrt__json_fields(t, n, n, keep_key, &x), 0);
	assert_int_equal(x.n, 2);
	assert_int_equal(x.kl[0], 7);
	assert_memory_equal(x.k[0], "key_one", 7);
	assert_memory_equal(x.k[1], "key_two", 7);
	fields_seen f = {{0}, 0};
	assert_int_equal(acrt__json_fields("{\"a\":1}", 7, 7, on_field, &f), 0);
	assert_string_equal(f.buf, "a=1;");
	free(t);
}

static void
test_shortest_doubles(void **state)
{
	(void)state;
	char b[32];
	struct {
		double d;
		const char *s;
	} cases[] = {{0.1, "0.1"},
	             {0.1 + 0.2, "0.30000000000000004"},
	             {1.0 / 3, "0.3333333333333333"},
	             {300, "300"},
	             {1e300, "1e+300"},
	             {-0.0, "-0"},
	             {35.376, "35.376"},
	             {1.5e300, "1.5e+300"},
	             {123456789012345678.0, "1.2345678901234568e+17"},
	             {1e-7, "1e-07"}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n = acrt__json_dtoa(cases[i].d, b);
		assert_int_equal(n, strlen(b));
		assert_string_equal(b, cases[i].s);
	}
}

static void
test_jansson_from_any_text(void **state)
{
	(void)state;
	const char *t = "{\"big\":12345678901234567890,\"inf\":1e400,\"i\":-5,\"s\":\"a\\u0000b\","
	                "\"arr\":[1,{\"x\":null}]}";
	json_t *j = acrt__json_to_jansson(t, strlen(t), strlen(t));
	assert_non_null(j);
	assert_true(json_is_real(json_object_get(j, "big")));
	assert_true(json_real_value(json_object_get(j, "inf")) > 1e308);
	assert_int_equal(json_integer_value(json_object_get(j, "i")), -5);
	assert_int_equal(json_string_length(json_object_get(j, "s")), 3);
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	acrt__jbuf_jansson(&b, json_object_get(j, "arr"));
	assert_true(b.ok);
	assert_int_equal(b.len, 14);
	assert_memory_equal(b.p, "[1,{\"x\":null}]", 14);
	acrt__jbuf_free(&b);
	json_decref(j);
	assert_null(acrt__json_to_jansson("[1,", 3, 3));
}

static void
test_string_escapes(void **state)
{
	(void)state;
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	acrt__jbuf_string(&b, "a\"\\\n\x01\0\xc3\xa9", 8);
	size_t n;
	char *s = acrt__jbuf_take(&b, &n);
	const char want[] = "\"a\\\"\\\\\\n\\u0001\\u0000\xc3\xa9\"";
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(s, want, n);
	acrt__free(s);
}

/* Fuzz findings (tests/fuzz/corpus/jsonlines), each kept as a case here. */

typedef struct nest_seen {
	char keys[64];
	size_t n;
	int inner_ok;
} nest_seen;

/* The Aggregator's way: a value made into jansson inside the fields callback. */
static int
convert_inside(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	nest_seen *x = arg;
	json_t *j = acrt__jval_to_jansson(v);
	x->inner_ok += j != NULL;
	json_decref(j);
	x->n += (size_t)snprintf(x->keys + x->n, sizeof x->keys - x->n, "%.*s;", (int)kl, k);
	return 0;
}

/* A JSON call nested in a fields callback used the thread's parser and
 * overwrote the outer call's key (crash-fields-reentry). */
static void
test_nested_call_keeps_the_outer_key(void **state)
{
	(void)state;
	const char *t = "{\"first\":{\"inner\":[1,2]},\"second\":\"s\",\"third\":3}";
	nest_seen x = {{0}, 0, 0};
	assert_int_equal(acrt__json_fields(t, strlen(t), strlen(t), convert_inside, &x), 0);
	assert_string_equal(x.keys, "first;second;third;");
	assert_int_equal(x.inner_ok, 3);
}

/* A key holding \u0000 is valid JSON: its jansson copy keeps the whole key
 * (crash-nul-key). */
static void
test_nul_in_a_key(void **state)
{
	(void)state;
	const char *t = "{\"a\\u0000b\":1}";
	char why[128];
	assert_int_equal(acrt__json_check(t, strlen(t), strlen(t), why, sizeof why), 0);
	json_t *j = acrt__json_to_jansson(t, strlen(t), strlen(t));
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 1);
	assert_null(json_object_get(j, "a")); /* not cut at the NUL */
	assert_non_null(json_object_getn(j, "a\0b", 3));
	json_decref(j);
}

/* A top-level literal with whitespace after it passes the check and every
 * reader (crash-root-true-trailing-ws). */
static void
test_root_literal_then_spaces(void **state)
{
	(void)state;
	const char *texts[] = {"true   ", "false    ", "null \t ", "1   "};
	char why[128];
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		const char *t = texts[i];
		assert_int_equal(acrt__json_check(t, strlen(t), strlen(t), why, sizeof why), 0);
		json_t *j = acrt__json_to_jansson(t, strlen(t), strlen(t));
		assert_non_null(j);
		json_decref(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_every_valid_text),
	    cmocka_unit_test(test_refuses_invalid_texts),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_lookup_reads_like_jq),
	    cmocka_unit_test(test_fields_keep_raw_text),
	    cmocka_unit_test(test_keys_outlive_the_call_of_a_large_text),
	    cmocka_unit_test(test_shortest_doubles),
	    cmocka_unit_test(test_jansson_from_any_text),
	    cmocka_unit_test(test_string_escapes),
	    cmocka_unit_test(test_nested_call_keeps_the_outer_key),
	    cmocka_unit_test(test_nul_in_a_key),
	    cmocka_unit_test(test_root_literal_then_spaces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
