#!/usr/bin/env bash
# The components that compute keep what they do not compute exact (docs/JSON.md):
# an Aggregator's group keys leave as they came (an integer past 64 bits, a
# decimal with a trailing zero, an exponent; a string by its value, whatever
# its escapes), its sums of integers are exact,
# and a Store keeps each event's text byte for byte under its exact key.
. "$(dirname "$0")/lib.sh" "$@"

d="$WORK/keys"
mkdir -p "$d"
cat >"$d/in.jsonl" <<'EOF'
{"k":12345678901234567890,"v":9007199254740993,"id":1}
{"k":12345678901234567891,"v":1,"id":2}
{"k":1.50,"v":2,"id":3,"x":0.10000000000000000001}
{"k":1.5,"v":3,"id":4}
{"k":1E2,"v":4,"id":5}
{"k":"caf\u00e9","v":5,"id":6}
{"k":"café","v":6,"id":7}
{"k":12345678901234567890,"v":1,"id":8,"x":1e400}
EOF
cat >"$d/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: keys
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl}}
    - {name: agg, type: Aggregator, config: {key: k, ops: {v: [sum, count]}}}
    - {name: out, type: Sink, config: {sink: file, path: agg.jsonl}}
    - {name: src2, type: Source, config: {source: file, path: in.jsonl}}
    - {name: db, type: Store, config: {key: id, path: store.db}}
  bindings:
    - {from: src.output, to: agg.input}
    - {from: agg.output, to: out.input}
    - {from: src2.output, to: db.input}
YAML
run_acrt keys 60 run "$d"
expect_rc 0 "acrt run" "$WORK/keys.err"

"$PY" - "$d" <<'PY' || fail "aggregator keys or sums altered" "$d/agg.jsonl"
import json, sys
from decimal import Decimal
d = sys.argv[1]
lines = [l.rstrip("\n") for l in open(d + "/agg.jsonl")]
raw_keys = sorted(l[len('{"key":'):l.index(',"window_start"')] for l in lines)
# "caf\u00e9" and "café" are one string, so one group (escapes are not kept)
want = sorted(['12345678901234567890', '12345678901234567891', '1.50', '1.5', '1E2', '"café"'])
if raw_keys != want:
    sys.exit("group keys %r, expected %r (each exactly as in the input)" % (raw_keys, want))
rows = {l[len('{"key":'):l.index(',"window_start"')]: json.loads(l, parse_float=Decimal) for l in lines}
big = rows['12345678901234567890']
if big["v_sum"] != 9007199254740994 or big["v_count"] != 2:
    sys.exit("exact integer sum: %r" % big)
if rows['"café"']["v_count"] != 2:
    sys.exit("one string, two spellings: %r" % rows['"café"'])
PY
ok "Aggregator: group keys leave as they came; integer sums are exact past 2^53"

"$PY" - "$d" <<'PY' || fail "Store rows altered" "$WORK/keys.err"
import sqlite3, sys
d = sys.argv[1]
src = {}
for l in open(d + "/in.jsonl"):
    l = l.rstrip("\n")
    src[l[l.index('"id":') + 5:].split(",")[0].rstrip("}")] = l
rows = dict(sqlite3.connect(d + "/store.db").execute("select key, value from store"))
if rows != src:
    sys.exit("store rows %r, expected the input lines by id %r" % (rows, src))
PY
ok "Store: each event's text kept byte for byte"
pass
