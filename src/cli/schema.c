/*
 * schema.c - `acrt schema check SCHEMA.json [INSTANCE.json|-]...` (SPEC section 6).
 *
 * Compiles the schema once (src/schema/schema.h), then validates each
 * instance: a file holding one JSON value (scalars included), or, for `-` or
 * when no instance is named, each non-empty line of stdin. One line per
 * instance on stdout:
 *
 *   order.json: valid
 *   stdin:3: invalid: /amount: type; /id: required
 *
 * An error at the instance root is shown with the path "(root)". Exit 0 when
 * every instance is valid, 1 when any is invalid, 2 for a bad schema
 * (unreadable, not JSON, does not compile) or an unreadable instance (which
 * is reported on stderr; the other instances are still checked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "schema/schema.h"

#define JSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Validates one instance and prints its line; returns 0 valid, 1 invalid. */
static int
check_one(const acrt__schema *s, const char *name, const json_t *inst)
{
	acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
	int rc = acrt__schema_validate(s, inst, &errs);
	if (rc == 0) {
		printf("%s: valid\n", name);
	} else {
		printf("%s: invalid", name);
		for (size_t i = 0; i < errs.n; i++)
			printf("%s %s: %s", i ? ";" : ":",
			       errs.v[i].path[0] ? errs.v[i].path : "(root)",
			       acrt__schema_error_text(&errs.v[i]));
		putchar('\n');
	}
	acrt__schema_errors_free(&errs);
	return rc;
}

/* JSON lines on stdin; returns the exit code of this input. */
static int
check_stdin(const acrt__schema *s)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		size_t i = 0;
		while (i < (size_t)len && strchr(" \t\r\n", line[i]))
			i++;
		if (i == (size_t)len)
			continue;
		char name[64];
		snprintf(name, sizeof name, "stdin:%zu", lineno);
		json_error_t jerr;
		json_t *inst = json_loadb(line, (size_t)len, JSON_FLAGS, &jerr);
		if (inst == NULL) {
			fprintf(stderr, "acrt: %s: not JSON: %s\n", name, jerr.text);
			rc = 2;
			continue;
		}
		if (check_one(s, name, inst) && rc == 0)
			rc = 1;
		json_decref(inst);
	}
	free(line);
	if (ferror(stdin)) {
		fprintf(stderr, "acrt: stdin: read error\n");
		rc = 2;
	}
	return rc;
}

static int
check(int argc, char **argv)
{
	if (argc < 1)
		return acrt__cli_usage_error(
		    "usage: acrt schema check SCHEMA.json [INSTANCE.json|-]...");
	json_error_t jerr;
	json_t *doc = json_load_file(argv[0], JSON_FLAGS, &jerr);
	if (doc == NULL) {
		if (jerr.line > 0)
			fprintf(stderr, "acrt: %s:%d:%d: schema is not JSON: %s\n", argv[0],
			        jerr.line, jerr.column, jerr.text);
		else
			fprintf(stderr, "acrt: %s: cannot read schema: %s\n", argv[0], jerr.text);
		return 2;
	}
	char err[512];
	acrt__schema *s = acrt__schema_compile(doc, err, sizeof err);
	json_decref(doc);
	if (s == NULL) {
		fprintf(stderr, "acrt: %s: invalid schema: %s\n", argv[0], err);
		return 2;
	}
	int rc = 0, one;
	if (argc == 1)
		rc = check_stdin(s);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-")) {
			one = check_stdin(s);
		} else {
			json_t *inst = json_load_file(argv[i], JSON_FLAGS, &jerr);
			if (inst == NULL) {
				fprintf(stderr, "acrt: %s: %s: %s\n", argv[i],
				        jerr.line > 0 ? "not JSON" : "cannot read", jerr.text);
				one = 2;
			} else {
				one = check_one(s, argv[i], inst);
				json_decref(inst);
			}
		}
		if (one > rc)
			rc = one;
	}
	acrt__schema_free(s);
	fflush(stdout);
	return rc;
}

int
acrt__cmd_schema(int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "check"))
		return check(argc - 1, argv + 1);
	return acrt__cli_usage_error("usage: acrt schema check SCHEMA.json [INSTANCE.json|-]...");
}
