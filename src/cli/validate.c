/*
 * validate.c - `acrt validate [DIR|FILE]...`: loads each blueprint with the
 * same code `acrt run` uses, prints every error, exits 2 if any is invalid.
 */
#include <stdio.h>

#include "cli/cli.h"

int
acrt__cmd_validate(int argc, char **argv)
{
	char *dflt[] = {"."};
	if (argc == 0) {
		argc = 1;
		argv = dflt;
	}
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-')
			return acrt__cli_usage_error("validate: unknown option '%s'", argv[i]);
		acrt__blueprint *bp = acrt__cli_load_notes(argv[i], NULL);
		if (bp == NULL) {
			rc = 2;
			continue;
		}
		size_t cross = 0; /* nodes: (docs/MULTINODE.md) */
		for (size_t b = 0; b < bp->n_bindings; b++)
			cross += acrt__blueprint_crosses(bp, &bp->bindings[b]);
		if (bp->nodes.n > 0)
			printf("%s: ok (system '%s': %zu components, %zu bindings, %zu nodes, %zu "
			       "bindings across nodes)\n",
			       argv[i], bp->name, bp->n_comps, bp->n_bindings, bp->nodes.n, cross);
		else
			printf("%s: ok (system '%s': %zu components, %zu bindings)\n", argv[i],
			       bp->name, bp->n_comps, bp->n_bindings);
		acrt__blueprint_free(bp);
	}
	return rc;
}
