#!/usr/bin/env bash
# The Autocoder dialect (docs/AUTOCODER.md): the original's keys that acrt
# does not execute are accepted with one note each, misspellings stay errors
# with "did you mean", and the original's shapes load and run.
#
#   1. tests/blueprints/dialect/NNN-name/: `acrt validate` in the case's
#      directory; its exit code must be the `exit N` of the first line of
#      `expect`, and its stderr exactly the rest of `expect` (notes and errors).
#      The whole blueprints of the original's users (03N-original-*) must
#      validate with notes only.
#   2. `acrt run` prints the same notes and exits 0.
#   (test_dialect_run.sh runs the corpus's shapes, its API and acrt help.)
#   3. Hyphenated names downstream: the run with the API and state on, the
#      component's API path, its metrics label, the DOT and Mermaid graphs,
#      the checkpoints of its state, a resumed run.
. "$(dirname "$0")/lib.sh" "$@"

# ---- 1. the corpus --------------------------------------------------------------
CORPUS="$SRC/tests/blueprints/dialect"
[ -d "$CORPUS" ] || fail "no corpus at $CORPUS"
n=0
bad=0
for dir in "$CORPUS"/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	n=$((n + 1))
	want_rc=$(head -n 1 "$dir/expect" | sed -n 's/^exit \([0-9]*\)$/\1/p')
	[ -n "$want_rc" ] || fail "$name: the first line of expect is not 'exit N'"
	tail -n +2 "$dir/expect" >"$WORK/want"
	(cd "$dir" && "$ACRT" validate . 2>"$WORK/got.raw" >/dev/null)
	rc=$?
	sed 's#^\./##' "$WORK/got.raw" >"$WORK/got"
	if [ "$rc" != "$want_rc" ]; then
		say "  FAIL $name: exit $rc, expected $want_rc"
		cat "$WORK/got" >&2
		bad=$((bad + 1))
	elif ! diff -u "$WORK/want" "$WORK/got" >"$WORK/diff"; then
		say "  FAIL $name: stderr differs from expect"
		cat "$WORK/diff" >&2
		bad=$((bad + 1))
	else
		ok "$name (exit $rc)"
	fi
done
[ "$bad" -eq 0 ] || fail "$bad of $n dialect cases failed"
[ "$n" -gt 0 ] || fail "no dialect cases"

# The whole blueprints of the original's users (03N-original-*): each
# validates (exit 0) with notes only, no error line (issue 13, "Done when").
m=0
for dir in "$CORPUS"/03?-original-*/; do
	name=$(basename "$dir")
	m=$((m + 1))
	[ "$(head -n 1 "$dir/expect")" = "exit 0" ] || fail "$name: expected to validate"
	if tail -n +2 "$dir/expect" | grep -v ': note: ' >"$WORK/not-notes"; then
		fail "$name: a line that is not a note" "$WORK/not-notes"
	fi
	tail -n +2 "$dir/expect" | grep -q ': note: ' || fail "$name: no notes at all"
done
[ "$m" -ge 3 ] || fail "only $m whole blueprints of the original"
ok "$m whole blueprints of the original validate with notes only"

# ---- 2. acrt run prints the notes ------------------------------------------------
D="$WORK/notes"
mkdir -p "$D"
cp "$CORPUS/003-component-keys/architecture.yaml" "$D/"
(cd "$D" && timeout -k 2 60 "$ACRT" run . --quiet >"$WORK/notes.out" 2>"$WORK/notes.err")
RC=$?
expect_rc 0 "run of a blueprint with dialect keys" "$WORK/notes.err"
grep '^\./architecture.yaml:[0-9]*:[0-9]*: note: ' "$WORK/notes.err" | sed 's#^\./##' >"$WORK/notes.got"
tail -n +2 "$CORPUS/003-component-keys/expect" >"$WORK/notes.want"
diff -u "$WORK/notes.want" "$WORK/notes.got" >&2 || fail "acrt run does not print the notes validate prints"
ok "acrt run prints the same notes and exits 0"

# ---- 3. hyphenated names downstream --------------------------------------------------
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"
D="$WORK/hyph"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: real-time-pipeline
  components:
    - {name: data-source, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 200}}
    - {name: clean-up, type: Transformer, replicas: 2, config: {set: {seen: 1}}}
    - {name: data-sink, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: data-source.output, to: clean-up.input}
    - {from: clean-up.output, to: data-sink.input}
YAML
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: real-time-pipeline
runtime:
  api: {listen: "127.0.0.1:$PORT"}
  logging: {format: json}
  state: {path: state/ck.db, checkpoint_interval_s: 0.2}
YAML

"$ACRT" graph "$D" >"$WORK/g.dot" 2>"$WORK/g.err" || fail "acrt graph failed" "$WORK/g.err"
grep -q '^  "data-source" \[label=' "$WORK/g.dot" || fail "DOT node id not quoted" "$WORK/g.dot"
grep -q '^  "data-source" -> "clean-up" \[' "$WORK/g.dot" || fail "DOT edge ids not quoted" "$WORK/g.dot"
grep -q '^digraph "real-time-pipeline" {' "$WORK/g.dot" || fail "DOT graph id not quoted" "$WORK/g.dot"
if command -v dot >/dev/null; then
	dot -Tsvg "$WORK/g.dot" >/dev/null 2>"$WORK/dot.err" || fail "dot rejects the graph" "$WORK/dot.err"
fi
"$ACRT" graph --format mermaid "$D" >"$WORK/g.mmd" 2>"$WORK/g.err" || fail "mermaid graph failed" "$WORK/g.err"
grep -q 'c0\["data-source' "$WORK/g.mmd" || fail "mermaid node label" "$WORK/g.mmd"
ok "graph: DOT ids quoted, Mermaid ids by index"

has_addr() { grep -q 'api listening on http://' "$1"; }
has_ck() { "$ACRT" checkpoints list "$D" 2>/dev/null | grep -q '[0-9]'; }
start_acrt hyph run "$D"
RUN=$PID
wait_alive "$RUN" 15 has_addr "$WORK/hyph.err" || fail "no 'api listening' line" "$WORK/hyph.err"
URL="http://127.0.0.1:$PORT"
AR=(-H "Authorization: Bearer $(cat "$D/.acrt/read.token")")
wait_alive "$RUN" 15 has_lines "$D/out.jsonl" 20 || fail "no output" "$WORK/hyph.err"
for c in data-source clean-up data-sink; do
	code=$(curl -s -o "$WORK/c.json" -w '%{http_code}' --max-time 10 "${AR[@]}" "$URL/api/v1/components/$c")
	[ "$code" = 200 ] || fail "/api/v1/components/$c answered $code" "$WORK/c.json"
	grep -q "\"$c\"" "$WORK/c.json" || fail "/api/v1/components/$c does not name it" "$WORK/c.json"
done
ok "/api/v1/components/NAME with hyphens: 200"
cat /proc/"$RUN"/task/*/comm >"$WORK/threads.txt" 2>/dev/null
for t in data-source clean-up#0 clean-up#1 data-sink; do
	grep -qx -- "$t" "$WORK/threads.txt" || fail "no thread named $t" "$WORK/threads.txt"
done
ok "instance threads named after hyphenated components"
curl -s --max-time 10 "${AR[@]}" "$URL/metrics" >"$WORK/metrics.txt"
grep -q 'component="clean-up"' "$WORK/metrics.txt" || fail "no metrics labelled clean-up" "$WORK/metrics.txt"
if command -v promtool >/dev/null; then
	promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool rejects the metrics" "$WORK/promtool.out" "$WORK/metrics.txt"
fi
ok "metrics labelled with hyphenated names"
wait_alive "$RUN" 20 has_ck || fail "no checkpoint stored" "$WORK/hyph.err"
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "the run did not stop on SIGTERM" "$WORK/hyph.err"
expect_rc 0 "hyphenated system stopped" "$WORK/hyph.err"
"$ACRT" checkpoints verify "$D" >"$WORK/verify.out" 2>&1 || fail "checkpoints verify failed" "$WORK/verify.out"
ok "checkpoints of the hyphenated system verify"
before=$(lines "$D/out.jsonl")
start_acrt resume run "$D" --resume
RUN=$PID
more() { [ "$(lines "$D/out.jsonl")" -gt "$((before + 10))" ]; }
wait_alive "$RUN" 20 more || fail "the resumed run produces nothing" "$WORK/resume.err"
if grep -q '"level":"error"' "$WORK/resume.err"; then
	fail "the resumed run logged an error" "$WORK/resume.err"
fi
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "the resumed run did not stop" "$WORK/resume.err"
expect_rc 0 "resumed hyphenated system stopped" "$WORK/resume.err"
pass
