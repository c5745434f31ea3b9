#!/usr/bin/env bash
# `acrt test` (docs/TESTING.md): the examples' tests pass; the fixture
# tests/blueprints/acrt-test has passing tests (built-ins, the enrich plugin, a
# schema check with its dead letter, a sub-graph, exact numbers), failing ones
# (exit 1, a difference per port and per event; an unbounded source stopped
# past timeout_ms) and bad files (exit 2, file:line:col messages). The tests run without the system's sources and sinks.
. "$(dirname "$0")/lib.sh" "$@"

ENRICH="$BUILD/examples/libenrich.so"
[ -f "$ENRICH" ] || fail "$ENRICH is missing (build the examples: make)"
TRACK=$(plugin track)

# has OUTFILE TEXT: the file holds the line TEXT (fixed string, whole line).
has() { grep -qxF -- "$2" "$1" || fail "expected the line: $2" "$1"; }

say "the quickstart's tests, on a copy whose plugin path is the build's"
mkdir -p "$WORK/qs"
cp -r "$SRC/examples/quickstart/architecture.yaml" "$SRC/examples/quickstart/deployment.yaml" \
	"$SRC/examples/quickstart/tests" "$WORK/qs/"
sed -i "s|plugin:../../build/examples/libenrich.so|plugin:$ENRICH|" "$WORK/qs/architecture.yaml"
grep -q "plugin:$ENRICH#enrich" "$WORK/qs/architecture.yaml" || fail "could not point the quickstart at $ENRICH"
(cd "$WORK/qs" && timeout -k 2 60 "$ACRT" test >"$WORK/qs.out" 2>"$WORK/qs.err")
RC=$?
expect_rc 0 "acrt test (the quickstart, in its directory)" "$WORK/qs.out" "$WORK/qs.err"
[ "$(grep -c '^PASS tests/quickstart.yaml:' "$WORK/qs.out")" = 3 ] || fail "expected 3 PASS lines" "$WORK/qs.out"
has "$WORK/qs.out" "3 test(s): 3 passed, 0 failed"
[ ! -e "$WORK/qs/out" ] || fail "the quickstart's sink ran: $WORK/qs/out exists"
[ ! -e "$WORK/qs/state" ] || fail "a test stored checkpoints: $WORK/qs/state exists"
ok "3 tests passed; the source, the sink and the checkpoints did not run"
run_acrt qs-file 60 test "$WORK/qs/architecture.yaml"
expect_rc 0 "acrt test QUICKSTART/architecture.yaml (its tests/ beside it)" "$WORK/qs-file.out" "$WORK/qs-file.err"
has "$WORK/qs-file.out" "PASS $WORK/qs/tests/quickstart.yaml:27:5: reshape then enrich, as wired in the blueprint (1 in, 1 out)"

say "the fixture, on a copy whose plugin path is the build's"
cp -r "$SRC/tests/blueprints/acrt-test" "$WORK/fx"
sed -i -e "s|@ENRICH@|$ENRICH|" -e "s|@TRACK@|$TRACK|" "$WORK/fx/architecture.yaml"
run_acrt pass 60 test "$WORK/fx"
expect_rc 0 "acrt test (the fixture's tests/)" "$WORK/pass.out" "$WORK/pass.err"
has "$WORK/pass.out" "11 test(s): 11 passed, 0 failed"
has "$WORK/pass.out" "PASS $WORK/fx/tests/pass.yaml:41:5: a sub-graph, its bindings taken from the blueprint (4 in, 4 out)"
has "$WORK/pass.out" "PASS $WORK/fx/tests/pass.yaml:56:5: the schema check sends an invalid event to the dead letter (3 in, 3 out)"
has "$WORK/pass.out" "PASS $WORK/fx/tests/pass.yaml:77:5: a component with two inputs takes them in the order of the file (10 in, 10 out)"
has "$WORK/pass.out" "PASS $WORK/fx/tests/pass.yaml:97:5: input as segments, fed in turn, a port coming back (4 in, 4 out)"
has "$WORK/pass.out" "PASS $WORK/fx/tests/pass.yaml:106:5: numbers compared by value, exactly (1 in, 1 out)"
has "$WORK/pass.out" "PASS $WORK/fx/tests/pass.yaml:114:5: an aggregate's windows, at the end of the input, checked in part (4 in, 2 out)"
ok "11 tests passed, one line each"

say "failing tests: exit 1, a difference per port and per event"
run_acrt failing 60 test "$WORK/fx" -t "$WORK/fx/failing"
expect_rc 1 "acrt test (failing/)" "$WORK/failing.out" "$WORK/failing.err"
F="$WORK/failing.out"
has "$F" "8 test(s): 0 passed, 8 failed"
has "$F" "      expected an event holding {\"key\":\"a\",\"v_count\":2}"
has "$F" "        .v_count: expected 2, got 1"
has "$F" "        .big: expected 1e29, got 100000000000000000000000000001"
has "$F" "FAIL $WORK/fx/failing/failing.yaml:4:5: a number off by one past 64 bits"
has "$F" "        .big: expected 12345678901234567891, got 12345678901234567890"
grep -q 'price' <(grep '^        \.' "$F") && fail "0.10 and 0.1 are the same number: no difference expected" "$F"
has "$F" "  gate.output event 2: not expected"
has "$F" "  gate.rejected event 1 (line 18): missing"
has "$F" "      expected an event where .currency == \"EUR\""
has "$F" "      got      {\"amount\":2,\"currency\":\"USD\",\"amount_cents\":200}"
has "$F" "  route.a event 1 (line 33):"
has "$F" "    expected event 2 (line 41): matched by no event"
has "$F" "  the run did not end within timeout_ms=300: stopped (a source that never ends?)"
has "$F" "  ticker.output: more events differ (the first 10 are shown)"
ok "exact numbers compared by value, missing and extra events, jq conditions, order, a timeout"

say "bad test files: exit 2 with file:line:col, before anything runs"
# One run over bad/: every file is read and checked, every error printed.
run_acrt bad 30 test "$WORK/fx" -t "$WORK/fx/bad"
expect_rc 2 "bad/" "$WORK/bad.out" "$WORK/bad.err"
[ ! -s "$WORK/bad.out" ] || fail "bad/: a test ran" "$WORK/bad.out"
# bad NAME LINE...: bad/NAME.yaml's errors include each LINE.
bad() {
	local name=$1 l
	shift
	for l in "$@"; do
		has "$WORK/bad.err" "$WORK/fx/bad/$name.yaml:$l"
	done
}
bad syntax "5:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 4)"
bad keys "4:5: unknown key 'inptu' in a test (did you mean 'input'?)" \
	"7:5: a test needs a 'name'" \
	"9:5: test 'no expect': missing 'expect' (the output ports to check)" \
	"13:5: component and components: give one of them" \
	"17:12: order: expected strict or any, got 'random'"
bad ports "3:16: test 'an unknown component': the blueprint has no component 'gaet' (did you mean 'gate'?)" \
	"8:7: input: component 'gate' has no input port 'inptu' (did you mean 'input'?)" \
	"9:7: input: 'route.input' is bound from 'gate', which is under test too: feed the inputs that come from outside the tested components" \
	"10:7: input: 'out_a.input': component 'out_a' is not under test in 'ports that cannot be fed or checked' (list it in components:)" \
	"12:7: expect: 'gate.output' goes only to components under test: only outputs bound to components left out of the test are captured" \
	"14:11: jq: syntax error, unexpected \$end (Unix shell quoting issues?) at <top-level>, line 1: .n ==" \
	"18:7: expect: 'check.error' is not bound in the blueprint (its events are dropped): only outputs bound to components left out of the test are captured" \
	"22:7: input: 'input': name the port as COMPONENT.PORT (the test has 2 components)"
bad values "5:19: '.inf' is not a JSON number (JSON has no infinity or NaN)" \
	"7:15: output: expected a list of events, got a mapping"
[ "$(wc -l <"$WORK/bad.err")" = 16 ] || fail "bad/: expected exactly the 16 errors above" "$WORK/bad.err"
ok "every bad file refused with its messages"

say "usage errors: exit 2"
run_acrt nofiles 20 test "$WORK/fx/bad"
expect_rc 2 "a directory without tests/" "$WORK/nofiles.err"
grep -q "no test file or directory '$WORK/fx/bad/tests'" "$WORK/nofiles.err" || fail "no message for a missing tests/" "$WORK/nofiles.err"
pass
