#!/usr/bin/env bash
# A sink that cannot write never drops silently (issue 16 part 1,
# docs/RELIABILITY.md), on real full file systems: tmpfs mounts of a few
# KiB or MiB under WORK (the test needs CAP_SYS_ADMIN, as CI has).
#   1. a disk that stays full, `on_write_error: fail`: the system stops with
#      exit 1 after write_error_timeout_ms; the file ends with a whole line;
#      the summary accounts for every event the source emitted; the
#      `sink_write_blocked` alert fired;
#   2. a disk full for a while (the default `retry`): the sink waits, the
#      alert fires, the filler is deleted, every event arrives exactly once,
#      in order, no torn line, exit 0;
#   3. blocked, then SIGTERM twice (a cancel): exit 1, whole lines only, the
#      events not written are counted;
#   4. stdout closed under the stdout Sink (`| head`): exit 1 with the
#      reason, not a SIGPIPE death;
#   5. a Store's SQLite database on a disk full for a while: the Store
#      retries its transaction, then every key is in the database, exit 0;
#   6. the checkpoint store (sqlite_snapshot) on a full disk: the
#      checkpoint_store_failing alert fires, and the final checkpoint not
#      stored makes the run exit 1.
. "$(dirname "$0")/lib.sh" "$@"

command -v mount >/dev/null || fail "mount(8) is needed"

# mount_tmpfs DIR SIZE: a tmpfs of SIZE at DIR, unmounted at exit.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2" tmpfs "$1" ||
		fail "cannot mount a tmpfs at $1 (this test needs root with CAP_SYS_ADMIN)"
	on_exit "umount -l '$1'"
}

# system DIR N SINK_CONFIG: a sequence of N ~200-byte events into a Sink.
system() {
	local d=$1 n=$2 sink=$3
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: writeerrors
  components:
    - name: gen
      type: Source
      config:
        generator: sequence
        count: $n
        payload: {msg: "GET /api/v1/orders/12345?expand=items HTTP/1.1 200 1534 Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)", host: web-17}
    - {name: out, type: Sink, config: $sink}
  bindings:
    - {from: gen.output, to: out.input}
YAML
	printf 'schema_version: "1.0.0"\nruntime: {api: {listen: "127.0.0.1:%s"}}\n' \
		"$(free_port)" >"$d/deployment.yaml"
}

# The file holds whole lines only, seq 1..k in order; prints k.
CHECK_PREFIX='
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("the file ends in a partial line: %r" % data[-60:])
seqs = [json.loads(l)["seq"] for l in data.splitlines()]
if seqs != list(range(1, len(seqs) + 1)):
    sys.exit("not seq 1..%d in order (duplicates or holes)" % len(seqs))
print(len(seqs))
'

# summary_adds_up ERR K: source_events = K written + unwritten + failed +
# discarded, every event the source emitted is accounted for.
summary_adds_up() {
	py "$PY_PRELUDE"'
k = int(sys.argv[2])
fin = [r for r in log_records(sys.argv[1]) if "exit_status" in r]
if not fin:
    die("no summary line")
r = fin[-1]
acc = k + r["unwritten"] + r["failed"] + r["discarded"]
if r["source_events"] != acc or r["unwritten"] == 0 or r["lost"] != acc - k:
    die("%d emitted, but %d written + %d unwritten + %d failed + %d discarded = %d (lost %d): %r"
        % (r["source_events"], k, r["unwritten"], r["failed"], r["discarded"], acc, r["lost"], r))
' "$1" "$2"
}

alert_fired() { grep -q "alert 'sink_write_blocked' firing" "$1"; }
blocked() { grep -q "cannot write '.*': No space left on device; retrying" "$1"; }

# ---- 1. a disk that stays full, on_write_error: fail --------------------------
d="$WORK/full"
mount_tmpfs "$d/disk" 64k
system "$d" 5000 "{sink: file, path: disk/out.jsonl, on_write_error: fail, write_error_timeout_ms: 1500}"
say "5000 events (~1 MB) into a 64 KiB tmpfs, on_write_error: fail after 1.5 s"
run_acrt full 60 run "$d"
expect_rc 1 "a disk that stays full, on_write_error: fail" "$WORK/full.err"
k=$(py "$CHECK_PREFIX" "$d/disk/out.jsonl") || fail "full: the file is torn or out of order" "$WORK/full.err"
grep -q "on_write_error: fail" "$WORK/full.err" || fail "full: the reason is not logged" "$WORK/full.err"
summary_adds_up "$WORK/full.err" "$k" || fail "full: the summary does not account for every event" "$WORK/full.err"
alert_fired "$WORK/full.err" || fail "full: no sink_write_blocked alert" "$WORK/full.err"
ok "full: exit 1, $k whole lines kept, the rest counted (unwritten/failed/discarded), alert fired"

# ---- 2. a disk full for a while: retry, then every event exactly once ---------
d="$WORK/transient"
mount_tmpfs "$d/disk" 2m
head -c 1500000 /dev/zero >"$d/disk/filler"
N=8000 # ~1.6 MB: more than is free, less than the whole disk
system "$d" "$N" "{sink: file, path: disk/out.jsonl}"
say "$N events into a 2 MiB tmpfs holding a 1.5 MB filler; the filler goes once the sink is blocked"
start_acrt transient run "$d"
RUN=$PID
wait_alive "$RUN" 30 blocked "$WORK/transient.err" || fail "transient: the sink never reported the full disk" "$WORK/transient.err"
wait_alive "$RUN" 30 alert_fired "$WORK/transient.err" || fail "transient: no sink_write_blocked alert while blocked" "$WORK/transient.err"
ok "transient: the sink is blocked (ENOSPC, retrying) and the alert fired; acrt still runs"
rm -f "$d/disk/filler"
wait_exit "$RUN" 60 || fail "transient: acrt did not finish after space came back" "$WORK/transient.err"
expect_rc 0 "transient: every event written once space came back" "$WORK/transient.err"
k=$(py "$CHECK_PREFIX" "$d/disk/out.jsonl") || fail "transient: torn line, duplicates or holes" "$d/disk/out.jsonl"
[ "$k" = "$N" ] || fail "transient: $k events in the file, expected $N" "$WORK/transient.err"
grep -q "go through again" "$WORK/transient.err" || fail "transient: the recovery is not logged" "$WORK/transient.err"
ok "transient: all $N events once, in order, whole lines; the recovery logged"

# ---- 3. blocked, then a cancel ------------------------------------------------
d="$WORK/cancel"
mount_tmpfs "$d/disk" 64k
system "$d" 5000 "{sink: file, path: disk/out.jsonl}"
say "blocked on a full disk, then SIGTERM (drain) and a second SIGTERM (cancel)"
start_acrt cancel run "$d"
RUN=$PID
wait_alive "$RUN" 30 blocked "$WORK/cancel.err" || fail "cancel: the sink never reported the full disk" "$WORK/cancel.err"
kill -TERM "$RUN"
wait_alive "$RUN" 10 grep -q "draining in-flight" "$WORK/cancel.err" ||
	fail "cancel: SIGTERM did not start the drain" "$WORK/cancel.err"
kill -TERM "$RUN"
wait_exit "$RUN" 30 || fail "cancel: acrt still runs after two SIGTERMs" "$WORK/cancel.err"
expect_rc 1 "cancel while blocked" "$WORK/cancel.err"
k=$(py "$CHECK_PREFIX" "$d/disk/out.jsonl") || fail "cancel: the file is torn" "$WORK/cancel.err"
summary_adds_up "$WORK/cancel.err" "$k" || fail "cancel: the summary does not account for every event" "$WORK/cancel.err"
ok "cancel: exit 1, $k whole lines, the rest counted"

# ---- 4. stdout closed ---------------------------------------------------------
d="$WORK/pipe"
system "$d" 100000 "{sink: stdout}"
say "the stdout Sink into '| head -c 1000'"
timeout -k 2 60 "$ACRT" run "$d" 2>"$WORK/pipe.err" | head -c 1000 >/dev/null
RC=${PIPESTATUS[0]}
expect_rc 1 "stdout closed under the sink" "$WORK/pipe.err"
grep -q "cannot write 'stdout': Broken pipe" "$WORK/pipe.err" || fail "pipe: the reason is not logged" "$WORK/pipe.err"
ok "pipe: a closed stdout stops the run with exit 1 and the reason"

# ---- 5. a Store's database on a disk full for a while -------------------------
d="$WORK/store"
mount_tmpfs "$d/disk" 4m
N=6000 # ~1.4 MB of rows (and the WAL): more than is free with the filler
system "$d" "$N" "{sink: \"null\"}"
sed -i -e 's/- {name: out, type: Sink, config: {sink: "null"}}/- {name: out, type: Store, config: {key: seq, path: disk\/store.db}}/' "$d/architecture.yaml"
grep -q "type: Store" "$d/architecture.yaml" || fail "store: the blueprint edit did not apply" "$d/architecture.yaml"
head -c 3500000 /dev/zero >"$d/disk/filler"
say "$N rows into a SQLite Store on a 4 MiB tmpfs holding a 3.5 MB filler"
start_acrt store run "$d"
RUN=$PID
wait_alive "$RUN" 30 grep -q "cannot write '.*store.db': database or disk is full; retrying" "$WORK/store.err" ||
	fail "store: the Store never reported the full disk" "$WORK/store.err"
ok "store: the Store is blocked (SQLITE_FULL, retrying its transaction)"
rm -f "$d/disk/filler"
wait_exit "$RUN" 60 || fail "store: acrt did not finish after space came back" "$WORK/store.err"
expect_rc 0 "store: every row written once space came back" "$WORK/store.err"
py 'import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
keys = sorted(int(k) for (k,) in db.execute("SELECT key FROM store"))
if keys != list(range(1, int(sys.argv[2]) + 1)):
    sys.exit("%d rows, expected keys 1..%s" % (len(keys), sys.argv[2]))' "$d/disk/store.db" "$N" ||
	fail "store: rows missing after the retry" "$WORK/store.err"
ok "store: all $N rows in the database"

# ---- 6. the checkpoint store on a full disk -----------------------------------
d="$WORK/ckpt"
mount_tmpfs "$d/disk" 256k
system "$d" 4000 "{sink: \"null\"}"
sed -i -e 's/- {name: out, type: Sink, config: {sink: "null"}}/- {name: out, type: Store, config: {key: seq}}/' \
	-e 's/count: 4000/count: 4000\n        rate_per_s: 1600/' "$d/architecture.yaml"
printf 'schema_version: "1.0.0"\nruntime:\n  api: {listen: "127.0.0.1:%s"}\n  state: {adapter: sqlite_snapshot, path: disk/state.db, checkpoint_interval_s: 1}\n' \
	"$(free_port)" >"$d/deployment.yaml"
say "4000 keys of managed state (~900 KB a checkpoint) in 2.5 s into a checkpoint store on a 256 KiB tmpfs"
run_acrt ckpt 60 run "$d"
expect_rc 1 "checkpoint store full: the final checkpoint is not stored" "$WORK/ckpt.err"
grep -q "the final checkpoint could not be stored" "$WORK/ckpt.err" ||
	fail "ckpt: the lost final checkpoint is not logged" "$WORK/ckpt.err"
grep -q "checkpoint [0-9]* could not be stored (sqlite_snapshot): .*database or disk is full" "$WORK/ckpt.err" ||
	fail "ckpt: the failed checkpoint does not say why" "$WORK/ckpt.err"
grep -q "alert 'checkpoint_store_failing' firing" "$WORK/ckpt.err" ||
	fail "ckpt: no checkpoint_store_failing alert" "$WORK/ckpt.err"
ok "ckpt: the checkpoint store's full disk is loud: alert, error, exit 1"
pass
