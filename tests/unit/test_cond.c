/*
 * test_cond.c - Filter/Router conditions (components/cond.h): the native
 * evaluator decides every condition of its subset exactly as jq 1.6 does, on
 * events of every shape (missing keys, nulls, types that order across, big
 * numbers, strings with escapes, non-object roots where jq raises an error),
 * and a condition outside the subset is left to jq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "components/cond.h"
#include "components/jq.h"

static const char *const conds[] = {
    ".status >= 500",
    ".status == 503",
    ".status != 503",
    ".m == \"GET\"",
    ".m < \"POST\"",
    ".m > \"GET\"",
    ".a.b != null",
    ".a.b == \"x\"",
    ".x",
    ".missing == null",
    ".n > 1 and .s == \"x\" or .t",
    "(.n == 1 or .m == \"GET\") and .t",
    ".f == false",
    ".f",
    ".big == 12345678901234567890",
    ".big == 12345678901234567891",
    ".neg < -1.5",
    ".s > 5",
    ".s < true",
    ".arr > 3",
    ".arr == null",
    ".o.p.q == 1",
    ".",
    ".n <= 1e400",
    ".inf > 1e308",
    "null == .nothing",
    "500 <= .status",
    ".status>=500 and.m==\"GET\"",
};

static const char *const events[] = {
    "{\"status\":503,\"m\":\"GET\",\"a\":{\"b\":\"x\"},\"x\":0,\"n\":2,\"s\":\"x\",\"t\":true,"
    "\"f\":false,\"big\":12345678901234567890,\"neg\":-2,\"arr\":[1,2],\"o\":{\"p\":{\"q\":1}}}",
    "{\"status\":200,\"m\":\"POST\",\"a\":null,\"x\":null,\"n\":1,\"s\":\"y\",\"t\":false,"
    "\"f\":null,\"neg\":-1.5,\"inf\":1e400}",
    "{\"status\":\"503\",\"m\":\"G\\u0045T\",\"a\":{\"b\":1},\"s\":5,\"o\":{\"p\":3}}",
    "{\"a\":3,\"m\":\"\",\"status\":500.0,\"n\":1.0}",
    "{}",
    "42",
    "null",
    "[1,2]",
    "\"text\"",
    "{\"status\":1,\"status\":600,\"m\":\"a\\\"b\"}",
};

static void
test_native_matches_jq(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof conds / sizeof *conds; c++) {
		char err[512];
		acrt__cond *cond = acrt__cond_compile(conds[c], err, sizeof err);
		if (cond == NULL)
			fail_msg("%s: %s", conds[c], err);
		acrt__jq *jq = acrt__jq_compile(conds[c], err, sizeof err);
		assert_non_null(jq);
		for (size_t e = 0; e < sizeof events / sizeof *events; e++) {
			size_t n = strlen(events[e]);
			acrt__cond_input in;
			acrt__cond_input_init(&in, events[e], n, n);
			int got = acrt__cond_test(cond, &in, err, sizeof err);
			acrt__cond_input_free(&in);
			int want =
			    acrt__jq_test_jv(jq, acrt__jq_parse(events[e], n, n), err, sizeof err);
			if (got != want)
				fail_msg("%s on %s: native %d, jq %d", conds[c], events[e], got,
				         want);
		}
		acrt__jq_free(jq);
		acrt__cond_free(cond);
	}
}

static void
test_native_subset(void **state)
{
	(void)state;
	char err[512];
	static const struct {
		const char *prog;
		int native;
	} cases[] = {
	    {".status >= 500", 1},
	    {".a.b == \"x\" and (.c < 3 or .d)", 1},
	    {"true", 1},
	    {".a | length > 2", 0},
	    {".a[0] == 1", 0},
	    {".[\"a\"] == 1", 0},
	    {".a == \"x\\ty\"", 0},
	    {"(.a + 1) > 2", 0},
	    {".a == \"\\(.b)\"", 0},
	    {".a and (.b | not)", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		acrt__cond *c = acrt__cond_compile(cases[i].prog, err, sizeof err);
		assert_non_null(c);
		if (acrt__cond_is_native(c) != cases[i].native)
			fail_msg("%s: native %d, expected %d", cases[i].prog,
			         acrt__cond_is_native(c), cases[i].native);
		acrt__cond_free(c);
	}
	assert_null(acrt__cond_compile(".a ==", err, sizeof err));
	assert_non_null(strstr(err, "jq"));
}

static void
test_invalid_text_is_an_error(void **state)
{
	(void)state;
	char err[512];
	acrt__cond *c = acrt__cond_compile(".a == 1", err, sizeof err);
	acrt__cond_input in;
	acrt__cond_input_init(&in, "{\"a\":", 5, 5);
	assert_int_equal(acrt__cond_test(c, &in, err, sizeof err), -1);
	acrt__cond_input_free(&in);
	acrt__cond_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_native_matches_jq),
	    cmocka_unit_test(test_native_subset),
	    cmocka_unit_test(test_invalid_text_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
