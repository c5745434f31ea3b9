#!/usr/bin/env bash
# The capability chain end to end (docs/CAPABILITIES_2.md): schema_validator on
# an input port sends invalid events to the dead letter; strict output
# validation fails the emit; retry + dead_letter carry the attempt count
# (retryable: max_attempts, non-retryable: 1); each with operator chaining on
# and off; a dead_letter.to naming an unknown component is rejected (exit 2,
# line:col, did-you-mean). Dead-letter headers are read by the cap_dlq_sink
# test plugin (one JSON line per event); failures come from cap_flaky.
. "$(dirname "$0")/lib.sh" "$@"
DLQ=$(plugin cap_dlq_sink) || exit 1
FLAKY=$(plugin cap_flaky) || exit 1

# system DIR CHAINING WORK_COMPONENT_YAML (the `work` component, indented 4)
system() {
	local d=$1 chaining=$2 work=$3
	mkdir -p "$d"
	rm -f "$d/out.jsonl" "$d/dlq.jsonl"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: capchain
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: ${COUNT:-100}}}
$work
    - name: out
      type: Sink
      config: {sink: file, path: out.jsonl}
    - name: dlq
      implementation: plugin:$DLQ#cap_dlq_sink
      config: {path: dlq.jsonl}
      outputs: []
  bindings:
    - {from: gen.output, to: work.input}
    - {from: work.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: capchain
runtime: {chaining: $chaining, logging: {level: warn, format: json}}
YAML
}

# check_dlq DIR WANT_SEQS_PY HEADER_CHECKS_PY: every dead-letter line carries
# the original payload and the acrt-* headers; the seqs are WANT_SEQS_PY.
check() {
	py "$PY_PRELUDE"'
d, want_out, want_dlq, capability, attempts, needles = sys.argv[1:7]
want_out, want_dlq = eval(want_out), eval(want_dlq)
out = load(d + "/out.jsonl") if want_out else []
if sorted(e["seq"] for e in out) != want_out:
    die("out: seqs %r, expected %r" % (sorted(e["seq"] for e in out), want_out))
dl = load(d + "/dlq.jsonl")
seqs = []
for x in dl:
    p = json.loads(x["payload"])
    seqs.append(p["seq"])
    h = x["headers"]
    if x["content_type"] != "application/json":
        die("content type not kept: %r" % x)
    for k in ("acrt-error", "acrt-error-code", "acrt-component", "acrt-capability",
              "acrt-attempts", "acrt-original-event-id"):
        if k not in h:
            die("header %s missing: %r" % (k, x))
    if h["acrt-component"] != "work":
        die("acrt-component: %r" % x)
    if h["acrt-capability"] != capability:
        die("acrt-capability %r, expected %r: %r" % (h["acrt-capability"], capability, x))
    if h["acrt-attempts"] != attempts:
        die("acrt-attempts %r, expected %r: %r" % (h["acrt-attempts"], attempts, x))
    if not h["acrt-original-event-id"].isdigit() or int(h["acrt-original-event-id"]) == 0:
        die("acrt-original-event-id: %r" % x)
    for n in needles.split("|"):
        n = n.replace("SEQ", str(p["seq"]))
        if n not in h["acrt-error"]:
            die("acrt-error %r does not name %r" % (h["acrt-error"], n))
if sorted(seqs) != want_dlq:
    die("dead letter: seqs %r, expected %r" % (sorted(seqs), want_dlq))
' "$@"
}

retry_ready=1
if ! grep -q '\.around_process' "$SRC/src/capability/retry.c"; then
	retry_ready=0
fi

for chaining in true false; do
	say "chaining: $chaining"

	# ---- (a) schema_validator on an input port -> dead letter ----------------
	d="$WORK/schema-$chaining"
	system "$d" "$chaining" '    - name: work
      type: Transformer
      inputs: [{name: input, schema: {type: object, required: [seq], properties: {seq: {type: integer, maximum: 50}}}}]
      capabilities:
        schema_validator: {}
        dead_letter: {to: dlq.input}'
	run_acrt "schema-$chaining" 30 run "$d"
	expect_rc 0 "schema_validator run" "$WORK/schema-$chaining.err"
	check "$d" "list(range(1, 51))" "list(range(51, 101))" schema_validator 0 "/seq: maximum 50, got SEQ" ||
		fail "schema_validator + dead_letter (chaining $chaining)" "$d/dlq.jsonl" "$WORK/schema-$chaining.err"
	ok "100 events: 1..50 pass to the sink, 51..100 reach the dead letter with '/seq: maximum 50, got N' (what was expected and what came), capability schema_validator, attempts 0"

	# ---- strict: an output that breaks its port's schema fails the emit -------
	d="$WORK/strict-$chaining"
	COUNT=10 system "$d" "$chaining" '    - name: work
      type: Transformer
      config: {set: {bad: 1}}
      outputs: [{name: output, schema: {type: object, properties: {bad: {type: string}}}}]
      capabilities:
        schema_validator: {strict: true}
        dead_letter: {to: dlq.input}'
	run_acrt "strict-$chaining" 30 run "$d"
	expect_rc 0 "strict run" "$WORK/strict-$chaining.err"
	check "$d" "[]" "list(range(1, 11))" schema_validator 1 "schema_validator|output 'output'|/bad: type" ||
		fail "strict output validation (chaining $chaining)" "$d/dlq.jsonl" "$WORK/strict-$chaining.err"
	[ "$(lines "$d/out.jsonl")" = 0 ] || fail "strict: invalid outputs reached the sink" "$d/out.jsonl"
	ok "strict: every emit breaking the output schema fails; the events reach the dead letter naming '/bad: type'"

	# ---- (b) retry + dead_letter ---------------------------------------------
	if [ "$retry_ready" = 0 ]; then
		say "SKIP retry + dead_letter: src/capability/retry.c has no around_process yet"
		continue
	fi
	for retryable in true false; do
		d="$WORK/retry-$retryable-$chaining"
		want=1
		[ "$retryable" = true ] && want=3
		COUNT=20 system "$d" "$chaining" "    - name: work
      implementation: plugin:$FLAKY#cap_flaky
      config: {fail_every: 5, retryable: $retryable}
      capabilities:
        retry: {max_attempts: 3, initial_delay_ms: 1, max_delay_ms: 2}
        dead_letter: {to: dlq}"
		run_acrt "retry-$retryable-$chaining" 30 run "$d"
		expect_rc 0 "retry run (retryable $retryable)" "$WORK/retry-$retryable-$chaining.err"
		check "$d" "[s for s in range(1, 21) if s % 5]" "[5, 10, 15, 20]" component "$want" "flaky SEQ" ||
			fail "retry + dead_letter (retryable $retryable, chaining $chaining)" "$d/dlq.jsonl" \
				"$WORK/retry-$retryable-$chaining.err"
		ok "retryable $retryable: 16 events pass, 5/10/15/20 reach the dead letter with acrt-attempts $want and the component's reason"
	done

	# ---- per_item batches: a failing event reaches the dead letter on its own --
	d="$WORK/batch-$chaining"
	COUNT=20 system "$d" "$chaining" "    - name: work
      implementation: plugin:$FLAKY#cap_flaky
      config: {fail_every: 5, retryable: false}
      batching: {enabled: true, max_items: 8, error_mode: per_item}
      capabilities:
        dead_letter: {to: dlq}"
	run_acrt "batch-$chaining" 30 run "$d"
	expect_rc 0 "per_item batch run" "$WORK/batch-$chaining.err"
	check "$d" "[s for s in range(1, 21) if s % 5]" "[5, 10, 15, 20]" component 1 "flaky SEQ" ||
		fail "per_item batch + dead_letter (chaining $chaining)" "$d/dlq.jsonl" "$WORK/batch-$chaining.err"
	ok "per_item batches: the 4 failing events alone reach the dead letter, the 16 others pass"
done

# ---- (e) a dead letter into the built-in file Sink: envelopes by default ------
d="$WORK/envelope"
mkdir -p "$d"
cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: envelope
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 20, payload: {price: 35.376, id: 12345678901234567890}}}
    - name: work
      type: Transformer
      inputs: [{name: input, schema: {type: object, properties: {seq: {maximum: 15}}}}]
      capabilities:
        schema_validator: {}
        dead_letter: {to: dlq.input}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - {name: dlq, type: Sink, config: {sink: file, path: dlq.jsonl}}
    - {name: dlq_lines, type: Sink, config: {sink: file, path: dlq_lines.jsonl, format: lines}}
    - name: work2
      type: Transformer
      inputs: [{name: input, schema: {type: object, properties: {seq: {maximum: 15}}}}]
      capabilities:
        schema_validator: {}
        dead_letter: {to: dlq_lines.input}
  bindings:
    - {from: gen.output, to: work.input}
    - {from: work.output, to: out.input}
    - {from: gen.output, to: work2.input}
    - {from: work2.output, to: out.input}
YAML
printf 'schema_version: "1.0.0"\nruntime: {logging: {format: json}}\n' >"$d/deployment.yaml"
run_acrt envelope 30 run "$d"
expect_rc 0 "dead letters into file sinks (nothing lost)" "$WORK/envelope.err"
py "$PY_PRELUDE"'
import re
d = sys.argv[1]
env = load(d + "/dlq.jsonl")
if [e["payload"]["seq"] for e in env] != list(range(16, 21)):
    die("the envelope sink should hold seq 16..20: %r" % env)
raw = open(d + "/dlq.jsonl").read()
if "\"price\":35.376" not in raw or "12345678901234567890" not in raw:
    die("the payload is not embedded as it came: %r" % raw[:300])
for e in env:
    h = e["headers"]
    if h.get("acrt-error") != "/seq: maximum 15, got %d" % e["payload"]["seq"] or \
            h.get("acrt-capability") != "schema_validator" or h.get("acrt-attempts") != "0" or \
            not h.get("acrt-original-event-id", "").isdigit() or \
            not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", h.get("acrt-failed-at", "")) or \
            not isinstance(e.get("event_id"), int):
        die("envelope without its reason, capability, attempts, original id or time: %r" % e)
lines = load(d + "/dlq_lines.jsonl")
if [e.get("seq") for e in lines] != list(range(16, 21)) or "headers" in lines[0]:
    die("format: lines should hold the payloads alone: %r" % lines)
' "$d" || fail "dead-letter envelopes" "$d/dlq.jsonl" "$WORK/envelope.err"
ok "a dead-letter file sink writes envelopes (reason, capability, attempts, original id, time); format: lines the payloads"

# ---- (d) dead_letter.to naming an unknown component ---------------------------
d="$WORK/invalid"
system "$d" true '    - name: work
      type: Transformer
      capabilities:
        dead_letter: {to: dlqq.input}'
run_acrt invalid 10 validate "$d"
expect_rc 2 "dead_letter.to unknown component" "$WORK/invalid.err"
line=$(grep -n 'dlqq.input' "$d/architecture.yaml" | cut -d: -f1)
grep -q "architecture.yaml:$line:[0-9]*: dead_letter.to: unknown component 'dlqq' (did you mean 'dlq'?)" \
	"$WORK/invalid.err" || fail "no line:col error naming 'dlqq' with a hint" "$WORK/invalid.err"
run_acrt invalid-run 10 run "$d"
expect_rc 2 "run refuses it too" "$WORK/invalid-run.err"
ok "dead_letter.to: unknown component -> exit 2 at line $line with did-you-mean"

pass
