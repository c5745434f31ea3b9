#!/usr/bin/env bash
# runtime.timeouts.startup_timeout_ms bounds the setup phase: a component whose
# setup blocks (60 s, ignoring everything) makes `acrt run` exit 1 soon after
# the timeout; stderr names the component and startup_timeout_ms; the component
# set up before it is cleaned up, the hung one is not, and the one after it is
# never set up. A setup that finishes within the timeout is not affected.
. "$(dirname "$0")/lib.sh" "$@"
TRACK=$(plugin track) || exit 1
SLOW=$(plugin slow_setup) || exit 1

# system DIR SECONDS TIMEOUT_MS CHAINING: gen -> first (track) -> sleeper
# (setup takes SECONDS) -> after (track) -> sink.
system() {
	local d=$1 secs=$2 tmo=$3 chaining=$4
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: slowstart
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10}}
    - name: first
      implementation: plugin:$TRACK#track
      config: {marker: $d/marker.txt}
    - name: sleeper
      implementation: plugin:$SLOW#slow_setup
      config: {seconds: $secs, marker: $d/marker.txt}
    - name: after
      implementation: plugin:$TRACK#track
      config: {marker: $d/marker.txt}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: first.input}
    - {from: first.output, to: sleeper.input}
    - {from: sleeper.output, to: after.input}
    - {from: after.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: slowstart
runtime:
  chaining: $chaining
  timeouts: {startup_timeout_ms: $tmo}
YAML
}

for chaining in true false; do
	d="$WORK/hung-chaining-$chaining" name="hung-chaining-$chaining"
	system "$d" 60 300 "$chaining"
	say "chaining $chaining: gen -> first -> sleeper (setup blocks 60 s) -> after -> sink; startup_timeout_ms: 300"
	t0=$(date +%s%N)
	run_acrt "$name" 20 run "$d"
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$RC" = 124 ] && fail "chaining $chaining: acrt was still running after 20 s: the startup timeout is not enforced" "$WORK/$name.err" "$d/marker.txt"
	expect_rc 1 "chaining $chaining: acrt run" "$WORK/$name.err" "$d/marker.txt"
	[ "$ms" -lt 5000 ] || fail "chaining $chaining: acrt took $ms ms to give up, expected well under 5 s (timeout 300 ms)" "$WORK/$name.err"
	ok "chaining $chaining: gave up after $ms ms"

	grep 'sleeper' "$WORK/$name.err" | grep -q 'startup_timeout_ms' ||
		fail "chaining $chaining: no stderr line names the component 'sleeper' together with 'startup_timeout_ms'" "$WORK/$name.err"
	ok "chaining $chaining: stderr: $(grep 'sleeper' "$WORK/$name.err" | grep 'startup_timeout_ms' | head -1)"

	[ -f "$d/marker.txt" ] || fail "chaining $chaining: no marker file: no setup ran" "$WORK/$name.err"
	say "chaining $chaining: lifecycle markers: $(tr '\n' ',' <"$d/marker.txt")"
	py '
import sys
got = [l.strip() for l in open(sys.argv[1]) if l.strip()]
want = ["setup first", "setup sleeper", "cleanup first"]
if got != want:
    sys.exit("expected the markers %r, got %r" % (want, got))
' "$d/marker.txt" || fail "chaining $chaining: the setup/cleanup sequence is wrong" "$d/marker.txt" "$WORK/$name.err"
	ok "chaining $chaining: first set up and cleaned up; sleeper abandoned (no cleanup); after never set up"
	[ ! -s "$d/out.jsonl" ] || fail "chaining $chaining: events reached the sink although the start failed" "$d/out.jsonl"
done

d="$WORK/slow-ok" name="slow-ok"
system "$d" 1 10000 true
say "control: sleeper's setup takes 1 s, startup_timeout_ms: 10000"
run_acrt "$name" 20 run "$d"
expect_rc 0 "acrt run (setup within the timeout)" "$WORK/$name.err" "$d/marker.txt"
py "$PY_PRELUDE"'
evs = load(sys.argv[1])
if [e.get("seq") for e in evs] != list(range(1, 11)):
    die("the sink should hold seq 1..10, got %r" % evs)
' "$d/out.jsonl" || fail "the sink of the control run is wrong" "$d/out.jsonl"
grep -qx 'cleanup sleeper' "$d/marker.txt" || fail "sleeper was not cleaned up in the control run" "$d/marker.txt"
ok "a 1 s setup within a 10 s startup timeout runs to the end (seq 1..10), all cleaned up"
pass
