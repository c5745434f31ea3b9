#!/usr/bin/env bash
# Crash torture (issue 16, docs/RELIABILITY.md): `acrt run` is SIGKILLed again
# and again at random moments, some of them inside a checkpoint write, and
# resumed with --resume each time; at the end every sink must hold each event
# exactly once and the Aggregator's result must be the uninterrupted one.
#
# The system, once per state adapter that outlives the process:
#   gen (sequence, count N, rate_per_s RATE) -> key (Transformer jq, .k = seq % MOD)
#     -> {agg (Aggregator by k: seq sum, count) -> aggout (file sink), out (file sink)}
# with checkpoint_interval_s 0.2 and retain 2. The Aggregator holds up to MOD
# (5000) open groups, ~420 KB of managed state, so that a checkpoint write is a
# real transaction (a hundred WAL frames and an fsync; a 420 KB HSET) and not a
# single syscall.
#   - sqlite_snapshot, with operator chaining (one thread for the pipeline);
#   - redis_snapshot (a redis-server of its own on a free port), chaining off
#     (every component on its own thread, barriers aligned through streams).
# inmem_ephemeral is not tortured: its checkpoints live in the process's memory
# and are lost at exit (docs/STATE.md), so there is nothing to resume from
# after a SIGKILL.
#
# The loop: the first run starts fresh, every later one with --resume. Each is
# killed (SIGKILL) by a helper in one of two ways, alternating:
#   - random: at a uniformly random time 0 .. 1.2 s after it was started, which
#     also hits the load, the restore of a checkpoint, startup before the first
#     checkpoint (then the next --resume "starts fresh"), barrier alignment, and
#     now and then a write;
#   - aimed at a checkpoint write: after a random 0.1 .. 0.9 s the helper arms
#     a trigger on the store and kills on the next write, after a random spin of
#     0 .. 800 us. For sqlite the trigger is inotify IN_MODIFY on the WAL file
#     (the first frame of a write transaction has reached the file); for Redis
#     it is a MONITOR connection seeing the `WATCH acrt:<system>:ckpt:<id>` that
#     starts every put (then come MULTI, the HSET, ZADD and EXEC).
# After each kill the test says where it landed, from evidence, not intent:
#   - "inside a store transaction": sqlite: the WAL holds frames (whole or
#     partly written) after its last valid commit frame that this run wrote
#     (compared with a copy of the WAL taken before the run, and parsed before
#     anything opens the database again), or a restarted WAL's new header and
#     no frame yet; Redis: the checkpoint whose WATCH was seen is not in the
#     store (the process died inside put(), before EXEC took effect);
#   - "after the commit, unreported": the newest stored checkpoint is newer
#     than the last "checkpoint N stored" line of the run (died in the fsync or
#     reading EXEC's reply, before the log line);
#   - otherwise "no write caught": outside a write, or too close to its first
#     byte to prove (a rewritten WAL frame identical to the one there before).
# At least one kill per adapter must land inside a write (one of the first two
# kinds); if none of the scheduled kills did, up to 10 more aimed kills are
# made until one does (in practice nearly all aimed kills land inside: 140 of
# 150 in three runs of the long form; random kills hardly ever do).
#
# After every kill: `acrt checkpoints verify` passes (no partial checkpoint;
# for sqlite on a copy of the database and its WAL, so that the next --resume
# itself recovers the torn WAL), no orphan rows or keys, the newest stored
# checkpoint is not older than the last one the run reported stored, and the
# next run resumes from exactly that newest one (never skips one). A run that
# ends by itself before its kill must exit 0. After the loop a last --resume
# runs to the end of the stream: exit 0; out.jsonl holds every seq 1..N exactly
# once (each line complete, k = seq % MOD); agg.jsonl has exactly one row per
# group with the sums and counts of an uninterrupted run (computed here).
#
# Knobs (environment):
#   ACRT_TORTURE_KILLS  kills per adapter; default 6, 3 when ACRT_TEST_SCALE < 1
#                       (TSan), 50 with ACRT_TEST_LONG=1 (the long form);
#   ACRT_TORTURE_SEED   the seed of the kill schedule (mode, delays, spins),
#                       printed at the start; the instants still depend on the
#                       machine, so a seed replays the schedule, not the timing.
# The stream is sized to outlast the kills: N = RATE * ((KILLS + 4) * 0.6 + 2).
# Normal form: about 25 s in all (also under ASan; ~20 s under TSan with
# ACRT_TEST_SCALE=0.05); long form (50 kills per adapter): about 2 min.
#   ACRT_TEST_LONG=1 ctest -R crash_torture --output-on-failure
. "$(dirname "$0")/lib.sh" "$@"

SCALE=${ACRT_TEST_SCALE:-1}
SMALL=$("$PY" -c "print(1 if float('$SCALE') < 1 else 0)")
if [ -n "${ACRT_TORTURE_KILLS:-}" ]; then
	KILLS=$ACRT_TORTURE_KILLS
elif [ "${ACRT_TEST_LONG:-0}" = 1 ]; then
	KILLS=50
elif [ "$SMALL" = 1 ]; then
	KILLS=3
else
	KILLS=6
fi
case $KILLS in '' | *[!0-9]*) fail "ACRT_TORTURE_KILLS must be a number, got '$KILLS'" ;; esac
SEED=${ACRT_TORTURE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
case $SEED in '' | *[!0-9]*) fail "ACRT_TORTURE_SEED must be a number, got '$SEED'" ;; esac
EXTRA=10 # aimed kills added at most when none of the scheduled ones landed in a write
RATE=4000
[ "$SMALL" = 1 ] && RATE=1000
N=$("$PY" -c "print(int($RATE * (($KILLS + 4) * 0.6 + 2)))")
MOD=5000
SYS=torture
say "seed $SEED (ACRT_TORTURE_SEED=$SEED replays this kill schedule); $KILLS kills per adapter; N=$N events at $RATE/s"

# ---- the helper: schedule, killer, WAL reader, checks -----------------------
HELPER="$WORK/torture.py"
cat >"$HELPER" <<'PYEOF'
import ctypes, ctypes.util, json, os, random, select, signal, socket, sqlite3, struct, sys, time

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st not in ("Z", "X")
    except (OSError, IndexError):
        return False

def schedule(seed, adapter, kills, extra):
    """One line per kill: MODE DELAY_S SPIN_US. Even kills random, odd aimed;
    the `extra` ones (used only if needed) aimed."""
    r = random.Random("%s:%s" % (seed, adapter))
    for i in range(kills + extra):
        if i < kills and i % 2 == 0:
            print("random %.3f 0" % r.uniform(0.0, 1.2))
        else:
            print("aim %.3f %d" % (r.uniform(0.1, 0.9), r.randint(0, 800)))

def spin(us):
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass

def sqlite_trigger(pid, d, end):
    """Returns once a file ending in -wal in directory d is modified."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        sys.exit("inotify_init1 failed: errno %d" % ctypes.get_errno())
    while libc.inotify_add_watch(fd, d.encode(), 0x2) < 0:  # IN_MODIFY
        if time.time() > end or not alive(pid):
            return None
        time.sleep(0.01)  # the store (and its directory) is not open yet
    while time.time() < end and alive(pid):
        if not select.select([fd], [], [], 0.05)[0]:
            continue
        buf, off = os.read(fd, 65536), 0
        while off < len(buf):
            _wd, _mask, _cookie, ln = struct.unpack_from("iIII", buf, off)
            name = buf[off + 16:off + 16 + ln].rstrip(b"\0")
            off += 16 + ln
            if name.endswith(b"-wal"):
                return 0
    return None

def redis_trigger(pid, port, prefix, end):
    """Returns the id of the next checkpoint whose put starts (WATCH)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"MONITOR\r\n")
    pat = ('"WATCH" "%s' % prefix).encode()
    buf = b""
    while time.time() < end and alive(pid):
        if not select.select([c], [], [], 0.05)[0]:
            continue
        chunk = c.recv(65536)
        if not chunk:
            return None
        buf += chunk
        lines = buf.split(b"\n")
        buf = lines.pop()
        for l in lines:
            i = l.find(pat)
            if i >= 0:
                return int(l[i + len(pat):].split(b'"')[0])
    return None

def kill(argv):
    """MODE PID T0_NS DELAY SPIN_US DEADLINE_S [STATE_DIR | PORT PREFIX]:
    prints shell assignments K_KILLED (0: it had ended by itself), K_HIT (the
    trigger fired) and K_WATCHED (Redis: the id being put)."""
    mode, pid, t0, delay, spin_us, deadline = argv[:6]
    pid, t0, delay, spin_us = int(pid), int(t0) / 1e9, float(delay), int(spin_us)
    time.sleep(max(0.0, t0 + delay - time.time()))
    hit, watched = 0, 0
    if mode != "random" and alive(pid):
        end = time.time() + float(deadline)
        if mode == "sqlite":
            w = sqlite_trigger(pid, argv[6], end)
        else:
            w = redis_trigger(pid, int(argv[6]), argv[7], end)
        if w is not None:
            hit, watched = 1, w
            spin(spin_us)
    killed = 0
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        killed = 1
    print("K_KILLED=%d K_HIT=%d K_WATCHED=%d" % (killed, hit, watched))

def wal_torn(before, after):
    """How far an uncommitted write transaction had got in the WAL `after`
    (now) compared with `before` (a copy taken before the run): the frames of
    the current WAL generation after its last commit frame that the run
    changed (complete or not), "hdr" when the WAL was restarted (new header and
    salts) and no frame followed yet, 0 when the run left no uncommitted
    write. Frames that were already there before the run (a previous run's
    torn transaction) do not count."""
    def read(p):
        try:
            return open(p, "rb").read()
        except OSError:
            return b""
    a, b = read(after), read(before)
    if len(a) < 32:
        return 0
    magic, _v, psz, _cs, s1, s2, c1, c2 = struct.unpack(">8I", a[:32])
    if magic not in (0x377F0682, 0x377F0683):
        return 0
    fmt = ">" if magic & 1 else "<"
    def cks(buf, x, y):
        w = struct.unpack(fmt + "%dI" % (len(buf) // 4), buf)
        for i in range(0, len(w), 2):
            x = (x + w[i] + y) & 0xFFFFFFFF
            y = (y + w[i + 1] + x) & 0xFFFFFFFF
        return x, y
    x, y = cks(a[:24], 0, 0)
    if (x, y) != (c1, c2):
        return 0
    off, end, fsz = 32, 32, 24 + psz  # end: after the last valid commit frame
    while off + fsz <= len(a):
        _pg, commit, fs1, fs2, fc1, fc2 = struct.unpack(">6I", a[off:off + 24])
        if (fs1, fs2) != (s1, s2):
            break
        x, y = cks(a[off:off + 8], x, y)
        x, y = cks(a[off + 24:off + fsz], x, y)
        if (x, y) != (fc1, fc2):
            break
        off += fsz
        if commit:
            end = off
    n, off = 0, end
    while off + 24 <= len(a) and a[off + 8:off + 16] == a[16:24]:
        if a[off:off + fsz] == b[off:off + fsz]:
            break
        n += 1
        off += fsz
    if n == 0 and end == 32 and a[:32] != b[:32]:
        return "hdr"
    return n

def newest(path):
    """The newest id in `acrt checkpoints list --json` output, 0 if none."""
    ids = [c["id"] for c in json.load(open(path))]
    return max(ids) if ids else 0

def sqlite_orphans(db):
    c = sqlite3.connect(db)
    q = [("parts without a checkpoints row",
          "select count(*) from parts where ckpt_id not in (select id from checkpoints)"),
         ("checkpoints without parts",
          "select count(*) from checkpoints where id not in (select ckpt_id from parts)")]
    bad = ["%d %s" % (n, what) for what, sql in q for (n,) in [c.execute(sql).fetchone()] if n]
    c.close()
    if bad:
        sys.exit("; ".join(bad))

def check(d, n, mod):
    for name in ("out.jsonl", "agg.jsonl"):
        data = open(os.path.join(d, name), "rb").read()
        if data and not data.endswith(b"\n"):
            sys.exit("%s: the last line is not terminated: %r" % (name, data[-80:]))
    seen, dup, bad = bytearray(n + 1), [], []
    lines = 0
    for l in open(os.path.join(d, "out.jsonl"), "rb"):
        lines += 1
        try:
            e = json.loads(l)
            s = e["seq"]
        except (ValueError, KeyError, TypeError):
            sys.exit("out.jsonl line %d is not an event: %r" % (lines, l[:80]))
        if not (isinstance(s, int) and 1 <= s <= n) or e.get("k") != s % mod:
            bad.append(e)
            continue
        if seen[s]:
            dup.append(s)
        seen[s] = 1
    missing = [s for s in range(1, n + 1) if not seen[s]]
    if dup or missing or bad:
        sys.exit("out.jsonl: %d lines; %d duplicated (first %r), %d missing (first %r), "
                 "%d wrong (first %r)" % (lines, len(dup), dup[:5], len(missing),
                                          missing[:5], len(bad), bad[:2]))
    want = {}
    for s in range(1, n + 1):
        w = want.setdefault(s % mod, [0, 0])
        w[0] += s
        w[1] += 1
    got = {}
    for l in open(os.path.join(d, "agg.jsonl")):
        a = json.loads(l)
        if a["key"] in got:
            sys.exit("agg.jsonl: group %r emitted twice" % a["key"])
        got[a["key"]] = [a["seq_sum"], a["seq_count"]]
    if got != want:
        diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        sys.exit("agg.jsonl: %d groups differ from an uninterrupted run, e.g. %r: got %r want %r"
                 % (len(diff), diff[0], got.get(diff[0]), want.get(diff[0])))

cmd = sys.argv[1]
if cmd == "schedule":
    schedule(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
elif cmd == "kill":
    kill(sys.argv[2:])
elif cmd == "wal":
    print(wal_torn(sys.argv[2], sys.argv[3]))
elif cmd == "newest":
    print(newest(sys.argv[2]))
elif cmd == "orphans":
    sqlite_orphans(sys.argv[2])
elif cmd == "check":
    check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
PYEOF
helper() { "$PY" "$HELPER" "$@"; }

# ---- Redis --------------------------------------------------------------------
start_redis # lib.sh
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# mk DIR ADAPTER CHAINING. The API port comes from TORTURE_API_PORT, set
# afresh (a free port) for every run.
mk() {
	local d=$1 adapter=$2 chaining=$3
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: $SYS
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N, rate_per_s: $RATE}}
    - {name: key, type: Transformer, config: {jq: '.k = (.seq % $MOD)'}}
    - {name: agg, type: Aggregator, config: {key: k, ops: {seq: [sum, count]}}}
    - {name: aggout, type: Sink, config: {sink: file, path: agg.jsonl}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: key.input}
    - {from: key.output, to: [agg.input, out.input]}
    - {from: agg.output, to: aggout.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: $SYS
runtime:
  chaining: $chaining
  api: {listen: "127.0.0.1:\${TORTURE_API_PORT}"}
  state:
    adapter: $adapter
    path: state/ck.db
    redis_url: redis://127.0.0.1:$REDIS_PORT
    checkpoint_interval_s: 0.2
    retain: 2
YAML
}

# The highest id in "checkpoint N stored" lines of a log, or $2 if none.
logged_max() {
	local m
	m=$(grep -o '"msg":"checkpoint [0-9]* stored' "$1" | grep -o '[0-9][0-9]*' | sort -n | tail -n1)
	echo "${m:-$2}"
}

# inspect ADAPTER DIR NAME: verifies the store as the crash left it and sets
# NEWEST (0: empty). For sqlite it works on a copy of the database and its WAL,
# so that the next --resume meets the crash state itself.
inspect() {
	local adapter=$1 d=$2 name=$3 target=$2
	if [ "$adapter" = sqlite_snapshot ]; then
		target="$WORK/scratch"
		rm -rf "$target"
		mkdir -p "$target/state"
		cp "$d/architecture.yaml" "$d/deployment.yaml" "$target/"
		local f
		for f in "$d"/state/ck.db "$d"/state/ck.db-wal; do
			[ -f "$f" ] && cp "$f" "$target/state/"
		done
	fi
	TORTURE_API_PORT=1 "$ACRT" checkpoints verify "$target" >"$WORK/$name.verify" 2>&1 ||
		fail "$name: checkpoints verify found a problem after the kill" "$WORK/$name.verify" "$WORK/$name.err"
	TORTURE_API_PORT=1 "$ACRT" checkpoints list "$target" --json >"$WORK/$name.list" 2>"$WORK/$name.list.err" ||
		fail "$name: checkpoints list failed" "$WORK/$name.list.err"
	NEWEST=$(helper newest "$WORK/$name.list") || fail "$name: cannot read the list" "$WORK/$name.list"
	if [ "$adapter" = sqlite_snapshot ]; then
		[ -f "$target/state/ck.db" ] && { helper orphans "$target/state/ck.db" ||
			fail "$name: orphan rows in the sqlite store"; }
	else
		local keys members
		keys=$(rcli --raw keys "acrt:$SYS:ckpt:*" | sed "s/^acrt:$SYS:ckpt://" | sort -n | tr '\n' ' ')
		members=$(rcli --raw zrange "acrt:$SYS:ckpts" 0 -1 | sort -n | tr '\n' ' ')
		[ "$keys" = "$members" ] ||
			fail "$name: Redis hashes ($keys) and the ids in acrt:$SYS:ckpts ($members) differ"
	fi
}

# ---- the torture ---------------------------------------------------------------
torture() {
	local adapter=$1 chaining=$2
	local d="$WORK/$adapter" sched i=0 kills=0 inside=0 n_unrep=0 n_tx=0 n_out=0
	local prev=0 resume="" ended=""
	mk "$d" "$adapter" "$chaining"
	mapfile -t sched < <(helper schedule "$SEED" "$adapter" "$KILLS" "$EXTRA")
	while [ "$i" -lt "${#sched[@]}" ]; do
		# Past the schedule: only extra aimed kills, and only while none landed.
		if [ "$i" -ge "$KILLS" ] && [ "$inside" -gt 0 ]; then break; fi
		local mode delay spin name trig
		read -r mode delay spin <<<"${sched[$i]}"
		i=$((i + 1))
		name="${adapter}_$i"
		trig=(random)
		if [ "$mode" = aim ]; then
			if [ "$adapter" = sqlite_snapshot ]; then
				trig=(sqlite "$d/state")
			else
				trig=(redis "$REDIS_PORT" "acrt:$SYS:ckpt:")
			fi
		fi
		# The WAL as it is before the run, to tell this run's writes from older ones.
		if [ "$adapter" = sqlite_snapshot ]; then
			cp "$d/state/ck.db-wal" "$WORK/wal.before" 2>/dev/null || : >"$WORK/wal.before"
		fi
		local t0
		t0=$(date +%s%N)
		TORTURE_API_PORT=$(free_port) start_acrt "$name" run "$d" --quiet $resume
		# (stderr to a file: the helper's, and bash's "Killed" notice)
		local out krc wrc
		{
			out=$(helper kill "${trig[0]}" "$PID" "$t0" "$delay" "$spin" 20 "${trig[@]:1}")
			krc=$?
			wait_exit "$PID" 10
			wrc=$?
		} 2>"$WORK/$name.kill"
		[ "$krc" = 0 ] || fail "$name: the kill helper failed" "$WORK/$name.kill" "$WORK/$name.err"
		[ "$wrc" = 0 ] || fail "$name: still running 10 s after SIGKILL" "$WORK/$name.err"
		local K_KILLED=0 K_HIT=0 K_WATCHED=0
		eval "$out"
		# The run resumed from the newest checkpoint the previous kill left (if it
		# got as far as saying so), never skipping one.
		if [ -n "$resume" ]; then
			if [ "$prev" -gt 0 ]; then
				! grep -q '"msg":"resuming from checkpoint' "$WORK/$name.err" ||
					grep -q "\"msg\":\"resuming from checkpoint $prev " "$WORK/$name.err" ||
					fail "$name: did not resume from checkpoint $prev, the newest" "$WORK/$name.err"
			else
				! grep -q '"msg":"resuming from checkpoint' "$WORK/$name.err" ||
					fail "$name: resumed although the store was empty" "$WORK/$name.err"
			fi
			grep -q 'is skipped' "$WORK/$name.err" && fail "$name: a checkpoint was skipped" "$WORK/$name.err"
		fi
		if [ "$K_KILLED" = 0 ]; then
			# It ended by itself before the kill: the stream is done.
			[ "$RC" = 0 ] || fail "$name: the run ended by itself with exit $RC" "$WORK/$name.err"
			ended=$name
			say "  $name: the run reached the end of the stream before its kill (exit 0); no more kills"
			inspect "$adapter" "$d" "$name"
			prev=$NEWEST
			break
		fi
		[ "$mode" = aim ] && [ "$K_HIT" = 0 ] &&
			fail "$name: no checkpoint write seen within 20 s (aimed kill)" "$WORK/$name.err"
		kills=$((kills + 1))
		# Where did it land? (before anything opens the store again)
		local pending=0 logged where
		if [ "$adapter" = sqlite_snapshot ]; then
			pending=$(helper wal "$WORK/wal.before" "$d/state/ck.db-wal") || fail "$name: cannot read the WAL"
		fi
		logged=$(logged_max "$WORK/$name.err" "$prev")
		inspect "$adapter" "$d" "$name"
		[ "$NEWEST" -ge "$logged" ] ||
			fail "$name: checkpoint $logged was logged as stored, but the newest in the store is $NEWEST" \
				"$WORK/$name.err" "$WORK/$name.list"
		if [ "$pending" = hdr ]; then
			where="inside a store transaction (the WAL restarted: new header, no frame yet)"
			n_tx=$((n_tx + 1))
		elif [ "$pending" -gt 0 ]; then
			where="inside a store transaction ($pending WAL frames written after the last commit)"
			n_tx=$((n_tx + 1))
		elif [ "$adapter" = redis_snapshot ] && [ "$K_HIT" = 1 ] && [ -z "$(rcli --raw zscore "acrt:$SYS:ckpts" "$K_WATCHED")" ]; then
			where="inside put() of checkpoint $K_WATCHED, before EXEC took effect"
			n_tx=$((n_tx + 1))
		elif [ "$NEWEST" -gt "$logged" ]; then
			where="after the commit of checkpoint $NEWEST, before it was reported"
			n_unrep=$((n_unrep + 1))
		elif ! grep -q "\"msg\":\"system '$SYS' started" "$WORK/$name.err"; then
			where="no write caught (killed during startup)"
			n_out=$((n_out + 1))
		elif ! grep -q '"msg":"checkpoint [0-9]* stored' "$WORK/$name.err"; then
			where="no write caught (killed before the run's first checkpoint)"
			n_out=$((n_out + 1))
		else
			where="no write caught"
			n_out=$((n_out + 1))
		fi
		case $where in "no write"*) ;; *) inside=$((inside + 1)) ;; esac
		if [ "$mode" = aim ]; then
			say "  kill $i ($mode, armed at ${delay} s, +${spin} us): $where; newest stored $NEWEST"
		else
			say "  kill $i ($mode at ${delay} s): $where; newest stored $NEWEST"
		fi
		prev=$NEWEST
		resume=--resume
	done
	[ "$inside" -gt 0 ] ||
		fail "$adapter: none of $kills kills landed inside a checkpoint write (seed $SEED)${ended:+; the stream ended in $ended}"
	ok "$adapter: $kills SIGKILLs: $n_tx inside a store transaction, $n_unrep after the commit before the report, $n_out not caught in a write; every kill left only complete checkpoints, the newest reported one kept"

	# The last run, to the end of the stream.
	local secs
	secs=$("$PY" -c "print(int($N / $RATE * 2 + 60))")
	TORTURE_API_PORT=$(free_port) run_acrt "${adapter}_final" "$secs" run "$d" --quiet --resume
	expect_rc 0 "$adapter: the last --resume, to the end" "$WORK/${adapter}_final.err"
	if [ "$prev" -gt 0 ]; then
		grep -q "\"msg\":\"resuming from checkpoint $prev " "$WORK/${adapter}_final.err" ||
			fail "$adapter: the last run did not resume from checkpoint $prev" "$WORK/${adapter}_final.err"
	fi
	[ -n "$ended" ] && say "  (the stream had already ended in $ended)"
	helper check "$d" "$N" "$MOD" ||
		fail "$adapter: not exactly-once after $kills SIGKILLs (seed $SEED)" "$WORK/${adapter}_final.err"
	ok "$adapter: every seq 1..$N exactly once in out.jsonl; the $MOD aggregates equal an uninterrupted run's"
}

torture sqlite_snapshot true
torture redis_snapshot false
pass
