#!/usr/bin/env bash
# Checkpoints and --resume (issue 6, docs/STATE.md), with a real Redis:
#   1. exactly-once: sequence -> jq key -> {keyed Aggregator -> sink, file sink};
#      SIGKILL at random points after a checkpoint (twice), --resume to the
#      end: the aggregates equal an uninterrupted run's and the sink holds every
#      seq exactly once; for sqlite_snapshot and redis_snapshot, chaining on/off;
#   2. Redis stopped mid-run: the run goes on, the failure is logged and
#      counted in /metrics; Redis back: the next checkpoint is stored; Redis
#      down at a graceful stop: the final checkpoint is not stored, exit 1;
#   3. a corrupted part: `acrt checkpoints verify` reports it (exit 1), and
#      --resume skips that checkpoint for the previous one, still exactly-once;
#   4. alignment with fan-in and replicas: a fast source through a 2-replica
#      transformer and a slow source into one sink; kill, resume, exactly-once.
. "$(dirname "$0")/lib.sh" "$@"

SCALE=${ACRT_TEST_SCALE:-1}
N=$("$PY" -c "print(max(4000, int(60000 * $SCALE)))")
RATE=$("$PY" -c "print(max(2000, int(20000 * $SCALE)))")

start_redis # lib.sh

# mk DIR ADAPTER CHAINING: the exactly-once system.
mk() {
	local d=$1 adapter=$2 chaining=$3
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: ckpt_$adapter
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N, rate_per_s: $RATE}}
    - {name: key, type: Transformer, config: {jq: '.k = (.seq % 7)'}}
    - {name: agg, type: Aggregator, config: {key: k, ops: {seq: sum, k: count}}}
    - {name: aggout, type: Sink, config: {sink: file, path: agg.jsonl}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: key.input}
    - {from: key.output, to: [agg.input, out.input]}
    - {from: agg.output, to: aggout.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: ckpt_$adapter
runtime:
  chaining: $chaining
  api: {listen: "127.0.0.1:$(free_port)"}
  state:
    adapter: $adapter
    path: state/ck.db
    redis_url: redis://127.0.0.1:$REDIS_PORT
    checkpoint_interval_s: 0.2
    retain: 3
YAML
}

stored() { grep -c '"msg":"checkpoint [0-9]* stored' "$1" 2>/dev/null || true; }
has_stored() { [ "$(stored "$1")" -ge "$2" ]; }

# The sink holds every seq 1..N exactly once; the aggregates are exact.
CHECK='
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
seqs = [json.loads(l)["seq"] for l in open(d + "/out.jsonl")]
if sorted(seqs) != list(range(1, n + 1)):
    dup = len(seqs) - len(set(seqs))
    sys.exit("out.jsonl: %d lines, %d distinct, %d duplicates, missing %d" %
             (len(seqs), len(set(seqs)), dup, n - len(set(seqs))))
want = {}
for s in range(1, n + 1):
    w = want.setdefault(s % 7, [0, 0]); w[0] += s; w[1] += 1
got = {}
for l in open(d + "/agg.jsonl"):
    a = json.loads(l)
    if a["key"] in got: sys.exit("key %r emitted twice" % a["key"])
    got[a["key"]] = [a["seq_sum"], a["k_count"]]
if got != want:
    sys.exit("aggregates differ: got %r want %r" % (got, want))
'

# kill_after DIR NAME K: runs (resuming when NAME != first), SIGKILLs once K
# more checkpoints are stored, plus a random 0-150 ms.
kill_after() {
	local d=$1 name=$2 k=$3 extra=$4
	start_acrt "$name" run "$d" --quiet $extra
	wait_alive "$PID" 30 has_stored "$WORK/$name.err" "$k" ||
		fail "$name: no $k checkpoints stored" "$WORK/$name.err"
	sleep "0.$(printf '%03d' $((RANDOM % 150)))"
	kill -KILL "$PID"
	wait_exit "$PID" 10 || fail "$name: still running after SIGKILL"
}

# ---- 1. exactly-once across two crashes ------------------------------------
for adapter in sqlite_snapshot redis_snapshot; do
	for chaining in true false; do
		D="$WORK/eo_${adapter}_$chaining"
		mk "$D" "$adapter" "$chaining"
		kill_after "$D" "eo1_${adapter}_$chaining" $((1 + RANDOM % 3)) ""
		[ "$(lines "$D/out.jsonl")" -lt "$N" ] || fail "the first run finished before the kill"
		kill_after "$D" "eo2_${adapter}_$chaining" 2 "--resume"
		run_acrt "eo3_${adapter}_$chaining" 120 run "$D" --quiet --resume
		expect_rc 0 "$adapter chaining=$chaining: resumed run to the end" \
			"$WORK/eo3_${adapter}_$chaining.err"
		grep -q '"msg":"resuming from checkpoint' "$WORK/eo3_${adapter}_$chaining.err" ||
			fail "no 'resuming from checkpoint' line" "$WORK/eo3_${adapter}_$chaining.err"
		py "$CHECK" "$D" "$N" || fail "$adapter chaining=$chaining: not exactly-once"
		ok "$adapter chaining=$chaining: two SIGKILLs, --resume: every seq once, aggregates exact"
	done
done
"$ACRT" checkpoints list "$D" >"$WORK/list.out" 2>&1 || fail "checkpoints list failed" "$WORK/list.out"
[ "$(grep -c '^[0-9]' "$WORK/list.out")" -eq 3 ] || fail "retain: 3 not kept" "$WORK/list.out"
ok "checkpoints list (redis): the newest 3 kept (retain: 3)"

# ---- 2. Redis down mid-run, then back ----------------------------------------
D="$WORK/down"
mk "$D" redis_snapshot true
sed -i "s/count: $N, //" "$D/architecture.yaml" # unbounded
start_acrt down run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 30 has_stored "$WORK/down.err" 1 || fail "no checkpoint stored" "$WORK/down.err"
stop_redis
failed_logged() { grep -q 'could not be stored' "$WORK/down.err"; }
wait_alive "$RUN" 30 failed_logged || fail "no 'could not be stored' error" "$WORK/down.err"
grep 'could not be stored' "$WORK/down.err" | head -n1 | grep -q '"error_class"' ||
	fail "the store error is not enriched" "$WORK/down.err"
L1=$(lines "$D/out.jsonl")
growing() { [ "$(lines "$D/out.jsonl")" -gt "$((L1 + 1000))" ]; }
wait_alive "$RUN" 30 growing || fail "processing stopped while Redis was down" "$WORK/down.err"
ADDR=$(grep -o 'api listening on http://[^ "]*' "$WORK/down.err" | head -n1 | sed 's|.*http://||')
curl -fsS -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" "http://$ADDR/metrics" \
	>"$WORK/metrics.txt" || fail "GET /metrics failed"
grep -Eq '^acrt_checkpoints_total\{result="failed"\} [1-9]' "$WORK/metrics.txt" ||
	fail "the failure is not counted" "$WORK/metrics.txt"
ok "Redis down: processing goes on, the failure is logged (enriched) and counted"
alert_logged() { grep -q "alert 'checkpoint_store_failing' firing" "$WORK/down.err"; }
wait_alive "$RUN" 30 alert_logged || fail "no checkpoint_store_failing alert" "$WORK/down.err"
ok "the built-in alert checkpoint_store_failing fires"
BEFORE=$(stored "$WORK/down.err")
start_redis
more_stored() { [ "$(stored "$WORK/down.err")" -gt "$BEFORE" ]; }
wait_alive "$RUN" 30 more_stored || fail "no checkpoint stored after Redis came back" "$WORK/down.err"
ok "Redis back: the next checkpoint is stored, no restart"
# Redis down again, then a graceful stop: the final checkpoint cannot be
# stored, and the run must not end with exit 0 (a --resume would need it).
stop_redis
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "SIGTERM did not stop the run"
expect_rc 1 "SIGTERM with the store down" "$WORK/down.err"
grep -q 'the final checkpoint could not be stored' "$WORK/down.err" ||
	fail "no error saying the final checkpoint was not stored" "$WORK/down.err"
ok "the final checkpoint not stored at a graceful stop: logged, exit 1"
start_redis

# ---- 3. a corrupted part ----------------------------------------------------
D="$WORK/corrupt"
mk "$D" sqlite_snapshot true
kill_after "$D" c1 2 ""
NEWEST=$(py 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select max(id) from checkpoints").fetchone()[0])' \
	"$D/state/ck.db")
py 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(data,) = db.execute("select data from parts where ckpt_id=? and name=?", (int(sys.argv[2]), "gen#0")).fetchone()
b = bytearray(data); b[-1] ^= 0x40
db.execute("update parts set data=? where ckpt_id=? and name=?", (bytes(b), int(sys.argv[2]), "gen#0"))
db.commit()' "$D/state/ck.db" "$NEWEST"
run_acrt verify 30 checkpoints verify "$D"
expect_rc 1 "checkpoints verify with a flipped byte" "$WORK/verify.out"
grep -q "checkpoint $NEWEST: part gen#0: checksum mismatch" "$WORK/verify.out" ||
	fail "verify does not name the corrupt part" "$WORK/verify.out"
ok "checkpoints verify reports checkpoint $NEWEST part gen#0 (checksum mismatch)"
run_acrt c2 120 run "$D" --quiet --resume
expect_rc 0 "--resume past a corrupt checkpoint" "$WORK/c2.err"
grep -q "checkpoint $NEWEST is skipped" "$WORK/c2.err" || fail "the corrupt one was not skipped" "$WORK/c2.err"
grep -q '"msg":"resuming from checkpoint' "$WORK/c2.err" || fail "did not resume" "$WORK/c2.err"
py "$CHECK" "$D" "$N" || fail "not exactly-once after skipping a corrupt checkpoint"
ok "--resume skips checkpoint $NEWEST for the previous one; still exactly-once"

# ---- 4. alignment: fan-in of a fast and a slow source, replicas -------------
D="$WORK/fanin"
mkdir -p "$D"
NS=$("$PY" -c "print(max(60, int(400 * $SCALE)))")
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: fanin
  version: "0.1.0"
  components:
    - {name: fast, type: Source, config: {generator: sequence, count: $N, rate_per_s: $RATE, payload: {src: f}}}
    - {name: slow, type: Source, config: {generator: sequence, count: $NS, rate_per_s: 100, payload: {src: s}}}
    - {name: xf, type: Transformer, replicas: 2, config: {set: {via: xf}}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: fast.output, to: xf.input}
    - {from: xf.output, to: out.input}
    - {from: slow.output, to: out.input}
YAML
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: fanin
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  state: {path: state/fanin.db, checkpoint_interval_s: 0.2}
YAML
kill_after "$D" f1 3 ""
run_acrt f2 120 run "$D" --quiet --resume
expect_rc 0 "fan-in resumed to the end" "$WORK/f2.err"
py 'import json, sys
d, n, ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
got = {"f": [], "s": []}
for l in open(d + "/out.jsonl"):
    e = json.loads(l); got[e["src"]].append(e["seq"])
for src, want in (("f", n), ("s", ns)):
    if sorted(got[src]) != list(range(1, want + 1)):
        sys.exit("%s: %d events, %d distinct, want %d" % (src, len(got[src]), len(set(got[src])), want))
' "$D" "$N" "$NS" || fail "fan-in: not exactly-once" "$WORK/f2.err"
grep -q 'aborted' "$WORK/f1.err" && fail "a checkpoint aborted in the fan-in run" "$WORK/f1.err"
ok "fan-in (fast through 2 replicas, slow direct): aligned, no abort, exactly-once after resume"

# ---- 5. on demand: `acrt checkpoints create` (checkpoint_interval_s: 0) --------
D="$WORK/ondemand"
mk "$D" sqlite_snapshot true
sed -i -e "s/count: $N, //" -e 's/checkpoint_interval_s: 0.2/checkpoint_interval_s: 0/' \
	"$D/architecture.yaml" "$D/deployment.yaml"
start_acrt ondemand run "$D" --quiet
RUN=$PID
wait_alive "$RUN" 20 has_lines "$D/out.jsonl" 100 || fail "no output" "$WORK/ondemand.err"
[ "$(stored "$WORK/ondemand.err")" = 0 ] || fail "a checkpoint without an interval or a request"
"$ACRT" checkpoints create "$D" >"$WORK/create.out" 2>&1 || fail "checkpoints create failed" "$WORK/create.out"
grep -Eq '^checkpoint [0-9]+ stored' "$WORK/create.out" || fail "create did not report it" "$WORK/create.out"
[ "$(stored "$WORK/ondemand.err")" = 1 ] || fail "not exactly one checkpoint stored" "$WORK/ondemand.err"
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "SIGTERM did not stop the run"
expect_rc 0 "on-demand run, SIGTERM" "$WORK/ondemand.err"
[ "$(stored "$WORK/ondemand.err")" = 2 ] || fail "no final checkpoint at SIGTERM" "$WORK/ondemand.err"
ok "checkpoints create: one checkpoint on demand, stored and reported; one more at SIGTERM"

# ---- 6. a barrier that cannot align: aborted, counted, alerted; the run goes on --
D="$WORK/abort"
mkdir -p "$D"
NA=$("$PY" -c "print(max(2000, int(8000 * $SCALE)))")
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: aborttest
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $NA, rate_per_s: 4000}}
    - {name: hold, implementation: "plugin:$(plugin gate)#gate", config: {gate: open, marker: marker.txt}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: hold.input}
    - {from: hold.output, to: out.input}
YAML
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: aborttest
runtime:
  chaining: false
  api: {listen: "127.0.0.1:$(free_port)"}
  state: {path: state/a.db, checkpoint_interval_s: 0.2, checkpoint_timeout_ms: 400}
YAML
start_acrt abort run "$D" --quiet
RUN=$PID
aborted_logged() { grep -q '"msg":"checkpoint [0-9]* aborted: barriers did not align' "$WORK/abort.err"; }
wait_alive "$RUN" 20 aborted_logged || fail "no aborted checkpoint while a component is stuck" "$WORK/abort.err"
abort_alert() { grep -q "alert 'checkpoint_aborted' firing" "$WORK/abort.err"; }
wait_alive "$RUN" 20 abort_alert || fail "no checkpoint_aborted alert" "$WORK/abort.err"
ADDR=$(grep -o 'api listening on http://[^ "]*' "$WORK/abort.err" | head -n1 | sed 's|.*http://||')
curl -fsS -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" "http://$ADDR/metrics" \
	>"$WORK/abort.metrics" || fail "GET /metrics failed"
grep -Eq '^acrt_checkpoints_aborted_total [1-9]' "$WORK/abort.metrics" ||
	fail "the abort is not counted" "$WORK/abort.metrics"
ok "a stuck component: the checkpoint is aborted after checkpoint_timeout_ms, logged, counted, alerted"
BEFORE=$(stored "$WORK/abort.err")
touch "$D/open"
stored_again() { [ "$(stored "$WORK/abort.err")" -gt "$BEFORE" ]; }
wait_alive "$RUN" 30 stored_again || fail "no checkpoint stored once the component moved again" "$WORK/abort.err"
wait_exit "$RUN" 60 || fail "the run did not end"
expect_rc 0 "after aborted checkpoints" "$WORK/abort.err"
py 'import json, sys
seqs = sorted(json.loads(l)["seq"] for l in open(sys.argv[1]))
assert seqs == list(range(1, int(sys.argv[2]) + 1)), (len(seqs), len(set(seqs)))' "$D/out.jsonl" "$NA" ||
	fail "events lost or duplicated around aborted checkpoints"
ok "released: the next checkpoint is stored, every event reaches the sink once"

pass
