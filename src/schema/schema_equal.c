/*
 * schema_equal.c - equality of two JSON values as JSON Schema 2020-12 defines
 * it for const, enum and uniqueItems (schema.h): numbers by value (1 and 1.0
 * are equal), strings byte for byte, arrays item by item, objects by their
 * members whatever their order.
 */
#include <jansson.h>
#include <string.h>

#include "schema/schema.h"

int
acrt__schema_json_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	case JSON_ARRAY: {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!acrt__schema_json_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	case JSON_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		const char *k;
		size_t kl;
		json_t *v;
		json_object_keylen_foreach((json_t *)a, k, kl, v)
		{
			const json_t *w = json_object_getn(b, k, kl);
			if (w == NULL || !acrt__schema_json_equal(v, w))
				return 0;
		}
		return 1;
	}
	default:
		return 1;
	}
}
