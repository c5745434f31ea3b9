#!/usr/bin/env bash
# `source: stdin` -> `sink: stdout`: JSON lines piped in come out on stdout, in
# order, as compact JSON, with logs kept on stderr. Also `source: file` ->
# `sink: file` round-trips a JSON-lines file.
. "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$WORK/pipe" "$WORK/files"
cat >"$WORK/pipe/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: pipe
  components:
    - {name: input, type: Source, config: {source: stdin}}
    - {name: output, type: Sink, config: {sink: stdout}}
  bindings:
    - {from: input.output, to: output.input}
YAML

say "three JSON lines through stdin -> stdout"
printf '{"a": 1}\n{"b": "two", "c": [1, 2]}\n{"nested": {"x": null}}\n' >"$WORK/in3.jsonl"
timeout -k 2 20 "$ACRT" run "$WORK/pipe" <"$WORK/in3.jsonl" >"$WORK/out3" 2>"$WORK/err3"
RC=$?
expect_rc 0 "acrt run (3 lines)" "$WORK/err3"
py "$PY_PRELUDE"'
want = [{"a": 1}, {"b": "two", "c": [1, 2]}, {"nested": {"x": None}}]
got = load(sys.argv[1])
if got != want:
    die("stdout holds %r, expected %r" % (got, want))
' "$WORK/out3" || fail "stdout is not the three events" "$WORK/out3" "$WORK/err3"
ok "stdout holds exactly the three events, in order (and nothing else)"

say "5000 lines through stdin -> stdout, from a pipe"
"$PY" -c 'import json; [print(json.dumps({"n": i, "s": "x" * (i % 50)})) for i in range(5000)]' |
	timeout -k 2 20 "$ACRT" run "$WORK/pipe" >"$WORK/out5k" 2>"$WORK/err5k"
RC=$?
expect_rc 0 "acrt run (5000 lines)" "$WORK/err5k"
py "$PY_PRELUDE"'
got = load(sys.argv[1])
if [e.get("n") for e in got] != list(range(5000)):
    die("stdout does not hold n = 0..4999 in order (%d lines)" % len(got))
if any(e["s"] != "x" * (e["n"] % 50) for e in got):
    die("a payload was altered")
' "$WORK/out5k" || fail "stdout is wrong for 5000 lines"
ok "5000 events in order"

say "file source -> file sink"
cat >"$WORK/files/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: files
  components:
    - {name: input, type: Source, config: {source: file, path: in.jsonl}}
    - {name: output, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: input.output, to: output.input}
YAML
cp "$WORK/in3.jsonl" "$WORK/files/in.jsonl"
printf 'stale line\n' >"$WORK/files/out.jsonl"
run_acrt files 20 run "$WORK/files"
expect_rc 0 "acrt run (file -> file)" "$WORK/files.err"
py "$PY_PRELUDE"'
want = [{"a": 1}, {"b": "two", "c": [1, 2]}, {"nested": {"x": None}}]
got = load(sys.argv[1])
if got != want:
    die("out.jsonl holds %r, expected %r" % (got, want))
' "$WORK/files/out.jsonl" || fail "out.jsonl is wrong (it must be truncated at start, then hold the 3 events)" "$WORK/files/out.jsonl"
ok "out.jsonl was truncated and holds the three events"
pass
