#!/usr/bin/env bash
# Hot reload (issue 7, docs/RELOAD.md): SIGHUP, POST /api/v1/reload, --watch.
#   1. a long sequence run whose Transformer's `set:` value changes mid-run:
#      with SIGHUP and chaining on, the Transformer alone is replaced in place
#      (the system is not restarted); with the API and chaining off, a second
#      Transformer is added too, which switches the whole graph. Either way the
#      sink holds every seq exactly once, the old value before one seq and the
#      new after;
#   2. a reload to an invalid blueprint changes nothing: the error is logged
#      with file:line:col, the run goes on, the API reports the failure;
#   3. a reload whose new component fails setup: the previous system comes
#      back with its state, still exactly-once;
#   4. --watch and a stateful component (a count in managed state) whose
#      config changes: the count is handed over, every event counted once;
#   5. the write token is needed for POST /api/v1/reload (403 with the read one).
. "$(dirname "$0")/lib.sh" "$@"

SCALE=${ACRT_TEST_SCALE:-1}
N=$("$PY" -c "print(max(3000, int(40000 * $SCALE)))")
RATE=$("$PY" -c "print(max(1500, int(10000 * $SCALE)))")

# mk DIR CHAINING VALUE: sequence -> Transformer set {v: VALUE} -> file sink.
mk() {
	local d=$1 chaining=$2 value=$3
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: reloadtest
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N, rate_per_s: $RATE}}
    - {name: xf, type: Transformer, config: {set: {v: $value}}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: reloadtest
runtime:
  chaining: $chaining
  api: {listen: "127.0.0.1:$(free_port)"}
YAML
}

api_addr() { grep -o 'api listening on http://[^ "]*' "$1" | tail -n1 | sed 's|.*http://||'; }
has_addr() { [ -n "$(api_addr "$1")" ]; }
log_has() { grep -q "$2" "$1"; }

# The sink holds seq 1..N once each, `old` strictly before some seq, `new` after.
CHECK='
import json, sys
d, n, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ev = [json.loads(l) for l in open(d + "/out.jsonl")]
seqs = [e["seq"] for e in ev]
if sorted(seqs) != list(range(1, n + 1)):
    sys.exit("%d lines, %d distinct, want %d" % (len(seqs), len(set(seqs)), n))
by = sorted(ev, key=lambda e: e["seq"])
vals = [e["v"] for e in by]
if new not in vals or old not in vals:
    sys.exit("expected both values, got %s" % sorted(set(map(str, vals))))
k = vals.index(new)
if any(v != old for v in vals[:k]) or any(v != new for v in vals[k:]):
    sys.exit("values are not old then new around seq %d" % by[k]["seq"])
print("switched at seq %d" % by[k]["seq"])
'

# ---- 1. SIGHUP (chaining on) and the API (chaining off) ----------------------
for how in sighup api; do
	chaining=true
	[ "$how" = api ] && chaining=false
	D="$WORK/set_$how"
	mk "$D" "$chaining" old
	start_acrt "set_$how" run "$D" --quiet
	RUN=$PID
	wait_alive "$RUN" 20 has_lines "$D/out.jsonl" 500 || fail "no output" "$WORK/set_$how.err"
	sed -i 's/v: old/v: new/' "$D/architecture.yaml"
	if [ "$how" = api ]; then # a structural change: xf -> xf2 -> out
		sed -i -e 's/- {from: xf.output, to: out.input}/- {from: xf.output, to: xf2.input}\n    - {from: xf2.output, to: out.input}/' \
			-e 's/    - {name: out, type: Sink/    - {name: xf2, type: Transformer, config: {set: {w: 1}}}\n    - {name: out, type: Sink/' \
			"$D/architecture.yaml"
	fi
	if [ "$how" = sighup ]; then
		kill -HUP "$RUN"
	else
		wait_alive "$RUN" 10 has_addr "$WORK/set_$how.err" || fail "no API address"
		code=$(curl -s -o "$WORK/post.json" -w '%{http_code}' -X POST \
			-H "Authorization: Bearer $(cat "$D/.acrt/write.token")" \
			"http://$(api_addr "$WORK/set_$how.err")/api/v1/reload")
		[ "$code" = 202 ] || fail "POST /api/v1/reload: $code" "$WORK/post.json"
	fi
	done_msg='done in place'
	[ "$how" = api ] && done_msg='done: the new system runs'
	wait_alive "$RUN" 20 log_has "$WORK/set_$how.err" "$done_msg" ||
		fail "$how: the reload did not complete ($done_msg)" "$WORK/set_$how.err"
	grep "$done_msg" "$WORK/set_$how.err" | grep -q '"changed":{"xf":\["config"\]}' ||
		fail "$how: the reload does not say what changed" "$WORK/set_$how.err"
	starts=$(grep -c "system 'reloadtest' started" "$WORK/set_$how.err")
	if [ "$how" = sighup ]; then
		[ "$starts" = 1 ] || fail "in place: the system was restarted" "$WORK/set_$how.err"
		ok "sighup: a config change replaces the Transformer in place; source and sink keep running"
	else
		[ "$starts" = 2 ] || fail "a structural change did not switch generations" "$WORK/set_$how.err"
		grep "$done_msg" "$WORK/set_$how.err" | grep -q '"added":\["xf2"\]' ||
			fail "the added component is not reported" "$WORK/set_$how.err"
	fi
	[ "$(lines "$D/out.jsonl")" -lt "$N" ] || fail "$how: the run ended before the reload"
	wait_exit "$RUN" 60 || fail "$how: the run did not end"
	expect_rc 0 "$how reload (chaining=$chaining): exit" "$WORK/set_$how.err"
	py "$CHECK" "$D" "$N" old new || fail "$how: not exactly-once, or values mixed"
	# The last line counts the whole run, every generation of it.
	py "$PY_PRELUDE"'
n, gens = int(sys.argv[2]), int(sys.argv[3])
fin = [r for r in log_records(sys.argv[1]) if "exit_status" in r]
r = fin[-1] if fin else {}
if (r.get("generations"), r.get("source_events"), r.get("sink_events"), r.get("lost")) != (gens, n, n, 0):
    die("the summary should count %d generation(s), %d events from the source and into the sink, none lost: %r" % (gens, n, r))
' "$WORK/set_$how.err" "$N" "$starts" || fail "$how: the summary does not count the whole run" "$WORK/set_$how.err"
	if [ "$how" = api ]; then
		py 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    assert (e["v"] == "new") == (e.get("w") == 1), e' "$D/out.jsonl" ||
			fail "the added Transformer does not see exactly the new events"
	fi
	ok "$how (chaining=$chaining): every seq once, 'old' then 'new', the change logged"
done

# ---- 2. an invalid blueprint changes nothing --------------------------------
D="$WORK/invalid"
mk "$D" true old
start_acrt invalid run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 20 has_lines "$D/out.jsonl" 300 || fail "no output" "$WORK/invalid.err"
wait_alive "$RUN" 10 has_addr "$WORK/invalid.err" || fail "no API address"
cp "$D/architecture.yaml" "$WORK/good.yaml"
sed -i 's/v: old}}/v: old}, bogus: 1}/' "$D/architecture.yaml"
kill -HUP "$RUN"
wait_alive "$RUN" 20 log_has "$WORK/invalid.err" 'failed, nothing changed' ||
	fail "no reload failure logged" "$WORK/invalid.err"
grep -q 'architecture.yaml:7:[0-9]*: unknown config key .bogus' "$WORK/invalid.err" ||
	fail "the error does not name file:line:col and the key" "$WORK/invalid.err"
L1=$(lines "$D/out.jsonl")
grows() { [ "$(lines "$D/out.jsonl")" -gt "$((L1 + 200))" ]; }
wait_alive "$RUN" 20 grows || fail "the run stopped after a failed reload" "$WORK/invalid.err"
curl -fsS -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" \
	"http://$(api_addr "$WORK/invalid.err")/api/v1/system" >"$WORK/system.json" ||
	fail "GET /api/v1/system"
py 'import json, sys
r = json.load(open(sys.argv[1]))["reload"]
assert r["failed"] == 1 and r["succeeded"] == 0, r
assert r["last"]["ok"] is False and "bogus" in r["last"]["error"], r' "$WORK/system.json" ||
	fail "the API does not report the failed reload" "$WORK/system.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $(cat "$D/.acrt/read.token")" \
	"http://$(api_addr "$WORK/invalid.err")/api/v1/reload")
[ "$code" = 403 ] || fail "POST /api/v1/reload with the read token: $code, want 403"
ok "POST /api/v1/reload with the read token: 403"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "after a failed reload" "$WORK/invalid.err"
[ "$(lines "$D/out.jsonl")" -eq "$N" ] || fail "events lost or duplicated after a failed reload"
ok "invalid blueprint: logged with file:line:col, nothing changed, the API says so, the run completes"

# ---- 3. the new system's setup fails: back to the previous one ---------------
D="$WORK/rollback"
mk "$D" true old
start_acrt rollback run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 20 has_lines "$D/out.jsonl" 300 || fail "no output" "$WORK/rollback.err"
sed -i "s|{name: xf, type: Transformer, config: {set: {v: old}}}|{name: xf, implementation: \"plugin:$(plugin fail_setup)#fail_setup\", config: {marker: $WORK/m.txt}}|" \
	"$D/architecture.yaml"
kill -HUP "$RUN"
wait_alive "$RUN" 20 log_has "$WORK/rollback.err" 'setting the previous system up again' ||
	fail "no rollback" "$WORK/rollback.err"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "after a rolled-back reload" "$WORK/rollback.err"
py 'import json, sys
seqs = sorted(json.loads(l)["seq"] for l in open(sys.argv[1]))
assert seqs == list(range(1, int(sys.argv[2]) + 1)), (len(seqs), len(set(seqs)))
assert all(json.loads(l)["v"] == "old" for l in open(sys.argv[1]))' "$D/out.jsonl" "$N" ||
	fail "not exactly-once after a rollback"
ok "a failing setup in the new system: the previous one is back with its state, exactly-once"

# ---- 4. --watch, and a stateful component's config change --------------------
D="$WORK/watch"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: watchtest
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N, rate_per_s: $RATE}}
    - {name: count, implementation: "plugin:$(plugin counter)#counter", config: {label: a}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: count.input}
    - {from: count.output, to: out.input}
YAML
start_acrt watch run "$D" --quiet --watch
RUN=$PID
wait_alive "$RUN" 20 log_has "$WORK/watch.err" 'started' || fail "did not start" "$WORK/watch.err"
sleep 0.3 # let some events be counted before the change (not a synchronisation)
# first a config whose setup fails: swapped back to the old config, in place
sed -i 's/label: a}/label: b, fail_setup: true}/' "$D/architecture.yaml"
wait_alive "$RUN" 20 log_has "$WORK/watch.err" 'keep their previous config' ||
	fail "--watch: no in-place rollback" "$WORK/watch.err"
# then a good one
sed -i 's/, fail_setup: true//' "$D/architecture.yaml"
wait_alive "$RUN" 20 log_has "$WORK/watch.err" 'reload (watch) done in place' ||
	fail "--watch did not reload" "$WORK/watch.err"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "--watch run" "$WORK/watch.err"
[ "$(grep -c "system 'watchtest' started" "$WORK/watch.err")" = 1 ] ||
	fail "the system was restarted" "$WORK/watch.err"
py 'import json, sys
(r,) = [json.loads(l) for l in open(sys.argv[1])]
assert r == {"count": int(sys.argv[2]), "label": "b", "setups": 3}, r' "$D/out.jsonl" "$N" ||
	fail "the state was not handed over" "$D/out.jsonl"
ok "--watch, in place: a failing new config rolls back, a good one applies; the count is kept"

# ---- 5. in place with a component on its own thread (chaining off) ------------
D="$WORK/threads"
mk "$D" false old
start_acrt threads run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 20 has_lines "$D/out.jsonl" 500 || fail "no output" "$WORK/threads.err"
sed -i 's/v: old/v: new/' "$D/architecture.yaml"
kill -HUP "$RUN"
wait_alive "$RUN" 20 log_has "$WORK/threads.err" 'done in place' ||
	fail "no in-place reload" "$WORK/threads.err"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "in place, chaining off" "$WORK/threads.err"
[ "$(grep -c "system 'reloadtest' started" "$WORK/threads.err")" = 1 ] ||
	fail "the system was restarted" "$WORK/threads.err"
py "$CHECK" "$D" "$N" old new || fail "chaining off, in place: not exactly-once"
ok "in place with chaining off: only the Transformer's thread paused; every seq once"

# ---- 6. in place: the file sink moves to another file ------------------------
D="$WORK/sinkpath"
mk "$D" true old
start_acrt sinkpath run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 20 has_lines "$D/out.jsonl" 500 || fail "no output" "$WORK/sinkpath.err"
sed -i 's/path: out.jsonl/path: out2.jsonl/' "$D/architecture.yaml"
kill -HUP "$RUN"
wait_alive "$RUN" 20 log_has "$WORK/sinkpath.err" 'done in place' ||
	fail "no in-place reload" "$WORK/sinkpath.err"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "sink path change" "$WORK/sinkpath.err"
py 'import json, sys
a = [json.loads(l)["seq"] for l in open(sys.argv[1] + "/out.jsonl")]
b = [json.loads(l)["seq"] for l in open(sys.argv[1] + "/out2.jsonl")]
assert a and b, (len(a), len(b))
assert sorted(a + b) == list(range(1, int(sys.argv[2]) + 1)), (len(a), len(b))
assert max(a) < min(b), (max(a), min(b))' "$D" "$N" || fail "the sink's files do not split the run"
ok "in place: the file sink moves to a new file; old then new file, every seq once"

# ---- 7. a changed plugin file is loaded fresh ---------------------------------
D="$WORK/plugfile"
mkdir -p "$D"
cp "$(plugin counter)" "$D/libcount.so"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -shared -fPIC -O1 -I"$SRC/include" -DCOUNTER_BUILD='"v2"' \
	"$SRC/tests/integration/plugins/counter.c" -o "$WORK/libcount2.so" \
	$(pkg-config --cflags --libs jansson) 2>"$WORK/cc.err" || fail "cannot build the v2 plugin" "$WORK/cc.err"
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: plugtest
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N, rate_per_s: $RATE}}
    - {name: count, implementation: "plugin:./libcount.so#counter", config: {label: a}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: count.input}
    - {from: count.output, to: out.input}
YAML
start_acrt plugfile run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 20 log_has "$WORK/plugfile.err" 'started' || fail "did not start" "$WORK/plugfile.err"
sleep 0.3 # let some events be counted first (not a synchronisation)
cp "$WORK/libcount2.so" "$D/libcount.so.new" && mv "$D/libcount.so.new" "$D/libcount.so"
kill -HUP "$RUN"
wait_alive "$RUN" 20 log_has "$WORK/plugfile.err" 'done: the new system runs' ||
	fail "no reload after the plugin changed" "$WORK/plugfile.err"
grep 'done: the new system runs' "$WORK/plugfile.err" | grep -q '"count":\["plugin file"\]' ||
	fail "the plugin file change is not reported" "$WORK/plugfile.err"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "plugin file change" "$WORK/plugfile.err"
py 'import json, sys
(r,) = [json.loads(l) for l in open(sys.argv[1])]
assert r == {"count": int(sys.argv[2]), "label": "a", "setups": 2, "build": "v2"}, r' \
	"$D/out.jsonl" "$N" || fail "the new plugin was not loaded, or the state was lost" "$D/out.jsonl"
ok "a rebuilt plugin .so: the reload loads it fresh and hands it the state"

pass
