#!/usr/bin/env bash
# Event-time windows of the Aggregator (issue 18, docs/COMPONENTS.md "Event
# time"), end to end:
#   1. a hand-made out-of-order corpus (11 events, RFC 3339 with offsets and
#      epoch numbers): the exact tumbling rows (counts, sums, bounds, order),
#      the two late events on port `late` with their reason headers, two bad
#      times on port `error`;
#   2. a generated corpus (600 events, 3 keys, disorder within and beyond
#      max_out_of_order_ms, four time formats) through tumbling, hopping and
#      session windows at once: every row and every late event exactly as an
#      independent Python model of the documented rules computes them;
#   3. an idle gap: a followed file gets a first batch, then nothing: the
#      windows close while acrt waits (idle_timeout_ms), not at the end; the
#      second batch's event in a window the idle watermark closed is late;
#   4. `late` unbound: a late event fails onto a dead_letter capability;
#   5. kill -9 and --resume (checkpoints every 0.2 s) gives the same rows and
#      late events, in the same order, as an uninterrupted run;
#   6. a reload that gives a chained Aggregator idle_timeout_ms (it then needs
#      a thread of its own for its timer) switches generations, not in place.
. "$(dirname "$0")/lib.sh" "$@"

T0=1796450400000 # 2026-12-05T06:00:00Z

# ---- 1. the hand-made corpus ------------------------------------------------
D1="$WORK/hand"
mkdir -p "$D1"
cat >"$D1/in.jsonl" <<'EOF'
{"ts":"2026-12-05T06:00:00.100Z","k":"a","v":1}
{"ts":"2026-12-05T08:00:00.300+02:00","k":"b","v":2}
{"ts":1796450401200,"k":"a","v":3}
{"ts":"2026-12-05T06:00:00.8Z","k":"a","v":4}
{"ts":1796450402.6,"k":"a","v":5}
{"ts":"2026-12-05T05:00:01.900-01:00","k":"b","v":6}
{"ts":"2026-12-05T06:00:00.700Z","k":"b","v":7}
{"ts":"2026-12-05T06:00:02.900Z","k":"a","v":8}
{"ts":"2026-12-05T06:00:05Z","k":"b","v":9}
{"ts":"2026-12-05T06:00:02.950Z","k":"a","v":10}
{"ts":"2026-13-05T06:00:02.950Z","k":"a","v":99}
{"k":"a","v":98}
{"ts":"2026-12-05T06:00:04.400Z","k":"a","v":11}
EOF
cat >"$D1/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: ethand
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl}}
    - name: agg
      type: Aggregator
      config: {key: k, time_field: ts, window_ms: 1000, max_out_of_order_ms: 500,
               allowed_lateness_ms: 200, ops: {v: [count, sum]}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: late, type: Sink, config: {sink: file, path: late.jsonl, format: envelope}}
    - {name: err, type: Sink, config: {sink: file, path: err.jsonl}}
  bindings:
    - {from: src.output, to: agg.input}
    - {from: agg.output, to: out.input}
    - {from: agg.late, to: late.input}
    - {from: agg.error, to: err.input}
YAML
run_acrt hand 30 run "$D1"
expect_rc 0 "hand-made corpus" "$WORK/hand.err"
py "$PY_PRELUDE"'
d, t0 = sys.argv[1], int(sys.argv[2])
want = [("a", 0, 2, 5), ("b", 0, 1, 2), ("a", 1000, 1, 3), ("b", 1000, 1, 6),
        ("a", 2000, 2, 13), ("a", 4000, 1, 11), ("b", 5000, 1, 9)]
got = [(r["key"], r["window_start"] - t0, r["v_count"], r["v_sum"]) for r in load(d + "/out.jsonl")]
if got != want:
    die("rows %r\nexpected %r" % (got, want))
for r in load(d + "/out.jsonl"):
    if r["window_end"] != r["window_start"] + 1000:
        die("window_end of %r" % r)
late = load(d + "/late.jsonl")
if [e["payload"]["v"] for e in late] != [7, 10]:
    die("late port: %r" % late)
h = late[0]["headers"]
if h.get("acrt-event-time-ms") != str(t0 + 700) or h.get("acrt-watermark-ms") != str(t0 + 2100) \
        or "its window ended at %d" % (t0 + 1000) not in h.get("acrt-late", "") \
        or "allowed_lateness_ms 200" not in h["acrt-late"] or h.get("acrt-component") != "agg":
    die("late headers: %r" % h)
if late[1]["headers"].get("acrt-watermark-ms") != str(t0 + 4500):
    die("second late event: %r" % late[1]["headers"])
if [e["v"] for e in load(d + "/err.jsonl")] != [99, 98]:
    die("error port: %r" % load(d + "/err.jsonl"))
' "$D1" "$T0" || fail "hand-made corpus: wrong rows or late events" "$WORK/hand.err"
grep -q "time_field .ts.: month out of range" "$WORK/hand.err" || fail "no reason for the bad time" "$WORK/hand.err"
grep -q "time_field .ts.: missing" "$WORK/hand.err" || fail "no reason for the missing time" "$WORK/hand.err"
ok "hand-made corpus: 7 exact rows in close order, 2 late events with reasons, 2 bad times on error"

# ---- 2. a generated corpus through the three window kinds --------------------
D2="$WORK/gen"
mkdir -p "$D2"
MODEL='
import json, sys
T0 = 1796450400000
def corpus():
    """(time ms, key, v, line) with disorder; a few events far behind."""
    out, x = [], 12345
    for i in range(600):
        x = (x * 1103515245 + 12345) % (1 << 31)
        t = T0 + i * 37 + (i // 150) * 4000 - (x % 700)   # 4 s gaps every 150 events
        if i % 53 == 7:
            t -= 5000                                        # far behind: late
        k = "abc"[x % 3]
        f = i % 4
        if f == 0:
            ts = json.dumps("%s.%03dZ" % (iso(t // 1000), t % 1000))
        elif f == 1:
            ts = json.dumps("%s.%03d+02:00" % (iso(t // 1000 + 7200), t % 1000))
        elif f == 2:
            ts = str(t)
        else:
            ts = "%d.%03d" % (t // 1000, t % 1000)
        out.append((t, k, i, "{\"ts\":%s,\"k\":\"%s\",\"v\":%d}" % (ts, k, i)))
    return out
def iso(s):
    import datetime
    return datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
def model(events, kind, size=0, slide=0, gap=0, ooo=0, L=0):
    """The documented rules, written independently of the C code."""
    W, mx, wins, rows, late = None, None, {}, [], []
    def closed(end):
        return W is not None and end + L <= W
    def close(all_):
        due = sorted(((w[1] + L, w[0], k) for k, ws in wins.items() for w in ws
                      if all_ or closed(w[1])), key=lambda c: (c[0], c[1], json.dumps(c[2])))
        for c, s, k in due:
            w = next(w for w in wins[k] if w[0] == s)
            wins[k].remove(w)
            rows.append({"key": k, "window_start": w[0], "window_end": w[1],
                         "v_count": len(w[2]), "v_sum": sum(w[2])})
    for t, k, v, _ in events:
        ws = wins.setdefault(k, [])
        took = False
        if kind == "session":
            touch = [w for w in ws if w[1] >= t and w[0] <= t + gap]
            if touch:
                for w in touch:
                    ws.remove(w)
                ws.append([min([t] + [w[0] for w in touch]), max([t + gap] + [w[1] for w in touch]),
                           sum((w[2] for w in touch), []) + [v]])
                took = True
            elif not closed(t + gap):
                ws.append([t, t + gap, [v]])
                took = True
        else:
            s = ((t - size) // slide + 1) * slide
            while s <= t:
                if not closed(s + size):
                    w = next((w for w in ws if w[0] == s), None)
                    if w is None:
                        w = [s, s + size, []]
                        ws.append(w)
                    w[2].append(v)
                    took = True
                s += slide
        if not took:
            late.append(v)
            continue
        if mx is None or t > mx:
            mx = t
            if W is None or t - ooo > W:
                W = t - ooo
                close(False)
    close(True)
    return rows, late
'
py "$MODEL"'
d = sys.argv[1]
with open(d + "/in.jsonl", "w") as f:
    for e in corpus():
        f.write(e[3] + "\n")
' "$D2" || fail "could not write the corpus"
cat >"$D2/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: etgen
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl}}
    - name: tumbling
      type: Aggregator
      config: {key: k, time_field: ts, window: {size_ms: 1000}, max_out_of_order_ms: 400,
               allowed_lateness_ms: 250, ops: {v: [count, sum]}}
    - name: hopping
      type: Aggregator
      config: {key: k, time_field: ts, time_format: auto, window: {size_ms: 2000, slide_ms: 500},
               max_out_of_order_ms: 300, allowed_lateness_ms: 100, ops: {v: [count, sum]}}
    - name: session
      type: Aggregator
      config: {key: k, time_field: ts, window: {gap_ms: 1500}, max_out_of_order_ms: 600,
               ops: {v: [count, sum]}}
    - {name: t_out, type: Sink, config: {sink: file, path: tumbling.jsonl}}
    - {name: h_out, type: Sink, config: {sink: file, path: hopping.jsonl}}
    - {name: s_out, type: Sink, config: {sink: file, path: session.jsonl}}
    - {name: t_late, type: Sink, config: {sink: file, path: tumbling_late.jsonl}}
    - {name: h_late, type: Sink, config: {sink: file, path: hopping_late.jsonl}}
    - {name: s_late, type: Sink, config: {sink: file, path: session_late.jsonl}}
  bindings:
    - {from: src.output, to: [tumbling.input, hopping.input, session.input]}
    - {from: tumbling.output, to: t_out.input}
    - {from: hopping.output, to: h_out.input}
    - {from: session.output, to: s_out.input}
    - {from: tumbling.late, to: t_late.input}
    - {from: hopping.late, to: h_late.input}
    - {from: session.late, to: s_late.input}
YAML
run_acrt gen 60 run "$D2"
expect_rc 0 "generated corpus" "$WORK/gen.err"
py "$PY_PRELUDE$MODEL"'
d = sys.argv[1]
ev = corpus()
cases = {"tumbling": dict(size=1000, slide=1000, ooo=400, L=250),
         "hopping": dict(size=2000, slide=500, ooo=300, L=100),
         "session": dict(gap=1500, ooo=600)}
for name, kw in cases.items():
    rows, late = model(ev, "session" if name == "session" else "fixed", **kw)
    got = load(d + "/%s.jsonl" % name)
    if got != rows:
        for i, (g, w) in enumerate(zip(got, rows)):
            if g != w:
                die("%s: row %d is %r, the model says %r (%d rows, model %d)" % (name, i, g, w, len(got), len(rows)))
        die("%s: %d rows, the model has %d" % (name, len(got), len(rows)))
    gl = [e["v"] for e in load(d + "/%s_late.jsonl" % name)]
    if gl != late:
        die("%s: late %r, the model says %r" % (name, gl, late))
    if not late or len(rows) < 10:
        die("%s: the corpus should give late events and many windows (%d, %d)" % (name, len(late), len(rows)))
    print("%s: %d rows, %d late" % (name, len(rows), len(late)))
' "$D2" >"$WORK/gen.check" 2>&1 || fail "generated corpus: rows differ from the model" "$WORK/gen.check"
ok "generated corpus: $(tr '\n' ' ' <"$WORK/gen.check")exactly as the model"

# ---- 3. an idle gap: windows close while the input is quiet -----------------
D3="$WORK/idle"
mkdir -p "$D3"
cat >"$D3/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: etidle
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl, follow: true}}
    - name: agg
      type: Aggregator
      config: {key: k, time_field: ts, time_format: epoch_ms, window_ms: 1000,
               max_out_of_order_ms: 500, idle_timeout_ms: 800, ops: {v: [count, sum]}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: late, type: Sink, config: {sink: file, path: late.jsonl}}
  bindings:
    - {from: src.output, to: agg.input}
    - {from: agg.output, to: out.input}
    - {from: agg.late, to: late.input}
YAML
: >"$D3/in.jsonl"
start_acrt idle run "$D3"
wait_alive "$PID" 10 grep -q "started" "$WORK/idle.err" || fail "idle: did not start" "$WORK/idle.err"
# Batch 1 (in order within the bound): without idleness only [0,1000) and
# [1000,2000) would close (watermark 2600 - 500 = 2100); the rest waits.
printf '%s\n' "{\"ts\":$((T0 + 100)),\"k\":\"a\",\"v\":1}" "{\"ts\":$((T0 + 1500)),\"k\":\"a\",\"v\":2}" \
	"{\"ts\":$((T0 + 1400)),\"k\":\"b\",\"v\":3}" "{\"ts\":$((T0 + 2200)),\"k\":\"a\",\"v\":4}" \
	"{\"ts\":$((T0 + 2600)),\"k\":\"b\",\"v\":5}" >>"$D3/in.jsonl"
# Quiet: the watermark follows the clock once 800 ms passed; [2000,3000)
# closes when it reaches 3000 (about 900 ms of quiet). acrt keeps running.
wait_alive "$PID" 15 has_lines "$D3/out.jsonl" 4 || fail "idle: the windows did not close while the input was quiet" "$D3/out.jsonl" "$WORK/idle.err"
alive "$PID" || fail "idle: acrt ended (the windows must close while it runs)" "$WORK/idle.err"
py "$PY_PRELUDE"'
d, t0 = sys.argv[1], int(sys.argv[2])
got = [(r["key"], r["window_start"] - t0, r["v_count"], r["v_sum"]) for r in load(d + "/out.jsonl")]
want = [("a", 0, 1, 1), ("a", 1000, 1, 2), ("b", 1000, 1, 3), ("a", 2000, 1, 4), ("b", 2000, 1, 5)]
if got[:4] != want[:4] or (len(got) == 5 and got != want) or len(got) > 5:
    die("rows after the quiet gap: %r, expected %r" % (got, want))
' "$D3" "$T0" || fail "idle: wrong rows" "$D3/out.jsonl"
wait_alive "$PID" 10 has_lines "$D3/out.jsonl" 5 || fail "idle: [2000,3000) of b did not close" "$D3/out.jsonl"
# Batch 2: 2900 falls in [2000,3000), which the idle watermark closed: late;
# 9000 opens a window that the end of the run emits.
printf '%s\n' "{\"ts\":$((T0 + 2900)),\"k\":\"a\",\"v\":6}" "{\"ts\":$((T0 + 9000)),\"k\":\"a\",\"v\":7}" >>"$D3/in.jsonl"
wait_alive "$PID" 10 has_lines "$D3/late.jsonl" 1 || fail "idle: the event behind the idle watermark is not late" "$D3/late.jsonl" "$WORK/idle.err"
kill -TERM "$PID"
wait_exit "$PID" 20 || fail "idle: no exit after SIGTERM"
expect_rc 0 "idle gap run" "$WORK/idle.err"
py "$PY_PRELUDE"'
d, t0 = sys.argv[1], int(sys.argv[2])
rows = load(d + "/out.jsonl")
if len(rows) != 6 or (rows[5]["key"], rows[5]["window_start"] - t0, rows[5]["v_sum"]) != ("a", 9000, 7):
    die("rows: %r" % rows)
if [e["v"] for e in load(d + "/late.jsonl")] != [6]:
    die("late: %r" % load(d + "/late.jsonl"))
' "$D3" "$T0" || fail "idle: wrong final rows or late events" "$D3/out.jsonl" "$D3/late.jsonl"
ok "idle gap: 5 windows closed while the input was quiet and acrt ran; the event behind the idle watermark went to late"

# ---- 4. late unbound: the dead letter takes it --------------------------------
D4="$WORK/dlq"
mkdir -p "$D4"
head -n 7 "$D1/in.jsonl" >"$D4/in.jsonl"
cat >"$D4/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: etdlq
  components:
    - {name: src, type: Source, config: {source: file, path: in.jsonl}}
    - name: agg
      type: Aggregator
      config: {key: k, time_field: ts, window_ms: 1000, max_out_of_order_ms: 500,
               allowed_lateness_ms: 200, ops: {v: count}}
      capabilities: {dead_letter: {to: dlq.input}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: dlq, type: Sink, config: {sink: file, path: dlq.jsonl}}
  bindings:
    - {from: src.output, to: agg.input}
    - {from: agg.output, to: out.input}
YAML
run_acrt dlq 30 run "$D4"
expect_rc 0 "late unbound, dead letter" "$WORK/dlq.err"
py "$PY_PRELUDE"'
dl = load(sys.argv[1] + "/dlq.jsonl")
if len(dl) != 1 or dl[0]["payload"]["v"] != 7 or "late event: event time" not in dl[0]["headers"].get("acrt-error", ""):
    die("dead letters: %r" % dl)
' "$D4" || fail "late unbound: not dead-lettered with the reason" "$D4/dlq.jsonl"
ok "late unbound: the late event is a dead letter with the reason"

# ---- 5. kill -9 and --resume give the same windows ---------------------------
mk_ckpt() { # DIR RATE: a paced sequence with computed, out-of-order times
	local d=$1 rate=$2
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: etckpt
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 6000$rate}}
    - name: stamp
      type: Transformer
      config:
        jq: >-
          {k: (.seq % 3), v: .seq,
           ts: ($T0 + .seq * 10 + ((.seq / 400) | floor) * 3000 - ((.seq * 7919) % 13) * 40
                - (if .seq % 97 == 0 then 2500 else 0 end))}
    - name: hop
      type: Aggregator
      config: {key: k, time_field: ts, window: {size_ms: 1000, slide_ms: 250},
               max_out_of_order_ms: 300, allowed_lateness_ms: 100, ops: {v: [count, sum, max]}}
    - name: sess
      type: Aggregator
      config: {key: k, time_field: ts, window: {gap_ms: 1000}, max_out_of_order_ms: 500,
               ops: {v: [count, sum]}}
    - {name: hop_out, type: Sink, config: {sink: file, path: hop.jsonl}}
    - {name: sess_out, type: Sink, config: {sink: file, path: sess.jsonl}}
    - {name: hop_late, type: Sink, config: {sink: file, path: hop_late.jsonl}}
    - {name: sess_late, type: Sink, config: {sink: file, path: sess_late.jsonl}}
  bindings:
    - {from: gen.output, to: stamp.input}
    - {from: stamp.output, to: [hop.input, sess.input]}
    - {from: hop.output, to: hop_out.input}
    - {from: sess.output, to: sess_out.input}
    - {from: hop.late, to: hop_late.input}
    - {from: sess.late, to: sess_late.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: etckpt
runtime:
  state: {adapter: sqlite_snapshot, path: state/ck.db, checkpoint_interval_s: 0.2, retain: 3}
YAML
}
mk_ckpt "$WORK/whole" ""
run_acrt whole 60 run "$WORK/whole" --quiet
expect_rc 0 "uninterrupted run" "$WORK/whole.err"
mk_ckpt "$WORK/crash" ", rate_per_s: 3000"
stored() {
	local n
	n=$(grep -c '"msg":"checkpoint [0-9]* stored' "$1" 2>/dev/null)
	echo "${n:-0}"
}
has_stored() { [ "$(stored "$1")" -ge "$2" ]; }
start_acrt crash1 run "$WORK/crash" --quiet
wait_alive "$PID" 30 has_stored "$WORK/crash1.err" 3 || fail "no checkpoints stored" "$WORK/crash1.err"
sleep "0.$(printf '%03d' $((RANDOM % 150)))"
kill -KILL "$PID"
wait_exit "$PID" 10 || fail "still running after SIGKILL"
[ "$(lines "$WORK/crash/hop.jsonl")" -lt "$(lines "$WORK/whole/hop.jsonl")" ] ||
	fail "the first run finished before the kill"
run_acrt crash2 60 run "$WORK/crash" --quiet --resume
expect_rc 0 "resumed run" "$WORK/crash2.err"
grep -q '"msg":"resumed with [1-9][0-9]* open window' "$WORK/crash2.err" || fail "no open windows resumed" "$WORK/crash2.err"
# The watermark came back with the windows (both Aggregators): not rebuilt
# from the first events after the resume.
[ "$(grep -c '"msg":"resumed at watermark 17964504[0-9]* (largest event time' "$WORK/crash2.err")" = 2 ] ||
	fail "the watermarks were not restored" "$WORK/crash2.err"
for f in hop sess hop_late sess_late; do
	cmp -s "$WORK/whole/$f.jsonl" "$WORK/crash/$f.jsonl" ||
		fail "$f.jsonl after kill -9 and --resume differs from the uninterrupted run ($(lines "$WORK/crash/$f.jsonl") vs $(lines "$WORK/whole/$f.jsonl") lines)" "$WORK/crash2.err"
done
py "$PY_PRELUDE"'
d = sys.argv[1]
late = load(d + "/hop_late.jsonl") + load(d + "/sess_late.jsonl")
if len(load(d + "/hop.jsonl")) < 100 or len(load(d + "/sess.jsonl")) < 20 or len(late) < 10:
    die("too few rows or late events to mean anything")
' "$WORK/whole" || fail "the kill case produced too little"
ok "kill -9 and --resume: hop.jsonl ($(lines "$WORK/whole/hop.jsonl") rows), sess.jsonl ($(lines "$WORK/whole/sess.jsonl")), the late ports ($(cat "$WORK/whole/"*_late.jsonl | wc -l)) byte for byte as the uninterrupted run"

# ---- 6. a reload adding idle_timeout_ms to a chained Aggregator rewires -------
D6="$WORK/reload"
mkdir -p "$D6"
mk_reload() { # EXTRA: more Aggregator config
	cat >"$D6/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: etreload
  components:
    - {name: gen, type: Source, config: {generator: sequence, rate_per_s: 200}}
    - name: agg
      type: Aggregator
      config: {key: k, window: {size_ms: 1000}$1, ops: {seq: count}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: agg.input}
    - {from: agg.output, to: out.input}
YAML
}
mk_reload ""
cat >"$D6/deployment.yaml" <<'YAML'
schema_version: "1.0.0"
system_name: etreload
runtime: {logging: {level: debug}}
YAML
start_acrt reload run "$D6"
wait_alive "$PID" 10 grep -q '"msg":"chained gen.output -> agg.input' "$WORK/reload.err" ||
	fail "reload: the Aggregator without idle_timeout_ms is not chained" "$WORK/reload.err"
mk_reload ", max_out_of_order_ms: 10"
kill -HUP "$PID"
wait_alive "$PID" 15 grep -q '"msg":"reload (SIGHUP) done' "$WORK/reload.err" || fail "reload 1 not done" "$WORK/reload.err"
grep -q '"msg":"reload (SIGHUP) done in place' "$WORK/reload.err" ||
	fail "reload 1: a config change without idle_timeout_ms should swap in place" "$WORK/reload.err"
mk_reload ", max_out_of_order_ms: 10, idle_timeout_ms: 100"
kill -HUP "$PID"
reloads_done() { [ "$(grep -c '"msg":"reload (SIGHUP) done' "$WORK/reload.err")" -ge "$1" ]; }
wait_alive "$PID" 15 reloads_done 2 ||
	fail "reload 2 not done" "$WORK/reload.err"
grep '"msg":"reload (SIGHUP) done' "$WORK/reload.err" | tail -n 1 | grep -q '"mode":"switch"' ||
	fail "reload 2: idle_timeout_ms on a chained Aggregator was not a generation switch" "$WORK/reload.err"
[ "$(grep -c '"msg":"chained gen.output -> agg.input' "$WORK/reload.err")" = 1 ] ||
	fail "reload 2: the Aggregator with idle_timeout_ms was chained again" "$WORK/reload.err"
kill -TERM "$PID"
wait_exit "$PID" 20 || fail "reload: no exit after SIGTERM"
expect_rc 0 "reload run" "$WORK/reload.err"
ok "reload: config swapped in place; idle_timeout_ms on a chained Aggregator switched generations and unchained it"

pass
