#!/usr/bin/env bash
# bench/endpoint.sh - HTTP ingress throughput of the APIEndpoint built-in.
#
#   bash bench/endpoint.sh [BUILD_DIR]          default BUILD_DIR: build
#
# Runs `BUILD_DIR/acrt run --quiet` on a generated blueprint, APIEndpoint (one
# POST route, on a free port) -> Sink{sink: "null"} (chained: the endpoint's
# run() thread emits and the sink counts), and loads it with wrk: POST of a
# small JSON object, keep-alive connections, for BENCH_ENDPOINT_S seconds
# after a short warm-up. wrk's Lua done() hook prints its figures as JSON.
#
# Prints one line (accepted requests/s, all requests/s, non-2xx, latency) and
# writes BUILD_DIR/bench/endpoint.json; the run's files stay in
# BUILD_DIR/bench/endpoint/. Checks, exit 1 when one fails: acrt exits 0 after
# SIGTERM, wrk saw no socket errors, and the sink received every request
# answered 202 (at least wrk's accepted count; at most that plus the requests
# in flight when wrk stopped, one per connection).
#
# Environment:
#   BENCH_ENDPOINT_S=5        seconds of load (after a 1 s warm-up)
#   BENCH_WRK_THREADS=2       wrk -t
#   BENCH_WRK_CONNECTIONS=64  wrk -c
#   BENCH_ENDPOINT_THREADS=1  the endpoint's `threads` (libmicrohttpd threads)
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
acrt="$build/acrt"
secs="${BENCH_ENDPOINT_S:-5}"
wt="${BENCH_WRK_THREADS:-2}"
wc="${BENCH_WRK_CONNECTIONS:-64}"
et="${BENCH_ENDPOINT_THREADS:-1}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() {
	echo "endpoint bench: $*" >&2
	exit 1
}
[ -x "$acrt" ] || die "$acrt is missing (build first: make)"
command -v wrk >/dev/null || die "wrk is missing (scripts/install-deps.sh installs it)"

out="$build/bench/endpoint"
rm -rf "$out"
mkdir -p "$out"
port=$("$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

cat >"$out/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: endpoint_bench
  components:
    - name: http
      type: APIEndpoint
      config: {listen: "127.0.0.1:$port", routes: [{path: /orders}], threads: $et}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: http.output, to: out.input}
YAML
cat >"$out/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: endpoint_bench
runtime:
  api: {listen: "127.0.0.1:0"}
  logging: {format: json}
YAML
body='{"order_id":1234567,"customer":"c-42","amount":129.95,"currency":"EUR","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}'
cat >"$out/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >>"$out/post.lua" <<'LUA'

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx":%d,' ..
		'"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
		'"latency_mean_us":%.1f,"latency_p50_us":%d,"latency_p99_us":%d,"latency_max_us":%d}\n',
		summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read,
		e.write, e.timeout, latency.mean, latency:percentile(50), latency:percentile(99),
		latency.max))
end
LUA

"$acrt" run --quiet "$out" </dev/null >"$out/acrt.out" 2>"$out/acrt.err" &
pid=$!
trap 'kill -KILL "$pid" 2>/dev/null || true' EXIT
deadline=$(($(date +%s) + 15))
until grep -qs 'listening on http://' "$out/acrt.err"; do
	kill -0 "$pid" 2>/dev/null || die "acrt exited before listening (see $out/acrt.err)"
	[ "$(date +%s)" -lt "$deadline" ] || die "acrt is not listening after 15 s (see $out/acrt.err)"
	sleep 0.05
done
url="http://127.0.0.1:$port/orders"
wrk -t"$wt" -c"$wc" -d1s -s "$out/post.lua" "$url" >"$out/warmup.wrk" 2>&1 ||
	die "wrk failed (see $out/warmup.wrk)"
wrk -t"$wt" -c"$wc" -d"${secs}s" --latency -s "$out/post.lua" "$url" >"$out/run.wrk" 2>&1 ||
	die "wrk failed (see $out/run.wrk)"
warm=$(sed -n 's/^WRK_JSON //p' "$out/warmup.wrk")
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
trap - EXIT

"$PY" - "$out" "$build/bench/endpoint.json" "$rc" "$warm" "$wt" "$wc" "$et" "${#body}" <<'PY'
import json, os, sys
out, dest, rc, warm = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
wt, wc, et, body_len = (int(x) for x in sys.argv[5:9])
def wrk_json(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("WRK_JSON "):
                return json.loads(line[len("WRK_JSON "):])
    sys.exit("endpoint bench: wrk printed no summary (see %s)" % path)
w = wrk_json(os.path.join(out, "run.wrk"))
wu = json.loads(warm) if warm else wrk_json(os.path.join(out, "warmup.wrk"))
sink = None
with open(os.path.join(out, "acrt.err"), errors="replace") as f:
    for line in f:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if isinstance(r, dict) and "finished" in str(r.get("msg", "")) and "events_in" in r:
            sink = r["events_in"]
secs = w["duration_us"] / 1e6
accepted = w["requests"] - w["non_2xx"]
accepted_all = accepted + wu["requests"] - wu["non_2xx"]
errors = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
problems = []
if rc != 0:
    problems.append("acrt exited with %d after SIGTERM" % rc)
if errors:
    problems.append("%d socket errors" % errors)
if sink is None:
    problems.append("no end-of-run summary from acrt")
elif not (accepted_all <= sink <= accepted_all + 2 * wc):
    problems.append("the sink got %d events, wrk saw %d accepted" % (sink, accepted_all))
res = {
    "row": "endpoint",
    "what": "APIEndpoint -> null Sink (chained), wrk POST of a %d-byte JSON body" % body_len,
    "accepted_per_s": accepted / secs if secs > 0 else 0.0,
    "requests_per_s": w["requests"] / secs if secs > 0 else 0.0,
    "requests": w["requests"], "accepted": accepted, "non_2xx": w["non_2xx"],
    "seconds": secs, "socket_errors": errors,
    "latency_us": {"mean": w["latency_mean_us"], "p50": w["latency_p50_us"],
                   "p99": w["latency_p99_us"], "max": w["latency_max_us"]},
    "wrk": {"threads": wt, "connections": wc, "run": w, "warmup": wu},
    "endpoint_threads": et, "sink_events": sink, "exit_code": rc,
    "cpus": os.cpu_count(), "ok": not problems, "problems": problems,
}
os.makedirs(os.path.dirname(dest), exist_ok=True)
with open(dest, "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")
print("endpoint: %.0f accepted requests/s (%.0f requests/s, %d non-2xx) over %.1f s, "
      "wrk -t%d -c%d, endpoint threads %d; latency p50 %.2f ms, p99 %.2f ms; sink %s events%s"
      % (res["accepted_per_s"], res["requests_per_s"], w["non_2xx"], secs, wt, wc, et,
         w["latency_p50_us"] / 1000, w["latency_p99_us"] / 1000, sink,
         "" if not problems else "  FAIL: " + "; ".join(problems)))
print("  -> %s" % dest)
sys.exit(1 if problems else 0)
PY
