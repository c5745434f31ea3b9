#!/usr/bin/env bash
# Operator chaining (runtime.chaining, default on): a linear pipeline of 1:1
# bindings runs on ONE component thread, the source's (the components below it
# are called on that thread); with `chaining: false` every component has its
# own thread. Threads are counted in /proc/PID/task/*/comm while a long,
# rate-limited run is going: component threads carry the component's name
# (truncated to 15 bytes), the main thread is `acrt`. Both modes deliver the
# same events. Chaining stops where the replica counts differ.
. "$(dirname "$0")/lib.sh" "$@"

# Names longer than 15 bytes, to check the truncation too.
SRC_NAME=generator_of_events
XF_NAME=xf
SINK_NAME=sink_into_a_file

# thread_names PID: the comm of each of its tasks, one a line, sorted.
thread_names() {
	cat /proc/"$1"/task/*/comm 2>/dev/null | sort
}

# chaining_case MODE XF_REPLICAS WANT...: MODE is true, false or default (no
# runtime key); WANT are the expected component thread names besides the main
# thread.
chaining_case() {
	local mode=$1 reps=$2 d="$WORK/chaining-$1-replicas-$2" name="run-chaining-$1-replicas-$2"
	shift 2
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: chain
  components:
    - {name: $SRC_NAME, type: Source, config: {generator: sequence, count: 10000000, rate_per_s: 2000}}
    - {name: $XF_NAME, type: Transformer, replicas: $reps, config: {set: {seen: 1}}}
    - {name: $SINK_NAME, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: $SRC_NAME.output, to: $XF_NAME.input}
    - {from: $XF_NAME.output, to: $SINK_NAME.input}
YAML
	if [ "$mode" != default ]; then
		cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: chain
runtime: {chaining: $mode}
YAML
	fi

	say "chaining $mode: $SRC_NAME (2000/s) -> $XF_NAME (replicas $reps) -> $SINK_NAME"
	start_acrt "$name" run "$d"
	# Events at the sink: every thread has started and is in its loop.
	wait_alive "$PID" 15 has_lines "$d/out.jsonl" 100 ||
		fail "chaining $mode: the sink file did not reach 100 lines within 15 s" "$WORK/$name.err"
	local got
	got=$(thread_names "$PID")
	alive "$PID" || fail "chaining $mode: acrt exited during the run" "$WORK/$name.err"
	say "chaining $mode: threads: $(echo "$got" | tr '\n' ' ')"

	py '
import sys
got = sorted(sys.argv[1].split())
want = sorted(["acrt"] + [w[:15] for w in sys.argv[2:]])
if got != want:
    sys.exit("expected the threads %r, got %r" % (want, got))
' "$got" "$@" || fail "chaining $mode: wrong set of threads" "$WORK/$name.err"
	ok "chaining $mode: threads are exactly: acrt $*"

	kill -TERM "$PID"
	wait_exit "$PID" 10 || fail "chaining $mode: acrt did not exit within 10 s of SIGTERM" "$WORK/$name.err"
	expect_rc 0 "chaining $mode: acrt after SIGTERM" "$WORK/$name.err"
	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
seqs = [e.get("seq") for e in evs]
if sys.argv[2] != "1":  # replicas may reorder: each once, gap-free
    seqs.sort()
if not seqs or seqs != list(range(1, len(seqs) + 1)):
    die("the sink is not a prefix 1..k of the sequence: %r" % seqs[:20])
if any(e.get("seen") != 1 for e in evs):
    die("events reached the sink without going through the Transformer")
' "$d/out.jsonl" "$reps" || fail "chaining $mode: wrong sink content" "$d/out.jsonl"
	ok "chaining $mode: the sink holds seq 1..$(lines "$d/out.jsonl") once each, all transformed"
}

chaining_case default 1 "$SRC_NAME"
chaining_case true 1 "$SRC_NAME"
chaining_case false 1 "$SRC_NAME" "$XF_NAME" "$SINK_NAME"
# 1 -> 2 -> 1 replicas: no binding is 1:1, so every instance has its thread.
chaining_case true 2 "$SRC_NAME" "$XF_NAME#0" "$XF_NAME#1" "$SINK_NAME"
pass
