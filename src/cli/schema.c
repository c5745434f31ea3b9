/*
 * schema.c - `acrt schema check SCHEMA.json [INSTANCE.json|-]...` (SPEC section 6).
 */
#include "cli/cli.h"

int
acrt__cmd_schema(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return acrt__cli_usage_error("'schema' is not available in this release");
}
