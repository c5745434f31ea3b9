/*
 * schema_int.h - the compiled form of a JSON Schema, shared only by
 * schema_compile.c (which builds it) and schema_validate.c (which reads it).
 *
 * Each schema object or boolean of the document becomes one acrt__snode; a
 * $ref points straight at the node of its target, so cycles in the document
 * become cycles of pointers (the validator bounds its depth). Nodes are owned
 * by the acrt__schema (its `nodes` array) and freed with it.
 */
#ifndef ACRT_SCHEMA_INT_H
#define ACRT_SCHEMA_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "schema/schema.h"

typedef struct acrt__snode acrt__snode;

/* Bits of acrt__snode.types */
enum {
	SN_T_NULL = 1,
	SN_T_BOOL = 2,
	SN_T_OBJECT = 4,
	SN_T_ARRAY = 8,
	SN_T_NUMBER = 16,
	SN_T_INTEGER = 32,
	SN_T_STRING = 64,
};

/* Bits of acrt__snode.has: which scalar keywords are present. */
enum {
	SN_TYPE = 1u << 0,
	SN_MULTIPLE_OF = 1u << 1,
	SN_MAXIMUM = 1u << 2,
	SN_EXCL_MAXIMUM = 1u << 3,
	SN_MINIMUM = 1u << 4,
	SN_EXCL_MINIMUM = 1u << 5,
	SN_MAX_LENGTH = 1u << 6,
	SN_MIN_LENGTH = 1u << 7,
	SN_MAX_ITEMS = 1u << 8,
	SN_MIN_ITEMS = 1u << 9,
	SN_UNIQUE_ITEMS = 1u << 10,
	SN_MAX_CONTAINS = 1u << 11,
	SN_MIN_CONTAINS = 1u << 12,
	SN_MAX_PROPS = 1u << 13,
	SN_MIN_PROPS = 1u << 14,
	SN_ENUM = 1u << 15,
	SN_CONST = 1u << 16,
};

typedef struct acrt__sprop {
	const char *name; /* borrowed from the schema document */
	size_t len;
	acrt__snode *node;
} acrt__sprop;

typedef struct acrt__spattern {
	pcre2_code *re;
	acrt__snode *node;
} acrt__spattern;

typedef struct acrt__sdepreq {
	const char *name;
	const json_t *required; /* array of strings */
} acrt__sdepreq;

/* A schema resource (the root, or a subschema with $id) and its $dynamicAnchors. */
typedef struct acrt__sresource {
	char *uri;
	const json_t *root;
	acrt__sprop *dyn; /* name -> node of each $dynamicAnchor */
	size_t n_dyn;
} acrt__sresource;

struct acrt__snode {
	int8_t boolean; /* -1: an object schema; 0/1: the boolean schema false/true */
	uint8_t types;
	bool needs_eval; /* has unevaluatedItems or unevaluatedProperties */
	int resource;    /* index into acrt__schema.res */
	uint32_t has;

	double multiple_of, maximum, excl_maximum, minimum, excl_minimum;
	size_t max_length, min_length, max_items, min_items, max_contains, min_contains;
	size_t max_props, min_props;
	const json_t *enum_, *const_, *required; /* borrowed from the document */
	pcre2_code *pattern;

	acrt__snode *ref;
	acrt__snode *dynref;     /* $dynamicRef resolved statically */
	const char *dynref_name; /* non-NULL: search the dynamic scope for this anchor */

	acrt__snode **all_of, **any_of, **one_of;
	size_t n_all_of, n_any_of, n_one_of;
	acrt__snode *not_, *if_, *then_, *else_;

	acrt__sprop *props; /* sorted by name (bytes, then length) */
	size_t n_props;
	acrt__spattern *pat_props;
	size_t n_pat_props;
	acrt__snode *additional_props, *property_names, *unevaluated_props;
	acrt__sprop *dep_schemas;
	size_t n_dep_schemas;
	acrt__sdepreq *dep_required;
	size_t n_dep_required;

	acrt__snode **prefix_items;
	size_t n_prefix_items;
	acrt__snode *items, *contains, *unevaluated_items;
};

struct acrt__schema {
	json_t *doc; /* our reference to the document */
	acrt__snode *root;
	acrt__snode **nodes; /* every node, for freeing */
	size_t n_nodes, cap_nodes;
	acrt__sresource *res;
	size_t n_res;
};

/* Compares a property name with a sorted-table entry (for bsearch). */
static inline int
acrt__sprop_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* schema_uri.c: length of the scheme of u ("http" in "http://..."), 0 if none. */
size_t acrt__schema_uri_scheme_len(const char *u);
/* schema_uri.c: resolves ref against the absolute URI base; a new string
 * (acrt__free), NULL when out of memory. */
char *acrt__schema_uri_resolve(const char *base, const char *ref);
/* schema_regex.c: an ECMA-262 pattern rewritten for PCRE2; a new string
 * (acrt__free), NULL when out of memory. */
char *acrt__schema_ecma_to_pcre(const char *re);

/* schema_errors.c: the words of an error's detail. buf holds 32 bytes. */
const char *acrt__schema_num_text(const json_t *v, char buf[32]);
const char *acrt__schema_dbl_text(double d, char buf[32]);
/* "null or integer" for a types bitmask (SN_T_*). */
void acrt__schema_types_text(unsigned types, char *out, size_t len);
/* The JSON type of an instance: "object", "integer", "number", ... */
const char *acrt__schema_type_name(const json_t *v);

#endif /* ACRT_SCHEMA_INT_H */
