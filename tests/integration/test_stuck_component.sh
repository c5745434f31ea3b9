#!/usr/bin/env bash
# Stop means stop (issue 17 part 1): a component stuck for ever in its code
# (a jq condition that never returns) is reported once it is past its
# timeout (an error line, /readyz 503, the component_stuck alert), and it
# cannot hold the process. SIGTERM starts
# the drain; at its deadline (timeouts.shutdown_timeout_ms) the run is
# cancelled; a thread that has not ended 5 s later is left behind and acrt
# exits 1 naming it. Before, acrt ran until SIGKILL, deaf to every signal.
. "$(dirname "$0")/lib.sh" "$@"

d="$WORK/stuck"
mkdir -p "$d"
cat >"$d/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: stuck
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100}}
    - name: spin
      type: Filter
      config: {where: 'if .seq == 3 then (def f: f; f) else true end'}
      capabilities:
        timeout: {ms: 500}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: spin.input}
    - {from: spin.output, to: out.input}
YAML
PORT=$(free_port)
printf 'schema_version: "1.0.0"\nruntime:\n  api: {listen: "127.0.0.1:%s"}\n  chaining: false\n  timeouts: {shutdown_timeout_ms: 1000}\n' \
	"$PORT" >"$d/deployment.yaml"
start_acrt stuck run "$d"
RUN=$PID
# spin has taken seq 3 (events_in counts it before process is called)
spinning() {
	[ -f "$d/.acrt/read.token" ] || return 1
	curl -s -H "Authorization: Bearer $(cat "$d/.acrt/read.token")" \
		"http://127.0.0.1:$PORT/api/v1/components/spin" 2>/dev/null |
		py 'import json, sys; sys.exit(0 if json.load(sys.stdin)["events_in"] >= 3 else 1)' 2>/dev/null
}
wait_alive "$RUN" 20 spinning || fail "spin never took seq 3" "$WORK/stuck.err"

# Reported while it spins: an error line, /readyz 503 naming it, the alert
stuck_logged() { grep -q '"component":"spin".*"msg":"stuck in process for' "$WORK/stuck.err"; }
wait_alive "$RUN" 20 stuck_logged || fail "spin is never reported stuck" "$WORK/stuck.err"
code=$(curl -s -o "$WORK/readyz.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$d/.acrt/read.token")" \
	"http://127.0.0.1:$PORT/readyz")
[ "$code" = 503 ] || fail "/readyz answers $code while spin is stuck, expected 503" "$WORK/readyz.json"
grep -q '"stuck in process"' "$WORK/readyz.json" || fail "/readyz does not say why" "$WORK/readyz.json"
alert_fired() { grep -q "alert 'component_stuck' firing" "$WORK/stuck.err"; }
wait_alive "$RUN" 10 alert_fired || fail "no component_stuck alert" "$WORK/stuck.err"
ok "stuck past its 500 ms timeout: logged, /readyz 503 naming it, component_stuck firing"
say "the Filter spins on seq 3; SIGTERM"
t0=$(date +%s%N)
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "acrt still runs 30 s after SIGTERM (stop does not mean stop)" "$WORK/stuck.err"
t1=$(date +%s%N)
expect_rc 1 "a run with a stuck component, stopped" "$WORK/stuck.err"
grep -q "component thread(s) did not stop within 5 s (stuck in a component's code): 'spin'" "$WORK/stuck.err" ||
	fail "the stuck thread is not named" "$WORK/stuck.err"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 15000 ] || fail "took $ms ms from SIGTERM to exit (drain 1 s + grace 5 s expected)" "$WORK/stuck.err"
ok "exit 1 ${ms} ms after SIGTERM (drain deadline 1 s, grace 5 s), the stuck 'spin' named"
pass
