#!/usr/bin/env bash
# A component whose setup fails stops the run with exit 1 before any event
# flows: stderr names it and the reason; the components already set up are
# cleaned up in reverse order; the failed one's cleanup does not run.
. "$(dirname "$0")/lib.sh" "$@"
TRACK=$(plugin track) || exit 1
FAIL=$(plugin fail_setup) || exit 1
M="$WORK/marker.txt"

cat >"$WORK/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: setupfail
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10}}
    - name: first
      implementation: plugin:$TRACK#track
      config: {marker: $M}
    - name: second
      implementation: plugin:$TRACK#track
      config: {marker: $M}
    - name: breaker
      implementation: plugin:$FAIL#fail_setup
      config: {marker: $M}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: first.input}
    - {from: first.output, to: second.input}
    - {from: second.output, to: breaker.input}
    - {from: breaker.output, to: out.input}
YAML

say "run: gen -> first (track) -> second (track) -> breaker (setup fails) -> sink"
run_acrt run 20 run "$WORK"
expect_rc 1 "acrt run" "$WORK/run.err" "$M"

grep 'breaker' "$WORK/run.err" | grep -q 'deliberate setup failure' ||
	fail "no stderr line names the component 'breaker' together with the reason 'deliberate setup failure'" "$WORK/run.err"
ok "stderr: $(grep 'breaker' "$WORK/run.err" | grep 'deliberate setup failure' | head -1)"

[ -f "$M" ] || fail "no marker file: the track components' setup did not run" "$WORK/run.err"
say "lifecycle markers: $(tr '\n' ',' <"$M")"
py "$PY_PRELUDE"'
got = [l.strip() for l in open(sys.argv[1]) if l.strip()]
if "cleanup breaker" in got:
    die("the cleanup of breaker ran although its setup failed")
if any(l.startswith("process") for l in got):
    die("an event was processed although setup failed")
want = ["setup first", "setup second", "setup breaker", "cleanup second", "cleanup first"]
if got != want:
    die("expected the markers %r, got %r" % (want, got))
' "$M" || fail "the setup/cleanup sequence is wrong" "$M" "$WORK/run.err"
ok "setup first, second, breaker; then cleanup second, first (reverse order); breaker not cleaned up"
grep -q 'cleanup track' "$WORK/run.err" || fail "the INFO log 'cleanup track' is not on stderr" "$WORK/run.err"
ok "the components' INFO logs reach stderr"

say "a built-in's setup failure: a file sink whose directory is a regular file"
mkdir -p "$WORK/builtin"
: >"$WORK/builtin/notadir"
cat >"$WORK/builtin/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: builtinfail
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10}}
    - name: tracked
      implementation: plugin:$TRACK#track
      config: {marker: $WORK/builtin/marker.txt}
    - {name: badsink, type: Sink, config: {sink: file, path: notadir/out.jsonl}}
  bindings:
    - {from: gen.output, to: tracked.input}
    - {from: tracked.output, to: badsink.input}
YAML
run_acrt builtin 20 run "$WORK/builtin"
expect_rc 1 "acrt run (unwritable sink)" "$WORK/builtin.err"
grep 'badsink' "$WORK/builtin.err" | grep -q 'notadir' ||
	fail "no stderr line names the component 'badsink' and the path" "$WORK/builtin.err"
ok "stderr: $(grep 'badsink' "$WORK/builtin.err" | grep 'notadir' | head -1)"
grep -qx 'cleanup tracked' "$WORK/builtin/marker.txt" ||
	fail "the component set up before the sink was not cleaned up" "$WORK/builtin/marker.txt"
ok "the component set up before it was cleaned up"
pass
