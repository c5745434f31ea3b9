#!/usr/bin/env bash
# test_gate.sh - issue 11, "acrt validate is the single gate": a blueprint that
# `acrt validate` accepts does not fail at `run` for a reason validate could
# have seen. Lists every runtime error call site from the current sources
# (tests/gate/sites.py) and checks it against tests/gate/messages.tsv:
#   (a) every site is classified there, (b) every row's site still exists,
#   (c) every `validate` row names existing corpus cases, (d) `acrt validate`
#   exits 2 on each of them, and for sites in src/components (a built-in's
#   setup), `acrt run` on the case exits 2 at load too, never 1 at setup.
. "$(dirname "$0")/lib.sh" "$@"

gate=$SRC/tests/gate
corpus=$SRC/tests/blueprints/invalid
[ -f "$gate/messages.tsv" ] || fail "no table at $gate/messages.tsv"

say "call sites against the table"
if ! "$PY" "$gate/sites.py" "$SRC" "$gate/messages.tsv" >"$WORK/diff.txt" 2>&1; then
	cat "$WORK/diff.txt" >&2
	fail "tests/gate/messages.tsv does not match the error call sites (missing: add a row, classified; stale: remove it)"
fi
n_sites=$("$PY" "$gate/sites.py" "$SRC" | wc -l)
ok "$n_sites call sites, each classified once, no stale row"

# The `validate` rows as "FILE<TAB>CASE" lines, one per case.
awk -F'\t' '!/^#/ && NF == 4 && $3 == "validate" {
	n = split($4, cs, " "); for (i = 1; i <= n; i++) print $1 "\t" cs[i] }' \
	"$gate/messages.tsv" | sort -u >"$WORK/cases.txt"
awk -F'\t' '!/^#/ && NF == 4 && $3 != "validate" && $3 != "runtime"' "$gate/messages.tsv" \
	>"$WORK/badclass.txt"
[ -s "$WORK/badclass.txt" ] && fail "rows with a class other than validate/runtime" "$WORK/badclass.txt"
[ -s "$WORK/cases.txt" ] || fail "no validate row in the table"

# Files of src/components (the built-ins' setup): their cases must also fail
# `acrt run` at load.
comp_files=$(cd "$SRC/src" && find components -name '*.c' -printf '%f\n')
is_component() { printf '%s\n' "$comp_files" | grep -qxF "$1"; }

unset ACRT_TEST_SURELY_UNSET_VAR
checked=""
n_run=0
while IFS=$'\t' read -r file case; do
	dir=$corpus/$case
	[ -f "$dir/architecture.yaml" ] || fail "$file: validate case '$case' does not exist in tests/blueprints/invalid"
	if [[ " $checked " != *" $case "* ]]; then
		run_acrt "validate-$case" 30 validate "$dir"
		[ "$RC" = 2 ] || fail "acrt validate $case: exit $RC, expected 2" "$WORK/validate-$case.err"
		head -n 1 "$WORK/validate-$case.err" | grep -Eq '^[^:]+:[0-9]+:[0-9]+: ' ||
			fail "acrt validate $case: first error has no file:line:col" "$WORK/validate-$case.err"
		checked="$checked $case"
	fi
	if is_component "$file" && [ ! -f "$WORK/run-$case.err" ]; then
		# From a copy, so that nothing a run might write lands in the source tree.
		cp -r "$dir" "$WORK/case-$case"
		run_acrt "run-$case" 30 run "$WORK/case-$case"
		[ "$RC" = 2 ] || fail "acrt run $case ($file): exit $RC, expected 2 at load (1 means setup saw it first)" "$WORK/run-$case.err"
		n_run=$((n_run + 1))
	fi
done <"$WORK/cases.txt"
ok "$(echo "$checked" | wc -w) validate cases exit 2 with file:line:col; $n_run built-in setup cases exit 2 at run too"

n_validate=$(awk -F'\t' '!/^#/ && NF == 4 && $3 == "validate"' "$gate/messages.tsv" | wc -l)
n_runtime=$(awk -F'\t' '!/^#/ && NF == 4 && $3 == "runtime"' "$gate/messages.tsv" | wc -l)
n_gap=$(awk -F'\t' '!/^#/ && NF == 4 && $3 == "runtime" && $4 ~ /^GAP:/' "$gate/messages.tsv" | wc -l)
say "sites: $n_validate validate, $n_runtime runtime ($n_gap of them GAP)"
pass
