#!/usr/bin/env bash
# Builds the libFuzzer harnesses (cmake -DACRT_FUZZ=ON with clang: ASan, UBSan
# and libFuzzer) and runs each for SECONDS (default 60), one after the other.
#   tests/fuzz/run.sh [SECONDS] [NAME...]     NAME: blueprint, schema, ... (default: all)
# Seeds: tests/fuzz/corpus/NAME/ (read only); what a run adds goes to
# $FUZZ_BUILD/corpus/NAME/, crashes, leaks and timeouts to
# $FUZZ_BUILD/artifacts/NAME/. Exit status 1 when any harness found something.
# FUZZ_BUILD (default build/fuzz), FUZZ_JOBS (build parallelism, default 2),
# FUZZ_TIMEOUT (seconds one input may take, default 10). docs/FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
out=${FUZZ_BUILD:-build/fuzz}
timeout=${FUZZ_TIMEOUT:-10}
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$out" -DACRT_FUZZ=ON -DACRT_BUILD_TESTS=OFF \
	-DACRT_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
names=("$@")
if ((${#names[@]} == 0)); then
	for f in tests/fuzz/fuzz_*.c; do
		n=${f##*/fuzz_}
		names+=("${n%.c}")
	done
fi
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
cmake --build "$out" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
# libjq 1.6's own leak on an unterminated string literal (tests/fuzz/lsan.supp).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for n in "${names[@]}"; do
	mkdir -p "$out/corpus/$n" "$out/artifacts/$n" "tests/fuzz/corpus/$n"
	touch "$out/artifacts/$n/.start" # what this run finds is newer
	log="$out/fuzz_$n.log"
	echo "fuzz $n: ${secs}s (log $log)"
	rc=0
	"$out/fuzz/fuzz_$n" -max_total_time="$secs" -timeout="$timeout" -max_len=8192 \
		-rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$n/" "$out/corpus/$n" "tests/fuzz/corpus/$n" \
		>"$log" 2>&1 || rc=$?
	# The last status line: executions, coverage (edges), features, corpus.
	grep -E '^#[0-9]+' "$log" | tail -1 | sed "s/^/  /" || true
	grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | sed "s/^/  /" || true
	if ((rc != 0)); then
		echo "  FOUND something (exit $rc):" \
			$(find "$out/artifacts/$n" -type f -newer "$out/artifacts/$n/.start")
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -3 | sed "s/^/  /" || true
		failed+=("$n")
	fi
done
if ((${#failed[@]} > 0)); then
	echo "fuzz: findings in ${failed[*]}: see $out/artifacts/ and docs/FUZZING.md" >&2
	exit 1
fi
