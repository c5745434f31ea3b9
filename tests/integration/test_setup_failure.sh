#!/usr/bin/env bash
# A component whose setup fails stops the run with exit 1 before any event
# flows: stderr names it and the reason; the components already set up are
# cleaned up in reverse order; the failed one's cleanup does not run. With
# operator chaining on and off.
. "$(dirname "$0")/lib.sh" "$@"
TRACK=$(plugin track) || exit 1
FAIL=$(plugin fail_setup) || exit 1

# deployment DIR CHAINING: writes DIR/deployment.yaml (system name taken from
# DIR/architecture.yaml) with runtime.chaining set.
deployment() {
	cat >"$1/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: $(sed -n 's/^  name: //p' "$1/architecture.yaml")
runtime: {chaining: $2}
YAML
}

# setup_case CHAINING
setup_case() {
	local chaining=$1 d="$WORK/chaining-$1" name="run-chaining-$1"
	local M="$d/marker.txt"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
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
	deployment "$d" "$chaining"

	say "chaining $chaining: gen -> first (track) -> second (track) -> breaker (setup fails) -> sink"
	run_acrt "$name" 20 run "$d"
	expect_rc 1 "chaining $chaining: acrt run" "$WORK/$name.err" "$M"

	grep 'breaker' "$WORK/$name.err" | grep -q 'deliberate setup failure' ||
		fail "chaining $chaining: no stderr line names the component 'breaker' together with the reason 'deliberate setup failure'" "$WORK/$name.err"
	ok "chaining $chaining: stderr: $(grep 'breaker' "$WORK/$name.err" | grep 'deliberate setup failure' | head -1)"

	[ -f "$M" ] || fail "chaining $chaining: no marker file: the track components' setup did not run" "$WORK/$name.err"
	say "chaining $chaining: lifecycle markers: $(tr '\n' ',' <"$M")"
	py "$PY_PRELUDE"'
got = [l.strip() for l in open(sys.argv[1]) if l.strip()]
if "cleanup breaker" in got:
    die("the cleanup of breaker ran although its setup failed")
if any(l.startswith("process") for l in got):
    die("an event was processed although setup failed")
want = ["setup first", "setup second", "setup breaker", "cleanup second", "cleanup first"]
if got != want:
    die("expected the markers %r, got %r" % (want, got))
' "$M" || fail "chaining $chaining: the setup/cleanup sequence is wrong" "$M" "$WORK/$name.err"
	ok "chaining $chaining: setup first, second, breaker; then cleanup second, first (reverse order); breaker not cleaned up"
	grep -q 'cleanup track' "$WORK/$name.err" || fail "chaining $chaining: the INFO log 'cleanup track' is not on stderr" "$WORK/$name.err"
	ok "chaining $chaining: the components' INFO logs reach stderr"

	say "chaining $chaining: a built-in's setup failure: a file sink whose directory is a regular file"
	local b="$d/builtin" bname="builtin-chaining-$chaining"
	mkdir -p "$b"
	: >"$b/notadir"
	cat >"$b/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: builtinfail
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10}}
    - name: tracked
      implementation: plugin:$TRACK#track
      config: {marker: $b/marker.txt}
    - {name: badsink, type: Sink, config: {sink: file, path: notadir/out.jsonl}}
  bindings:
    - {from: gen.output, to: tracked.input}
    - {from: tracked.output, to: badsink.input}
YAML
	deployment "$b" "$chaining"
	run_acrt "$bname" 20 run "$b"
	expect_rc 1 "chaining $chaining: acrt run (unwritable sink)" "$WORK/$bname.err"
	grep 'badsink' "$WORK/$bname.err" | grep -q 'notadir' ||
		fail "chaining $chaining: no stderr line names the component 'badsink' and the path" "$WORK/$bname.err"
	ok "chaining $chaining: stderr: $(grep 'badsink' "$WORK/$bname.err" | grep 'notadir' | head -1)"
	grep -qx 'cleanup tracked' "$b/marker.txt" ||
		fail "chaining $chaining: the component set up before the sink was not cleaned up" "$b/marker.txt"
	ok "chaining $chaining: the component set up before it was cleaned up"
}

for chaining in true false; do
	setup_case "$chaining"
done
pass
