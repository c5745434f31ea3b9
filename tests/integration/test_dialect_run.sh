#!/usr/bin/env bash
# The Autocoder dialect's shapes at run time (docs/AUTOCODER.md); the corpus
# itself is test_dialect.sh's.
#
#   1. The binding shapes, ADR-031 ports, ports only bindings name, the docs'
#      deployment form and the whole blueprints of the corpus run: the events
#      that reach their ends are counted.
#   2. The original's request -> Controller -> Store -> reply (case 024)
#      answers HTTP requests (--stub), and is refused without --stub.
#   3. `acrt help TYPE` for each of the original's 16 type names.
#   4. `acrt convert`: the native form of every valid case validates with no
#      note and no error, converting it again gives the same YAML (but for
#      the comments that name the original's types), the converted whole
#      blueprints run with the same counts, an invalid one converts to nothing.
. "$(dirname "$0")/lib.sh" "$@"

CORPUS="$SRC/tests/blueprints/dialect"
[ -d "$CORPUS" ] || fail "no corpus at $CORPUS"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

# ---- 1. the dialect's shapes carry events -------------------------------------------
# Every binding shape (018), ADR-031 ports (021) and the ports only bindings
# name (020, with --stub for its Model) run: every event reaches each sink
# (018 has two sinks: 6). 023's list of overrides sets the Source's count
# to 5. The whole blueprints run too: each of 030's 20 payments reaches its
# four ends (the two sinks behind its Router's stand-in, the Store, the
# Accumulator: 80), 032's terminator lets 5 of 8 through. In 027 the
# created outputs of a Transformer without config, a Controller router's
# default and a stand-in carry every event (4 sinks of 3; the router's new
# rule port gets none: the events have no value).
for c in 018-binding-shapes:6 021-adr-ports:3 020-ports-from-bindings:3 023-deployment-docs-form:5 \
	027-created-outputs:12 030-original-pipeline:80 032-original-root-level:5; do
	name=${c%%:*}
	want=${c##*:}
	D="$WORK/run-$name"
	mkdir -p "$D"
	cp "$CORPUS/$name/"*.yaml "$D/"
	(cd "$D" && timeout -k 2 60 "$ACRT" run . --stub --quiet >"$WORK/$name.out" 2>"$WORK/$name.err")
	RC=$?
	expect_rc 0 "run of $name" "$WORK/$name.err"
	grep -q "\"sink_events\":$want[,}]" "$WORK/$name.err" ||
		fail "$name: expected $want sink events" "$WORK/$name.err"
	ok "$name runs: $want events reach the sinks"
done

# ---- 2. the original's request -> Controller -> Store -> reply answers ------------------
# 024: an APIEndpoint in the original's keys (port, endpoints) with a binding
# back into its `request` port. Without --stub the run refuses its Controller;
# with it, each request is answered with the Store's reply, with its status.
D="$WORK/api"
mkdir -p "$D"
PORT=$(free_port)
sed "s/port: 18480/port: $PORT/" "$CORPUS/024-api-reply/architecture.yaml" >"$D/architecture.yaml"
run_acrt api-refused 30 run "$D" --quiet
expect_rc 2 "run of 024 without --stub" "$WORK/api-refused.err"
grep -q "component 'todo_controller' (Controller) needs an implementation" "$WORK/api-refused.err" ||
	fail "the refusal does not name the Controller" "$WORK/api-refused.err"
start_acrt api run "$D" --stub --quiet
RUN=$PID
URL="http://127.0.0.1:$PORT"
up() { curl -s -o /dev/null --max-time 2 "$URL/todos"; }
wait_alive "$RUN" 15 up || fail "the endpoint does not answer" "$WORK/api.err"
call() { # METHOD PATH [BODY] -> $WORK/body, prints the status
	if [ $# -ge 3 ]; then
		curl -s -o "$WORK/body" -w '%{http_code}' --max-time 10 -X "$1" -d "$3" "$URL$2"
	else
		curl -s -o "$WORK/body" -w '%{http_code}' --max-time 10 -X "$1" "$URL$2"
	fi
}
code=$(call POST /todos '{"title":"milk"}')
[ "$code" = 201 ] || fail "POST /todos answered $code" "$WORK/body" "$WORK/api.err"
id=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/body") ||
	fail "POST /todos: no id in the answer" "$WORK/body"
code=$(call GET "/todos/$id")
[ "$code" = 200 ] || fail "GET /todos/$id answered $code" "$WORK/body"
grep -q '"title":"milk"' "$WORK/body" || fail "GET /todos/$id: not the record" "$WORK/body"
code=$(call GET /todos/nope)
[ "$code" = 404 ] || fail "GET of an unknown id answered $code" "$WORK/body"
code=$(call PATCH "/todos/$id" '{"title":"oat milk"}')
[ "$code" = 200 ] || fail "PATCH /todos/$id answered $code" "$WORK/body"
code=$(call GET /todos)
[ "$code" = 200 ] || fail "GET /todos answered $code" "$WORK/body"
grep -q '"title":"oat milk"' "$WORK/body" || fail "GET /todos: not the updated record" "$WORK/body"
code=$(call DELETE "/todos/$id")
[ "$code" = 200 ] || fail "DELETE /todos/$id answered $code" "$WORK/body"
code=$(call GET "/todos/$id")
[ "$code" = 404 ] || fail "GET after DELETE answered $code" "$WORK/body"
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "the API run did not stop on SIGTERM" "$WORK/api.err"
expect_rc 0 "API run stopped" "$WORK/api.err"
ok "the original's APIEndpoint answers: 201 with an id, 200, 404, update, list, delete"

# ---- 3. acrt help TYPE for every type name of the original ---------------------------
# Each prints the original's default ports and what acrt runs it as; a type
# acrt has too prints acrt's keys first; an unknown name lists both sets.
for t in Store Source Transformer Sink APIEndpoint Controller StreamProcessor FastAPIEndpoint \
	Model MetricsEndpoint Router Filter Accumulator WebSocket Aggregator EventSource; do
	run_acrt "help-$t" 10 help "$t"
	expect_rc 0 "acrt help $t" "$WORK/help-$t.err"
	grep -q '^original input ports:' "$WORK/help-$t.out" ||
		fail "acrt help $t: no original ports" "$WORK/help-$t.out"
done
grep -q 'a type of the original Autocoder blueprint language' "$WORK/help-Model.out" ||
	fail "acrt help Model: not named as the original's" "$WORK/help-Model.out"
grep -q '^original output ports: predictions$' "$WORK/help-Model.out" ||
	fail "acrt help Model: its template's output" "$WORK/help-Model.out"
grep -q 'Needs an implementation' "$WORK/help-Model.out" ||
	fail "acrt help Model: does not say it needs an implementation" "$WORK/help-Model.out"
grep -Eq '^  key +string' "$WORK/help-Store.out" ||
	fail "acrt help Store: acrt's keys are gone" "$WORK/help-Store.out"
grep -q 'crud: true' "$WORK/help-Store.out" ||
	fail "acrt help Store: no dialect section" "$WORK/help-Store.out"
grep -q 'listen = host:port' "$WORK/help-APIEndpoint.out" ||
	fail "acrt help APIEndpoint: the original's port/endpoints" "$WORK/help-APIEndpoint.out"
run_acrt help-bad 10 help EventSorce
expect_rc 2 "acrt help EventSorce" "$WORK/help-bad.err"
grep -q 'original Autocoder language (.*EventSource' "$WORK/help-bad.err" ||
	fail "an unknown name does not list the original's types" "$WORK/help-bad.err"
ok "acrt help TYPE for the 16 type names of the original"

# ---- 4. acrt convert ----------------------------------------------------------------------
nconv=0
for dir in "$CORPUS"/0*/ "$SRC/examples/todo-api/"; do
	name=$(basename "$dir")
	[ -f "$dir/expect" ] && [ "$(head -n 1 "$dir/expect")" != "exit 0" ] && continue
	D="$WORK/conv-$name"
	mkdir -p "$D"
	(cd "$dir" && "$ACRT" convert . >"$D/architecture.yaml" 2>"$WORK/conv.err") ||
		fail "$name: acrt convert failed" "$WORK/conv.err"
	(cd "$D" && "$ACRT" validate . >/dev/null 2>"$WORK/conv-v.err") ||
		fail "$name: its native form does not validate" "$WORK/conv-v.err" "$D/architecture.yaml"
	[ -s "$WORK/conv-v.err" ] &&
		fail "$name: its native form has notes or errors" "$WORK/conv-v.err" "$D/architecture.yaml"
	(cd "$D" && "$ACRT" convert . 2>/dev/null) | grep -v '^ *#' >"$WORK/conv2.yaml"
	grep -v '^ *#' "$D/architecture.yaml" | diff -u - "$WORK/conv2.yaml" >&2 ||
		fail "$name: converting its native form again changes it"
	nconv=$((nconv + 1))
done
[ "$nconv" -ge 25 ] || fail "only $nconv blueprints converted"
ok "acrt convert: $nconv native forms validate with no note, and convert to themselves"
for c in 030-original-pipeline:80 032-original-root-level:5; do
	name=${c%%:*}
	want=${c##*:}
	(cd "$WORK/conv-$name" && timeout -k 2 60 "$ACRT" run . --quiet >"$WORK/cr.out" 2>"$WORK/cr.err")
	RC=$?
	expect_rc 0 "run of the native form of $name (no --stub)" "$WORK/cr.err"
	grep -q "\"sink_events\":$want[,}]" "$WORK/cr.err" ||
		fail "the native form of $name: expected $want sink events" "$WORK/cr.err"
done
ok "the native forms of the whole blueprints run with the same counts"
run_acrt conv-bad 10 convert "$CORPUS/112-binding-shape-errors"
expect_rc 2 "acrt convert of an invalid blueprint" "$WORK/conv-bad.err"
[ -s "$WORK/conv-bad.out" ] && fail "acrt convert printed YAML for an invalid blueprint" "$WORK/conv-bad.out"
ok "an invalid blueprint converts to nothing (exit 2)"

pass
