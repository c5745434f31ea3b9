#!/usr/bin/env bash
# The worked example examples/three-nodes (docs/MULTINODE.md): `acrt up` runs its
# three nodes against a nats-server -js of the test's own, the run ends by
# itself with every order written once and the exact totals; the same
# blueprint in one process (no --node) gives the same totals; and its
# scale-out deployment (deployment.scale-out.yaml: shape on two nodes) checks
# with `acrt validate --deployment` and, run by `acrt up --deployment`, gives
# the same totals (test_scale_out checks how the work is shared).
. "$(dirname "$0")/lib.sh" "$@"

EX="$WORK/three-nodes"
cp -r "$SRC/examples/three-nodes" "$EX"
start_nats

totals_ok() {
	py "$PY_PRELUDE"'
t = load(sys.argv[1])
if len(t) != 1 or t[0]["key"] != "accepted" or t[0]["amount_cents_count"] != 100000 \
   or t[0]["amount_cents_sum"] != 4200000:
    die("wrong totals: %r" % t)
o = load(sys.argv[2])
if sorted(r["seq"] for r in o) != list(range(1, 100001)):
    die("orders are not 1..100000 once each")
if any(r["status"] != "accepted" or r["amount_cents"] != 42 for r in o):
    die("an order was not reshaped")
' "$EX/out/totals.jsonl" "$EX/out/orders.jsonl"
}

say "acrt up: three nodes over NATS"
NATS_URL="nats://127.0.0.1:$NPORT" run_acrt up 60 up "$EX"
expect_rc 0 "acrt up examples/three-nodes" "$WORK/up.err"
for n in ingest work store; do
	grep -q "^$n *| .*system 'shop' finished" "$WORK/up.err" || fail "node $n did not finish" "$WORK/up.err"
done
totals_ok || fail "the three nodes' results are wrong"
ok "three nodes: 100000 orders once each, totals exact"

say "acrt up with deployment.scale-out.yaml: shape on work1 and work2"
rm -rf "$EX/out"
run_acrt vscale 10 validate "$EX" --deployment "$EX/deployment.scale-out.yaml"
expect_rc 0 "acrt validate --deployment deployment.scale-out.yaml" "$WORK/vscale.err"
grep -q "4 nodes" "$WORK/vscale.out" || fail "validate did not read the scale-out deployment" "$WORK/vscale.out"
NATS_URL="nats://127.0.0.1:$NPORT" run_acrt upscale 60 up "$EX" --deployment "$EX/deployment.scale-out.yaml"
expect_rc 0 "acrt up --deployment deployment.scale-out.yaml" "$WORK/upscale.err"
for n in ingest work1 work2 store; do
	grep -q "^$n *| .*system 'shop' finished" "$WORK/upscale.err" ||
		fail "node $n did not finish" "$WORK/upscale.err"
done
totals_ok || fail "the scaled-out nodes' results are wrong"
ok "four nodes, shape on two: 100000 orders once each, totals exact"

say "the same blueprint in one process"
rm -rf "$EX/out"
run_acrt one 60 run "$EX" -q
expect_rc 0 "acrt run examples/three-nodes" "$WORK/one.err"
totals_ok || fail "the one-process results are wrong"
ok "one process: the same totals"
pass
