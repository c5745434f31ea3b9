#!/usr/bin/env bash
# examples/todo-api end to end with curl (issue 13, part 3: an APIEndpoint that
# replies; docs/COMPONENTS.md "APIEndpoint: reply", examples/todo-api/README.md):
#   1. the shipped example validates;
#   2. a copy on a free port, with one more route whose requests a Filter drops
#      and reply.timeout_ms 3000: POST /todos 201 with the record and its id,
#      GET /todos/{id} 200, an unknown id 404, GET /todos 200 with the array,
#      PUT merges (200), DELETE (200, then 404); a request's traceparent trace
#      id comes back on its answer; 200 concurrent creates each answered with
#      its own record; the dropped request answers 504 after the timeout;
#   3. SIGTERM while a request is held answers it 503 and exits 0;
#   4. the records survive a restart with --resume (runtime.state is on).
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

"$ACRT" validate "$SRC/examples/todo-api" >"$WORK/validate.out" 2>&1 ||
	fail "acrt validate rejected examples/todo-api" "$WORK/validate.out"
ok "examples/todo-api validates"

D="$WORK/todo"
cp -r "$SRC/examples/todo-api" "$D"
rm -rf "$D/state"
PORT=$(free_port)
# The example with: a free port, a 3 s timeout, and a route the pipeline drops.
py 'import sys
p = sys.argv[1] + "/architecture.yaml"
s = open(p).read()
s = s.replace("127.0.0.1:8080", "127.0.0.1:" + sys.argv[2])
s = s.replace("timeout_ms: 5000", "timeout_ms: 3000")
s = s.replace("          - {path: /todos, method: POST, action: create}",
              "          - {path: /todos, method: POST, action: create}\n"
              "          - {path: /drop, method: POST, action: drop}")
s = s.replace("    - {from: api.output, to: todos.input}",
              "    - {from: api.output, to: keep.input}\n"
              "    - {from: keep.output, to: todos.input}")
s = s.replace("    - name: todos\n",
              "    - {name: keep, type: Filter, config: {where: \x27.action != \"drop\"\x27}}\n"
              "    - name: todos\n")
open(p, "w").write(s)' "$D" "$PORT"
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: todo-api
runtime:
  api: {listen: "127.0.0.1:0", auth: {read_token_file: read.token}}
  timeouts: {shutdown_timeout_ms: 5000}
  logging: {format: json}
  state: {adapter: sqlite_snapshot, checkpoint_interval_s: 1}
YAML
echo "read-$RANDOM-$RANDOM" >"$D/read.token"
URL="http://127.0.0.1:$PORT"

listening() { grep -qs '"msg":"listening on http://' "$1"; }
# req METHOD PATH [CURL ARGS...]: the body in $WORK/body, the status printed.
req() {
	local m=$1 p=$2
	shift 2
	curl -s -o "$WORK/body" -w '%{http_code}' --max-time 10 -X "$m" "$@" "$URL$p"
}
# expect STATUS JSON METHOD PATH [CURL ARGS...]: the answer's status and body.
expect() {
	local st=$1 want=$2 got
	shift 2
	got=$(req "$@")
	[ "$got" = "$st" ] || fail "$1 $2: status $got, expected $st" "$WORK/body"
	py 'import json, sys
got, want = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
sys.exit(0 if got == want else 1)' "$WORK/body" "$want" ||
		fail "$1 $2: the body is not $want" "$WORK/body"
}

start_acrt todo run "$D"
wait_alive "$PID" 15 listening "$WORK/todo.err" || fail "no 'listening on' line" "$WORK/todo.err"

# ---- 2. the contract ------------------------------------------------------------------
expect 201 '{"id":"1","data":{"title":"milk"}}' POST /todos -d '{"title":"milk"}'
expect 201 '{"id":"2","data":{"title":"eggs"}}' POST /todos -d '{"title":"eggs"}'
ok "POST /todos: 201 with the stored record and its id"
expect 200 '{"id":"1","data":{"title":"milk"}}' GET /todos/1
ok "GET /todos/1: 200 with the record"
expect 404 '{"status":"not_found","action":"get","id":"99"}' GET /todos/99
ok "GET /todos/99: 404"
expect 200 '[{"id":"1","data":{"title":"milk"}},{"id":"2","data":{"title":"eggs"}}]' GET /todos
ok "GET /todos: 200 with the array of every record"
expect 200 '{"id":"1","data":{"title":"milk","done":true}}' PUT /todos/1 -d '{"done":true}'
expect 200 '{}' DELETE /todos/2
expect 404 '{"status":"not_found","action":"get","id":"2"}' GET /todos/2
expect 200 '[{"id":"1","data":{"title":"milk","done":true}}]' GET /todos
ok "PUT /todos/1 merges (200), DELETE /todos/2 (200, then 404)"

TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
curl -s -D "$WORK/headers" -o /dev/null --max-time 10 -X GET -H "traceparent: $TP" "$URL/todos/1"
grep -qi '^traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-' "$WORK/headers" ||
	fail "the answer does not carry the request's trace id" "$WORK/headers"
ok "the request's trace id comes back on its answer (through Store and Transformer)"

# 200 requests at once (max_pending is 256): each answer is its own record.
py 'import json, sys, threading, http.client
port, n = int(sys.argv[1]), 200
bad = []
def one(i):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/todos", body=json.dumps({"title": "t%d" % i}))
        r = c.getresponse()
        b = json.loads(r.read())
        if r.status != 201 or b["data"] != {"title": "t%d" % i}:
            bad.append((i, r.status, b))
    except Exception as e:
        bad.append((i, repr(e)))
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
[t.start() for t in ts]
[t.join() for t in ts]
if bad:
    print(bad[:5])
    sys.exit(1)' "$PORT" >"$WORK/load.out" 2>&1 || fail "concurrent requests got wrong answers" "$WORK/load.out"
ok "200 concurrent creates: every answer is 201 with its own record"

t0=$(date +%s%N)
st=$(req POST /drop -d '{"x":1}')
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$st" = 504 ] || fail "a request the pipeline drops: $st, expected 504" "$WORK/body"
[ "$ms" -ge 2900 ] || fail "504 after $ms ms, before the 3000 ms timeout" "$WORK/body"
ok "a request the pipeline drops: 504 after the timeout ($ms ms)"

# ---- 3. 503 for a held request at a stop --------------------------------------------
accepted() { # the endpoint's requests_accepted counter is at least $1
	curl -s -H "Authorization: Bearer $(cat "$D/read.token")" \
		"http://$(grep -o 'api listening on http://[^ "]*' "$WORK/todo.err" | head -n1 | sed 's|.*http://||')/api/v1/components/api" >"$WORK/api.json" &&
		py 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["counters"].get("requests_accepted", 0) >= int(sys.argv[2]) else 1)' "$WORK/api.json" "$1"
}
wait_for 5 accepted 211 || fail "requests_accepted is not 211" "$WORK/api.json"
curl -s -o "$WORK/held.body" -w '%{http_code}' --max-time 10 -X POST -d '{"y":1}' "$URL/drop" >"$WORK/held.code" &
HELD=$!
wait_for 5 accepted 212 || fail "the held request was not accepted" "$WORK/api.json"
kill -TERM "$PID"
wait "$HELD"
[ "$(cat "$WORK/held.code")" = 503 ] || fail "a held request at SIGTERM: $(cat "$WORK/held.code"), expected 503" "$WORK/held.body"
wait_exit "$PID" 15 || fail "no exit within 15 s of SIGTERM" "$WORK/todo.err"
expect_rc 0 "SIGTERM" "$WORK/todo.err"
ok "SIGTERM: the held request answers 503, exit 0"

# ---- 4. a restart with the state ------------------------------------------------------
start_acrt todo2 run --resume "$D"
wait_alive "$PID" 15 listening "$WORK/todo2.err" || fail "no 'listening on' line after the restart" "$WORK/todo2.err"
[ "$(req GET /todos)" = 200 ] || fail "GET /todos after the restart" "$WORK/body"
py 'import json, sys
l = json.load(open(sys.argv[1]))
sys.exit(0 if len(l) == 201 and l[0] == {"id": "1", "data": {"title": "milk", "done": True}} else 1)' "$WORK/body" ||
	fail "the records did not survive the restart" "$WORK/body"
expect 201 '{"id":"203","data":{"title":"after"}}' POST /todos -d '{"title":"after"}'
ok "records and the next id survive a restart with --resume"
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "no exit after the restart's SIGTERM" "$WORK/todo2.err"
expect_rc 0 "SIGTERM after the restart" "$WORK/todo2.err"
pass
