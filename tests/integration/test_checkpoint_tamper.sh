#!/usr/bin/env bash
# Checkpoint integrity (issue 17, "Trust and secrets"; docs/STATE.md,
# docs/SECURITY.md): a part is bound to its checkpoint, and data the store lost
# is reported, never skipped.
#   1. sqlite_snapshot: the source's part of an older checkpoint copied into the
#      newest one (a sound part, good header and checksum): `acrt checkpoints
#      verify` names the checkpoint and the part and exits 1; --resume skips it
#      for the previous checkpoint and the sink holds every event exactly once
#      (before the binding, it resumed and duplicated the events in between);
#   2. the older checkpoint's manifest copied along with the part: refused as
#      the manifest of another checkpoint id; a store read by a system of
#      another name: refused as another system's;
#   3. redis_snapshot: the data key behind the newest index entry deleted
#      (an eviction): list shows it (DATA MISSING, the key on stderr), verify
#      exits 1 naming the key, --resume logs it with the key, counts it in
#      /metrics, and resumes from the previous checkpoint, exactly once; an id
#      deleted from both (what retain does) is not reported.
. "$(dirname "$0")/lib.sh" "$@"

SCALE=${ACRT_TEST_SCALE:-1}
N=$("$PY" -c "print(max(6000, int(60000 * $SCALE)))")
RATE=$("$PY" -c "print(max(3000, int(15000 * $SCALE)))")

# mk DIR ADAPTER NAME [COUNT]: sequence -> file sink, checkpoints every 0.2 s.
mk() {
	local d=$1 adapter=$2 name=$3 count=${4-"count: $N, "}
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: $name
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, ${count}rate_per_s: $RATE}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: $name
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  state:
    adapter: $adapter
    path: state/ck.db
    redis_url: redis://127.0.0.1:${REDIS_PORT:-6379}
    checkpoint_interval_s: 0.2
    retain: 5
YAML
}

stored() { grep -c '"msg":"checkpoint [0-9]* stored' "$1" 2>/dev/null || true; }
has_stored() { [ "$(stored "$1")" -ge "$2" ]; }

# kill_after DIR NAME K: runs, SIGKILLs once K checkpoints are stored.
kill_after() {
	local d=$1 name=$2 k=$3
	start_acrt "$name" run "$d" --quiet
	wait_alive "$PID" 30 has_stored "$WORK/$name.err" "$k" ||
		fail "$name: no $k checkpoints stored" "$WORK/$name.err"
	kill -KILL "$PID"
	wait_exit "$PID" 10 || fail "$name: still running after SIGKILL"
}

# exactly_once FILE [N]: the sink holds seq 1..N (default: 1..its line count)
# exactly once.
exactly_once() {
	py 'import json, sys
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1])]
n = int(sys.argv[2]) if len(sys.argv) > 2 else len(seqs)
if sorted(seqs) != list(range(1, n + 1)):
    sys.exit("%s: %d lines, %d distinct, %d duplicates (want 1..%d once)" %
             (sys.argv[1], len(seqs), len(set(seqs)), len(seqs) - len(set(seqs)), n))' "$@"
}

sq() { py 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
r = db.execute(sys.argv[2], [int(a) if a.isdigit() else a for a in sys.argv[3:]])
if r.description:
    print(r.fetchone()[0])
db.commit()' "$@"; }

# ---- 1. a sound part copied from an older checkpoint into the newest -------
D="$WORK/sq"
mk "$D" sqlite_snapshot tamper_sq
kill_after "$D" s1 5
[ "$(lines "$D/out.jsonl")" -lt "$N" ] || fail "the first run finished before the kill"
DB=$D/state/ck.db
NEWEST=$(sq "$DB" "select max(id) from checkpoints")
OLDEST=$(sq "$DB" "select min(id) from checkpoints")
PREV=$(sq "$DB" "select max(id) from checkpoints where id < ?" "$NEWEST")
[ "$NEWEST" -ge $((OLDEST + 2)) ] || fail "too few checkpoints kept ($OLDEST..$NEWEST)"
cp -r "$D" "$WORK/sq-copy" # untouched, for section 2
sq "$DB" "update parts set data = (select data from parts where ckpt_id = ? and name = 'gen#0')
          where ckpt_id = ? and name = 'gen#0'" "$OLDEST" "$NEWEST"
[ "$(sq "$DB" "select count(*) from parts where ckpt_id = ? and name = 'gen#0' and
     data = (select data from parts where ckpt_id = ? and name = 'gen#0')" "$NEWEST" "$OLDEST")" = 1 ] ||
	fail "the part was not copied"
say "gen#0 of checkpoint $OLDEST copied into checkpoint $NEWEST"

run_acrt verify 30 checkpoints verify "$D"
expect_rc 1 "checkpoints verify with a part from checkpoint $OLDEST in checkpoint $NEWEST" \
	"$WORK/verify.out" "$WORK/verify.err"
grep -q "^checkpoint $NEWEST: part gen#0: .*not this checkpoint's" "$WORK/verify.out" ||
	fail "verify does not name checkpoint $NEWEST and part gen#0" "$WORK/verify.out"
[ "$(grep -c "^checkpoint [0-9]*: ok" "$WORK/verify.out")" -ge 2 ] ||
	fail "verify does not pass the untouched checkpoints" "$WORK/verify.out"
grep -q "1 of [0-9]* checkpoints cannot be restored" "$WORK/verify.err" ||
	fail "verify does not count the bad checkpoint" "$WORK/verify.err"
ok "verify: checkpoint $NEWEST part gen#0 is not this checkpoint's (exit 1); the others ok"

run_acrt verify_one 30 checkpoints verify "$NEWEST" "$D"
expect_rc 1 "checkpoints verify $NEWEST" "$WORK/verify_one.out"

run_acrt resume_id 30 run "$D" --quiet --resume="$NEWEST"
expect_rc 1 "--resume=$NEWEST (the tampered one)" "$WORK/resume_id.err"
grep -q "checkpoint $NEWEST cannot be restored: part gen#0: " "$WORK/resume_id.err" ||
	fail "--resume=$NEWEST does not say why" "$WORK/resume_id.err"
[ "$(sq "$DB" "select max(id) from checkpoints")" = "$NEWEST" ] ||
	fail "--resume=$NEWEST wrote a checkpoint"

run_acrt s2 120 run "$D" --quiet --resume
expect_rc 0 "--resume past the tampered checkpoint" "$WORK/s2.err"
grep -q "checkpoint $NEWEST is skipped (part gen#0: .*not this checkpoint's" "$WORK/s2.err" ||
	fail "the tampered checkpoint was not skipped with its reason" "$WORK/s2.err"
grep -q '"msg":"resuming from checkpoint '"$PREV"' ' "$WORK/s2.err" ||
	fail "did not resume from checkpoint $PREV" "$WORK/s2.err"
exactly_once "$D/out.jsonl" "$N" || fail "events duplicated or lost after the tampered checkpoint"
ok "--resume skips checkpoint $NEWEST for $PREV; every event exactly once"

# ---- 2. the manifest copied too; another system's store ---------------------
D2="$WORK/sq-copy"
DB2=$D2/state/ck.db
for name in gen#0 _manifest; do
	sq "$DB2" "update parts set data = (select data from parts where ckpt_id = ? and name = ?)
	           where ckpt_id = ? and name = ?" "$OLDEST" "$name" "$NEWEST" "$name"
done
run_acrt verify2 30 checkpoints verify "$NEWEST" "$D2"
expect_rc 1 "verify: manifest and part of checkpoint $OLDEST in checkpoint $NEWEST" "$WORK/verify2.out"
grep -q "^checkpoint $NEWEST: part _manifest: the manifest is checkpoint $OLDEST's, not checkpoint $NEWEST's" \
	"$WORK/verify2.out" || fail "verify does not name the manifest's id" "$WORK/verify2.out"
ok "verify: a manifest copied from checkpoint $OLDEST is refused in checkpoint $NEWEST"
sed -i 's/tamper_sq/tamper_other/' "$D2/architecture.yaml" "$D2/deployment.yaml"
run_acrt verify3 30 checkpoints verify "$OLDEST" "$D2"
expect_rc 1 "verify by another system" "$WORK/verify3.out"
grep -q "^checkpoint $OLDEST: part _manifest: the manifest is system 'tamper_sq''s, not 'tamper_other''s" \
	"$WORK/verify3.out" || fail "verify does not name the other system" "$WORK/verify3.out"
ok "verify: a checkpoint of system tamper_sq is refused for system tamper_other"

# ---- 3. Redis: an index entry whose data key is gone -------------------------
start_redis # lib.sh
D="$WORK/rd"
mk "$D" redis_snapshot tamper_rd ""
kill_after "$D" r1 4
R() { redis-cli -p "$REDIS_PORT" "$@"; }
NEWEST=$(R ZREVRANGE acrt:tamper_rd:ckpts 0 0)
PREV=$(R ZREVRANGE acrt:tamper_rd:ckpts 1 1)
[ -n "$PREV" ] || fail "too few checkpoints in redis"
# What retain does (both, at once): not a loss, nothing to report.
OLDEST=$(R ZRANGE acrt:tamper_rd:ckpts 0 0)
{ echo MULTI; echo "DEL acrt:tamper_rd:ckpt:$OLDEST"; echo "ZREM acrt:tamper_rd:ckpts $OLDEST"; echo EXEC; } |
	R >/dev/null
run_acrt rverify0 30 checkpoints verify "$D"
expect_rc 0 "verify after a checkpoint was deleted as retain does" "$WORK/rverify0.out" "$WORK/rverify0.err"
# Data loss: the hash goes, the index entry stays.
[ "$(R DEL "acrt:tamper_rd:ckpt:$NEWEST")" = 1 ] || fail "DEL of the data key failed"
[ -n "$(R ZSCORE acrt:tamper_rd:ckpts "$NEWEST")" ] || fail "the index entry is gone"
say "data key acrt:tamper_rd:ckpt:$NEWEST deleted, its index entry kept"

run_acrt rlist 30 checkpoints list "$D"
expect_rc 0 "checkpoints list" "$WORK/rlist.err"
grep -Eq "^$NEWEST +- .*DATA MISSING" "$WORK/rlist.out" ||
	fail "list does not show checkpoint $NEWEST as DATA MISSING" "$WORK/rlist.out"
grep -q "data key acrt:tamper_rd:ckpt:$NEWEST is missing" "$WORK/rlist.err" ||
	fail "list does not name the missing key" "$WORK/rlist.err"
ok "list: checkpoint $NEWEST DATA MISSING, key acrt:tamper_rd:ckpt:$NEWEST named"

run_acrt rverify 30 checkpoints verify "$D"
expect_rc 1 "checkpoints verify with a missing data key" "$WORK/rverify.out" "$WORK/rverify.err"
grep -q "^checkpoint $NEWEST: .*index acrt:tamper_rd:ckpts lists it but its data key acrt:tamper_rd:ckpt:$NEWEST is missing" \
	"$WORK/rverify.out" || fail "verify does not report the missing key" "$WORK/rverify.out"
ok "verify: the missing data key is a problem of checkpoint $NEWEST (exit 1)"

start_acrt r2 run "$D" --quiet --resume
RUN=$PID
resumed() { grep -q '"msg":"resuming from checkpoint' "$WORK/r2.err"; }
wait_alive "$RUN" 30 resumed || fail "no resume" "$WORK/r2.err"
grep -q "\"msg\":\"state: checkpoint $NEWEST is unusable, its data is missing from the store: .*acrt:tamper_rd:ckpt:$NEWEST" \
	"$WORK/r2.err" || fail "the run does not log the missing data with its key" "$WORK/r2.err"
grep -q "checkpoint $NEWEST is skipped (.*data key acrt:tamper_rd:ckpt:$NEWEST is missing" "$WORK/r2.err" ||
	fail "--resume does not skip checkpoint $NEWEST with its reason" "$WORK/r2.err"
grep -q '"msg":"resuming from checkpoint '"$PREV"' ' "$WORK/r2.err" ||
	fail "did not resume from checkpoint $PREV" "$WORK/r2.err"
api_up() { grep -q 'api listening on http://' "$WORK/r2.err"; }
wait_alive "$RUN" 20 api_up || fail "no API" "$WORK/r2.err"
ADDR=$(grep -o 'api listening on http://[^ "]*' "$WORK/r2.err" | head -n1 | sed 's|.*http://||')
curl -fsS -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" "http://$ADDR/metrics" \
	>"$WORK/r2.metrics" || fail "GET /metrics failed"
grep -Eq '^acrt_checkpoints_data_missing_total 1$' "$WORK/r2.metrics" ||
	fail "the missing data is not counted" "$WORK/r2.metrics"
ok "--resume: logged with the key, counted in /metrics, skipped for checkpoint $PREV"
has_stored_r2() { has_stored "$WORK/r2.err" 2; }
wait_alive "$RUN" 30 has_stored_r2 || fail "no checkpoint after the resume" "$WORK/r2.err"
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "SIGTERM did not stop the run"
expect_rc 0 "resumed redis run, SIGTERM" "$WORK/r2.err"
exactly_once "$D/out.jsonl" || fail "redis: events duplicated or lost"
ok "redis: every event exactly once after skipping the checkpoint with no data"

pass
