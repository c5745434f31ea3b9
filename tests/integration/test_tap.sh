#!/usr/bin/env bash
# `acrt tap` (docs/CLI.md, GET /api/v1/tap in docs/API.md), against a running
# rate-limited sequence source -> transformer -> file sink:
#   - `acrt tap xf --limit 5`: exactly 5 JSON lines, every field, increasing
#     seq, exit 0; a sink is tapped on its input port
#   - `--rate 2`: at most 1 + 2/s lines over the time it ran, skipped counted
#   - the read token: 403 and exit 1 naming the write token; no token: 401
#   - an unknown component or port, a bad option: exit 2 with a clear message
#   - two taps at once; taps are released (more taps in a row than slots)
#   - after the taps the system keeps running; a hot reload that switches
#     generations ends a running tap cleanly (exit 0) and the new components
#     can be tapped; SIGTERM ends a running tap cleanly (exit 0); the sink got
#     every seq exactly once (tapping took none)
. "$(dirname "$0")/lib.sh" "$@"

command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

has_addr() { grep -q 'api listening on http://' "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

D="$WORK/sys"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: taptest
  components:
    - {name: gen, type: Source, config: {generator: sequence, rate_per_s: 200}}
    - {name: xf, type: Transformer, config: {set: {seen: 1}}}
    - {name: sink, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: sink.input}
YAML
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: taptest
runtime:
  api: {listen: "127.0.0.1:$PORT"}
YAML

start_acrt sys run "$D" --quiet
SYS=$PID
wait_alive "$SYS" 20 has_addr "$WORK/sys.err" || fail "no 'api listening' line" "$WORK/sys.err"

# ---- --limit 5 on the transformer's (default) output port ---------------------
run_acrt lim 30 tap xf "$D" --limit 5
expect_rc 0 "acrt tap xf --limit 5" "$WORK/lim.out" "$WORK/lim.err"
py "$PY_PRELUDE"'
import re
evs = load(sys.argv[1])
if len(evs) != 5:
    die("expected exactly 5 lines, got %d" % len(evs))
rfc = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
tp = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
for e in evs:
    for k in ("component", "port", "id", "time", "traceparent", "headers", "content_type",
              "payload", "payload_encoding", "skipped", "replica", "direction"):
        if k not in e:
            die("field %s missing: %r" % (k, e))
    if (e["component"], e["port"], e["direction"]) != ("xf", "output", "output"):
        die("not xf.output: %r" % e)
    if not rfc.match(e["time"]) or not tp.match(e["traceparent"]):
        die("time or traceparent malformed: %r" % e)
    if not isinstance(e["headers"], dict) or e["content_type"] != "application/json":
        die("headers or content_type: %r" % e)
    if e["payload_encoding"] != "json" or e["payload"].get("seen") != 1:
        die("payload is not the transformed JSON: %r" % e)
seqs = [e["payload"]["seq"] for e in evs]
ids = [e["id"] for e in evs]
if seqs != sorted(set(seqs)) or ids != sorted(set(ids)):
    die("seq or id not increasing: %r %r" % (seqs, ids))
' "$WORK/lim.out" || fail "tap --limit 5 output" "$WORK/lim.out"
ok "tap xf --limit 5: exactly 5 JSON lines with every field and increasing seq"

# ---- a sink: its input port ------------------------------------------------------
run_acrt sink 30 tap sink "$D" --limit 3
expect_rc 0 "acrt tap sink --limit 3" "$WORK/sink.out" "$WORK/sink.err"
py "$PY_PRELUDE"'
evs = load(sys.argv[1])
if len(evs) != 3 or any((e["port"], e["direction"]) != ("input", "input") for e in evs):
    die("expected 3 lines of sink.input: %r" % evs)
' "$WORK/sink.out" || fail "tap sink output" "$WORK/sink.out"
ok "tap sink: its input port"

# ---- --rate 2: sampled, never more than the bucket allows ------------------------
T0=$(now_ms)
"$ACRT" tap xf.output "$D" --rate 2 >"$WORK/rate.out" 2>"$WORK/rate.err" &
TP=$!
_BG_PIDS="$_BG_PIDS $TP"
wait_alive "$TP" 30 has_lines "$WORK/rate.out" 3 || fail "tap --rate 2 printed < 3 lines" "$WORK/rate.err"
T1=$(now_ms)
kill -TERM "$TP"
wait_for 10 dead "$TP" || fail "tap --rate did not stop on SIGTERM"
wait "$TP" || fail "tap --rate exited $? on SIGTERM, expected 0" "$WORK/rate.err"
py "$PY_PRELUDE"'
evs = load(sys.argv[1])
ms = int(sys.argv[2])
# A bucket of one token refilled at 2/s: at most 1 + 2 per second it ran,
# plus one line that may have been on its way when we looked at the clock.
bound = 2 + 2 * ms / 1000.0
if len(evs) > bound:
    die("%d lines in %d ms at --rate 2 (at most %.1f)" % (len(evs), ms, bound))
if not any(e["skipped"] > 0 for e in evs[1:]):
    die("a 200/s port sampled at 2/s reports nothing skipped: %r" % evs)
' "$WORK/rate.out" "$((T1 - T0))" || fail "tap --rate 2" "$WORK/rate.out"
ok "tap --rate 2: $(lines "$WORK/rate.out") lines in $((T1 - T0)) ms, the others skipped and counted"

# ---- auth -------------------------------------------------------------------------
run_acrt ro 30 tap xf "$D" --limit 1 --token-file "$D/.acrt/read.token"
expect_rc 1 "tap with the read token" "$WORK/ro.err"
if ! grep -q "403" "$WORK/ro.err" || ! grep -q "write token" "$WORK/ro.err"; then
	fail "the read-token error does not say 403 and the write token" "$WORK/ro.err"
fi
[ ! -s "$WORK/ro.out" ] || fail "the read token printed events" "$WORK/ro.out"
URL="http://127.0.0.1:$PORT/api/v1/tap?component=xf&limit=1"
C=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL")
[ "$C" = 401 ] || fail "no token: $C, expected 401"
C=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	-H "Authorization: Bearer $(cat "$D/.acrt/read.token")" "$URL")
[ "$C" = 403 ] || fail "read token: $C, expected 403"
curl -s --max-time 10 -H "Authorization: Bearer $(cat "$D/.acrt/write.token")" "$URL" \
	>"$WORK/curl.out" || fail "curl with the write token"
[ "$(lines "$WORK/curl.out")" = 1 ] || fail "curl --limit 1 got other than one line" "$WORK/curl.out"
ok "read token: 403 (exit 1, names the write token); no token: 401; curl with the write token"

# ---- errors that are the user's ------------------------------------------------------
run_acrt nocomp 30 tap nosuch "$D" --limit 1
expect_rc 2 "tap of an unknown component" "$WORK/nocomp.err"
grep -q "no component 'nosuch'" "$WORK/nocomp.err" || fail "unclear message" "$WORK/nocomp.err"
run_acrt noport 30 tap xf.nosuch "$D" --limit 1
expect_rc 2 "tap of an unknown port" "$WORK/noport.err"
grep -q "no port 'nosuch'" "$WORK/noport.err" || fail "unclear message" "$WORK/noport.err"
run_acrt nolimit 30 tap xf "$D" --limit 0
expect_rc 2 "tap --limit 0" "$WORK/nolimit.err"
run_acrt noarg 30 tap
expect_rc 2 "tap without a component" "$WORK/noarg.err"

# ---- two taps at once; slots released: more taps in a row than slots (8) -----------
"$ACRT" tap xf "$D" --limit 20 >"$WORK/bg.out" 2>"$WORK/bg.err" &
BG=$!
_BG_PIDS="$_BG_PIDS $BG"
run_acrt fg 30 tap xf "$D" --limit 5
expect_rc 0 "a second tap while one runs" "$WORK/fg.err"
wait_exit "$BG" 30 || fail "the background tap did not finish"
if [ "$RC" != 0 ] || [ "$(lines "$WORK/bg.out")" != 20 ]; then
	fail "background tap: rc $RC" "$WORK/bg.err"
fi
for i in 1 2 3 4 5 6 7 8 9 10; do
	run_acrt "again$i" 30 tap xf "$D" --limit 1
	if [ "$RC" != 0 ] || [ "$(lines "$WORK/again$i.out")" != 1 ]; then
		fail "tap #$i in a row: rc $RC" "$WORK/again$i.err"
	fi
done
ok "two taps at once; 10 taps in a row (slots are released)"

# ---- the system kept running ------------------------------------------------------------
alive "$SYS" || fail "the system stopped" "$WORK/sys.err"
N0=$(lines "$D/out.jsonl")
grows() { [ "$(lines "$D/out.jsonl")" -gt "$N0" ]; }
wait_alive "$SYS" 20 grows || fail "the sink stopped receiving after the taps" "$WORK/sys.err"
ok "after the taps the system keeps running"

# ---- a reload that switches generations ends the taps of the old one ---------------------
"$ACRT" tap xf "$D" >"$WORK/rl.out" 2>"$WORK/rl.err" &
TR=$!
_BG_PIDS="$_BG_PIDS $TR"
wait_alive "$TR" 30 has_lines "$WORK/rl.out" 1 || fail "the tap before the reload printed nothing" "$WORK/rl.err"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: taptest
  components:
    - {name: gen, type: Source, config: {generator: sequence, rate_per_s: 200}}
    - {name: xf, type: Transformer, config: {set: {seen: 1}}}
    - {name: xf2, type: Transformer, config: {set: {again: 1}}}
    - {name: sink, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: xf2.input}
    - {from: xf2.output, to: sink.input}
YAML
kill -HUP "$SYS"
wait_for 30 dead "$TR" || fail "the tap did not end with the old generation" "$WORK/sys.err"
wait "$TR" || fail "the tap exited $? at the reload, expected 0" "$WORK/rl.err"
run_acrt rl2 30 tap xf2 "$D" --limit 2
expect_rc 0 "tap of a component the reload added" "$WORK/rl2.err" "$WORK/sys.err"
alive "$SYS" || fail "the system stopped at the reload" "$WORK/sys.err"
ok "a reload ends the old generation's taps (exit 0); the new xf2 can be tapped"

# ---- SIGTERM to the system ends a running tap cleanly -------------------------------------
"$ACRT" tap xf "$D" >"$WORK/end.out" 2>"$WORK/end.err" &
TE=$!
_BG_PIDS="$_BG_PIDS $TE"
wait_alive "$TE" 30 has_lines "$WORK/end.out" 1 || fail "the last tap printed nothing" "$WORK/end.err"
kill -TERM "$SYS"
wait_exit "$SYS" 30 || fail "acrt run did not stop on SIGTERM"
[ "$RC" = 0 ] || fail "acrt run exited $RC" "$WORK/sys.err"
wait_for 10 dead "$TE" || fail "the tap did not end with the system"
wait "$TE" || fail "the tap exited $? when the system stopped, expected 0" "$WORK/end.err"
py "$PY_PRELUDE"'
evs = load(sys.argv[1])
sink = [e["seq"] for e in load(sys.argv[2])]
if sink != list(range(1, len(sink) + 1)):
    die("the sink does not hold 1..%d exactly once" % len(sink))
seqs = [e["payload"]["seq"] for e in evs]
if seqs != sorted(set(seqs)) or seqs[-1] > len(sink):
    die("tapped seqs not increasing or past the sink: %r" % seqs[-5:])
' "$WORK/end.out" "$D/out.jsonl" || fail "sink contents" "$D/out.jsonl"
ok "SIGTERM: the tap ended with exit 0; the sink holds every seq exactly once ($(lines "$D/out.jsonl"))"
pass
