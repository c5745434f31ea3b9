/*
 * main.c - entry point of the `acrt` tool: dispatches to a subcommand.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "acrt/acrt.h"
#include "capability/chain.h"
#include "cli/cli.h"
#include "components/registry.h"

int
acrt__cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("acrt: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see 'acrt help')\n", stderr);
	return 2;
}

int
acrt__cli_deployment_opt(const char *cmd, int argc, char **argv, int *i, const char **file)
{
	const char *a = argv[*i];
	if (strncmp(a, "--deployment=", 13) == 0) {
		*file = a + 13;
		return 1;
	}
	if (strcmp(a, "--deployment") != 0 && strcmp(a, "-d") != 0)
		return 0;
	if (*i + 1 == argc) {
		(void)acrt__cli_usage_error("%s: %s needs a file", cmd, a);
		return -1;
	}
	*file = argv[++*i];
	return 1;
}

static acrt__blueprint *
load(const char *path, const char *deployment, bool notes)
{
	acrt__diag diag = {0};
	acrt__blueprint *bp = NULL;
	int rc = acrt__blueprint_load(path, deployment, &bp, &diag);
	for (size_t i = 0; notes && i < diag.n_notes; i++)
		fprintf(stderr, "%s\n", diag.notes[i]);
	if (rc != 0) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		if (diag.n == 0)
			fprintf(stderr, "%s: invalid blueprint\n", path);
		bp = NULL;
	}
	acrt__diag_free(&diag);
	return bp;
}

acrt__blueprint *
acrt__cli_load(const char *path, const char *deployment)
{
	return load(path, deployment, false);
}

acrt__blueprint *
acrt__cli_load_notes(const char *path, const char *deployment)
{
	return load(path, deployment, true);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
    {"run", acrt__cmd_run},         {"validate", acrt__cmd_validate},
    {"help", acrt__cmd_help},       {"schema", acrt__cmd_schema},
    {"graph", acrt__cmd_graph},     {"lock", acrt__cmd_lock},
    {"top", acrt__cmd_top},         {"checkpoints", acrt__cmd_checkpoints},
    {"tap", acrt__cmd_tap},         {"up", acrt__cmd_up},
    {"test", acrt__cmd_test},       /* test.c: unit tests of a blueprint */
    {"convert", acrt__cmd_convert}, /* convert.c: a dialect blueprint's native form */
};

int
main(int argc, char **argv)
{
	acrt__components_register(); /* before any thread: core/builtin.h */
	acrt__caps_register();       /* blueprint validation's capability check */
	if (argc < 2)
		return acrt__cmd_help(0, NULL) == 0 ? 2 : 2;
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
	    strcmp(cmd, "version") == 0) {
		printf("acrt %s (component ABI %d.%d)\n", ACRT_VERSION_STRING, ACRT_ABI_MAJOR,
		       ACRT_ABI_MINOR);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return acrt__cmd_help(argc - 2, argv + 2);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(argc - 2, argv + 2);
	return acrt__cli_usage_error("unknown command '%s'", cmd);
}
