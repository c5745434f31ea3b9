#!/usr/bin/env bash
# A component failing single events (ACRT_ERR via acrt_fail) does not stop the
# run: exit 0, the sink gets exactly the events that succeeded, and stderr has
# one structured (JSON) line at level warn or error per failed event, naming
# the component, the event id and the reason. With operator chaining on and off.
. "$(dirname "$0")/lib.sh" "$@"
ODD=$(plugin odd_fail) || exit 1

# errors_case CHAINING
errors_case() {
	local chaining=$1 d="$WORK/chaining-$1" name="run-chaining-$1"
	local M="$d/failed.txt"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: eventerrors
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100}}
    - name: picky
      implementation: plugin:$ODD#odd_fail
      config: {marker: $M}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: picky.input}
    - {from: picky.output, to: out.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: eventerrors
runtime: {chaining: $chaining}
YAML

	say "chaining $chaining: gen (100) -> picky (fails every odd seq) -> sink; stderr is a pipe, so logs are JSON"
	run_acrt "$name" 20 run "$d"
	expect_lost 50 "chaining $chaining: acrt run (50 failed events, no dead letter)" "$WORK/$name.err" failed

	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
seqs = [e.get("seq") for e in evs]
if seqs != list(range(2, 101, 2)):
    die("the sink should hold exactly seq 2, 4, ..., 100 in order, got %r" % seqs[:20])
' "$d/out.jsonl" || fail "chaining $chaining: the sink does not hold exactly the even events"
	ok "chaining $chaining: the sink holds exactly the 50 even events, in order"

	[ "$(lines "$M")" = 50 ] || fail "chaining $chaining: the plugin recorded $(lines "$M") failed events, expected 50" "$M"

	say "chaining $chaining: check the error log lines against the 50 failed events (seq, event id) the plugin recorded"
	py "$PY_PRELUDE"'
import re
failed = {}
for line in open(sys.argv[2]):
    seq, evid = line.split()
    failed[int(seq)] = int(evid)
recs = log_records(sys.argv[1])
if not recs:
    die("no JSON log line on stderr")
pat = re.compile(r"\bodd (\d+)(?!\d)")
seen = {}
for r in recs:
    vals = list(flat(r))
    hits = set(int(m.group(1)) for v in vals for m in pat.finditer(v))
    if not hits:
        continue
    if len(hits) != 1:
        die("one log line mentions several failures: %r" % r)
    seq = hits.pop()
    if seq in seen:
        die("two log lines for the failure of seq %d:\n  %r\n  %r" % (seq, seen[seq], r))
    seen[seq] = r
    if seq not in failed:
        die("a log line reports a failure of seq %d, which did not fail: %r" % (seq, r))
    if not any(re.fullmatch(r"picky([#\[:/.]\d+\]?)?", v) for v in vals):
        die("the error line does not name the component picky: %r" % r)
    evid = failed[seq]
    if not any(v in (str(evid), "%x" % evid, "%016x" % evid, "0x%x" % evid) for v in vals):
        die("the error line does not carry the event id %d: %r" % (evid, r))
    # The run goes on, so the runtime may log it as a warning; not below.
    if str(r.get("level", "")).lower() not in ("warn", "warning", "error", "err"):
        die("the log line of a failed event is not at level warn or error: %r" % r)
missing = sorted(set(failed) - set(seen))
if missing:
    die("no error log line for the failed events with seq %r" % missing[:10])
print("50 error lines; e.g. %s" % __import__("json").dumps(seen[1]))
' "$WORK/$name.err" "$M" || fail "chaining $chaining: the error log lines are wrong" "$WORK/$name.err"
	ok "chaining $chaining: exactly one JSON error line per failed event, with component, event id and reason"
}

for chaining in true false; do
	errors_case "$chaining"
done
pass
