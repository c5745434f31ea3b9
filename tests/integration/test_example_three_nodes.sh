#!/usr/bin/env bash
# The worked example examples/three-nodes (docs/MULTINODE.md): `acrt up` runs its
# three nodes against a nats-server -js of the test's own, the run ends by
# itself with every order written once and the exact totals; the same
# blueprint in one process (no --node) gives the same totals.
. "$(dirname "$0")/lib.sh" "$@"

command -v nats-server >/dev/null || fail "nats-server is not installed (scripts/install-deps.sh)"
EX="$WORK/three-nodes"
cp -r "$SRC/examples/three-nodes" "$EX"
NPORT=$(free_port)
MPORT=$(free_port)
nats-server -js -a 127.0.0.1 -p "$NPORT" -m "$MPORT" -sd "$WORK/js" >"$WORK/nats.log" 2>&1 &
_BG_PIDS="$_BG_PIDS $!"
nats_up() { curl -sf "http://127.0.0.1:$MPORT/healthz?js-enabled-only=true" >/dev/null; }
wait_for 10 nats_up || fail "nats-server did not start" "$WORK/nats.log"

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

say "the same blueprint in one process"
rm -rf "$EX/out"
run_acrt one 60 run "$EX" -q
expect_rc 0 "acrt run examples/three-nodes" "$WORK/one.err"
totals_ok || fail "the one-process results are wrong"
ok "one process: the same totals"
pass
