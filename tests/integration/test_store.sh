#!/usr/bin/env bash
# The built-in Store (keyed upsert), end to end:
#   - `path`: a SQLite file; after the run its table holds exactly the last
#     event of each key (read with Python's sqlite3); events without the key
#     field fail and go to port `error`; a second, shorter run over the same
#     file overwrites the keys it sees and leaves the others (string and
#     integer keys);
#   - no `path`: managed state; the Store logs how many keys it holds at
#     cleanup, which must be the number of distinct keys;
# each with operator chaining on and off.
. "$(dirname "$0")/lib.sh" "$@"

N=3000  # the first run; the second emits N2 events into the same database
N2=40

# The rows a Store keyed by `id` must hold after seq 1..n (see the jq below).
# shellcheck disable=SC2016 # Python code, not shell
PY_EXPECT='
def event(s):
    if s % 97 == 0:
        return None                      # no id: fails, goes to `error`
    if s % 10 == 0:
        return {"id": "s%d" % (s % 30), "seq": s, "name": "n%d" % s}
    return {"id": s % 50, "seq": s, "name": "n%d" % s}
def expected(n):
    last = {}
    for s in range(1, n + 1):
        e = event(s)
        if e is not None:
            k = e["id"] if isinstance(e["id"], str) else json.dumps(e["id"])
            last[k] = e
    return last
'

# store_case CHAINING
store_case() {
	local chaining=$1 d="$WORK/store-$1"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: storetest
  components:
    - name: gen
      type: Source
      config:
        generator: sequence
        count: \${STORE_N}
    - name: xf
      type: Transformer
      config:
        jq: >-
          {id: (if .seq % 10 == 0 then "s\(.seq % 30)" else .seq % 50 end), seq,
           name: "n\(.seq)"} | if .seq % 97 == 0 then del(.id) else . end
    - {name: db, type: Store, config: {key: id, path: out/store.db}}
    - {name: errs, type: Sink, config: {sink: file, path: out/errors.jsonl}}
    - {name: gen2, type: Source, config: {generator: sequence, count: $N}}
    - {name: xf2, type: Transformer, config: {jq: '{id: (.seq % 123), seq}'}}
    - {name: mem, type: Store, config: {key: id}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: db.input}
    - {from: db.error, to: errs.input}
    - {from: gen2.output, to: xf2.input}
    - {from: xf2.output, to: mem.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: storetest
runtime: {chaining: $chaining}
YAML
	STORE_N=$N run_acrt "validate-$chaining" 20 validate "$d"
	expect_rc 0 "chaining $chaining: acrt validate" "$WORK/validate-$chaining.err"

	local run n prev=0
	for run in 1 2; do
		n=$N
		[ "$run" = 1 ] || n=$N2
		STORE_N=$n run_acrt "store-$chaining-$run" 60 run "$d"
		expect_rc 0 "chaining $chaining, run $run: acrt run" "$WORK/store-$chaining-$run.err"
		py "$PY_PRELUDE$PY_EXPECT"'
import sqlite3
d, n, prev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = expected(prev)
want.update(expected(n))
db = sqlite3.connect("file:%s/out/store.db?mode=ro" % d, uri=True)
rows = db.execute("SELECT key, value FROM store").fetchall()
cols = [r[1] for r in db.execute("PRAGMA table_info(store)")]
if cols != ["key", "value"]:
    die("table store has columns %r" % cols)
got = {}
for k, v in rows:
    if not isinstance(k, str) or not isinstance(v, str):
        die("key %r / value %r: not TEXT" % (k, v))
    got[k] = json.loads(v)
if got != want:
    diff = sorted(set(got) ^ set(want)) or [k for k in want if got[k] != want[k]]
    die("%d rows, expected %d; first difference at key %r: %r vs %r" % (
        len(got), len(want), diff[0], got.get(diff[0]), want.get(diff[0])))
err = load(d + "/out/errors.jsonl")
if [e["seq"] for e in err] != [s for s in range(1, n + 1) if s % 97 == 0] or any("id" in e for e in err):
    die("error port: expected the events without id, got %r" % [e.get("seq") for e in err][:10])
' "$d" "$n" "$prev" || fail "chaining $chaining, run $run: wrong SQLite content" "$WORK/store-$chaining-$run.err"
		ok "chaining $chaining, run $run: the SQLite table holds exactly the last event of each key (integer and string keys); events without the key on port error"

		py "$PY_PRELUDE$PY_EXPECT"'
recs = log_records(sys.argv[1])
def one(comp, text):
    r = [x for x in recs if x.get("component") == comp and text in str(x.get("msg"))]
    if len(r) != 1:
        die("%s: expected one log line with %r, got %r" % (comp, text, r))
one("mem", "store holds 123 key(s) in managed state")
one("db", "store holds %d key(s) in " % len(expected(int(sys.argv[3]))))
fails = [x for x in recs if x.get("component") == "db" and x.get("level") == "warn"]
if len(fails) != int(sys.argv[2]) // 97 or any("no key" not in x.get("msg", "") for x in fails):
    die("expected %d warn lines of db naming the missing key, got %r" % (int(sys.argv[2]) // 97, fails[:3]))
' "$WORK/store-$chaining-$run.err" "$n" "$N" || fail "chaining $chaining, run $run: wrong log lines" "$WORK/store-$chaining-$run.err"
		ok "chaining $chaining, run $run: managed state holds the 123 distinct keys; each failed event logged once"
		prev=$N
	done
}

store_case true
store_case false

pass
