#!/usr/bin/env bash
# build.lock: `acrt lock` is deterministic and atomic; `acrt run` starts with a
# matching lock, refuses (exit 2, naming the drift) when architecture.yaml, a
# component's capability chain or a plugin binary changed, rewrites it with
# --update-lock, and without a lock runs and hints at `acrt lock`.
. "$(dirname "$0")/lib.sh" "$@"

SYS="$WORK/sys"
LOCK="$SYS/build.lock"
mkdir -p "$SYS"
cp "$(plugin track)" "$SYS/libtrack.so"

write_arch() { # write_arch COUNT [EXTRA CAPABILITY]
	cat >"$SYS/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: locked
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $1}}
    - name: enrich
      type: Transformer
      capabilities: {retry: {max_attempts: 3}, schema_validator: {strict: true}$2}
      batching: {enabled: true}
    - name: plug
      implementation: plugin:$SYS/libtrack.so#track
      config: {marker: $WORK/marker}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: enrich.input}
    - {from: enrich.output, to: plug.input}
    - {from: plug.output, to: out.input}
YAML
}
write_arch 10 ""

no_temp_files() {
	local left
	left=$(find "$SYS" -maxdepth 1 -name '.build.lock.*' | head -1)
	[ -z "$left" ] || fail "a temporary file was left behind: $left"
}

say "no build.lock: acrt run runs and hints at 'acrt lock'"
run_acrt nolock 20 run --quiet "$SYS"
expect_rc 0 "acrt run without build.lock" "$WORK/nolock.err"
grep -q 'acrt lock' "$WORK/nolock.err" || fail "stderr does not mention 'acrt lock'" "$WORK/nolock.err"
[ "$(grep -c 'acrt lock' "$WORK/nolock.err")" = 1 ] || fail "the hint is not said once" "$WORK/nolock.err"
[ ! -e "$LOCK" ] || fail "acrt run created build.lock without --update-lock"
ok "one hint line"

say "acrt lock, twice: identical bytes"
run_acrt lock1 10 lock "$SYS"
expect_rc 0 "acrt lock" "$WORK/lock1.out" "$WORK/lock1.err"
[ -f "$LOCK" ] || fail "acrt lock wrote no $LOCK" "$WORK/lock1.out"
cp "$LOCK" "$WORK/lock.1"
run_acrt lock2 10 lock "$SYS/architecture.yaml"
expect_rc 0 "acrt lock (again, by file)" "$WORK/lock2.out" "$WORK/lock2.err"
cmp -s "$LOCK" "$WORK/lock.1" || fail "two locks of the same inputs differ" "$LOCK" "$WORK/lock.1"
no_temp_files
ok "same bytes; no temporary file left"

VERSION=$(sed -n 's/^#define ACRT_VERSION_STRING "\(.*\)"/\1/p' "$SRC/include/acrt/version.h")
ARCH_SHA=$(sha256sum "$SYS/architecture.yaml" | cut -d' ' -f1)
PLUG_SHA=$(sha256sum "$SYS/libtrack.so" | cut -d' ' -f1)
py '
import json, sys
lock = json.load(open(sys.argv[1]))
version, arch, plug = sys.argv[2:5]
def want(cond, msg):
    if not cond:
        print("build.lock: " + msg + "\n" + json.dumps(lock, indent=2), file=sys.stderr)
        sys.exit(1)
want(lock.get("acrt_version") == version, "acrt_version is not " + version)
want(lock.get("architecture", {}).get("sha256") == arch, "wrong architecture sha256")
want(lock.get("deployment") is None, "a deployment without a deployment file")
want(lock.get("plugins") == {"libtrack.so": plug}, "wrong plugins")
want(lock.get("components") == {
    "enrich": ["schema_validator", "batching", "retry", "metrics"],
    "gen": ["metrics"], "out": ["metrics"], "plug": ["metrics"]}, "wrong chains")
' "$LOCK" "$VERSION" "$ARCH_SHA" "$PLUG_SHA" || fail "unexpected build.lock content"
ok "version, hashes and chains as expected"

say "acrt run with a matching lock"
run_acrt match 20 run --quiet "$SYS"
expect_rc 0 "acrt run (lock matches)" "$WORK/match.err"
[ "$(lines "$SYS/out.jsonl")" = 10 ] || fail "expected 10 events in out.jsonl"
! grep -q 'build.lock' "$WORK/match.err" || fail "a matching lock was reported" "$WORK/match.err"

say "architecture.yaml changed (a count)"
write_arch 11 ""
run_acrt arch 20 run --quiet "$SYS"
expect_rc 2 "acrt run (architecture.yaml drifted)" "$WORK/arch.err"
grep -q 'build.lock: architecture.yaml changed (sha256' "$WORK/arch.err" ||
	fail "stderr does not name architecture.yaml" "$WORK/arch.err"
grep -q 'chain changed' "$WORK/arch.err" && fail "a chain reported as changed" "$WORK/arch.err"
[ "$(lines "$SYS/out.jsonl")" = 10 ] || fail "the system ran although the lock drifted"
ok "$(grep 'architecture.yaml changed' "$WORK/arch.err")"

say "a capability added to enrich"
write_arch 10 ", timeout: {ms: 100}"
run_acrt chain 20 run --quiet "$SYS"
expect_rc 2 "acrt run (chain drifted)" "$WORK/chain.err"
grep -qF "component 'enrich' chain changed: [schema_validator, batching, retry, metrics] -> [schema_validator, batching, retry, timeout, metrics]" \
	"$WORK/chain.err" || fail "stderr does not name enrich's chain" "$WORK/chain.err"
ok "$(grep 'chain changed' "$WORK/chain.err")"

say "acrt run --update-lock"
cp "$LOCK" "$WORK/lock.before"
run_acrt update 20 run --quiet --update-lock "$SYS"
expect_rc 0 "acrt run --update-lock" "$WORK/update.err"
cmp -s "$LOCK" "$WORK/lock.before" && fail "build.lock was not rewritten"
grep -q 'build.lock rewritten' "$WORK/update.err" || fail "the rewrite is not logged" "$WORK/update.err"
grep -q '"timeout"' "$LOCK" || fail "the new lock lacks the timeout capability" "$LOCK"
no_temp_files
cp "$LOCK" "$WORK/lock.updated"
run_acrt lock3 10 lock "$SYS"
cmp -s "$LOCK" "$WORK/lock.updated" || fail "--update-lock and acrt lock write different bytes"
run_acrt after 20 run --quiet "$SYS"
expect_rc 0 "acrt run after --update-lock" "$WORK/after.err"
ok "rewritten, logged, and accepted next time"

say "a plugin binary changed"
printf 'x' >>"$SYS/libtrack.so"
run_acrt plug 20 run --quiet "$SYS"
expect_rc 2 "acrt run (plugin drifted)" "$WORK/plug.err"
grep -q 'build.lock: plugin libtrack.so changed' "$WORK/plug.err" ||
	fail "stderr does not name the plugin" "$WORK/plug.err"
run_acrt relock 10 lock "$SYS"
expect_rc 0 "acrt lock (relock)" "$WORK/relock.err"

say "a deployment file added"
printf 'schema_version: "1.0.0"\nsystem_name: locked\n' >"$SYS/deployment.yaml"
run_acrt dep 20 run --quiet "$SYS"
expect_rc 2 "acrt run (deployment added)" "$WORK/dep.err"
grep -q 'deployment.yaml added' "$WORK/dep.err" || fail "stderr does not name deployment.yaml" "$WORK/dep.err"

say "a malformed build.lock"
echo '{' >"$LOCK"
run_acrt broken 20 run --quiet "$SYS"
expect_rc 2 "acrt run (malformed lock)" "$WORK/broken.err"
grep -q 'build.lock' "$WORK/broken.err" || fail "stderr does not name build.lock" "$WORK/broken.err"

say "acrt lock of an invalid blueprint"
mkdir -p "$WORK/bad"
echo 'system: {name: Bad}' >"$WORK/bad/architecture.yaml"
run_acrt bad 10 lock "$WORK/bad"
expect_rc 2 "acrt lock (invalid)" "$WORK/bad.err"
[ ! -e "$WORK/bad/build.lock" ] || fail "a lock was written for an invalid blueprint"

say "acrt lock in a read-only directory"
if [ "$(id -u)" != 0 ]; then
	mkdir -p "$WORK/ro"
	cp "$SYS/architecture.yaml" "$WORK/ro/"
	chmod 555 "$WORK/ro"
	run_acrt ro 10 lock "$WORK/ro"
	chmod 755 "$WORK/ro"
	expect_rc 1 "acrt lock (read-only dir)" "$WORK/ro.err"
	[ -z "$(find "$WORK/ro" -name '.build.lock.*')" ] || fail "temporary file left in $WORK/ro"
else
	say "  (root: skipped)"
fi
pass
