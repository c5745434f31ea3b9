/*
 * test_faultsim.c - out-of-memory in the runtime, one allocation at a time
 * (SQLite's do_faultsim_test habit): for n = 1, 2, ... the n-th allocation
 * through acrt__malloc fails, and every run must end cleanly (no crash, no
 * leak under ASan, nothing left allocated through acrt__malloc, no thread left)
 * until n is past the last allocation. Driven this way:
 *   - a small fan-out system (Source, Transformer replicas, Sinks) is wired,
 *     set up, run and cleaned up (exit code 0 or 1);
 *   - a system of every built-in type but the APIEndpoint (a file Source and a
 *     generator, Filter, jq Transformer, Router, Aggregator, Store on managed
 *     state, file Sinks), with checkpoints on the inmem_ephemeral store, so
 *     that setup, process, finish, snapshot and the final checkpoint (managed
 *     state dumps, parts, the manifest) each meet the failure;
 *   - a system whose Transformer has every built-in capability (schema_validator
 *     strict, rate_limit, retry, circuit_breaker, timeout, dead_letter), run
 *     with the services `acrt run` registers (observe/services.c): the HTTP API
 *     (a token read from a file, one generated, the address file), the alert
 *     rules (evaluated over the metrics text at stop) and an alert webhook
 *     (to a closed port), so that the capability chain and observe/ each meet
 *     the failure;
 *   - the managed-state map (state/kv.c) through puts, overwrites of other
 *     sizes (compaction), deletes, a put of its own value, dump and load;
 *   - the inmem_ephemeral and sqlite_snapshot adapters through open, put,
 *     list, get, del and close;
 *   - blueprint loading (src/blueprint/): acrt__blueprint_load of a blueprint
 *     and deployment that reach most of the loader (${VAR} expansion, anchors
 *     and merge keys, schemas, built-in types with configs, ports, capabilities,
 *     batching and state, the three binding shapes with fan-out, a dead letter,
 *     component_overrides, and the runtime sections buffers, timeouts, logging,
 *     chaining, batching, state, api, alerts and alert_webhook), then the
 *     build.lock of the loaded blueprint (write, check).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blueprint/blueprint.h"
#include "blueprint/lock.h"
#include "capability/chain.h"
#include "components/registry.h"
#include "core/log.h"
#include "observe/services.h"
#include "runtime/runtime.h"
#include "state/adapter.h"
#include "state/kv.h"
#include "testutil.h"

/* More than any run here allocates through acrt__malloc. */
#define MAX_POINTS 20000

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

static const char builtins_blueprint[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: faults_builtins\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {generator: sequence, count: 24, payload: {t: "
    "x}}}\n"
    "    - {name: lines, type: Source, config: {source: file, path: in.jsonl}}\n"
    "    - {name: keep, type: Filter, config: {where: '.seq > 2'}}\n"
    "    - {name: xf, type: Transformer, config: {jq: '.k = (.seq % 3)'}}\n"
    "    - {name: split, type: Router, config: {routes: [{when: '.k == 0', to: zero}]}}\n"
    "    - {name: agg, type: Aggregator, config: {key: k, ops: {seq: [count, sum, max]}}}\n"
    "    - {name: store, type: Store, config: {key: seq}}\n"
    "    - {name: aggout, type: Sink, config: {sink: file, path: out/agg.jsonl}}\n"
    "    - {name: zero, type: Sink, config: {sink: file, path: out/zero.jsonl}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: keep.input}\n"
    "    - {from: keep.output, to: xf.input}\n"
    "    - {from: xf.output, to: [split.input, agg.input]}\n"
    "    - {from: split.zero, to: zero.input}\n"
    "    - {from: split.default, to: store.input}\n"
    "    - {from: lines.output, to: store.input}\n"
    "    - {from: agg.output, to: aggout.input}\n";

/* Every built-in capability on one component: events with seq > 30 break the
 * input schema and go to the dead letter. */
static const char caps_blueprint[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: faults_observe\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {generator: sequence, count: 40}}\n"
    "    - name: work\n"
    "      type: Transformer\n"
    "      config: {set: {k: 1}}\n"
    "      inputs: [{name: input, schema: {type: object, required: [seq], properties: {seq: "
    "{type: integer, maximum: 30}}}}]\n"
    "      outputs: [{name: output, schema: {type: object, required: [k]}}]\n"
    "      capabilities:\n"
    "        schema_validator: {strict: true}\n"
    "        rate_limit: {rate: 1000000, burst: 1000}\n"
    "        retry: {max_attempts: 2, initial_delay_ms: 1}\n"
    "        circuit_breaker: true\n"
    "        timeout: {ms: 5000}\n"
    "        dead_letter: {to: dlq.input}\n"
    "    - {name: out, type: Sink, config: {sink: file, path: out/out.jsonl}}\n"
    "    - {name: dlq, type: Sink, config: {sink: file, path: out/dlq.jsonl}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: work.input}\n"
    "    - {from: work.output, to: out.input}\n";

/* The API on a free port, a read token from a file (the write token is
 * generated), an alert webhook nobody listens to. */
static const char caps_deployment[] =
    "schema_version: \"1.0.0\"\n"
    "system_name: faults_observe\n"
    "runtime:\n"
    "  api: {listen: \"127.0.0.1:0\", auth: {read_token_file: read.token}}\n"
    "  alert_webhook: http://127.0.0.1:1/api/v2/alerts\n";

static const char builtins_deployment[] =
    "schema_version: \"1.0.0\"\n"
    "system_name: faults_builtins\n"
    "runtime:\n"
    "  state: {adapter: inmem_ephemeral, checkpoint_interval_s: 0}\n";

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Runs bp with the n-th allocation failing, for n = 1, 2, ... until a run
 * meets no injected failure; with observe, with the services `acrt run`
 * registers (src/cli/run.c), but no status line; a run without an injected
 * failure must end with clean_rc. Returns the number of
 * allocation points. */
static int
faultsim_runs(acrt__blueprint *bp, const char *what, bool observe, int clean_rc)
{
	int threads = count_threads();
	int failures = 0, n;
	for (n = 1; n < MAX_POINTS; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__alloc_fail_after(n);
		acrt__run_opts opts = {.quiet = true};
		acrt__observe obs; /* outlives the run */
		if (observe)
			acrt__observe_init(&obs, &opts, false);
		int rc = acrt__runtime_run(bp, &opts);
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		assert_true(rc == 0 || rc == 1 || rc == 3); /* 3: an event failed (out of memory) */
		assert_int_equal(acrt__alloc_bytes(), before); /* everything freed */
		/* Nothing left running (a thread may still be on its way out). */
		assert_true(WAIT_FOR(count_threads() == threads, 5000));
		if (!injected) {
			assert_int_equal(rc, clean_rc); /* no failure injected: a clean run */
			break;
		}
		failures += rc != clean_rc;
	}
	assert_true(n < MAX_POINTS); /* reached a run without an injected failure */
	assert_true(failures > 0);
	printf("faultsim %s: %d allocation points, %d runs failed cleanly\n", what, n - 1,
	       failures);
	return n - 1;
}

static acrt__blueprint *
load(const char *dir)
{
	acrt__diag diag = {0};
	acrt__blueprint *bp = NULL;
	int rc = acrt__blueprint_load(dir, NULL, &bp, &diag);
	for (size_t i = 0; rc != 0 && i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.lines[i]);
	acrt__diag_free(&diag);
	assert_int_equal(rc, 0);
	return bp;
}

static void
test_every_allocation_failure_is_clean(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "architecture.yaml", blueprint);
	acrt__blueprint *bp = load(dir);
	acrt__log_config(ACRT_LOG_ERROR + 1, ACRT__LOG_FORMAT_JSON); /* quiet */
	faultsim_runs(bp, "fan-out", false, 0);
	acrt__blueprint_free(bp);
	rm_tree(dir);
}

/* Every built-in type but the APIEndpoint, through setup, process, finish,
 * snapshot and the final checkpoint. */
static void
test_builtins_and_state(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "architecture.yaml", builtins_blueprint);
	write_file(dir, "deployment.yaml", builtins_deployment);
	char lines[2048] = "";
	for (int i = 1000; i < 1016; i++) { /* and a blank line, a bad one */
		char l[64];
		snprintf(l, sizeof l, "{\"seq\": %d, \"from\": \"file\"}\n%s", i,
		         i == 1003 ? "\nnot json\n" : "");
		strcat(lines, l);
	}
	write_file(dir, "in.jsonl", lines);
	acrt__blueprint *bp = load(dir);
	acrt__log_config(ACRT_LOG_ERROR + 1, ACRT__LOG_FORMAT_JSON); /* quiet */
	/* its input holds a line that is not JSON: skipped, lost input, exit 3 */
	int points = faultsim_runs(bp, "built-ins", false, 3);
	assert_true(points > 30); /* the components' own allocations are reached */

	/* The clean run's output is whole: 22 events of seq 3..24 in 3 groups. */
	char path[256];
	snprintf(path, sizeof path, "%s/out/agg.jsonl", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int groups = 0, c;
	while ((c = fgetc(f)) != EOF)
		groups += c == '\n';
	fclose(f);
	assert_int_equal(groups, 3);
	acrt__blueprint_free(bp);
	rm_tree(dir);
}

static int
count_lines(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int lines = 0, c;
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

/* The capability chain (src/capability/) and the services of observe/: the
 * HTTP API, the alert rules over the metrics text, the alert webhook. */
static void
test_capabilities_and_observe(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "architecture.yaml", caps_blueprint);
	write_file(dir, "deployment.yaml", caps_deployment);
	write_file(dir, "read.token", "faultsim-read-token\n");
	acrt__blueprint *bp = load(dir);
	acrt__log_config(ACRT_LOG_ERROR + 1, ACRT__LOG_FORMAT_JSON); /* quiet */
	int points = faultsim_runs(bp, "capabilities+observe", true, 0);
	assert_true(points > 30);

	/* The clean run: seq 1..30 passed, 31..40 went to the dead letter; the
	 * API removed what it wrote. */
	assert_int_equal(count_lines(dir, "out/out.jsonl"), 30);
	assert_int_equal(count_lines(dir, "out/dlq.jsonl"), 10);
	char path[256];
	snprintf(path, sizeof path, "%s/.acrt", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	acrt__blueprint_free(bp);
	rm_tree(dir);
}

/* ---- Blueprint loading ---------------------------------------------------------- */

static const char load_blueprint[] =
    "schema_version: \"1.0.0\"\n"
    "system:\n"
    "  name: faults_load\n"
    "  version: \"${ACRT_FAULTSIM_SURELY_UNSET:-1.2}\"\n"
    "  description: every stage of the loader\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {generator: sequence, count: 10, payload: {t: "
    "x}}}\n"
    "    - {name: lines, type: Source, config: {source: file, path: in.jsonl}}\n"
    "    - name: http\n"
    "      type: APIEndpoint\n"
    "      config:\n"
    "        listen: 127.0.0.1:18080\n"
    "        routes: [{path: /orders}, {path: /orders, method: PUT}]\n"
    "        auth: {token_file: ep.token}\n"
    "    - {name: keep, type: Transformer, config: {set: {f: 1}}}\n"
    "    - name: work\n"
    "      type: Transformer\n"
    "      config: {set: {k: 0}}\n"
    "      inputs: [{name: input, schema: order}]\n"
    "      outputs: [{name: output, schema: {type: object, required: [k]}}]\n"
    "      capabilities:\n"
    "        schema_validator: {strict: true}\n"
    "        rate_limit: {rate: 1000000, burst: 1000}\n"
    "        retry: {max_attempts: 2, initial_delay_ms: 1}\n"
    "        circuit_breaker: true\n"
    "        timeout: {ms: 5000}\n"
    "        dead_letter: {to: dlq.input}\n"
    "      batching: {enabled: true, max_items: 16}\n"
    "      state: {enabled: true}\n"
    "      replicas: 2\n"
    "      description: computes k\n"
    "    - {name: split, type: Router, config: {routes: [{when: '.k == 0', to: zero}]}}\n"
    "    - {name: agg, type: Aggregator, config: {key: k, ops: {seq: [count, sum, max]}}}\n"
    "    - {name: store, type: Store, config: {key: seq}}\n"
    "    - name: zero\n"
    "      type: Sink\n"
    "      config: &file_sink {sink: file, path: out/zero.jsonl}\n"
    "    - {name: aggout, type: Sink, config: {<<: *file_sink, path: out/agg.jsonl}}\n"
    "    - {name: dlq, type: Sink, config: {sink: \"null\"}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: keep.input, buffer_size: 16}\n"
    "    - {from: http, to: keep}\n"
    "    - from_component: keep\n"
    "      from_port: output\n"
    "      to_component: work\n"
    "    - {from: work.output, to: [split.input, agg.input]}\n"
    "    - source: {component: split, stream: zero}\n"
    "      target: {component: zero, stream: input}\n"
    "    - {from: split.default, to: store.input}\n"
    "    - {from: lines.output, to: store.input}\n"
    "    - {from: agg.output, to: aggout.input}\n"
    "schemas:\n"
    "  order: {type: object, required: [seq], properties: {seq: {type: integer}}}\n";

static const char load_deployment[] =
    "schema_version: \"1.0.0\"\n"
    "system_name: faults_load\n"
    "runtime:\n"
    "  buffers: {default_size: 64}\n"
    "  timeouts: {startup_timeout_ms: 5000, shutdown_timeout_ms: 2000}\n"
    "  logging: {level: warn, format: json}\n"
    "  chaining: false\n"
    "  batching: {max_items: 32, max_ms: 10, error_mode: per_item}\n"
    "  state: {adapter: sqlite_snapshot, path: state/faults.db, checkpoint_interval_s: 0.5, "
    "checkpoint_timeout_ms: 2000, retain: 3}\n"
    "  api:\n"
    "    listen: \"127.0.0.1:0\"\n"
    "    auth: {read_token_file: read.token, write_token_file: write.token}\n"
    "  alerts:\n"
    "    - {name: many, metric: acrt_component_events_out_total, op: \">\", threshold: 10, "
    "for_s: 1, severity: info}\n"
    "    - {name: burst, metric: acrt_component_events_in_total, rate: true, op: \">\", "
    "threshold: 5}\n"
    "  alert_webhook: http://127.0.0.1:1/api/v2/alerts\n"
    "component_overrides:\n"
    "  gen: {config: {count: 5, payload: {u: y}}}\n"
    "  agg: {replicas: 1}\n";

/* Every diagnostic line says where: "file:line:col: message", on one line. */
static bool
diag_well_formed(const acrt__diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const char *l = d->lines[i];
		bool where = false;
		for (const char *p = strchr(l, ':'); p != NULL && !where; p = strchr(p + 1, ':')) {
			int line = 0, col = 0, end = 0;
			where = sscanf(p, ":%d:%d: %n", &line, &col, &end) == 2 && end > 0 &&
			        line > 0 && col > 0;
		}
		if (!where || strchr(l, '\n') != NULL)
			return false;
	}
	return true;
}

static bool
diag_has(const acrt__diag *d, const char *what)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], what) != NULL)
			return true;
	return false;
}

/* acrt__blueprint_load with the n-th allocation failing, n = 1, 2, ...: each
 * run loads, or fails with errors that say where (an out-of-memory one among
 * them), and leaves nothing allocated. Returns the number of allocation
 * points. */
static int
faultsim_load(const char *dir)
{
	int n, failures = 0;
	for (n = 1; n < MAX_POINTS; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__diag diag = {0};
		acrt__blueprint *bp = NULL;
		acrt__alloc_fail_after(n);
		int rc = acrt__blueprint_load(dir, NULL, &bp, &diag);
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		if (rc == 0) {
			assert_non_null(bp);
			assert_int_equal(bp->n_comps, 11);
			assert_int_equal(bp->n_bindings, 10); /* fan-out and dead letter included */
			assert_int_equal(bp->n_alert_rules, 2);
		} else {
			assert_int_equal(rc, -1);
			assert_null(bp);
			assert_true(diag.n > 0);
			if (!diag_well_formed(&diag) || !diag_has(&diag, "out of memory")) {
				for (size_t i = 0; i < diag.n; i++)
					fprintf(stderr, "n=%d: %s\n", n, diag.lines[i]);
				fail_msg("allocation %d: no out-of-memory error with its location",
				         n);
			}
		}
		acrt__blueprint_free(bp);
		acrt__diag_free(&diag);
		assert_int_equal(acrt__alloc_bytes(), before); /* everything freed */
		if (!injected) {
			assert_int_equal(rc, 0); /* no failure injected: it loads */
			break;
		}
		failures += rc != 0;
	}
	assert_true(n < MAX_POINTS);
	printf("faultsim blueprint load: %d allocation points, %d loads failed cleanly\n", n - 1,
	       failures);
	assert_int_equal(failures, n - 1); /* no failure goes unnoticed */
	return n - 1;
}

/* build.lock of a loaded blueprint: write it, then check it, with the n-th
 * allocation failing. Each call succeeds or reports an error. */
static int
faultsim_lock(const acrt__blueprint *bp)
{
	int n, failures = 0;
	for (n = 1; n < MAX_POINTS; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__diag diag = {0};
		acrt__alloc_fail_after(n);
		int wr = acrt__lock_write(bp, &diag);
		int ck = wr == 0 ? acrt__lock_check(bp, &diag) : ACRT__LOCK_ERROR;
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		assert_true(wr == 0 || wr == -1);
		assert_true(ck == ACRT__LOCK_OK || ck == ACRT__LOCK_ERROR);
		bool failed = wr != 0 || ck != ACRT__LOCK_OK;
		if (failed)
			assert_true(diag.n > 0);
		acrt__diag_free(&diag);
		assert_int_equal(acrt__alloc_bytes(), before);
		if (!injected) {
			assert_false(failed);
			break;
		}
		failures += failed;
	}
	assert_true(n < MAX_POINTS);
	printf("faultsim build.lock: %d allocation points, %d failed cleanly\n", n - 1, failures);
	assert_int_equal(failures, n - 1);
	return n - 1;
}

/* The Autocoder dialect's types (dialect_types.c): the mappings and their
 * notes, with the n-th allocation failing. No Controller router nor Filter:
 * each compiles jq (about 25 ms a load); test_dialect_types runs them under
 * ASan. */
static const char dialect_blueprint[] =
    "system:\n"
    "  name: faults-dialect\n"
    "  components:\n"
    "    - {name: gen, type: Source, config: {data_count: 3, data_delay: 0.5, data_source: x}}\n"
    "    - {name: events, type: EventSource, config: {data_count: 2, data_delay: 0}}\n"
    "    - {name: stop, type: Controller, config: {variant: terminator, max_items: 3}}\n"
    "    - {name: logic, type: Controller}\n"
    "    - {name: dedup, type: StreamProcessor, config: {variant: deduplication, dedup_key: k}}\n"
    "    - {name: win, type: StreamProcessor, config: {variant: windowing, ops: {k: count}}}\n"
    "    - {name: model, type: Model}\n"
    "    - {name: acc, type: Accumulator, config: {redis_url: x}}\n"
    "    - {name: metrics, type: MetricsEndpoint}\n"
    "    - {name: out, type: Sink, config: {output_file: out.jsonl, extra: 1}}\n"
    "  bindings:\n"
    "    - {from: gen.output, to: [stop.control, logic.control, dedup.stream,\n"
    "       win.stream, model.features, acc.input, metrics.input]}\n"
    "    - {from: events.events, to: out.input}\n"
    "    - {from: dedup.processed, to: out.input}\n";

static void
test_dialect_load_allocation_failures(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "architecture.yaml", dialect_blueprint);
	int n, failures = 0;
	for (n = 1; n < MAX_POINTS; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__diag diag = {0};
		acrt__blueprint *bp = NULL;
		acrt__alloc_fail_after(n);
		int rc = acrt__blueprint_load(dir, NULL, &bp, &diag);
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		if (rc == 0) {
			assert_int_equal(bp->n_comps, 10);
			assert_true(bp->comps[3].needs_impl);
			assert_string_equal(bp->comps[2].type, "Passthrough");
		} else {
			assert_null(bp);
			if (!diag_well_formed(&diag) || !diag_has(&diag, "out of memory")) {
				for (size_t i = 0; i < diag.n; i++)
					fprintf(stderr, "n=%d: %s\n", n, diag.lines[i]);
				fail_msg("allocation %d: no out-of-memory error with its location",
				         n);
			}
		}
		acrt__blueprint_free(bp);
		acrt__diag_free(&diag);
		assert_int_equal(acrt__alloc_bytes(), before); /* everything freed */
		if (!injected) {
			assert_int_equal(rc, 0);
			break;
		}
		failures += rc != 0;
	}
	assert_true(n < MAX_POINTS);
	printf("faultsim dialect load: %d allocation points, %d loads failed cleanly\n", n - 1,
	       failures);
	assert_int_equal(failures, n - 1);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The rest of the dialect (issue 13 step 1): ADR-031 ports, a port only
 * bindings name, an unbound input, schema labels whose names differ across a
 * binding, a Transformer's created output, the binding shapes, the
 * original's APIEndpoint with its reply, and the deployment's list of
 * overrides, with the n-th allocation failing. */
static const char dialect2_blueprint[] =
    "metadata: {author: faultsim}\n"
    "system:\n"
    "  name: faults-dialect2\n"
    "  components:\n"
    "    - name: api\n"
    "      type: APIEndpoint\n"
    "      config: {port: 18999, endpoints: [{path: /t, methods: [POST, GET]}, \"GET /t/{id}\"]}\n"
    "    - {name: store, type: Store}\n"
    "    - {name: tidy, type: Transformer}\n"
    "    - name: gen\n"
    "      type: Source\n"
    "      ports: {readings: {direction: output, data_schema: {id: common_x, version: 1}}}\n"
    "    - name: model\n"
    "      type: Model\n"
    "      inputs: [{name: features, schema: nowhere}]\n"
    "      outputs: [{name: scores, schema: common_z}]\n"
    "    - {name: out, type: Sink, config: {sink: \"null\"}, inputs: [{name: input, schema: "
    "common_y}]}\n"
    "  bindings:\n"
    "    - from: {component: api, output: response}\n"
    "      to: {component: store, input: input}\n"
    "    - {source: store.output, target: api.request}\n"
    "    - {from_component: gen, to_component: model, stream_name: readings}\n"
    "    - {from: model.scores, to: out.input}\n"
    "    - {from: store.output, to: tidy.input}\n"
    "    - {from: tidy.copy, to: out.input}\n";
static const char dialect2_deployment[] =
    "system_name: faults-dialect2\n"
    "environment: {A: 1}\n"
    "component_overrides:\n"
    "  - {name: out, replicas: 2, environment_variables: {B: 2}}\n"
    "  - {name: missing, replicas: 2}\n";

static void
test_dialect2_load_allocation_failures(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "architecture.yaml", dialect2_blueprint);
	write_file(dir, "deployment.yaml", dialect2_deployment);
	int n, failures = 0;
	for (n = 1; n < MAX_POINTS; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__diag diag = {0};
		acrt__blueprint *bp = NULL;
		acrt__alloc_fail_after(n);
		int rc = acrt__blueprint_load(dir, NULL, &bp, &diag);
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		if (rc == 0) {
			assert_int_equal(bp->n_comps, 6);
			assert_int_equal(bp->n_bindings, 6);
			assert_true(bp->comps[4].needs_impl);
			assert_int_equal(bp->comps[5].replicas, 2);
			assert_string_equal(bp->comps[2].type, "Passthrough"); /* tidy.copy */
		} else {
			assert_null(bp);
			if (!diag_well_formed(&diag) || !diag_has(&diag, "out of memory")) {
				for (size_t i = 0; i < diag.n; i++)
					fprintf(stderr, "n=%d: %s\n", n, diag.lines[i]);
				fail_msg("allocation %d: no out-of-memory error with its location",
				         n);
			}
		}
		acrt__blueprint_free(bp);
		acrt__diag_free(&diag);
		assert_int_equal(acrt__alloc_bytes(), before); /* everything freed */
		if (!injected) {
			assert_int_equal(rc, 0);
			break;
		}
		failures += rc != 0;
	}
	assert_true(n < MAX_POINTS);
	printf("faultsim dialect (step 1) load: %d allocation points, %d loads failed cleanly\n",
	       n - 1, failures);
	assert_int_equal(failures, n - 1);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_blueprint_load_allocation_failures(void **state)
{
	(void)state;
	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "architecture.yaml", load_blueprint);
	write_file(dir, "deployment.yaml", load_deployment);
	write_file(dir, "in.jsonl", "{\"seq\": 1}\n");
	write_file(dir, "ep.token", "faultsim-endpoint-token\n");
	write_file(dir, "read.token", "faultsim-read-token\n");
	write_file(dir, "write.token", "faultsim-write-token\n");
	acrt__log_config(ACRT_LOG_ERROR + 1, ACRT__LOG_FORMAT_JSON); /* quiet */

	/* Loads as is, with every section read. */
	acrt__blueprint *bp = load(dir);
	assert_string_equal(bp->version, "1.2");
	assert_string_equal(bp->state.adapter, "sqlite_snapshot");
	assert_non_null(strstr(bp->state.path, "/state/faults.db"));
	assert_non_null(bp->api.write_token_file);
	assert_non_null(bp->alert_webhook);
	assert_false(bp->chaining);
	assert_int_equal(bp->default_buffer, 64);
	long w = acrt__blueprint_find(bp, "work");
	assert_true(w >= 0 && bp->comps[w].batch.enabled && bp->comps[w].batch.max_items == 16);
	long a = acrt__blueprint_find(bp, "aggout");
	assert_true(a >= 0);
	assert_string_equal(json_string_value(json_object_get(bp->comps[a].config, "sink")),
	                    "file");
	acrt__blueprint_free(bp);

	int points = faultsim_load(dir);
	assert_true(points > 500); /* nodes, texts, specs, ports, bindings, rules */

	bp = load(dir);
	assert_true(faultsim_lock(bp) > 5);
	acrt__blueprint_free(bp);
	rm_tree(dir);
}

/* ---- The managed-state map ------------------------------------------------------ */

/* Puts, overwrites of other sizes (dead records, compaction), deletes, a put
 * of a value that lives in the map, then dump and load into another map.
 * Failed calls must leave the map whole: it is checked at the end. Returns 0
 * when every call succeeded. */
static int
kv_workout(void)
{
	int failed = 0;
	acrt__kv *kv = acrt__kv_new();
	if (kv == NULL)
		return 1;
	static char v[1200];
	char k[32];
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 200; i++) {
			int kl = snprintf(k, sizeof k, "key-%d", i);
			size_t vl = (size_t)((i * 37 + round * 401) % 1100) + 1;
			memset(v, 'a' + (i + round) % 26, vl);
			failed |= acrt__kv_put(kv, k, (size_t)kl, v, vl) != ACRT_OK;
		}
	for (int i = 0; i < 200; i += 3) {
		int kl = snprintf(k, sizeof k, "key-%d", i);
		int rc = acrt__kv_del(kv, k, (size_t)kl);
		failed |= rc != ACRT_OK && rc != ACRT_ENOENT;
	}
	const void *val;
	size_t vlen;
	if (acrt__kv_get(kv, "key-1", 5, &val, &vlen) == ACRT_OK) /* its own bytes */
		failed |= acrt__kv_put(kv, "key-copy", 8, val, vlen) != ACRT_OK;

	/* Whatever failed, the map is consistent: iter sees count entries, each
	 * found by get. */
	size_t n = acrt__kv_count(kv);
	size_t size = acrt__kv_dump_size(kv);
	unsigned char *buf = acrt__malloc(size);
	acrt__kv *back = acrt__kv_new();
	if (buf == NULL || back == NULL) {
		failed = 1;
	} else {
		acrt__kv_dump(kv, buf);
		int rc = acrt__kv_load(back, buf, size);
		assert_true(rc == ACRT_OK || rc == ACRT_ENOMEM);
		if (rc == ACRT_OK)
			assert_int_equal(acrt__kv_count(back), n);
		else
			failed = 1;
	}
	acrt__free(buf);
	acrt__kv_free(back);
	acrt__kv_free(kv);
	return failed;
}

static void
test_kv_allocation_failures(void **state)
{
	(void)state;
	int n, failures = 0;
	for (n = 1; n < MAX_POINTS; n++) {
		size_t before = acrt__alloc_bytes();
		acrt__alloc_fail_after(n);
		int failed = kv_workout();
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		assert_int_equal(acrt__alloc_bytes(), before);
		if (!injected) {
			assert_int_equal(failed, 0);
			break;
		}
		failures += failed;
	}
	assert_true(n < MAX_POINTS);
	assert_true(n > 10); /* slots, arena, resizes, the copy, the second map */
	assert_int_equal(failures, n - 1);
	printf("faultsim kv: %d allocation points\n", n - 1);
}

/* ---- Checkpoint adapters -------------------------------------------------------- */

/* open, two puts, list, get, del, close. Each call succeeds or says out of
 * memory. Returns 0 when every call succeeded. */
static int
adapter_workout(const acrt__state_ops *ops, const acrt__state_cfg *cfg)
{
	char err[256];
	acrt__state_adapter *a = NULL;
	int rc = ops->open(cfg, &a, err, sizeof err);
	if (rc != ACRT_OK) {
		assert_int_equal(rc, ACRT_ENOMEM);
		return 1;
	}
	int failed = 0;
	for (uint64_t id = 1; id <= 2; id++) {
		acrt__ckpt ck = {.id = id, .wall_ns = 1000 * (int64_t)id};
		assert_int_equal(acrt__ckpt_add_part(&ck, "a#0", 3, "state", 5), ACRT_OK);
		assert_int_equal(acrt__ckpt_add_part(&ck, "_manifest", 9, "{}", 2), ACRT_OK);
		rc = ops->put(a, &ck, err, sizeof err);
		assert_true(rc == ACRT_OK || rc == ACRT_ENOMEM);
		failed |= rc != ACRT_OK;
		acrt__ckpt_clear(&ck);
	}
	acrt__ckpt *all = NULL;
	size_t n = 0;
	rc = ops->list(a, &all, &n, err, sizeof err);
	assert_true(rc == ACRT_OK || rc == ACRT_ENOMEM);
	failed |= rc != ACRT_OK;
	for (size_t i = 0; rc == ACRT_OK && i < n; i++)
		acrt__ckpt_clear(&all[i]);
	free(all); /* list() results are plain malloc (adapter.h) */
	acrt__ckpt got = {0};
	rc = ops->get(a, 2, &got, err, sizeof err);
	assert_true(rc == ACRT_OK || rc == ACRT_ENOMEM || rc == ACRT_ENOENT);
	failed |= rc != ACRT_OK;
	acrt__ckpt_clear(&got);
	rc = ops->del(a, 1, err, sizeof err);
	failed |= rc != ACRT_OK;
	ops->close(a);
	return failed;
}

static void
adapter_faultsim(const char *name, const acrt__state_cfg *cfg, const char *db)
{
	const acrt__state_ops *ops = acrt__state_ops_find(name);
	assert_non_null(ops);
	int n, failures = 0;
	for (n = 1; n < MAX_POINTS; n++) {
		if (db != NULL) { /* every run starts from an empty store */
			char p[300];
			unlink(db);
			snprintf(p, sizeof p, "%s-wal", db);
			unlink(p);
			snprintf(p, sizeof p, "%s-shm", db);
			unlink(p);
		}
		size_t before = acrt__alloc_bytes();
		acrt__alloc_fail_after(n);
		int failed = adapter_workout(ops, cfg);
		bool injected = acrt__alloc_fail_after_pending() == 0;
		acrt__alloc_fail_after(0);
		assert_int_equal(acrt__alloc_bytes(), before);
		if (!injected) {
			assert_int_equal(failed, 0);
			break;
		}
		failures += failed;
	}
	assert_true(n < MAX_POINTS);
	assert_true(n > 1);
	assert_true(failures > 0);
	printf("faultsim %s: %d allocation points\n", name, n - 1);
}

static void
test_adapter_allocation_failures(void **state)
{
	(void)state;
	acrt__state_cfg mem = {.adapter = "inmem_ephemeral", .system_name = "faults"};
	adapter_faultsim("inmem_ephemeral", &mem, NULL);

	char dir[] = "/tmp/acrt-faultsim-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char db[256];
	snprintf(db, sizeof db, "%s/state/ck.db", dir);
	acrt__state_cfg sql = {.adapter = "sqlite_snapshot", .path = db, .system_name = "faults"};
	adapter_faultsim("sqlite_snapshot", &sql, db);
	rm_tree(dir);
}

int
main(void)
{
	acrt__components_register();
	acrt__caps_register();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_allocation_failure_is_clean),
	    cmocka_unit_test(test_builtins_and_state),
	    cmocka_unit_test(test_capabilities_and_observe),
	    cmocka_unit_test(test_kv_allocation_failures),
	    cmocka_unit_test(test_adapter_allocation_failures),
	    cmocka_unit_test(test_blueprint_load_allocation_failures),
	    cmocka_unit_test(test_dialect_load_allocation_failures),
	    cmocka_unit_test(test_dialect2_load_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
