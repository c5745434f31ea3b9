/*
 * cli.h - the subcommands of the `acrt` tool, one file each. Each takes the
 * arguments after its name and returns the process exit code (SPEC section 6:
 * 0 success, 1 runtime failure, 2 usage or invalid blueprint).
 */
#ifndef ACRT_CLI_H
#define ACRT_CLI_H

#include "blueprint/blueprint.h"

int acrt__cmd_run(int argc, char **argv);
int acrt__cmd_validate(int argc, char **argv);
int acrt__cmd_help(int argc, char **argv);
int acrt__cmd_schema(int argc, char **argv);
int acrt__cmd_graph(int argc, char **argv);
int acrt__cmd_lock(int argc, char **argv);
int acrt__cmd_top(int argc, char **argv);
int acrt__cmd_checkpoints(int argc, char **argv);
int acrt__cmd_tap(int argc, char **argv);

/* Loads a blueprint and prints every diagnostic to stderr. NULL on failure. */
acrt__blueprint *acrt__cli_load(const char *path, const char *deployment);
/* Prints "acrt: " + message to stderr and returns 2. */
int acrt__cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* ACRT_CLI_H */
