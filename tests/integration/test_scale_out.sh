#!/usr/bin/env bash
# Scale-out (docs/MULTINODE.md, "Scale-out"): a component on several nodes
# shares its input. On each transport (a nats-server -js and a redis-server
# of the test's own), four acrt processes from one directory: node a a
# sequence Source, nodes w1 and w2 the same Transformer `shape` (which stamps
# each event with its node's name, from ${NODE}), node s a file Sink and an
# Aggregator.
#   1. the run ends on every node (exit 0): the sink holds 1..N exactly once,
#      the aggregate is exact, and both w1 and w2 carried a share (gen deals
#      its events out to them in turns of 64);
#   2. w1 killed with SIGKILL mid-run and restarted: nothing is lost (the
#      sink holds every sequence; a duplicate is allowed, at-least-once), and
#      every node ends with exit 0;
#   3. with runtime.state (exactly-once across nodes), w1 killed with SIGKILL
#      mid-run and resumed (--resume), then the same with node a, the dealing
#      producer (its replay must go to the same lanes), then node s: every
#      time the sink holds 1..N exactly once and the aggregate is exact.
# How much two nodes carry against one is measured by `make bench`
# (bench/scale_out.py), not here: a test does not time.
. "$(dirname "$0")/lib.sh" "$@"

N=20000
[ -n "${ACRT_SANITIZE:-}" ] && N=8000

start_nats
start_redis

# mk DIR SYSTEM TRANSPORT COUNT RATE_PER_S NODES-OF-SHAPE [STATE]
mk() {
	local d=$1 name=$2 tr=$3 n=$4 rate=$5 wnodes=$6 state=${7:-} mapping pace=""
	[ "$rate" -gt 0 ] && pace=", rate_per_s: $rate"
	if [ "$tr" = nats ]; then
		mapping="{kind: nats, url: \"nats://127.0.0.1:$NPORT\"}"
	else
		mapping="{kind: redis, url: \"redis://127.0.0.1:$REDIS_PORT\"}"
	fi
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: $name
  components:
    - {name: gen, type: Source,
       config: {generator: sequence, count: $n$pace, payload: {value: 1}}}
    - {name: shape, type: Transformer, config: {set: {via: "\${NODE}"}}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: agg, type: Aggregator, config: {key: key, ops: {value: [count, sum]}}}
    - {name: total, type: Sink, config: {sink: file, path: total.jsonl}}
  bindings:
    - {from: gen.output, to: shape.input, buffer_size: 2048}
    - {from: shape.output, to: [out.input, agg.input], buffer_size: 2048}
    - {from: agg.output, to: total.input}
YAML
	{
		echo "nodes:"
		echo "  a: {components: [gen]}"
		for w in $wnodes; do echo "  $w: {components: [shape]}"; done
		echo "  s: {components: [out, agg, total]}"
		echo "runtime:"
		echo "  transport: $mapping"
		echo "  timeouts: {shutdown_timeout_ms: 5000}"
		[ -n "$state" ] && echo "  state: {adapter: sqlite_snapshot, checkpoint_interval_s: 0.2}"
	} >"$d/deployment.yaml"
}

# start_nodes TAG DIR NODES...: starts each node (NODE set to its name); sets
# P_<node>.
start_nodes() {
	local tag=$1 d=$2 n
	shift 2
	for n in "$@"; do
		export NODE=$n
		start_acrt "$tag-$n" run "$d" --node "$n" -q
		eval "P_$n=\$PID"
	done
	unset NODE
}

# end_nodes TAG NODES...: each node ends with exit 0.
end_nodes() {
	local tag=$1 n pid
	shift
	for n in "$@"; do
		eval "pid=\$P_$n"
		wait_exit "$pid" 60 || fail "node $n did not end" "$WORK/$tag-$n.err"
		expect_rc 0 "$tag: node $n" "$WORK/$tag-$n.err"
	done
}

# check DIR N EXACT: every sequence 1..N in the sink (once each when EXACT is
# 1), the aggregate counts N (at least, when not EXACT: a duplicate reaches
# one of the two fan-out targets or both), and w1 and w2 each carried
# at least a quarter; prints the shares.
check() {
	py "$PY_PRELUDE"'
import collections
d, n, exact = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
rows = load(d + "/out.jsonl")
seqs = collections.Counter(r["seq"] for r in rows)
missing = set(range(1, n + 1)) - set(seqs)
if missing:
    die("%d sequences missing from the sink, e.g. %d" % (len(missing), min(missing)))
dups = sum(c - 1 for c in seqs.values())
if exact and (dups or len(seqs) != n):
    die("the sink holds %d events (%d duplicates), not 1..%d once" % (len(rows), dups, n))
tot = load(d + "/total.jsonl")
count = tot[0].get("value_count") if len(tot) == 1 else None
if count is None or count < n or (exact and count != n) or tot[0].get("value_sum") != count:
    die("the aggregate does not count the %d events: %r" % (n, tot))
via = collections.Counter(r["via"] for r in rows)
for w in ("w1", "w2"):
    if via[w] < n // 4:
        die("node %s carried %d of %d events: %r" % (w, via[w], n, dict(via)))
print("w1 %d, w2 %d, duplicates %d" % (via["w1"], via["w2"], dups))
' "$@"
}

# shared TRANSPORT: case 1.
shared() {
	local tr=$1 d="$WORK/$1-shared" shares
	say "$tr: shape on w1 and w2 shares gen's events"
	mk "$d" "so${tr}" "$tr" "$N" 0 "w1 w2"
	start_nodes "$tr" "$d" s w1 w2 a
	end_nodes "$tr" s w1 w2 a
	shares=$(check "$d" "$N" 1) || fail "$tr: not 1..$N exactly once" "$WORK/$tr-s.err"
	ok "$tr: 1..$N exactly once, aggregate exact ($shares)"
}

# killed TRANSPORT: case 2.
killed() {
	local tr=$1 d="$WORK/$1-kill" shares
	say "$tr: w1 killed with SIGKILL mid-run and restarted"
	mk "$d" "sokill${tr}" "$tr" "$N" $((N / 3)) "w1 w2"
	start_nodes "$tr-k" "$d" s w1 w2 a
	mid_run() { has_lines "$d/out.jsonl" $((N / 3)); }
	wait_alive "$P_s" 40 mid_run || fail "node s wrote too little" "$WORK/$tr-k-s.err"
	kill -KILL "$P_w1"
	wait_exit "$P_w1" 10 || fail "w1 survived SIGKILL"
	ok "$tr: w1 killed after $(lines "$d/out.jsonl") lines"
	start_nodes "$tr-k2" "$d" w1
	end_nodes "$tr-k2" w1
	end_nodes "$tr-k" s w2 a
	shares=$(check "$d" "$N" 0) || fail "$tr: events lost with w1 killed" "$WORK/$tr-k2-w1.err"
	ok "$tr: every one of 1..$N reached the sink ($shares)"
}

# eo TRANSPORT VICTIM: case 3.
eo() {
	local tr=$1 v=$2 d="$WORK/$1-eo-$2" shares
	say "$tr, runtime.state: node $v killed with SIGKILL mid-run and resumed"
	mk "$d" "soeo${tr}$v" "$tr" "$N" $((N / 3)) "w1 w2" state
	start_nodes "$tr-eo$v" "$d" s w1 w2 a
	mid_run() { has_lines "$d/out.jsonl" $((N / 3)); }
	wait_alive "$P_s" 40 mid_run || fail "node s wrote too little" "$WORK/$tr-eo$v-s.err"
	local pv
	eval "pv=\$P_$v"
	kill -KILL "$pv"
	wait_exit "$pv" 10 || fail "$v survived SIGKILL"
	ok "$tr: $v killed after $(lines "$d/out.jsonl") lines"
	export NODE=$v
	start_acrt "$tr-eo$v-${v}2" run "$d" --node "$v" -q --resume
	unset NODE
	eval "P_$v=\$PID"
	end_nodes "$tr-eo$v" s w1 w2 a
	shares=$(check "$d" "$N" 1) || fail "$tr, $v killed: not exactly once" "$WORK/$tr-eo$v-${v}2.err"
	ok "$tr, $v killed and resumed: 1..$N exactly once, aggregate exact ($shares)"
}

for tr in ${SO_ONLY:-redis nats}; do
	shared "$tr"
	killed "$tr"
	for v in w1 a s; do
		eo "$tr" "$v"
	done
done
pass
