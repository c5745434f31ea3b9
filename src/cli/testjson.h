/*
 * testjson.h - JSON values as `acrt test` compares them (testjson.c): by
 * value, with exact numbers (docs/JSON.md): 1, 1.0 and 10e-1 are equal,
 * 12345678901234567890 and 12345678901234567891 are not; object members in
 * any order (a repeated key counts once, its last value, as jq reads it);
 * strings byte for byte after unescaping. And the lines of a readable
 * difference between an expected and a received value.
 *
 * Threads: none shared; the caller's thread only.
 */
#ifndef ACRT_CLI_TESTJSON_H
#define ACRT_CLI_TESTJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct acrt__tjson acrt__tjson;

/* The value of the JSON text p[0..len) (cap readable bytes, core/json.h).
 * NULL when the text is not valid JSON or on out of memory (*oom set). */
acrt__tjson *acrt__tjson_parse(const char *p, size_t len, size_t cap, bool *oom);
void acrt__tjson_free(acrt__tjson *v);
bool acrt__tjson_equal(const acrt__tjson *a, const acrt__tjson *b);
/* Whether got holds want: every member of an object in want is in got and
 * holds its value; arrays item by item, of the same length; other values
 * equal. */
bool acrt__tjson_contains(const acrt__tjson *want, const acrt__tjson *got);
/* Prints where `got` differs from `want`, one line each ("<indent>.a.b[2]:
 * expected 1, got 2"), at most max lines; with subset, members only in got
 * are not differences (acrt__tjson_contains). */
void acrt__tjson_diff(FILE *out, const acrt__tjson *want, const acrt__tjson *got, bool subset,
                      const char *indent, int max);

#endif /* ACRT_CLI_TESTJSON_H */
