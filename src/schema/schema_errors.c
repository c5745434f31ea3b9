/*
 * schema_errors.c - the error list of a validation (schema.h) and the words
 * its details are made of: numbers as acrt writes them, type names. Any
 * thread: a list belongs to its caller.
 */
#include <stdio.h>

#include "core/common.h"
#include "core/json.h" /* acrt__json_dtoa */
#include "schema/schema_int.h"

void
acrt__schema_errors_clear(acrt__schema_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		acrt__free(errs->v[i].path);
	errs->n = 0;
}

void
acrt__schema_errors_free(acrt__schema_errors *errs)
{
	if (errs == NULL)
		return;
	acrt__schema_errors_clear(errs);
	acrt__free(errs->v);
	errs->v = NULL;
	errs->cap = 0;
}

/* A JSON number as written by acrt (shortest round trip; integers exact). */
const char *
acrt__schema_num_text(const json_t *v, char buf[32])
{
	if (json_is_integer(v))
		acrt__json_itoa((int64_t)json_integer_value(v), buf);
	else
		buf[acrt__json_dtoa(json_number_value(v), buf)] = '\0';
	return buf;
}

const char *
acrt__schema_dbl_text(double d, char buf[32])
{
	buf[acrt__json_dtoa(d, buf)] = '\0';
	return buf;
}

/* "integer or string" for a types bitmask; the name of an instance's type. */
void
acrt__schema_types_text(unsigned types, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{SN_T_NULL, "null"},    {SN_T_BOOL, "boolean"},  {SN_T_OBJECT, "object"},
	             {SN_T_ARRAY, "array"},  {SN_T_NUMBER, "number"}, {SN_T_INTEGER, "integer"},
	             {SN_T_STRING, "string"}};
	size_t at = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof *names && at < len; i++)
		if (types & names[i].bit)
			at += (size_t)snprintf(out + at, len - at, "%s%s", at ? " or " : "",
			                       names[i].name);
}

const char *
acrt__schema_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}
