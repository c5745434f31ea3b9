#!/usr/bin/env bash
# replicas: 4 runs four instances sharing one input stream: every event is
# processed exactly once, and each instance has its own named thread.
. "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$WORK/once" "$WORK/threads"
cat >"$WORK/once/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: replicated
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10000}}
    - {name: xform, type: Transformer, replicas: 4, config: {set: {done: true}}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xform.input, buffer_size: 16}
    - {from: xform.output, to: out.input, buffer_size: 16}
YAML

say "run: gen (10000) -> xform (replicas: 4) -> file sink"
run_acrt run 25 run "$WORK/once"
expect_rc 0 "acrt run" "$WORK/run.err"
py "$PY_PRELUDE"'
import collections
evs = load(sys.argv[1])
c = collections.Counter(e.get("seq") for e in evs)
dups = sorted(k for k, n in c.items() if n > 1)
missing = sorted(set(range(1, 10001)) - set(c))
extra = sorted(set(c) - set(range(1, 10001)))
if dups or missing or extra or len(evs) != 10000:
    die("%d lines; duplicated %r; missing %r; unexpected %r" % (len(evs), dups[:5], missing[:5], extra[:5]))
if not all(e.get("done") is True for e in evs):
    die("some events were not transformed")
' "$WORK/once/out.jsonl" || fail "the sink does not hold seq 1..10000 exactly once"
ok "the sink holds each of seq 1..10000 exactly once, all transformed"

cat >"$WORK/threads/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: threads
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 1000}}
    - {name: xform, type: Transformer, replicas: 4}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: xform.input}
    - {from: xform.output, to: out.input}
YAML

say "long run (rate-limited source): look for the replicas' threads in /proc"
start_acrt long run "$WORK/threads"
xform_threads() {
	# Thread names (comm, at most 15 chars) that contain the component name.
	cat /proc/"$PID"/task/*/comm 2>/dev/null | grep -c 'xform'
}
four_threads() { [ "$(xform_threads)" -ge 4 ]; }
if ! wait_alive "$PID" 10 four_threads; then
	names=$(cat /proc/"$PID"/task/*/comm 2>/dev/null | tr '\n' ' ')
	fail "expected >= 4 threads named after 'xform', found $(xform_threads); thread names: $names" "$WORK/long.err"
fi
ok "$(xform_threads) threads named after xform: $(cat /proc/"$PID"/task/*/comm | grep xform | sort | tr '\n' ' ')"

kill -TERM "$PID"
wait_exit "$PID" 10 || fail "acrt did not exit within 10 s of SIGTERM" "$WORK/long.err"
expect_rc 0 "SIGTERM on the long run" "$WORK/long.err"
pass
