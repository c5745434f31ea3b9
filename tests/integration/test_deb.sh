#!/usr/bin/env bash
# The Debian packages (debian/, docs/OPERATIONS.md "Installing"): builds acrt and
# libacrt-dev with `dpkg-buildpackage -us -uc -b` from a copy of the source tree,
# checks them with lintian (no error or warning), installs them with `dpkg -i`,
# runs the quickstart from the installed examples with /usr/bin/acrt, builds the
# example plugin against the installed libacrt-dev with pkg-config and runs the
# quickstart with it, then removes the packages with `dpkg -r`.
#
# When acrt or libacrt-dev is already installed on the machine, or when not
# root, the packages are unpacked with `dpkg -x` into WORK instead, so that the
# test never replaces or removes what someone installed (ACRT_TEST_DEB_EXTRACT=1
# asks for that too). Not run in the
# sanitizer builds (tests/CMakeLists.txt): the package is a release build,
# whatever the build dir is. Takes about a minute (the package's own build).
. "$(dirname "$0")/lib.sh" "$@"

for tool in dpkg-buildpackage dh lintian pkg-config cc; do
	command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/install-deps.sh"
done

say "copy the source tree to $WORK/src/acrt"
mkdir -p "$WORK/src/acrt"
(cd "$SRC" && tar --exclude=./.git --exclude=./build --exclude='./build-*' --exclude='./obj-*' \
	--exclude=./debian/tmp --exclude=./debian/acrt --exclude=./debian/libacrt-dev \
	--exclude=./debian/.debhelper --exclude=./examples/quickstart/out \
	--exclude=./examples/quickstart/state -cf - .) | (cd "$WORK/src/acrt" && tar -xf -) ||
	fail "cannot copy $SRC"

say "dpkg-buildpackage -us -uc -b"
t0=$(date +%s)
(cd "$WORK/src/acrt" && DEB_BUILD_OPTIONS="parallel=$(nproc) noddebs nocheck" \
	timeout 600 dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1 ||
	fail "dpkg-buildpackage failed" "$WORK/build.log"
DEB=$(ls "$WORK"/src/acrt_*.deb 2>/dev/null | head -n 1)
DEV=$(ls "$WORK"/src/libacrt-dev_*.deb 2>/dev/null | head -n 1)
[ -f "$DEB" ] && [ -f "$DEV" ] || fail "acrt_*.deb or libacrt-dev_*.deb not built" "$WORK/build.log"
ok "built $(basename "$DEB") and $(basename "$DEV") in $(($(date +%s) - t0)) s"

dpkg-deb -f "$DEB" Depends | grep -q 'libjansson4' || fail "acrt's Depends lacks the shlibs dependencies: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -f "$DEV" Depends | grep -q 'acrt (= ' || fail "libacrt-dev does not depend on its acrt: $(dpkg-deb -f "$DEV" Depends)"
ok "Depends: acrt has \${shlibs:Depends}, libacrt-dev depends on acrt (= version)"

say "lintian"
lintian --fail-on error,warning "$WORK"/src/acrt_*.changes >"$WORK/lintian.log" 2>&1 ||
	fail "lintian reports errors or warnings" "$WORK/lintian.log"
ok "lintian: no error, no warning"

ROOT=""
if [ -z "${ACRT_TEST_DEB_EXTRACT:-}" ] && [ "$(id -u)" -eq 0 ] && ! dpkg-query -W -f='${Status}\n' acrt libacrt-dev 2>/dev/null | grep -q ' installed$'; then
	say "dpkg -i the packages"
	on_exit "dpkg -r libacrt-dev acrt >/dev/null 2>&1"
	dpkg -i "$DEB" "$DEV" >"$WORK/dpkg.log" 2>&1 || fail "dpkg -i failed" "$WORK/dpkg.log"
	INSTALLED="dpkg -i"
else
	say "acrt is installed here already (or not root): dpkg -x into $WORK/root instead of dpkg -i"
	ROOT="$WORK/root"
	dpkg -x "$DEB" "$ROOT" && dpkg -x "$DEV" "$ROOT" || fail "dpkg -x failed"
	LIBDIR=$(dirname "$(find "$ROOT/usr/lib" -name 'libacrt.so.*' | head -n 1)")
	export LD_LIBRARY_PATH="$LIBDIR"
	INSTALLED="dpkg -x"
fi
ACRT="$ROOT/usr/bin/acrt"
DOC="$ROOT/usr/share/doc/acrt"
[ -x "$ACRT" ] || fail "$ACRT not installed"
[ -f "$DOC/examples/quickstart/architecture.yaml" ] || fail "the quickstart is not installed in $DOC/examples"
if [ -z "$ROOT" ]; then
	man -w acrt-run >/dev/null 2>&1 || fail "man acrt-run: no page installed"
fi

# quickstart NAME [PLUGIN]: a copy of the installed quickstart, run by the
# installed acrt (with PLUGIN instead of the installed example plugin).
quickstart() {
	local name=$1 so=${2:-}
	cp -r "$DOC/examples/quickstart" "$WORK/$name"
	if [ -n "$ROOT" ]; then # the installed quickstart names /usr/lib/...: point it into ROOT
		sed -i "s|plugin:/|plugin:$ROOT/|" "$WORK/$name/architecture.yaml"
	fi
	[ -z "$so" ] || sed -i "s|plugin:[^#]*#enrich|plugin:$so#enrich|" "$WORK/$name/architecture.yaml"
	# A plugin outside the allowed directories must be listed (docs/SECURITY.md).
	[ -z "$so" ] || sed -i "s|plugin_dirs: \[\(.*\)\]|plugin_dirs: [\1, $(dirname "$so")]|" "$WORK/$name/deployment.yaml"
	run_acrt "$name" 30 run "$WORK/$name" --quiet
	expect_rc 0 "$name: $ACRT run" "$WORK/$name.err"
	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
if len(evs) != 1000 or [e.get("seq") for e in evs] != list(range(1, 1001)):
    die("expected seq 1..1000, got %d events" % len(evs))
if any(e.get("currency") != "EUR" or e.get("amount_cents") != 42 for e in evs):
    die("events not transformed and enriched: %r" % evs[:2])
' "$WORK/$name/out/quickstart.jsonl" || fail "$name: wrong output" "$WORK/$name.err"
	ok "$name: 1000 events, transformed and enriched"
}
say "the quickstart from the installed examples ($INSTALLED)"
quickstart quickstart

say "build the example plugin against the installed libacrt-dev"
if [ -n "$ROOT" ]; then
	# acrt.pc names /usr: spell out what it would give, inside ROOT
	cflags="-I$ROOT/usr/include $(pkg-config --cflags-only-other jansson)"
	libs="-L$LIBDIR -lacrt $(pkg-config --libs jansson)"
else
	cflags=$(pkg-config --cflags acrt) && libs=$(pkg-config --libs acrt) || fail "pkg-config acrt failed"
fi
# shellcheck disable=SC2086 # words
cc -shared -fPIC -fvisibility=hidden -Wall -Werror $cflags -o "$WORK/libenrich.so" \
	"$DOC/examples/enrich/enrich.c" $libs -Wl,-z,defs 2>"$WORK/cc.err" ||
	fail "cc -shared -fPIC \$(pkg-config --cflags --libs acrt) enrich.c failed" "$WORK/cc.err"
ok "cc -shared -fPIC \$(pkg-config --cflags --libs acrt) enrich.c"
quickstart quickstart-plugin "$WORK/libenrich.so"

if [ -z "$ROOT" ]; then
	dpkg -r libacrt-dev acrt >"$WORK/dpkg-r.log" 2>&1 || fail "dpkg -r failed" "$WORK/dpkg-r.log"
	[ ! -e /usr/bin/acrt ] || fail "/usr/bin/acrt is still there after dpkg -r"
	ok "dpkg -r libacrt-dev acrt"
fi
pass
