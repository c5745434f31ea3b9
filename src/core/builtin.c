/*
 * builtin.c - the lookups of the built-in component type catalogue (see
 * builtin.h). The catalogue is a borrowed table, registered once before any
 * thread starts (components/registry.c owns it); nothing here locks, since
 * the table never changes while other threads read it.
 */
#include "core/builtin.h"

#include <string.h>

static const acrt__builtin *catalogue;
static size_t n_catalogue;

void
acrt__builtins_register(const acrt__builtin *table, size_t n)
{
	catalogue = n > 0 ? table : NULL;
	n_catalogue = table != NULL ? n : 0;
}

const acrt__builtin *
acrt__builtin_find(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; i < n_catalogue; i++)
		if (strcmp(catalogue[i].type, type) == 0)
			return &catalogue[i];
	return NULL;
}

const acrt__builtin *
acrt__builtin_at(size_t i)
{
	return i < n_catalogue ? &catalogue[i] : NULL;
}
