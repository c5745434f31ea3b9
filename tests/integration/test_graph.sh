#!/usr/bin/env bash
# `acrt graph`: DOT that Graphviz renders, a Mermaid flowchart, every node and
# edge of a fan-out blueprint present, exit 2 on an invalid blueprint.
. "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$WORK/sys"
cat >"$WORK/sys/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: fan
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 5}}
    - {name: enrich, type: Transformer, replicas: 3, capabilities: {retry: {max_attempts: 3}, timeout: {ms: 50}}}
    - {name: s1, type: Sink, config: {sink: "null"}}
    - {name: s2, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: [s1.input, enrich.input], buffer_size: 8}
    - {from: enrich.output, to: s2.input, buffer_size: 16}
YAML

say "acrt graph (default: dot)"
run_acrt dot 10 graph "$WORK/sys"
expect_rc 0 "acrt graph" "$WORK/dot.err"
head -1 "$WORK/dot.out" | grep -q '^digraph "fan" {' || fail "not a DOT digraph" "$WORK/dot.out"
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg "$WORK/dot.out" >"$WORK/dot.svg" 2>"$WORK/dot.svg.err" ||
		fail "dot -Tsvg rejects the output" "$WORK/dot.svg.err" "$WORK/dot.out"
	grep -q '<svg' "$WORK/dot.svg" || fail "dot -Tsvg produced no SVG"
	ok "dot -Tsvg renders it"
else
	say "  (graphviz not installed: rendering not checked)"
fi
for n in gen enrich s1 s2; do
	grep -q "^  \"$n\" \[label=\"$n" "$WORK/dot.out" || fail "no node for $n" "$WORK/dot.out"
done
grep -q '"enrich" \[label="enrich\\nTransformer\\nreplicas: 3\\ncapabilities: retry, timeout"' \
	"$WORK/dot.out" || fail "enrich's label lacks type, replicas or capabilities" "$WORK/dot.out"
for e in '"gen" -> "s1" \[label="output -> input\\nbuffer 8"' \
	'"gen" -> "enrich" \[label="output -> input\\nbuffer 8"' \
	'"enrich" -> "s2" \[label="output -> input\\nbuffer 16"'; do
	grep -q "$e" "$WORK/dot.out" || fail "missing edge $e" "$WORK/dot.out"
done
[ "$(grep -c -- '->' "$WORK/dot.out")" = 3 ] || fail "expected 3 edges" "$WORK/dot.out"
ok "4 nodes and 3 edges (fan-out expanded)"

say "acrt graph --format mermaid"
run_acrt mm 10 graph "$WORK/sys/architecture.yaml" --format mermaid
expect_rc 0 "acrt graph --format mermaid" "$WORK/mm.err"
[ "$(head -1 "$WORK/mm.out")" = "flowchart LR" ] || fail "does not start with 'flowchart LR'" "$WORK/mm.out"
for n in gen enrich s1 s2; do
	grep -q "\[\"$n<br/>" "$WORK/mm.out" || fail "no mermaid node for $n" "$WORK/mm.out"
done
[ "$(grep -c -- '-->|' "$WORK/mm.out")" = 3 ] || fail "expected 3 mermaid edges" "$WORK/mm.out"
grep -q 'buffer 16' "$WORK/mm.out" || fail "edge labels lack the buffer size" "$WORK/mm.out"
ok "flowchart with 4 nodes and 3 edges"

say "acrt graph --format bogus"
run_acrt badfmt 10 graph "$WORK/sys" --format bogus
expect_rc 2 "unknown format" "$WORK/badfmt.err"

say "acrt graph of an invalid blueprint"
mkdir -p "$WORK/bad"
sed 's/to: s2.input/to: nowhere.input/' "$WORK/sys/architecture.yaml" >"$WORK/bad/architecture.yaml"
run_acrt bad 10 graph "$WORK/bad"
expect_rc 2 "acrt graph (invalid)" "$WORK/bad.out" "$WORK/bad.err"
grep -q 'architecture.yaml:[0-9]*:[0-9]*:.*nowhere' "$WORK/bad.err" ||
	fail "the error does not name file:line:col and 'nowhere'" "$WORK/bad.err"
[ ! -s "$WORK/bad.out" ] || fail "an invalid blueprint printed a graph" "$WORK/bad.out"
ok "$(head -1 "$WORK/bad.err")"
pass
