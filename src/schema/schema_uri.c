/*
 * schema_uri.c - URI reference resolution (RFC 3986 section 5.2) for $id and
 * $ref: enough for references within one document, including relative paths
 * with dot segments, network-path and fragment-only references.
 */
#include <string.h>

#include "core/common.h"
#include "schema/schema_int.h"

size_t
acrt__schema_uri_scheme_len(const char *u)
{
	size_t i = 0;
	while (u[i] && u[i] != ':' && u[i] != '/' && u[i] != '?' && u[i] != '#')
		i++;
	return (i > 0 && u[i] == ':') ? i : 0;
}

/* Removes "." and ".." segments from a URI path (up to ? or #), in place. */
static void
remove_dots(char *path)
{
	size_t end = strcspn(path, "?#");
	char *out = acrt__malloc(strlen(path) + 1);
	if (out == NULL)
		return;
	size_t o = 0, i = 0;
	while (i < end) {
		if (!strncmp(path + i, "../", 3) && i + 3 <= end)
			i += 3;
		else if (!strncmp(path + i, "./", 2) && i + 2 <= end)
			i += 2;
		else if (!strncmp(path + i, "/./", 3) && i + 3 <= end)
			i += 2;
		else if (i + 2 == end && !strncmp(path + i, "/.", 2)) {
			path[i + 1] = '/';
			i += 1;
		} else if (!strncmp(path + i, "/../", 4) && i + 4 <= end) {
			i += 3;
			while (o > 0 && out[--o] != '/')
				;
		} else if (i + 3 == end && !strncmp(path + i, "/..", 3)) {
			i += 2;
			path[i] = '/';
			while (o > 0 && out[--o] != '/')
				;
		} else if ((i + 1 == end && path[i] == '.') ||
		           (i + 2 == end && !strncmp(path + i, "..", 2))) {
			i = end;
		} else {
			if (path[i] == '/')
				out[o++] = path[i++];
			while (i < end && path[i] != '/')
				out[o++] = path[i++];
		}
	}
	strcpy(out + o, path + end);
	strcpy(path, out);
	acrt__free(out);
}

/* Resolves ref against the absolute URI base; returns a new string. */
char *
acrt__schema_uri_resolve(const char *base, const char *ref)
{
	size_t rl = strlen(ref), bl = strlen(base);
	char *r = acrt__malloc(bl + rl + 4);
	if (r == NULL)
		return NULL;
	if (acrt__schema_uri_scheme_len(ref)) {
		strcpy(r, ref);
		remove_dots(r + acrt__schema_uri_scheme_len(r) + 1);
		return r;
	}
	size_t sl = acrt__schema_uri_scheme_len(base);
	size_t auth_end = sl + 1; /* after "scheme:" and "//authority" */
	if (!strncmp(base + sl + 1, "//", 2))
		auth_end = sl + 3 + strcspn(base + sl + 3, "/?#");
	size_t path_end = auth_end + strcspn(base + auth_end, "?#");
	size_t nofrag = strcspn(base, "#");
	if (rl == 0 || ref[0] == '#') {
		memcpy(r, base, nofrag);
		strcpy(r + nofrag, ref);
	} else if (!strncmp(ref, "//", 2)) {
		memcpy(r, base, sl + 1);
		strcpy(r + sl + 1, ref);
		remove_dots(r + sl + 3 + strcspn(r + sl + 3, "/?#"));
	} else if (ref[0] == '?') {
		memcpy(r, base, path_end);
		strcpy(r + path_end, ref);
	} else if (ref[0] == '/') {
		memcpy(r, base, auth_end);
		strcpy(r + auth_end, ref);
		remove_dots(r + auth_end);
	} else {
		size_t keep = path_end;
		while (keep > auth_end && base[keep - 1] != '/')
			keep--;
		memcpy(r, base, keep);
		size_t o = keep;
		if (keep == auth_end && auth_end > sl + 1)
			r[o++] = '/';
		strcpy(r + o, ref);
		remove_dots(r + auth_end);
	}
	return r;
}
