/*
 * fuzz_lock.c - libFuzzer target for reading build.lock (src/blueprint/lock.c):
 * one fixed blueprint (LOCK_ARCH, LOCK_DEPLOY) is loaded once; each input is
 * its build.lock, compared with acrt__lock_check. Any bytes must give OK,
 * drift lines or an error, never a crash or a leak. docs/FUZZING.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/blueprint.h"
#include "blueprint/lock.h"
#include "capability/chain.h"
#include "components/registry.h"
#include "fuzz_common.h"

/* The blueprint of tests/fuzz/corpus/lock/ (its seeds were made from it with
 * `acrt lock`): two chains with capabilities, batching and a deployment. */
#define LOCK_ARCH                                                                                  \
	"schema_version: \"1.0.0\"\n"                                                              \
	"system:\n"                                                                                \
	"  name: fuzzlock\n"                                                                       \
	"  components:\n"                                                                          \
	"    - name: src\n"                                                                        \
	"      type: Source\n"                                                                     \
	"      config: {generator: sequence, count: 1}\n"                                          \
	"    - name: shape\n"                                                                      \
	"      type: Transformer\n"                                                                \
	"      config: {set: {a: 1}}\n"                                                            \
	"      capabilities: {retry: {max_attempts: 2}, timeout: {ms: 100}}\n"                     \
	"    - name: out\n"                                                                        \
	"      type: Sink\n"                                                                       \
	"      config: {sink: \"null\"}\n"                                                         \
	"  bindings:\n"                                                                            \
	"    - {from: src.output, to: shape.input}\n"                                              \
	"    - {from: shape.output, to: out.input}\n"
#define LOCK_DEPLOY                                                                                \
	"schema_version: \"1.0.0\"\n"                                                              \
	"system_name: fuzzlock\n"                                                                  \
	"runtime: {buffers: {default_size: 64}}\n"

static acrt__blueprint *bp;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	acrt__components_register();
	acrt__caps_register();
	const char *ap = fuzz_write(0, "architecture.yaml", LOCK_ARCH, strlen(LOCK_ARCH));
	const char *dp = fuzz_write(1, "deployment.yaml", LOCK_DEPLOY, strlen(LOCK_DEPLOY));
	acrt__diag diag = {0};
	if (acrt__blueprint_load(ap, dp, &bp, &diag) != 0) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		abort();
	}
	acrt__diag_free(&diag);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write(2, ACRT__LOCK_FILE, data, size);
	acrt__diag diag = {0};
	int rc = acrt__lock_check(bp, &diag);
	/* The outcome and the lines agree. */
	FUZZ_ASSERT(rc != ACRT__LOCK_MISSING);
	FUZZ_ASSERT((rc == ACRT__LOCK_OK) == (diag.n == 0));
	acrt__diag_free(&diag);
	return 0;
}
