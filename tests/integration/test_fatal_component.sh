#!/usr/bin/env bash
# A component returning ACRT_EFATAL stops the whole system: exit 1, the error
# names the component and the reason, cleanups run, nothing after the fatal
# event reaches the sink. With operator chaining on (one thread) and off (a
# thread and a stream per component).
. "$(dirname "$0")/lib.sh" "$@"
FATAL=$(plugin fatal) || exit 1

# fatal_case CHAINING
fatal_case() {
	local chaining=$1 d="$WORK/chaining-$1" name="run-chaining-$1"
	local M="$d/marker.txt"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
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
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: fatalrun
runtime: {chaining: $chaining}
YAML

	say "chaining $chaining: gen (100M, unthrottled) -> boom (EFATAL on its 10th event) -> sink"
	run_acrt "$name" 20 run "$d"
	[ "$RC" = 124 ] && fail "chaining $chaining: acrt did not stop within 20 s after the fatal error" "$WORK/$name.err"
	expect_rc 1 "chaining $chaining: acrt run" "$WORK/$name.err"

	grep 'boom' "$WORK/$name.err" | grep -q 'fatal at event 10' ||
		fail "chaining $chaining: no stderr line names the component 'boom' with the reason 'fatal at event 10'" "$WORK/$name.err"
	ok "chaining $chaining: stderr: $(grep 'boom' "$WORK/$name.err" | grep 'fatal at event 10' | head -1)"

	grep -qx 'cleanup boom' "$M" || fail "chaining $chaining: boom's cleanup did not run after the fatal error" "$M"
	ok "chaining $chaining: boom was cleaned up"

	py "$PY_PRELUDE"'
import os
evs = load(sys.argv[1]) if os.path.exists(sys.argv[1]) else []
seqs = [e.get("seq") for e in evs]
if seqs != list(range(1, len(seqs) + 1)) or len(seqs) > 9:
    die("the sink should hold a prefix of seq 1..9, got %r" % seqs[:20])
' "$d/out.jsonl" || fail "chaining $chaining: events after the fatal one reached the sink"
	ok "chaining $chaining: the sink holds at most seq 1..9 ($(lines "$d/out.jsonl") lines)"
}

for chaining in true false; do
	fatal_case "$chaining"
done
pass
