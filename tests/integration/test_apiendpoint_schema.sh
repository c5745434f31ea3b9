#!/usr/bin/env bash
# An APIEndpoint whose output port declares a schema (docs/COMPONENTS.md,
# "Schema"), driven with curl and Python. APIEndpoint (4 HTTP threads, output
# schema `reading` by name: required, a pattern, a maximum, an array of
# strings) -> a file Sink with the same schema on its input under
# schema_validator:
#   1. a valid body gets 202 {"id": N}; a body the schema rejects gets 422
#      {"error": "schema", "details": [...]} with acrt's schema error text
#      (one error, several, the root, at most 16 and "truncated": true), as
#      JSON; bad JSON is still 400.
#   2. 400 invalid bodies at once on two connections: all 422, each logged
#      but rate-limited (the lines logged plus the "suppressed" counts equal
#      the 422s, and some were suppressed).
#   3. 4 clients mixing valid and invalid bodies at once (the HTTP threads
#      share the compiled schema; this test also runs under TSan): every
#      answer is right.
#   4. the counters requests_accepted / requests_rejected_schema /
#      requests_invalid in the API; at the sink no error, and its own
#      validator passed exactly the accepted bodies and rejected none.
#   5. SIGTERM: exit 0 (nothing lost), and the sink holds exactly the bodies
#      answered 202, once each, and none answered 422.
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

D="$WORK/sys"
mkdir -p "$D"
PORT=$(free_port)
API_PORT=$(free_port)
[ "$PORT" != "$API_PORT" ] || API_PORT=$(free_port)
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
schemas:
  reading:
    type: object
    required: [id, seq]
    properties:
      id: {type: string, pattern: "^r[0-9]+\$"}
      seq: {type: integer, maximum: 100}
      tags: {type: array, items: {type: string}}
system:
  name: epschema
  components:
    - name: http
      type: APIEndpoint
      config: {listen: "127.0.0.1:$PORT", routes: [{path: /readings}], threads: 4}
      outputs: [{name: output, schema: reading}]
    - name: out
      type: Sink
      config: {sink: file, path: out.jsonl}
      inputs: [{name: input, schema: reading}]
      capabilities: {schema_validator: true}
  bindings:
    - {from: http.output, to: out.input}
YAML
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: epschema
runtime:
  api: {listen: "127.0.0.1:$API_PORT", auth: {read_token_file: read.token}}
  logging: {format: json}
YAML
echo "read-$RANDOM-$RANDOM" >"$D/read.token"
"$ACRT" validate "$D" >"$WORK/validate.out" 2>&1 || fail "acrt validate rejected the blueprint" "$WORK/validate.out"
start_acrt sys run --quiet "$D"
listening() { grep -qs '"msg":"listening on http://' "$1"; }
wait_alive "$PID" 15 listening "$WORK/sys.err" || fail "no 'listening on' line" "$WORK/sys.err"
grep -q "listening on http://127.0.0.1:$PORT: POST /readings (queue [0-9]*, output schema, 4 threads)" "$WORK/sys.err" ||
	fail "the 'listening on' line does not say 'output schema'" "$WORK/sys.err"
ok "listening on 127.0.0.1:$PORT with the output schema"
URL="http://127.0.0.1:$PORT/readings"
ACCEPTED="$WORK/accepted.txt" # the ids answered 202, one a line
: >"$ACCEPTED"
N422=0 # bodies answered 422 so far

# post NAME BODY: POSTs BODY; the status in $WORK/NAME.code, the body in
# $WORK/NAME.body, the headers in $WORK/NAME.head.
post() {
	curl -s -D "$WORK/$1.head" -o "$WORK/$1.body" -w '%{http_code}' --max-time 10 -X POST \
		-H 'Content-Type: application/json' --data-binary "$2" "$URL" >"$WORK/$1.code"
}
# rejected NAME BODY PYTHON-CHECK: BODY must get 422 with a JSON body d that
# satisfies the check ({"error": "schema", "details": [...]} always).
rejected() {
	post "$1" "$2"
	[ "$(cat "$WORK/$1.code")" = 422 ] || fail "$1: $(cat "$WORK/$1.code"), expected 422" "$WORK/$1.body" "$WORK/sys.err"
	grep -qi '^Content-Type: application/json' "$WORK/$1.head" || fail "$1: the 422 is not JSON" "$WORK/$1.head"
	py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["error"] == "schema" and isinstance(d["details"], list), d
'"$3" "$WORK/$1.body" || fail "$1: unexpected 422 body" "$WORK/$1.body"
	N422=$((N422 + 1))
}

# ---- 1. 202 for a valid body, 422 with the reasons for an invalid one ------------
post valid '{"id": "r1", "seq": 1, "tags": ["a", "b"]}'
[ "$(cat "$WORK/valid.code")" = 202 ] || fail "a valid body: $(cat "$WORK/valid.code"), expected 202" "$WORK/valid.body" "$WORK/sys.err"
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d.get("id"), int) and d["id"] > 0, d' "$WORK/valid.body" || fail "202 body is not {\"id\": N}" "$WORK/valid.body"
echo r1 >>"$ACCEPTED"
ok "a valid body: 202 $(cat "$WORK/valid.body")"

rejected max '{"id": "r2", "seq": 101}' '
assert d == {"error": "schema", "details": ["/seq: maximum 100, got 101"]}, d'
ok "a body over the maximum: 422 $(cat "$WORK/max.body")"
rejected several '{"id": "bad id", "seq": "7"}' '
assert sorted(d["details"]) == ["/id: pattern", "/seq: type integer, got string"], d
assert "truncated" not in d, d'
rejected missing '{"seq": 5}' '
assert d["details"] == ["/id: required"], d'
rejected root '[{"id": "r3", "seq": 1}]' '
assert d["details"] == ["(root): type object, got array"], d'
ok "every error listed: $(cat "$WORK/several.body") $(cat "$WORK/missing.body") $(cat "$WORK/root.body")"
rejected many '{"id": "r4", "seq": 1, "tags": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]}' '
want = ["/tags/%d: type string, got integer" % i for i in range(16)]
assert d["details"] == want and d.get("truncated") is True, d'
ok "at most 16 errors, then \"truncated\": true"
post badjson '{"id": "r5", "seq": }'
[ "$(cat "$WORK/badjson.code")" = 400 ] || fail "bad JSON: $(cat "$WORK/badjson.code"), expected 400 before any schema" "$WORK/badjson.body"
ok "bad JSON is still 400"
grep -q '"level":"warn","component":"http","msg":"POST /readings: 422, the body breaks the output schema: /seq: maximum 100, got 101"' "$WORK/sys.err" ||
	fail "no warning naming the 422 and its reason" "$WORK/sys.err"
ok "a 422 is logged with its reason"

# ---- 2. a flood of invalid bodies: all 422, the log rate-limited -------------------
py '
import http.client, json, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
bad = []
def client(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(n // 2):
        c.request("POST", "/readings", body=json.dumps({"id": "r%d" % i, "seq": 1000 + i}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 422 or json.loads(body)["details"] != ["/seq: maximum 100, got %d" % (1000 + i)]:
            bad.append((r.status, body))
    c.close()
ts = [threading.Thread(target=client, args=(k,)) for k in range(2)]
for t in ts: t.start()
for t in ts: t.join()
if bad:
    sys.exit("%d unexpected answers, e.g. %r" % (len(bad), bad[:3]))
' "$PORT" 400 >"$WORK/flood.out" 2>&1 || fail "the flood of invalid bodies" "$WORK/flood.out"
N422=$((N422 + 400))
ok "400 invalid bodies on two connections at once: 422 each, with the reason"

# ---- 3. valid and invalid bodies from 4 clients at once --------------------------------
py '
import http.client, json, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
accepted, rejected, bad, lock = [], [0], [], threading.Lock()
def client(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(100):
        rid = "r%d" % (1000 + k * 100 + i)
        ok = i % 2 == 0
        body = {"id": rid, "seq": i if ok else 100 + i, "tags": ["t%d" % k]}
        c.request("POST", "/readings", body=json.dumps(body), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        b = r.read()
        with lock:
            if ok and r.status == 202:
                accepted.append(rid)
            elif not ok and r.status == 422 and json.loads(b)["details"] == ["/seq: maximum 100, got %d" % (100 + i)]:
                rejected[0] += 1
            else:
                bad.append((rid, r.status, b))
    c.close()
ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
if bad:
    sys.exit("%d unexpected answers, e.g. %r" % (len(bad), bad[:3]))
with open(out, "a") as f:
    f.write("".join(a + "\n" for a in accepted))
print(len(accepted), rejected[0])
' "$PORT" "$ACCEPTED" >"$WORK/mixed.out" 2>&1 || fail "4 clients mixing valid and invalid bodies" "$WORK/mixed.out"
read -r n_acc n_rej <"$WORK/mixed.out"
if [ "$n_acc" != 200 ] || [ "$n_rej" != 200 ]; then
	fail "mixed: $n_acc accepted, $n_rej rejected, expected 200 and 200" "$WORK/mixed.out"
fi
N422=$((N422 + 200))
N202=$(lines "$ACCEPTED")
ok "4 clients at once: $n_acc valid bodies got 202, $n_rej invalid ones 422"

# ---- 4. counters ----------------------------------------------------------------------
api() { curl -s -H "Authorization: Bearer $(cat "$D/read.token")" "http://127.0.0.1:$API_PORT/api/v1/components/$1"; }
counters_ok() {
	api http >"$WORK/http.json" && api out >"$WORK/out.json" &&
		py 'import json, sys
c = json.load(open(sys.argv[1]))["counters"]
want = {"requests_accepted": int(sys.argv[3]), "requests_rejected_schema": int(sys.argv[4]),
        "requests_invalid": 1}
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
o = json.load(open(sys.argv[2]))
sv = o["instances"][0]["capabilities"]["schema_validator"]
if o["errors"] != 0 or sv != {"passed": int(sys.argv[3]), "rejected": 0}:
    bad["out"] = (o["errors"], sv)
sys.exit(1 if bad else 0)' "$WORK/http.json" "$WORK/out.json" "$N202" "$N422"
}
wait_for 5 counters_ok || fail "the counters are wrong (want $N202 accepted, $N422 rejected_schema, 1 invalid; at the sink no error, $N202 passed)" "$WORK/http.json" "$WORK/out.json"
ok "counters: requests_accepted $N202, requests_rejected_schema $N422, requests_invalid 1; the sink's validator passed $N202, rejected 0"

# ---- 5. the end: exit 0, the sink holds exactly the 202s --------------------------------
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "no exit within 15 s of SIGTERM" "$WORK/sys.err"
expect_rc 0 "SIGTERM after $N422 rejected bodies (none lost)" "$WORK/sys.err"
py "$PY_PRELUDE"'
evs = load(sys.argv[1])
got = sorted(e["id"] for e in evs)
want = sorted(open(sys.argv[2]).read().split())
if got != want:
    die("the sink holds %d events, %d were accepted; extra %r, missing %r" % (len(got), len(want),
        sorted(set(got) - set(want))[:5], sorted(set(want) - set(got))[:5]))
if any(e["seq"] > 100 for e in evs):
    die("a body answered 422 reached the sink")
' "$D/out.jsonl" "$ACCEPTED" || fail "the sink does not hold exactly the accepted bodies" "$D/out.jsonl"
ok "the sink holds the $N202 bodies answered 202, once each, and none answered 422"

py "$PY_PRELUDE"'
recs = [r for r in log_records(sys.argv[1]) if r.get("component") == "http"]
lines = sum(1 for r in recs if r.get("msg", "").startswith("POST /readings: 422, "))
supp = sum(r.get("suppressed", 0) for r in recs)
n = int(sys.argv[2])
if lines + supp != n:
    die("%d lines + %d suppressed, %d rejected" % (lines, supp, n))
if supp == 0:
    die("%d lines for %d rejected bodies: nothing was suppressed" % (lines, n))
print(lines, supp)
' "$WORK/sys.err" "$N422" >"$WORK/log.out" 2>&1 || fail "the 422 warnings are not rate-limited as expected" "$WORK/log.out"
read -r n_lines n_supp <"$WORK/log.out"
ok "the 422 warnings are rate-limited: $n_lines lines, $n_supp suppressed (counted in a summary)"
pass
