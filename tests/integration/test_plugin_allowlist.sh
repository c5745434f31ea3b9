#!/usr/bin/env bash
# The plugin allowlist (docs/SECURITY.md, "The trust model"; src/blueprint/
# plugins.c): a plugin whose path resolves (realpath) outside the allowed
# directories (runtime.plugin_dirs, default the blueprint directory; the
# installed plugin directory; $ACRT_PLUGIN_DIRS) is refused with
# file:line:col and exit 2 by validate, graph, lock and run, and is never
# dlopened: the ctor_marker plugin's constructor, which appends to
# $ACRT_TEST_CTOR_MARKER, must not run. Escapes tried: an absolute path, `../`,
# a symbolic link to a file, a symbolic link to a directory, a capability
# plugin. Then what is allowed: runtime.plugin_dirs listing the directory (the
# constructor then runs at validate, as documented), a narrowed list refusing
# the blueprint directory, $ACRT_PLUGIN_DIRS.
. "$(dirname "$0")/lib.sh" "$@"

unset ACRT_PLUGIN_DIRS # lib.sh allows the build tree's plugins; not here
SO=$(plugin ctor_marker)
OUT="$WORK/outside"
BP="$WORK/bp"
mkdir -p "$OUT" "$BP"
cp "$SO" "$OUT/libctor.so"
export ACRT_TEST_CTOR_MARKER="$WORK/ctor.marker"

# write_bp IMPLEMENTATION [CAPABILITY_KEY]: a Source -> plugin -> Sink system.
write_bp() {
	local cap=""
	[ -z "${2:-}" ] || cap="
      capabilities:
        \"$2\": {}"
	cat >"$BP/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: allow
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 3}}
    - name: mid
      implementation: "$1"$cap
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen, to: mid}
    - {from: mid, to: out}
YAML
}

# refused CASE WHERE: every command that loads the blueprint exits 2 with the
# allowlist error at WHERE (line:col) and the constructor never ran.
refused() {
	local case=$1 where=$2 cmd
	for cmd in validate graph lock run; do
		rm -f "$ACRT_TEST_CTOR_MARKER"
		run_acrt "$case-$cmd" 20 "$cmd" "$BP"
		expect_rc 2 "$case: acrt $cmd" "$WORK/$case-$cmd.err"
		grep -q "architecture.yaml:$where: .*plugin outside the allowed plugin directories" \
			"$WORK/$case-$cmd.err" ||
			fail "$case: acrt $cmd does not name the refused plugin at $where" "$WORK/$case-$cmd.err"
		[ ! -e "$ACRT_TEST_CTOR_MARKER" ] ||
			fail "$case: acrt $cmd ran the plugin's constructor (it was dlopened)" \
				"$ACRT_TEST_CTOR_MARKER"
	done
	ok "$case: refused at $where by validate, graph, lock, run; never opened"
}

say "an absolute path outside the blueprint directory"
write_bp "plugin:$OUT/libctor.so#ctor_marker"
refused absolute 7:23

say "a ../ escape"
write_bp "plugin:../outside/libctor.so#ctor_marker"
refused dotdot 7:23

say "a symbolic link in the blueprint directory to a file outside"
ln -s "$OUT/libctor.so" "$BP/libctor.so"
write_bp "plugin:./libctor.so#ctor_marker"
refused symlink-file 7:23
rm "$BP/libctor.so"

say "a symbolic link to a directory outside"
ln -s "$OUT" "$BP/plugins"
write_bp "plugin:plugins/libctor.so#ctor_marker"
refused symlink-dir 7:23
rm "$BP/plugins"

say "a capability plugin outside (the component itself is allowed)"
cp "$SO" "$BP/libctor.so"
write_bp "plugin:./libctor.so#ctor_marker" "plugin:$OUT/libctor.so#ctor_marker"
rm -f "$ACRT_TEST_CTOR_MARKER"
# The allowed component plugin is opened (its constructor runs); the
# capability is refused first, in the same component, so check the message.
run_acrt cap 20 validate "$BP"
expect_rc 2 "capability plugin outside: acrt validate" "$WORK/cap.err"
grep -q "architecture.yaml:9:9: capability 'plugin:$OUT/libctor.so#ctor_marker': plugin outside" "$WORK/cap.err" ||
	fail "the capability plugin is not refused at its key" "$WORK/cap.err"
ok "capability plugin outside: refused at its key (9:9)"
rm "$BP/libctor.so"

say "runtime.plugin_dirs narrowed to plugins/: the blueprint directory itself is refused"
mkdir -p "$BP/plugins"
cp "$SO" "$BP/libctor.so"
printf 'runtime:\n  plugin_dirs: [plugins]\n' >"$BP/deployment.yaml"
write_bp "plugin:./libctor.so#ctor_marker"
refused narrowed 7:23
mv "$BP/libctor.so" "$BP/plugins/libctor.so"
write_bp "plugin:plugins/libctor.so#ctor_marker"
rm -f "$ACRT_TEST_CTOR_MARKER"
run_acrt narrowed-ok 20 validate "$BP"
expect_rc 0 "plugin_dirs [plugins]: plugins/libctor.so" "$WORK/narrowed-ok.err"
[ -s "$ACRT_TEST_CTOR_MARKER" ] ||
	fail "an allowed plugin is opened at validate (its constructor runs): no marker"
ok "an allowed plugin is dlopened by validate (constructor ran, as docs/SECURITY.md says)"

say "runtime.plugin_dirs lists the outside directory: allowed, and it runs"
printf 'runtime:\n  plugin_dirs: [., ../outside]\n' >"$BP/deployment.yaml"
write_bp "plugin:../outside/libctor.so#ctor_marker"
run_acrt listed 20 validate "$BP"
expect_rc 0 "plugin_dirs [., ../outside]: acrt validate" "$WORK/listed.err"
run_acrt listed-run 30 run "$BP" --quiet
expect_rc 0 "plugin_dirs [., ../outside]: acrt run" "$WORK/listed-run.err"
[ "$(lines "$BP/out.jsonl")" = 3 ] || fail "the run did not pass 3 events" "$BP/out.jsonl"
ok "plugin_dirs [., ../outside]: validate and run accept ../outside/libctor.so"

say "a plugin_dirs entry that is a file, not a directory"
printf 'runtime:\n  plugin_dirs: [., ../outside/libctor.so]\n' >"$BP/deployment.yaml"
run_acrt notdir 20 validate "$BP"
expect_rc 2 "plugin_dirs naming a file" "$WORK/notdir.err"
grep -q "deployment.yaml:2:20: runtime.plugin_dirs: '.*/outside/libctor.so': Not a directory" "$WORK/notdir.err" ||
	fail "a plugin_dirs entry that is a file is not reported at 2:20" "$WORK/notdir.err"
ok "plugin_dirs naming a file: deployment.yaml:2:20, exit 2"

say "\$ACRT_PLUGIN_DIRS adds a directory"
rm "$BP/deployment.yaml"
rm -f "$ACRT_TEST_CTOR_MARKER"
ACRT_PLUGIN_DIRS="/nonexistent:$OUT" run_acrt env 20 validate "$BP"
expect_rc 0 "ACRT_PLUGIN_DIRS=/nonexistent:$OUT" "$WORK/env.err"
ok "ACRT_PLUGIN_DIRS allows its directories (one that does not exist allows nothing)"
pass
