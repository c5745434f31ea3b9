/*
 * fuzz_blueprint.c - libFuzzer target for the blueprint loader: any bytes as
 * architecture.yaml, optionally followed by a line `%%%%` and a
 * deployment.yaml, must give either a blueprint or diagnostics, never a
 * crash, a leak or undefined behaviour. docs/FUZZING.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "blueprint/blueprint.h"
#include "capability/chain.h"
#include "components/registry.h"
#include "fuzz_common.h"

/* Once, before the first input: the built-in types and the capability check
 * that the loader reads (core/builtin.h, blueprint.h). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	acrt__components_register();
	acrt__caps_register();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *arch, *dep;
	size_t an, dn;
	fuzz_split(data, size, &arch, &an, &dep, &dn);
	const char *ap = fuzz_write(0, "architecture.yaml", arch, an);
	const char *dp = NULL;
	if (dep != NULL)
		dp = fuzz_write(1, "deployment.yaml", dep, dn);
	else
		unlink(fuzz_write(1, "deployment.yaml", "", 0));
	acrt__diag diag = {0};
	acrt__blueprint *bp = NULL;
	if (acrt__blueprint_load(ap, dp, &bp, &diag) == 0)
		acrt__blueprint_free(bp);
	acrt__diag_free(&diag);
	return 0;
}
