/*
 * run.c - `acrt run`: load, validate, configure logging, run the system.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/runtime.h"
#include "observe/log.h"

int
acrt__cmd_run(int argc, char **argv)
{
	const char *path = NULL, *deployment = NULL;
	acrt__run_opts opts = {0};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			opts.quiet = true;
		} else if (strcmp(a, "--deployment") == 0 || strcmp(a, "-d") == 0) {
			if (++i == argc)
				return acrt__cli_usage_error("run: %s needs a file", a);
			deployment = argv[i];
		} else if (strncmp(a, "--deployment=", 13) == 0) {
			deployment = a + 13;
		} else if (strncmp(a, "--resume", 8) == 0 || strcmp(a, "--watch") == 0 ||
		           strcmp(a, "--update-lock") == 0 || strncmp(a, "--node", 6) == 0) {
			return acrt__cli_usage_error("run: '%s' is not available in this release",
			                             a);
		} else if (a[0] == '-') {
			return acrt__cli_usage_error("run: unknown option '%s'", a);
		} else if (path == NULL) {
			path = a;
		} else {
			return acrt__cli_usage_error("run: one blueprint at a time ('%s' and '%s')",
			                             path, a);
		}
	}
	if (path == NULL)
		path = "architecture.yaml";

	acrt__blueprint *bp = acrt__cli_load(path, deployment);
	if (bp == NULL)
		return 2;
	acrt__log_config(bp->log_level, bp->log_format);
	int rc = acrt__runtime_run(bp, &opts);
	if (opts.abandoned) { /* a hung setup() may still read the blueprint: no frees */
		fflush(NULL);
		_exit(rc);
	}
	acrt__blueprint_free(bp);
	return rc;
}
