/*
 * schema_regex.c - translation of ECMA-262 regular expressions (the dialect of
 * JSON Schema "pattern" and "patternProperties") into PCRE2 syntax, compiled
 * by schema_compile.c with PCRE2_UTF | PCRE2_UCP.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "schema/schema_int.h"

/* ECMA-262 property names PCRE2 10.42 does not know, with its short names. */
static const char *const long_props[][2] = {
    {"Letter", "L"},
    {"Cased_Letter", "LC"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"Format", "Cf"},
    {"Unassigned", "Cn"},
    {"Private_Use", "Co"},
    {"Surrogate", "Cs"},
};

/* Rewrites an ECMA-262 pattern for PCRE2 (UTF + UCP): \d and \w stay ASCII as
 * in ECMA-262 (UCP would widen them), and long Unicode property names become
 * the short ones. Returns a new string. */
char *
acrt__schema_ecma_to_pcre(const char *re)
{
	size_t n = strlen(re);
	char *o = acrt__malloc(n * 8 + 1), *w = o;
	bool in_class = false;
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = re[i];
		if (ch == '\\' && i + 1 < n) {
			char e = re[i + 1];
			const char *rep = NULL;
			if (e == 'd')
				rep = in_class ? "0-9" : "[0-9]";
			else if (e == 'D' && !in_class)
				rep = "[^0-9]";
			else if (e == 'w')
				rep = in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
			else if (e == 'W' && !in_class)
				rep = "[^A-Za-z0-9_]";
			if (rep) {
				w += sprintf(w, "%s", rep);
				i++;
				continue;
			}
			if ((e == 'p' || e == 'P') && re[i + 2] == '{') {
				const char *name = re + i + 3, *end = strchr(name, '}');
				if (end) {
					const char *eq = memchr(name, '=', (size_t)(end - name));
					if (eq)
						name = eq + 1;
					size_t len = (size_t)(end - name);
					const char *shortname = NULL;
					for (size_t k = 0; k < ACRT__ARRAY_LEN(long_props); k++)
						if (strlen(long_props[k][0]) == len &&
						    !strncmp(long_props[k][0], name, len))
							shortname = long_props[k][1];
					w += sprintf(w, "\\%c{", e);
					if (shortname) {
						w += sprintf(w, "%s", shortname);
					} else {
						memcpy(w, name, len);
						w += len;
					}
					*w++ = '}';
					i = (size_t)(end - re);
					continue;
				}
			}
			*w++ = ch;
			*w++ = e;
			i++;
			continue;
		}
		if (ch == '[' && !in_class)
			in_class = true;
		else if (ch == ']' && in_class)
			in_class = false;
		*w++ = ch;
	}
	*w = '\0';
	return o;
}
