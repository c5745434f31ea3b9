#!/usr/bin/env bash
# Harness-aggregated batching (docs/BATCHING.md): batches close on size, on time
# and on drain (end of stream, SIGTERM); metadata (batch_id, size, closed_by,
# event times) reaches the component through acrt_batch() and is the same for
# two runs of the same input; a component without process_batch gets every
# event; error_mode fail_fast vs per_item counts; bad settings fail the run.
# The batch_record plugin writes one JSON line per batch (or per event). Time
# closures are checked against a rate-limited source with deadlines, no sleeps.
. "$(dirname "$0")/lib.sh" "$@"
REC=$(plugin batch_record) || exit 1

# system DIR SOURCE_CONFIG DESCRIPTOR BATCHING [COMPONENT_CONFIG [RUNTIME]]
system() {
	local d=$1 src=$2 desc=$3 batching=$4 cfg=${5:-"{out: batches.jsonl}"} runtime=${6:-"{}"}
	mkdir -p "$d"
	rm -f "$d/batches.jsonl"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: batching
  components:
    - {name: gen, type: Source, config: $src}
    - name: rec
      implementation: plugin:$REC#$desc
      config: $cfg
      inputs: [{name: input}]
      outputs: []
      batching: $batching
  bindings:
    - {from: gen.output, to: rec.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: batching
runtime: $runtime
YAML
}

# summary ERRFILE KEY: a field of the run's final log line.
summary() {
	py "$PY_PRELUDE"'
recs = [r for r in log_records(sys.argv[1]) if "sink_events" in r]
if not recs:
    die("no final log line with sink_events")
print(recs[-1].get(sys.argv[2]))
' "$1" "$2"
}

# ---- size and drain; defaults from runtime.batching; determinism -------------
say "95 events, max_items 10 (from runtime.batching), max_ms 60000: 9 batches closed by size, 1 by drain"
for run in 1 2; do
	d="$WORK/size$run"
	system "$d" "{generator: sequence, count: 95}" batch_record "{enabled: true}" "" \
		"{batching: {max_items: 10, max_ms: 60000, error_mode: per_item}}"
	run_acrt "size$run" 20 run "$d"
	expect_rc 0 "size run $run" "$WORK/size$run.err"
	py "$PY_PRELUDE"'
b = load(sys.argv[1])
if [x["batch_id"] for x in b] != list(range(1, 11)):
    die("batch ids are not 1..10: %r" % [x["batch_id"] for x in b])
want = ["size"] * 9 + ["drain"]
if [x["closed_by"] for x in b] != want:
    die("closed_by: %r, expected %r" % ([x["closed_by"] for x in b], want))
if [x["size"] for x in b] != [10] * 9 + [5] or any(len(x["seqs"]) != x["size"] for x in b):
    die("sizes: %r" % [x["size"] for x in b])
seqs = [s for x in b for s in x["seqs"]]
if seqs != list(range(1, 96)):
    die("events lost, duplicated or reordered: %r" % seqs)
for x in b:
    if not (x["first_event_ns"] <= x["last_event_ns"] <= x["formed_ns"]):
        die("event times / formation time out of order: %r" % x)
    if x["mode"] != "batch" or x["port"] != "input":
        die("not one process_batch call on port input: %r" % x)
' "$d/batches.jsonl" || fail "size run $run: wrong batches" "$d/batches.jsonl" "$WORK/size$run.err"
	[ "$(summary "$WORK/size$run.err" sink_events)" = 95 ] || fail "size run $run: sink_events != 95" "$WORK/size$run.err"
done
ok "batch ids 1..10, sizes 10 x 9 + 5 (drain), seq 1..95 once each, in order"
py '
import json, sys
key = lambda p: [(x["batch_id"], x["size"], x["closed_by"], x["seqs"]) for x in map(json.loads, open(p))]
if key(sys.argv[1]) != key(sys.argv[2]):
    sys.exit("the batches differ between two runs of the same input")
' "$WORK/size1/batches.jsonl" "$WORK/size2/batches.jsonl" || fail "metadata not deterministic"
ok "two runs give the same batch ids, sizes, closures and contents"

# ---- process per event inside batches -----------------------------------------
say "a component without process_batch: process per event, acrt_batch() describes its batch"
d="$WORK/events"
system "$d" "{generator: sequence, count: 95}" batch_events "{enabled: true, max_items: 10, max_ms: 60000}"
run_acrt events 20 run "$d"
expect_rc 0 "per-event run" "$WORK/events.err"
py "$PY_PRELUDE"'
e = load(sys.argv[1])
seqs = [x["seqs"][0] for x in e]
if seqs != list(range(1, 96)):
    die("not every event once, in order: %r" % seqs)
for x in e:
    s = x["seqs"][0]
    bid = (s - 1) // 10 + 1
    want = (bid, 10 if bid < 10 else 5, "size" if bid < 10 else "drain")
    if (x["batch_id"], x["size"], x["closed_by"]) != want or x["mode"] != "event":
        die("seq %d: batch %r, expected %r" % (s, x, want))
' "$d/batches.jsonl" || fail "per-event: wrong events" "$d/batches.jsonl"
ok "process got seq 1..95 once each, each with its batch's metadata"

# ---- time ---------------------------------------------------------------------
say "a source at 200 events/s, max_items 1000, max_ms 20: batches close on time"
d="$WORK/time"
system "$d" "{generator: sequence, count: 60, rate_per_s: 200}" batch_record "{enabled: true, max_items: 1000, max_ms: 20}"
run_acrt time 30 run "$d"
expect_rc 0 "time run" "$WORK/time.err"
py "$PY_PRELUDE"'
b = load(sys.argv[1])
seqs = [s for x in b for s in x["seqs"]]
if seqs != list(range(1, 61)):
    die("events lost or reordered: %r" % seqs)
closed = [x["closed_by"] for x in b]
if len(b) < 5 or any(c != "time" for c in closed[:-1]) or closed[-1] not in ("time", "drain"):
    die("expected >= 5 batches closed by time (the last maybe by drain): %r" % closed)
for x in b[:-1]:
    # closed no earlier than max_ms after its first event arrived (1 ms of clock slack)
    if x["formed_ns"] - x["first_event_ns"] < 19_000_000:
        die("batch %d closed %.1f ms after its first event, before max_ms" % (
            x["batch_id"], (x["formed_ns"] - x["first_event_ns"]) / 1e6))
    if x["last_event_ns"] - x["first_event_ns"] > 20_000_000 + 15_000_000:
        die("batch %d spans %.1f ms of events, far more than max_ms" % (
            x["batch_id"], (x["last_event_ns"] - x["first_event_ns"]) / 1e6))
print("%d batches, sizes %r" % (len(b), [x["size"] for x in b]))
' "$d/batches.jsonl" || fail "time: wrong batches" "$d/batches.jsonl"
ok "batches closed by time, each at least max_ms after its first event"

# ---- error modes ------------------------------------------------------------
# errors_case NAME DESCRIPTOR MODE WANT_ERRORS WANT_PROCESSED
errors_case() {
	local name=$1 desc=$2 mode=$3 want=$4 processed=$5 d="$WORK/$1"
	system "$d" "{generator: sequence, count: 95}" "$desc" \
		"{enabled: true, max_items: 10, max_ms: 60000, error_mode: $mode}" \
		"{out: batches.jsonl, fail_seqs: [15, 42]}"
	run_acrt "$name" 20 run "$d"
	expect_lost "$want" "$name (failed events, no dead letter)" "$WORK/$name.err" failed
	local got
	got=$(summary "$WORK/$name.err" failed)
	[ "$got" = "$want" ] || fail "$name: errors=$got in the final log line, expected $want" "$WORK/$name.err"
	py "$PY_PRELUDE"'
e = load(sys.argv[1])
n = sum(len(x["seqs"]) for x in e)  # events in process_batch calls + process calls
if n != int(sys.argv[2]):
    die("the component was handed %d events, expected %s" % (n, sys.argv[2]))
' "$d/batches.jsonl" "$processed" || fail "$name: wrong events processed" "$d/batches.jsonl"
	py "$PY_PRELUDE"'
recs = [r for r in log_records(sys.argv[1]) if r.get("level") in ("warn", "warning", "error")
        and r.get("component") == "rec"]
if not recs or any(not all(k in r for k in ("batch_id", "batch_size", "closed_by")) for r in recs):
    die("error lines without batch metadata: %r" % recs[:3])
' "$WORK/$name.err" || fail "$name: batch errors are not logged with batch metadata" "$WORK/$name.err"
	ok "$name: errors=$want, $processed events handled, error lines carry batch_id/batch_size/closed_by"
}
say "fail seqs 15 and 42 (batches 2 and 5 of 10 events)"
# per event: per_item isolates; fail_fast fails the batch (10 errors each) and
# skips the rest of it (16..20, 43..50: 13 events never processed).
errors_case per_item_events batch_events per_item 2 95
errors_case fail_fast_events batch_events fail_fast 20 82
# process_batch: fail_fast fails both batches; per_item with process falls back
# to process per event (only 15 and 42 fail; 95 events in batches + the 20 of
# batches 2 and 5 again, one by one); per_item without process fails
# the whole batch.
errors_case fail_fast_batch batch_record fail_fast 20 95
errors_case per_item_fallback batch_record_both per_item 2 115
errors_case per_item_batch_only batch_record per_item 20 95

# ---- SIGTERM flushes the partial batch --------------------------------------
say "SIGTERM mid-run: the partial batch is delivered (closed by drain), nothing lost"
d="$WORK/sigterm"
system "$d" "{generator: sequence, rate_per_s: 1000}" batch_record "{enabled: true, max_items: 500, max_ms: 600000}"
start_acrt sigterm run "$d"
wait_alive "$PID" 20 has_lines "$d/batches.jsonl" 1 || fail "no batch within 20 s" "$WORK/sigterm.err"
kill -TERM "$PID"
wait_exit "$PID" 15 || fail "acrt did not exit within 15 s of SIGTERM" "$WORK/sigterm.err"
expect_rc 0 "acrt after SIGTERM" "$WORK/sigterm.err"
emitted=$(summary "$WORK/sigterm.err" source_events)
py "$PY_PRELUDE"'
b = load(sys.argv[1])
seqs = [s for x in b for s in x["seqs"]]
if seqs != list(range(1, int(sys.argv[2]) + 1)):
    die("the batches hold %d events, the source emitted %s" % (len(seqs), sys.argv[2]))
if b[-1]["closed_by"] != "drain" or any(x["closed_by"] != "size" for x in b[:-1]):
    die("expected batches closed by size, then the partial one by drain: %r" % [
        (x["closed_by"], x["size"]) for x in b])
print("%d events in %d batches; last: %d events, closed by drain" % (len(seqs), len(b), b[-1]["size"]))
' "$d/batches.jsonl" "$emitted" || fail "SIGTERM: events lost" "$d/batches.jsonl" "$WORK/sigterm.err"
ok "every event the source emitted ($emitted) reached the component; the partial batch closed by drain"

# ---- bad settings -------------------------------------------------------------
# Checked by the loader: `acrt run` refuses them as `acrt validate` does (exit 2).
# bad_case NAME BATCHING RUNTIME WORD [COMPONENT]
bad_case() {
	local name=$1 d="$WORK/$1" comp=${5-rec}
	system "$d" "{generator: sequence, count: 5}" batch_record "$2" "" "$3"
	run_acrt "$name" 20 run "$d"
	expect_rc 2 "$name" "$WORK/$name.err"
	if ! grep -q -- "$comp" "$WORK/$name.err" || ! grep -q -- "$4" "$WORK/$name.err"; then
		fail "$name: the error does not name the component and '$4'" "$WORK/$name.err"
	fi
	[ ! -s "$d/batches.jsonl" ] || fail "$name: the system ran" "$d/batches.jsonl"
}
bad_case bad_items "{enabled: true, max_items: 0}" "{}" max_items
bad_case bad_ms "{enabled: true, max_ms: -1}" "{}" max_ms
bad_case bad_mode "{enabled: true, error_mode: retry}" "{}" error_mode
bad_case bad_key "{enabled: true, max_itmes: 5}" "{}" max_itmes
bad_case bad_default "{enabled: true}" "{batching: {error_mode: sometimes}}" runtime.batching.error_mode deployment.yaml
ok "bad max_items, max_ms, error_mode, unknown keys and bad runtime defaults: exit 2 naming the component (or runtime.batching)"
pass
