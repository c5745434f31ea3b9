#!/usr/bin/env bash
# The nats transport (docs/MULTINODE.md, "The NATS JetStream transport"): two
# acrt processes from one directory, node a running a sequence Source and
# node b a file Sink, the binding between them carried by a JetStream stream
# of a real nats-server -js on loopback.
#   1. both nodes end by themselves (end of stream crossed the hop, exit 0),
#      the sink holds 1..N exactly once, in order, and the stream is empty;
#   2. node b killed with SIGKILL mid-run and restarted: nothing is lost;
#      node b stopped with SIGTERM drains at once (exit 0) and, restarted,
#      goes on: the two files hold 1..N exactly once;
#   3. node b stopped (SIGSTOP): the stream stays within buffer_size (in
#      messages of up to buffer_size / 32 events, 64 to 256), node a waits (its RSS
#      flat), and after SIGCONT the run completes;
#   3b. node b stopped and continued again and again, each stop longer than
#      a fetch's wait: it neither crashes nor repeats (nats.c 3.4.1's fetch
#      overran its array when an earlier fetch had left messages behind,
#      nats_rx.c), 1..N exactly once;
#   4. nats-server killed with SIGKILL mid-run and restarted on its port and
#      store: both nodes stall with a warning, reconnect, and the run
#      completes with nothing lost;
#   6. (run before 5) `acrt up` starts both nodes, each line prefixed with
#      its node's name, `acrt top --node` reaches each node's own API, and
#      the run ends with 1..N once; a node that fails stops the other;
#   5. a wrong URL and a bad token give clear errors at start (the token
#      never printed), the right token runs, TLS (a server certificate checked
#      against tls.ca_file) runs (runtime.state: test_transport_eo.sh).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/hop_lib.sh"

# start_nats, stop_nats: lib.sh (a nats-server -js of the test's own on
# $NPORT, its monitoring on $MPORT, kept across restarts).
# msgs: the messages stored in the server's streams (the test's one binding).
# The messages in the bindings' streams (ACRT_*; not the claims' bucket).
msgs() {
	curl -sf "http://127.0.0.1:$MPORT/jsz?accounts=true&streams=true" | py '
import json, sys
j = json.load(sys.stdin)
print(sum(s["state"]["messages"] for a in j.get("account_details") or []
          for s in a.get("stream_detail") or [] if s["name"].startswith("ACRT_")))'
}
nats_tr() { echo "{kind: nats, url: \"nats://127.0.0.1:$NPORT\"${1:-}}"; }
start_nats

# Under a sanitizer (make asan, make tsan) every process runs several times
# slower: fewer events, the same cases.
N=200000
BIG=300000
if [ -n "${ACRT_SANITIZE:-}" ]; then
	N=60000
	BIG=100000
fi
SYS="$WORK/sys"
mk "$SYS" "$N" 1024 "$(nats_tr)"

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
empty() { [ "$(msgs)" = 0 ]; }
wait_for 5 empty || fail "the stream was not emptied: $(msgs) messages"
ok "1..$N crossed the hop once each; the stream is empty"

say "2. node b killed with SIGKILL mid-run and restarted: nothing lost"
OUT=out2a.jsonl start_acrt b2 run "$SYS" --node b -q
PID_B=$PID
OUT=unused start_acrt a2 run "$SYS" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$SYS/out2a.jsonl" $((N / 4)) ||
	fail "node b wrote too little" "$WORK/b2.err"
kill -KILL "$PID_B"
wait_exit "$PID_B" 10 || fail "node b survived SIGKILL"
ok "node b killed after $(lines "$SYS/out2a.jsonl") lines ($(msgs) messages in the stream)"
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
mk "$SLOW" "$BIG" "$BUF" "$(nats_tr)"
OUT=out3.jsonl start_acrt b3 run "$SLOW" --node b -q
PID_B=$PID
OUT=unused start_acrt a3 run "$SLOW" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$SLOW/out3.jsonl" 20000 || fail "node b wrote too little" "$WORK/b3.err"
kill -STOP "$PID_B"
# Each message packs up to PER = BUF / 32 events (64 to 256, nats_int.h):
# the bound is ceil(BUF / PER) messages.
PER=$((BUF / 32))
[ "$PER" -ge 64 ] || PER=64
[ "$PER" -le 256 ] || PER=256
MBUF=$(((BUF + PER - 1) / PER))
full() { [ "$(msgs)" -ge "$MBUF" ]; }
wait_alive "$PID_A" 20 full || fail "the stream never filled up: $(msgs) messages"
RSS0=$(rss "$PID_A")
MAXLEN=0
POLLS=0
watch_len() {
	local l
	l=$(msgs)
	[ "$l" -gt "$MAXLEN" ] && MAXLEN=$l
	POLLS=$((POLLS + 1))
	[ "$POLLS" -ge 40 ]
}
wait_for 20 watch_len || fail "could not watch the stream"
RSS1=$(rss "$PID_A")
alive "$PID_A" || fail "node a ended while node b was stopped" "$WORK/a3.err"
[ "$MAXLEN" -le "$MBUF" ] || fail "the stream reached $MAXLEN messages with buffer_size $BUF ($MBUF messages)"
# (Not under a sanitizer: ASan's quarantine keeps every freed block of the
# polling for room for a while, so RSS grows without a leak.)
[ -n "${ACRT_SANITIZE:-}" ] || [ $((RSS1 - RSS0)) -lt 8192 ] ||
	fail "node a's RSS grew from ${RSS0} to ${RSS1} KiB while waiting"
ok "at most $MAXLEN messages of $PER events (buffer_size $BUF); node a's RSS ${RSS0} -> ${RSS1} KiB"
kill -CONT "$PID_B"
wait_exit "$PID_A" 40 || fail "node a did not end after SIGCONT" "$WORK/a3.err"
expect_rc 0 "node a" "$WORK/a3.err" "$WORK/b3.err"
wait_exit "$PID_B" 20 || fail "node b did not end after SIGCONT" "$WORK/b3.err"
expect_rc 0 "node b" "$WORK/b3.err"
check_seq exact "$BIG" "$SLOW/out3.jsonl" >/dev/null || fail "the sink is not 1..$BIG"
ok "the run completed after SIGCONT, 1..$BIG exactly once"

say "3b. node b stopped and continued again and again: no crash, 1..$N exactly once"
SC="$WORK/stopcont"
mk "$SC" "$N" "$BUF" "$(nats_tr)"
OUT=out3b.jsonl start_acrt b3b run "$SC" --node b -q
PID_B=$PID
OUT=unused start_acrt a3b run "$SC" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$SC/out3b.jsonl" 1000 || fail "node b wrote nothing" "$WORK/b3b.err"
# Each stop outlasts a fetch's wait (200 ms, nats_rx.c), so that the broker's
# answers to it wait in the subscription for the next fetch. The sleeps are
# the stops' lengths, not waits for something to happen.
CYCLES=0
while alive "$PID_B" && [ "$CYCLES" -lt 20 ]; do
	kill -STOP "$PID_B"
	sleep 0.3
	kill -CONT "$PID_B"
	sleep 0.05
	CYCLES=$((CYCLES + 1))
done
wait_exit "$PID_B" 60 || fail "node b did not end after $CYCLES stops" "$WORK/b3b.err" "$WORK/a3b.err"
expect_rc 0 "node b, stopped and continued $CYCLES times" "$WORK/b3b.err"
wait_exit "$PID_A" 20 || fail "node a did not end" "$WORK/a3b.err"
expect_rc 0 "node a" "$WORK/a3b.err"
check_seq exact "$N" "$SC/out3b.jsonl" >/dev/null || fail "the sink is not 1..$N once each, in order"
ok "node b stopped $CYCLES times mid-run: 1..$N exactly once"

say "4. nats-server killed with SIGKILL mid-run and restarted: both nodes go on, nothing lost"
DUR="$WORK/durable"
RATE=", rate_per_s: 100000"
mk "$DUR" "$BIG" 1024 "$(nats_tr)"
OUT=out4.jsonl start_acrt b4 run "$DUR" --node b -q
PID_B=$PID
OUT=unused start_acrt a4 run "$DUR" --node a -q
PID_A=$PID
wait_alive "$PID_B" 30 has_lines "$DUR/out4.jsonl" $((BIG / 10)) || fail "node b wrote too little" "$WORK/b4.err"
stop_nats
stalled() { grep -q "the nats transport fails" "$1"; }
wait_alive "$PID_A" 10 stalled "$WORK/a4.err" || fail "node a did not report the outage" "$WORK/a4.err"
wait_alive "$PID_B" 10 stalled "$WORK/b4.err" || fail "node b did not report the outage" "$WORK/b4.err"
alive "$PID_A" && alive "$PID_B" || fail "a node ended while NATS was down" "$WORK/a4.err" "$WORK/b4.err"
# The hop's own series in each node's /metrics (its API files in .acrt/NODE).
api() { curl -sf -H "Authorization: Bearer $(cat "$DUR/.acrt/$1/read.token")" "$(cat "$DUR/.acrt/$1/api.addr")$2"; }
connected_is() { api "$1" /metrics | grep -q "^acrt_remote_connected{stream=\"gen.output->out.input\",transport=\"nats\",side=\"$2\"} $3\$"; }
wait_alive "$PID_A" 10 connected_is a send 0 || fail "node a's acrt_remote_connected is not 0" "$WORK/a4.err"
wait_alive "$PID_B" 10 connected_is b receive 0 || fail "node b's acrt_remote_connected is not 0" "$WORK/b4.err"
api a /api/v1/system | py 'import json,sys; d=json.load(sys.stdin); assert d["node"] == "a" and d["nodes"] == ["a", "b"], d["node"]; r=[s["remote"] for s in d["streams"] if "remote" in s]; assert r and r[0]["side"] == "send" and r[0]["connected"] is False, r' ||
	fail "/api/v1/system does not name the node and its hop"
ok "nats-server killed at $(lines "$DUR/out4.jsonl") lines: both nodes stall and warn, acrt_remote_connected 0 on both"
start_nats
wait_alive "$PID_A" 20 connected_is a send 1 || fail "node a's acrt_remote_connected is not back to 1" "$WORK/a4.err"
wait_exit "$PID_A" 120 || fail "node a did not end after NATS came back" "$WORK/a4.err"
expect_rc 0 "node a" "$WORK/a4.err" "$WORK/b4.err"
wait_exit "$PID_B" 60 || fail "node b did not end after NATS came back" "$WORK/b4.err"
expect_rc 0 "node b" "$WORK/b4.err"
dups=$(check_seq union "$BIG" "$DUR/out4.jsonl") || fail "events were lost" "$WORK/b4.err"
ok "after the server's restart the run completed: 1..$BIG, nothing lost, $dups duplicates"
RATE=""

say "6. acrt up: every node in one command, logs prefixed, acrt top --node"
UP="$WORK/up"
RATE=", rate_per_s: 20000"
mk "$UP" 10000000 1024 "$(nats_tr)"
RATE=""
OUT=up.jsonl start_acrt up up "$UP"
PID_UP=$PID
api_up() { [ -s "$UP/.acrt/$1/api.addr" ]; }
wait_alive "$PID_UP" 20 api_up a || fail "node a's API files are not in .acrt/a" "$WORK/up.err"
wait_alive "$PID_UP" 20 api_up b || fail "node b's API files are not in .acrt/b" "$WORK/up.err"
OUT=x run_acrt topa 20 top "$UP" --node a --once
expect_rc 0 "acrt top --node a" "$WORK/topa.err"
grep -q "gen  *Source" "$WORK/topa.out" || fail "top --node a does not show gen" "$WORK/topa.out"
OUT=x run_acrt topb 20 top "$UP" --node b --once
expect_rc 0 "acrt top --node b" "$WORK/topb.err"
grep -q "out  *Sink" "$WORK/topb.out" || fail "top --node b does not show out" "$WORK/topb.out"
kill -TERM "$PID_UP" # passed on to both nodes: a stops its source, b drains
wait_exit "$PID_UP" 30 || fail "acrt up did not end after SIGTERM" "$WORK/up.err"
expect_rc 0 "acrt up after SIGTERM" "$WORK/up.err"
grep -q "^a | .*system 'hop' finished" "$WORK/up.err" || fail "no line of node a prefixed 'a | '" "$WORK/up.err"
grep -q "^b | .*system 'hop' finished" "$WORK/up.err" || fail "no line of node b prefixed 'b | '" "$WORK/up.err"
! grep -v '^[ab] | ' "$WORK/up.err" | grep -q . || fail "a line without its node's name" "$WORK/up.err"
got=$(lines "$UP/up.jsonl")
check_seq exact "$got" "$UP/up.jsonl" >/dev/null || fail "the sink is not 1..$got in order"
ok "acrt up ran both nodes (lines prefixed 'a | ', 'b | '), top --node reached each, SIGTERM drained both: 1..$got"
# A node that fails (its sink cannot open its file) stops the other.
mk "$UP" 100 1024 "$(nats_tr)"
OUT=architecture.yaml/x.jsonl run_acrt upfail 30 up "$UP"
[ "$RC" != 0 ] || fail "acrt up ended 0 with a failing node" "$WORK/upfail.err"
grep -q "acrt: up: node 'b' ended with exit status" "$WORK/upfail.err" ||
	fail "acrt up did not say which node failed" "$WORK/upfail.err"
ok "a failing node stops the others: exit $RC"

say "5. clear errors at start"
BAD="$WORK/bad"
mk "$BAD" 10 16 "{kind: nats, url: \"nats://127.0.0.1:$(free_port)\"}"
OUT=x run_acrt badurl 20 run "$BAD" --node b -q
[ "$RC" != 0 ] || fail "a wrong URL started"
grep -q "cannot open its nats transport: nats: cannot connect" "$WORK/badurl.err" ||
	fail "no clear error for a wrong URL" "$WORK/badurl.err"
ok "a wrong URL: exit $RC, 'cannot connect'"

# A server of its own that wants a token (a fresh store: the failed run above
# left its events in the stream).
stop_nats
rm -rf "$WORK/js"
start_nats --auth 'right-s3cret'
TK="$WORK/tk"
mk "$TK" 10 16 "$(nats_tr ", token_file: token")"
printf 'wrong-s3cret\n' >"$TK/token"
chmod 600 "$TK/token"
OUT=x run_acrt badtk 20 run "$TK" --node a -q
[ "$RC" != 0 ] || fail "a bad token started"
grep -qi "authorization" "$WORK/badtk.err" || fail "no clear error for a bad token" "$WORK/badtk.err"
! grep -q "s3cret" "$WORK/badtk.err" "$WORK/badtk.out" || fail "the token was printed" "$WORK/badtk.err"
ok "a bad token: exit $RC, 'authorization', the token not printed"
printf 'right-s3cret\n' >"$TK/token"
OUT=tk.jsonl start_acrt tkb run "$TK" --node b -q
PID_B=$PID
OUT=x run_acrt tka 20 run "$TK" --node a -q
expect_rc 0 "node a with the right token" "$WORK/tka.err" "$WORK/tkb.err"
wait_exit "$PID_B" 20 || fail "node b with the right token did not end" "$WORK/tkb.err"
expect_rc 0 "node b with the right token" "$WORK/tkb.err"
check_seq exact 10 "$TK/tk.jsonl" >/dev/null || fail "the sink is not 1..10"
ok "the right token from token_file: 1..10 crossed"

# TLS: a server certificate for 127.0.0.1 from a CA of the test's own.
stop_nats
TL="$WORK/tls"
mkdir -p "$TL"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=acrt-test-ca \
	-keyout "$TL/ca.key" -out "$TL/ca.pem" >/dev/null 2>&1 || fail "openssl: no CA"
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$TL/server.key" \
	-out "$TL/server.csr" >/dev/null 2>&1 || fail "openssl: no request"
printf 'subjectAltName=IP:127.0.0.1\n' >"$TL/san.ext"
openssl x509 -req -in "$TL/server.csr" -CA "$TL/ca.pem" -CAkey "$TL/ca.key" -CAcreateserial \
	-days 2 -extfile "$TL/san.ext" -out "$TL/server.pem" >/dev/null 2>&1 || fail "openssl: no certificate"
start_nats --tls --tlscert "$TL/server.pem" --tlskey "$TL/server.key"
mk "$TL" 10 16 "{kind: nats, url: \"tls://127.0.0.1:$NPORT\", tls: {ca_file: ca.pem}}"
OUT=tls.jsonl start_acrt tlsb run "$TL" --node b -q
PID_B=$PID
OUT=x run_acrt tlsa 20 run "$TL" --node a -q
expect_rc 0 "node a over TLS" "$WORK/tlsa.err" "$WORK/tlsb.err"
wait_exit "$PID_B" 20 || fail "node b over TLS did not end" "$WORK/tlsb.err"
expect_rc 0 "node b over TLS" "$WORK/tlsb.err"
check_seq exact 10 "$TL/tls.jsonl" >/dev/null || fail "the sink is not 1..10 over TLS"
mk "$TL" 10 16 "{kind: nats, url: \"nats://127.0.0.1:$NPORT\"}"
OUT=x run_acrt notls 20 run "$TL" --node a -q
[ "$RC" != 0 ] || fail "a plain-text client reached a TLS-only server"
ok "TLS with tls.ca_file: 1..10 crossed; without TLS: exit $RC"

pass
