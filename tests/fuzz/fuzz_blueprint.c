/*
 * fuzz_blueprint.c - libFuzzer target for the blueprint loader: any bytes as
 * architecture.yaml must give either a blueprint or diagnostics, never a crash,
 * a leak or undefined behaviour. Not part of `make test`; run it with
 *   bash tests/fuzz/run.sh [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "blueprint/blueprint.h"
#include "capability/chain.h"
#include "components/registry.h"

static char dir[] = "/tmp/acrt-fuzz-XXXXXX";
static char path[64];

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
	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof path, "%s/architecture.yaml", dir);
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	acrt__diag diag = {0};
	acrt__blueprint *bp = NULL;
	if (acrt__blueprint_load(path, NULL, &bp, &diag) == 0)
		acrt__blueprint_free(bp);
	acrt__diag_free(&diag);
	return 0;
}
