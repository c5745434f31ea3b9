/*
 * routes.c - see routes.h.
 */
#include "components/routes.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char key_buf[96];

const char *
acrt__routes_key(size_t i, const char *field)
{
	if (field != NULL)
		snprintf(key_buf, sizeof key_buf, "routes.%zu.%.40s", i, field);
	else
		snprintf(key_buf, sizeof key_buf, "routes.%zu", i);
	return key_buf;
}

/* "{when, to}" */
static void
shape(const acrt__route_field *fields, size_t n, char *out, size_t len)
{
	size_t at = (size_t)snprintf(out, len, "{");
	for (size_t f = 0; f < n && at < len; f++)
		at +=
		    (size_t)snprintf(out + at, len - at, "%s%s", f > 0 ? ", " : "", fields[f].name);
	if (at < len)
		snprintf(out + at, len - at, "}");
}

static const acrt__route_field *
field_find(const acrt__route_field *fields, size_t n, const char *name)
{
	for (size_t f = 0; f < n; f++)
		if (strcmp(fields[f].name, name) == 0)
			return &fields[f];
	return NULL;
}

int
acrt__routes_check(const json_t *config, const acrt__route_field *fields, size_t n,
                   const char **key, char *msg, size_t len)
{
	char sh[80];
	shape(fields, n, sh, sizeof sh);
	const json_t *routes = json_object_get(config, "routes");
	*key = "routes";
	if (json_array_size(routes) == 0) {
		snprintf(msg, len, "at least one route %s is needed", sh);
		return -1;
	}
	size_t i;
	json_t *r;
	json_array_foreach(routes, i, r)
	{
		*key = acrt__routes_key(i, NULL);
		if (!json_is_object(r)) {
			snprintf(msg, len, "a route must be a mapping %s", sh);
			return -1;
		}
		const char *k;
		json_t *v;
		json_object_foreach(r, k, v)
		{
			if (field_find(fields, n, k) == NULL) {
				*key = acrt__routes_key(i, k);
				snprintf(msg, len, "unknown key '%s' (a route has %.*s)", k,
				         (int)strlen(sh) - 2, sh + 1);
				return -1;
			}
		}
		for (size_t f = 0; f < n; f++) {
			const json_t *fv = json_object_get(r, fields[f].name);
			if (fv == NULL && fields[f].missing != NULL) {
				snprintf(msg, len, "%s", fields[f].missing);
				return -1;
			}
			if (fv != NULL && fields[f].check(fv, msg, len) != 0) {
				*key = acrt__routes_key(i, fields[f].name);
				return -1;
			}
		}
	}
	return 0;
}
