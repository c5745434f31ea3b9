#!/usr/bin/env bash
# `acrt top` (docs/API.md): against a running system with a rate-limited
# source, `acrt top DIR --once` finds the address (the api.addr file the system
# writes) and the generated read token, and shows every component with a
# non-zero out count and the streams; with a configured token file and the API
# unreachable it exits 1 naming the address; a bad option is a usage error (2).
. "$(dirname "$0")/lib.sh" "$@"

has_addr() { grep -q 'api listening on http://' "$1"; }

D="$WORK/sys"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: toptest
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 500}}
    - {name: xf, type: Transformer, replicas: 2, config: {set: {seen: 1}}}
    - {name: sink, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: sink.input}
YAML
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: toptest
runtime:
  api: {listen: "127.0.0.1:$PORT"}
YAML

start_acrt sys run "$D"
wait_alive "$PID" 20 has_addr "$WORK/sys.err" || fail "no 'api listening' line" "$WORK/sys.err"
[ "$(stat -c %a "$D/.acrt/api.addr")" = 600 ] || fail "api.addr is not mode 600"
[ "$(cat "$D/.acrt/api.addr")" = "http://127.0.0.1:$PORT" ] || fail "api.addr: $(cat "$D/.acrt/api.addr")"
ok "the running system wrote .acrt/api.addr (0600)"

run_acrt top 20 top "$D" --once --interval 300
expect_rc 0 "acrt top --once" "$WORK/top.out" "$WORK/top.err"
py '
import re, sys
text = open(sys.argv[1]).read()
rows = {}
for line in text.splitlines():
    f = line.split()
    if f and f[0] in ("gen", "xf", "sink"):
        rows[f[0]] = f
for name in ("gen", "xf", "sink"):
    if name not in rows:
        sys.exit("component %s missing from:\n%s" % (name, text))
# COMPONENT TYPE REPL STATE IN OUT IN/s OUT/s ERRORS
out = rows["gen"][5]
if out in ("0", "") or rows["gen"][3] != "running":
    sys.exit("gen shows no events out:\n" + text)
if "gen.output->xf.input" not in text or "ALERTS" not in text:
    sys.exit("no streams or alerts section:\n" + text)
if "\x1b[" in text:
    sys.exit("--once output carries ANSI escapes")
' "$WORK/top.out" || fail "acrt top --once output" "$WORK/top.out"
ok "acrt top --once shows gen, xf, sink with a non-zero out count, the streams and alerts"

# Live mode, not on a terminal: one plain snapshot per interval until SIGTERM.
"$ACRT" top "$D" --interval 200 >"$WORK/live.out" 2>"$WORK/live.err" &
TPID=$!
_BG_PIDS="$_BG_PIDS $TPID"
two_snapshots() { [ "$(grep -c '^acrt top' "$WORK/live.out")" -ge 2 ]; }
wait_for 20 two_snapshots || fail "live acrt top printed fewer than 2 snapshots" "$WORK/live.out" "$WORK/live.err"
kill -TERM "$TPID"
wait_for 10 dead "$TPID" || fail "acrt top did not stop on SIGTERM"
wait "$TPID" || fail "acrt top exited $? on SIGTERM, expected 0" "$WORK/live.err"
ok "live acrt top redraws every interval and stops on SIGTERM with 0"

kill -TERM "$PID"
wait_exit "$PID" 20 || fail "acrt did not stop"
[ ! -e "$D/.acrt/api.addr" ] || fail "api.addr left behind at stop"
ok "api.addr removed at stop"

# Unreachable: a token file configured (so one is found), nobody listening.
echo "sometoken" >"$D/read.token"
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: toptest
runtime:
  api: {listen: "127.0.0.1:$PORT", auth: {read_token_file: read.token}}
YAML
run_acrt down 20 top "$D" --once
expect_rc 1 "acrt top with the API unreachable" "$WORK/down.err"
grep -q "127.0.0.1:$PORT" "$WORK/down.err" || fail "the error does not name the address" "$WORK/down.err"
[ "$(wc -l <"$WORK/down.err")" = 1 ] || fail "more than one line on stderr" "$WORK/down.err"
ok "unreachable: one line naming 127.0.0.1:$PORT, exit 1"

run_acrt usage 20 top "$D" --bogus
expect_rc 2 "acrt top --bogus" "$WORK/usage.err"
pass
