#!/usr/bin/env bash
# Repeated per-event failures are rate-limited per (component, reason): at most
# 100 lines a second, then one line saying how many similar ones were
# suppressed (docs/RELIABILITY.md). The counters stay exact: the final line
# counts every failed event, and logged + suppressed lines add up to them.
# Two sites: a Filter whose condition fails every event (the runtime's error
# report), and a file Source reading invalid lines (a component's acrt_log).
. "$(dirname "$0")/lib.sh" "$@"

# The API on a free port, not the default one other tests may hold.
api_port() {
	printf 'schema_version: "1.0.0"\nruntime: {api: {listen: "127.0.0.1:%s"}}\n' "$(free_port)" >"$1/deployment.yaml"
}

N=50000
d="$WORK/flood"
mkdir -p "$d"
cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: flood
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $N}}
    - {name: check, type: Filter, config: {where: '.seq | error("bad seq")'}}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: check.input}
    - {from: check.output, to: out.input}
YAML
api_port "$d"
say "a Filter failing each of $N events"
run_acrt flood 60 run --quiet "$d"
expect_rc 3 "acrt run (events failed without a dead letter: lost)" "$WORK/flood.err"
py "$PY_PRELUDE"'
import os
n = int(sys.argv[2])
recs = log_records(sys.argv[1])
fin = [r for r in recs if "finished" in str(r.get("msg"))]
if not fin or fin[-1].get("failed") != n or fin[-1].get("lost") != n:
    die("the final line should count %d failed and lost events: %r" % (n, fin[-1:]))
secs = fin[-1].get("seconds", 0)
fails = [r for r in recs if r.get("component") == "check" and r.get("level") == "warn"]
logged = [r for r in fails if "suppressed" not in r and "bad seq" in str(r.get("msg"))]
summ = [r for r in fails if "suppressed" in r]
suppressed = sum(r["suppressed"] for r in summ)
if len(logged) + suppressed != n:
    die("%d lines logged + %d suppressed != %d failed events" % (len(logged), suppressed, n))
if len(logged) > 100 * (1 + int(secs)):
    die("%d lines logged in %.2f s: more than 100 a second" % (len(logged), secs))
if not summ or "similar lines suppressed" not in summ[-1]["msg"] or "bad seq" not in summ[-1]["msg"]:
    die("no summary line naming the suppressed reason: %r" % summ[-1:])
size = os.path.getsize(sys.argv[1])
if size > 1 << 20:
    die("stderr holds %d bytes for %d failed events: more than 1 MB" % (size, n))
print("%d logged, %d suppressed in %d summary line(s), %d bytes of log" % (len(logged), suppressed, len(summ), size))
' "$WORK/flood.err" "$N" || fail "the failure lines are not rate-limited as documented" "$WORK/flood.err"
ok "$N failed events: at most 100 lines a second, the rest counted in 'suppressed' lines; errors exact"

M=2000
d="$WORK/badlines"
mkdir -p "$d"
{
	for i in $(seq 1 $M); do echo "{not json $i"; done
	echo '{"seq": 1}'
} >"$d/in.jsonl"
cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: badlines
  components:
    - {name: intake, type: Source, config: {source: file, path: in.jsonl}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: intake.output, to: out.input}
YAML
api_port "$d"
say "a file Source reading $M invalid lines and one valid one"
run_acrt badlines 60 run --quiet "$d"
expect_lost "$M" "acrt run (invalid lines skipped: lost input)" "$WORK/badlines.err" skipped_input
[ "$(lines "$d/out.jsonl")" = 1 ] || fail "the valid line did not reach the sink" "$d/out.jsonl"
py "$PY_PRELUDE"'
m = int(sys.argv[2])
recs = [r for r in log_records(sys.argv[1]) if r.get("component") == "intake"]
logged = [r for r in recs if "suppressed" not in r and "is not valid JSON" in str(r.get("msg"))]
suppressed = sum(r.get("suppressed", 0) for r in recs)
if len(logged) + suppressed != m:
    die("%d lines logged + %d suppressed != %d invalid lines" % (len(logged), suppressed, m))
if len(logged) > 200:
    die("%d invalid-line warnings: not rate-limited" % len(logged))
' "$WORK/badlines.err" "$M" || fail "the invalid-line warnings are not rate-limited" "$WORK/badlines.err"
ok "$M invalid lines: the warnings rate-limited, each one logged or counted as suppressed"
pass
