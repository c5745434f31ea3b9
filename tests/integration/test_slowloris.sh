#!/usr/bin/env bash
# Hostile clients cannot lock anyone out (issue 17, docs/SECURITY.md "Hostile
# clients"): a slowloris against both HTTP servers at once, bounded in count
# (ATTACK connections per server) and time (the attacker gives up after
# SLOW_MAX_S), while an authorised client keeps getting answers.
#
#   acrt runs with `ulimit -n 1024`: each server may hold 768 connections.
#   The attacker (Python sockets, from 127.0.0.1) opens ATTACK (900) to the
#   API and as many to an APIEndpoint (bearer token): each sends an unfinished
#   request head and then one more byte a second, so libmicrohttpd's idle
#   timeout never fires. On the endpoint, some hold the token and trickle a
#   body instead (Content-Length, and chunked). Before the fix, this fills
#   both servers and nobody else gets in.
#
#   Checks: while the attack lasts, an authorised client (curl, from the
#   loopback address 127.0.0.2: another client) gets 200 from the API and 202
#   from the endpoint every time; one address holds at most 16 API and 128
#   endpoint connections (the rest are closed at once); every connection held
#   is closed by the server at its whole-request deadline (10 s from accept)
#   although it never went idle; the endpoint counts them in
#   connections_timed_out; acrt exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

ATTACK=900                  # connections per server: more than the 768 it may hold
API_PER_CLIENT=16           # ACRT__HTTP_PER_CLIENT_API
EP_PER_CLIENT=128           # ACRT__HTTP_PER_CLIENT_ENDPOINT
DEADLINE_S=10               # ACRT__HTTP_DEADLINE_S (max_body_bytes < 1 MiB adds nothing)
SLACK_S=5                   # how late past the deadline a close may come (sanitizers)
SLOW_MAX_S=$((DEADLINE_S + SLACK_S + 6)) # the attacker gives up after this
CLIENT=127.0.0.2            # the authorised client's source address

py 'import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.close()' "$CLIENT" ||
	fail "cannot bind $CLIENT (the loopback is not 127.0.0.0/8 here)"

D="$WORK/sys"
mkdir -p "$D"
API_PORT=$(free_port)
EP_PORT=$(free_port)
EP_TOKEN="ep-$RANDOM$RANDOM$RANDOM"
echo "$EP_TOKEN" >"$D/ep.token"
echo "read-$RANDOM$RANDOM$RANDOM" >"$D/read.token"
READ_TOKEN=$(cat "$D/read.token")
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: slowloris
  components:
    - name: http
      type: APIEndpoint
      config:
        listen: 127.0.0.1:$EP_PORT
        routes: [{path: /orders}]
        auth: {token_file: ep.token}
        max_body_bytes: 4096
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: http.output, to: out.input}
YAML
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: slowloris
runtime:
  api: {listen: "127.0.0.1:$API_PORT", auth: {read_token_file: read.token}}
  logging: {format: json}
YAML

# acrt with 1024 descriptors: each server's connection limit is 1024 - 256.
(ulimit -n 1024 && exec "$ACRT" run --quiet "$D") </dev/null >"$WORK/run.out" 2>"$WORK/run.err" &
PID=$!
_REAPED=""
_BG_PIDS="$_BG_PIDS $PID"
both_listening() {
	grep -qs 'api listening on' "$WORK/run.err" && grep -qs '"msg":"listening on http://' "$WORK/run.err"
}
wait_alive "$PID" 30 both_listening || fail "the servers did not start" "$WORK/run.err"
ok "API on 127.0.0.1:$API_PORT, APIEndpoint on 127.0.0.1:$EP_PORT"

API_URL="http://127.0.0.1:$API_PORT/healthz"
EP_URL="http://127.0.0.1:$EP_PORT/orders"
# answer API|EP: the authorised client's request; prints the status (000: none).
answer() {
	if [ "$1" = API ]; then
		curl -s -o /dev/null -w '%{http_code}' --max-time 4 --interface "$CLIENT" \
			-H "Authorization: Bearer $READ_TOKEN" "$API_URL"
	else
		curl -s -o /dev/null -w '%{http_code}' --max-time 4 --interface "$CLIENT" \
			-H "Authorization: Bearer $EP_TOKEN" -H 'Content-Type: application/json' \
			-d '{"n":1}' "$EP_URL"
	fi
}
[ "$(answer API)" = 200 ] || fail "the API does not answer before the attack" "$WORK/run.err"
[ "$(answer EP)" = 202 ] || fail "the endpoint does not answer before the attack" "$WORK/run.err"
ok "the authorised client gets 200 and 202 before the attack"

cat >"$WORK/slowloris.py" <<'PY'
# slowloris.py API_PORT EP_PORT N EP_TOKEN MAX_S READY OUT
# Opens N connections to each server (first the endpoint's body tricklers),
# then sends one byte a second on every open one until all are closed by the
# server or MAX_S pass. OUT: per server, each connection's lifetime (s, from
# its connect to the server's close) or null when still open at the end.
import json, resource, select, socket, sys, time

api_port, ep_port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
token, max_s, ready, out = sys.argv[4], float(sys.argv[5]), sys.argv[6], sys.argv[7]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 2 * n + 64
if soft != resource.RLIM_INFINITY and soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

conns = []  # [server, socket, connected_at, closed_at, drip]
def open_one(server, port, head, drip):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(head)
    except OSError:
        pass  # already refused: counted as closed at once below
    s.setblocking(False)
    conns.append([server, s, time.monotonic(), None, drip])

head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
auth = ("Authorization: Bearer %s\r\n" % token).encode()
post = b"POST /orders HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Type: application/json\r\n"
for _ in range(6):   # a token, a full head, then a body a byte a second
    open_one("ep", ep_port, post + b"Content-Length: 2048\r\n\r\n[", b" ")
for _ in range(2):   # the same, chunked
    open_one("ep", ep_port, post + b"Transfer-Encoding: chunked\r\n\r\n1\r\n[\r\n", b"1\r\n \r\n")
for _ in range(n - 8):
    open_one("ep", ep_port, head, b"a")
for _ in range(n):
    open_one("api", api_port, head, b"a")
open(ready, "w").close()

start = time.monotonic()
next_drip = start + 1.0
while time.monotonic() - start < max_s:
    live = [c for c in conns if c[3] is None]
    if not live:
        break
    now = time.monotonic()
    if now >= next_drip:
        for c in live:
            try:
                c[1].send(c[4])
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                c[3] = now
        next_drip = now + 1.0
    live = [c for c in conns if c[3] is None]
    if not live:
        break
    by_fd = {c[1].fileno(): c for c in live}
    p = select.poll()
    for fd in by_fd:
        p.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    for fd, _ in p.poll(max(0, (next_drip - time.monotonic()) * 1000)):
        c = by_fd[fd]
        try:
            data = c[1].recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:  # the server closed it (an answer first is fine too)
            c[3] = time.monotonic()
res = {"api": [], "ep": []}
for server, s, t0, t1, _ in conns:
    res[server].append(None if t1 is None else round(t1 - t0, 3))
    s.close()
json.dump(res, open(out, "w"))
PY

"$PY" "$WORK/slowloris.py" "$API_PORT" "$EP_PORT" "$ATTACK" "$EP_TOKEN" "$SLOW_MAX_S" \
	"$WORK/ready" "$WORK/slowloris.json" >"$WORK/slowloris.log" 2>&1 &
SL=$!
_BG_PIDS="$_BG_PIDS $SL"
wait_alive "$SL" 60 test -f "$WORK/ready" || fail "the attacker did not open its connections" "$WORK/slowloris.log"
ok "the attack is on: $ATTACK connections opened to each server, trickling a byte a second"

# The authorised client, while the attack lasts (paced: one pair at a time).
tries=0
while alive "$SL"; do
	c=$(answer API)
	[ "$c" = 200 ] || fail "under attack (try $((tries + 1))), the API answered the authorised client '$c', expected 200" "$WORK/run.err"
	c=$(answer EP)
	[ "$c" = 202 ] || fail "under attack (try $((tries + 1))), the endpoint answered the authorised client '$c', expected 202" "$WORK/run.err"
	tries=$((tries + 1))
	sleep 0.2 # pacing between tries, not a wait for a condition
done
wait "$SL" || fail "the attacker failed" "$WORK/slowloris.log"
[ "$tries" -ge 5 ] || fail "only $tries tries while the attack lasted"
ok "the authorised client got 200 and 202 on all $tries tries during the attack"
alive "$PID" || fail "acrt exited during the attack" "$WORK/run.err"

py 'import json, sys
r = json.load(open(sys.argv[1]))
n, api_lim, ep_lim, deadline, slack = (int(a) for a in sys.argv[2:7])
bad = []
for server, lim in (("api", api_lim), ("ep", ep_lim)):
    life = r[server]
    if len(life) != n:
        bad.append("%s: %d connections, expected %d" % (server, len(life), n))
    still = sum(1 for t in life if t is None)
    held = [t for t in life if t is not None and t >= 2.0]
    if still:
        bad.append("%s: %d connections still open after the attacker gave up" % (server, still))
    if not held or len(held) > lim:
        bad.append("%s: %d connections held past 2 s, expected 1 to %d (one address)" %
                   (server, len(held) + still, lim))
    late = [t for t in held if t > deadline + slack]
    if late:
        bad.append("%s: %d held connections closed after %d s (max %.1f s): no deadline" %
                   (server, len(late), deadline + slack, max(late)))
    early = [t for t in held if t < deadline - 1]
    if early:
        bad.append("%s: %d trickling connections closed before the deadline (min %.1f s)" %
                   (server, len(early), min(early)))
    print("%s: %d refused at once, %d held, closed at %.1f..%.1f s" % (server, n - len(held) - still,
          len(held), min(held or [0]), max(held or [0])))
with open(sys.argv[7], "w") as f:
    f.write(str(len([t for t in r["ep"] if t is not None and t >= 2.0])))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)' "$WORK/slowloris.json" "$ATTACK" "$API_PER_CLIENT" "$EP_PER_CLIENT" "$DEADLINE_S" "$SLACK_S" "$WORK/ep_held" >"$WORK/check.out" 2>&1 ||
	fail "the limits did not hold" "$WORK/check.out" "$WORK/run.err"
sed 's/^/    /' "$WORK/check.out"
ok "one address held at most $API_PER_CLIENT API and $EP_PER_CLIENT endpoint connections; each closed at its $DEADLINE_S s deadline though it never went idle"

EP_HELD=$(cat "$WORK/ep_held")
timed_out_counted() {
	curl -s --max-time 4 -H "Authorization: Bearer $READ_TOKEN" \
		"http://127.0.0.1:$API_PORT/api/v1/components/http" >"$WORK/http.json" &&
		py 'import json, sys
c = json.load(open(sys.argv[1]))["counters"]
sys.exit(0 if c.get("connections_timed_out", 0) >= int(sys.argv[2]) else 1)' "$WORK/http.json" "$EP_HELD"
}
wait_for 10 timed_out_counted || fail "connections_timed_out does not count the $EP_HELD connections cut" "$WORK/http.json"
ok "the endpoint counts them: connections_timed_out >= $EP_HELD"
[ "$(answer API)" = 200 ] || fail "no 200 from the API after the attack" "$WORK/run.err"
[ "$(answer EP)" = 202 ] || fail "no 202 from the endpoint after the attack" "$WORK/run.err"

kill -TERM "$PID"
wait_exit "$PID" 20 || fail "no exit within 20 s of SIGTERM" "$WORK/run.err"
expect_rc 0 "SIGTERM after the attack" "$WORK/run.err"
pass
