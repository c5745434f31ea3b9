#!/usr/bin/env bash
# The APIEndpoint built-in (docs/COMPONENTS.md), driven with curl and Python:
#   1. APIEndpoint (bearer token, 2 threads, max_body_bytes 1024) -> rec (the
#      gate plugin, open, recording headers and trace ids) -> file Sink:
#      401 (+ WWW-Authenticate) without or with a wrong token, 202 {"id"} with
#      the right one, 400 with the JSON error and its line/column, 404, 405
#      with Allow, 413 (Content-Length and chunked), PUT on a PUT route; the
#      events' http-method/http-path headers and a traceparent's trace id;
#      every accepted body reaches the sink once; the counters in the API;
#      SIGTERM exits 0.
#   2. APIEndpoint -> gate (a test plugin holding events until a file exists)
#      -> file Sink, buffer_size 4, chained and with chaining off: 202s, then
#      429 with Retry-After: 1; SIGTERM while blocked answers 503; the gate
#      opens, the drain ends, exit 0, and the sink holds exactly the accepted
#      bodies, once each, in order.
#   3. Setup failures: an address in use and a missing token file (exit 1).
. "$(dirname "$0")/lib.sh" "$@"
GATE=$(plugin gate) || exit 1
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

# code METHOD URL [CURL ARGS...]: prints the HTTP status.
code() {
	local m=$1 u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$m" "$@" "$u"
}

# The APIEndpoint's own line (the API's says "api listening on"): its port is known then.
listening() { grep -qs '"msg":"listening on http://' "$1"; }

deployment() { # DIR SHUTDOWN_MS CHAINING
	cat >"$1/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: eptest
runtime:
  api: {listen: "127.0.0.1:0", auth: {read_token_file: read.token}}
  logging: {format: json}
  timeouts: {shutdown_timeout_ms: $2}
  chaining: $3
YAML
	echo "read-$RANDOM-$RANDOM" >"$1/read.token"
}

# ---- 1. routes, auth, limits ------------------------------------------------------
D="$WORK/basic"
mkdir -p "$D"
PORT=$(free_port)
TOKEN="tok-$RANDOM$RANDOM"
echo "  $TOKEN  " >"$D/ep.token" # surrounding whitespace is ignored
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: eptest
  components:
    - name: http
      type: APIEndpoint
      config:
        listen: 127.0.0.1:$PORT
        routes: [{path: /orders}, {path: /orders, method: PUT}, {path: /ping}]
        auth: {token_file: ep.token}
        max_body_bytes: 1024
        threads: 2
    - name: rec
      implementation: plugin:$GATE#gate
      config: {gate: open, marker: events.txt, record: true}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: http.output, to: rec.input}
    - {from: rec.output, to: out.input}
YAML
touch "$D/open" # rec only records each event's trace and headers
deployment "$D" 10000 true
"$ACRT" validate "$D" >"$WORK/validate.out" 2>&1 || fail "acrt validate rejected a good APIEndpoint" "$WORK/validate.out"
start_acrt basic run --quiet "$D"
wait_alive "$PID" 15 listening "$WORK/basic.err" || fail "no 'listening on' line" "$WORK/basic.err"
grep -q "listening on http://127.0.0.1:$PORT" "$WORK/basic.err" || fail "not on port $PORT" "$WORK/basic.err"
ok "listening on 127.0.0.1:$PORT"
URL="http://127.0.0.1:$PORT"
AUTH=(-H "Authorization: Bearer $TOKEN")

c=$(code POST "$URL/orders" -d '{"n":0}')
[ "$c" = 401 ] || fail "no token: $c, expected 401"
c=$(code POST "$URL/orders" -d '{"n":0}' -H "Authorization: Bearer x$TOKEN")
[ "$c" = 401 ] || fail "wrong token: $c, expected 401"
c=$(code POST "$URL/nosuch" -d '{"n":0}')
[ "$c" = 401 ] || fail "no token on an unknown path: $c, expected 401"
curl -s -D "$WORK/h401" -o /dev/null -X POST -d '{}' "$URL/orders"
grep -qi '^WWW-Authenticate: Bearer' "$WORK/h401" || fail "401 without WWW-Authenticate: Bearer" "$WORK/h401"
ok "401 with WWW-Authenticate: Bearer without a token or with a wrong one"

curl -s -o "$WORK/b202" -w '%{http_code}' "${AUTH[@]}" -X POST -d '{"n":1}' "$URL/orders" >"$WORK/c202"
[ "$(cat "$WORK/c202")" = 202 ] || fail "the right token: $(cat "$WORK/c202"), expected 202" "$WORK/b202" "$WORK/basic.err"
py 'import json, sys
b = json.load(open(sys.argv[1]))
assert isinstance(b.get("id"), int) and b["id"] > 0, b' "$WORK/b202" || fail "202 body is not {\"id\": N}" "$WORK/b202"
ok "202 {\"id\": N} with the right token"
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
c=$(code PUT "$URL/orders" "${AUTH[@]}" -H "traceparent: $TP" -d '{"n":2}')
[ "$c" = 202 ] || fail "PUT /orders: $c, expected 202"
c=$(code POST "$URL/ping" "${AUTH[@]}" -d '[1, 2]')
[ "$c" = 202 ] || fail "POST /ping with a JSON array: $c, expected 202"
ok "PUT on a PUT route, POST on a second path: 202"

curl -s -o "$WORK/b400" -w '%{http_code}' "${AUTH[@]}" -X POST -d $'{"n": 1,\n "x": }' "$URL/orders" >"$WORK/c400"
[ "$(cat "$WORK/c400")" = 400 ] || fail "bad JSON: $(cat "$WORK/c400"), expected 400" "$WORK/b400"
py 'import json, sys
b = json.load(open(sys.argv[1]))
e = b["error"]
assert "invalid JSON" in e and "line 2" in e and "column" in e, e' "$WORK/b400" || fail "400 body lacks the reason with line/column" "$WORK/b400"
ok "400 with the JSON error and its line and column: $(cat "$WORK/b400")"
c=$(code POST "$URL/orders" "${AUTH[@]}")
[ "$c" = 400 ] || fail "empty body: $c, expected 400"
c=$(code POST "$URL/nosuch" "${AUTH[@]}" -d '{}')
[ "$c" = 404 ] || fail "unknown path: $c, expected 404"
curl -s -D "$WORK/h405" -o /dev/null -w '%{http_code}' "${AUTH[@]}" -X GET "$URL/orders" >"$WORK/c405"
[ "$(cat "$WORK/c405")" = 405 ] || fail "GET /orders: $(cat "$WORK/c405"), expected 405"
grep -qi '^Allow: POST, PUT' "$WORK/h405" || fail "405 without 'Allow: POST, PUT'" "$WORK/h405"
c=$(code PATCH "$URL/ping" "${AUTH[@]}" -d '{}')
[ "$c" = 405 ] || fail "PATCH /ping: $c, expected 405"
ok "404 for an unknown path, 405 with Allow for a wrong method"

py 'import json; print(json.dumps({"pad": "x" * 2000}))' >"$WORK/big.json"
c=$(code POST "$URL/orders" "${AUTH[@]}" --data-binary @"$WORK/big.json")
[ "$c" = 413 ] || fail "a 2 KB body (max_body_bytes 1024): $c, expected 413"
c=$(code POST "$URL/orders" "${AUTH[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json")
[ "$c" = 413 ] || fail "a 2 KB chunked body: $c, expected 413"
py 'import json; print(json.dumps({"pad": "x" * 900}))' >"$WORK/fits.json"
c=$(code POST "$URL/orders" "${AUTH[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/fits.json")
[ "$c" = 202 ] || fail "a 900-byte chunked body: $c, expected 202"
ok "413 over max_body_bytes (Content-Length and chunked), 202 under it"

for i in $(seq 10 29); do
	c=$(code POST "$URL/orders" "${AUTH[@]}" -H 'Content-Type: application/json' -d "{\"n\":$i}")
	[ "$c" = 202 ] || fail "POST #$i: $c, expected 202"
done
wait_alive "$PID" 10 has_lines "$D/out.jsonl" 24 || fail "the sink has $(lines "$D/out.jsonl") lines, expected 24" "$D/out.jsonl" "$WORK/basic.err"
ok "24 accepted bodies reached the sink while the system runs"
grep -q "^event 00-[0-9a-f]\{32\}-[0-9a-f]\{16\}-01 POST /orders$" "$D/events.txt" ||
	fail "no event with headers http-method POST and http-path /orders" "$D/events.txt"
grep -q "^event 00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]\{16\}-01 PUT /orders$" "$D/events.txt" ||
	fail "the PUT with a traceparent did not keep its trace id" "$D/events.txt"
[ "$(grep -c "4bf92f3577b34da6a3ce929d0e0e4736" "$D/events.txt")" = 1 ] ||
	fail "the trace id of one request's traceparent is on other events" "$D/events.txt"
[ "$(grep -c ' POST /ping$' "$D/events.txt")" = 1 ] || fail "no POST /ping event" "$D/events.txt"
ok "events carry headers http-method and http-path; a traceparent's trace id is kept"

# The counters are published when the endpoint goes idle (at most 50 ms).
counters_ok() {
	curl -s -H "Authorization: Bearer $(cat "$D/read.token")" \
		"http://$(grep -o 'api listening on http://[^ "]*' "$WORK/basic.err" | head -n1 | sed 's|.*http://||')/api/v1/components/http" >"$WORK/http.json" &&
		py 'import json, sys
c = json.load(open(sys.argv[1]))["counters"]
want = {"requests_accepted": 24, "requests_unauthorized": 4, "requests_invalid": 2,
        "requests_not_found": 1, "requests_not_allowed": 2, "requests_too_large": 2}
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
sys.exit(1 if bad else 0)' "$WORK/http.json"
}
wait_for 5 counters_ok || fail "the component counters in the API are wrong" "$WORK/http.json"
ok "counters requests_accepted/unauthorized/invalid/not_found/not_allowed/too_large in the API"

kill -TERM "$PID"
wait_exit "$PID" 15 || fail "no exit within 15 s of SIGTERM" "$WORK/basic.err"
expect_rc 0 "SIGTERM" "$WORK/basic.err"
py '
import json, sys
vals = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
ns = sorted(v["n"] for v in vals if isinstance(v, dict) and "n" in v)
want = [1, 2] + list(range(10, 30))
assert ns == want, (ns, want)
assert vals.count([1, 2]) == 1, vals
assert sum(1 for v in vals if isinstance(v, dict) and "pad" in v) == 1, vals
assert len(vals) == 24, len(vals)
' "$D/out.jsonl" || fail "the sink does not hold every accepted body exactly once" "$D/out.jsonl"
ok "the sink holds every accepted body exactly once"

# ---- 2. backpressure (429) and the drain (503), chained and not ------------------
backpressure() { # NAME CHAINING
	local name=$1 chaining=$2
	local B="$WORK/$name"
	mkdir -p "$B"
	local port
	port=$(free_port)
	cat >"$B/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: eptest
  components:
    - name: http
      type: APIEndpoint
      config: {listen: "127.0.0.1:$port", routes: [{path: /in}]}
    - name: hold
      implementation: plugin:$GATE#gate
      config: {gate: open, marker: marker.txt}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: http.output, to: hold.input, buffer_size: 4}
    - {from: hold.output, to: out.input}
YAML
	deployment "$B" 60000 "$chaining"
	start_acrt "$name" run --quiet "$B"
	wait_alive "$PID" 15 listening "$WORK/$name.err" || fail "$name: no 'listening on' line" "$WORK/$name.err"

	# Sequential requests until 20 in a row were refused with 429 (each with
	# Retry-After: 1). A 429 may also come early, while the endpoint's thread
	# has not yet taken what is queued; once the gate holds everything, only
	# 429s come. Writes the accepted n values; the total accepted is bounded
	# by the queue, the stream and the outbox (4 + 4 + 64 + the held one).
	py '
import http.client, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
accepted, refused, in_a_row, n = [], 0, 0, 0
while in_a_row < 20:
    n += 1
    if n > 2000:
        sys.exit("never got 20 429s in a row (accepted %d)" % len(accepted))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/in", body=json.dumps({"n": n}), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    if r.status == 202:
        accepted.append(n)
        in_a_row = 0
    elif r.status == 429:
        if r.getheader("Retry-After") != "1":
            sys.exit("429 without Retry-After: 1: %r" % r.getheaders())
        refused += 1
        in_a_row += 1
    else:
        sys.exit("request %d: status %d %r" % (n, r.status, body))
    c.close()
if not accepted or len(accepted) > 4 + 4 + 64 + 1:
    sys.exit("%d accepted while the sink is blocked" % len(accepted))
json.dump(accepted, open(out, "w"))
print(len(accepted), refused)
' "$port" "$B/accepted.json" >"$B/n_accepted" 2>"$B/bp.err" || fail "$name: backpressure" "$B/bp.err" "$WORK/$name.err"
	# 20 refusals in a row may come before the gate's thread has taken its first
	# event (a slow or loaded machine: ASan in CI), so its marker is waited for.
	wait_for 15 grep -qsx "blocked hold" "$B/marker.txt" ||
		fail "$name: the gate never held an event" "$B/marker.txt"
	read -r n_acc n_ref <"$B/n_accepted"
	ok "$name: $n_acc accepted (202), $n_ref refused with 429 and Retry-After: 1 while the sink is blocked"

	kill -TERM "$PID"
	got503() { [ "$(code POST "http://127.0.0.1:$port/in" -d '{"late":1}')" = 503 ]; }
	wait_alive "$PID" 10 got503 || fail "$name: no 503 while draining" "$WORK/$name.err"
	ok "$name: 503 while the system drains"
	alive "$PID" || fail "$name: acrt exited before the gate opened" "$WORK/$name.err"
	touch "$B/open"
	wait_exit "$PID" 30 || fail "$name: no exit within 30 s of opening the gate" "$WORK/$name.err"
	expect_rc 0 "$name: SIGTERM drain" "$WORK/$name.err"
	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
acc = json.load(open(sys.argv[2]))
ns = [e.get("n") for e in evs]
if ns != acc: die("sink holds n=%r, accepted %r" % (ns[:50], acc[:50]))
' "$B/out.jsonl" "$B/accepted.json" || fail "$name: the sink does not hold exactly the accepted requests" "$B/out.jsonl"
	ok "$name: every request answered 202 is in the sink exactly once, in order; none of the refused"
}
backpressure chained true
backpressure threads false

# ---- 3. setup failures --------------------------------------------------------------
F="$WORK/fail"
mkdir -p "$F"
# Python itself in the background (not through a function: $! must be its pid),
# with no stdout/stderr of ours, so that killing it releases everything.
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]) + "\n")
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$F/busy.port" </dev/null >/dev/null 2>&1 &
HOLDER=$!
_BG_PIDS="$_BG_PIDS $HOLDER"
wait_for 10 test -s "$F/busy.port" || fail "could not hold a port"
BUSY=$(cat "$F/busy.port")
cat >"$F/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: eptest
  components:
    - {name: http, type: APIEndpoint, config: {listen: "127.0.0.1:$BUSY", routes: [{path: /in}]}}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: http.output, to: out.input}
YAML
deployment "$F" 10000 true
run_acrt busy 20 run --quiet "$F"
expect_rc 1 "an address in use" "$WORK/busy.err"
grep -q "cannot listen on 127.0.0.1:$BUSY" "$WORK/busy.err" || fail "no 'cannot listen on' error" "$WORK/busy.err"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
sed -i "s|routes: \[{path: /in}\]|routes: [{path: /in}], auth: {token_file: missing.token}|; s|$BUSY|$(free_port)|" "$F/architecture.yaml"
run_acrt notoken 20 validate "$F"
expect_rc 2 "acrt validate: a missing token file" "$WORK/notoken.err"
grep -q "architecture.yaml:[0-9]*:[0-9]*: http.config.auth.token_file: cannot read .*missing.token" "$WORK/notoken.err" ||
	fail "no file:line:col error naming the token file" "$WORK/notoken.err"
run_acrt notoken 20 run --quiet "$F"
expect_rc 2 "acrt run: a missing token file" "$WORK/notoken.err"
pass
