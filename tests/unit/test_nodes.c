/*
 * test_nodes.c - unit tests of placement (src/blueprint/nodes.c): nodes: and
 * runtime.transport read into typed fields; picking and narrowing to a node
 * (the node's components first, its own bindings, then its remote ones, the
 * start order over its components, the store name and run directory); and
 * every allocation of load + pick + narrow failed in turn, with nothing
 * leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blueprint/blueprint.h"
#include "capability/chain.h"
#include "components/registry.h"
#include "core/common.h"

static char dir[256];

static const char arch[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: shop\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {generator: sequence, count: 3}}\n"
    "    - {name: shape, type: Transformer}\n"
    "    - {name: out, type: Sink, config: {sink: \"null\"}}\n"
    "    - {name: side, type: Sink, config: {sink: \"null\"}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: [shape.input, side.input]}\n"
    "    - {from: shape.output, to: out.input}\n";

static const char deploy[] = "nodes:\n"
                             "  ingest: {components: [gen, side]}\n"
                             "  work: {components: [shape, out]}\n"
                             "runtime:\n"
                             "  transport:\n"
                             "    kind: nats\n"
                             "    url: \"tls://${ACRT_TEST_NODES_TOKEN}@127.0.0.1:4222\"\n"
                             "    tls: {ca_file: ca.pem}\n";

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
	snprintf(dir, sizeof dir, "/tmp/acrt_nodes_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	setenv("ACRT_TEST_NODES_TOKEN", "s3cret", 1);
	put("architecture.yaml", arch);
	put("deployment.yaml", deploy);
	put("ca.pem", "-----BEGIN CERTIFICATE-----\n");
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
test_parse(void **state)
{
	(void)state;
	acrt__blueprint *bp = load();
	assert_int_equal(bp->nodes.n, 2);
	assert_string_equal(bp->nodes.names[0], "ingest");
	assert_string_equal(acrt__blueprint_comp_node(bp, 2), "work");
	assert_string_equal(bp->transport.kind, "nats");
	assert_string_equal(bp->transport.url, "tls://s3cret@127.0.0.1:4222");
	assert_true(bp->transport.tls);
	assert_non_null(strstr(bp->transport.tls_ca_file, "/ca.pem"));
	assert_null(bp->nodes.self);
	char *rd = acrt__blueprint_run_dir(bp);
	assert_non_null(strstr(rd, "/.acrt"));
	assert_null(strstr(rd, "/.acrt/"));
	acrt__free(rd);
	acrt__blueprint_free(bp);
}

static void
test_pick_narrow(void **state)
{
	(void)state;
	char err[256];
	acrt__blueprint *bp = load();
	assert_int_equal(acrt__blueprint_node_pick(bp, "nope", err, sizeof err), -1);
	assert_non_null(strstr(err, "no such node (the deployment's nodes: ingest, work)"));
	assert_int_equal(acrt__blueprint_node_pick(bp, "work", err, sizeof err), 0);
	assert_string_equal(bp->state.store_name, "shop.work");
	char *rd = acrt__blueprint_run_dir(bp);
	assert_non_null(strstr(rd, "/.acrt/work"));
	acrt__free(rd);
	assert_int_equal(bp->n_comps, 4); /* picked, not narrowed yet */
	assert_int_equal(acrt__blueprint_node_narrow(bp), 0);
	assert_int_equal(bp->n_comps, 2);
	assert_string_equal(bp->comps[0].name, "shape");
	assert_string_equal(bp->comps[1].name, "out");
	assert_int_equal(bp->n_bindings, 1); /* shape -> out */
	assert_int_equal(bp->bindings[0].from_comp, 0);
	assert_int_equal(bp->bindings[0].to_comp, 1);
	assert_int_equal(bp->nodes.n_remote, 1); /* gen -> shape */
	const acrt__binding_spec *r = &bp->bindings[1];
	assert_string_equal(bp->comps[r->from_comp].name, "gen");
	assert_int_equal(r->to_comp, 0);
	assert_true(acrt__blueprint_crosses(bp, r));
	assert_string_equal(acrt__blueprint_comp_node(bp, r->from_comp), "ingest");
	assert_int_equal(bp->topo[0], 0);
	assert_int_equal(bp->topo[1], 1);
	assert_int_equal(acrt__blueprint_find(bp, "gen"), -1); /* not this node's */
	acrt__blueprint_free(bp);                              /* frees all 4 */
}

static void
test_faults(void **state)
{
	(void)state;
	int n;
	for (n = 1; n < 5000; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__diag diag = {0};
		acrt__blueprint *bp = NULL;
		char err[256];
		acrt__alloc_fail_after(n);
		int rc = acrt__blueprint_load(dir, NULL, &bp, &diag);
		if (rc == 0 && acrt__blueprint_node_pick(bp, "ingest", err, sizeof err) == 0)
			rc = acrt__blueprint_node_narrow(bp) == 0 ? 1 : 0;
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		acrt__blueprint_free(bp);
		acrt__diag_free(&diag);
		assert_int_equal(acrt__alloc_bytes(), before);
		if (!injected) {
			assert_int_equal(rc, 1);
			break;
		}
	}
	assert_true(n < 5000);
}

int
main(void)
{
	acrt__components_register();
	acrt__caps_register();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_pick_narrow),
	    cmocka_unit_test(test_faults),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
