/*
 * test_schema.c - the JSON Schema validator (src/schema/schema*.c).
 *
 * test_suite runs every case of every file of the official test suite for
 * draft 2020-12 ($ACRT_SOURCE_DIR/../shared/testdata/json-schema-test-suite/
 * draft2020-12, every *.json of the top-level directory) and fails if any case not listed
 * in tests/schema-suite-skips.txt gets the wrong answer, or if a skip entry
 * matches nothing. Each case is validated twice, with and without an error
 * list, and both answers must agree. The other tests check the errors
 * reported, compile errors, concurrent use, and print the validation cost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "schema/schema.h"

/* ---- the official suite ---- */

typedef struct skip {
	char *file, *group, *test; /* test NULL: the whole group */
	int used;
} skip;

static skip skips[256];
static size_t n_skips;

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Lines "file.json | group [| case] | reason"; '#' starts a comment. */
static void
load_skips(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[2048];
	while (fgets(line, sizeof line, f)) {
		char *t = trim(line);
		if (*t == '#' || *t == '\0')
			continue;
		char *field[5] = {NULL};
		int n = 0;
		char *p = t;
		while (n < 5) {
			char *bar = strstr(p, " | ");
			field[n++] = p;
			if (bar == NULL)
				break;
			*bar = '\0';
			p = bar + 3;
		}
		if (n != 3 && n != 4)
			fail_msg("%s: bad skip line '%s'", path, t);
		assert_true(n_skips < 256);
		skip *s = &skips[n_skips++];
		s->file = strdup(trim(field[0]));
		s->group = strdup(trim(field[1]));
		s->test = n == 4 ? strdup(trim(field[2])) : NULL;
	}
	fclose(f);
}

static bool
skipped(const char *file, const char *group, const char *test)
{
	for (size_t i = 0; i < n_skips; i++) {
		skip *s = &skips[i];
		if (strcmp(s->file, file) || strcmp(s->group, group))
			continue;
		if (s->test == NULL || (test && !strcmp(s->test, test))) {
			s->used = 1;
			return true;
		}
	}
	return false;
}

static void
test_suite(void **state)
{
	(void)state;
	const char *src = getenv("ACRT_SOURCE_DIR");
	char pat[1024], skipfile[1024];
	snprintf(pat, sizeof pat,
	         "%s/../shared/testdata/json-schema-test-suite/draft2020-12/*.json",
	         src ? src : ".");
	snprintf(skipfile, sizeof skipfile, "%s/tests/schema-suite-skips.txt", src ? src : ".");
	load_skips(skipfile);
	glob_t g;
	if (glob(pat, 0, NULL, &g) != 0)
		fail_msg("no suite files match %s (set ACRT_SOURCE_DIR)", pat);
	size_t passed = 0, failed = 0, nskipped = 0;
	for (size_t fi = 0; fi < g.gl_pathc; fi++) {
		const char *file = strrchr(g.gl_pathv[fi], '/') + 1;
		json_error_t jerr;
		json_t *groups = json_load_file(g.gl_pathv[fi], JSON_ALLOW_NUL, &jerr);
		if (groups == NULL)
			fail_msg("%s: %s", file, jerr.text);
		size_t gi;
		json_t *grp;
		json_array_foreach(groups, gi, grp)
		{
			const char *gdesc = json_string_value(json_object_get(grp, "description"));
			json_t *tests = json_object_get(grp, "tests");
			char err[256];
			acrt__schema *s =
			    acrt__schema_compile(json_object_get(grp, "schema"), err, sizeof err);
			size_t ti;
			json_t *t;
			json_array_foreach(tests, ti, t)
			{
				const char *tdesc =
				    json_string_value(json_object_get(t, "description"));
				if (skipped(file, gdesc, tdesc)) {
					nskipped++;
					continue;
				}
				if (s == NULL) {
					printf("FAIL %s | %s | %s: compile: %s\n", file, gdesc,
					       tdesc, err);
					failed++;
					continue;
				}
				int want = json_is_true(json_object_get(t, "valid")) ? 0 : 1;
				json_t *data = json_object_get(t, "data");
				acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
				int fast = acrt__schema_validate(s, data, NULL);
				int full = acrt__schema_validate(s, data, &errs);
				if (fast != want || full != want || (full == 1) != (errs.n > 0)) {
					printf(
					    "FAIL %s | %s | %s: want %s, got %s/%s (%zu errors)\n",
					    file, gdesc, tdesc, want ? "invalid" : "valid",
					    fast ? "invalid" : "valid", full ? "invalid" : "valid",
					    errs.n);
					failed++;
				} else {
					passed++;
				}
				acrt__schema_errors_free(&errs);
			}
			acrt__schema_free(s);
		}
		json_decref(groups);
	}
	globfree(&g);
	size_t unused = 0;
	for (size_t i = 0; i < n_skips; i++) {
		if (!skips[i].used) {
			printf("UNUSED skip entry: %s | %s%s%s\n", skips[i].file, skips[i].group,
			       skips[i].test ? " | " : "", skips[i].test ? skips[i].test : "");
			unused++;
		}
		free(skips[i].file);
		free(skips[i].group);
		free(skips[i].test);
	}
	printf("json-schema-test-suite draft2020-12: %zu passed, %zu failed, %zu skipped\n", passed,
	       failed, nskipped);
	assert_int_equal(failed, 0);
	assert_int_equal(unused, 0);
	assert_true(passed > 0);
}

/* ---- targeted tests ---- */

static acrt__schema *
compile_text(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
	assert_non_null(j);
	char err[256];
	acrt__schema *s = acrt__schema_compile(j, err, sizeof err);
	json_decref(j);
	return s;
}

/* Validates text and returns "path: keyword; ..." (static buffer); with
 * details, "path: detail" where the keyword has one. */
static const char *
errors_fmt(const acrt__schema *s, const char *text, bool details)
{
	static char out[1024];
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
	int rc = acrt__schema_validate(s, j, &errs);
	out[0] = '\0';
	for (size_t i = 0; i < errs.n; i++)
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s: %s", i ? "; " : "",
		         errs.v[i].path,
		         details ? acrt__schema_error_text(&errs.v[i]) : errs.v[i].keyword);
	assert_int_equal(rc, errs.n ? 1 : 0);
	acrt__schema_errors_free(&errs);
	json_decref(j);
	return out;
}

static const char *
errors_of(const acrt__schema *s, const char *text)
{
	return errors_fmt(s, text, false);
}

/* An error says what was expected and what came, where the keyword has a
 * bound or a type (numbers as written: integers exact, reals shortest). */
static void
test_error_details(void **state)
{
	(void)state;
	acrt__schema *s =
	    compile_text("{\"type\":\"object\",\"properties\":{\"a\":{\"maximum\":100},"
	                 "\"b\":{\"type\":[\"integer\",\"null\"]},\"c\":{\"maxLength\":2},"
	                 "\"d\":{\"exclusiveMinimum\":0.5},\"e\":{\"minItems\":2},"
	                 "\"f\":{\"multipleOf\":0.25}},\"required\":[\"g\"]}");
	assert_non_null(s);
	assert_string_equal(
	    errors_fmt(s,
	               "{\"a\":101,\"b\":\"x\",\"c\":\"\u00e9t\u00e9\",\"d\":0.5,\"e\":[1],"
	               "\"f\":0.3,\"g\":1}",
	               true),
	    "/a: maximum 100, got 101; /b: type null or integer, got string; /c: maxLength 2, "
	    "got 3; /d: exclusiveMinimum 0.5, got 0.5; /e: minItems 2, got 1; /f: multipleOf "
	    "0.25, got 0.3");
	assert_string_equal(errors_fmt(s, "{\"a\":100.5}", true),
	                    "/g: required; /a: maximum 100, got 100.5");
	assert_string_equal(errors_fmt(s, "[]", true), ": type object, got array");
	acrt__schema_free(s);
}

/* A schema exponential in the instance's nesting (anyOf/oneOf over a
 * recursive $ref) stops at the step budget with keyword "budget" instead of
 * running for ever (issue 17: the 87-byte schema hung `acrt schema check`);
 * a big but linear instance stays well within it. */
static void
test_step_budget(void **state)
{
	(void)state;
	acrt__schema *s = compile_text("{\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"},"
	                               "{\"$ref\":\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}");
	assert_non_null(s);
	assert_string_equal(errors_fmt(s, "{}", true), ": validation stopped after 10000000 steps");
	json_t *empty = json_object();
	assert_int_equal(acrt__schema_validate(s, empty, NULL), 1); /* invalid, fast path too */
	json_decref(empty);
	acrt__schema_free(s);
	/* `not` over a budget-stopped branch must not turn it into valid */
	s = compile_text("{\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"},"
	                 "{\"$ref\":\"#/$defs/a\"}]}},\"not\":{\"$ref\":\"#/$defs/a\"}}");
	assert_non_null(s);
	empty = json_object();
	assert_int_equal(acrt__schema_validate(s, empty, NULL), 1);
	json_decref(empty);
	acrt__schema_free(s);
	/* 200,000 items of a 3-node item schema: about 600k steps, valid */
	s = compile_text("{\"type\":\"array\",\"items\":{\"type\":\"object\","
	                 "\"properties\":{\"n\":{\"type\":\"integer\"}}}}");
	assert_non_null(s);
	json_t *arr = json_array();
	for (int i = 0; i < 200000; i++)
		json_array_append_new(arr, json_pack("{s:i}", "n", i));
	assert_int_equal(acrt__schema_validate(s, arr, NULL), 0);
	json_decref(arr);
	acrt__schema_free(s);
}

static void
test_error_paths(void **state)
{
	(void)state;
	acrt__schema *s = compile_text(
	    "{\"type\":\"object\",\"required\":[\"id\",\"amount\"],"
	    "\"properties\":{\"id\":{\"type\":\"string\"},\"amount\":{\"type\":\"number\"},"
	    "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	    "\"properties\":{\"name\":{\"minLength\":2}}}},"
	    "\"a/b~c\":{\"const\":1}},\"additionalProperties\":false}");
	assert_non_null(s);
	assert_string_equal(errors_of(s, "{\"id\":\"x\",\"amount\":3}"), "");
	assert_string_equal(errors_of(s, "{\"amount\":\"x\"}"), "/id: required; /amount: type");
	assert_string_equal(
	    errors_of(s, "{\"id\":\"x\",\"amount\":1,\"items\":[{},{},{},{\"name\":\"a\"}]}"),
	    "/items/3/name: minLength");
	assert_string_equal(errors_of(s, "{\"id\":\"x\",\"amount\":1,\"a/b~c\":2,\"zz\":0}"),
	                    "/a~1b~0c: const; /zz: additionalProperties");
	assert_string_equal(errors_of(s, "[1]"), ": type");
	acrt__schema_free(s);

	s = compile_text("{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}],"
	                 "\"not\":{\"const\":5},\"unevaluatedProperties\":false}");
	assert_non_null(s);
	assert_string_equal(errors_of(s, "1"), ": anyOf");
	assert_string_equal(errors_of(s, "5"), ": not");
	assert_string_equal(errors_of(s, "{\"q\":1}"), "/q: unevaluatedProperties");
	acrt__schema_free(s);

	s = compile_text("false");
	assert_string_equal(errors_of(s, "null"), ": false");
	acrt__schema_free(s);
}

static void
test_compile_errors(void **state)
{
	(void)state;
	const char *bad[] = {
	    "{\"pattern\":\"(\"}",
	    "{\"$ref\":\"http://example.com/other.json\"}",
	    "{\"$ref\":\"#/$defs/missing\"}",
	    "{\"type\":\"strin\"}",
	    "{\"minLength\":-1}",
	    "[]",
	    "{\"allOf\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		char err[256] = "";
		acrt__schema *s = acrt__schema_compile(j, err, sizeof err);
		if (s != NULL)
			fail_msg("compiled: %s", bad[i]);
		assert_true(err[0] != '\0');
		json_decref(j);
	}
	json_t *j = json_loads("{\"$ref\":\"http://example.com/other.json\"}", 0, NULL);
	char err[256];
	assert_null(acrt__schema_compile(j, err, sizeof err));
	assert_non_null(strstr(err, "remote"));
	json_decref(j);
}

static void
test_json_equal(void **state)
{
	(void)state;
	json_t *a = json_loads("{\"a\":[1,2.0,{\"b\":null}]}", 0, NULL);
	json_t *b = json_loads("{\"a\":[1.0,2,{\"b\":null}]}", 0, NULL);
	json_t *c = json_loads("{\"a\":[1.0,2,{\"b\":false}]}", 0, NULL);
	assert_true(acrt__schema_json_equal(a, b));
	assert_false(acrt__schema_json_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static const char *bench_schema =
    "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"amount\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"id\":{\"type\":\"string\",\"minLength\":1},\"name\":{\"type\":\"string\"},"
    "\"amount\":{\"type\":\"number\",\"minimum\":0},\"count\":{\"type\":\"integer\"},"
    "\"currency\":{\"enum\":[\"EUR\",\"USD\",\"GBP\"]},\"paid\":{\"type\":\"boolean\"},"
    "\"note\":{\"type\":[\"string\",\"null\"]},\"tags\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\"}},\"ts\":{\"type\":\"integer\",\"minimum\":0},"
    "\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}-[0-9]+$\"}}}";
static const char *bench_instance =
    "{\"id\":\"a1\",\"name\":\"widget\",\"amount\":12.5,\"count\":3,\"currency\":\"EUR\","
    "\"paid\":true,\"note\":null,\"tags\":[\"x\",\"y\"],\"ts\":1700000000,\"code\":\"ABC-42\"}";

typedef struct {
	const acrt__schema *s;
	const json_t *ok, *bad;
	int wrong;
} worker_arg;

static void *
worker(void *p)
{
	worker_arg *a = p;
	for (int i = 0; i < 20000; i++) {
		if (acrt__schema_validate(a->s, a->ok, NULL) != 0)
			a->wrong++;
		acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
		if (acrt__schema_validate(a->s, a->bad, &errs) != 1 || errs.n != 2)
			a->wrong++;
		acrt__schema_errors_free(&errs);
	}
	return NULL;
}

static void
test_threads_and_cost(void **state)
{
	(void)state;
	acrt__schema *s = compile_text(bench_schema);
	assert_non_null(s);
	json_t *ok = json_loads(bench_instance, 0, NULL);
	json_t *bad = json_loads("{\"id\":\"\",\"name\":\"w\",\"amount\":-1}", 0, NULL);
	assert_int_equal(acrt__schema_validate(s, ok, NULL), 0);

	pthread_t th[4];
	worker_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (worker_arg){s, ok, bad, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].wrong, 0);
	}

	const int n = 200000;
	size_t bytes = acrt__alloc_bytes();
	int64_t t0 = acrt__mono_ns();
	for (int i = 0; i < n; i++)
		acrt__schema_validate(s, ok, NULL);
	int64_t ns = acrt__mono_ns() - t0;
	assert_int_equal(acrt__alloc_bytes(), bytes);
	printf("schema validation cost: %.0f ns per valid 10-field object (%d runs)\n",
	       (double)ns / n, n);
	json_decref(ok);
	json_decref(bad);
	acrt__schema_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suite),         cmocka_unit_test(test_error_paths),
	    cmocka_unit_test(test_error_details), cmocka_unit_test(test_compile_errors),
	    cmocka_unit_test(test_json_equal),    cmocka_unit_test(test_threads_and_cost),
	    cmocka_unit_test(test_step_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
