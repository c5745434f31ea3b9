#!/usr/bin/env bash
# The command line: --version, help, unknown commands, missing blueprints,
# validate, and `acrt run` with no argument (architecture.yaml in the cwd).
. "$(dirname "$0")/lib.sh" "$@"

VERSION=$(sed -n 's/^#define ACRT_VERSION_STRING "\(.*\)"/\1/p' "$SRC/include/acrt/version.h")
[ -n "$VERSION" ] || fail "cannot read ACRT_VERSION_STRING from $SRC/include/acrt/version.h"

say "acrt --version"
run_acrt version 10 --version
expect_rc 0 "acrt --version" "$WORK/version.err"
grep -qF "$VERSION" "$WORK/version.out" || fail "acrt --version does not print $VERSION on stdout" "$WORK/version.out"
ok "prints: $(head -1 "$WORK/version.out")"

say "acrt help"
run_acrt help 10 help
expect_rc 0 "acrt help" "$WORK/help.err"
for word in run validate; do
	grep -q "$word" "$WORK/help.out" || fail "acrt help does not mention '$word' on stdout" "$WORK/help.out"
done
ok "acrt help lists run and validate"

# acrt help TYPE: a built-in type's ports and config keys, from the tables the
# validator checks against.
run_acrt help-agg 10 help Aggregator
expect_rc 0 "acrt help Aggregator" "$WORK/help-agg.err"
grep -q "^input ports: input$" "$WORK/help-agg.out" || fail "help Aggregator: no input ports" "$WORK/help-agg.out"
grep -Eq "^  ops +mapping +required" "$WORK/help-agg.out" || fail "help Aggregator: 'ops' not shown as a required mapping" "$WORK/help-agg.out"
grep -Eq "^  window_ms +integer +\[1, 9007199254740992\]" "$WORK/help-agg.out" || fail "help Aggregator: window_ms range" "$WORK/help-agg.out"
run_acrt help-sink 10 help Sink
grep -q "one of: file stdout null" "$WORK/help-sink.out" || fail "help Sink: allowed values of 'sink'" "$WORK/help-sink.out"
run_acrt help-bad 10 help Agregator
expect_rc 2 "acrt help Agregator (no such command or type)" "$WORK/help-bad.err"
grep -q "Aggregator" "$WORK/help-bad.err" || fail "help of an unknown name does not list the types" "$WORK/help-bad.err"
ok "acrt help TYPE prints a built-in type's ports and config keys"

say "acrt bogus"
run_acrt bogus 10 bogus
expect_rc 2 "acrt bogus" "$WORK/bogus.out" "$WORK/bogus.err"
grep -q 'bogus' "$WORK/bogus.err" || fail "the error does not name the unknown command 'bogus'" "$WORK/bogus.err"
ok "stderr: $(head -1 "$WORK/bogus.err")"

say "acrt (no command)"
run_acrt none 10
expect_rc 2 "acrt with no command" "$WORK/none.out" "$WORK/none.err"

say "acrt run /nonexistent"
run_acrt missing 10 run /nonexistent
expect_rc 2 "acrt run /nonexistent" "$WORK/missing.out" "$WORK/missing.err"
grep -q '/nonexistent' "$WORK/missing.err" || fail "the error does not name /nonexistent" "$WORK/missing.err"

say "acrt run --bogus-flag"
mkdir -p "$WORK/sys"
cat >"$WORK/sys/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: cli
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 5}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
run_acrt badflag 10 run "$WORK/sys" --bogus-flag
expect_rc 2 "acrt run --bogus-flag" "$WORK/badflag.out" "$WORK/badflag.err"

say "acrt validate of a valid blueprint (directory, then file)"
run_acrt valid 10 validate "$WORK/sys"
expect_rc 0 "acrt validate DIR" "$WORK/valid.out" "$WORK/valid.err"
run_acrt validfile 10 validate "$WORK/sys/architecture.yaml"
expect_rc 0 "acrt validate FILE" "$WORK/validfile.out" "$WORK/validfile.err"

say "acrt validate of a blueprint with an unknown key"
mkdir -p "$WORK/invalid"
sed 's/^  name: cli/  name: cli\n  nmae: typo/' "$WORK/sys/architecture.yaml" >"$WORK/invalid/architecture.yaml"
run_acrt invalid 10 validate "$WORK/invalid"
expect_rc 2 "acrt validate (unknown key)" "$WORK/invalid.out" "$WORK/invalid.err"
cat "$WORK/invalid.out" "$WORK/invalid.err" | grep -q 'architecture.yaml:[0-9]*:[0-9]*.*nmae' ||
	fail "the error does not give file:line:column and the key nmae" "$WORK/invalid.out" "$WORK/invalid.err"
ok "$(cat "$WORK/invalid.out" "$WORK/invalid.err" | grep 'nmae' | head -1)"

say "acrt validate of a valid and an invalid blueprint together"
run_acrt both 10 validate "$WORK/sys" "$WORK/invalid"
expect_rc 2 "acrt validate VALID INVALID" "$WORK/both.out" "$WORK/both.err"

say "acrt run with no argument, in the blueprint's directory"
(cd "$WORK/sys" && timeout -k 2 20 "$ACRT" run --quiet >"$WORK/cwd.out" 2>"$WORK/cwd.err")
RC=$?
expect_rc 0 "acrt run (cwd)" "$WORK/cwd.err"
[ "$(lines "$WORK/sys/out.jsonl")" = 5 ] || fail "expected 5 lines in out.jsonl, got $(lines "$WORK/sys/out.jsonl")"
ok "the sink got 5 events"

say "acrt run with no argument in a directory without architecture.yaml"
mkdir -p "$WORK/empty"
(cd "$WORK/empty" && timeout -k 2 10 "$ACRT" run >"$WORK/empty.out" 2>"$WORK/empty.err")
RC=$?
expect_rc 2 "acrt run (no architecture.yaml)" "$WORK/empty.err"

say "a value from \${VAR} is named in errors, never quoted (issue 17: secrets)"
mkdir -p "$WORK/secret"
cat >"$WORK/secret/architecture.yaml" <<'YAML'
system:
  name: secret
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 1}}
    - {name: out, type: Sink, config: {sink: "${SINK}"}}
  bindings:
    - {from: gen.output, to: out.input}
YAML
printf 'runtime:\n  state: {adapter: "${ADAPTER}"}\n  logging: {format: "${FMT}"}\n' >"$WORK/secret/deployment.yaml"
SINK=hunter2-sink ADAPTER=hunter2-adapter FMT=hunter2-fmt run_acrt secret 10 validate "$WORK/secret"
expect_rc 2 "acrt validate with bad values from the environment" "$WORK/secret.err"
! grep -q hunter2 "$WORK/secret.out" "$WORK/secret.err" || fail "a secret value is echoed" "$WORK/secret.err"
for want in "out.config.sink: '\${SINK}' is not one of" "adapter: '\${ADAPTER}' is not one of" \
	"format: '\${FMT}' is not one of"; do
	grep -qF "$want" "$WORK/secret.err" || fail "no error naming the variable: $want" "$WORK/secret.err"
done
ok "the errors name \${SINK}, \${ADAPTER}, \${FMT}; no value is echoed"
pass
