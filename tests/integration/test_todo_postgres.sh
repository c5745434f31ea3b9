#!/usr/bin/env bash
# examples/todo-api on PostgreSQL (issue 18: "the todo example can use it
# instead of managed state"; examples/todo-api/README.md "On PostgreSQL",
# docs/COMPONENTS.md "Store"), with the shipped deployment.postgres.yaml
# against a server of the test's own (pg_lib.sh):
#   1. the example with that deployment validates (crud with backend
#      postgres is no longer refused);
#   1b. requests read from a file reach the Store at once, so they share one
#      open transaction (every row has the same xmin): a get, an update and
#      a list after a create see it before it commits; an event without
#      `action` is stored by `key`, or under a generated id without it; a
#      request holding \u0000 is answered 400; an event that is not an object
#      fails alone (exit 3);
#   2. the contract of test_todo_api, status and body: POST 201 with the
#      record and its id, GET 200, an unknown id 404, GET /todos the array by
#      id, PUT merges (200), DELETE 200 then 404; the table holds the records
#      as rows (key = id, event = the record); 40 concurrent creates each
#      answered 201 with its own record and a distinct id;
#   3. kill -9 while creates are being answered: every answered create is a
#      row with its record (a reply waits for its commit), no record twice;
#      then --resume: GET /todos is exactly the table, and a new create's id
#      is above every id answered before (the sequence is not reused);
#   4. the server stopped with a create waiting: the Store retries (logged,
#      the request held), and once the server is back the create is answered
#      201 and stored once;
#   5. SIGTERM: exit 0, no record twice.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/pg_lib.sh"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

start_pg

D="$WORK/todo"
cp -r "$SRC/examples/todo-api" "$D"
rm -rf "$D/state"
# The postgres deployment as the directory's own (acrt validate DIR reads it),
# with JSON logs; the architecture on a free port with a 9 s reply timeout (the most)
# (section 4 holds a request while the server is down).
mv "$D/deployment.postgres.yaml" "$D/deployment.yaml"
PORT=$(free_port)
py 'import sys
d, port = sys.argv[1], sys.argv[2]
p = d + "/architecture.yaml"
s = open(p).read()
s = s.replace("127.0.0.1:8080", "127.0.0.1:" + port).replace("timeout_ms: 5000", "timeout_ms: 9000")
open(p, "w").write(s)
p = d + "/deployment.yaml"
s = open(p).read()
s = s.replace("logging: {level: info}", "logging: {level: info, format: json}")
open(p, "w").write(s)' "$D" "$PORT"
grep -q 'format: json' "$D/deployment.yaml" || fail "the deployment was not patched" "$D/deployment.yaml"
URL="http://127.0.0.1:$PORT"

# ---- 1. validate ---------------------------------------------------------------------
run_acrt validate 30 validate "$D"
expect_rc 0 "acrt validate with deployment.postgres.yaml" "$WORK/validate.err" "$WORK/validate.out"

# ---- 1b. one transaction: reads see its writes -----------------------------------------
T="$WORK/tx"
mkdir -p "$T"
cat >"$T/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: crudtx
  components:
    - {name: reqs, type: Source, config: {source: file, path: reqs.jsonl}}
    - name: db
      type: Store
      config: {crud: true, key: k, backend: postgres, dsn: "${PG_DSN}", table: crudtx}
      outputs: [{name: output}]
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: reqs.output, to: db.input}
    - {from: db.output, to: out.input}
YAML
cat >"$T/reqs.jsonl" <<'JSONL'
{"action": "create", "data": {"title": "a"}}
{"action": "get", "id": "1"}
{"action": "update", "id": 1, "data": {"done": true}}
{"action": "create", "data": {"title": "b"}}
{"action": "delete", "id": "2"}
{"action": "list"}
{"k": "x", "v": 1}
{"v": 2}
{"action": "create", "data": {"title": "a\u0000b"}}
[1, 2]
{"action": "get", "id": "3"}
JSONL
run_acrt tx 30 run "$T"
expect_lost 1 "one transaction (an array event fails)" "$WORK/tx.err" failed
py 'import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
rec = {"id": "1", "data": {"title": "a", "done": True}}
want = [
    {"status": "success", "id": "1", "data": {"id": "1", "data": {"title": "a"}}},
    {"status": "success", "data": {"id": "1", "data": {"title": "a"}}},
    {"status": "success", "data": rec},
    {"status": "success", "id": "2", "data": {"id": "2", "data": {"title": "b"}}},
    {"status": "success"},
    {"status": "success", "data": [rec]},
    {"status": "error", "message": "the request holds \\u0000, which PostgreSQL\x27s jsonb cannot store"},
    {"status": "success", "data": {"v": 2}},
]
if got != want:
    sys.exit("replies:\n%s\nwant:\n%s" % ("\n".join(map(json.dumps, got)), "\n".join(map(json.dumps, want))))' \
	"$T/out.jsonl" || fail "one transaction: the replies" "$T/out.jsonl" "$WORK/tx.err"
got=$(psql_q "SELECT string_agg(key || '=' || event::text, ' ' ORDER BY key) || ' ' || count(DISTINCT xmin::text) FROM crudtx")
want='1={"id": "1", "data": {"done": true, "title": "a"}} 3={"v": 2} x={"k": "x", "v": 1} 1'
[ "$got" = "$want" ] || fail "one transaction: the table is '$got', expected '$want'" "$WORK/tx.err"
ok "one open transaction (one xmin): get, update and list see a create before its commit; key and generated ids; \\u0000 answered 400"

listening() { grep -qs '"msg":"listening on http://' "$1"; }
# req METHOD PATH [CURL ARGS...]: the body in $WORK/body, the status printed.
req() {
	local m=$1 p=$2
	shift 2
	curl -s -o "$WORK/body" -w '%{http_code}' --max-time 20 -X "$m" "$@" "$URL$p"
}
# expect STATUS JSON METHOD PATH [CURL ARGS...]: the answer's status and body.
expect() {
	local st=$1 want=$2 got
	shift 2
	got=$(req "$@")
	[ "$got" = "$st" ] || fail "$1 $2: status $got, expected $st" "$WORK/body" "$WORK/todo.err"
	py 'import json, sys
got, want = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
sys.exit(0 if got == want else 1)' "$WORK/body" "$want" ||
		fail "$1 $2: the body is not $want" "$WORK/body"
}
# creates N PREFIX OUT: N concurrent POST /todos {"title": PREFIX<i>}; one
# line per answer in OUT: "STATUS ID TITLE" (ID "-" when none).
creates() {
	py 'import json, sys, threading, http.client
port, n, prefix, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
f = open(out, "w")
def one(i):
    title = "%s%d" % (prefix, i)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        c.request("POST", "/todos", body=json.dumps({"title": title}))
        r = c.getresponse()
        b = json.loads(r.read())
        ok = r.status == 201 and b.get("data") == {"title": title}
        line = "%d %s %s\n" % (r.status if ok else 0, b.get("id", "-") if ok else "-", title)
    except Exception:
        line = "0 - %s\n" % title
    with lock:
        f.write(line)
        f.flush()
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
[t.start() for t in ts]
[t.join() for t in ts]' "$PORT" "$@"
}
# no_twice: no title is stored in two rows.
no_twice() {
	[ "$(psql_q "SELECT count(*) - count(DISTINCT event->'data'->>'title') FROM todos")" = 0 ]
}

# ---- 2. the contract ------------------------------------------------------------------
start_acrt todo run "$D"
wait_alive "$PID" 15 listening "$WORK/todo.err" || fail "no 'listening on' line" "$WORK/todo.err"
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
expect 404 '{"status":"not_found","action":"update","id":"98"}' PUT /todos/98 -d '{"done":true}'
expect 200 '{}' DELETE /todos/2
expect 404 '{"status":"not_found","action":"get","id":"2"}' GET /todos/2
expect 404 '{"status":"not_found","action":"delete","id":"2"}' DELETE /todos/2
expect 200 '[{"id":"1","data":{"title":"milk","done":true}}]' GET /todos
ok "PUT /todos/1 merges (200), unknown id 404; DELETE /todos/2 (200, then 404)"
got=$(psql_q "SELECT key || ' ' || (event = '{\"id\":\"1\",\"data\":{\"title\":\"milk\",\"done\":true}}'::jsonb) FROM todos")
[ "$got" = "1 true" ] || fail "the table todos: '$got', expected the one record under key 1" "$WORK/todo.err"
ok "the table holds the records as rows (key = id, event = the record)"

creates 40 c "$WORK/c.out"
py 'import sys
rows = [l.split() for l in open(sys.argv[1])]
ids = [r[1] for r in rows if r[0] == "201"]
sys.exit(0 if len(rows) == 40 and len(ids) == 40 and len(set(ids)) == 40 else 1)' "$WORK/c.out" ||
	fail "40 concurrent creates: not each 201 with its own record and id" "$WORK/c.out"
[ "$(psql_q "SELECT count(*) FROM todos")" = 41 ] || fail "40 concurrent creates: not 41 rows"
ok "40 concurrent creates: each 201 with its own record and a distinct id"

# ---- 3. kill -9 with creates in flight, then --resume ---------------------------------
stored() { grep -qs '"msg":"checkpoint [0-9]* stored' "$1"; }
wait_alive "$PID" 10 stored "$WORK/todo.err" || fail "no checkpoint stored" "$WORK/todo.err"
creates 150 k "$WORK/k.out" &
LOAD=$!
answered() {
	local n
	n=$(grep -c '^201 ' "$WORK/k.out" 2>/dev/null)
	[ "${n:-0}" -ge "$1" ]
}
wait_alive "$PID" 15 answered 20 || fail "no creates answered before the kill" "$WORK/k.out"
kill -KILL "$PID"
wait_exit "$PID" 10 || fail "still running after SIGKILL"
wait "$LOAD"
n_ans=$(grep -c '^201 ' "$WORK/k.out")
psql_q "SELECT key || ' ' || (event->'data'->>'title') FROM todos" >"$WORK/rows.k" ||
	fail "cannot read the table after the kill"
py 'import sys
rows = dict(l.split() for l in open(sys.argv[2]))
for l in open(sys.argv[1]):
    st, i, title = l.split()
    if st == "201" and rows.get(i) != title:
        sys.exit("answered %s %s is not in the table (%r)" % (i, title, rows.get(i)))' \
	"$WORK/k.out" "$WORK/rows.k" || fail "kill -9: an answered create is not in the table" "$WORK/rows.k"
no_twice || fail "kill -9: a record is stored twice" "$WORK/rows.k"
ok "kill -9 after $n_ans of 150 creates answered: every answered one is a row, none twice"

start_acrt todo2 run --resume "$D"
wait_alive "$PID" 15 listening "$WORK/todo2.err" || fail "no 'listening on' line after --resume" "$WORK/todo2.err"
grep -q '"msg":"resuming from checkpoint' "$WORK/todo2.err" || fail "did not resume" "$WORK/todo2.err"
[ "$(req GET /todos)" = 200 ] || fail "GET /todos after --resume" "$WORK/body"
psql_q "SELECT event::text FROM todos" >"$WORK/table.json" || fail "cannot read the table"
py 'import json, sys
got = json.load(open(sys.argv[1]))
want = sorted((json.loads(l) for l in open(sys.argv[2])), key=lambda r: int(r["id"]))
sys.exit(0 if got == want else 1)' "$WORK/body" "$WORK/table.json" ||
	fail "--resume: GET /todos is not the table, by id" "$WORK/body"
[ "$(req POST /todos -d '{"title":"after"}')" = 201 ] || fail "a create after --resume" "$WORK/body"
after=$(py 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/body")
py 'import sys
after = int(sys.argv[1])
seen = [int(l.split()[1]) for f in sys.argv[2:] for l in open(f) if l.startswith("201 ")]
sys.exit(0 if seen and after > max(seen) and after > 41 else 1)' "$after" "$WORK/c.out" "$WORK/k.out" ||
	fail "--resume: the new id $after does not follow every id answered before" "$WORK/k.out"
no_twice || fail "--resume: a record is stored twice"
ok "--resume: GET /todos is the table; the next id ($after) above every id answered before"

# ---- 4. the server stopped with a create waiting ----------------------------------------
pg_down
curl -s -o "$WORK/down.body" -w '%{http_code}' --max-time 30 -X POST -d '{"title":"down"}' \
	"$URL/todos" >"$WORK/down.code" &
HELD=$!
retrying() { grep -q "\"msg\":\"cannot write 'postgres table todos': .*retrying in" "$1"; }
wait_alive "$PID" 10 retrying "$WORK/todo2.err" || fail "server down: no retry logged" "$WORK/todo2.err"
alive "$HELD" || fail "server down: the create was answered" "$WORK/down.body"
pg_up
wait "$HELD"
[ "$(cat "$WORK/down.code")" = 201 ] || fail "server back: the held create got $(cat "$WORK/down.code")" "$WORK/down.body" "$WORK/todo2.err"
[ "$(psql_q "SELECT count(*) FROM todos WHERE event->'data'->>'title' = 'down'")" = 1 ] ||
	fail "server back: the held create is not stored once" "$WORK/todo2.err"
grep -q "\"msg\":\"writes to 'postgres table todos' go through again" "$WORK/todo2.err" ||
	fail "server back: no recovery logged" "$WORK/todo2.err"
ok "server down: retried with the request held; back: answered 201, stored once"

# ---- 5. SIGTERM ----------------------------------------------------------------------
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "no exit within 15 s of SIGTERM" "$WORK/todo2.err"
expect_rc 0 "SIGTERM" "$WORK/todo2.err"
no_twice || fail "a record is stored twice at the end"
pass
