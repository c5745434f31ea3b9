#!/usr/bin/env bash
# `acrt schema check SCHEMA.json [INSTANCE.json|-]...` (SPEC section 6): one
# line per instance (files, scalars, JSON lines on stdin), exit 0 when all are
# valid, 1 when any is invalid, 2 for a bad schema or an unreadable instance.
. "$(dirname "$0")/lib.sh" "$@"

cd "$WORK" || fail "cannot cd to $WORK"
cat >order.json <<'JSON'
{
  "$defs": {"money": {"type": "number", "minimum": 0}},
  "type": "object",
  "required": ["id", "amount"],
  "properties": {
    "id": {"type": "string"},
    "amount": {"$ref": "#/$defs/money"},
    "lines": {"type": "array", "items": {"type": "object", "required": ["sku"]}}
  },
  "unevaluatedProperties": false
}
JSON
echo '{"id": "a1", "amount": 3.5, "lines": [{"sku": "x"}]}' >good.json
echo '{"amount": "ten", "lines": [{"sku": "x"}, {"qty": 1}], "extra": true}' >bad.json
echo '42' >scalar.json
echo '{"id": "a2", "amount": 0}' >good2.json

# expect_line FILE LINE: FILE holds exactly this line.
expect_line() {
	grep -qxF -- "$2" "$1" || fail "expected the line '$2'" "$1"
	ok "$2"
}

say "all valid"
run_acrt valid 10 schema check order.json good.json good2.json
expect_rc 0 "two valid instances" "$WORK/valid.out" "$WORK/valid.err"
expect_line valid.out "good.json: valid"
expect_line valid.out "good2.json: valid"
[ "$(lines valid.out)" = 2 ] || fail "expected 2 lines" valid.out

say "one invalid"
run_acrt mixed 10 schema check order.json good.json bad.json scalar.json
expect_rc 1 "an invalid instance" "$WORK/mixed.out" "$WORK/mixed.err"
expect_line mixed.out "good.json: valid"
expect_line mixed.out "bad.json: invalid: /id: required; /amount: type number, got string; /lines/1/sku: required; /extra: unevaluatedProperties"
expect_line mixed.out "scalar.json: invalid: (root): type object, got integer"

say "JSON lines on stdin"
printf '{"id":"x","amount":1}\n\n{"id":"y","amount":-1}\n' >lines.jsonl
run_acrt stdin 10 schema check order.json <lines.jsonl
expect_rc 1 "stdin with an invalid line" "$WORK/stdin.out" "$WORK/stdin.err"
expect_line stdin.out "stdin:1: valid"
expect_line stdin.out "stdin:3: invalid: /amount: minimum 0, got -1"
run_acrt dash 10 schema check order.json good.json - <lines.jsonl
expect_rc 1 "'-' among files" "$WORK/dash.out" "$WORK/dash.err"
expect_line dash.out "stdin:1: valid"
printf '{"id":"x","amount":1}\n' >one.jsonl
run_acrt stdin_ok 10 schema check order.json - <one.jsonl
expect_rc 0 "stdin all valid" "$WORK/stdin_ok.out" "$WORK/stdin_ok.err"

say "unreadable input"
printf '{"id":"x","amount":1}\nnot json\n' >broken.jsonl
run_acrt badline 10 schema check order.json <broken.jsonl
expect_rc 2 "a line that is not JSON" "$WORK/badline.out" "$WORK/badline.err"
grep -q 'stdin:2' badline.err || fail "the error does not name stdin:2" badline.err
run_acrt missing 10 schema check order.json nowhere.json good.json
expect_rc 2 "a missing instance file" "$WORK/missing.out" "$WORK/missing.err"
grep -q 'nowhere.json' missing.err || fail "the error does not name nowhere.json" missing.err
expect_line missing.out "good.json: valid"

say "bad schemas"
echo '{"type": ' >notjson.json
echo '{"properties": {"a": {"pattern": "(unclosed"}}}' >badregex.json
echo '{"$ref": "https://example.com/other.json"}' >remote.json
for s in nosuch.json notjson.json badregex.json remote.json; do
	run_acrt "schema_$s" 10 schema check "$s" good.json
	expect_rc 2 "schema $s" "$WORK/schema_$s.out" "$WORK/schema_$s.err"
	grep -qF "$s" "$WORK/schema_$s.err" || fail "the error does not name $s" "$WORK/schema_$s.err"
	[ -s "$WORK/schema_$s.out" ] && fail "nothing should be validated with schema $s" "$WORK/schema_$s.out"
	ok "stderr: $(head -1 "$WORK/schema_$s.err")"
done

say "usage"
run_acrt usage 10 schema
expect_rc 2 "acrt schema without a subcommand" "$WORK/usage.out" "$WORK/usage.err"
run_acrt usage2 10 schema check
expect_rc 2 "acrt schema check without a schema" "$WORK/usage2.out" "$WORK/usage2.err"

pass
