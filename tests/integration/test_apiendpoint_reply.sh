#!/usr/bin/env bash
# The APIEndpoint's reply mode (docs/COMPONENTS.md "APIEndpoint: Reply"):
#   1. APIEndpoint (reply, 2 threads) -> Filter (drops {"hold": true}) ->
#      Transformer (jq {echo: .n}; no acrt-http-status: the default 200)
#      -> the endpoint's `response`: 1,000 concurrent requests from 8 loopback
#      addresses (125 each, under the per-client connection limit), every
#      answer 200 with its own request's body; the counters requests_replied
#      and requests_accepted in the API;
#   2. the same with max_pending 4: four held requests (dropped by the Filter),
#      the fifth gets 429 with Retry-After: 1, the held ones 504;
#   3. acrt validate: reply without an input `response` (exit 2, the line).
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

listening() { grep -qs '"msg":"listening on http://' "$1"; }

blueprint() { # DIR PORT MAX_PENDING TIMEOUT_MS
	cat >"$1/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: reply
  components:
    - name: api
      type: APIEndpoint
      config:
        listen: 127.0.0.1:$2
        routes: [{path: /echo}]
        threads: 2
        reply: {timeout_ms: $4, max_pending: $3}
      inputs: [{name: response}]
    - {name: keep, type: Filter, config: {where: '.hold != true'}}
    - {name: shape, type: Transformer, config: {jq: '{echo: .n}'}}
  bindings:
    - {from: api.output, to: keep.input}
    - {from: keep.output, to: shape.input}
    - {from: shape.output, to: api.response, buffer_size: 1024}
YAML
	cat >"$1/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: reply
runtime:
  api: {listen: "127.0.0.1:0", auth: {read_token_file: read.token}}
  logging: {format: json}
  timeouts: {shutdown_timeout_ms: 5000}
YAML
	echo "read-$RANDOM-$RANDOM" >"$1/read.token"
}

# counter DIR ERRFILE NAME MIN: the endpoint's counter NAME is at least MIN.
counter() {
	curl -s -H "Authorization: Bearer $(cat "$1/read.token")" \
		"http://$(grep -o 'api listening on http://[^ "]*' "$2" | head -n1 | sed 's|.*http://||')/api/v1/components/api" >"$WORK/api.json" &&
		py 'import json, sys
c = json.load(open(sys.argv[1]))["counters"]
sys.exit(0 if c.get(sys.argv[2], 0) >= int(sys.argv[3]) else 1)' "$WORK/api.json" "$3" "$4"
}

# ---- 1. 1,000 requests at once --------------------------------------------------------
D="$WORK/load"
mkdir -p "$D"
PORT=$(free_port)
blueprint "$D" "$PORT" 1024 8000
start_acrt load run "$D"
wait_alive "$PID" 15 listening "$WORK/load.err" || fail "no 'listening on' line" "$WORK/load.err"
py 'import json, sys, threading, http.client, socket
port, n = int(sys.argv[1]), 1000
bad, lock = [], threading.Lock()
go = threading.Barrier(n)
def one(i):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                       source_address=("127.0.0.%d" % (2 + i % 8), 0))
        c.connect()
        go.wait(timeout=30)  # every connection open before any request
        c.request("POST", "/echo", body=json.dumps({"n": i}))
        r = c.getresponse()
        b = json.loads(r.read())
        if r.status != 200 or b != {"echo": i}:
            with lock:
                bad.append((i, r.status, b))
    except Exception as e:
        with lock:
            bad.append((i, repr(e)))
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if bad:
    print(len(bad), "wrong:", bad[:5])
    sys.exit(1)' "$PORT" >"$WORK/load.out" 2>&1 || fail "1,000 concurrent requests: wrong answers" "$WORK/load.out"
ok "1,000 concurrent requests: each answered 200 with its own body"
wait_for 5 counter "$D" "$WORK/load.err" requests_replied 1000 ||
	fail "requests_replied is not 1000" "$WORK/api.json"
ok "counter requests_replied = 1000"
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "no exit within 15 s of SIGTERM" "$WORK/load.err"
expect_rc 0 "SIGTERM" "$WORK/load.err"

# ---- 2. max_pending: 429 ----------------------------------------------------------------
D="$WORK/pending"
mkdir -p "$D"
PORT=$(free_port)
blueprint "$D" "$PORT" 4 4000
start_acrt pending run "$D"
wait_alive "$PID" 15 listening "$WORK/pending.err" || fail "no 'listening on' line" "$WORK/pending.err"
HELD=""
for i in 1 2 3 4; do
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -d '{"hold":true}' \
		"http://127.0.0.1:$PORT/echo" >"$WORK/held.$i" &
	HELD="$HELD $!"
done
wait_for 5 counter "$D" "$WORK/pending.err" requests_accepted 4 ||
	fail "the four held requests were not accepted" "$WORK/api.json"
curl -s -D "$WORK/h429" -o "$WORK/b429" -w '%{http_code}' --max-time 10 -X POST -d '{"n":5}' \
	"http://127.0.0.1:$PORT/echo" >"$WORK/c429"
[ "$(cat "$WORK/c429")" = 429 ] || fail "a fifth request with 4 held: $(cat "$WORK/c429"), expected 429" "$WORK/b429"
grep -qi '^Retry-After: 1' "$WORK/h429" || fail "429 without Retry-After: 1" "$WORK/h429"
ok "max_pending 4: the fifth request gets 429 with Retry-After: 1"
# shellcheck disable=SC2086 # a list of pids
wait $HELD
for i in 1 2 3 4; do
	[ "$(cat "$WORK/held.$i")" = 504 ] || fail "held request $i: $(cat "$WORK/held.$i"), expected 504"
done
ok "the held requests the pipeline dropped: 504"
st=$(curl -s -o "$WORK/b200" -w '%{http_code}' --max-time 10 -X POST -d '{"n":6}' "http://127.0.0.1:$PORT/echo")
[ "$st" = 200 ] || fail "after the 504s a request gets $st, expected 200" "$WORK/b200"
ok "after the 504s the slots are free again (200)"
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "no exit within 15 s of SIGTERM" "$WORK/pending.err"
expect_rc 0 "SIGTERM" "$WORK/pending.err"

# ---- 3. validate -------------------------------------------------------------------------
D="$WORK/bad"
mkdir -p "$D"
blueprint "$D" 8080 4 1000
sed -i '/inputs: \[{name: response}\]/d; /to: api.response/d' "$D/architecture.yaml"
run_acrt validate 10 validate "$D"
[ "$RC" = 2 ] || fail "validate of reply without 'response': exit $RC, expected 2" "$WORK/validate.err"
grep -q "component 'api': reply needs an input port 'response'" "$WORK/validate.out" "$WORK/validate.err" ||
	fail "validate does not say reply needs 'response'" "$WORK/validate.err"
ok "validate: reply without an input 'response' is an error (exit 2)"
pass
