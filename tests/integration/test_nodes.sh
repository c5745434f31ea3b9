#!/usr/bin/env bash
# Placement (docs/MULTINODE.md): `nodes:` in deployment.yaml and
# `acrt run --node NAME`. A node runs only its own components; nodes of one
# system run side by side from one directory, each with its own run lock and
# store; a node with a binding to another node whose broker cannot be
# reached fails at start (test_transport_*.sh run them against real
# brokers); without --node every node runs in one process; `acrt graph` draws each node as a cluster.
. "$(dirname "$0")/lib.sh" "$@"

# a: gen_a -> out_a and b: gen_b -> out_b stand alone; c: gen_c -> shape
# feeds out_d on node d across nodes.
SYS="$WORK/sys"
mkdir -p "$SYS"
cat >"$SYS/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: shop
  components:
    - {name: gen_a, type: Source, config: {generator: sequence, rate_per_s: 200}}
    - {name: out_a, type: Sink, config: {sink: file, path: out/a.jsonl}}
    - {name: gen_b, type: Source, config: {generator: sequence, rate_per_s: 200}}
    - {name: out_b, type: Sink, config: {sink: file, path: out/b.jsonl}}
    - {name: gen_c, type: Source, config: {generator: sequence, count: 7}}
    - {name: shape, type: Transformer}
    - {name: out_d, type: Sink, config: {sink: file, path: out/d.jsonl}}
  bindings:
    - {from: gen_a.output, to: out_a.input}
    - {from: gen_b.output, to: out_b.input}
    - {from: gen_c.output, to: shape.input}
    - {from: shape.output, to: out_d.input}
YAML
cat >"$SYS/deployment.yaml" <<YAML
nodes:
  a: {components: [gen_a, out_a]}
  b: {components: [gen_b, out_b]}
  c: {components: [gen_c, shape]}
  d: {components: [out_d]}
runtime:
  transport: {kind: nats, url: "nats://127.0.0.1:4222"}
  state: {adapter: sqlite_snapshot, checkpoint_interval_s: 0}
YAML

say "acrt validate: placement accepted"
run_acrt val 20 validate "$SYS"
expect_rc 0 "validate" "$WORK/val.err"
grep -q "7 components, 4 bindings, 4 nodes, 1 bindings across nodes" "$WORK/val.out" ||
	fail "validate does not count the nodes" "$WORK/val.out"
ok "validate counts 4 nodes and the one binding across them"

say "--node a and --node b side by side from one directory"
start_acrt node_a run "$SYS" --node a -q
PID_A=$PID
start_acrt node_b run "$SYS" --node b -q
PID_B=$PID
wait_alive "$PID_A" 20 has_lines "$SYS/out/a.jsonl" 20 || fail "node a writes nothing" "$WORK/node_a.err"
wait_alive "$PID_B" 20 has_lines "$SYS/out/b.jsonl" 20 || fail "node b writes nothing" "$WORK/node_b.err"
ok "both nodes run at once"
[ -f "$SYS/.acrt/a/run.lock" ] || fail "no run lock .acrt/a/run.lock" "$WORK/node_a.err"
[ -f "$SYS/.acrt/b/run.lock" ] || fail "no run lock .acrt/b/run.lock" "$WORK/node_b.err"
[ ! -e "$SYS/.acrt/run.lock" ] || fail "a node took the whole system's run lock"
ok "each node holds its own run lock (.acrt/a, .acrt/b)"
grep -q "node 'a': runs gen_a, out_a (2 of 7 components)" "$WORK/node_a.err" ||
	fail "node a does not say what it runs" "$WORK/node_a.err"
ok "node a says it runs gen_a, out_a (2 of 7)"
run_acrt again 20 run "$SYS" --node a -q
expect_rc 1 "a second --node a while the first runs" "$WORK/again.err"
grep -q "already running" "$WORK/again.err" || fail "no 'already running'" "$WORK/again.err"
for f in d.jsonl; do
	[ ! -e "$SYS/out/$f" ] || fail "out/$f written: a node ran another node's component"
done
kill -TERM "$PID_A" "$PID_B"
wait_exit "$PID_A" 20 || fail "node a does not stop on SIGTERM"
expect_rc 0 "node a drained" "$WORK/node_a.err"
wait_exit "$PID_B" 20 || fail "node b does not stop on SIGTERM"
expect_rc 0 "node b drained" "$WORK/node_b.err"
[ -f "$SYS/state/shop.a.db" ] || fail "no state/shop.a.db" "$WORK/node_a.err"
[ -f "$SYS/state/shop.b.db" ] || fail "no state/shop.b.db" "$WORK/node_b.err"
[ ! -e "$SYS/state/shop.db" ] || fail "a node used the whole system's store state/shop.db"
ok "each node checkpointed into its own store (state/shop.a.db, state/shop.b.db)"
[ ! -e "$SYS/.acrt/a" ] && [ ! -e "$SYS/.acrt/b" ] || fail "a node's .acrt directory is left"
ok "each node's .acrt/NODE is gone after a clean stop"

say "--node a --resume: the node's own checkpoint"
n_before=$(lines "$SYS/out/a.jsonl")
start_acrt resume_a run "$SYS" --node a --resume -q
wait_alive "$PID" 20 grep -q "resuming from checkpoint" "$WORK/resume_a.err" ||
	fail "node a does not resume" "$WORK/resume_a.err"
kill -TERM "$PID"
wait_exit "$PID" 20 || fail "node a does not stop on SIGTERM"
expect_rc 0 "node a resumed and drained" "$WORK/resume_a.err"
[ "$(lines "$SYS/out/a.jsonl")" -ge "$n_before" ] || fail "out/a.jsonl shrank"

say "a node whose broker cannot be reached fails at start, naming the binding"
run_acrt node_c 20 run "$SYS" --node c -q
expect_rc 1 "--node c (no nats-server on port 4222)" "$WORK/node_c.err"
grep -q "binding shape.output->out_d.input crosses nodes: cannot open its nats transport" \
	"$WORK/node_c.err" || fail "the failure does not name the binding" "$WORK/node_c.err"
run_acrt node_d 20 run "$SYS" --node d -q
expect_rc 1 "--node d (the consuming side)" "$WORK/node_d.err"
grep -q "binding shape.output->out_d.input crosses nodes" "$WORK/node_d.err" ||
	fail "the failure does not name the binding" "$WORK/node_d.err"
[ ! -e "$SYS/out/d.jsonl" ] || fail "a node that failed at start wrote its sink"
ok "nodes c and d fail at start before writing anything"

say "bad --node"
run_acrt nope 20 run "$SYS" --node nope -q
expect_rc 2 "--node nope" "$WORK/nope.err"
grep -q "no such node (the deployment's nodes: a, b, c, d)" "$WORK/nope.err" ||
	fail "no list of the nodes" "$WORK/nope.err"
run_acrt watch 20 run "$SYS" --node a --watch -q
expect_rc 2 "--node a --watch" "$WORK/watch.err"
run_acrt noarg 20 run "$SYS" -q --node
expect_rc 2 "--node without a name" "$WORK/noarg.err"
mkdir -p "$WORK/plain"
cat >"$WORK/plain/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: plain
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 3}}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
run_acrt plain 20 run "$WORK/plain" --node=a -q
expect_rc 2 "--node on a deployment without nodes:" "$WORK/plain.err"
grep -q "the deployment has no nodes:" "$WORK/plain.err" || fail "no reason given" "$WORK/plain.err"

say "without --node every node runs in this process, every binding local"
rm -rf "$SYS/out"
cat >"$WORK/all.yaml" <<YAML
nodes:
  a: {components: [gen_a, out_a]}
  b: {components: [gen_b, out_b]}
  c: {components: [gen_c, shape]}
  d: {components: [out_d]}
runtime:
  transport: {kind: nats, url: "nats://127.0.0.1:4222"}
YAML
# bounded sources for a run that ends by itself
sed -e 's/rate_per_s: 200/count: 5/' "$SYS/architecture.yaml" >"$WORK/all_arch.yaml"
mkdir -p "$WORK/all"
cp "$WORK/all_arch.yaml" "$WORK/all/architecture.yaml"
cp "$WORK/all.yaml" "$WORK/all/deployment.yaml"
run_acrt all 30 run "$WORK/all" -q
expect_rc 0 "the whole system" "$WORK/all.err"
for f in a b; do
	[ "$(lines "$WORK/all/out/$f.jsonl")" = 5 ] || fail "out/$f.jsonl: not 5 lines" "$WORK/all.err"
done
[ "$(lines "$WORK/all/out/d.jsonl")" = 7 ] || fail "out/d.jsonl: not 7 lines" "$WORK/all.err"
grep -q "every node (a, b, c, d) runs in this process" "$WORK/all.err" ||
	fail "no line saying every node runs here" "$WORK/all.err"
ok "all four nodes ran in one process (the cross-node binding local)"

say "acrt graph: one cluster per node"
run_acrt dot 10 graph "$SYS"
expect_rc 0 "acrt graph" "$WORK/dot.err"
for n in a b c d; do
	grep -q "^  subgraph \"cluster_$n\" {" "$WORK/dot.out" || fail "no cluster_$n" "$WORK/dot.out"
done
py 'import re, sys
text = open(sys.argv[1]).read()
want = {"a": ["gen_a", "out_a"], "b": ["gen_b", "out_b"], "c": ["gen_c", "shape"], "d": ["out_d"]}
for node, comps in want.items():
    m = re.search(r"subgraph \"cluster_%s\" \{(.*?)\n  \}" % node, text, re.S)
    if not m:
        sys.exit("no cluster for " + node)
    got = re.findall(r"^    \"(\w+)\" \[label=", m.group(1), re.M)
    if got != comps:
        sys.exit("cluster %s holds %s, expected %s" % (node, got, comps))
' "$WORK/dot.out" || fail "clusters do not hold their components" "$WORK/dot.out"
grep -q '"shape" -> "out_d" \[label="output -> input\\nbuffer 1024\\nacross nodes: nats", penwidth=2\]' \
	"$WORK/dot.out" || fail "the binding across nodes is not marked" "$WORK/dot.out"
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg "$WORK/dot.out" >"$WORK/dot.svg" 2>"$WORK/dot.svg.err" ||
		fail "dot -Tsvg rejects the output" "$WORK/dot.svg.err" "$WORK/dot.out"
	ok "dot -Tsvg renders it"
fi
ok "four clusters, each with its components; the cross-node edge marked"
run_acrt mm 10 graph "$SYS" --format mermaid
expect_rc 0 "acrt graph --format mermaid" "$WORK/mm.err"
[ "$(grep -c '^  subgraph node_[0-9]* \["node [a-d]"\]$' "$WORK/mm.out")" = 4 ] ||
	fail "not 4 Mermaid subgraphs" "$WORK/mm.out"
[ "$(grep -c '^  end$' "$WORK/mm.out")" = 4 ] || fail "subgraphs not closed" "$WORK/mm.out"
ok "four Mermaid subgraphs"

pass
