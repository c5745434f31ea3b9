#!/usr/bin/env bash
# make install (cmake/install.cmake, docs/OPERATIONS.md "Installing"): installs
# the build into a prefix under WORK and checks the layout (binary, libacrt.so.N
# with SONAME after the ABI major, headers, acrt.pc, man pages generated from
# `acrt help`, docs, examples); that DESTDIR stages without touching the prefix;
# then builds the example plugin out of the tree with
# `pkg-config --cflags --libs acrt` (docs/PLUGINS.md) and runs the installed
# quickstart with the installed acrt, once with the installed example plugin and
# once with the one just built. Runs in the sanitizer builds too: it installs
# whatever the build dir holds.
. "$(dirname "$0")/lib.sh" "$@"

P="$WORK/prefix"
say "cmake --install $BUILD --prefix $P"
cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log" 2>&1 || fail "cmake --install failed" "$WORK/install.log"

ABI_MAJOR=$(sed -n 's/^#define ACRT_ABI_MAJOR \([0-9]*\).*/\1/p' "$SRC/include/acrt/acrt.h")
[ -n "$ABI_MAJOR" ] || fail "cannot read ACRT_ABI_MAJOR from include/acrt/acrt.h"
PC=$(find "$P" -name acrt.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$PC" ] || fail "no pkgconfig/acrt.pc installed" "$WORK/install.log"
LIBDIR=$(dirname "$(dirname "$PC")")
DOC="$P/share/doc/acrt"
for f in "$P/bin/acrt" "$LIBDIR/libacrt.so" "$LIBDIR/libacrt.so.$ABI_MAJOR" \
	"$P/include/acrt/acrt.h" "$P/include/acrt/version.h" \
	"$P/share/man/man1/acrt.1" "$P/share/man/man1/acrt-run.1" "$P/share/man/man1/acrt-validate.1" \
	"$DOC/README.md" "$DOC/PLUGINS.md" "$DOC/OPERATIONS.md" "$DOC/examples/enrich/enrich.c" \
	"$DOC/examples/quickstart/architecture.yaml" "$DOC/examples/quickstart/deployment.yaml" \
	"$LIBDIR/acrt/examples/libenrich.so"; do
	[ -e "$f" ] || fail "not installed: ${f#"$P"/}" "$WORK/install.log"
done
ok "installed: bin/acrt, ${LIBDIR#"$P"/}/libacrt.so{,.$ABI_MAJOR}, include/acrt, acrt.pc, man pages, docs, examples"

soname=$(readelf -d "$LIBDIR/libacrt.so.$ABI_MAJOR" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libacrt.so.$ABI_MAJOR" ] || fail "libacrt's SONAME is '$soname', expected libacrt.so.$ABI_MAJOR"
ok "SONAME libacrt.so.$ABI_MAJOR (ACRT_ABI_MAJOR)"

# libacrt defines exactly the functions the acrt executable exports.
nm -D --defined-only "$P/bin/acrt" | awk '$3 ~ /^acrt_/ {print $3}' | sort >"$WORK/exe.syms"
nm -D --defined-only "$LIBDIR/libacrt.so.$ABI_MAJOR" | awk '$3 ~ /^acrt_/ {print $3}' | sort >"$WORK/lib.syms"
[ -s "$WORK/exe.syms" ] || fail "the installed acrt exports no acrt_* symbol"
diff "$WORK/exe.syms" "$WORK/lib.syms" >"$WORK/syms.diff" ||
	fail "libacrt and the acrt executable export different acrt_* symbols (< exe, > lib)" "$WORK/syms.diff"
ok "libacrt exports the $(wc -l <"$WORK/exe.syms") acrt_* functions the executable exports"

# The man pages carry the help text.
"$P/bin/acrt" help run | sed -n '4p' >"$WORK/help-line"
want=$(sed -e 's/-/\\-/g' "$WORK/help-line")
grep -qF -- "$want" "$P/share/man/man1/acrt-run.1" ||
	fail "acrt-run.1 does not hold the text of 'acrt help run' ($(cat "$WORK/help-line"))" "$P/share/man/man1/acrt-run.1"
if command -v man >/dev/null; then
	for m in "$P"/share/man/man1/*.1; do
		MANWIDTH=80 man --warnings -l "$m" >/dev/null 2>"$WORK/man.err" || fail "man -l $m failed" "$WORK/man.err"
		[ ! -s "$WORK/man.err" ] || fail "man warns about $(basename "$m")" "$WORK/man.err"
	done
fi
ok "man pages: $(cd "$P/share/man/man1" && echo *.1); acrt-run.1 holds 'acrt help run'"

say "DESTDIR=$WORK/stage cmake --install --prefix /opt/acrt-install-test"
if [ ! -e /opt/acrt-install-test ]; then
	DESTDIR="$WORK/stage" cmake --install "$BUILD" --prefix /opt/acrt-install-test >"$WORK/stage.log" 2>&1 ||
		fail "cmake --install with DESTDIR failed" "$WORK/stage.log"
	[ -x "$WORK/stage/opt/acrt-install-test/bin/acrt" ] || fail "DESTDIR: bin/acrt not staged" "$WORK/stage.log"
	[ ! -e /opt/acrt-install-test ] || fail "DESTDIR: files were written to /opt/acrt-install-test itself"
	grep -qx 'prefix=/opt/acrt-install-test' "$(find "$WORK/stage" -name acrt.pc)" ||
		fail "DESTDIR: acrt.pc does not name the final prefix" "$(find "$WORK/stage" -name acrt.pc)"
	ok "DESTDIR stages under \$DESTDIR\$PREFIX; acrt.pc names the final prefix"
fi

say "build the example plugin out of the tree with pkg-config"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
flags=$(pkg-config --cflags --libs acrt) || fail "pkg-config --cflags --libs acrt failed"
mkdir -p "$WORK/plugin"
# -z defs: every symbol the plugin uses must resolve at link time (libacrt's job).
# shellcheck disable=SC2086 # flags are words
cc -shared -fPIC -fvisibility=hidden -Wall -Werror -o "$WORK/plugin/libenrich.so" \
	"$DOC/examples/enrich/enrich.c" $flags -Wl,-z,defs 2>"$WORK/cc.err" ||
	fail "cc -shared -fPIC $flags enrich.c failed" "$WORK/cc.err"
readelf -d "$WORK/plugin/libenrich.so" | grep -q "NEEDED.*\[libacrt.so.$ABI_MAJOR\]" ||
	fail "the plugin does not record NEEDED libacrt.so.$ABI_MAJOR"
ok "cc -shared -fPIC \$(pkg-config --cflags --libs acrt) enrich.c: NEEDED libacrt.so.$ABI_MAJOR"

# The dynamic linker finds libacrt.so.N in the prefix only through this.
export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ACRT="$P/bin/acrt"
"$ACRT" --version | grep -q "^acrt " || fail "the installed acrt does not run"

# quickstart_run NAME PLUGIN: runs a copy of the installed quickstart with
# PLUGIN (empty: as installed) and checks its 1000 events.
quickstart_run() {
	local name=$1 so=$2
	rm -rf "$WORK/$name"
	cp -r "$DOC/examples/quickstart" "$WORK/$name"
	if [ -n "$so" ]; then
		sed -i "s|plugin:[^#]*#enrich|plugin:$so#enrich|" "$WORK/$name/architecture.yaml"
		grep -q "plugin:$so#enrich" "$WORK/$name/architecture.yaml" || fail "$name: cannot set the plugin path"
		# Outside the blueprint and installed plugin directories: list it
		# (runtime.plugin_dirs, docs/SECURITY.md).
		sed -i "s|plugin_dirs: \[\(.*\)\]|plugin_dirs: [\1, $(dirname "$so")]|" "$WORK/$name/deployment.yaml"
		grep -q "plugin_dirs: .*$(dirname "$so")" "$WORK/$name/deployment.yaml" ||
			fail "$name: cannot add the plugin's directory to plugin_dirs" "$WORK/$name/deployment.yaml"
	fi
	run_acrt "$name" 30 run "$WORK/$name" --quiet
	expect_rc 0 "$name: installed acrt run" "$WORK/$name.err"
	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
if len(evs) != 1000 or [e.get("seq") for e in evs] != list(range(1, 1001)):
    die("expected seq 1..1000, got %d events" % len(evs))
if any(e.get("currency") != "EUR" or e.get("status") != "accepted" for e in evs):
    die("events not transformed and enriched: %r" % evs[:2])
' "$WORK/$name/out/quickstart.jsonl" || fail "$name: wrong output" "$WORK/$name.err"
	ok "$name: 1000 events, transformed, currency=EUR"
	run_acrt "$name-test" 30 test "$WORK/$name"
	expect_rc 0 "$name: installed acrt test (the quickstart's tests)" "$WORK/$name-test.out" "$WORK/$name-test.err"
}
say "run the installed quickstart with the installed acrt and example plugin"
quickstart_run quickstart-installed ""
say "run it with the plugin built out of the tree"
quickstart_run quickstart-oot "$WORK/plugin/libenrich.so"
pass
