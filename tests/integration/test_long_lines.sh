#!/usr/bin/env bash
# A line longer than the Source's max_line_bytes (64 MiB by default) is
# skipped with a warning naming its line number and length, and counted; the
# lines after it go on, and the run ends with exit 0 (it used to stop the whole
# system with "out of memory", exit 1). Both a line that fits in the read
# buffer and one far larger than it, and the last line of a file without a
# newline.
. "$(dirname "$0")/lib.sh" "$@"

# The API on a free port, not the default one other tests may hold.
api_port() {
	printf 'schema_version: "1.0.0"\nruntime: {api: {listen: "127.0.0.1:%s"}}\n' "$(free_port)" >"$1/deployment.yaml"
}

# long_case NAME MAX_LINE_BYTES_CONFIG BIG_BYTES SKIPPED_LINES
long_case() {
	local name=$1 cfg=$2 big=$3 skipped=$4 d="$WORK/$1"
	mkdir -p "$d"
	py '
import sys
big = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("{\"seq\":1}\n")
    f.write("{\"a\":\"" + "x" * 5000 + "\"}\n")
    f.write("{\"seq\":2}\n")
    f.write("{\"b\":\"" + "y" * big + "\"}\n")
    f.write("{\"seq\":3}\n")
    f.write("{\"c\":\"" + "z" * 6000 + "\"}")
' "$d/in.jsonl" "$big"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: longlines
  components:
    - {name: intake, type: Source, config: {source: file, path: in.jsonl$cfg}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: intake.output, to: out.input}
YAML
	api_port "$d"
	run_acrt "$name" 60 run --quiet "$d"
	# the long lines are lost input: exit 3, each counted in skipped_input
	expect_lost "$skipped" "$name: acrt run" "$WORK/$name.err" skipped_input
}

say "max_line_bytes: 4096: lines 2 (5 KB), 4 (1 MB) and 6 (6 KB, no newline) are too long"
long_case small ", max_line_bytes: 4096" 1000000 3
[ "$(cat "$WORK/small/out.jsonl")" = $'{"seq":1}\n{"seq":2}\n{"seq":3}' ] ||
	fail "the sink should hold exactly seq 1, 2, 3" "$WORK/small/out.jsonl"
for l in 2 4 6; do
	grep -q "line $l is longer than max_line_bytes=4096 ([0-9]* bytes); skipped" "$WORK/small.err" ||
		fail "no warning naming line $l" "$WORK/small.err"
done
grep -q 'line 4 is longer than max_line_bytes=4096 (1000008 bytes)' "$WORK/small.err" ||
	fail "the warning does not give line 4's length" "$WORK/small.err"
ok "the three long lines skipped, each named with its length; the others delivered in order"

say "the default limit (64 MiB): a 65 MiB line is skipped, the run goes on"
long_case default "" $((65 * 1024 * 1024)) 1
py '
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [{"seq": 1}, {"a": "x" * 5000}, {"seq": 2}, {"seq": 3}, {"c": "z" * 6000}]
if got != want:
    sys.exit("the sink holds %r" % [str(g)[:20] for g in got])
' "$WORK/default/out.jsonl" || fail "the sink should hold every line but the 65 MiB one" "$WORK/default/out.jsonl"
grep -q 'line 4 is longer than max_line_bytes=67108864 (68157448 bytes); skipped' "$WORK/default.err" ||
	fail "no warning for the 65 MiB line" "$WORK/default.err"
ok "a 65 MiB line skipped under the default limit, exit 3 (counted), the lines after it delivered"
pass
