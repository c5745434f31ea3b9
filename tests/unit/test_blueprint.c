/*
 * test_blueprint.c - unit tests of src/blueprint: loading valid blueprints in
 * every accepted shape (defaults, overrides, ${VAR}, fan-out, topological
 * order) and reporting errors at exact file:line:col.
 *
 * Each test writes its YAML into a fresh temporary directory.
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
#include "capability/chain.h"
#include "components/registry.h"

static char tmpdir[256];

static int
setup_dir(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/acrt_bp_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Loads tmpdir (or tmpdir/file); on failure returns NULL and fills d. */
static acrt__blueprint *
load(const char *file, const char *deploy, acrt__diag *d)
{
	char path[512], dpath[512];
	acrt__blueprint *bp = NULL;
	snprintf(path, sizeof path, "%s%s%s", tmpdir, file ? "/" : "", file ? file : "");
	if (deploy)
		snprintf(dpath, sizeof dpath, "%s/%s", tmpdir, deploy);
	int rc = acrt__blueprint_load(path, deploy ? dpath : NULL, &bp, d);
	if (rc == 0)
		assert_non_null(bp);
	else
		assert_null(bp);
	return bp;
}

static acrt__blueprint *
load_ok(const char *file, const char *deploy)
{
	acrt__diag d = {0};
	acrt__blueprint *bp = load(file, deploy, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "unexpected: %s\n", d.lines[i]);
	assert_int_equal(d.n, 0);
	assert_non_null(bp);
	acrt__diag_free(&d);
	return bp;
}

/* Loads, expects failure, and checks that the first error contains `want`. */
static void
expect_error(const char *file, const char *deploy, const char *want)
{
	acrt__diag d = {0};
	acrt__blueprint *bp = load(file, deploy, &d);
	assert_null(bp);
	assert_true(d.n >= 1);
	if (!strstr(d.lines[0], want))
		fail_msg("first error\n  got:  %s\n  want: ...%s...", d.lines[0], want);
	/* Every line is "file:line:col: message". */
	for (size_t i = 0; i < d.n; i++) {
		int line = 0, col = 0;
		const char *p = strstr(d.lines[i], ".yaml:");
		assert_non_null(p);
		assert_int_equal(sscanf(p, ".yaml:%d:%d:", &line, &col), 2);
		assert_true(line >= 1 && col >= 1);
		assert_null(strchr(d.lines[i], '\n'));
	}
	acrt__diag_free(&d);
}

static const acrt__comp_spec *
comp(const acrt__blueprint *bp, const char *name)
{
	long i = acrt__blueprint_find(bp, name);
	assert_true(i >= 0);
	return &bp->comps[i];
}

#define HEAD "schema_version: \"1.0.0\"\nsystem:\n  name: orders\n  components:\n"
#define SRC                                                                                        \
	"    - name: intake\n      type: Source\n      config: {generator: sequence, count: 10}\n"
#define SINK "    - name: out\n      type: Sink\n      config: {sink: \"null\"}\n"
#define BIND_SS "  bindings:\n    - {from: intake.output, to: out.input}\n"

/* ---- Valid blueprints ---------------------------------------------------------- */

static void
test_full_blueprint(void **state)
{
	write_file("architecture.yaml", HEAD
	           "    - name: out\n"
	           "      type: Sink\n"
	           "      config: {sink: file, path: out/orders.jsonl}\n" SRC "    - name: enrich\n"
	           "      type: Transformer\n"
	           "      config: {set: {currency: EUR}}\n"
	           "      inputs: [{name: input, schema: order}]\n"
	           "      outputs: [{name: output}, {name: rejected, schema: {type: object}}]\n"
	           "      capabilities:\n"
	           "        retry: {max_attempts: 3}\n"
	           "      batching: {enabled: true, max_items: 64}\n"
	           "      state: {enabled: true}\n"
	           "      replicas: 3\n"
	           "      description: adds a currency\n"
	           "  bindings:\n"
	           "    - from: intake.output\n"
	           "      to: enrich.input\n"
	           "      buffer_size: 16\n"
	           "    - {from: enrich.output, to: out.input}\n"
	           "schemas:\n"
	           "  order: {type: object, required: [seq]}\n");
	acrt__blueprint *bp = load_ok(NULL, NULL);
	assert_string_equal(bp->name, "orders");
	assert_null(bp->deploy_path);
	assert_true(bp->dir[0] == '/');
	assert_int_equal(bp->n_comps, 3);
	assert_int_equal(bp->default_buffer, 1024);
	assert_int_equal(bp->startup_timeout_ms, 30000);
	assert_int_equal(bp->shutdown_timeout_ms, 10000);
	assert_int_equal(bp->log_level, 1);
	assert_int_equal(bp->log_format, ACRT__LOG_FORMAT_AUTO);
	assert_true(json_is_object(bp->runtime));

	const acrt__comp_spec *e = comp(bp, "enrich");
	assert_string_equal(e->type, "Transformer");
	assert_null(e->plugin_path);
	assert_int_equal(e->replicas, 3);
	assert_int_equal(e->n_inputs, 1);
	assert_int_equal(e->n_outputs, 2);
	assert_string_equal(e->outputs[1].name, "rejected");
	assert_string_equal(json_string_value(json_object_get(e->inputs[0].schema, "type")),
	                    "object");
	assert_non_null(json_object_get(e->inputs[0].schema, "required"));
	assert_non_null(e->outputs[1].schema);
	assert_null(e->outputs[0].schema);
	assert_non_null(json_object_get(e->capabilities, "retry"));
	assert_true(json_is_true(json_object_get(e->batching, "enabled")));
	assert_true(json_is_true(json_object_get(e->state, "enabled")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(e->config, "set"), "currency")),
	    "EUR");
	assert_int_equal(e->mark.line, 11);
	assert_int_equal(e->mark.col, 7);

	/* Default ports of built-ins. */
	const acrt__comp_spec *s = comp(bp, "intake");
	assert_int_equal(s->n_inputs, 0);
	assert_int_equal(s->n_outputs, 1);
	assert_string_equal(s->outputs[0].name, "output");
	assert_int_equal(s->replicas, 1);
	assert_null(s->capabilities);
	assert_int_equal(json_integer_value(json_object_get(s->config, "count")), 10);
	const acrt__comp_spec *o = comp(bp, "out");
	assert_int_equal(o->n_inputs, 1);
	assert_int_equal(o->n_outputs, 0);

	assert_int_equal(bp->n_bindings, 2);
	assert_int_equal(bp->bindings[0].buffer_size, 16);
	assert_int_equal(bp->bindings[1].buffer_size, 1024);
	assert_string_equal(bp->bindings[1].from_port, "output");
	assert_int_equal(bp->bindings[0].mark.line, 23);

	/* Sources first; ties by declaration order. */
	assert_string_equal(bp->comps[bp->topo[0]].name, "intake");
	assert_string_equal(bp->comps[bp->topo[1]].name, "enrich");
	assert_string_equal(bp->comps[bp->topo[2]].name, "out");
	assert_int_equal(acrt__blueprint_find(bp, "nope"), -1);
	acrt__blueprint_free(bp);
}

static void
test_python_shapes(void **state)
{
	write_file("architecture.yaml",
	           "system:\n  name: legacy\n  components:\n" SRC
	           "    - name: tidy\n      type: Transformer\n      configuration: {drop: [x]}\n"
	           "    - name: a\n      type: Sink\n      config: {sink: stdout}\n"
	           "    - name: b\n      type: Sink\n      config: {sink: null}\n"
	           "    - name: c\n      type: Sink\n"
	           "      inputs: [main, side]\n      config: {sink: \"null\"}\n"
	           "  bindings:\n"
	           "    - from_component: intake\n      to_component: tidy\n"
	           "    - from_component: tidy\n      from_port: output\n"
	           "      to_components: [a, b]\n      to_port: input\n"
	           "    - source: {component: tidy, stream: output}\n"
	           "      target: {component: c, stream: main}\n"
	           "    - {from: tidy, to: c.side}\n");
	acrt__blueprint *bp = load_ok(NULL, NULL);
	assert_int_equal(bp->n_bindings, 5);
	assert_string_equal(bp->comps[bp->bindings[0].from_comp].name, "intake");
	assert_string_equal(bp->bindings[0].from_port, "output");
	assert_string_equal(bp->comps[bp->bindings[0].to_comp].name, "tidy");
	assert_string_equal(bp->bindings[0].to_port, "input");
	assert_string_equal(bp->comps[bp->bindings[1].to_comp].name, "a");
	assert_string_equal(bp->comps[bp->bindings[2].to_comp].name, "b");
	assert_string_equal(bp->bindings[3].to_port, "main");
	assert_string_equal(bp->bindings[4].to_port, "side");
	assert_true(json_is_array(json_object_get(comp(bp, "tidy")->config, "drop")));
	/* A bare YAML null where "null" is allowed becomes the string. */
	assert_string_equal(json_string_value(json_object_get(comp(bp, "b")->config, "sink")),
	                    "null");
	acrt__blueprint_free(bp);
}

static void
test_deployment_and_overrides(void **state)
{
	write_file(
	    "architecture.yaml",
	    HEAD "    - name: intake\n      type: Source\n"
	         "      config: {generator: sequence, count: 10, payload: {a: 1, b: {c: 1}}}\n" SINK
	             BIND_SS);
	write_file("deployment.yaml",
	           "schema_version: \"1.0.0\"\n"
	           "system_name: orders\n"
	           "runtime:\n"
	           "  buffers: {default_size: 64}\n"
	           "  timeouts: {startup_timeout_ms: 500, shutdown_timeout_ms: 250}\n"
	           "  logging: {level: warn, format: json}\n"
	           "  state: {adapter: inmem_ephemeral}\n"
	           "  alerts:\n    - {name: x, metric: y, op: \">\", threshold: 1}\n"
	           "  alert_webhook: http://127.0.0.1:9/x\n"
	           "component_overrides:\n"
	           "  intake: {config: {count: 5, payload: {b: {d: 2}}}, replicas: 2}\n");
	acrt__blueprint *bp = load_ok(NULL, NULL);
	assert_non_null(bp->deploy_path);
	assert_non_null(strstr(bp->deploy_path, "deployment.yaml"));
	assert_int_equal(bp->default_buffer, 64);
	assert_int_equal(bp->bindings[0].buffer_size, 64);
	assert_int_equal(bp->startup_timeout_ms, 500);
	assert_int_equal(bp->shutdown_timeout_ms, 250);
	assert_int_equal(bp->log_level, 2);
	assert_int_equal(bp->log_format, ACRT__LOG_FORMAT_JSON);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(bp->runtime, "state"), "adapter")),
	    "inmem_ephemeral");
	assert_true(json_is_array(json_object_get(bp->runtime, "alerts")));
	const acrt__comp_spec *s = comp(bp, "intake");
	assert_int_equal(s->replicas, 2);
	json_t *want = json_loads("{\"generator\": \"sequence\", \"count\": 5, "
	                          "\"payload\": {\"a\": 1, \"b\": {\"c\": 1, \"d\": 2}}}",
	                          0, NULL);
	assert_true(json_equal(want, s->config));
	json_decref(want);
	acrt__blueprint_free(bp);
}

static void
test_file_path_and_explicit_deployment(void **state)
{
	write_file("my.yaml", HEAD SRC SINK BIND_SS);
	write_file("deployment.yaml", "runtime: {buffers: {default_size: 7}}\n");
	write_file("other.yaml", "runtime: {buffers: {default_size: 9}}\n");
	acrt__blueprint *bp = load_ok("my.yaml", NULL);
	assert_int_equal(bp->default_buffer, 7); /* deployment.yaml beside it */
	acrt__blueprint_free(bp);
	bp = load_ok("my.yaml", "other.yaml");
	assert_int_equal(bp->default_buffer, 9);
	assert_non_null(strstr(bp->deploy_path, "other.yaml"));
	acrt__blueprint_free(bp);
	/* A deployment given as the blueprint is refused with a hint. */
	expect_error("other.yaml", NULL, "other.yaml:1:1: ");
	expect_error("missing.yaml", NULL, "cannot open '");
	expect_error("my.yaml", "nope.yaml", "nope.yaml:1:1: cannot open '");
}

static void
test_env_expansion(void **state)
{
	setenv("ACRT_T_COUNT", "42", 1);
	setenv("ACRT_T_EMPTY", "", 1);
	unsetenv("ACRT_T_UNSET");
	write_file("architecture.yaml", HEAD "    - name: intake\n      type: Source\n"
	                                     "      config:\n"
	                                     "        generator: sequence\n"
	                                     "        count: ${ACRT_T_COUNT}\n"
	                                     "        payload:\n"
	                                     "          s: \"${ACRT_T_COUNT}\"\n"
	                                     "          d: ${ACRT_T_UNSET:-fallback}\n"
	                                     "          e: ${ACRT_T_EMPTY:-was_empty}\n"
	                                     "          m: x-${ACRT_T_COUNT}-y\n"
	                                     "          lit: $${ACRT_T_COUNT}\n" SINK BIND_SS);
	acrt__blueprint *bp = load_ok(NULL, NULL);
	const json_t *cfg = comp(bp, "intake")->config;
	const json_t *p = json_object_get(cfg, "payload");
	assert_true(json_is_integer(json_object_get(cfg, "count")));
	assert_int_equal(json_integer_value(json_object_get(cfg, "count")), 42);
	assert_string_equal(json_string_value(json_object_get(p, "s")), "42");
	assert_string_equal(json_string_value(json_object_get(p, "d")), "fallback");
	assert_string_equal(json_string_value(json_object_get(p, "e")), "was_empty");
	assert_string_equal(json_string_value(json_object_get(p, "m")), "x-42-y");
	assert_string_equal(json_string_value(json_object_get(p, "lit")), "${ACRT_T_COUNT}");
	acrt__blueprint_free(bp);

	write_file(
	    "architecture.yaml",
	    HEAD "    - name: intake\n      type: Source\n"
	         "      config:\n        generator: sequence\n        count: ${ACRT_T_UNSET}\n" SINK
	             BIND_SS);
	expect_error(NULL, NULL,
	             "architecture.yaml:9:16: environment variable 'ACRT_T_UNSET' is not set");
}

static void
test_scalar_types(void **state)
{
	write_file("architecture.yaml",
	           HEAD SRC "    - name: t\n      type: Transformer\n"
	                    "      config:\n        set:\n"
	                    "          a: yes\n          b: off\n          c: 0x10\n"
	                    "          d: 1.5e3\n          e: ~\n          f: \"5\"\n"
	                    "          g: -7\n          h: 'true'\n          i: 1.0.0\n"
	                    "          j: .inf\n" SINK
	                    "  bindings:\n    - {from: intake, to: t}\n    - {from: t, to: out}\n");
	acrt__blueprint *bp = load_ok(NULL, NULL);
	const json_t *s = json_object_get(comp(bp, "t")->config, "set");
	assert_true(json_is_true(json_object_get(s, "a")));
	assert_true(json_is_false(json_object_get(s, "b")));
	assert_int_equal(json_integer_value(json_object_get(s, "c")), 16);
	assert_true(json_is_real(json_object_get(s, "d")));
	assert_true(json_real_value(json_object_get(s, "d")) == 1500.0);
	assert_true(json_is_null(json_object_get(s, "e")));
	assert_string_equal(json_string_value(json_object_get(s, "f")), "5");
	assert_int_equal(json_integer_value(json_object_get(s, "g")), -7);
	assert_string_equal(json_string_value(json_object_get(s, "h")), "true");
	assert_string_equal(json_string_value(json_object_get(s, "i")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(s, "j")), ".inf");
	acrt__blueprint_free(bp);
}

static void
test_fanout_and_anchors(void **state)
{
	write_file(
	    "architecture.yaml", HEAD SRC
	    "    - &sink\n      name: a\n      type: Sink\n      config: {sink: \"null\"}\n"
	    "    - <<: *sink\n      name: b\n"
	    "    - {<<: *sink, name: c}\n"
	    "  bindings:\n"
	    "    - from: intake.output\n      to: [a.input, b, c.input]\n      buffer_size: 8\n");
	acrt__blueprint *bp = load_ok(NULL, NULL);
	assert_int_equal(bp->n_comps, 4);
	assert_string_equal(comp(bp, "b")->type, "Sink");
	assert_int_equal(bp->n_bindings, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(bp->bindings[i].from_comp, 0);
		assert_int_equal(bp->bindings[i].buffer_size, 8);
		assert_int_equal(bp->bindings[i].to_comp, i + 1);
		assert_string_equal(bp->bindings[i].to_port, "input");
	}
	acrt__blueprint_free(bp);
}

static void
test_topo_order_and_allowed_cycle(void **state)
{
	write_file("architecture.yaml",
	           HEAD "    - name: out\n      type: Sink\n      config: {sink: \"null\"}\n"
	                "    - name: b\n      type: Transformer\n"
	                "    - name: a\n      type: Transformer\n"
	                "      inputs: [{name: input}, {name: back}]\n"
	                "      outputs: [{name: output}, {name: retry}]\n" SRC "  bindings:\n"
	                "    - {from: intake.output, to: a.input}\n"
	                "    - {from: a.output, to: b.input}\n"
	                "    - {from: b.output, to: out.input}\n"
	                "    - {from: a.retry, to: a.back, allow_cycle: true}\n");
	acrt__blueprint *bp = load_ok(NULL, NULL);
	const char *want[] = {"intake", "a", "b", "out"};
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(bp->comps[bp->topo[i]].name, want[i]);
	assert_true(bp->bindings[3].allow_cycle);
	acrt__blueprint_free(bp);
}

static void
test_plugin_component(void **state)
{
	const char *build = getenv("ACRT_BUILD_DIR");
	char so[512], text[2048];
	struct stat st;
	if (!build)
		build = "build";
	snprintf(so, sizeof so, "%s/examples/libenrich.so", build);
	if (stat(so, &st) != 0 || so[0] != '/') {
		char *abs = realpath(so, NULL);
		if (!abs)
			skip();
		snprintf(so, sizeof so, "%s", abs);
		free(abs);
	}
	snprintf(text, sizeof text,
	         HEAD SRC
	         "    - name: enrich\n      implementation: plugin:%s#enrich\n"
	         "      config: {currency: USD}\n" SINK
	         "  bindings:\n    - {from: intake, to: enrich}\n    - {from: enrich, to: out}\n",
	         so);
	write_file("architecture.yaml", text);
	acrt__blueprint *bp = load_ok(NULL, NULL);
	const acrt__comp_spec *e = comp(bp, "enrich");
	assert_null(e->type);
	assert_string_equal(e->plugin_path, so);
	assert_string_equal(e->plugin_symbol, "enrich");
	assert_string_equal(e->inputs[0].name, "input");
	assert_string_equal(e->outputs[0].name, "output");
	acrt__blueprint_free(bp);

	/* Its props table is checked too. */
	snprintf(text, sizeof text,
	         HEAD SRC
	         "    - name: enrich\n      implementation: plugin:%s#enrich\n"
	         "      config: {curency: USD}\n" SINK
	         "  bindings:\n    - {from: intake, to: enrich}\n    - {from: enrich, to: out}\n",
	         so);
	write_file("architecture.yaml", text);
	expect_error(NULL, NULL,
	             "architecture.yaml:10:16: unknown config key 'curency' for plugin in "
	             "component 'enrich' (did you mean 'currency'?)");

	/* A relative path is resolved against the blueprint's directory. */
	write_file(
	    "architecture.yaml", HEAD SRC
	    "    - name: enrich\n      implementation: plugin:./libnope.so#x\n" SINK
	    "  bindings:\n    - {from: intake, to: enrich}\n    - {from: enrich, to: out}\n");
	expect_error(NULL, NULL, "architecture.yaml:9:23: implementation: ");
}

/* ---- Errors at exact positions --------------------------------------------------- */

static void
test_error_unknown_key_hint(void **state)
{
	write_file(
	    "architecture.yaml",
	    HEAD "    - name: intake\n      type: Source\n      confg: {generator: sequence}\n" SINK
	        BIND_SS);
	expect_error(NULL, NULL,
	             "architecture.yaml:7:7: unknown key 'confg' in component 'intake' (did you "
	             "mean 'config'?)");
}

static void
test_error_syntax_and_empty(void **state)
{
	write_file("architecture.yaml", HEAD "    - name: intake\n      type: [Source\n");
	expect_error(NULL, NULL, "architecture.yaml:");
	write_file("architecture.yaml", "system:\n  name: x\n    bad: indent\n");
	expect_error(NULL, NULL,
	             "architecture.yaml:3:8: YAML syntax error: mapping values are not "
	             "allowed in this context");
	write_file("architecture.yaml", "");
	expect_error(NULL, NULL, "architecture.yaml:1:1: empty file");
	write_file("architecture.yaml", "- a\n- b\n");
	expect_error(NULL, NULL, "architecture.yaml:1:1: architecture: expected a mapping");
}

static void
test_error_bindings(void **state)
{
	write_file("architecture.yaml",
	           HEAD SRC SINK "  bindings:\n    - {from: intake.output, to: ot.input}\n");
	expect_error(NULL, NULL,
	             "architecture.yaml:12:33: binding to unknown component 'ot' (did you mean "
	             "'out'?)");
	write_file("architecture.yaml",
	           HEAD SRC SINK "  bindings:\n    - {from: intake.output, to: out.inptu}\n");
	expect_error(NULL, NULL,
	             "architecture.yaml:12:33: component 'out' has no input port 'inptu' (did you "
	             "mean 'input'?)");
	write_file("architecture.yaml", HEAD SRC SINK);
	expect_error(NULL, NULL,
	             "architecture.yaml:8:7: input port 'input' of component 'out' is bound to "
	             "nothing");
	write_file("architecture.yaml",
	           HEAD SRC SINK "  bindings:\n    - {from: intake.output, to: out.input}\n"
	                         "    - {from: intake, to: out}\n");
	expect_error(NULL, NULL,
	             "architecture.yaml:13:7: binding intake.output -> out.input listed twice "
	             "(first at line 12)");
	write_file("architecture.yaml",
	           HEAD SRC SINK "  bindings:\n    - {from: intake.output, to: out.input, "
	                         "buffer_size: 0}\n");
	expect_error(NULL, NULL, "architecture.yaml:12:57: buffer_size must be >= 1");
}

static void
test_error_cycle(void **state)
{
	write_file("architecture.yaml",
	           HEAD SRC "    - name: a\n      type: Transformer\n"
	                    "      inputs: [{name: input}, {name: back}]\n"
	                    "    - name: b\n      type: Transformer\n" SINK "  bindings:\n"
	                    "    - {from: intake.output, to: a.input}\n"
	                    "    - {from: a.output, to: b.input}\n"
	                    "    - {from: b.output, to: [a.back, out.input]}\n");
	expect_error(NULL, NULL, "architecture.yaml:18:7: cycle: a -> b -> a");
}

static void
test_error_many_collected(void **state)
{
	acrt__diag d = {0};
	write_file("architecture.yaml",
	           HEAD "    - name: Bad\n      type: Source\n"
	                "    - name: x\n      type: Sorce\n"
	                "    - name: y\n      type: Sink\n      replicas: 0\n      colour: red\n");
	assert_null(load(NULL, NULL, &d));
	assert_true(d.n >= 4);
	assert_non_null(strstr(d.lines[0], "architecture.yaml:5:13: component name 'Bad'"));
	assert_non_null(strstr(d.lines[1],
	                       "architecture.yaml:8:13: unknown component type 'Sorce' (did you "
	                       "mean 'Source'?)"));
	acrt__diag_free(&d);
}

static void
test_error_deployment(void **state)
{
	write_file("architecture.yaml", HEAD SRC SINK BIND_SS);
	write_file("deployment.yaml", "system_name: orders\nruntime:\n  logging: {level: loud}\n"
	                              "component_overrides:\n  intake: {config: {count: abc}}\n");
	acrt__diag d = {0};
	assert_null(load(NULL, NULL, &d));
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(d.lines[0], "deployment.yaml:3:20: level: 'loud' is not one of"));
	assert_non_null(strstr(d.lines[1], "deployment.yaml:5:28: intake.config.count: expected "
	                                   "an integer, got string 'abc'"));
	acrt__diag_free(&d);
	write_file("deployment.yaml", "system_name: other\n");
	expect_error(NULL, NULL,
	             "deployment.yaml:1:14: system_name 'other' does not match system.name "
	             "'orders'");
}

static void
test_error_schemas_and_caps(void **state)
{
	write_file("architecture.yaml",
	           HEAD SRC SINK BIND_SS "schemas:\n  order: [not, a, schema]\n");
	expect_error(NULL, NULL,
	             "architecture.yaml:14:10: bad schema 'order': expected a mapping or a "
	             "boolean, got a sequence");
	write_file("architecture.yaml",
	           HEAD SRC "      capabilities: {rate_limt: {rate: 5}}\n" SINK BIND_SS);
	expect_error(NULL, NULL,
	             "architecture.yaml:8:22: unknown key 'rate_limt' in capabilities of "
	             "component 'intake' (did you mean 'rate_limit'?)");
	write_file("architecture.yaml",
	           HEAD "    - name: keep\n      type: Agregator\n" SRC SINK BIND_SS);
	expect_error(NULL, NULL,
	             "architecture.yaml:6:13: unknown component type 'Agregator' (did you mean "
	             "'Aggregator'?)");
}

/* Capability values are checked by the capability layer's create(), which
 * registers itself (acrt__caps_register); without it validation must fail
 * loudly instead of accepting the values unchecked. */
static void
test_cap_check_registration(void **state)
{
	write_file("architecture.yaml",
	           HEAD SRC SINK "      capabilities: {retry: {max_attempts: 2000000}}\n" BIND_SS);
	expect_error(NULL, NULL, "component 'out': retry: 'max_attempts' must be <= 1000000");
	write_file("architecture.yaml",
	           HEAD SRC SINK "      capabilities: {retry: {max_attempts: 3}}\n" BIND_SS);
	acrt__blueprint_free(load_ok(NULL, NULL));
	acrt__blueprint_set_cap_check(NULL);
	expect_error(NULL, NULL,
	             "component 'out': capability 'retry' cannot be checked: internal error: no "
	             "capability checker registered");
	acrt__caps_register();
	acrt__blueprint_free(load_ok(NULL, NULL));
}

int
main(void)
{
	acrt__components_register();
	acrt__caps_register();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_full_blueprint, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_python_shapes, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_deployment_and_overrides, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_file_path_and_explicit_deployment, setup_dir,
	                                    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_env_expansion, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_scalar_types, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_fanout_and_anchors, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_topo_order_and_allowed_cycle, setup_dir,
	                                    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_plugin_component, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_unknown_key_hint, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_syntax_and_empty, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_bindings, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_cycle, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_many_collected, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_deployment, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_error_schemas_and_caps, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_cap_check_registration, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
