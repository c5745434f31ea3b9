/*
 * groupkey.c - group keys of the Aggregator and the Store (builtins.h): the
 * text that stands for a JSON value as a key of managed state, so that
 * distinct values are distinct keys. Numbers, booleans and strings without
 * escapes are their exact text; other values their compact JSON with sorted
 * object keys.
 */
#include <jansson.h>
#include <string.h>

#include "components/builtins.h"
#include "core/common.h"
#include "core/json.h"

const char *
acrt__key_encode(const json_t *v, char *buf, size_t cap, char **heap, size_t *len)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS;
	*heap = NULL;
	if (v == NULL) {
		*len = 4;
		return "null";
	}
	size_t n = json_dumpb(v, buf, cap, flags);
	if (n == 0)
		return NULL;
	if (n <= cap) {
		*len = n;
		return buf;
	}
	char *h = acrt__malloc(n);
	if (h == NULL || json_dumpb(v, h, n, flags) != n) {
		acrt__free(h);
		return NULL;
	}
	*heap = h;
	*len = n;
	return h;
}

/* The group key of the key field's value: its exact text for numbers,
 * booleans and strings without escapes (so 12345678901234567890 and 1.50
 * leave as they came; 1 and 1.0 are two groups), else the compact JSON with
 * sorted keys of acrt__key_encode (strings with escapes, arrays, objects). */
const char *
acrt__key_of_value(const acrt__jval *v, char *buf, size_t cap, char **heap, size_t *len)
{
	*heap = NULL;
	switch (v->type) {
	case ACRT__J_ABSENT:
	case ACRT__J_NULL:
		*len = 4;
		return "null";
	case ACRT__J_STRING:
		if (memchr(v->raw, '\\', v->raw_len) != NULL)
			break;
		/* fall through */
	case ACRT__J_NUMBER:
	case ACRT__J_TRUE:
	case ACRT__J_FALSE:
		*len = v->raw_len;
		return v->raw;
	default:
		break;
	}
	json_t *j = acrt__jval_to_jansson(v);
	const char *k = j != NULL ? acrt__key_encode(j, buf, cap, heap, len) : NULL;
	json_decref(j);
	return k;
}
