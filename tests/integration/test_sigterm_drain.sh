#!/usr/bin/env bash
# SIGTERM (and SIGINT): the source stops, events in flight drain to the sink,
# exit 0. The sink then holds a gap-free prefix 1..K of the sequence, each event
# once, and no partial last line.
. "$(dirname "$0")/lib.sh" "$@"

# drain_case SIGNAL
drain_case() {
	local sig=$1 d="$WORK/$1"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: drain
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10000000, rate_per_s: 20000}}
    - {name: xform, type: Transformer, config: {set: {seen: 1}}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xform.input, buffer_size: 4}
    - {from: xform.output, to: out.input, buffer_size: 4}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: drain
runtime:
  timeouts: {shutdown_timeout_ms: 5000}
YAML

	say "$sig: 10M events at 20000/s -> Transformer -> file sink (buffers of 4)"
	start_acrt "$sig" run "$d"
	wait_alive "$PID" 15 has_lines "$d/out.jsonl" 200 ||
		fail "$sig: the sink file did not reach 200 lines within 15 s" "$WORK/$sig.err"
	ok "$sig: the sink is being written ($(lines "$d/out.jsonl") lines)"

	kill -"$sig" "$PID"
	wait_exit "$PID" 10 || fail "$sig: acrt did not exit within 10 s" "$WORK/$sig.err"
	expect_rc 0 "$sig: acrt after SIG$sig" "$WORK/$sig.err"

	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
seqs = [e.get("seq") for e in evs]
k = len(seqs)
if k == 0:
    die("the sink is empty")
if seqs != list(range(1, k + 1)):
    bad = [(i + 1, s) for i, s in enumerate(seqs) if s != i + 1][:5]
    die("not the prefix 1..%d in order; first differences (line, seq): %r" % (k, bad))
if k >= 10000000:
    die("the source was not stopped")
if any(e.get("seen") != 1 for e in evs):
    die("events reached the sink without going through the Transformer")
print(k)
' "$d/out.jsonl" >"$d/k" || fail "$sig: the sink is not a clean prefix of the sequence" "$d/out.jsonl"
	ok "$sig: the sink holds seq 1..$(cat "$d/k"), each once, in order, no partial line"
}

drain_case TERM
drain_case INT
pass
