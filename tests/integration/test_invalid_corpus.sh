#!/usr/bin/env bash
# test_invalid_corpus.sh - runs `acrt validate` over the blueprint corpus.
#   invalid/NN-name/: must exit 2, and the first stderr line must contain the
#                     one-line substring in NN-name/expect.
#   valid/NN-name/:   must exit 0.
# Usage: test_invalid_corpus.sh ACRT_BINARY CORPUS_DIR
#    or: test_invalid_corpus.sh ACRT_BINARY BUILD_DIR SOURCE_DIR   (as ctest runs it)
# Prints one line per case; exits 1 if any case fails.
set -u
acrt=${1:?usage: $0 ACRT_BINARY CORPUS_DIR | ACRT_BINARY BUILD_DIR SOURCE_DIR}
if [ $# -ge 3 ]; then
	corpus=$3/tests/blueprints
else
	corpus=${2:?usage: $0 ACRT_BINARY CORPUS_DIR}
fi
if [ ! -d "$corpus/invalid" ]; then
	echo "no corpus at $corpus" >&2
	exit 1
fi
fail=0
total=0
unset ACRT_TEST_SURELY_UNSET_VAR
for dir in "$corpus"/invalid/*/; do
	[ -d "$dir" ] || continue
	dir=${dir%/}
	name=$(basename "$dir")
	total=$((total + 1))
	expect=$(head -n 1 "$dir/expect")
	err=$("$acrt" validate "$dir" 2>&1 >/dev/null)
	rc=$?
	first=$(printf '%s\n' "$err" | head -n 1)
	if [ "$rc" -ne 2 ]; then
		echo "FAIL invalid/$name: exit $rc, expected 2"
		fail=$((fail + 1))
	elif [[ "$first" != *"$expect"* ]]; then
		echo "FAIL invalid/$name: first error line"
		echo "     got:      $first"
		echo "     expected: ...$expect..."
		fail=$((fail + 1))
	else
		echo "ok   invalid/$name"
	fi
done
for dir in "$corpus"/valid/*/; do
	[ -d "$dir" ] || continue
	dir=${dir%/}
	name=$(basename "$dir")
	total=$((total + 1))
	err=$("$acrt" validate "$dir" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL valid/$name: exit $rc"
		printf '%s\n' "$err" | head -n 5 | sed 's/^/     /'
		fail=$((fail + 1))
	else
		echo "ok   valid/$name"
	fi
done
echo "$((total - fail))/$total corpus cases passed"
[ "$fail" -eq 0 ]
