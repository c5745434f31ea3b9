/*
 * test_testcut.c - unit tests of `acrt test`'s layers below the CLI: test
 * files read into typed tests with exact JSON text (src/blueprint/testfile.c),
 * checked against the blueprint with file:line:col messages; a blueprint cut
 * down to a sub-graph with its test endpoints (testcut.c) and run by the
 * ordinary runtime to end of stream (runtime/testpoint.c); and every
 * allocation of read + check + cut failed in turn, with nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blueprint/blueprint.h"
#include "blueprint/testfile.h"
#include "capability/chain.h"
#include "components/jq.h"
#include "components/registry.h"
#include "core/common.h"
#include "core/log.h"
#include "runtime/runtime.h"
#include "runtime/testpoint.h"

static char dir[256], tfile[300];

static const char arch[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: shop\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {generator: sequence, count: 3}}\n"
    "    - {name: gate, type: Filter, config: {where: '.n > 0'}}\n"
    "    - {name: shape, type: Transformer, config: {set: {ok: true}}}\n"
    "    - {name: out, type: Sink, config: {sink: \"null\"}}\n"
    "    - {name: rej, type: Sink, config: {sink: \"null\"}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: gate.input}\n"
    "    - {from: gate.output, to: shape.input}\n"
    "    - {from: gate.rejected, to: rej.input}\n"
    "    - {from: shape.output, to: out.input}\n";

static const char deploy[] = "runtime:\n"
                             "  state: {adapter: inmem_ephemeral}\n"
                             "  chaining: false\n";

static const char tests[] = "tests:\n"
                            "  - name: two wired\n"
                            "    components: [gate, shape]\n"
                            "    input:\n"
                            "      gate.input:\n"
                            "        - {n: 12345678901234567890, p: 1.50, s: \"42\", h: 0x1f}\n"
                            "        - {n: 0}\n"
                            "    expect:\n"
                            "      shape.output:\n"
                            "        - jq: '.ok'\n"
                            "        - equals: {jq: 1}\n"
                            "        - contains: {ok: true}\n"
                            "      gate.rejected: []\n"
                            "  - name: one\n"
                            "    component: gate\n"
                            "    order: any\n"
                            "    expect:\n"
                            "      output: [[1, null, false, {}]]\n";

/* For the faults: the same shape without jq, whose compile (libjq's own
 * allocations, milliseconds each) would make every run slow. */
static const char arch_plain[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: shop\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {generator: sequence, count: 3}}\n"
    "    - {name: gate, type: Transformer, config: {set: {g: 1}}}\n"
    "    - {name: shape, type: Transformer, config: {set: {ok: true}}}\n"
    "    - {name: out, type: Sink, config: {sink: \"null\"}}\n"
    "    - {name: rej, type: Sink, config: {sink: \"null\"}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: gate.input}\n"
    "    - {from: gate.output, to: shape.input}\n"
    "    - {from: gate.error, to: rej.input}\n"
    "    - {from: shape.output, to: out.input}\n";

static const char tests_plain[] = "tests:\n"
                                  "  - name: two wired\n"
                                  "    components: [gate, shape]\n"
                                  "    input:\n"
                                  "      gate.input: [{n: 12345678901234567890, p: [1.50]}]\n"
                                  "    expect:\n"
                                  "      shape.output:\n"
                                  "        - jq: '.ok'\n"
                                  "        - equals: {jq: 1}\n"
                                  "      gate.error: []\n"
                                  "  - name: one\n"
                                  "    component: gate\n"
                                  "    order: any\n"
                                  "    expect:\n"
                                  "      output: [[1, null, false, {}]]\n";

static void
put(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/acrt_testcut_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	put("architecture.yaml", arch);
	put("deployment.yaml", deploy);
	put("t.yaml", tests);
	char sub[300];
	snprintf(sub, sizeof sub, "%s/plain", dir);
	if (mkdir(sub, 0755) != 0)
		return -1;
	put("plain/architecture.yaml", arch_plain);
	put("plain/t.yaml", tests_plain);
	snprintf(tfile, sizeof tfile, "%s/t.yaml", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static acrt__blueprint *
load(void)
{
	acrt__diag diag = {0};
	acrt__blueprint *bp = NULL;
	int rc = acrt__blueprint_load(dir, NULL, &bp, &diag);
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.lines[i]);
	acrt__diag_free(&diag);
	assert_int_equal(rc, 0);
	return bp;
}

static void
test_read(void **state)
{
	(void)state;
	acrt__diag d = {0};
	acrt__test_file *f = NULL;
	assert_int_equal(acrt__testfile_load(tfile, &f, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(f->n, 2);
	const acrt__test_case *tc = &f->cases[0];
	assert_string_equal(tc->name, "two wired");
	assert_int_equal(tc->mark.line, 2);
	assert_int_equal(tc->n_comps, 2);
	assert_string_equal(tc->comps[1], "shape");
	assert_int_equal(tc->n_inputs, 1);
	assert_string_equal(tc->inputs[0].comp, "gate");
	assert_string_equal(tc->inputs[0].port, "input");
	assert_int_equal(tc->inputs[0].n, 2);
	/* numbers as written; a quoted scalar stays a string; 0x1f by value */
	assert_string_equal(tc->inputs[0].items[0].json,
	                    "{\"n\":12345678901234567890,\"p\":1.50,\"s\":\"42\",\"h\":31}");
	assert_int_equal(tc->n_expect, 2);
	assert_string_equal(tc->expect[0].items[0].jq, ".ok");
	assert_null(tc->expect[0].items[0].json);
	assert_string_equal(tc->expect[0].items[1].json, "{\"jq\":1}");
	assert_int_equal(tc->expect[0].items[1].mark.line, 11);
	assert_false(tc->expect[0].items[1].contains);
	assert_true(tc->expect[0].items[2].contains);
	assert_string_equal(tc->expect[0].items[2].json, "{\"ok\":true}");
	assert_int_equal(tc->expect[1].n, 0);
	tc = &f->cases[1];
	assert_true(tc->any_order);
	assert_string_equal(tc->expect[0].comp, "gate"); /* PORT alone: the one component */
	assert_string_equal(tc->expect[0].items[0].json, "[1,null,false,{}]");

	acrt__blueprint *bp = load();
	assert_int_equal(acrt__testfile_check(f, bp, acrt__jq_check, &d), 0);
	acrt__blueprint_free(bp);
	acrt__testfile_free(f);
	acrt__diag_free(&d);
}

static void
test_check(void **state)
{
	(void)state;
	put("bad.yaml",
	    "tests:\n"
	    "  - name: x\n"
	    "    components: [gate, shape]\n"
	    "    input: {shape.input: []}\n"
	    "    expect: {gate.output: [], shape.error: [], shape.output: [{jq: '.['}]}\n");
	char path[300];
	snprintf(path, sizeof path, "%s/bad.yaml", dir);
	acrt__diag d = {0};
	acrt__test_file *f = NULL;
	assert_int_equal(acrt__testfile_load(path, &f, &d), 0);
	acrt__blueprint *bp = load();
	assert_int_equal(acrt__testfile_check(f, bp, acrt__jq_check, &d), -1);
	assert_int_equal(d.n, 4);
	char want[512];
	snprintf(want, sizeof want, "%s:4:13: input: 'shape.input' is bound from 'gate'", path);
	assert_non_null(strstr(d.lines[0], want));
	snprintf(want, sizeof want, "%s:5:14: expect: 'gate.output' goes only to components", path);
	assert_non_null(strstr(d.lines[1], want));
	snprintf(want, sizeof want, "%s:5:31: expect: 'shape.error' is not bound", path);
	assert_non_null(strstr(d.lines[2], want));
	snprintf(want, sizeof want, "%s:5:63: jq: ", path);
	assert_non_null(strstr(d.lines[3], want));
	acrt__blueprint_free(bp);
	acrt__testfile_free(f);
	acrt__diag_free(&d);
}

static void
test_cut_run(void **state)
{
	(void)state;
	acrt__blueprint *bp = load();
	assert_true(bp->state.on);
	static const char ev1[] = "{\"n\":12345678901234567890}", ev2[] = "{\"n\":0}";
	acrt__test_feed_ev evs[] = {{"gate.input", ev1, sizeof ev1 - 1},
	                            {"gate.input", ev2, sizeof ev2 - 1}};
	acrt__test_feed feed = {evs, 2};
	acrt__test_got got = {0};
	char err[256];
	char *names[] = {"shape", "gate"};
	assert_int_equal(acrt__blueprint_test_cut(bp, names, 2, &acrt__test_feeder_desc, &feed,
	                                          &acrt__test_capture_desc, &got, err, sizeof err),
	                 0);
	/* the tested in blueprint order, then the feeder and the capture */
	assert_int_equal(bp->n_comps, 4);
	assert_string_equal(bp->comps[0].name, "gate");
	assert_string_equal(bp->comps[1].name, "shape");
	assert_ptr_equal(bp->comps[2].desc, &acrt__test_feeder_desc);
	assert_int_equal(bp->comps[2].n_outputs, 1);
	assert_string_equal(bp->comps[2].outputs[0].name, "gate.input");
	assert_ptr_equal(bp->comps[3].desc, &acrt__test_capture_desc);
	assert_int_equal(bp->comps[3].n_inputs, 2);
	assert_string_equal(bp->comps[3].inputs[0].name, "gate.rejected");
	assert_string_equal(bp->comps[3].inputs[1].name, "shape.output");
	assert_int_equal(bp->n_bindings, 4); /* gate->shape, feed->gate, 2 captured */
	assert_false(bp->state.on);
	assert_int_equal(bp->topo[0], 2); /* the feeder starts */
	assert_int_equal(acrt__blueprint_find(bp, "gen"), -1);

	acrt__test_got_port ports[] = {{.port = bp->comps[3].inputs[0].name},
	                               {.port = bp->comps[3].inputs[1].name}};
	got.ports = ports;
	got.n = 2;
	acrt__log_config(ACRT_LOG_WARN, ACRT__LOG_FORMAT_TEXT);
	assert_int_equal(acrt__runtime_run(bp, NULL), 0);
	assert_int_equal(ports[0].n, 1);
	assert_string_equal(ports[0].texts[0], "{\"n\":0}");
	assert_int_equal(ports[1].n, 1);
	assert_string_equal(ports[1].texts[0], "{\"n\":12345678901234567890,\"ok\":true}");
	acrt__test_got_clear(&got);
	acrt__blueprint_free(bp);
}

/* jq's compile allocates with malloc, not ours, and takes milliseconds */
static int
no_jq(const char *prog, char *err, size_t errlen)
{
	(void)prog;
	(void)err;
	(void)errlen;
	return 0;
}

static void
test_faults(void **state)
{
	(void)state;
	char *names[] = {"gate", "shape"}, pdir[300], pfile[320];
	snprintf(pdir, sizeof pdir, "%s/plain", dir);
	snprintf(pfile, sizeof pfile, "%s/t.yaml", pdir);
	int n;
	for (n = 1; n < 5000; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__diag diag = {0};
		acrt__blueprint *bp = NULL;
		acrt__test_file *f = NULL;
		acrt__test_feed feed = {0};
		acrt__test_got got = {0};
		char err[256];
		/* the blueprint's own load is failed in turn by test_faultsim */
		int rc = acrt__blueprint_load(pdir, NULL, &bp, &diag);
		acrt__alloc_fail_after(n);
		if (rc == 0 && acrt__testfile_load(pfile, &f, &diag) == 0 &&
		    acrt__testfile_check(f, bp, no_jq, &diag) == 0)
			rc = acrt__blueprint_test_cut(bp, names, 2, &acrt__test_feeder_desc, &feed,
			                              &acrt__test_capture_desc, &got, err,
			                              sizeof err) == 0
			         ? 1
			         : 0;
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		acrt__testfile_free(f);
		acrt__blueprint_free(bp);
		acrt__diag_free(&diag);
		assert_int_equal(acrt__alloc_bytes(), before);
		if (!injected) {
			assert_int_equal(rc, 1);
			break;
		}
	}
	assert_true(n < 5000);
	printf("faults: %d allocation points of read + check + cut\n", n - 1);
}

int
main(void)
{
	acrt__components_register();
	acrt__caps_register();
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(test_read),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_cut_run),
	    cmocka_unit_test(test_faults),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
