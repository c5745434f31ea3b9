#!/usr/bin/env bash
# Exactly-once across nodes (docs/MULTINODE.md, "Exactly-once across nodes"),
# on each transport (a nats-server -js and a redis-server with AOF, fsync
# always, of the test's own): three acrt processes from one directory with
# runtime.state, node a a paced sequence Source, node b a stateful middle (an
# Accumulator: a running count in managed state), node c a file Sink and an
# Aggregator (count and sum, written at the end).
#   1. node b killed with SIGKILL mid-run and resumed (--resume) while a and
#      c keep running: the sink holds 1..N exactly once, in order, each with
#      its running count equal to its sequence number (the middle's state
#      neither lost nor counted twice), and the aggregate is exact;
#   2. the same killing node c, the sink's node (its file is truncated back
#      to its checkpoint and its position on the hop restored);
#   3. the broker itself killed with SIGKILL mid-run and restarted on its
#      port and store: no node restarts, checkpoints go on after it, and the
#      outputs are exact;
#   4. a stale process is fenced: node b stopped (SIGSTOP), a replacement
#      resumed from its checkpoints in another directory (another machine),
#      then the stale one continued (SIGCONT): it finds its claims taken,
#      writes nothing more and ends (exit 1, "fenced"), while the
#      replacement completes the run exactly once;
#   5. a producer with two replicas on a node is refused at start (exit 2);
#   6. a producer whose clock stepped back (faketime, one day) after a run:
#      its epoch is still above the last run's (the claim in the broker
#      raises it), so the resumed consumer takes its events instead of
#      dropping them as older than what it had.
. "$(dirname "$0")/lib.sh" "$@"

command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
command -v faketime >/dev/null || fail "faketime is not installed (scripts/install-deps.sh)"

N=30000
RATE=15000
[ -n "${ACRT_SANITIZE:-}" ] && N=12000 && RATE=6000

start_broker_nats() { # lib.sh's, on the same port and store at every call
	start_nats
	BPID_nats=$NPID
}
RPORT=$(free_port)
r_up() { [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = "PONG" ]; }
start_broker_redis() {
	redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly yes \
		--appendfsync always --dir "$WORK" >>"$WORK/redis.log" 2>&1 &
	BPID_redis=$!
	_BG_PIDS="$_BG_PIDS $BPID_redis"
	wait_for 10 r_up || fail "redis-server did not start on port $RPORT" "$WORK/redis.log"
}
start_broker_nats
start_broker_redis

# mk DIR SYSTEM TRANSPORT-MAPPING [REPLICAS]
mk() {
	local d=$1 name=$2 tr=$3 reps=${4:-1}
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: $name
  components:
    - {name: gen, type: Source, replicas: $reps,
       config: {generator: sequence, count: $N, rate_per_s: $RATE, payload: {value: 1}}}
    - {name: mid, type: Accumulator, config: {value: value}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: agg, type: Aggregator, config: {key: key, ops: {input_value: [count, sum]}}}
    - {name: total, type: Sink, config: {sink: file, path: total.jsonl}}
  bindings:
    - {from: gen.output, to: mid.input, buffer_size: 2048}
    - {from: mid.aggregate, to: [out.input, agg.input], buffer_size: 2048}
    - {from: agg.output, to: total.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
nodes:
  a: {components: [gen]}
  b: {components: [mid]}
  c: {components: [out, agg, total]}
runtime:
  transport: $tr
  state: {adapter: sqlite_snapshot, checkpoint_interval_s: 0.2}
  timeouts: {shutdown_timeout_ms: 5000}
YAML
}

# check DIR: out.jsonl holds 1..N once each in order, each with new_total ==
# its sequence; total.jsonl counts N and sums N.
check() {
	py "$PY_PRELUDE"'
d, n = sys.argv[1], int(sys.argv[2])
rows = load(d + "/out.jsonl")
seqs = [r["original_data"]["seq"] for r in rows]
if seqs != list(range(1, n + 1)):
    dup = len(seqs) - len(set(seqs))
    miss = len(set(range(1, n + 1)) - set(seqs))
    die("the sink holds %d events (%d duplicates, %d missing), not 1..%d once in order"
        % (len(seqs), dup, miss, n))
bad = [r for r in rows if r["new_total"] != r["original_data"]["seq"]]
if bad:
    die("%d running counts differ from their sequence, e.g. %r" % (len(bad), bad[0]))
tot = load(d + "/total.jsonl")
if len(tot) != 1 or tot[0].get("input_value_count") != n or tot[0].get("input_value_sum") != n:
    die("the aggregate is not exact: %r" % tot)
' "$1" "$N"
}

# one TRANSPORT KILLED: a three-node run, node KILLED killed mid-run and
# resumed; every node must end with exit 0 and the outputs be exact.
one() {
	local tr=$1 victim=$2 d="$WORK/$1-$2" mapping
	if [ "$tr" = nats ]; then
		mapping="{kind: nats, url: \"nats://127.0.0.1:$NPORT\"}"
	else
		mapping="{kind: redis, url: \"redis://127.0.0.1:$RPORT\"}"
	fi
	mk "$d" "eo$tr$victim" "$mapping"
	if [ "$victim" = broker ]; then
		say "$tr: the broker killed with SIGKILL mid-run and restarted"
	else
		say "$tr: node $victim killed with SIGKILL mid-run and resumed"
	fi
	local n pa pb pc
	for n in c b a; do
		start_acrt "$tr$victim-$n" run "$d" --node "$n" -q
		eval "p$n=\$PID"
	done
	mid_run() { has_lines "$d/out.jsonl" $((N / 3)); }
	wait_alive "$pc" 40 mid_run || fail "node c wrote too little" "$WORK/$tr$victim-c.err"
	local pv
	if [ "$victim" = broker ]; then
		eval "pv=\$BPID_$tr"
		kill -KILL "$pv"
		wait_for 10 dead "$pv" || fail "the broker survived SIGKILL"
		local at
		at=$(lines "$d/out.jsonl")
		stalled() { grep -q "transport fails" "$WORK/$tr$victim-c.err"; }
		wait_alive "$pc" 20 stalled || fail "node c did not see the broker go" "$WORK/$tr$victim-c.err"
		"start_broker_$tr"
		ok "the $tr broker killed after $at lines and restarted"
	else
		eval "pv=\$p$victim"
		kill -KILL "$pv"
		wait_exit "$pv" 10 || fail "node $victim survived SIGKILL"
		ok "node $victim killed after $(lines "$d/out.jsonl") lines"
		start_acrt "$tr$victim-${victim}2" run "$d" --node "$victim" -q --resume
		eval "p$victim=\$PID"
	fi
	for n in a b c; do
		eval "pv=\$p$n"
		local log="$WORK/$tr$victim-$n.err"
		[ "$n" = "$victim" ] && log="$WORK/$tr$victim-${victim}2.err"
		wait_exit "$pv" 60 || fail "node $n did not end" "$log"
		expect_rc 0 "node $n" "$log"
	done
	if [ "$victim" = broker ]; then
		local after
		after=$(grep -c 'checkpoint [0-9]* stored' "$WORK/$tr$victim-b.err")
		grep -q "transport fails" "$WORK/$tr$victim-b.err" || fail "node b never saw the broker go"
		ok "node b stored $after checkpoints in all, across the outage"
	fi
	check "$d" || fail "$tr, node $victim killed: not exactly once" \
		"$WORK/$tr$victim-${victim}2.err"
	local dups
	dups=$(cat "$WORK/$tr$victim"-*.err | grep -o '[0-9]* duplicate events dropped' |
		awk '{s += $1} END {print s + 0}')
	ok "$tr, $victim killed: 1..$N exactly once, running counts and aggregate exact ($dups duplicates dropped on the way)"
}


# fence TRANSPORT: case 4.
fence() {
	local tr=$1 d="$WORK/$1-fence" d2="$WORK/$1-fence2" mapping
	if [ "$tr" = nats ]; then
		mapping="{kind: nats, url: \"nats://127.0.0.1:$NPORT\"}"
	else
		mapping="{kind: redis, url: \"redis://127.0.0.1:$RPORT\"}"
	fi
	mk "$d" "eo${tr}fence" "$mapping"
	say "$tr: a stale node b is fenced once its replacement has started"
	local n pa pb pc
	for n in c b a; do
		start_acrt "${tr}f-$n" run "$d" --node "$n" -q
		eval "p$n=\$PID"
	done
	mid_run() { has_lines "$d/out.jsonl" $((N / 3)); }
	wait_alive "$pc" 40 mid_run || fail "node c wrote too little" "$WORK/${tr}f-c.err"
	kill -STOP "$pb"
	# The replacement, as on another machine: the blueprint and node b's
	# checkpoint store (a stopped process's files are crash-consistent).
	mkdir -p "$d2/state"
	cp "$d/architecture.yaml" "$d/deployment.yaml" "$d2/"
	cp "$d/state/eo${tr}fence.b.db"* "$d2/state/"
	rm -f "$d2/state/"*.lock
	start_acrt "${tr}f-b2" run "$d2" --node b -q --resume
	local pb2=$PID
	resumed() { grep -q "resuming from checkpoint" "$WORK/${tr}f-b2.err"; }
	wait_alive "$pb2" 20 resumed || fail "the replacement did not resume" "$WORK/${tr}f-b2.err"
	local at
	at=$(lines "$d/out.jsonl")
	moved() { has_lines "$d/out.jsonl" $((at + 500)); }
	wait_alive "$pb2" 20 moved || fail "the replacement does not carry the run" "$WORK/${tr}f-b2.err"
	kill -CONT "$pb"
	wait_exit "$pb" 20 || fail "the stale node b did not end" "$WORK/${tr}f-b.err"
	expect_rc 1 "the stale node b" "$WORK/${tr}f-b.err"
	grep -q "fenced: another process has claimed" "$WORK/${tr}f-b.err" ||
		fail "the stale node does not say it is fenced" "$WORK/${tr}f-b.err"
	for n in a b2 c; do
		eval "pv=\$p$n"
		[ "$n" = b2 ] && pv=$pb2
		wait_exit "$pv" 60 || fail "node $n did not end" "$WORK/${tr}f-$n.err"
		expect_rc 0 "node $n" "$WORK/${tr}f-$n.err"
	done
	check "$d" || fail "$tr, fenced: not exactly once" "$WORK/${tr}f-b2.err"
	ok "$tr: the stale node ended fenced; 1..$N exactly once, running counts and aggregate exact"
}

# clockback TRANSPORT: case 6. Two nodes, a: gen, b: out (state on b).
clockback() {
	local tr=$1 d="$WORK/$1-clock" mapping
	if [ "$tr" = nats ]; then
		mapping="{kind: nats, url: \"nats://127.0.0.1:$NPORT\"}"
	else
		mapping="{kind: redis, url: \"redis://127.0.0.1:$RPORT\"}"
	fi
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: eo${tr}clock
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 500}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: out.input, buffer_size: 1024}
YAML
	cat >"$d/deployment.yaml" <<YAML
nodes:
  a: {components: [gen]}
  b: {components: [out]}
runtime:
  transport: $mapping
  state: {adapter: sqlite_snapshot, checkpoint_interval_s: 0.2}
YAML
	say "$tr: a producer whose clock stepped back a day is not taken for an older one"
	start_acrt "${tr}c-b1" run "$d" --node b -q
	local pb=$PID
	run_acrt "${tr}c-a1" 30 run "$d" --node a -q
	expect_rc 0 "node a, first run" "$WORK/${tr}c-a1.err" "$WORK/${tr}c-b1.err"
	wait_exit "$pb" 30 || fail "node b did not end" "$WORK/${tr}c-b1.err"
	expect_rc 0 "node b, first run" "$WORK/${tr}c-b1.err"
	start_acrt "${tr}c-b2" run "$d" --node b -q --resume
	pb=$PID
	FAKETIME_DONT_FAKE_MONOTONIC=1 run_faked "${tr}c-a2" run "$d" --node a -q
	expect_rc 0 "node a, second run, its clock a day back" "$WORK/${tr}c-a2.err" "$WORK/${tr}c-b2.err"
	wait_exit "$pb" 30 || fail "node b did not end" "$WORK/${tr}c-b2.err"
	expect_rc 0 "node b, resumed" "$WORK/${tr}c-b2.err"
	py "$PY_PRELUDE"'
seqs = [r["seq"] for r in load(sys.argv[1])]
if seqs != list(range(1, 501)) * 2:
    die("expected 1..500 twice, got %d events" % len(seqs))
' "$d/out.jsonl" || fail "$tr: the second run's events were not all taken" "$WORK/${tr}c-b2.err"
	ok "$tr: both runs' events taken, once each"
}
# run_faked NAME ARGS...: acrt with its wall clock a day back (faketime).
run_faked() {
	local name=$1
	shift
	timeout -k 2 30 faketime -f '-1d' "$ACRT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
}

# EO_ONLY="fence redis" (for instance) runs one case while debugging.
if [ -n "${EO_ONLY:-}" ]; then
	$EO_ONLY
	pass
fi

one nats b
one nats c
one nats broker
one redis b
one redis c
one redis broker
fence nats
fence redis
# faketime preloads a library, which a sanitizer's runtime must precede: the
# normal run covers case 6 (its code paths run in every case above).
if [ -z "${ACRT_SANITIZE:-}" ]; then
	clockback nats
	clockback redis
else
	say "6. skipped under $ACRT_SANITIZE (faketime's LD_PRELOAD)"
fi

say "5. a producer with two replicas on its node is refused with runtime.state"
R="$WORK/replicas"
mk "$R" eoreps "{kind: redis, url: \"redis://127.0.0.1:$RPORT\"}" 2
run_acrt reps 20 run "$R" --node a -q
expect_rc 2 "two replicas sending to another node" "$WORK/reps.err"
grep -q "runs one replica" "$WORK/reps.err" || fail "the refusal does not say why" "$WORK/reps.err"
ok "refused with the reason"

pass
