/*
 * graph.c - `acrt graph [DIR] [--format dot|mermaid]` (SPEC section 6).
 */
#include "cli/cli.h"

int
acrt__cmd_graph(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return acrt__cli_usage_error("'graph' is not available in this release");
}
