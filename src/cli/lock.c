/*
 * lock.c - `acrt lock [DIR|FILE] [--deployment F]` (SPEC sections 3 and 6):
 * writes build.lock beside architecture.yaml. Format: docs/CLI.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/lock.h"
#include "cli/cli.h"

int
acrt__cmd_lock(int argc, char **argv)
{
	const char *path = NULL, *deployment = NULL;
	int d;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((d = acrt__cli_deployment_opt("lock", argc, argv, &i, &deployment)) != 0) {
			if (d < 0)
				return 2;
		} else if (a[0] == '-') {
			return acrt__cli_usage_error("lock: unknown option '%s'", a);
		} else if (path == NULL) {
			path = a;
		} else {
			return acrt__cli_usage_error(
			    "lock: one blueprint at a time ('%s' and '%s')", path, a);
		}
	}
	if (path == NULL)
		path = ".";

	acrt__blueprint *bp = acrt__cli_load(path, deployment);
	if (bp == NULL)
		return 2;
	acrt__diag diag = {0};
	int rc = acrt__lock_write(bp, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.lines[i]);
	acrt__diag_free(&diag);
	if (rc == 0) {
		char *lp = acrt__lock_path(bp);
		printf("%s: written (%zu components)\n", lp ? lp : ACRT__LOCK_FILE, bp->n_comps);
		acrt__free(lp);
	}
	acrt__blueprint_free(bp);
	return rc == 0 ? 0 : 1;
}
