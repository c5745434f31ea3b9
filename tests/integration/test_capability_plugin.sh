#!/usr/bin/env bash
# A capability written as a plugin (plugin:PATH#SYMBOL under capabilities:):
# it runs at its declared tier (45: after retry, before dead_letter, as
# build.lock shows), its hooks see every delivery in order, a failure it
# raises reaches the dead letter in its name, and a bad ABI is refused.
. "$(dirname "$0")/lib.sh" "$@"

AUDIT=$(plugin cap_audit)
DLQ=$(plugin cap_dlq_sink)
for chaining in true false; do
	d="$WORK/plug-$chaining"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: capplug
  components:
    - {name: src, type: Source, config: {generator: sequence, count: 20}}
    - name: work
      type: Transformer
      config: {set: {seen: true}}
      capabilities:
        "plugin:$AUDIT#audit": {path: "$d/audit.log", fail_every: 10}
        retry: {max_attempts: 2, initial_delay_ms: 1}
        dead_letter: {to: dlq.input}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
    - name: dlq
      implementation: plugin:$DLQ#cap_dlq_sink
      config: {path: "$d/dlq.jsonl"}
  bindings:
    - {from: src.output, to: work.input}
    - {from: work.output, to: out.input}
YAML
	printf 'schema_version: "1.0.0"\nsystem_name: capplug\nruntime: {chaining: %s}\n' \
		"$chaining" >"$d/deployment.yaml"

	say "chaining $chaining: lock order, hooks, failures in the plugin's name"
	run_acrt "lock-$chaining" 20 lock "$d"
	expect_rc 0 "acrt lock" "$WORK/lock-$chaining.err"
	py '
import json, sys
lock = json.load(open(sys.argv[1]))
chain = lock["components"]["work"]
names = [c.split("#")[-1] if c.startswith("plugin:") else c for c in chain]
if names != ["retry", "audit", "dead_letter", "metrics"]:
    sys.exit("work chain in build.lock is %r" % chain)
if not any(p.endswith("libcap_audit.so") for p in lock["plugins"]):
    sys.exit("the capability plugin is not pinned: %r" % lock["plugins"])
' "$d/build.lock" || fail "build.lock does not place the plugin at tier 45" "$d/build.lock"
	ok "build.lock: retry (40) < audit (45) < dead_letter (80) < metrics; the .so is pinned"

	run_acrt "run-$chaining" 30 run "$d"
	expect_rc 0 "acrt run" "$WORK/run-$chaining.err"
	py '
import json, sys
out = [json.loads(l)["seq"] for l in open(sys.argv[1])]
if sorted(out) != [s for s in range(1, 21) if s % 10]:
    sys.exit("sink holds %r" % out)
dlq = [json.loads(l) for l in open(sys.argv[2])]
if sorted(json.loads(e["payload"])["seq"] for e in dlq) != [10, 20]:
    sys.exit("dead letter holds %r" % dlq)
for e in dlq:
    h = e["headers"]
    if h.get("acrt-capability") != "audit" or "audit refuses" not in h.get("acrt-error", ""):
        sys.exit("dead-letter headers %r" % h)
log = open(sys.argv[3]).read().split("\n")
# one successful delivery: before_receive, around enter (0 attempts), the emit, around leave
i = log.index("before_receive seq=1")
if log[i + 1:i + 4] != ["around enter attempts=0", "after_send port=output", "around leave rc=0 attempts=1"]:
    sys.exit("hook order for seq 1: %r" % log[i:i + 4])
if log.count("on_failure rc=-1") != 2:
    sys.exit("on_failure calls: %d" % log.count("on_failure rc=-1"))
' "$d/out.jsonl" "$d/dlq.jsonl" "$d/audit.log" ||
		fail "capability plugin behaviour (chaining $chaining)" "$d/audit.log" "$WORK/run-$chaining.err"
	ok "18 events pass, seq 10 and 20 reach the dead letter in audit's name; hooks in order"
done

say "a capability plugin with a foreign ABI is refused at validation"
sed -i 's/#audit"/#audit_bad_abi"/' "$WORK/plug-true/architecture.yaml"
run_acrt badabi 20 validate "$WORK/plug-true"
expect_rc 2 "acrt validate" "$WORK/badabi.err"
grep -q "ABI version 99.0" "$WORK/badabi.err" || fail "no ABI message" "$WORK/badabi.err"
grep -q "architecture.yaml:[0-9]*:[0-9]*:" "$WORK/badabi.err" || fail "no line:col" "$WORK/badabi.err"
ok "exit 2 naming the ABI, with line and column"
pass
