#!/usr/bin/env bash
# More component threads than cores: with chaining off, a source of 200000
# events -> 10 Transformers in a line -> file sink is 12 threads (on a 2-core
# machine, say) passing events through 11 bounded streams. It must complete
# promptly, exit 0, and the sink must hold seq 1..200000 exactly once, in
# order, each event through all 10 Transformers.
. "$(dirname "$0")/lib.sh" "$@"

N=200000
STAGES=10
d="$WORK/sys"
mkdir -p "$d"
{
	cat <<YAML
schema_version: "1.0.0"
system:
  name: many
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N}}
YAML
	for i in $(seq 1 $STAGES); do
		echo "    - {name: t$i, type: Transformer, config: {set: {t$i: $i}}}"
	done
	echo "    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}"
	echo "  bindings:"
	echo "    - {from: gen.output, to: t1.input}"
	for i in $(seq 1 $((STAGES - 1))); do
		echo "    - {from: t$i.output, to: t$((i + 1)).input}"
	done
	echo "    - {from: t$STAGES.output, to: out.input}"
} >"$d/architecture.yaml"
cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: many
runtime: {chaining: false}
YAML

say "chaining off: gen ($N events) -> t1 -> ... -> t$STAGES -> file sink: $((STAGES + 2)) threads on $(nproc) core(s)"
t0=$(date +%s%N)
run_acrt run 60 run "$d"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$RC" = 124 ] && fail "acrt did not finish within 60 s" "$WORK/run.err"
expect_rc 0 "acrt run" "$WORK/run.err"
ok "finished in $ms ms"

grep -q "$((STAGES + 2)) component(s), $((STAGES + 1)) stream(s)" "$WORK/run.err" ||
	fail "the start log line does not report $((STAGES + 2)) components and $((STAGES + 1)) streams (is chaining off?)" "$WORK/run.err"
ok "$((STAGES + 2)) components, $((STAGES + 1)) streams"

py "$PY_PRELUDE"'
n, stages = int(sys.argv[2]), int(sys.argv[3])
evs = load(sys.argv[1])
seqs = [e.get("seq") for e in evs]
if seqs != list(range(1, n + 1)):
    bad = [(i + 1, s) for i, s in enumerate(seqs) if s != i + 1][:5]
    die("the sink does not hold seq 1..%d once each in order (%d lines); first differences (line, seq): %r" % (n, len(seqs), bad))
want = {"t%d" % i: i for i in range(1, stages + 1)}
for e in evs:
    if any(e.get(k) != v for k, v in want.items()):
        die("an event missed a Transformer: %r" % e)
' "$d/out.jsonl" "$N" "$STAGES" || fail "the sink content is wrong" "$d/out.jsonl"
ok "the sink holds seq 1..$N exactly once, in order, through all $STAGES Transformers"
pass
