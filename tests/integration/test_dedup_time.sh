#!/usr/bin/env bash
# Dedup by the events' own time (time_field, docs/COMPONENTS.md "Dedup"): a key
# seen again within window_ms of the time in the event's `ts` field is dropped,
# later it passes again, whatever the ingestion times; an event with a missing
# or bad time fails alone onto `error`; epoch milliseconds are read too.
. "$(dirname "$0")/lib.sh" "$@"

D="$WORK/sys"
mkdir -p "$D"
cat >"$D/in.jsonl" <<'JSON'
{"id":1,"ts":"2026-01-01T00:00:00Z","n":1}
{"id":2,"ts":"2026-01-01T00:00:01Z","n":2}
{"id":1,"ts":"2026-01-01T00:00:09.999Z","n":3}
{"id":1,"ts":"2026-01-01T00:00:10Z","n":4}
{"id":2,"ts":"2026-01-01T00:00:30+00:00","n":5}
{"id":3,"n":6}
{"id":3,"ts":"yesterday","n":7}
{"id":2,"ts":"2026-01-01T00:00:35Z","n":8}
{"id":4,"ts":1767225600000,"n":9}
{"id":4,"ts":1767225605000,"n":10}
JSON
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: dedupt
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl}}
    - {name: once, type: Dedup, config: {key: id, window_ms: 10000, time_field: ts}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: bad, type: Sink, config: {sink: file, path: bad.jsonl}}
  bindings:
    - {from: src.output, to: once.input}
    - {from: once.output, to: out.input}
    - {from: once.error, to: bad.input}
YAML

say "Dedup with time_field"
run_acrt run 30 run "$D" -q
expect_rc 0 "two events without a valid time go to error (dead-lettered, not lost)" "$WORK/run.err"
grep -q '"failed":2,"dead_lettered":2' "$WORK/run.err" || fail "the two bad times are not counted" "$WORK/run.err"
py "$PY_PRELUDE"'
out = [r["n"] for r in load(sys.argv[1])]
if out != [1, 2, 4, 5, 9]:
    die("passed %r, expected [1, 2, 4, 5, 9]" % out)
bad = load(sys.argv[2])
if len(bad) != 2:
    die("expected 2 events on error, got %d" % len(bad))
' "$D/out.jsonl" "$D/bad.jsonl" || fail "Dedup by ts dropped the wrong events" "$WORK/run.err"
grep -q "time_field 'ts'" "$WORK/run.err" || fail "no reason logged for a bad time" "$WORK/run.err"
ok "by ts: 3 (9.999 s after 1) dropped, 4 (10 s after) passed, 8 (5 s after 5) dropped, 10 (5 s after 9, epoch ms) dropped; 6 and 7 failed alone"
pass
