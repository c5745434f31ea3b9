#!/usr/bin/env bash
# The built-in Aggregator, end to end, checked against aggregates computed
# independently in Python:
#   - one window for the whole stream (no window_ms): a sequence source ->
#     Transformer jq (keys of several JSON types, absent and null keys, absent,
#     real and non-numeric values, one event that is not an object) ->
#     Aggregator (count, sum, min, max, avg) -> file sink; the failed event on
#     port `error`; a second pipeline with no `key` (one group, key null);
#   - tumbling windows: a test source that writes each event's own event time
#     into it (timed_seq), so every event's window is known exactly; rows must
#     appear while the source is still running (a window closes when its key
#     sees a later window), and at the end every (key, window) is exact;
# each with operator chaining on, off, and (single window) with batching.
. "$(dirname "$0")/lib.sh" "$@"

N=2000
TIMED=$(plugin timed_seq)

# The checks of one run of the single-window case.
PY_SINGLE="$PY_PRELUDE"'
import math
d, n, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def event(s):
    if s == 13:
        return None
    e = {"seq": s, "r": s / 4 if s % 4 else s // 4, "s": "x" if s % 11 == 0 else s}
    e["k"] = "3" if s % 14 == 3 else (None if s % 17 == 0 else s % 7)
    if s % 5:
        e["v"] = s * 3
    if s % 13 == 0:
        del e["k"]
    return e
groups = {}
for s in range(1, n + 1):
    e = event(s)
    if e is not None:
        groups.setdefault(json.dumps(e.get("k")), []).append(e)
def agg(evs, f, op):
    vals = [e[f] for e in evs if f in e and e[f] is not None]
    nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if op == "count":
        return len(vals)
    if not nums:
        return None
    real = any(isinstance(v, float) for v in nums)
    if op == "avg":
        return float(sum(nums)) / len(nums)
    r = {"sum": sum, "min": min, "max": max}[op](nums)
    return float(r) if real else r
OPS = {"seq": ["count", "sum", "min", "max", "avg"], "v": ["sum", "avg", "count"],
       "r": ["sum", "min", "max"], "s": ["sum", "count"]}
def same(got, want):
    if isinstance(want, float):
        return isinstance(got, float) and math.isclose(got, want, rel_tol=1e-12)
    return got == want and type(got) is type(want)
rows = load(d + "/agg.jsonl")
if len(rows) != len(groups):
    die("%d rows, expected one per group (%d): %r" % (len(rows), len(groups), sorted(groups)))
seen = set()
for row in rows:
    k = json.dumps(row.get("key"))
    if k not in groups or k in seen:
        die("unexpected or repeated group %s" % k)
    seen.add(k)
    want = {"key": row.get("key")}
    for f, ops in OPS.items():
        for op in ops:
            want["%s_%s" % (f, op)] = agg(groups[k], f, op)
    extra = set(row) - set(want) - {"window_start", "window_end"}
    if extra:
        die("group %s: unexpected fields %r" % (k, extra))
    for name, w in want.items():
        if not same(row.get(name), w):
            die("group %s: %s = %r, expected %r" % (k, name, row.get(name), w))
    ws, we = row["window_start"], row["window_end"]
    if not (isinstance(ws, int) and isinstance(we, int) and t0 <= ws < we <= t1 + 1):
        die("group %s: window [%r, %r) outside the run [%d, %d]" % (k, ws, we, t0, t1))
if not any(isinstance(json.loads(k), str) for k in groups) or "null" not in groups:
    die("the test data lost its string or null group")
one = load(d + "/all.jsonl")
if len(one) != 1 or one[0].get("key", 0) is not None:
    die("no key: expected one row with key null, got %r" % one)
r = one[0]
if (r.get("seq_count"), r.get("seq_sum"), r.get("seq_max")) != (n, n * (n + 1) // 2, n):
    die("no key: wrong aggregates %r" % r)
err = [json.loads(l) for l in open(d + "/agg_err.jsonl")]
if err != [13]:
    die("error port: expected the one non-object event 13, got %r" % err[:5])
'

# single_case MODE: true | false (runtime.chaining) | batching (chaining off,
# batching on the Aggregator).
single_case() {
	local mode=$1 d="$WORK/single-$1" chaining=true batching=""
	mkdir -p "$d"
	[ "$mode" = true ] || chaining=false
	[ "$mode" = batching ] && batching="batching: {enabled: true, max_items: 16, max_ms: 5}"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: aggsingle
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N}}
    - name: xf
      type: Transformer
      config:
        jq: >-
          if .seq == 13 then 13 else
            {seq, r: (.seq / 4), s: (if .seq % 11 == 0 then "x" else .seq end),
             k: (if .seq % 14 == 3 then "3" elif .seq % 17 == 0 then null else .seq % 7 end)}
            + (if .seq % 5 == 0 then {} else {v: (.seq * 3)} end)
            | if .seq % 13 == 0 then del(.k) else . end
          end
    - name: agg
      type: Aggregator
      config:
        key: k
        ops: {seq: [count, sum, min, max, avg], v: [sum, avg, count], r: [sum, min, max], s: [sum, count]}
      $batching
    - {name: out, type: Sink, config: {sink: file, path: agg.jsonl}}
    - {name: errs, type: Sink, config: {sink: file, path: agg_err.jsonl}}
    - {name: gen2, type: Source, config: {generator: sequence, count: $N}}
    - {name: all, type: Aggregator, config: {ops: {seq: [count, sum, max]}}}
    - {name: out2, type: Sink, config: {sink: file, path: all.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: agg.input}
    - {from: agg.output, to: out.input}
    - {from: agg.error, to: errs.input}
    - {from: gen2.output, to: all.input}
    - {from: all.output, to: out2.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: aggsingle
runtime: {chaining: $chaining}
YAML
	run_acrt "validate-single-$mode" 20 validate "$d"
	expect_rc 0 "single window ($mode): acrt validate" "$WORK/validate-single-$mode.err"
	local t0 t1
	t0=$(($(date +%s%N) / 1000000))
	run_acrt "single-$mode" 60 run "$d"
	t1=$(($(date +%s%N) / 1000000))
	expect_rc 0 "single window ($mode): acrt run" "$WORK/single-$mode.err"
	py "$PY_SINGLE" "$d" "$N" "$t0" "$t1" ||
		fail "single window ($mode): wrong aggregates" "$d/agg.jsonl" "$WORK/single-$mode.err"
	ok "single window ($mode): one row per group (int, string, null keys), exact count/sum/min/max/avg and types; no key: one row; the non-object event on error"
}

# The checks of one run of the windowed case.
PY_WINDOWS="$PY_PRELUDE"'
d, n, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = load(d + "/src.jsonl")
if [e["seq"] for e in src] != list(range(1, n + 1)):
    die("the tap of the source does not hold seq 1..%d" % n)
want = {}
for e in src:
    k, v, t = e["seq"] % 3, e["seq"], e["t_ms"]
    key = (k, t - t % w)
    c = want.setdefault(key, {"v_count": 0, "v_sum": 0, "v_min": v, "v_max": v})
    c["v_count"] += 1
    c["v_sum"] += v
    c["v_min"] = min(c["v_min"], v)
    c["v_max"] = max(c["v_max"], v)
rows = load(d + "/win.jsonl")
got = {}
last = {}
for r in rows:
    key = (r["key"], r["window_start"])
    if key in got:
        die("window %r emitted twice" % (key,))
    if r["window_end"] != r["window_start"] + w or r["window_start"] % w:
        die("window %r not aligned to %d ms: %r" % (key, w, r))
    if r["window_start"] <= last.get(r["key"], -1):
        die("key %r: windows out of order: %r after %r" % (r["key"], r["window_start"], last[r["key"]]))
    last[r["key"]] = r["window_start"]
    got[key] = {f: r[f] for f in ("v_count", "v_sum", "v_min", "v_max")}
if got != want:
    diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    die("%d windows, expected %d; first difference %r: got %r, expected %r" % (
        len(got), len(want), diff[0], got.get(diff[0]), want.get(diff[0])))
if sum(c["v_count"] for c in got.values()) != n:
    die("events not counted exactly once")
print(len(got))
'

# windows_case CHAINING
windows_case() {
	local chaining=$1 d="$WORK/windows-$1" count=3000 w=100
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: aggwindows
  components:
    - name: gen
      implementation: plugin:$TIMED#timed_seq
      config: {count: $count, interval_us: 1000}
    - {name: xf, type: Transformer, config: {jq: '. + {k: (.seq % 3), v: .seq}'}}
    - name: agg
      type: Aggregator
      config: {key: k, window_ms: $w, ops: {v: [count, sum, min, max]}}
    - {name: out, type: Sink, config: {sink: file, path: win.jsonl}}
    - {name: tap, type: Sink, config: {sink: file, path: src.jsonl}}
  bindings:
    - {from: gen.output, to: [xf.input, tap.input]}
    - {from: xf.output, to: agg.input}
    - {from: agg.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: aggwindows
runtime: {chaining: $chaining}
YAML
	start_acrt "windows-$chaining" run "$d"
	# Windows close as later ones open: rows reach the sink while the source
	# (3 s long) still runs, long before the end of the stream.
	wait_alive "$PID" 20 has_lines "$d/win.jsonl" 3 ||
		fail "windows (chaining $chaining): no closed window emitted while the source was running" \
			"$WORK/windows-$chaining.err"
	alive "$PID" || fail "windows (chaining $chaining): rows appeared only at the end"
	ok "windows (chaining $chaining): closed windows are emitted while the stream runs"
	wait_exit "$PID" 60 || fail "windows (chaining $chaining): acrt did not finish" "$WORK/windows-$chaining.err"
	expect_rc 0 "windows (chaining $chaining): acrt run" "$WORK/windows-$chaining.err"
	local nwin
	nwin=$(py "$PY_WINDOWS" "$d" "$count" "$w") ||
		fail "windows (chaining $chaining): wrong windows" "$d/win.jsonl" "$WORK/windows-$chaining.err"
	ok "windows (chaining $chaining): $nwin (key, window) rows, each exact (from the events' own times), aligned to $w ms, in order per key"
}

# Resume: the open windows are managed state, so a run killed with SIGKILL
# after a checkpoint and resumed (--resume) counts every event exactly once:
# the single-window aggregates equal the uninterrupted ones, and across the
# tumbling windows each (key, window) appears once and the counts and sums
# add up (window contents depend on when the run was killed).
PY_RESUME="$PY_PRELUDE"'
d, n = sys.argv[1], int(sys.argv[2])
want = {}
for s in range(1, n + 1):
    c = want.setdefault(s % 5, {"seq_count": 0, "seq_sum": 0, "seq_min": s, "seq_max": s})
    c["seq_count"] += 1
    c["seq_sum"] += s
    c["seq_max"] = s
rows = load(d + "/one.jsonl")
got = {r["key"]: {f: r[f] for f in ("seq_count", "seq_sum", "seq_min", "seq_max")} for r in rows}
if len(rows) != 5 or got != want:
    die("single window after resume: got %r, expected %r" % (got, want))
rows = load(d + "/win.jsonl")
keys = [(r["key"], r["window_start"]) for r in rows]
if len(set(keys)) != len(keys):
    die("a window was emitted twice after resume")
for k in range(5):
    mine = [r for r in rows if r["key"] == k]
    if (sum(r["seq_count"] for r in mine), sum(r["seq_sum"] for r in mine)) != (
            want[k]["seq_count"], want[k]["seq_sum"]):
        die("key %d: the windows do not add up to every event once" % k)
'

has_checkpoint() {
	"$ACRT" checkpoints list "$1" 2>/dev/null | grep -qE '^[0-9]+ '
}

resume_case() {
	local d="$WORK/resume" count=40000
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: aggresume
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $count, rate_per_s: 20000}}
    - {name: xf, type: Transformer, config: {jq: '. + {k: (.seq % 5)}'}}
    - name: one
      type: Aggregator
      config: {key: k, ops: {seq: [count, sum, min, max]}}
    - name: win
      type: Aggregator
      config: {key: k, window_ms: 100, ops: {seq: [count, sum]}}
    - {name: out1, type: Sink, config: {sink: file, path: one.jsonl}}
    - {name: out2, type: Sink, config: {sink: file, path: win.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: [one.input, win.input]}
    - {from: one.output, to: out1.input}
    - {from: win.output, to: out2.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: aggresume
runtime:
  state: {adapter: sqlite_snapshot, path: state/ck.db, checkpoint_interval_s: 0.2}
YAML
	start_acrt resume-1 run "$d"
	wait_alive "$PID" 30 has_checkpoint "$d" ||
		fail "resume: no checkpoint while running" "$WORK/resume-1.err"
	kill -KILL "$PID" 2>/dev/null
	wait_exit "$PID" 10 || fail "resume: acrt survived SIGKILL"
	ok "resume: killed with SIGKILL after a checkpoint (exit $RC)"
	run_acrt resume-2 60 run --resume "$d"
	expect_rc 0 "resume: acrt run --resume" "$WORK/resume-2.err"
	py "$PY_RESUME" "$d" "$count" ||
		fail "resume: wrong aggregates" "$d/one.jsonl" "$WORK/resume-2.err"
	ok "resume: single-window aggregates exact, tumbling windows add up to every event once"
}

resume_case
single_case true
single_case false
single_case batching
windows_case true
windows_case false

pass
