#!/usr/bin/env bash
# Soak, the CI form (issue 17; bench/soak.sh, docs/OPERATIONS.md): one system
# for 100 s with a hot reload every 0.25 s (about 400 reloads, alternately in
# place and generation switches; every fifth through POST /api/v1/reload),
# /metrics scrapes, taps and checkpoints on SQLite. RSS, fds and threads must
# stay flat after the warm-up: a replaced blueprint is freed once nothing
# borrows it (reload.h). Before that fix RSS grew by about 16 KB per reload,
# some 2.5 MB between the second and the last third of this run.
# ACRT_TEST_SCALE shortens it (at least 30 s); not run in the sanitizer builds
# (their allocators keep freed memory on purpose).
. "$(dirname "$0")/lib.sh" "$@"

SECONDS_=$("$PY" -c "print(max(30, int(100 * ${ACRT_TEST_SCALE:-1})))")
MIN=$("$PY" -c "print(int($SECONDS_ * 2))") # at least half of those sent

rc=0
SOAK_ACRT="$ACRT" SOAK_OUT="$WORK/soak" SOAK_SECONDS="$SECONDS_" SOAK_RELOAD_S=0.25 \
	SOAK_SAMPLE_S=1 SOAK_SCRAPE_S=1 SOAK_TAP_S=10 SOAK_MIN_RELOADS="$MIN" \
	bash "$SRC/bench/soak.sh" "$BUILD" >"$WORK/soak.out" 2>&1 || rc=$?
cat "$WORK/soak.out"
[ "$rc" = 0 ] || fail "soak: exit $rc (growth or a failed run)" "$WORK/soak/soak.json" \
	"$WORK/soak/system/acrt.log"
py 'import json, sys
s = json.load(open(sys.argv[1]))
assert s["verdict"] == "flat", s
assert s["reloads"]["failed"] == 0 and s["reloads"]["done"] >= int(sys.argv[2]), s["reloads"]
assert s["scrape_errors"] == 0 and s["tap_lines"] > 0, s' "$WORK/soak/soak.json" "$MIN" ||
	fail "soak: the summary is not a clean flat run" "$WORK/soak/soak.json"
ok "$(grep -o '[0-9]* reloads done' "$WORK/soak.out"): RSS, fds and threads flat"
pass
