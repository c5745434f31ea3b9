#!/usr/bin/env bash
# The PostgreSQL sink and Store backend (issue 18 part 3, docs/COMPONENTS.md
# "Sink: postgres") against a server of the test's own (pg_lib.sh):
#   1. insert-only (`sink: postgres` without key) and upsert (`key: k`, a
#      Store with `backend: postgres`) fed by the same Source: the insert
#      table holds every event once, in order, equal as JSON to the Source's;
#      the upserted tables hold one row per key with the key's last event;
#   2. SIGKILL after a checkpoint, then --resume: the insert table holds every
#      seq exactly once (no duplicates), the upsert table the same rows as
#      an uninterrupted run;
#   3. the server stopped mid-run, then started again: the sink retries
#      (logged, write errors counted), the Source is held back, and once the
#      server is back every seq is in the table exactly once (exit 0);
#   4. an event holding \u0000 (jsonb refuses it) fails alone: the others are
#      written, the run's summary counts it failed (exit 3);
#   5. tables that declare typed columns (created beforehand) get them filled
#      from the event's fields, insert and upsert;
#   6. a wrong password, a malformed dsn and a dsn_file open to others are
#      clear errors at setup (exit 1) that never show the password.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/pg_lib.sh"

start_pg

# system DIR SOURCE_CONFIG [RUNTIME] [BUFFER]
system() {
	local d=$1 src=$2 rt=${3:-} buf=${4:-}
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: pgsink
  components:
    - {name: gen, type: Source, config: $src}
    - {name: tx, type: Transformer, config: {jq: '.k = (.seq % 7) | .txt = "a\\\\b\\tc\\n\\"d\\u00e9"'}}
    - {name: ins, type: Sink, config: {sink: postgres, dsn: "\${PG_DSN}", table: ev_$(basename "$d"), max_items: 100}}
    - {name: ups, type: Sink, config: {sink: postgres, dsn: "\${PG_DSN}", table: up_$(basename "$d"), key: k}}
    - {name: db, type: Store, config: {backend: postgres, dsn: "\${PG_DSN}", table: st_$(basename "$d"), key: k}}
    - {name: seen, type: Sink, config: {sink: file, path: seen.jsonl}}
  bindings:
    - {from: gen.output, to: tx.input}
    - {from: tx.output, to: ins.input$buf}
    - {from: tx.output, to: ups.input}
    - {from: tx.output, to: db.input}
    - {from: gen.output, to: seen.input}
YAML
	printf 'schema_version: "1.0.0"\nruntime:\n  api: {listen: "127.0.0.1:%s"}\n%s\n' \
		"$(free_port)" "$rt" >"$d/deployment.yaml"
}

# check_tables NAME N: ev_NAME holds seq 1..N once each, in id order, each
# event equal to the Transformer's; up_NAME and st_NAME hold the 7 keys with
# their last event.
check_tables() {
	local name=$1 n=$2
	psql_q "SELECT event::text FROM ev_$name ORDER BY id" >"$WORK/$name.ev" ||
		fail "$name: cannot read ev_$name"
	psql_q "SELECT key || ' ' || event::text FROM up_$name ORDER BY key" >"$WORK/$name.up" ||
		fail "$name: cannot read up_$name"
	psql_q "SELECT key || ' ' || event::text FROM st_$name ORDER BY key" >"$WORK/$name.st" ||
		fail "$name: cannot read st_$name"
	py '
import json, sys
name, n = sys.argv[1], int(sys.argv[2])
def want(s):
    return {"seq": s, "k": s % 7, "txt": "a\\b\tc\n\"d\u00e9"}
rows = [json.loads(l) for l in open(sys.argv[3] + ".ev")]
seqs = [r.get("seq") for r in rows]
if sorted(seqs) != list(range(1, n + 1)):
    sys.exit("%s: insert table: %d rows, %d distinct seqs, want 1..%d once (%d duplicates)" % (
        name, len(rows), len(set(seqs)), n, len(seqs) - len(set(seqs))))
if seqs != sorted(seqs):
    sys.exit("%s: insert table: rows out of input order" % name)
bad = [r for r in rows if r != want(r["seq"])]
if bad:
    sys.exit("%s: insert table: event differs: %r" % (name, bad[0]))
last = {}
for s in range(1, n + 1):
    last[str(s % 7)] = want(s)
for t in ("up", "st"):
    got = {}
    for l in open(sys.argv[3] + "." + t):
        k, ev = l.rstrip("\n").split(" ", 1)
        got[k] = json.loads(ev)
    if got != last:
        sys.exit("%s: %s table: %r, want %r" % (name, t, sorted(got.items())[:2], sorted(last.items())[:2]))
' "$name" "$n" "$WORK/$name"
}

# ---- 1. insert and upsert --------------------------------------------------------
D="$WORK/s1"
system "$D" "{generator: sequence, count: 3000}"
run_acrt s1 30 run "$D"
expect_rc 0 "insert and upsert" "$WORK/s1.err"
check_tables s1 3000 || fail "insert and upsert: the tables" "$WORK/s1.err"
ok "insert: every event once, in order, equal as JSON; upsert (Sink and Store): each key's last event"
grep -qF "$PG_PW" "$WORK/s1.err" "$WORK/s1.out" && fail "the password was logged" "$WORK/s1.err"
ok "the password never logged"

# ---- 2. SIGKILL and --resume -----------------------------------------------------
D="$WORK/s2"
N=6000
system "$D" "{generator: sequence, count: $N, rate_per_s: 2000}" \
	"  state: {adapter: sqlite_snapshot, path: state/ck.db, checkpoint_interval_s: 1}"
stored() { grep -c '"msg":"checkpoint [0-9]* stored' "$1" 2>/dev/null || true; }
has_stored() { [ "$(stored "$1")" -ge "$2" ]; }
start_acrt s2a run "$D"
wait_alive "$PID" 20 has_stored "$WORK/s2a.err" 1 || fail "no checkpoint stored" "$WORK/s2a.err"
# Rows committed after the checkpoint (max_items, idle) come again in the replay.
rows_past() { [ "$(psql_q "SELECT count(*) FROM ev_s2")" -gt "$1" ]; }
at=$(psql_q "SELECT count(*) FROM ev_s2")
wait_alive "$PID" 10 rows_past "$((at + 150))" || fail "no rows after the checkpoint" "$WORK/s2a.err"
kill -KILL "$PID"
wait_exit "$PID" 10 || fail "still running after SIGKILL"
before=$(psql_q "SELECT count(*) FROM ev_s2")
[ "$before" -lt "$N" ] || fail "the first run wrote everything before the kill"
run_acrt s2b 30 run "$D" --resume
expect_rc 0 "resumed after SIGKILL" "$WORK/s2b.err"
grep -q '"msg":"resuming from checkpoint' "$WORK/s2b.err" || fail "did not resume" "$WORK/s2b.err"
check_tables s2 "$N" || fail "SIGKILL + --resume: the tables" "$WORK/s2b.err"
grep -q 'past the checkpoint: their replay is skipped' "$WORK/s2b.err" ||
	fail "the replay skipped nothing: the test did not test it" "$WORK/s2b.err"
ok "SIGKILL after $before rows, --resume: every seq once (replayed rows skipped), upserts as an uninterrupted run"

# ---- 3. the server stopped mid-run -------------------------------------------------
D="$WORK/s3"
N=3000
system "$D" "{generator: sequence, count: $N, rate_per_s: 1500}" "" ", buffer_size: 16"
API=$(sed -n 's/.*listen: "\(.*\)".*/\1/p' "$D/deployment.yaml")
start_acrt s3 run "$D"
some_rows() { [ "$(psql_q "SELECT count(*) FROM ev_s3" 2>/dev/null || echo 0)" -gt 100 ]; }
wait_alive "$PID" 10 some_rows || fail "down: no rows before the stop" "$WORK/s3.err"
pg_down
retrying() { grep -q "\"msg\":\"cannot write 'postgres table ev_s3': .*retrying in" "$WORK/s3.err"; }
wait_alive "$PID" 10 retrying || fail "down: no retry logged" "$WORK/s3.err"
werr() {
	curl -sf -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" "http://$API/metrics" |
		grep -q '^acrt_component_write_errors_total{component="ins"} [1-9]'
}
wait_alive "$PID" 10 werr || fail "down: no write errors in /metrics" "$WORK/s3.err"
held=$(lines "$D/seen.jsonl")
[ "$held" -lt "$N" ] || fail "down: the source was not held back" "$WORK/s3.err"
alive "$PID" || fail "down: the run ended" "$WORK/s3.err"
ok "server down: retried and logged, write errors in /metrics, the source held back ($held of $N)"
pg_up
wait_exit "$PID" 30 || fail "down: did not end once the server came back" "$WORK/s3.err"
expect_rc 0 "the server back" "$WORK/s3.err"
check_tables s3 "$N" || fail "down, then up: the tables" "$WORK/s3.err"
grep -q "\"msg\":\"writes to 'postgres table ev_s3' go through again" "$WORK/s3.err" ||
	fail "down: no recovery logged" "$WORK/s3.err"
ok "server back: every seq once, the recovery logged"

# ---- 4. \u0000 -------------------------------------------------------------------
D="$WORK/s4"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: pgnul
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 5}}
    - {name: tx, type: Transformer, config: {jq: 'if .seq == 3 then .x = "a\u0000b" else . end'}}
    - {name: out, type: Sink, config: {sink: postgres, dsn: "${PG_DSN}", table: nul}}
  bindings:
    - {from: gen.output, to: tx.input}
    - {from: tx.output, to: out.input}
YAML
run_acrt s4 30 run "$D"
expect_lost 1 "an event with \\u0000" "$WORK/s4.err" failed
[ "$(psql_q "SELECT string_agg(event->>'seq', ',' ORDER BY id) FROM nul")" = "1,2,4,5" ] ||
	fail "\\u0000: the other events" "$WORK/s4.err"
ok "an event with \\u0000 failed alone, the others written"

# ---- 5. typed columns --------------------------------------------------------------
psql_q "CREATE TABLE typed_ins (id bigserial PRIMARY KEY, event jsonb NOT NULL, seq int, k int);
	CREATE TABLE typed_up (key text PRIMARY KEY, event jsonb NOT NULL, seq bigint, txt text)" ||
	fail "cannot create the typed tables"
D="$WORK/s5"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: pgtyped
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 50}}
    - {name: tx, type: Transformer, config: {jq: '.k = (.seq % 7) | .txt = "t\(.seq)"'}}
    - {name: ins, type: Sink, config: {sink: postgres, dsn: "${PG_DSN}", table: typed_ins, max_items: 8}}
    - {name: ups, type: Sink, config: {sink: postgres, dsn: "${PG_DSN}", table: typed_up, key: k}}
  bindings:
    - {from: gen.output, to: tx.input}
    - {from: tx.output, to: ins.input}
    - {from: tx.output, to: ups.input}
YAML
run_acrt s5 30 run "$D"
expect_rc 0 "typed columns" "$WORK/s5.err"
got=$(psql_q "SELECT count(*), sum(seq), sum(k), bool_and(seq = (event->>'seq')::int) FROM typed_ins")
[ "$got" = "50|1275|148|t" ] || fail "typed columns, insert: $got" "$WORK/s5.err"
got=$(psql_q "SELECT string_agg(key || ':' || seq || ':' || txt, ',' ORDER BY key) FROM typed_up")
[ "$got" = "0:49:t49,1:50:t50,2:44:t44,3:45:t45,4:46:t46,5:47:t47,6:48:t48" ] ||
	fail "typed columns, upsert: $got" "$WORK/s5.err"
ok "typed columns filled from the events' fields (insert and upsert)"

# ---- 6. bad dsns ------------------------------------------------------------------
bad_dsn() { # NAME DSN_CONFIG WANT
	local d="$WORK/$1"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: pgbad
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 10}}
    - {name: out, type: Sink, config: {sink: postgres, $2, table: bad}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
	run_acrt "$1" 30 run "$d"
	expect_rc 1 "$1" "$WORK/$1.err"
	grep -q "$3" "$WORK/$1.err" || fail "$1: no clear reason" "$WORK/$1.err"
	grep -qF "$PG_PW" "$WORK/$1.err" "$WORK/$1.out" && fail "$1: the password was shown" "$WORK/$1.err"
	grep -qF "wrongpw123" "$WORK/$1.err" "$WORK/$1.out" && fail "$1: the password was shown" "$WORK/$1.err"
	ok "$1: a clear error, the password not shown"
}
BAD_DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=acrt password=wrongpw123" \
	bad_dsn wrongpw 'dsn: "${BAD_DSN}"' 'postgres table bad: cannot connect: .*password authentication failed'
BAD_DSN="host=127.0.0.1 port=$PG_PORT password wrongpw123" \
	bad_dsn malformed 'dsn: "${BAD_DSN}"' 'the dsn is not a libpq connection string'
printf '%s\n' "$PG_DSN" >"$WORK/dsn"
chmod 644 "$WORK/dsn"
bad_dsn dsnfile "dsn_file: $WORK/dsn" 'is open to its group or others (mode 644)'
pass
