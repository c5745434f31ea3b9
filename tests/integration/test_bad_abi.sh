#!/usr/bin/env bash
# Plugins whose descriptor the runtime cannot trust are refused before anything
# is called: a wrong ABI major version, a struct_size smaller than ABI 1.0's, a
# missing symbol, a missing file. Exit 2 from both `acrt validate` and `acrt run`.
. "$(dirname "$0")/lib.sh" "$@"
BAD=$(plugin bad_abi) || exit 1
TINY=$(plugin tiny_desc) || exit 1
TRACK=$(plugin track) || exit 1

# blueprint DIR IMPLEMENTATION: a source -> the plugin -> a null sink.
blueprint() {
	mkdir -p "$1"
	cat >"$1/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: abi
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 3}}
    - name: plug
      implementation: $2
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: plug.input}
    - {from: plug.output, to: out.input}
YAML
}

blueprint "$WORK/good" "plugin:$TRACK#track"
say "control: a good plugin validates"
run_acrt good 20 validate "$WORK/good"
expect_rc 0 "acrt validate (good plugin)" "$WORK/good.out" "$WORK/good.err"

blueprint "$WORK/bad" "plugin:$BAD#bad_abi"
for cmd in validate run; do
	say "acrt $cmd with a plugin of ABI major 99"
	run_acrt "bad_$cmd" 20 "$cmd" "$WORK/bad"
	expect_rc 2 "acrt $cmd (ABI 99.0)" "$WORK/bad_$cmd.out" "$WORK/bad_$cmd.err"
	cat "$WORK/bad_$cmd.out" "$WORK/bad_$cmd.err" | grep -q 'ABI' ||
		fail "acrt $cmd: the message does not mention ABI" "$WORK/bad_$cmd.out" "$WORK/bad_$cmd.err"
	ok "acrt $cmd: $(cat "$WORK/bad_$cmd.out" "$WORK/bad_$cmd.err" | grep 'ABI' | head -1)"
done

blueprint "$WORK/tiny" "plugin:$TINY#tiny_desc"
for cmd in validate run; do
	say "acrt $cmd with a descriptor of struct_size 8"
	run_acrt "tiny_$cmd" 20 "$cmd" "$WORK/tiny"
	expect_rc 2 "acrt $cmd (struct_size 8)" "$WORK/tiny_$cmd.out" "$WORK/tiny_$cmd.err"
	cat "$WORK/tiny_$cmd.out" "$WORK/tiny_$cmd.err" | grep -qi 'ABI\|size' ||
		fail "acrt $cmd: the message mentions neither ABI nor size" "$WORK/tiny_$cmd.out" "$WORK/tiny_$cmd.err"
	ok "acrt $cmd: $(cat "$WORK/tiny_$cmd.out" "$WORK/tiny_$cmd.err" | grep -i 'ABI\|size' | head -1)"
done

blueprint "$WORK/nosym" "plugin:$TRACK#no_such_symbol"
say "acrt validate with a symbol the plugin does not export"
run_acrt nosym 20 validate "$WORK/nosym"
expect_rc 2 "acrt validate (missing symbol)" "$WORK/nosym.out" "$WORK/nosym.err"
cat "$WORK/nosym.out" "$WORK/nosym.err" | grep -q 'no_such_symbol' ||
	fail "the message does not name the missing symbol" "$WORK/nosym.out" "$WORK/nosym.err"
ok "the message names no_such_symbol"

blueprint "$WORK/nofile" "plugin:$WORK/libnothere.so#track"
say "acrt validate with a plugin file that does not exist"
run_acrt nofile 20 validate "$WORK/nofile"
expect_rc 2 "acrt validate (missing file)" "$WORK/nofile.out" "$WORK/nofile.err"
cat "$WORK/nofile.out" "$WORK/nofile.err" | grep -q 'libnothere.so' ||
	fail "the message does not name the missing file" "$WORK/nofile.out" "$WORK/nofile.err"
ok "the message names libnothere.so"
pass
