#!/usr/bin/env bash
# Bounded streams: a fast, unthrottled source feeding a component that never
# finishes an event must block (backpressure) instead of queueing without
# bound. The process's resident memory stays small while the source is blocked.
. "$(dirname "$0")/lib.sh" "$@"
HANG=$(plugin hang) || exit 1

PAD=$(printf 'x%.0s' $(seq 1 1024))
cat >"$WORK/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: backpressure
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, payload: {pad: "$PAD"}}}
    - name: stuck
      implementation: plugin:$HANG#hang
      config: {marker: $WORK/marker.txt}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: stuck.input, buffer_size: 4}
    - {from: stuck.output, to: out.input}
YAML
cat >"$WORK/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: backpressure
runtime:
  timeouts: {shutdown_timeout_ms: 500}
YAML

say "run: gen (100M events of 1 KiB, unthrottled) -> stuck (never finishes), buffer 4"
start_acrt run run "$WORK"
wait_alive "$PID" 10 grep -qsx "process stuck" "$WORK/marker.txt" ||
	fail "the stuck component never got an event" "$WORK/run.err"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0; }
MAX=0
sample() {
	local r
	r=$(rss_kb)
	[ "${r:-0}" -gt "$MAX" ] && MAX=$r
	alive "$PID" || fail "acrt exited while the source should be blocked" "$WORK/run.err"
	return 1 # keep sampling until the deadline
}
say "sample VmRSS every 50 ms for 1 s while the source is blocked"
wait_for 1 sample || true
LIMIT=65536
[ "$MAX" -gt 0 ] || fail "could not read VmRSS of $PID"
[ "$MAX" -lt "$LIMIT" ] ||
	fail "VmRSS reached $MAX KiB (limit $LIMIT KiB): the stream does not apply backpressure" "$WORK/run.err"
ok "VmRSS peaked at $MAX KiB (< $LIMIT KiB): the source is held back"

kill -TERM "$PID"
wait_exit "$PID" 5 || fail "acrt did not exit within 5 s of SIGTERM (shutdown_timeout_ms 500)" "$WORK/run.err"
[ "$RC" -lt 128 ] || fail "acrt was killed by signal $((RC - 128))" "$WORK/run.err"
ok "exited by itself with code $RC after the forced cancel"
pass
