#!/usr/bin/env bash
# The redis transport (docs/MULTINODE.md, "The Redis Streams transport"): two
# acrt processes from one directory, node a running a sequence Source and
# node b a file Sink, the binding between them carried by a Redis stream.
#   1. both nodes end by themselves (end of stream crossed the hop, exit 0)
#      and the sink holds 1..N exactly once, in order;
#   2. node b killed with SIGKILL mid-run and restarted: nothing is lost (the
#      two runs' files together, deduplicated, hold 1..N; duplicates counted);
#      node b stopped with SIGTERM drains at once (exit 0) and, restarted,
#      goes on: the two files hold 1..N exactly once;
#   3. node b stopped (SIGSTOP): the stream stays within buffer_size (in
#      entries of 64 events: ceil(buffer_size / 64)), node a
#      waits (its RSS flat), and after SIGCONT the run completes;
#   4. a wrong URL and a bad password give clear errors at
#      start, and the password is never printed (runtime.state:
#      test_transport_eo.sh);
#   5. (run before 4) Redis itself killed with SIGKILL mid-run and restarted
#      (AOF, fsync always): both nodes stall with a warning, reconnect, and
#      the run completes with nothing lost.
. "$(dirname "$0")/lib.sh" "$@"

command -v redis-cli >/dev/null || fail "redis-cli is not installed"
start_redis # lib.sh
rcli() { redis-cli -p "$REDIS_PORT" "$@" 2>/dev/null; }
KEY='acrt:hop:bind:gen.output->out.input'

. "$(dirname "$0")/hop_lib.sh"
# The transport mapping of mk (hop_lib.sh): this test's Redis ($RPORT: another)
# and extra keys.
redis_tr() { echo "{kind: redis, url: \"redis://127.0.0.1:${RPORT:-$REDIS_PORT}\"${1:-}}"; }

N=200000
SYS="$WORK/sys"
mk "$SYS" "$N" 1024 "$(redis_tr)"

say "1. a two-node run ends on both nodes with 1..$N exactly once"
OUT=out1.jsonl start_acrt b1 run "$SYS" --node b -q
PID_B=$PID
OUT=unused start_acrt a1 run "$SYS" --node a -q
PID_A=$PID
wait_exit "$PID_A" 40 || fail "node a did not end" "$WORK/a1.err"
expect_rc 0 "node a" "$WORK/a1.err" "$WORK/b1.err"
wait_exit "$PID_B" 20 || fail "node b did not end: no end of stream" "$WORK/b1.err"
expect_rc 0 "node b" "$WORK/b1.err"
check_seq exact "$N" "$SYS/out1.jsonl" >/dev/null || fail "the sink is not 1..$N" "$WORK/b1.err"
[ "$(rcli xlen "$KEY")" = 0 ] || fail "the stream was not emptied: XLEN $(rcli xlen "$KEY")"
ok "1..$N crossed the hop once each; the stream is empty"

say "2. node b killed with SIGKILL mid-run and restarted: nothing lost"
rcli del "$KEY" >/dev/null
OUT=out2a.jsonl start_acrt b2 run "$SYS" --node b -q
PID_B=$PID
OUT=unused start_acrt a2 run "$SYS" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$SYS/out2a.jsonl" $((N / 4)) ||
	fail "node b wrote too little" "$WORK/b2.err"
kill -KILL "$PID_B"
wait_exit "$PID_B" 10 || fail "node b survived SIGKILL"
pending=$(rcli xpending "$KEY" out | head -1)
ok "node b killed after $(lines "$SYS/out2a.jsonl") lines ($pending entries pending)"
OUT=out2b.jsonl start_acrt b2r run "$SYS" --node b -q
PID_B=$PID
wait_exit "$PID_A" 40 || fail "node a did not end" "$WORK/a2.err"
expect_rc 0 "node a" "$WORK/a2.err" "$WORK/b2r.err"
wait_exit "$PID_B" 20 || fail "the restarted node b did not end" "$WORK/b2r.err"
expect_rc 0 "restarted node b" "$WORK/b2r.err"
dups=$(check_seq union "$N" "$SYS/out2a.jsonl" "$SYS/out2b.jsonl") ||
	fail "events were lost" "$WORK/b2r.err"
ok "the two runs together hold 1..$N: nothing lost, $dups duplicates (at-least-once)"

say "2b. node b stopped with SIGTERM mid-run: it drains at once; restarted, it goes on"
rcli del "$KEY" >/dev/null
OUT=out2c.jsonl start_acrt b2c run "$SYS" --node b -q
PID_B=$PID
OUT=unused start_acrt a2c run "$SYS" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$SYS/out2c.jsonl" $((N / 4)) ||
	fail "node b wrote too little" "$WORK/b2c.err"
kill -TERM "$PID_B"
wait_exit "$PID_B" 5 || fail "node b did not drain within 5 s of SIGTERM" "$WORK/b2c.err"
expect_rc 0 "node b after SIGTERM" "$WORK/b2c.err"
OUT=out2d.jsonl start_acrt b2d run "$SYS" --node b -q
PID_B=$PID
wait_exit "$PID_A" 40 || fail "node a did not end" "$WORK/a2c.err"
expect_rc 0 "node a" "$WORK/a2c.err" "$WORK/b2d.err"
wait_exit "$PID_B" 20 || fail "the restarted node b did not end" "$WORK/b2d.err"
expect_rc 0 "restarted node b" "$WORK/b2d.err"
check_seq exact "$N" "$SYS/out2c.jsonl" "$SYS/out2d.jsonl" >/dev/null ||
	fail "a drained node b lost or repeated events" "$WORK/b2d.err"
ok "the two runs together hold 1..$N exactly once (a drain acknowledges what it processed)"

say "3. node b stopped: the stream stays within buffer_size, node a waits"
SLOW="$WORK/slow"
BUF=5000
mk "$SLOW" 300000 "$BUF" "$(redis_tr)"
rcli del "$KEY" >/dev/null
OUT=out3.jsonl start_acrt b3 run "$SLOW" --node b -q
PID_B=$PID
OUT=unused start_acrt a3 run "$SLOW" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$SLOW/out3.jsonl" 20000 || fail "node b wrote too little" "$WORK/b3.err"
kill -STOP "$PID_B"
# Each stream entry packs up to 64 events: the bound is ceil(BUF / 64) entries.
EBUF=$(((BUF + 63) / 64))
full() { [ "$(rcli xlen "$KEY")" -ge "$EBUF" ]; }
wait_alive "$PID_A" 20 full || fail "the stream never filled up: XLEN $(rcli xlen "$KEY")"
RSS0=$(rss "$PID_A")
# Watch the stalled hop for 40 polls (about 2 s): XLEN never passes the bound.
MAXLEN=0
POLLS=0
watch_len() {
	local l
	l=$(rcli xlen "$KEY")
	[ "$l" -gt "$MAXLEN" ] && MAXLEN=$l
	POLLS=$((POLLS + 1))
	[ "$POLLS" -ge 40 ]
}
wait_for 20 watch_len || fail "could not watch the stream"
RSS1=$(rss "$PID_A")
alive "$PID_A" || fail "node a ended while node b was stopped" "$WORK/a3.err"
[ "$MAXLEN" -le "$EBUF" ] || fail "XLEN reached $MAXLEN entries with buffer_size $BUF ($EBUF entries)"
[ $((RSS1 - RSS0)) -lt 8192 ] || fail "node a's RSS grew from ${RSS0} to ${RSS1} KiB while waiting"
ok "XLEN at most $MAXLEN entries of 64 events (buffer_size $BUF); node a's RSS ${RSS0} -> ${RSS1} KiB"
kill -CONT "$PID_B"
wait_exit "$PID_A" 40 || fail "node a did not end after SIGCONT" "$WORK/a3.err"
expect_rc 0 "node a" "$WORK/a3.err" "$WORK/b3.err"
wait_exit "$PID_B" 20 || fail "node b did not end after SIGCONT" "$WORK/b3.err"
expect_rc 0 "node b" "$WORK/b3.err"
check_seq exact 300000 "$SLOW/out3.jsonl" >/dev/null || fail "the sink is not 1..300000"
ok "the run completed after SIGCONT, 1..300000 exactly once"

say "5. Redis killed with SIGKILL mid-run and restarted: both nodes go on, nothing lost"
# A Redis of its own, durable (AOF fsynced on every write), on a port kept
# across its restart.
RPORT=$(free_port)
DUR="$WORK/durable"
mkdir -p "$DUR/data"
durable_up() { [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = "PONG" ]; }
start_durable() {
	redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly yes \
		--appendfsync always --dir "$DUR/data" >>"$DUR/redis.log" 2>&1 &
	DPID=$!
	_BG_PIDS="$_BG_PIDS $DPID" # lib.sh kills it at exit
	wait_for 10 durable_up || fail "the durable redis-server did not start" "$DUR/redis.log"
}
start_durable
RATE=", rate_per_s: 100000"
mk "$DUR" 300000 1024 "$(redis_tr)"
OUT=out5.jsonl start_acrt b5 run "$DUR" --node b -q
PID_B=$PID
OUT=unused start_acrt a5 run "$DUR" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$DUR/out5.jsonl" 30000 || fail "node b wrote too little" "$WORK/b5.err"
kill -KILL "$DPID"
wait_for 10 dead "$DPID" || fail "redis-server survived SIGKILL"
stalled() { grep -q "the redis transport fails" "$1"; }
wait_alive "$PID_A" 10 stalled "$WORK/a5.err" || fail "node a did not report the outage" "$WORK/a5.err"
wait_alive "$PID_B" 10 stalled "$WORK/b5.err" || fail "node b did not report the outage" "$WORK/b5.err"
alive "$PID_A" && alive "$PID_B" || fail "a node ended while Redis was down" "$WORK/a5.err" "$WORK/b5.err"
ok "Redis killed at $(lines "$DUR/out5.jsonl") lines: both nodes stall and warn"
start_durable
wait_exit "$PID_A" 40 || fail "node a did not end after Redis came back" "$WORK/a5.err"
expect_rc 0 "node a" "$WORK/a5.err" "$WORK/b5.err"
wait_exit "$PID_B" 20 || fail "node b did not end after Redis came back" "$WORK/b5.err"
expect_rc 0 "node b" "$WORK/b5.err"
dups=$(check_seq union 300000 "$DUR/out5.jsonl") || fail "events were lost" "$WORK/b5.err"
ok "after Redis's restart the run completed: 1..300000, nothing lost, $dups duplicates"
RATE=""
unset RPORT

say "4. clear errors at start"
BAD="$WORK/bad"
mk "$BAD" 10 16 "$(redis_tr)"
sed -i "s|127.0.0.1:$REDIS_PORT|127.0.0.1:$(free_port)|" "$BAD/deployment.yaml"
OUT=x run_acrt badurl 20 run "$BAD" --node b -q
[ "$RC" != 0 ] || fail "a wrong URL started"
grep -q "cannot open its redis transport: redis 127.0.0.1:[0-9]*: cannot connect" \
	"$WORK/badurl.err" || fail "no clear error for a wrong URL" "$WORK/badurl.err"
ok "a wrong URL: exit $RC, 'cannot connect'"

PW="$WORK/pw"
mkdir -p "$PW"
printf 'wrong-s3cret\n' >"$PW/password"
chmod 644 "$PW/password"
rcli config set requirepass 'right-s3cret' >/dev/null
rcliauth() { redis-cli -p "$REDIS_PORT" -a 'right-s3cret' --no-auth-warning "$@" 2>/dev/null; }
on_exit "redis-cli -p $REDIS_PORT -a right-s3cret --no-auth-warning config set requirepass '' >/dev/null 2>&1"
mk "$PW" 10 16 "$(redis_tr ", password_file: password")"
OUT=x run_acrt openpw 20 run "$PW" --node a -q
[ "$RC" != 0 ] || fail "a password file open to others was used"
grep -q "is open to its group or others (mode 644): chmod 600 it" "$WORK/openpw.err" ||
	fail "no clear error for a password file of mode 644" "$WORK/openpw.err"
ok "a password file of mode 644 refused"
chmod 600 "$PW/password"
OUT=x run_acrt badpw 20 run "$PW" --node a -q
[ "$RC" != 0 ] || fail "a bad password started"
grep -q "authentication failed" "$WORK/badpw.err" || fail "no clear error for a bad password" "$WORK/badpw.err"
! grep -q "s3cret" "$WORK/badpw.err" "$WORK/badpw.out" || fail "the password was printed" "$WORK/badpw.err"
ok "a bad password: exit $RC, 'authentication failed', the password not printed"
printf 'right-s3cret\n' >"$PW/password"
OUT=pw.jsonl start_acrt pwb run "$PW" --node b -q
PID_B=$PID
OUT=x run_acrt pwa 20 run "$PW" --node a -q
expect_rc 0 "node a with the right password" "$WORK/pwa.err" "$WORK/pwb.err"
wait_exit "$PID_B" 20 || fail "node b with the right password did not end" "$WORK/pwb.err"
expect_rc 0 "node b with the right password" "$WORK/pwb.err"
check_seq exact 10 "$PW/pw.jsonl" >/dev/null || fail "the sink is not 1..10"
rcliauth config set requirepass '' >/dev/null

pass
