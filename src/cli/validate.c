/*
 * validate.c - `acrt validate [--deployment F] [DIR|FILE]...`: loads each
 * blueprint with the same code `acrt run` uses (with deployment F instead of
 * the one beside it), prints every error, exits 2 if any is invalid.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* Validates one blueprint: 0, or 2 (its errors printed). */
static int
validate_one(const char *path, const char *deployment)
{
	acrt__blueprint *bp = acrt__cli_load_notes(path, deployment);
	if (bp == NULL)
		return 2;
	size_t cross = 0; /* nodes: (docs/MULTINODE.md) */
	for (size_t b = 0; b < bp->n_bindings; b++)
		cross += acrt__blueprint_crosses(bp, &bp->bindings[b]);
	if (bp->nodes.n > 0)
		printf("%s: ok (system '%s': %zu components, %zu bindings, %zu nodes, %zu "
		       "bindings across nodes)\n",
		       path, bp->name, bp->n_comps, bp->n_bindings, bp->nodes.n, cross);
	else
		printf("%s: ok (system '%s': %zu components, %zu bindings)\n", path, bp->name,
		       bp->n_comps, bp->n_bindings);
	acrt__blueprint_free(bp);
	return 0;
}

int
acrt__cmd_validate(int argc, char **argv)
{
	const char *deployment = NULL;
	int n = 0, rc = 0;
	int d;
	for (int i = 0; i < argc; i++) { /* options first, wherever they stand */
		const char *a = argv[i];
		if ((d = acrt__cli_deployment_opt("validate", argc, argv, &i, &deployment)) != 0) {
			if (d < 0)
				return 2;
		} else if (a[0] == '-') {
			return acrt__cli_usage_error("validate: unknown option '%s'", a);
		} else {
			n++;
		}
	}
	if (deployment != NULL && n > 1)
		return acrt__cli_usage_error("validate: --deployment goes with one blueprint");
	if (n == 0)
		return validate_one(".", deployment);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *file = NULL; /* --deployment and its file: skipped */
		if (acrt__cli_deployment_opt("validate", argc, argv, &i, &file) == 0 &&
		    a[0] != '-' && validate_one(a, deployment) != 0)
			rc = 2;
	}
	return rc;
}
