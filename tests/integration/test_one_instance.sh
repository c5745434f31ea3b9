#!/usr/bin/env bash
# One instance per system (issue 14 part 4; docs/CLI.md "acrt run", docs/STATE.md
# "One writer per store"):
#   1. while a run holds its directory, a second `acrt run` on it (another API
#      port, so that the refusal is about the lock) exits 1 naming the system,
#      the other pid and the lock; the first run's output, api.addr and tokens
#      are untouched; validate, graph, checkpoints list/verify and top work
#      next to the run (they take no lock);
#   2. a system in another directory writing checkpoints into the same sqlite
#      file is refused (exit 1, the store and the pid named) before its sink
#      opens its output;
#   3. a reload (SIGHUP) keeps both locks: both second runs are still refused;
#   4. after SIGKILL of the first run, a new run starts: it logs that the
#      previous run did not end cleanly (directory and store), reclaims the
#      locks, replaces the api.addr and tokens the killed run left; a SIGTERM
#      then ends it cleanly and leaves no lock file and no .acrt behind.
. "$(dirname "$0")/lib.sh" "$@"

started() { grep -q "system 'onei' started" "$1"; }
stored() { grep -q '"msg":"checkpoint [0-9]* stored' "$1"; }
reloaded() { grep -q 'reload (SIGHUP) done' "$1"; }
lines_of() { wc -l <"$1" | tr -d ' '; }
grew_past() { [ "$(lines_of "$1")" -gt "$2" ]; }

STATE="$WORK/shared/ck.db"
# mk DIR PORT [DEPLOYMENT_FILE]: the system, a slow source into a file sink.
mk() {
	local d=$1 port=$2 dep=${3:-deployment.yaml}
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: onei
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 200}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
	cat >"$d/$dep" <<YAML
schema_version: "1.0.0"
system_name: onei
runtime:
  api: {listen: "127.0.0.1:$port"}
  logging: {format: json}
  state: {adapter: sqlite_snapshot, path: "$STATE", checkpoint_interval_s: 0.2}
YAML
}

D="$WORK/sys"
E="$WORK/other"
mk "$D" "$(free_port)"
mk "$D" "$(free_port)" second.yaml # the same system, another API port
mk "$E" "$(free_port)"

# ---- 1. a second run on the same directory --------------------------------------
start_acrt first run "$D"
FIRST=$PID
wait_alive "$FIRST" 20 started "$WORK/first.err" || fail "the first run did not start" "$WORK/first.err"
wait_alive "$FIRST" 20 stored "$WORK/first.err" || fail "no checkpoint stored" "$WORK/first.err"
wait_alive "$FIRST" 20 has_lines "$D/out.jsonl" 5 || fail "no output from the first run" "$WORK/first.err"
[ "$(stat -c %a "$D/.acrt/run.lock")" = 600 ] || fail "run.lock is not mode 600"
grep -qx "pid=$FIRST" "$D/.acrt/run.lock" || fail "run.lock does not hold pid $FIRST: $(cat "$D/.acrt/run.lock")"
grep -Eqx 'since=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' "$D/.acrt/run.lock" ||
	fail "run.lock has no start time: $(cat "$D/.acrt/run.lock")"
[ -f "$STATE.lock" ] || fail "no store lock beside $STATE"
ok "the run holds $D/.acrt/run.lock (0600, pid and start time) and $STATE.lock"

cp "$D/out.jsonl" "$WORK/out.before"
n_before=$(lines_of "$WORK/out.before")
files_before=$(cat "$D/.acrt/api.addr" "$D/.acrt/read.token" "$D/.acrt/write.token")
run_acrt second 20 run "$D" --deployment "$D/second.yaml"
expect_rc 1 "a second run on the same directory" "$WORK/second.err"
grep -qF "acrt: run: the system in $D is already running (pid $FIRST, since " "$WORK/second.err" ||
	fail "the refusal does not name the system and pid $FIRST" "$WORK/second.err"
grep -qF "lock $D/.acrt/run.lock)" "$WORK/second.err" || fail "the refusal does not name the lock" "$WORK/second.err"
grep -qF "kill -TERM $FIRST" "$WORK/second.err" || fail "the refusal does not say what to do" "$WORK/second.err"
! grep -q 'api listening' "$WORK/second.err" || fail "the second run started its API" "$WORK/second.err"
ok "second run refused, exit 1: $(head -c 140 "$WORK/second.err")..."

# The first run's files: output only grew (never truncated), the rest unchanged.
wait_alive "$FIRST" 20 grew_past "$D/out.jsonl" "$n_before" || fail "the first run stopped writing" "$WORK/first.err"
cmp -s -n "$(stat -c %s "$WORK/out.before")" "$WORK/out.before" "$D/out.jsonl" ||
	fail "the first run's output was rewritten by the second run"
[ "$(cat "$D/.acrt/api.addr" "$D/.acrt/read.token" "$D/.acrt/write.token")" = "$files_before" ] ||
	fail "the second run changed api.addr or the tokens"
alive "$FIRST" || fail "the first run died" "$WORK/first.err"
ok "the first run's output, api.addr and tokens are untouched; it runs on"

# Read-only commands next to the run.
run_acrt validate 20 validate "$D"
expect_rc 0 "acrt validate next to the run" "$WORK/validate.err"
run_acrt graph 20 graph "$D"
expect_rc 0 "acrt graph next to the run" "$WORK/graph.err"
run_acrt list 20 checkpoints list "$D"
expect_rc 0 "acrt checkpoints list next to the run" "$WORK/list.out" "$WORK/list.err"
grep -Eq '^[0-9]+ ' "$WORK/list.out" || fail "checkpoints list shows no checkpoint" "$WORK/list.out"
run_acrt verify 20 checkpoints verify "$D"
expect_rc 0 "acrt checkpoints verify next to the run" "$WORK/verify.out" "$WORK/verify.err"
run_acrt top 20 top "$D" --once --interval 200
expect_rc 0 "acrt top --once next to the run" "$WORK/top.out" "$WORK/top.err"
grep -q '^gen ' "$WORK/top.out" || fail "acrt top shows no gen" "$WORK/top.out"
[ -f "$D/.acrt/run.lock" ] && grep -qx "pid=$FIRST" "$D/.acrt/run.lock" || fail "a read-only command touched run.lock"

# ---- 2. another directory, the same sqlite store ----------------------------------
run_acrt shared 20 run "$E"
expect_rc 1 "a system in another directory on the same store" "$WORK/shared.err"
grep -qF "the sqlite_snapshot store $STATE is in use by another run (pid $FIRST, since " "$WORK/shared.err" ||
	fail "the refusal does not name the store and pid $FIRST" "$WORK/shared.err"
grep -qF "lock $STATE.lock)" "$WORK/shared.err" || fail "the refusal does not name the store lock" "$WORK/shared.err"
[ ! -e "$E/out.jsonl" ] || fail "the refused system opened its output"
[ ! -e "$E/.acrt" ] || fail "the refused system left $E/.acrt behind"
ok "a second system on the same store refused, exit 1, before its sink opened"

# ---- 3. a reload keeps the locks -----------------------------------------------------
sed -i 's/checkpoint_interval_s: 0.2/checkpoint_interval_s: 0.25/' "$D/deployment.yaml"
kill -HUP "$FIRST"
wait_alive "$FIRST" 20 reloaded "$WORK/first.err" || fail "the reload did not complete" "$WORK/first.err"
grep -qx "pid=$FIRST" "$D/.acrt/run.lock" || fail "run.lock changed at the reload"
run_acrt second2 20 run "$D" --deployment "$D/second.yaml"
expect_rc 1 "a second run on the directory after a reload" "$WORK/second2.err"
run_acrt shared2 20 run "$E"
expect_rc 1 "a second system on the store after a reload" "$WORK/shared2.err"
grep -qF "is in use by another run (pid $FIRST" "$WORK/shared2.err" || fail "store refusal after the reload" "$WORK/shared2.err"
ok "after a reload (SIGHUP) both locks still hold"

# ---- 4. SIGKILL: the locks are reclaimed, the leftovers replaced ---------------------
kill -KILL "$FIRST"
wait_exit "$FIRST" 10 || fail "the first run did not die of SIGKILL"
old_token=$(cat "$D/.acrt/read.token")
grep -qx "pid=$FIRST" "$D/.acrt/run.lock" || fail "the killed run left no run.lock naming it"
start_acrt third run "$D" --deployment "$D/second.yaml"
THIRD=$PID
wait_alive "$THIRD" 20 started "$WORK/third.err" || fail "a run after SIGKILL did not start" "$WORK/third.err"
grep -qF "the previous run in $D (pid $FIRST, since " "$WORK/third.err" ||
	fail "no line about the run lock the killed run left" "$WORK/third.err"
grep -q 'did not end cleanly (the process is gone); its lock [^ ]*/sys/.acrt/run.lock is reclaimed' "$WORK/third.err" ||
	fail "the run lock is not reported as reclaimed" "$WORK/third.err"
grep -qF "removed what an earlier run left in $D/.acrt: api.addr, read.token, write.token" "$WORK/third.err" ||
	fail "the leftovers in .acrt are not reported" "$WORK/third.err"
grep -qF "state: the previous run on $STATE (pid $FIRST" "$WORK/third.err" ||
	fail "the store lock is not reported as reclaimed" "$WORK/third.err"
grep -qx "pid=$THIRD" "$D/.acrt/run.lock" || fail "run.lock does not name the new run"
wait_alive "$THIRD" 20 test -s "$D/.acrt/read.token" || fail "no new read token" "$WORK/third.err"
[ "$(cat "$D/.acrt/read.token")" != "$old_token" ] || fail "the killed run's token is still there"
ok "after SIGKILL: locks reclaimed and logged, leftovers replaced"

kill -TERM "$THIRD"
wait_exit "$THIRD" 20 || fail "the run did not end within 20 s of SIGTERM" "$WORK/third.err"
expect_rc 0 "the new run after SIGTERM" "$WORK/third.err"
[ ! -e "$D/.acrt" ] || fail "$D/.acrt is left after a clean end: $(ls -A "$D/.acrt")"
[ ! -e "$STATE.lock" ] || fail "$STATE.lock is left after a clean end"
ok "a clean end removes run.lock, .acrt and the store lock"

# The other system, on the store the clean end let go: no word of an unclean end.
start_acrt fourth run "$E"
wait_alive "$PID" 20 started "$WORK/fourth.err" || fail "the other system did not start" "$WORK/fourth.err"
! grep -q 'did not end cleanly' "$WORK/fourth.err" || fail "a clean end was reported as unclean" "$WORK/fourth.err"
kill -TERM "$PID"
wait_exit "$PID" 20 || fail "the other system did not end within 20 s of SIGTERM" "$WORK/fourth.err"
expect_rc 0 "the other system, once the store is free" "$WORK/fourth.err"
pass
