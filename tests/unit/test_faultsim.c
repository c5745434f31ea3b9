/*
 * test_faultsim.c - out-of-memory in the runtime, one allocation at a time
 * (SQLite's do_faultsim_test habit): for n = 1, 2, ... the n-th allocation
 * through acrt__malloc fails while a small fan-out system is wired, set up,
 * run and cleaned up. Every run must end cleanly (exit code 0 or 1, no crash,
 * no leak under ASan, no thread left), until n is past the last allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "blueprint/blueprint.h"
#include "harness/runtime.h"
#include "observe/log.h"
#include "testutil.h"

static const char blueprint[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: faults\n"
    "  components:\n"
    "    - {name: src, type: Source, config: {generator: sequence, count: 300}}\n"
    "    - {name: xf, type: Transformer, config: {set: {k: 1}}, replicas: 2}\n"
    "    - {name: a, type: Sink, config: {sink: \"null\"}}\n"
    "    - {name: b, type: Sink, config: {sink: \"null\"}}\n"
    "  bindings:\n"
    "    - {from: src.output, to: xf.input, buffer_size: 8}\n"
    "    - {from: xf.output, to: [a.input, b.input], buffer_size: 8}\n";

static void
test_every_allocation_failure_is_clean(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/architecture.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(blueprint, f);
	fclose(f);

	acrt__diag diag = {0};
	acrt__blueprint *bp = NULL;
	assert_int_equal(acrt__blueprint_load(path, NULL, &bp, &diag), 0);
	acrt__log_config(ACRT_LOG_ERROR + 1, ACRT__LOG_FORMAT_JSON); /* quiet */

	int threads = count_threads();
	int failures = 0, n;
	for (n = 1; n < 2000; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__alloc_fail_after(n);
		acrt__run_opts opts = {.quiet = true};
		int rc = acrt__runtime_run(bp, &opts);
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		assert_true(rc == 0 || rc == 1);
		assert_int_equal(acrt__alloc_bytes(), before); /* everything freed */
		assert_int_equal(count_threads(), threads);    /* nothing left running */
		if (!injected) {
			assert_int_equal(rc, 0); /* no failure injected: a clean run */
			break;
		}
		failures += rc != 0;
	}
	assert_true(n < 2000); /* reached a run without an injected failure */
	assert_true(failures > 0);
	printf("faultsim: %d allocation points, %d runs failed cleanly\n", n - 1, failures);
	acrt__blueprint_free(bp);
	acrt__diag_free(&diag);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_allocation_failure_is_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
