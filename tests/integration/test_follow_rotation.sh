#!/usr/bin/env bash
# test_follow_rotation.sh - issue 16 part 6, "tail like tail -F": a file Source
# with `follow: true` follows its path through log rotation and keeps its
# position (inode and offset) in checkpoints. Every case writes numbered lines
# {"n": 1}, {"n": 2}, ... and checks that the sink holds each n exactly once,
# in order:
#   1. under load (a writer at ~20,000 lines a second, and an unpaced burst
#      just before each rotation): four rename-and-create rotations (one with
#      the path missing for a while between the rename and the create, one
#      where the writer appends 200 more lines to the old file once acrt has
#      opened the new one, as an application does until it reopens its log:
#      acrt reads the old file for 1 s after it saw the new one), one
#      copytruncate, and one more rename-and-create after it;
#   2. the file (and its directory) does not exist when the run starts: it is
#      waited for (validate accepts it; without follow, or a directory, it is
#      still refused), then read, then rotated;
#   3. checkpoints and --resume (sqlite_snapshot): stopped, appended, rotated
#      and appended again while down, the rest of the old file is found beside
#      the path by its inode and read before the new one; truncated while down,
#      the file is read from its start; replaced by a file that is not beside
#      it any more, the new file is read from its start with a warning (the
#      lines appended to the old one while down are the documented loss).
#
# copytruncate loses by design the lines written between the copy and the
# truncation, and a truncation is only seen while the file is shorter than
# what was read. So the writer pauses for it: it waits until the sink holds
# every line written (acrt has read the whole file), copies, truncates, and
# writes again only once acrt has logged the truncation. Rotations wait the
# same way for acrt's "was rotated" line before the next one (while writing
# on): a file renamed away before acrt ever opened it is not followed (acrt
# tracks the path, not the rotated names).
. "$(dirname "$0")/lib.sh" "$@"

SCALE=${ACRT_TEST_SCALE:-1}
PER=$("$PY" -c "print(max(500, int(5000 * $SCALE)))")

# The driver: writes lines, rotates, truncates, checks the sink.
DRIVE="$WORK/drive.py"
cat >"$DRIVE" <<'PY'
import os, shutil, sys, time

def die(msg):
    print("drive.py: " + msg, file=sys.stderr)
    sys.exit(1)

def lines(n0, k):
    return "".join('{"n":%d}\n' % i for i in range(n0, n0 + k))

def append(path, n0, k):
    with open(path, "a") as f:
        f.write(lines(n0, k))

def count_in(path, pat):
    try:
        with open(path, errors="replace") as f:
            return f.read().count(pat)
    except FileNotFoundError:
        return 0

def sink_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False

class Writer:
    """Appends numbered lines to LOG at about RATE a second, rotating it."""
    def __init__(self, log, err, sink, pid, n):
        self.log, self.err, self.sink, self.pid, self.n = log, err, sink, pid, n
        self.f = open(log, "a")  # O_APPEND: after a truncation, writes go to the new end

    def write(self, k, rate=20000.0):
        t0, done = time.monotonic(), 0
        while done < k:
            b = min(100, k - done)
            self.f.write(lines(self.n + 1, b))
            self.f.flush()
            self.n += b
            done += b
            if rate:
                dt = t0 + done / rate - time.monotonic()
                if dt > 0:
                    time.sleep(dt)

    def wait(self, cond, what, load=False, timeout=60):
        """Waits for cond(); with load, writing on meanwhile."""
        deadline = time.monotonic() + timeout
        while not cond():
            if not alive(self.pid):
                die("acrt exited while waiting for " + what)
            if time.monotonic() > deadline:
                die("no %s within %d s (%d lines written, the sink holds %d)"
                    % (what, timeout, self.n, sink_lines(self.sink)))
            if load:
                self.write(100)
            else:
                time.sleep(0.02)

    def holds(self, st):
        """acrt has the file of stat result st open."""
        d = "/proc/%d/fd" % self.pid
        for fd in os.listdir(d):
            try:
                o = os.stat(os.path.join(d, fd))
            except OSError:
                continue
            if (o.st_dev, o.st_ino) == (st.st_dev, st.st_ino):
                return True
        return False

    def rotations(self):
        return count_in(self.err, "was rotated; reading the new file")

    def rename_and_create(self, suffix, gap=0.0, late=0):
        os.rename(self.log, self.log + suffix)
        if gap:
            time.sleep(gap)  # the path is missing meanwhile; nothing is checked against it
        old, self.f = self.f, open(self.log, "a")
        if late:  # still appending to the old file once acrt has opened the new one
            st = os.fstat(self.f.fileno())
            self.wait(lambda: self.holds(st), "acrt opening the new file")
            self.f, new = old, self.f
            self.write(late, rate=0)
            old, self.f = self.f, new
        old.close()

def rotate_load(log, err, sink, pid, n, per):
    w = Writer(log, err, sink, int(pid), int(n))
    per = int(per)
    w.write(per)
    for r in range(1, 5):
        w.write(per // 2, rate=0)  # a burst just before the rotation
        w.rename_and_create(".%d" % r, gap=0.3 if r == 2 else 0.0, late=200 if r == 3 else 0)
        w.wait(lambda: w.rotations() >= r, "'was rotated' line #%d" % r, load=True)
        w.write(per)
    # copytruncate, with the writer paused (see the top of the test)
    w.wait(lambda: sink_lines(sink) == w.n, "sink holding all %d lines" % w.n)
    shutil.copyfile(log, log + ".ct")
    os.truncate(log, 0)
    w.wait(lambda: count_in(err, "was truncated") >= 1, "'was truncated' line")
    w.write(per)
    w.rename_and_create(".5")
    w.wait(lambda: w.rotations() >= 5, "'was rotated' line #5", load=True)
    w.write(per)
    w.f.close()
    print(w.n)

def check(sink, want):
    """The sink holds exactly the numbers WANT ("a-b,c-d"), in order."""
    exp = []
    for part in want.split(","):
        a, b = part.split("-")
        exp.extend(range(int(a), int(b) + 1))
    with open(sink, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        die("%s: the last line is partial" % sink)
    import json
    got = [json.loads(l)["n"] for l in data.decode().splitlines()]
    if got == exp:
        return
    seen, dup = set(), []
    for x in got:
        if x in seen:
            dup.append(x)
        seen.add(x)
    missing = sorted(set(exp) - seen)
    extra = sorted(seen - set(exp))
    out_of_order = [(i, a, b) for i, (a, b) in enumerate(zip(got, got[1:])) if b <= a][:5]
    die("%s: %d lines for %d expected; duplicated %s, missing %s (%d), unexpected %s, "
        "out of order at %s" % (sink, len(got), len(exp), dup[:10], missing[:10],
                                len(missing), extra[:10], out_of_order))

cmd = sys.argv[1]
if cmd == "append":
    append(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif cmd == "rotate_load":
    rotate_load(*sys.argv[2:8])
elif cmd == "check":
    check(sys.argv[2], sys.argv[3])
else:
    die("unknown command " + cmd)
PY
drive() { "$PY" "$DRIVE" "$@"; }

# mk DIR PATH [STATE]: Source(file PATH, follow: true) -> Sink(file out.jsonl),
# the API on a free port; with STATE, checkpoints into state/ck.db.
mk() {
	local d=$1 path=$2 state=${3:-}
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: follow
  components:
    - {name: tail, type: Source, config: {source: file, path: $path, follow: true}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: tail.output, to: out.input}
YAML
	{
		printf 'schema_version: "1.0.0"\nsystem_name: follow\nruntime:\n'
		printf '  api: {listen: "127.0.0.1:%s"}\n' "$(free_port)"
		if [ -n "$state" ]; then
			printf '  state: {adapter: sqlite_snapshot, path: state/ck.db, checkpoint_interval_s: 0.2}\n'
		fi
	} >"$d/deployment.yaml"
}

has_log() { grep -q -- "$2" "$1"; }
log_count() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# stop NAME: SIGTERM, exit 0 within 20 s.
stop() {
	kill -TERM "$PID"
	wait_exit "$PID" 20 || fail "$1: acrt did not exit within 20 s of SIGTERM" "$WORK/$1.err"
	expect_rc 0 "$1: SIGTERM" "$WORK/$1.err"
}

# ---- 1. rotations under load ------------------------------------------------
say "1. rename-and-create x5 and copytruncate x1 under load ($PER lines a phase)"
D="$WORK/load"
mk "$D" app.log
drive append "$D/app.log" 1 1000
start_acrt load run --quiet "$D"
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 1000 ||
	fail "load: the first 1000 lines did not arrive" "$WORK/load.err"
N=$(drive rotate_load "$D/app.log" "$WORK/load.err" "$D/out.jsonl" "$PID" 1000 "$PER") ||
	fail "load: the writer failed" "$WORK/load.err"
wait_alive "$PID" 60 has_lines "$D/out.jsonl" "$N" ||
	fail "load: the sink holds $(lines "$D/out.jsonl") of $N lines" "$WORK/load.err"
stop load
drive check "$D/out.jsonl" "1-$N" || fail "load: the sink is not 1..$N exactly once" "$WORK/load.err"
ok "load: $N lines through 5 rotations and a copytruncate, each once, in order"
[ "$(log_count "$WORK/load.err" "'[^']*app.log' was rotated; reading the new file")" = 5 ] ||
	fail "load: expected 5 'was rotated' lines" "$WORK/load.err"
[ "$(log_count "$WORK/load.err" "'[^']*app.log' was truncated below")" = 1 ] ||
	fail "load: expected 1 'was truncated' line" "$WORK/load.err"
ok "load: one info line per rotation and for the truncation"

# ---- 2. the file does not exist yet -------------------------------------------
say "2. follow: true on a file (and directory) that do not exist yet"
D="$WORK/later"
mk "$D" logs/app.log
run_acrt later-validate 30 validate "$D"
expect_rc 0 "validate with a missing followed file" "$WORK/later-validate.err"
mkdir -p "$WORK/nofollow" "$WORK/isdir/dir.log"
sed 's/, follow: true//' "$D/architecture.yaml" >"$WORK/nofollow/architecture.yaml"
run_acrt nofollow-validate 30 validate "$WORK/nofollow"
expect_rc 2 "validate with a missing file without follow" "$WORK/nofollow-validate.err"
grep -q 'cannot read .*No such file or directory' "$WORK/nofollow-validate.err" ||
	fail "validate without follow: no 'cannot read' error" "$WORK/nofollow-validate.err"
sed 's|logs/app.log|dir.log|' "$D/architecture.yaml" >"$WORK/isdir/architecture.yaml"
run_acrt isdir-validate 30 validate "$WORK/isdir"
expect_rc 2 "validate with a followed path that is a directory" "$WORK/isdir-validate.err"
grep -q 'is a directory, not a file' "$WORK/isdir-validate.err" ||
	fail "validate of a directory: no 'is a directory' error" "$WORK/isdir-validate.err"

start_acrt later run --quiet "$D"
wait_alive "$PID" 30 has_log "$WORK/later.err" "app.log' does not exist yet; waiting for it" ||
	fail "later: no 'waiting for it' line" "$WORK/later.err"
alive "$PID" || fail "later: acrt exited instead of waiting" "$WORK/later.err"
mkdir -p "$D/logs"
drive append "$D/logs/app.log" 1 500
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 500 ||
	fail "later: the file's 500 lines did not arrive" "$WORK/later.err"
has_log "$WORK/later.err" "app.log' now exists; reading it" ||
	fail "later: no 'now exists' line" "$WORK/later.err"
mv "$D/logs/app.log" "$D/logs/app.log.1"
drive append "$D/logs/app.log" 501 500
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 1000 ||
	fail "later: the rotated file's lines did not arrive" "$WORK/later.err"
stop later
drive check "$D/out.jsonl" "1-1000" || fail "later: the sink is not 1..1000" "$WORK/later.err"
ok "later: waited for the file, read it, followed its rotation"

# ---- 3. checkpoints and --resume ---------------------------------------------
say "3. checkpoints: rotated, truncated and replaced while stopped, then --resume"
D="$WORK/resume"
mk "$D" app.log state
drive append "$D/app.log" 1 2000
start_acrt r1 run --quiet "$D"
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 2000 || fail "r1: 2000 lines did not arrive" "$WORK/r1.err"
stop r1
has_log "$WORK/r1.err" '"msg":"checkpoint [0-9]* stored' || fail "r1: no checkpoint stored" "$WORK/r1.err"

# 3a. appended, rotated, the new file written: all while stopped
drive append "$D/app.log" 2001 1000
mv "$D/app.log" "$D/app.log.1"
drive append "$D/app.log" 3001 1000
start_acrt r2 run --quiet "$D" --resume
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 4000 ||
	fail "r2: the sink holds $(lines "$D/out.jsonl") of 4000 lines" "$WORK/r2.err"
has_log "$WORK/r2.err" "app.log' was rotated while stopped: reading the rest of '[^']*app.log.1' first" ||
	fail "r2: no 'rotated while stopped' line naming app.log.1" "$WORK/r2.err"
drive append "$D/app.log" 4001 1000 # and on, live
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 5000 ||
	fail "r2: the sink holds $(lines "$D/out.jsonl") of 5000 lines" "$WORK/r2.err"
stop r2
drive check "$D/out.jsonl" "1-5000" || fail "r2: the sink is not 1..5000" "$WORK/r2.err"
ok "rotated while stopped: the rest of app.log.1 found by its inode, then app.log, each line once"

# 3b. truncated while stopped (shorter than the saved offset)
: >"$D/app.log"
drive append "$D/app.log" 5001 100
start_acrt r3 run --quiet "$D" --resume
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 5100 ||
	fail "r3: the sink holds $(lines "$D/out.jsonl") of 5100 lines" "$WORK/r3.err"
stop r3
has_log "$WORK/r3.err" "truncated while stopped" || fail "r3: no 'truncated while stopped' line" "$WORK/r3.err"
drive check "$D/out.jsonl" "1-5100" || fail "r3: the sink is not 1..5100" "$WORK/r3.err"
ok "truncated while stopped: read again from the start, each line once"

# 3c. appended, then replaced by a new file while the old one is moved away
# (created before the old one is gone, so that it cannot reuse its inode)
drive append "$D/app.log" 5101 100
mkdir -p "$WORK/elsewhere"
mv "$D/app.log" "$WORK/elsewhere/app.log.old"
drive append "$D/app.log" 5201 100
rm -f "$WORK/elsewhere/app.log.old"
start_acrt r4 run --quiet "$D" --resume
wait_alive "$PID" 30 has_lines "$D/out.jsonl" 5200 ||
	fail "r4: the sink holds $(lines "$D/out.jsonl") of 5200 lines" "$WORK/r4.err"
stop r4
has_log "$WORK/r4.err" "is not the file of the checkpoint.*may be lost" ||
	fail "r4: no warning that the rest of the old file may be lost" "$WORK/r4.err"
drive check "$D/out.jsonl" "1-5100,5201-5300" || fail "r4: unexpected sink content" "$WORK/r4.err"
ok "replaced while stopped, the old file gone: warned, the new file read from its start, no duplicate"
pass
