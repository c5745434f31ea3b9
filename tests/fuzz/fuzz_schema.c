/*
 * fuzz_schema.c - libFuzzer target for the JSON Schema compiler and validator
 * (src/schema/): the input is a schema, a line `%%%%`, then an instance (no
 * separator: the schema validates itself). Compiling must give a schema or a
 * reason; validating must end (MAX_STEPS) with valid or a list of errors, the
 * same verdict with and without an error list (unless collecting errors ran
 * out of steps). docs/FUZZING.md.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "schema/schema.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sp, *ip;
	size_t sn, in;
	fuzz_split(data, size, &sp, &sn, &ip, &in);
	json_t *schema = json_loadb((const char *)sp, sn, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (schema == NULL)
		return 0;
	json_t *inst =
	    ip != NULL ? json_loadb((const char *)ip, in, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
	               : json_incref(schema);
	char err[256];
	acrt__schema *s = acrt__schema_compile(schema, err, sizeof err);
	if (s != NULL && inst != NULL) {
		int quick = acrt__schema_validate(s, inst, NULL);
		acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
		int full = acrt__schema_validate(s, inst, &errs);
		/* No verdict without errors, no errors without one. */
		FUZZ_ASSERT((full == 0) == (errs.n == 0));
		int budget = 0;
		for (size_t i = 0; i < errs.n; i++) {
			FUZZ_ASSERT(errs.v[i].path != NULL);
			FUZZ_ASSERT(acrt__schema_error_text(&errs.v[i])[0] != '\0');
			budget |=
			    errs.v[i].keyword != NULL && strcmp(errs.v[i].keyword, "budget") == 0;
		}
		/* Collecting errors visits more nodes, so only it may run out of
		 * steps where the first-failure mode did not. */
		FUZZ_ASSERT(quick == full || (full == 1 && budget));
		acrt__schema_errors_free(&errs);
		FUZZ_ASSERT(acrt__schema_json_equal(inst, inst) == 1);
	}
	acrt__schema_free(s);
	json_decref(inst);
	json_decref(schema);
	return 0;
}
