/*
 * dialect.c - the keys of the original Autocoder blueprint language that acrt
 * accepts but does not execute (docs/AUTOCODER.md). Each is accepted where the
 * original puts it (top level, system, component, port, binding) and reported
 * once per occurrence as a note, a non-fatal diagnostic that says what acrt
 * does with it. A key that is neither acrt's nor the dialect's at that place
 * stays an error, with a "did you mean" drawn from both sets.
 *
 * Only what ../shared/design/autocoder-dialect.md documents is listed here;
 * the table in docs/AUTOCODER.md mirrors these tables.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"

typedef struct dialect_key {
	const char *key;
	const char *note; /* the note's text after "KEY: " */
} dialect_key;

static const dialect_key top_keys[] = {
    {"metadata", "kept for documentation, not used"},
    {"policy", "not enforced at run time"},
    {NULL, NULL},
};

static const dialect_key sys_keys[] = {
    {"configuration", "not used (settings go in each component's config)"},
    {"deployment", "not used (acrt reads deployment.yaml)"},
    {"validation", "not used (performance targets and test data of the original)"},
    {"policies", "not enforced at run time"},
    {"runtime", "not used (acrt reads runtime: from deployment.yaml)"},
    {NULL, NULL},
};

static const dialect_key comp_keys[] = {
    {"processing_mode", "not used (acrt processes each event as it arrives; see batching)"},
    {"properties", "not checked"},
    {"contracts", "not checked"},
    {"resources", "not enforced"},
    {"dependencies", "not used"},
    {"observability", "not used (acrt's metrics and logs are always on)"},
    {NULL, NULL},
};

static const dialect_key port_keys[] = {
    {"required", "not checked (input ports are always bound)"},
    {"flow_type", "not used"},
    {"batch_size", "not used (see batching)"},
    {"type", "not used (see schema)"},
    {NULL, NULL},
};

static const dialect_key binding_keys[] = {
    {"transformation", "not executed"},
    {"condition", "not evaluated: every event goes through (use a Filter)"},
    {"error_handling", "not used (see the retry and dead_letter capabilities)"},
    {"qos", "not enforced"},
    {NULL, NULL},
};

static const dialect_key *
table(acrt__dialect_place place)
{
	switch (place) {
	case ACRT__AT_TOP:
		return top_keys;
	case ACRT__AT_SYSTEM:
		return sys_keys;
	case ACRT__AT_COMPONENT:
		return comp_keys;
	case ACRT__AT_PORT:
		return port_keys;
	case ACRT__AT_BINDING:
		return binding_keys;
	}
	return top_keys;
}

int
acrt__note(acrt__bpload *L, const acrt__ynode *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	acrt__mark top = {L->bp->arch_path, 1, 1};
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	L->dialect = true;
	if (acrt__diag_note(L->diag, at ? &at->mark : &top, "%s", msg) < 0)
		return acrt__err(L, at, "out of memory");
	return 0;
}

int
acrt__dialect_keys(acrt__bpload *L, const acrt__ynode *map, const char *const *allowed,
                   acrt__dialect_place place, const char *where)
{
	const dialect_key *t = table(place);
	const char *cands[64];
	size_t nc = 0;
	int rc = 0;
	if (!map || map->kind != ACRT__Y_MAP)
		return 0;
	for (const char *const *a = allowed; *a && nc < 64; a++)
		cands[nc++] = *a;
	for (const dialect_key *d = t; d->key && nc < 64; d++)
		cands[nc++] = d->key;
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i]->text;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, k);
		if (ok)
			continue;
		const dialect_key *d = t;
		while (d->key && strcmp(d->key, k))
			d++;
		if (d->key) {
			if (acrt__note(L, map->keys[i], "%s%s: %s",
			               place == ACRT__AT_BINDING ? "binding " : "", k, d->note) < 0)
				rc = -1;
			continue;
		}
		char hint[128];
		acrt__hint(hint, sizeof hint, k, cands, nc);
		rc = acrt__err(L, map->keys[i], "unknown key '%s' %s%s", k, where, hint);
	}
	return rc;
}
