#!/usr/bin/env bash
# JSON fidelity of the data path (issue 19, "Real JSON, exact and fast").
#
# json_fidelity.py generates a corpus into $WORK (big integers, long decimals,
# exponents beyond double, -0, \u0000, escapes, surrogate pairs, raw UTF-8,
# CRLF line ends, inner whitespace, 1024-deep nesting, a 50 MB line (50 MB *
# ACRT_TEST_SCALE, at least 1 MB), blank lines, and invalid lines mixed in),
# then checks what each run below wrote:
#
#  1. Source{file} -> Sink{file}: each output line is byte-identical to its
#     input line (LF-terminated; a CRLF line's CR is not part of the event);
#     blank lines are skipped; each invalid line is refused with a warning of
#     the source naming `line N` (N its 1-based line number), one per invalid
#     line, and every valid neighbour arrives.
#  2. The same through Filter{where: .id >= 0} (native), Filter{where: a jq
#     condition}, Router{one route to port `all`} and Transformer{} (no config):
#     byte-identical. The non-object file (values.jsonl) through 1 and Transformer{}.
#  3. Transformer{set, rename, drop}: compact output; input field order kept, a
#     renamed field in place, `set` in place or appended, dropped fields gone;
#     untouched values equal by Decimal value and by raw text.
#  4. Transformer{jq: .}: equal by Decimal value, every number with its input
#     text, strings with their code points. Transformer{jq: .x = 0.1 + 0.2 | ...}:
#     computed numbers in shortest round-trip form (0.30000000000000004).
#  5. Valid and invalid lines alternating: all valid ones arrive in order, each
#     invalid one is logged with its line number, exit 0; the `invalid_lines`
#     counter equals the number of invalid lines: in the final log line if it
#     carries one, and in the API (a second run with `follow: true`, so that the
#     process is still up to be asked; it must exit 0 on SIGTERM).
#
# Every run is made first and checked after, so that one failure does not hide
# the others; the checker prints which line, which pipeline, expected vs got (the
# first 5 problems of each; JSON_FIDELITY_SHOW=N for more; KEEP_WORK=1 keeps $WORK).
# `json_fidelity.py selftest DIR [BIG_LINE_BYTES]` checks the checker itself: the
# outputs of a correct runtime pass, near misses fail (by hand; 2000000: ~3 s).
. "$(dirname "$0")/lib.sh" "$@"

FID="$(cd "$(dirname "$0")" && pwd)/json_fidelity.py"
# The big line: 50 MB; smaller under ACRT_TEST_SCALE (the TSan build runs with 0.05).
BIG=$("$PY" -c "print(max(1000000, int(50000000 * ${ACRT_TEST_SCALE:-1})))")
T0=$(date +%s%N)
"$PY" "$FID" gen "$WORK" "$BIG" || fail "json_fidelity.py gen failed (harness)"
# mixed_count KIND: how many lines of mixed.jsonl are KIND (valid, invalid)
mixed_count() {
	py 'import json, sys
print(sum(e["kind"] == sys.argv[2] for e in json.load(open(sys.argv[1]))["mixed"]))' "$WORK/meta.json" "$1"
}
N_MIXED_VALID=$(mixed_count valid)
N_MIXED_INVALID=$(mixed_count invalid)

RUNS="$WORK/runs.tsv"
: >"$RUNS"
FAILED=""

# deployment DIR [EXTRA_API_YAML]: JSON logs, the API on a port of the kernel's choice.
deployment() {
	cat >"$1/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: fidelity
runtime:
  api: {listen: "127.0.0.1:0"${2:+, $2}}
  logging: {format: json}
YAML
}

# pipeline NAME INPUT SRC_EXTRA OUT_PORT TYPE CONFIG [SIDE_PORT...]
#   writes $WORK/NAME/: Source `src` (file ../INPUT.jsonl) -> `mid` (TYPE with
#   CONFIG; none when TYPE is empty) -> Sink `out` (out.jsonl) from port OUT_PORT;
#   each SIDE_PORT of mid (error, rejected, default) to its own file sink.
#   $API_EXTRA, if set, goes into runtime.api. Validates it (a refusal stops the test).
pipeline() {
	local name=$1 input=$2 srcx=$3 port=$4 type=$5 config=$6
	shift 6
	local d="$WORK/$name" p
	mkdir -p "$d"
	{
		cat <<YAML
schema_version: "1.0.0"
system:
  name: fidelity
  components:
    - {name: src, type: Source, config: {source: file, path: ../$input.jsonl$srcx}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
YAML
		if [ -n "$type" ]; then
			echo "    - {name: mid, type: $type, config: $config}"
			for p in "$@"; do
				echo "    - {name: side_$p, type: Sink, config: {sink: file, path: $p.jsonl}}"
			done
			echo "  bindings:"
			echo "    - {from: src.output, to: mid.input}"
			echo "    - {from: mid.$port, to: out.input}"
			for p in "$@"; do
				echo "    - {from: mid.$p, to: side_$p.input}"
			done
		else
			echo "  bindings:"
			echo "    - {from: src.output, to: out.input}"
		fi
	} >"$d/architecture.yaml"
	deployment "$d" "${API_EXTRA:-}"
	run_acrt "validate-$name" 20 validate "$d"
	# a blueprint acrt refuses is a problem of this test or of validate: stop here
	[ "$RC" = 0 ] || fail "$name: acrt validate exited $RC" "$WORK/validate-$name.err" "$d/architecture.yaml"
}

# run_pipeline NAME INPUT KIND LOGCHECK: runs the pipeline NAME (deadline 60 s)
# and records it for the checker (KIND and LOGCHECK: see json_fidelity.py).
run_pipeline() {
	local name=$1 input=$2 kind=$3 logcheck=$4 t
	t=$(date +%s%N)
	run_acrt "$name" 60 run --quiet "$WORK/$name"
	say "  ran $name: exit $RC in $((($(date +%s%N) - t) / 1000000)) ms"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$input" "$kind" "$logcheck" "$RC" \
		"$WORK/$name" "$WORK/$name.err" >>"$RUNS"
}

say "corpus generated in $((($(date +%s%N) - T0) / 1000000)) ms; running the pipelines"

# 1. source -> sink
pipeline plain corpus "" output "" ""
run_pipeline plain corpus identical 1
pipeline plain_values values "" output "" ""
run_pipeline plain_values values identical 1

# 2. byte-identical through Filter (native and jq), Router, Transformer{}
pipeline filter_native corpus "" output Filter "{where: '.id >= 0'}" rejected error
run_pipeline filter_native corpus identical 0
pipeline filter_jq corpus "" output Filter "{where: '(.id | tostring | length) > 0'}" rejected error
run_pipeline filter_jq corpus identical 0
pipeline router corpus "" all Router "{routes: [{when: '.id >= 0', to: all}]}" default error
run_pipeline router corpus identical 0
pipeline xf_none corpus "" output Transformer "{}" error
run_pipeline xf_none corpus identical 0
pipeline xf_none_values values "" output Transformer "{}" error
run_pipeline xf_none_values values identical 0

# 3. set / rename / drop
pipeline xf_edit corpus "" output Transformer "{set: {tag: x}, rename: {v: value}, drop: [gone]}" error
run_pipeline xf_edit corpus transform 0

# 4. jq
pipeline jq_dot corpus "" output Transformer "{jq: '.'}" error
run_pipeline jq_dot corpus jq_dot 0
pipeline jq_dot_values values "" output Transformer "{jq: '.'}" error
run_pipeline jq_dot_values values jq_dot 0
pipeline jq_arith corpus "" output Transformer "{jq: '.x = 0.1 + 0.2 | .y = 1/3 | .z = 100 * 3'}" error
run_pipeline jq_arith corpus jq_arith 0

# 5. alternating valid / invalid lines
pipeline mixed mixed "" output "" ""
run_pipeline mixed mixed identical 1

say "checking $(wc -l <"$RUNS") runs"
if "$PY" "$FID" check "$WORK" "$RUNS" >"$WORK/check.txt" 2>&1; then
	sed 's/^/    /' "$WORK/check.txt"
	ok "every pipeline keeps the JSON exactly (see above)"
else
	sed 's/^/    /' "$WORK/check.txt"
	FAILED="$FAILED; $(tail -n 1 "$WORK/check.txt" | sed 's/^json_fidelity: //') ($(sed -n 's/^FAIL \([^ ]*\) .*/\1/p' "$WORK/check.txt" | paste -sd, -))"
	say "  FAILED: the pipelines marked FAIL above"
fi

# 5b. the invalid_lines counter, read from the API while the source follows the
# file (the process stays up until SIGTERM; it must then exit 0).
# counter_ok ADDR TOKEN_FILE WANT: GET /api/v1/components/src into $WORK/src.json;
# true when its counters.invalid_lines is WANT.
# shellcheck disable=SC2317 # called through wait_alive
counter_ok() {
	curl -s --max-time 5 -H "Authorization: Bearer $(cat "$2")" \
		"http://$1/api/v1/components/src" >"$WORK/src.json" &&
		py 'import json, sys
c = json.load(open(sys.argv[1])).get("counters") or {}
sys.exit(0 if c.get("invalid_lines") == int(sys.argv[2]) else 1)' "$WORK/src.json" "$3"
}

counter_check() {
	local d="$WORK/mixed_follow" addr got
	mkdir -p "$d"
	echo "read-$RANDOM-$RANDOM" >"$d/read.token"
	API_EXTRA="auth: {read_token_file: read.token}" pipeline mixed_follow mixed ", follow: true" output "" ""
	if ! command -v curl >/dev/null; then
		say "  skipped: no curl for the counter check (the warnings were counted above)"
		return 0
	fi
	start_acrt mixed_follow run --quiet "$d"
	if ! wait_alive "$PID" 20 has_lines "$d/out.jsonl" "$N_MIXED_VALID"; then
		FAILED="$FAILED; follow run: out.jsonl has $(lines "$d/out.jsonl") lines, expected $N_MIXED_VALID"
		say "  FAILED: follow run: $(lines "$d/out.jsonl") of $N_MIXED_VALID valid lines arrived"
		_show "$WORK/mixed_follow.err"
		return 0
	fi
	addr=$(grep -o 'api listening on http://[^ "]*' "$WORK/mixed_follow.err" | head -n 1 | sed 's|.*http://||')
	if wait_alive "$PID" 10 counter_ok "$addr" "$d/read.token" "$N_MIXED_INVALID"; then
		ok "follow run: counters.invalid_lines = $N_MIXED_INVALID in /api/v1/components/src"
	else
		got=$(py 'import json, sys
try:
    print(json.dumps(json.load(open(sys.argv[1])).get("counters")))
except Exception as e:
    print("no answer (%s)" % e)' "$WORK/src.json")
		FAILED="$FAILED; /api/v1/components/src counters $got, expected invalid_lines $N_MIXED_INVALID"
		say "  FAILED: /api/v1/components/src: counters $got; expected invalid_lines = $N_MIXED_INVALID"
	fi
	kill -TERM "$PID"
	if ! wait_exit "$PID" 20; then
		FAILED="$FAILED; follow run did not exit within 20 s of SIGTERM"
		say "  FAILED: follow run did not exit within 20 s of SIGTERM"
	elif [ "$RC" != 3 ]; then # the invalid lines are lost input (docs/CLI.md)
		FAILED="$FAILED; follow run exited $RC after SIGTERM, expected 3"
		say "  FAILED: follow run exited $RC after SIGTERM, expected 3 (invalid lines skipped)"
		_show "$WORK/mixed_follow.err"
	else
		ok "follow run: exit 3 after SIGTERM (its invalid lines skipped)"
	fi
}
counter_check

say "total $((($(date +%s%N) - T0) / 1000000)) ms"
[ -z "$FAILED" ] || fail "JSON fidelity: ${FAILED#; }"
pass
