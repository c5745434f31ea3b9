#!/usr/bin/env bash
# The HTTP API (SPEC section 7, docs/API.md), against a running system with a
# rate-limited source: bearer auth (401 + WWW-Authenticate, 403, 200), the
# generated token files (0600, removed at stop), /readyz, the JSON routes, the
# request size limit (413), /metrics accepted by `promtool check metrics`, a
# real Prometheus server scraping acrt with the read token, 1000 idle
# connections not stopping a scrape, an explicit address that is busy (exit 1),
# and the fallback to an ephemeral port when the default one is busy.
. "$(dirname "$0")/lib.sh" "$@"

for t in curl promtool prometheus; do
	command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh installs it)"
done

# api_addr ERRFILE: the address from the `api listening on http://ADDR` line.
api_addr() {
	grep -o 'api listening on http://[^ "]*' "$1" | head -n1 | sed 's|.*http://||'
}
has_addr() { [ -n "$(api_addr "$1")" ]; }

# code METHOD URL [CURL ARGS...]: prints the HTTP status.
code() {
	local m=$1 u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$m" "$@" "$u"
}

D="$WORK/sys"
mkdir -p "$D/secrets"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: apitest
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 500}}
    - {name: xf, type: Transformer, replicas: 2, config: {set: {seen: 1}}}
    - {name: sink, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: sink.input}
YAML

# ---- 1. generated tokens, default-ish listen on a free port -------------------
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: apitest
runtime:
  api: {listen: "127.0.0.1:$PORT"}
  logging: {format: json}
YAML
start_acrt gen run "$D"
wait_alive "$PID" 15 has_addr "$WORK/gen.err" || fail "no 'api listening' line" "$WORK/gen.err"
ADDR=$(api_addr "$WORK/gen.err")
[ "$ADDR" = "127.0.0.1:$PORT" ] || fail "listening on $ADDR, expected 127.0.0.1:$PORT" "$WORK/gen.err"
ok "api listening on $ADDR"
URL="http://$ADDR"
RT="$D/.acrt/read.token"
WT="$D/.acrt/write.token"
for f in "$RT" "$WT"; do
	[ -s "$f" ] || fail "generated token file $f is missing" "$WORK/gen.err"
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), expected 600"
	grep -q "$f" "$WORK/gen.err" || fail "the path $f is not logged" "$WORK/gen.err"
done
[ "$(stat -c %a "$D/.acrt")" = 700 ] || fail "$D/.acrt has mode $(stat -c %a "$D/.acrt")"
ok "generated token files exist with mode 600 (directory 700), their paths logged"
R=$(cat "$RT")
W=$(cat "$WT")
if grep -q -e "$R" -e "$W" "$WORK/gen.err"; then fail "a token appears in the log"; fi
ok "no token in the log"

AR=(-H "Authorization: Bearer $R")
AW=(-H "Authorization: Bearer $W")
for u in /healthz /readyz /metrics /api/v1/system /api/v1/components/xf /api/v1/alerts \
	/api/v1/checkpoints; do
	c=$(code GET "$URL$u")
	[ "$c" = 401 ] || fail "GET $u without a token: $c, expected 401"
	c=$(code GET "$URL$u" -H "Authorization: Bearer wrong$R")
	[ "$c" = 401 ] || fail "GET $u with a wrong token: $c, expected 401"
	c=$(code GET "$URL$u" "${AR[@]}")
	[ "$c" = 200 ] || fail "GET $u with the read token: $c, expected 200"
	c=$(code GET "$URL$u" "${AW[@]}")
	[ "$c" = 200 ] || fail "GET $u with the write token: $c, expected 200"
done
ok "read routes: 401 without or with a wrong token, 200 with the read or write token"
curl -s -D "$WORK/h401" -o /dev/null "$URL/metrics"
grep -qi '^WWW-Authenticate: Bearer' "$WORK/h401" || fail "401 without WWW-Authenticate: Bearer" "$WORK/h401"
ok "401 carries WWW-Authenticate: Bearer"
for u in /api/v1/reload /api/v1/checkpoints; do
	c=$(code POST "$URL$u")
	[ "$c" = 401 ] || fail "POST $u without a token: $c, expected 401"
	c=$(code POST "$URL$u" "${AR[@]}")
	[ "$c" = 403 ] || fail "POST $u with the read token: $c, expected 403"
	c=$(code POST "$URL$u" "${AW[@]}")
	want=202 # a reload (nothing changed: logged, nothing done)
	[ "$u" = /api/v1/checkpoints ] && want=409 # no runtime.state here
	[ "$c" = "$want" ] || fail "POST $u with the write token: $c, expected $want"
done
ok "write routes: 401 without a token, 403 with the read token, past auth with the write token"
c=$(code GET "$URL/api/v1/components/nosuch" "${AR[@]}")
[ "$c" = 404 ] || fail "unknown component: $c, expected 404"
head -c 100000 /dev/zero >"$WORK/big"
c=$(code POST "$URL/api/v1/reload" "${AW[@]}" --data-binary @"$WORK/big")
[ "$c" = 413 ] || fail "a 100000-byte body: $c, expected 413"
# chunked: no Content-Length to check before answering; it used to get 202
c=$(code POST "$URL/api/v1/reload" "${AW[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$WORK/big")
[ "$c" = 411 ] || fail "a chunked 100000-byte body: $c, expected 411"
ok "a request body over the limit is refused with 413; a chunked one with 411"

curl -s "${AR[@]}" "$URL/readyz" >"$WORK/ready.json"
curl -s "${AR[@]}" "$URL/api/v1/system" >"$WORK/system.json"
curl -s "${AR[@]}" "$URL/api/v1/components/xf" >"$WORK/xf.json"
py '
import json, sys
r = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2])); x = json.load(open(sys.argv[3]))
assert r["ready"] is True and r["reasons"] == [], r
assert s["system"] == "apitest" and s["ready"] is True, s
assert [c["name"] for c in s["components"]] == ["gen", "xf", "sink"], s["components"]
assert len(s["streams"]) == 2 and all(t["capacity"] > 0 for t in s["streams"]), s["streams"]
assert s["process"]["threads"] > 0, s["process"]
assert x["name"] == "xf" and x["replicas"] == 2 and x["setup"] == "done" and x["up"], x
assert len(x["instances"]) == 2, x
' "$WORK/ready.json" "$WORK/system.json" "$WORK/xf.json" || fail "wrong JSON" "$WORK/ready.json" "$WORK/system.json"
ok "/readyz 200 ready; /api/v1/system and /api/v1/components/xf hold the system"

curl -s "${AR[@]}" "$URL/metrics" >"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 ||
	fail "promtool check metrics failed" "$WORK/promtool.out" "$WORK/metrics.txt"
[ -s "$WORK/promtool.out" ] && fail "promtool check metrics warned" "$WORK/promtool.out"
for m in acrt_component_events_in_total acrt_component_events_out_total \
	acrt_component_errors_total acrt_component_up acrt_stream_depth acrt_stream_capacity \
	acrt_stream_fill_ratio acrt_stream_producer_blocked_seconds_total \
	acrt_process_resident_memory_bytes acrt_process_cpu_seconds_total acrt_process_open_fds \
	acrt_process_threads; do
	grep -q "^# TYPE $m " "$WORK/metrics.txt" || fail "/metrics lacks $m" "$WORK/metrics.txt"
done
ok "/metrics passes promtool check metrics with no warnings and has every metric"

# ---- 2. 1000 idle connections do not stop a scrape ------------------------------
# From 100 loopback addresses, 10 each: one address may hold only 16 (docs/
# SECURITY.md, "Hostile clients"); the scrape comes from yet another one.
py '
import http.client, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
socks = []
for i in range(1000):
    s = socket.create_connection((host, int(port)), timeout=5,
                                 source_address=("127.0.1.%d" % (1 + i // 10), 0))
    socks.append(s)
time.sleep(0.3)
t0 = time.time()
c = http.client.HTTPConnection(host, int(port), timeout=5, source_address=("127.0.0.2", 0))
c.request("GET", "/metrics", headers={"Authorization": "Bearer " + sys.argv[2]})
r = c.getresponse()
assert r.status == 200, r.status
body = r.read().decode()
dt = time.time() - t0
assert "acrt_component_events_out_total" in body
print("scrape with 1000 idle connections open: %.3f s" % dt)
assert dt < 2, dt
for s in socks:
    s.close()
' "$ADDR" "$R" || fail "a scrape failed while 1000 idle connections were open" "$WORK/gen.err"
ok "1000 idle connections do not stop a scrape"

# ---- 3. a real Prometheus server scrapes acrt with the read token ------------------
PPORT=$(free_port)
mkdir -p "$WORK/prom"
cat >"$WORK/prom/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: acrt
    authorization: {type: Bearer, credentials_file: $RT}
    static_configs: [{targets: ["$ADDR"]}]
YAML
promtool check config "$WORK/prom/prometheus.yml" >"$WORK/promcfg.out" 2>&1 ||
	fail "bad prometheus config" "$WORK/promcfg.out"
prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
	--web.listen-address="127.0.0.1:$PPORT" >"$WORK/prom.out" 2>&1 &
PROM=$!
_BG_PIDS="$_BG_PIDS $PROM"
prom_sees() {
	py '
import json, sys, urllib.request, urllib.parse
base = "http://127.0.0.1:%s/api/v1/" % sys.argv[1]
t = json.load(urllib.request.urlopen(base + "targets", timeout=2))
act = t["data"]["activeTargets"]
if not act or act[0]["health"] != "up":
    sys.exit(1)
q = urllib.parse.quote("sum(acrt_component_events_out_total)")
r = json.load(urllib.request.urlopen(base + "query?query=" + q, timeout=2))
res = r["data"]["result"]
if not res or float(res[0]["value"][1]) <= 0:
    sys.exit(1)
print("prometheus: target up, sum(acrt_component_events_out_total) = %s" % res[0]["value"][1])
' "$PPORT" 2>/dev/null
}
wait_alive "$PROM" 60 prom_sees || fail "Prometheus did not see the target up with events out" "$WORK/prom.out"
ok "Prometheus scraped acrt with the read token: target up, events out > 0"
kill -TERM "$PROM"
wait "$PROM" 2>/dev/null

alive "$PID" || fail "acrt exited during the API checks" "$WORK/gen.err"
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "acrt did not exit within 15 s of SIGTERM" "$WORK/gen.err"
expect_rc 0 "acrt after SIGTERM" "$WORK/gen.err"
[ ! -e "$RT" ] && [ ! -e "$WT" ] || fail "generated token files were not removed at stop"
ok "generated token files removed at stop"

# ---- 4. configured token files; an explicit address that is busy ------------------
printf 'read-secret-%s\n' "$RANDOM" >"$D/secrets/read.token"
printf 'write-secret-%s\n' "$RANDOM" >"$D/secrets/write.token"
chmod 600 "$D/secrets/"*.token
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: apitest
runtime:
  api:
    listen: "127.0.0.1:$PORT"
    auth: {read_token_file: secrets/read.token, write_token_file: secrets/write.token}
  logging: {format: json}
YAML
start_acrt conf run "$D"
wait_alive "$PID" 15 has_addr "$WORK/conf.err" || fail "no 'api listening' line" "$WORK/conf.err"
[ ! -e "$D/.acrt/read.token" ] || fail "a token was generated although both are configured"
c=$(code GET "http://127.0.0.1:$PORT/metrics" -H "Authorization: Bearer $(cat "$D/secrets/read.token")")
[ "$c" = 200 ] || fail "configured read token: $c"
c=$(code POST "http://127.0.0.1:$PORT/api/v1/reload" -H "Authorization: Bearer $(cat "$D/secrets/read.token")")
[ "$c" = 403 ] || fail "configured read token on a write route: $c"
c=$(code POST "http://127.0.0.1:$PORT/api/v1/reload" -H "Authorization: Bearer $(cat "$D/secrets/write.token")")
[ "$c" = 202 ] || fail "configured write token: $c"
ok "configured token files (relative to the blueprint) are used"
FIRST=$PID
# The second system from a copy: one directory runs one system (its run lock
# would refuse it before the address is tried, test_one_instance.sh).
cp -r "$D" "$WORK/second" && rm -rf "$WORK/second/.acrt"
run_acrt busy 20 run "$WORK/second"
expect_rc 1 "a second system on the same explicit address" "$WORK/busy.err"
grep -q "cannot listen on 127.0.0.1:$PORT" "$WORK/busy.err" || fail "no error naming the address" "$WORK/busy.err"
ok "an explicit address that cannot be bound: error logged, exit 1"
kill -TERM "$FIRST"
wait_exit "$FIRST" 15 || fail "acrt did not exit within 15 s of SIGTERM" "$WORK/conf.err"
expect_rc 0 "acrt after SIGTERM" "$WORK/conf.err"

# ---- 5. the default port busy: an ephemeral port, with a warning ---------------------
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: apitest
runtime: {logging: {format: json}}
YAML
py '
import socket, subprocess, sys
import time
# Hold the default port ourselves: another test run in parallel may hold it
# now and let it go before acrt starts, so wait until we can take it.
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
deadline = time.time() + 60
while True:
    try:
        s.bind(("127.0.0.1", 9464)); s.listen(1)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("127.0.0.1:9464 stayed busy for 60 s")
        time.sleep(0.05)
p = subprocess.Popen([sys.argv[1], "run", sys.argv[2]], stderr=open(sys.argv[3], "w"), stdout=subprocess.DEVNULL)
deadline = time.time() + 15
while time.time() < deadline:
    if "api listening on" in open(sys.argv[3]).read():
        break
    time.sleep(0.05)
p.terminate()
rc = p.wait(timeout=15)
sys.exit(rc)
' "$ACRT" "$D" "$WORK/default.err" || fail "run with the default port busy failed" "$WORK/default.err"
a=$(api_addr "$WORK/default.err")
[ -n "$a" ] && [ "$a" != "127.0.0.1:9464" ] || fail "expected an ephemeral port, got '$a'" "$WORK/default.err"
grep -q 'cannot listen on the default 127.0.0.1:9464' "$WORK/default.err" ||
	fail "no warning about the busy default port" "$WORK/default.err"
ok "default port busy: warning, ephemeral port $a used"
pass
