# lib.sh - shared helpers of the integration tests. Source it first thing:
#
#   . "$(dirname "$0")/lib.sh" "$@"      # args: ACRT_BINARY BUILD_DIR SOURCE_DIR
#
# It sets ACRT, BUILD, SRC, PLUGINS (absolute), WORK (a fresh temp dir, removed
# on exit together with every acrt process started through start_acrt), and
# TEST (the script's name). Tests never sleep for a fixed time to let something
# happen: they wait on a condition with a deadline (wait_for).

if [ $# -lt 3 ]; then
	echo "usage: bash $0 ACRT_BINARY BUILD_DIR SOURCE_DIR" >&2
	exit 2
fi

TEST=$(basename "$0" .sh)
ACRT=$(readlink -f "$1")
BUILD=$(readlink -f "$2")
# shellcheck disable=SC2034 # used by the tests that source this file
SRC=$(readlink -f "$3")
PLUGINS="$BUILD/tests/plugins"
# The tests' blueprints live in WORK and name plugins of the build tree: allow
# those directories (runtime.plugin_dirs, docs/SECURITY.md). A test of the
# allowlist itself unsets it.
export ACRT_PLUGIN_DIRS="$PLUGINS:$BUILD/examples"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ ! -x "$ACRT" ]; then
	echo "FAIL [$TEST]: acrt binary '$1' not found or not executable (build first: make)" >&2
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acrt-$TEST.XXXXXX")
_BG_PIDS=""
_ON_EXIT=""

# on_exit CMD: runs CMD (eval'd) at exit, after the processes are gone and
# before WORK is removed (e.g. umount a file system mounted under WORK).
on_exit() { _ON_EXIT="$_ON_EXIT $1;"; }

_cleanup() {
	local rc=$?
	local p
	for p in $_BG_PIDS; do
		if _alive "$p"; then
			kill -KILL "$p" 2>/dev/null
		fi
	done
	wait 2>/dev/null
	[ -z "$_ON_EXIT" ] || eval "$_ON_EXIT" 2>/dev/null
	if [ "$rc" -ne 0 ] && [ -n "${KEEP_WORK:-}" ]; then
		echo "[$TEST] work dir kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "[$TEST] $*"; }

# Shows the tail of a file, indented, for failure messages.
_show() {
	local f=$1
	if [ -s "$f" ]; then
		echo "---- $(basename "$f") (last 20 lines) ----" >&2
		tail -n 20 "$f" | sed 's/^/    /' >&2
	fi
}

# fail MESSAGE [FILE...]: prints the message and the tail of each file, exits 1.
fail() {
	local msg=$1
	shift
	if [ -n "${PID:-}" ] && [ -z "${_REAPED:-}" ] && dead "$PID"; then
		msg="$msg [acrt (pid $PID) had already exited]"
	fi
	echo "FAIL [$TEST]: $msg" >&2
	local f
	for f in "$@"; do _show "$f"; done
	exit 1
}

pass() { say "PASS"; exit 0; }

# ok DESCRIPTION: prints one check that held.
ok() { say "  ok: $*"; }

# Requires a test plugin built into BUILD/tests/plugins; prints its path.
plugin() {
	local so="$PLUGINS/lib$1.so"
	[ -f "$so" ] || fail "test plugin $so is missing (build the tests: make)"
	echo "$so"
}

# wait_for TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds (returns 0)
# or TIMEOUT_S seconds pass (returns 1).
wait_for() {
	local timeout=$1
	shift
	local deadline=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		if "$@"; then return 0; fi
		if [ "$(date +%s%N)" -ge "$deadline" ]; then return 1; fi
		sleep 0.05
	done
}

# _alive PID: the process exists and is not a zombie.
_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != "Z" ] && [ "$st" != "X" ]
}
alive() { _alive "$1"; }
dead() { ! _alive "$1"; }

# run_acrt NAME TIMEOUT_S ARGS...: runs acrt in the foreground with stdout and
# stderr in $WORK/NAME.out and $WORK/NAME.err (stdin from /dev/null unless
# redirected by the caller); sets RC (124 when the deadline passed).
run_acrt() {
	local name=$1 t=$2
	shift 2
	timeout -k 2 "$t" "$ACRT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
}

# start_acrt NAME ARGS...: starts acrt in the background (stdout/stderr in
# $WORK/NAME.out/.err); sets PID. Killed on exit if still running.
start_acrt() {
	local name=$1
	shift
	"$ACRT" "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
	PID=$!
	_REAPED=""
	_BG_PIDS="$_BG_PIDS $PID"
}

# wait_exit PID TIMEOUT_S: waits for a process started by start_acrt to exit;
# sets RC to its exit status. Returns 1 (RC unset) if it is still running.
wait_exit() {
	local pid=$1 t=$2
	RC=""
	wait_for "$t" dead "$pid" || return 1
	wait "$pid"
	RC=$?
	_REAPED=1
	return 0
}

# wait_alive PID TIMEOUT_S CMD...: like wait_for, but gives up as soon as the
# process PID is gone (returns 1 at once then, instead of at the deadline).
wait_alive() {
	local pid=$1 t=$2
	shift 2
	_cond_or_dead() { "$@" || dead "$pid"; }
	wait_for "$t" _cond_or_dead "$@" || return 1
	"$@"
}

# A free TCP port on 127.0.0.1 (the kernel's choice; free when it returns).
free_port() {
	py 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Number of lines in a file (0 if missing).
lines() {
	if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}
# has_lines FILE N: FILE has at least N complete lines.
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# expect_rc WANT CONTEXT [FILE...]: RC must equal WANT.
expect_rc() {
	local want=$1 ctx=$2
	shift 2
	[ "$RC" = "$want" ] || fail "$ctx: exit code $RC, expected $want" "$@"
	ok "$ctx: exit code $want"
}

# expect_lost N CONTEXT ERRFILE [KIND]: the run ended with exit 3 (events lost)
# and its last log line counts N lost events (and N of KIND, e.g. failed,
# skipped_input, unwritten, when given).
expect_lost() {
	local n=$1 ctx=$2 err=$3 kind=${4:-lost}
	expect_rc 3 "$ctx" "$err"
	py "$PY_PRELUDE"'
n, kind = int(sys.argv[2]), sys.argv[3]
fin = [r for r in log_records(sys.argv[1]) if "exit_status" in r]
if not fin:
    die("no summary line (with exit_status) in the log")
r = fin[-1]
if r.get("exit_status") != 3 or r.get("lost") != n or r.get(kind) != n:
    die("the summary should count %d lost (%s) events with exit_status 3: %r" % (n, kind, r))
' "$err" "$n" "$kind" || fail "$ctx: the summary does not count $n lost events" "$err"
	ok "$ctx: the summary counts $n lost events"
}

# start_redis: a redis-server of the test's own on a free loopback port (no
# persistence, files under WORK), killed at exit; sets REDIS_PORT (chosen on the
# first call, kept by later ones) and REDIS_PID, and waits until it answers.
# stop_redis kills it (to test a store that goes away).
redis_up() { [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
start_redis() {
	command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
	[ -n "${REDIS_PORT:-}" ] || REDIS_PORT=$(free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$WORK" >"$WORK/redis.log" 2>&1 &
	REDIS_PID=$!
	_BG_PIDS="$_BG_PIDS $REDIS_PID"
	wait_for 10 redis_up || fail "redis-server did not start on port $REDIS_PORT" "$WORK/redis.log"
}
# kill_server PID NAME: kills a server a test started with SIGKILL and waits
# until it is gone (stop_redis, stop_nats).
kill_server() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	wait_for 10 dead "$1" || fail "$2 survived SIGKILL"
}
stop_redis() { kill_server "$REDIS_PID" redis-server; }

# start_nats [ARGS...]: a nats-server -js of the test's own (ARGS added: auth,
# TLS) on a free loopback port, its store in WORK/js, its monitoring on
# another, killed at exit; sets NPORT and MPORT (chosen on the first call,
# kept by later ones, so a restart finds its port and store) and NPID, and
# waits until JetStream answers. stop_nats kills it with SIGKILL.
nats_up() { curl -sf "http://127.0.0.1:$MPORT/healthz?js-enabled-only=true" >/dev/null; }
start_nats() {
	command -v nats-server >/dev/null || fail "nats-server is not installed (scripts/install-deps.sh)"
	[ -n "${NPORT:-}" ] || NPORT=$(free_port)
	[ -n "${MPORT:-}" ] || MPORT=$(free_port)
	nats-server -js -a 127.0.0.1 -p "$NPORT" -m "$MPORT" -sd "$WORK/js" "$@" \
		>>"$WORK/nats.log" 2>&1 &
	NPID=$!
	_BG_PIDS="$_BG_PIDS $NPID"
	wait_for 10 nats_up || fail "nats-server did not start on port $NPORT" "$WORK/nats.log"
}
stop_nats() { kill_server "$NPID" nats-server; }

# py CODE ARGS...: runs a Python check; its stdout/stderr are shown; non-zero
# exit means the check failed. In CODE, sys.argv[1:] are ARGS.
py() {
	local code=$1
	shift
	"$PY" -c "$code" "$@"
}

# A Python prelude for JSON-lines checks: load(path) -> list of dicts (fails on
# a malformed or partial line), die(msg).
# shellcheck disable=SC2034
PY_PRELUDE='
import json, sys
def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)
def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        die("%s: last line is not terminated (partial write): %r" % (path, data[-80:]))
    out = []
    for i, line in enumerate(data.decode("utf-8").splitlines(), 1):
        try:
            ev = json.loads(line)
        except ValueError as e:
            die("%s:%d: not JSON (%s): %r" % (path, i, e, line[:200]))
        if not isinstance(ev, dict):
            die("%s:%d: not a JSON object: %r" % (path, i, line[:200]))
        out.append(ev)
    return out
def log_records(path):
    """The JSON log lines of an acrt stderr file (non-JSON lines ignored)."""
    recs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict):
                recs.append(r)
    return recs
def flat(v):
    """Every scalar in a JSON value, as strings."""
    if isinstance(v, dict):
        for x in v.values():
            yield from flat(x)
    elif isinstance(v, list):
        for x in v:
            yield from flat(x)
    else:
        yield str(v)
'
