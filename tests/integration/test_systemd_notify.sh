#!/usr/bin/env bash
# `acrt run` as a systemd service (issue 14, src/observe/notify.c): a Python
# listener on an AF_UNIX datagram socket plays the service manager
# (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID = acrt's pid) and records every
# message with its arrival time (CLOCK_MONOTONIC). Checks, in order:
#   1. start: READY=1 with a STATUS= "running: ..." line;
#   2. watchdog: WATCHDOG=1 every half of WATCHDOG_USEC (never faster than
#      ~that, never a gap as long as the interval), and periodic STATUS=;
#   3. SIGHUP with a config change (reload in place): RELOADING=1 with a
#      MONOTONIC_USEC close to the arrival time, then READY=1;
#   4. SIGHUP with a structural change (a generation switch): the same, a ping
#      just before the switch, and the pings go on;
#   5. SIGTERM: STOPPING=1 (nothing but STATUS/WATCHDOG after it), exit 0.
# Then the journal: with JOURNAL_STREAM naming stderr's device:inode, every
# log line (JSON and text) starts with its syslog priority "<N>"; with another
# JOURNAL_STREAM, none does.
. "$(dirname "$0")/lib.sh" "$@"

D="$WORK/sys"
mkdir -p "$D"
# mk VALUE EXTRA: sequence -> Transformer set {v: VALUE} [-> EXTRA] -> file sink
mk() {
	local value=$1 extra=$2 into=xf
	{
		cat <<YAML
schema_version: "1.0.0"
system:
  name: sdtest
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 200}}
    - {name: xf, type: Transformer, config: {set: {v: $value}}}
YAML
		if [ "$extra" = yes ]; then
			echo "    - {name: xf2, type: Transformer, config: {set: {w: 1}}}"
			into=xf2
		fi
		cat <<YAML
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
YAML
		[ "$extra" = yes ] && echo "    - {from: xf.output, to: xf2.input}"
		echo "    - {from: $into.output, to: out.input}"
	} >"$D/architecture.yaml"
}
mk old no
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: sdtest
runtime:
  chaining: true
  api: {listen: "127.0.0.1:$(free_port)"}
  timeouts: {shutdown_timeout_ms: 5000}
YAML

# ---- the service manager's end of NOTIFY_SOCKET ------------------------------
SOCK="$WORK/notify.sock"
MSGS="$WORK/notify.jsonl"
cat >"$WORK/listen.py" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        data = s.recv(65536)
        out.write(json.dumps({"t": time.monotonic(), "msg": data.decode()}) + "\n")
        out.flush()
PY
"$PY" "$WORK/listen.py" "$SOCK" "$MSGS" &
_BG_PIDS="$_BG_PIDS $!"
wait_for 10 test -S "$SOCK" || fail "the listener did not bind $SOCK"

# A Python prelude over the recorded messages: msgs() -> [(t, {key: value})].
MSG_PRELUDE='
import json, sys
def msgs(path):
    out = []
    for line in open(path):
        r = json.loads(line)
        kv = dict(l.split("=", 1) for l in r["msg"].split("\n") if "=" in l)
        out.append((r["t"], kv))
    return out
'
# count_msg KEY=VALUE: how many messages hold that assignment.
count_msg() {
	[ -f "$MSGS" ] || {
		echo 0
		return
	}
	py "$MSG_PRELUDE"'
k, v = sys.argv[2].split("=", 1)
print(sum(1 for _, m in msgs(sys.argv[1]) if m.get(k) == v))' "$MSGS" "$1"
}
has_msg() { [ "$(count_msg "$1")" -ge "$2" ]; }

WD_USEC=2000000 # pings every second
# WATCHDOG_PID must be acrt's own pid: the shell exports its $$, then execs acrt.
# shellcheck disable=SC2016 # $$, $0 and $1 are the inner shell's
NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=$WD_USEC \
	env -u JOURNAL_STREAM sh -c 'export WATCHDOG_PID=$$; exec "$0" run "$1" --quiet' \
	"$ACRT" "$D" </dev/null >"$WORK/run.out" 2>"$WORK/run.err" &
PID=$!
_REAPED=""
_BG_PIDS="$_BG_PIDS $PID"

# ---- 1. start ------------------------------------------------------------------
wait_alive "$PID" 30 has_msg READY=1 1 || fail "no READY=1" "$WORK/run.err" "$MSGS"
ok "READY=1 after the start"

# ---- 2. the watchdog and STATUS= -------------------------------------------------
wait_alive "$PID" 30 has_msg WATCHDOG=1 4 || fail "fewer than 4 WATCHDOG=1" "$WORK/run.err" "$MSGS"
ok "WATCHDOG=1 pings arrive"

# ---- 3. a reload in place --------------------------------------------------------
sed -i 's/v: old/v: new/' "$D/architecture.yaml"
kill -HUP "$PID"
wait_alive "$PID" 30 has_msg READY=1 2 || fail "no READY=1 after the first SIGHUP" "$WORK/run.err" "$MSGS"
grep -q 'reload (SIGHUP) done in place' "$WORK/run.err" || fail "the first reload was not done in place" "$WORK/run.err"
ok "SIGHUP (in place): READY=1 again"

# ---- 4. a generation switch ------------------------------------------------------
mk new yes
kill -HUP "$PID"
wait_alive "$PID" 30 has_msg READY=1 3 || fail "no READY=1 after the second SIGHUP" "$WORK/run.err" "$MSGS"
grep -q 'reload (SIGHUP) done: the new system runs' "$WORK/run.err" ||
	fail "the second reload did not switch generations" "$WORK/run.err"
n=$(count_msg WATCHDOG=1)
wait_alive "$PID" 30 has_msg WATCHDOG=1 $((n + 2)) || fail "no pings after the switch" "$WORK/run.err" "$MSGS"
ok "SIGHUP (switch): READY=1 again, pings go on"

# ---- 5. stop -------------------------------------------------------------------
kill -TERM "$PID"
wait_exit "$PID" 30 || fail "acrt did not exit within 30 s of SIGTERM" "$WORK/run.err"
expect_rc 0 "acrt after SIGTERM" "$WORK/run.err"
wait_for 10 has_msg STOPPING=1 1 || fail "no STOPPING=1" "$WORK/run.err" "$MSGS"

# ---- the whole conversation, in order ------------------------------------------
py "$MSG_PRELUDE"'
half = int(sys.argv[2]) / 2e6
ms = msgs(sys.argv[1])
def die(why):
    for t, m in ms:
        print("  %.3f %r" % (t, m), file=sys.stderr)
    sys.exit(why)
# The lifecycle messages, in order.
life = [(t, m) for t, m in ms if set(m) & {"READY", "RELOADING", "STOPPING"}]
kinds = [next(k for k in ("RELOADING", "STOPPING", "READY") if k in m) for _, m in life]
want = ["READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"]
if kinds != want:
    die("lifecycle messages %r, want %r" % (kinds, want))
if not life[0][1].get("STATUS", "").startswith("running: "):
    die("READY=1 at the start without a STATUS=running line: %r" % life[0][1])
for t, m in life:
    if "RELOADING" in m:
        mono = int(m.get("MONOTONIC_USEC", "0")) / 1e6
        if abs(mono - t) > 5:
            die("MONOTONIC_USEC=%s is not the monotonic clock now (%.3f)" % (m.get("MONOTONIC_USEC"), t))
        if not m.get("STATUS", "").startswith("reloading: "):
            die("RELOADING=1 without STATUS=reloading: %r" % m)
if not life[-1][1].get("STATUS", "").startswith("draining: "):
    die("STOPPING=1 without STATUS=draining: %r" % life[-1][1])
# Periodic STATUS= lines on their own while running.
if not any(set(m) == {"STATUS"} and m["STATUS"].startswith("running: ") for _, m in ms):
    die("no periodic STATUS=running line")
# The watchdog cadence: every half interval, never as late as the interval;
# one extra ping just before a generation switch (between its RELOADING=1
# and READY=1), where the loop stops turning for the setup.
pings = [t for t, m in ms if m.get("WATCHDOG") == "1"]
if len(pings) < 6:
    die("only %d pings" % len(pings))
gaps = [b - a for a, b in zip(pings, pings[1:])]
sw0, sw1 = life[3][0], life[4][0]
if not any(sw0 <= t <= sw1 for t in pings):
    die("no ping just before the generation switch")
steady = [b - a for a, b in zip(pings, pings[1:]) if not sw0 <= b <= sw1]
if min(steady) < 0.7 * half or max(gaps) >= 2 * half:
    die("ping gaps %.3f..%.3f s, want about %.3f (never >= %.3f)" % (min(steady), max(gaps), half, 2 * half))
print("%d pings, gaps %.3f..%.3f s" % (len(pings), min(steady), max(gaps)))
' "$MSGS" "$WD_USEC" || fail "the notify messages are not as expected" "$WORK/run.err"
ok "STATUS+READY, RELOADING(+MONOTONIC_USEC)/READY twice, STOPPING, in order; pings at the cadence"

# ---- the journal's priority prefix ---------------------------------------------
J="$WORK/j"
mkdir -p "$J"
# jrun NAME FORMAT MATCH: a short run with stderr in $WORK/NAME.err and
# JOURNAL_STREAM naming that file (MATCH=yes) or another one (no).
jrun() {
	local name=$1 format=$2 match=$3 js="1:1"
	cat >"$J/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: journal
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 5}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
	cat >"$J/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: journal
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  logging: {format: $format}
YAML
	: >"$WORK/$name.err"
	[ "$match" = yes ] && js=$(stat -c '%d:%i' "$WORK/$name.err")
	JOURNAL_STREAM=$js timeout -k 2 60 env -u NOTIFY_SOCKET "$ACRT" run "$J" --quiet \
		</dev/null >"$WORK/$name.out" 2>>"$WORK/$name.err"
	# shellcheck disable=SC2034 # read by expect_rc (lib.sh)
	RC=$?
}
JCHECK='
import json, re, sys
path, fmt, match = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
prio = {"debug": 7, "info": 6, "warn": 4, "error": 3}
lines = open(path).read().splitlines()
if len(lines) < 2:
    sys.exit("only %d log lines" % len(lines))
for l in lines:
    m = re.match(r"<([0-7])>", l)
    if not match:
        if m:
            sys.exit("a priority prefix without the journal: %r" % l)
        continue
    if not m:
        sys.exit("no priority prefix: %r" % l)
    rest = l[m.end():]
    if fmt == "json":
        level = json.loads(rest)["level"]
    else:
        level = rest.split()[1]
    if prio[level] != int(m.group(1)):
        sys.exit("prefix <%s> for a %s line: %r" % (m.group(1), level, l))
print(len(lines))
'
for format in json text; do
	jrun "journal_$format" "$format" yes
	expect_rc 0 "journal ($format)" "$WORK/journal_$format.err"
	py "$JCHECK" "$WORK/journal_$format.err" "$format" yes >/dev/null ||
		fail "journal ($format): the priority prefixes are wrong" "$WORK/journal_$format.err"
	ok "journal ($format): every line starts with its <N> priority"
done
jrun journal_other json no
expect_rc 0 "another JOURNAL_STREAM" "$WORK/journal_other.err"
py "$JCHECK" "$WORK/journal_other.err" json no >/dev/null ||
	fail "another JOURNAL_STREAM: prefixes written" "$WORK/journal_other.err"
ok "JOURNAL_STREAM naming another file: no prefix"

pass
