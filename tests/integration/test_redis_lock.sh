#!/usr/bin/env bash
# One writer per redis_snapshot store (docs/STATE.md "One writer per store"):
# two systems in two directories with the same system name on one Redis share
# acrt:<system>:*, so the store's lock is a key, acrt:<system>:lock:
#   1. the first run holds it (its pid in the value, an expiry of at most 30 s);
#      a second `acrt run` of the other directory exits 1 naming the store and
#      the holder, before its sink opens; `acrt checkpoints list` works;
#   2. a reload (SIGHUP) keeps it: the second is still refused; with
#      checkpoint_interval_s 0 (no checkpoint between) the writer still
#      refreshes its expiry;
#   3. a SIGTERM ends the first cleanly and deletes the key; the second starts;
#   4. a SIGKILLed run leaves its key: a run on the same host sees that its
#      pid is gone and reclaims it at once (info); a key naming another host is
#      refused, told to wait up to 30 s for a killed run's lock to expire.
. "$(dirname "$0")/lib.sh" "$@"

start_redis # lib.sh
rcli() { redis-cli -p "$REDIS_PORT" "$@" 2>/dev/null; }

KEY=acrt:rlk:lock
started() { grep -q "system 'rlk' started" "$1"; }
reloaded() { grep -q 'reload (SIGHUP) done' "$1"; }
lock_is() { [ "$(rcli get "$KEY" | cut -d' ' -f2)" = "$1@$(hostname)" ]; }
pttl_below() { local t; t=$(rcli pttl "$KEY"); [ -n "$t" ] && [ "$t" -ge 0 ] && [ "$t" -lt "$1" ]; }
pttl_above() { local t; t=$(rcli pttl "$KEY"); [ -n "$t" ] && [ "$t" -gt "$1" ]; }
no_key() { [ "$(rcli exists "$KEY")" = 0 ]; }

# mk DIR: the system (a slow source into a file sink), checkpoints into Redis.
mk() {
	local d=$1
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: rlk
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 200}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: rlk
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  logging: {format: json}
  state: {adapter: redis_snapshot, redis_url: "redis://127.0.0.1:$REDIS_PORT", checkpoint_interval_s: 0, retain: 3}
YAML
}
D="$WORK/a"
E="$WORK/b"
mk "$D"
mk "$E"

# ---- 1. the first run holds the key; the second is refused ------------------------
start_acrt first run "$D"
FIRST=$PID
wait_alive "$FIRST" 20 started "$WORK/first.err" || fail "the first run did not start" "$WORK/first.err"
lock_is "$FIRST" || fail "$KEY does not name pid $FIRST: $(rcli get "$KEY")"
pttl_below 30001 && pttl_above 0 || fail "$KEY has no expiry of at most 30 s: $(rcli pttl "$KEY")"
ok "the first run holds $KEY (pid $FIRST@$(hostname), expiry $(rcli pttl "$KEY") ms)"

run_acrt second 20 run "$E"
expect_rc 1 "a system in another directory on the same Redis store" "$WORK/second.err"
grep -qF "the redis_snapshot store acrt:rlk:* is in use by another run (redis 127.0.0.1:$REDIS_PORT: db 0, lock key $KEY held by pid $FIRST on $(hostname)" "$WORK/second.err" ||
	fail "the refusal does not name the store and pid $FIRST" "$WORK/second.err"
grep -qF "or wait up to 30 s for a killed run's lock to expire" "$WORK/second.err" ||
	fail "the refusal does not mention the expiry" "$WORK/second.err"
[ ! -e "$E/out.jsonl" ] || fail "the refused system opened its output"
lock_is "$FIRST" || fail "the refused run changed $KEY"
ok "second run refused, exit 1: $(grep -m1 '"level":"error"' "$WORK/second.err" | head -c 300)..."

run_acrt list 20 checkpoints list "$E"
expect_rc 0 "acrt checkpoints list next to the run" "$WORK/list.out" "$WORK/list.err"
run_acrt verify 20 checkpoints verify "$E"
! grep -q 'in use' "$WORK/verify.err" || fail "checkpoints verify took the lock" "$WORK/verify.err"
lock_is "$FIRST" || fail "a read-only command changed $KEY"

# ---- 2. a reload keeps it; the writer refreshes it with no checkpoint -------------
sed -i 's/retain: 3/retain: 4/' "$D/deployment.yaml"
kill -HUP "$FIRST"
wait_alive "$FIRST" 20 reloaded "$WORK/first.err" || fail "the reload did not complete" "$WORK/first.err"
lock_is "$FIRST" || fail "$KEY changed at the reload: $(rcli get "$KEY")"
run_acrt second2 20 run "$E"
expect_rc 1 "a second system after a reload" "$WORK/second2.err"
grep -qF "held by pid $FIRST on" "$WORK/second2.err" || fail "refusal after the reload" "$WORK/second2.err"
ok "after a reload (SIGHUP) the key still holds"
# Refreshed every 10 s: the expiry falls below 21 s, then is back above 25 s.
wait_alive "$FIRST" 15 pttl_below 21000 || fail "$KEY expiry did not fall (pttl $(rcli pttl "$KEY"))" "$WORK/first.err"
wait_alive "$FIRST" 15 pttl_above 25000 || fail "$KEY was not refreshed (pttl $(rcli pttl "$KEY"))" "$WORK/first.err"
lock_is "$FIRST" || fail "$KEY changed holder"
ok "the writer refreshes $KEY with checkpoint_interval_s 0 (pttl $(rcli pttl "$KEY") ms)"

# ---- 3. a clean end deletes the key; the second starts -------------------------------
kill -TERM "$FIRST"
wait_exit "$FIRST" 20 || fail "the first run did not end within 20 s of SIGTERM" "$WORK/first.err"
expect_rc 0 "the first run after SIGTERM" "$WORK/first.err"
no_key || fail "$KEY is still there after a clean end: $(rcli get "$KEY")"
start_acrt third run "$E"
THIRD=$PID
wait_alive "$THIRD" 20 started "$WORK/third.err" || fail "the second system did not start" "$WORK/third.err"
lock_is "$THIRD" || fail "$KEY does not name pid $THIRD: $(rcli get "$KEY")"
ok "after the first ended cleanly the second system starts and holds $KEY"

# ---- 4. a killed run's key; another host's -------------------------------------------
kill -KILL "$THIRD"
wait_exit "$THIRD" 20 || fail "the killed run is still there"
lock_is "$THIRD" || fail "the killed run's key is gone"
start_acrt fourth run "$D"
FOURTH=$PID
wait_alive "$FOURTH" 20 started "$WORK/fourth.err" || fail "no start after a killed run on this host" "$WORK/fourth.err"
grep -qF "the previous run (pid $THIRD on $(hostname)) did not end cleanly (the process is gone); its lock key $KEY is reclaimed" "$WORK/fourth.err" ||
	fail "no line about the killed run's key" "$WORK/fourth.err"
lock_is "$FOURTH" || fail "$KEY does not name pid $FOURTH: $(rcli get "$KEY")"
kill -TERM "$FOURTH"
wait_exit "$FOURTH" 20 || fail "the run did not end within 20 s of SIGTERM" "$WORK/fourth.err"
expect_rc 0 "the run after SIGTERM" "$WORK/fourth.err"
no_key || fail "$KEY is still there after a clean end"
ok "a killed run's key (a process of this host that is gone) is reclaimed at once"

# A run on another host (a live one, or killed: its key expires within 30 s).
rcli set "$KEY" "0123abcd 4242@elsewhere.example" px 30000 >/dev/null
run_acrt fifth 20 run "$D"
expect_rc 1 "a run while another host holds the key" "$WORK/fifth.err"
grep -qF "held by pid 4242 on elsewhere.example" "$WORK/fifth.err" || fail "the refusal does not name the other host's run" "$WORK/fifth.err"
grep -qF "or wait up to 30 s for a killed run's lock to expire" "$WORK/fifth.err" ||
	fail "the refusal does not mention the expiry" "$WORK/fifth.err"
[ "$(rcli get "$KEY")" = "0123abcd 4242@elsewhere.example" ] || fail "the refused run changed $KEY"
ok "another host's key refuses the run (wait up to 30 s for a killed run's to expire)"

pass
