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
int acrt__cmd_up(int argc, char **argv);
int acrt__cmd_test(int argc, char **argv);
int acrt__cmd_convert(int argc, char **argv); /* convert.c: docs/AUTOCODER.md */
/* `acrt help test` (test.c). */
extern const char acrt__test_help[];

/* Loads a blueprint and prints every diagnostic to stderr. NULL on failure. */
acrt__blueprint *acrt__cli_load(const char *path, const char *deployment);
/* The same, printing the notes too (docs/AUTOCODER.md): validate and run. */
acrt__blueprint *acrt__cli_load_notes(const char *path, const char *deployment);
/* Whether argv[*i] is `--deployment F`, `-d F` or `--deployment=F` (every
 * command that loads a blueprint takes it): 1 with *file set and *i past it,
 * 0 when it is not, -1 after a usage error for command `cmd` (no file). */
int acrt__cli_deployment_opt(const char *cmd, int argc, char **argv, int *i, const char **file);
/* Prints "acrt: " + message to stderr and returns 2. */
int acrt__cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The run lock of a system directory (runlock.c): one `acrt run` per
 * directory. Takes <blueprint dir>/.acrt/run.lock for the life of the
 * process and removes what a run that was killed left in .acrt. Returns 0 to
 * go on, with *out (NULL when the lock could not be taken for another reason
 * than a holder: warned, the run goes on unguarded), or the exit code (1)
 * after printing why (another run holds it). */
typedef struct acrt__runlock acrt__runlock;
int acrt__runlock_take(const acrt__blueprint *bp, acrt__runlock **out);
/* Removes the lock file (and .acrt when empty), unlocks. NULL is fine. */
void acrt__runlock_release(acrt__runlock *rl);

#endif /* ACRT_CLI_H */
