/*
 * check.c - typed access to YAML nodes that reports what is wrong and where:
 * unknown keys (with a hint), wrong value types, out-of-range integers. Every
 * blueprint stage reads its mappings through these, so messages look alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"

int
acrt__err(acrt__bpload *L, const acrt__ynode *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	acrt__mark top = {L->bp->arch_path, 1, 1};
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	L->errors++;
	return acrt__diag_add(L->diag, at ? &at->mark : &top, "%s", msg);
}

int
acrt__err_type(acrt__bpload *L, const acrt__ynode *n, const char *key, const char *what)
{
	char got[96];
	acrt__ynode_describe(n, got, sizeof got);
	return acrt__err(L, n, "%s: expected %s, got %s", key, what, got);
}

int
acrt__check_keys(acrt__bpload *L, const acrt__ynode *map, const char *const *allowed,
                 const char *where)
{
	int rc = 0;
	if (!map || map->kind != ACRT__Y_MAP)
		return 0;
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i]->text;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, k);
		if (ok)
			continue;
		char hint[128];
		acrt__hint(hint, sizeof hint, k, allowed, (size_t)-1);
		rc = acrt__err(L, map->keys[i], "unknown key '%s' %s%s", k, where, hint);
	}
	return rc;
}

int
acrt__get_str(acrt__bpload *L, const acrt__ynode *map, const char *key, const char **out)
{
	const acrt__ynode *n = acrt__ynode_get(map, key);
	if (!n || n->kind == ACRT__Y_NULL)
		return 0;
	if (n->kind != ACRT__Y_STR)
		return acrt__err_type(L, n, key, "a string");
	*out = n->text;
	return 1;
}

int
acrt__get_text(acrt__bpload *L, const acrt__ynode *map, const char *key, const char **out)
{
	const acrt__ynode *n = acrt__ynode_get(map, key);
	if (!n || n->kind == ACRT__Y_NULL)
		return 0;
	if (n->kind == ACRT__Y_MAP || n->kind == ACRT__Y_SEQ)
		return acrt__err_type(L, n, key, "a string");
	*out = n->text;
	return 1;
}

int
acrt__get_int(acrt__bpload *L, const acrt__ynode *map, const char *key, int64_t min, int64_t *out)
{
	const acrt__ynode *n = acrt__ynode_get(map, key);
	if (!n || n->kind == ACRT__Y_NULL)
		return 0;
	if (n->kind != ACRT__Y_INT)
		return acrt__err_type(L, n, key, "an integer");
	if (n->i < min)
		return acrt__err(L, n, "%s must be >= %lld", key, (long long)min);
	*out = n->i;
	return 1;
}

int
acrt__get_bool(acrt__bpload *L, const acrt__ynode *map, const char *key, bool *out)
{
	const acrt__ynode *n = acrt__ynode_get(map, key);
	if (!n || n->kind == ACRT__Y_NULL)
		return 0;
	if (n->kind != ACRT__Y_BOOL)
		return acrt__err_type(L, n, key, "a boolean");
	*out = n->b;
	return 1;
}

int
acrt__get_map(acrt__bpload *L, const acrt__ynode *map, const char *key, const acrt__ynode **out)
{
	const acrt__ynode *n = acrt__ynode_get(map, key);
	if (!n || n->kind == ACRT__Y_NULL)
		return 0;
	if (n->kind != ACRT__Y_MAP)
		return acrt__err_type(L, n, key, "a mapping");
	*out = n;
	return 1;
}
