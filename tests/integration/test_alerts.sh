#!/usr/bin/env bash
# Alerting (docs/ALERTS.md): rules from runtime.alerts evaluated every second on
# the metrics. A `source: file` that follows a file the test appends to makes it
# deterministic: a burst of 50 events makes
#   many_events  acrt_component_events_out_total > 10 for 1 s  pending -> firing
#   burst        rate(acrt_component_events_in_total) > 5/s    firing -> resolved
#                (the rate falls back to 0 once the burst is over)
# Each transition is logged (one JSON line); active alerts are served at
# /api/v1/alerts with the read token; a webhook receiver started here (python3
# http.server, failing its first POST with 500 to exercise the retry) gets the
# Alertmanager v2 payloads, firing and resolved (endsAt); the sender thread
# `acrt-webhook` exists only then; at stop what is still firing resolves. An
# invalid rule fails the run (exit 1).
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

api_addr() {
	grep -o 'api listening on http://[^ "]*' "$1" | head -n1 | sed 's|.*http://||'
}
has_addr() { [ -n "$(api_addr "$1")" ]; }
logged() { grep -q "$1" "$WORK/run.err"; }

D="$WORK/sys"
mkdir -p "$D"
: >"$D/in.jsonl"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: alerting
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl, follow: true}}
    - {name: sink, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: src.output, to: sink.input}
YAML

# ---- the webhook receiver -----------------------------------------------------
HOOK_PORT=$(free_port)
cat >"$WORK/receiver.py" <<'PY'
import http.server, sys
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        n += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(b"%d %s %s\n" % (n, self.path.encode(), body))
        self.send_response(500 if n == 1 else 200)  # the first delivery fails: retried
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
"$PY" "$WORK/receiver.py" "$HOOK_PORT" "$WORK/hooks.txt" &
_BG_PIDS="$_BG_PIDS $!"

API_PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: alerting
runtime:
  api: {listen: "127.0.0.1:$API_PORT"}
  logging: {format: json}
  alerts:
    - {name: many_events, metric: acrt_component_events_out_total, op: ">", threshold: 10, for_s: 1, severity: info}
    - {name: burst, metric: acrt_component_events_in_total, rate: true, op: ">", threshold: 5, for_s: 0, severity: warning}
  alert_webhook: http://127.0.0.1:$HOOK_PORT/api/v2/alerts
YAML

start_acrt run run "$D"
wait_alive "$PID" 15 has_addr "$WORK/run.err" || fail "no 'api listening' line" "$WORK/run.err"
URL="http://$(api_addr "$WORK/run.err")"
RT="$D/.acrt/read.token"
grep -qx acrt-webhook /proc/"$PID"/task/*/comm || fail "no thread named acrt-webhook"
ok "the webhook sender thread acrt-webhook runs"

py 'import sys
with open(sys.argv[1], "a") as f:
    for i in range(50):
        f.write("{\"n\": %d}\n" % i)' "$D/in.jsonl"

wait_alive "$PID" 15 logged "alert 'many_events' firing" ||
	fail "many_events did not fire" "$WORK/run.err"
wait_alive "$PID" 15 logged "alert 'burst' resolved" ||
	fail "burst did not resolve" "$WORK/run.err"
ok "many_events fired, burst fired and resolved while running"

J=$(curl -s --max-time 10 -H "Authorization: Bearer $(cat "$RT")" "$URL/api/v1/alerts")
py 'import json, sys
a = json.loads(sys.argv[1])["alerts"]
m = [x for x in a if x["name"] == "many_events"]
if len(m) != 1: sys.exit("many_events not listed once: %r" % a)
x = m[0]
for k in ("name", "labels", "state", "severity", "active_since", "value"):
    if k not in x: sys.exit("field %s missing: %r" % (k, x))
if x["state"] != "firing" or x["labels"] != {"component": "src"} or x["severity"] != "info" or x["value"] != 50:
    sys.exit("unexpected: %r" % x)
if any(y["name"] == "burst" for y in a): sys.exit("burst is resolved but listed: %r" % a)' "$J" ||
	fail "/api/v1/alerts: $J"
ok "/api/v1/alerts lists many_events firing {component: src} = 50 (burst no longer)"
C=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/api/v1/alerts")
[ "$C" = 401 ] || fail "/api/v1/alerts without a token: $C, expected 401"
ok "/api/v1/alerts without a token: 401"

kill -INT "$PID"
wait_exit "$PID" 20 || fail "acrt did not stop on SIGINT" "$WORK/run.err"
expect_rc 0 "acrt run after SIGINT" "$WORK/run.err"

py "$PY_PRELUDE"'
recs = [r for r in log_records(sys.argv[1]) if "alert" in r and "state" in r]
seq = [(r["alert"], r["state"]) for r in recs]
# many_events still holds at stop: it ends with the system, it is not "resolved"
want = [("many_events", "pending"), ("many_events", "firing"), ("many_events", "ended"),
        ("burst", "firing"), ("burst", "resolved")]
for w in want:
    if w not in seq: die("transition %r not logged: %r" % (w, seq))
order = [s for a, s in seq if a == "many_events"]
if order != ["pending", "firing", "ended"]: die("many_events transitions: %r" % order)
end = [r for r in recs if r["alert"] == "many_events" and r["state"] == "ended"][0]
if end.get("reason") != "the system stopped while the condition held":
    die("the end at stop does not say the condition held: %r" % end)
for r in recs:
    for k in ("severity", "labels", "value", "threshold", "metric", "from"):
        if k not in r: die("transition line lacks %s: %r" % (k, r))
' "$WORK/run.err" || fail "transitions not logged as expected" "$WORK/run.err"
ok "every transition logged as one JSON line (many_events: pending, firing, ended at stop while it held)"

py 'import json, sys
posts = []
for line in open(sys.argv[1], "rb"):
    n, path, body = line.rstrip(b"\n").split(b" ", 2)
    if path != b"/api/v2/alerts": sys.exit("POST to %r" % path)
    posts.append(json.loads(body))
if len(posts) < 2 or posts[0] != posts[1]:
    sys.exit("the first delivery (answered 500) was not retried with the same payload: %r" % posts[:2])
alerts = [a for p in posts[1:] for a in p]
for a in alerts:
    for k in ("labels", "annotations", "startsAt", "generatorURL"):
        if k not in a: sys.exit("%s missing: %r" % (k, a))
    if not a["labels"].get("alertname") or not a["labels"].get("severity") or not a["annotations"].get("summary"):
        sys.exit("labels/annotations incomplete: %r" % a)
def got(name, resolved):
    return [a for a in alerts if a["labels"]["alertname"] == name and ("endsAt" in a) == resolved]
for name, comp in (("many_events", "src"), ("burst", "sink")):
    for resolved in (False, True):
        g = got(name, resolved)
        if not g: sys.exit("no %s payload for %s: %r" % ("resolved" if resolved else "firing", name, alerts))
        if g[0]["labels"].get("component") != comp: sys.exit("component label: %r" % g[0])
' "$WORK/hooks.txt" || fail "webhook payloads" "$WORK/hooks.txt"
ok "the receiver got Alertmanager v2 payloads (firing, then resolved with endsAt) for both rules, the first POST retried after a 500"

# ---- an invalid rule fails the run ----------------------------------------------
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: alerting
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  logging: {format: json}
  alerts:
    - {name: bad, metric: acrt_component_up, op: "~", threshold: 1}
YAML
run_acrt bad 20 run "$D"
expect_rc 2 "an invalid alert rule (refused by the loader, as acrt validate does)" "$WORK/bad.err"
grep -q "runtime.alerts\[0\] 'bad': 'op' must be" "$WORK/bad.err" || fail "no message naming the rule" "$WORK/bad.err"
ok "the error names the rule and the key"
pass
