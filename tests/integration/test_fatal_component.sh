#!/usr/bin/env bash
# A component returning ACRT_EFATAL stops the whole system: exit 1, the error
# names the component and the reason, cleanups run, nothing after the fatal
# event reaches the sink.
. "$(dirname "$0")/lib.sh" "$@"
FATAL=$(plugin fatal) || exit 1
M="$WORK/marker.txt"

cat >"$WORK/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: fatalrun
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000}}
    - name: boom
      implementation: plugin:$FATAL#fatal
      config: {at: 10, marker: $M}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: boom.input, buffer_size: 16}
    - {from: boom.output, to: out.input, buffer_size: 16}
YAML

say "run: gen (100M, unthrottled) -> boom (EFATAL on its 10th event) -> sink"
run_acrt run 20 run "$WORK"
[ "$RC" = 124 ] && fail "acrt did not stop within 20 s after the fatal error" "$WORK/run.err"
expect_rc 1 "acrt run" "$WORK/run.err"

grep 'boom' "$WORK/run.err" | grep -q 'fatal at event 10' ||
	fail "no stderr line names the component 'boom' with the reason 'fatal at event 10'" "$WORK/run.err"
ok "stderr: $(grep 'boom' "$WORK/run.err" | grep 'fatal at event 10' | head -1)"

grep -qx 'cleanup boom' "$M" || fail "boom's cleanup did not run after the fatal error" "$M"
ok "boom was cleaned up"

py "$PY_PRELUDE"'
import os
evs = load(sys.argv[1]) if os.path.exists(sys.argv[1]) else []
seqs = [e.get("seq") for e in evs]
if seqs != list(range(1, len(seqs) + 1)) or len(seqs) > 9:
    die("the sink should hold a prefix of seq 1..9, got %r" % seqs[:20])
' "$WORK/out.jsonl" || fail "events after the fatal one reached the sink"
ok "the sink holds at most seq 1..9 ($(lines "$WORK/out.jsonl") lines)"
pass
