#!/usr/bin/env bash
# The quickstart (examples/quickstart) runs as documented: 1000 events go
# through the Transformer and the native `enrich` plugin into the file sink.
# The runs are repeated with operator chaining on and off (runtime.chaining).
. "$(dirname "$0")/lib.sh" "$@"

QS="$SRC/examples/quickstart"
ENRICH="$BUILD/examples/libenrich.so"
[ -f "$QS/architecture.yaml" ] || fail "$QS/architecture.yaml is missing"
[ -f "$ENRICH" ] || fail "$ENRICH is missing (build the examples: make)"

say "copy the quickstart into $WORK/qs, pointing its plugin path at $ENRICH"
mkdir -p "$WORK/qs"
cp "$QS/architecture.yaml" "$QS/deployment.yaml" "$WORK/qs/"
grep -q 'plugin:../../build/examples/libenrich.so#enrich' "$WORK/qs/architecture.yaml" ||
	fail "the quickstart no longer references plugin:../../build/examples/libenrich.so#enrich"
sed -i "s|plugin:../../build/examples/libenrich.so|plugin:$ENRICH|" "$WORK/qs/architecture.yaml"

say "acrt validate the copy"
run_acrt validate 20 validate "$WORK/qs"
expect_rc 0 "acrt validate" "$WORK/validate.out" "$WORK/validate.err"

grep -q '^runtime:$' "$WORK/qs/deployment.yaml" ||
	fail "the quickstart deployment.yaml no longer has a block 'runtime:' key" "$WORK/qs/deployment.yaml"
cp "$WORK/qs/deployment.yaml" "$WORK/deployment.orig.yaml"

# quickstart_case CHAINING
quickstart_case() {
	local chaining=$1
	sed "s/^runtime:$/runtime:\n  chaining: $chaining/" "$WORK/deployment.orig.yaml" >"$WORK/qs/deployment.yaml"
	grep -qx "  chaining: $chaining" "$WORK/qs/deployment.yaml" || fail "could not set runtime.chaining" "$WORK/qs/deployment.yaml"
	rm -rf "$WORK/qs/out"
	say "chaining $chaining: acrt run the copy"
	run_acrt "run-chaining-$chaining" 25 run "$WORK/qs"
	expect_rc 0 "chaining $chaining: acrt run" "$WORK/run-chaining-$chaining.out" "$WORK/run-chaining-$chaining.err"

	local OUT="$WORK/qs/out/quickstart.jsonl"
	[ -f "$OUT" ] || fail "chaining $chaining: the sink file $OUT was not written" "$WORK/run-chaining-$chaining.err"
	say "chaining $chaining: check $OUT: 1000 events, seq 1..1000 in order, transformed and enriched"
	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
if len(evs) != 1000:
    die("expected 1000 events, got %d" % len(evs))
seqs = [e.get("seq") for e in evs]
if seqs != list(range(1, 1001)):
    die("seq is not 1..1000 in order; first differences: %r" % [(i + 1, s) for i, s in enumerate(seqs) if s != i + 1][:5])
for e in evs:
    if e.get("status") != "accepted":
        die("Transformer set: status should be accepted: %r" % e)
    if "amount" in e or e.get("amount_cents") != 42:
        die("Transformer rename: amount -> amount_cents (42) expected: %r" % e)
    if e.get("currency") != "EUR":
        die("enrich: currency EUR expected: %r" % e)
' "$OUT" || fail "chaining $chaining: the quickstart output is wrong" "$OUT"
	ok "chaining $chaining: 1000 events, seq 1..1000, status=accepted, amount_cents=42, currency=EUR"

	say "chaining $chaining: acrt run --deployment with component_overrides (enrich: currency USD, replicas 2) --quiet"
	cat >"$WORK/override.yaml" <<YAML
schema_version: "1.0.0"
system_name: quickstart
runtime: {chaining: $chaining}
component_overrides:
  enrich: {config: {currency: USD}, replicas: 2}
YAML
	run_acrt "override-chaining-$chaining" 25 run "$WORK/qs" --deployment "$WORK/override.yaml" --quiet
	expect_rc 0 "chaining $chaining: acrt run --deployment" "$WORK/override-chaining-$chaining.out" "$WORK/override-chaining-$chaining.err"
	py "$PY_PRELUDE"'
evs = load(sys.argv[1])
seqs = sorted(e.get("seq") for e in evs)
if seqs != list(range(1, 1001)):
    die("expected each of seq 1..1000 once, got %d events" % len(evs))
if any(e.get("currency") != "USD" for e in evs):
    die("the override currency USD was not applied: %r" % [e for e in evs if e.get("currency") != "USD"][:3])
' "$OUT" || fail "chaining $chaining: the overridden run's output is wrong" "$OUT" "$WORK/override-chaining-$chaining.err"
	ok "chaining $chaining: 1000 events, each once, currency=USD from component_overrides"
}

for chaining in true false; do
	quickstart_case "$chaining"
done
pass
