#!/usr/bin/env bash
# The web console in a browser (docs/CONSOLE.md): Debian's chromium, headless,
# driven over the DevTools protocol by console_cdp.py (python3-websocket),
# against a running system: gen -> sink at a steady rate, and gen2 -> slow ->
# out2 where `slow` (the gate test plugin) holds every event until a file
# appears, with an alert rule on the fill of streams; the two pipelines are
# placed on two nodes (edge, core), all run in one process (no --node). The
# console, logged in with the read token, shows every component and binding,
# grouped by node, gen's rate above
# zero, the fill of gen2 -> slow rising to red, the alert firing (and in its
# history); creating a checkpoint with the read token is refused (403 shown);
# logged in again with the write token, a checkpoint is created and listed; a
# component's detail shows its config, histogram and a live tap; a hot reload
# (slow's config changed, POST /api/v1/reload) is listed with its diff. Screenshots
# go to build/test-artifacts/console/. chromium is required (CI installs it).
. "$(dirname "$0")/lib.sh" "$@"
GATE=$(plugin gate) || exit 1

command -v chromium >/dev/null || fail "chromium is missing (scripts/install-deps.sh installs it)"
/usr/bin/python3 -c 'import websocket' 2>/dev/null ||
	fail "python3-websocket is missing (scripts/install-deps.sh installs it)"

has_addr() { grep -q 'api listening on http://' "$1"; }

D="$WORK/sys"
mkdir -p "$D/secrets"
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: consoledemo
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 200}}
    - {name: sink, type: Sink, config: {sink: "null"}}
    - {name: gen2, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 400}}
    - name: slow
      implementation: plugin:$GATE#gate
      config: {gate: $WORK/gate.open}
    - {name: out2, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: sink.input}
    - {from: gen2.output, to: slow.input, buffer_size: 64}
    - {from: slow.output, to: out2.input}
YAML
# Tokens of our own, 0600, like an operator's.
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/secrets/read.token"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/secrets/write.token"
umask 022
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: consoledemo
nodes:
  edge: {components: [gen, sink]}
  core: {components: [gen2, slow, out2]}
runtime:
  chaining: false
  api:
    listen: "127.0.0.1:$PORT"
    auth: {read_token_file: secrets/read.token, write_token_file: secrets/write.token}
  state: {adapter: sqlite_snapshot, path: state/demo.db, checkpoint_interval_s: 0}
  alerts:
    - {name: console_fill, metric: acrt_stream_fill_ratio, op: ">", threshold: 0.5, for_s: 0, severity: warning}
YAML

start_acrt sys run "$D"
wait_alive "$PID" 20 has_addr "$WORK/sys.err" || fail "no 'api listening' line" "$WORK/sys.err"

SHOTS="$BUILD/test-artifacts/console"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
say "chromium against http://127.0.0.1:$PORT/ui (screenshots in $SHOTS)"
timeout -k 5 60 /usr/bin/python3 "$SRC/tests/integration/console_cdp.py" "http://127.0.0.1:$PORT" \
	"$D/secrets/read.token" "$D/secrets/write.token" "$WORK/gate.open" "$SHOTS" "$D/architecture.yaml" \
	>"$WORK/cdp.out" 2>"$WORK/cdp.err"
RC=$?
sed 's/^/    /' "$WORK/cdp.out"
[ "$RC" = 0 ] || fail "the browser checks failed (exit $RC)" "$WORK/cdp.err" "$WORK/sys.err"
for f in 1-pressure 2-refused 3-detail; do
	[ -s "$SHOTS/$f.png" ] || fail "no screenshot $SHOTS/$f.png"
	[ "$(head -c 8 "$SHOTS/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "$SHOTS/$f.png is not a PNG"
done
ok "screenshots saved: $(cd "$SHOTS" && echo *.png)"

kill -TERM "$PID"
wait_exit "$PID" 20 || fail "acrt did not stop" "$WORK/sys.err"
expect_rc 0 "acrt run stopped by SIGTERM" "$WORK/sys.err"
pass
