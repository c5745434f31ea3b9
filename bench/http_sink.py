#!/usr/bin/env python3
"""bench/http_sink.py - the http sink's throughput against curl (issue 18).

    python3 bench/http_sink.py [BUILD_DIR]          default BUILD_DIR: build

One receiver (tests/integration/http_receiver.py --count-only: it counts the
lines of each POST body and answers 200) serves both sides, in the same run:
  - acrt: `acrt run --quiet` of Source{sequence, N events of ~190 bytes} ->
    Sink{sink: http, format: ndjson, max_items: B}; wall time of the process
    (start-up included, as every row of bench.py);
  - acrt_null: the same system into a null Sink, for what the rest costs;
  - curl: the same NDJSON bodies (the events as a file Sink writes them: the
    same bytes the http sink sends, cut every B lines) POSTed by one `curl -K`
    process over one keep-alive connection, each with an Idempotency-Key
    header as the sink sends; wall time of curl.
Each side must deliver exactly N events (the receiver's count), else the row
fails (exit 1). Best of BENCH_REPS runs each. Prints one line and writes
BUILD_DIR/bench/http_sink.json; the run's files stay in BUILD_DIR/bench/http_sink/.

Environment: BENCH_HTTP_N=200000 events (BENCH_QUICK: 50000), BENCH_HTTP_BATCH=500,
BENCH_REPS=3.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
acrt = os.path.join(build, "acrt")
quick = os.environ.get("BENCH_QUICK") == "1"
N = int(os.environ.get("BENCH_HTTP_N", "50000" if quick else "200000"))
B = int(os.environ.get("BENCH_HTTP_BATCH", "500"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
out = os.path.join(build, "bench", "http_sink")
PAYLOAD = ('{msg: "GET /api/v1/orders/12345?expand=items HTTP/1.1 200 1534 Mozilla/5.0 '
           '(X11; Linux x86_64) AppleWebKit/537.36", host: web-17}')


def die(msg):
    print("http_sink bench: %s" % msg, file=sys.stderr)
    sys.exit(1)


def blueprint(d, sink):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "architecture.yaml"), "w") as f:
        f.write('schema_version: "1.0.0"\nsystem:\n  name: bench_http_sink\n  components:\n'
                "    - {name: gen, type: Source, config: {generator: sequence, count: %d, "
                "payload: %s}}\n    - {name: out, type: Sink, config: %s}\n"
                "  bindings:\n    - {from: gen.output, to: out.input}\n" % (N, PAYLOAD, sink))
    s = socket.socket()  # the API on a free port, not the default 9464
    s.bind(("127.0.0.1", 0))
    api = s.getsockname()[1]
    s.close()
    with open(os.path.join(d, "deployment.yaml"), "w") as f:
        f.write('schema_version: "1.0.0"\nruntime: {api: {listen: "127.0.0.1:%d"}}\n' % api)


def received(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/stats" % port, timeout=10) as r:
        return json.load(r)["count_events"]


def main():
    if not os.access(acrt, os.X_OK):
        die("%s is missing (build first: make)" % acrt)
    if shutil.which("curl") is None:
        die("curl is missing")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    portf = os.path.join(out, "receiver.port")
    rx = subprocess.Popen([sys.executable, os.path.join(here, "..", "tests", "integration",
                                                        "http_receiver.py"), portf,
                           "--count-only"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(portf):
            if time.monotonic() > deadline or rx.poll() is not None:
                die("the receiver did not start")
            time.sleep(0.05)
        port = int(open(portf).read())
        url = "http://127.0.0.1:%d/ingest" % port
        # The bodies: the events' bytes as a file Sink writes them.
        fdir = os.path.join(out, "file")
        blueprint(fdir, "{sink: file, path: events.jsonl}")
        subprocess.run([acrt, "run", "--quiet", fdir], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(os.path.join(fdir, "events.jsonl"), "rb") as f:
            lines = f.readlines()
        if len(lines) != N:
            die("the file sink wrote %d events, not %d" % (len(lines), N))
        cfg = os.path.join(out, "curl.cfg")
        with open(cfg, "w") as c:
            for i in range(0, N, B):
                bf = os.path.join(out, "batch-%06d.ndjson" % (i // B))
                with open(bf, "wb") as f:
                    f.writelines(lines[i:i + B])
                c.write('%surl = "%s"\ndata-binary = "@%s"\noutput = "/dev/null"\n'
                        'header = "Content-Type: application/x-ndjson"\n'
                        'header = "Idempotency-Key: curl-0-0000000000000000-%d-%d"\n'
                        % ("next\n" if i > 0 else "", url, bf, i, min(B, N - i)))
        hdir = os.path.join(out, "acrt")
        blueprint(hdir, '{sink: http, url: "%s", format: ndjson, max_items: %d}' % (url, B))

        def one(argv, err_path):
            before = received(port)
            t0 = time.monotonic()
            with open(err_path, "wb") as err:
                p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=err)
            wall = time.monotonic() - t0
            got = received(port) - before
            return {"wall_s": wall, "events": got, "rc": p.returncode,
                    "events_per_s": N / wall, "ok": p.returncode == 0 and got == N}

        ndir = os.path.join(out, "null")
        blueprint(ndir, '{sink: "null"}')
        sides = {"acrt": [], "curl": [], "acrt_null": []}
        for i in range(REPS):
            t0 = time.monotonic()
            p = subprocess.run([acrt, "run", "--quiet", ndir], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            wall = time.monotonic() - t0
            sides["acrt_null"].append({"wall_s": wall, "events": N, "rc": p.returncode,
                                       "events_per_s": N / wall, "ok": p.returncode == 0})
            sides["acrt"].append(one([acrt, "run", "--quiet", hdir],
                                     os.path.join(out, "acrt.%d.err" % i)))
            sides["curl"].append(one(["curl", "-sS", "--fail", "-K", cfg],
                                     os.path.join(out, "curl.%d.err" % i)))
    finally:
        rx.terminate()
        rx.wait()
    res = {"row": "http_sink", "events": N, "batch": B, "reps": sides,
           "what": "Source -> Sink{http, ndjson, max_items %d} vs curl -K posting the same "
                   "bodies, one keep-alive connection, same receiver (Python, http.server)" % B}
    problems = []
    for side, reps in sides.items():
        good = [r for r in reps if r["ok"]]
        if len(good) != len(reps):
            problems.append("%s: %r" % (side, [r for r in reps if not r["ok"]]))
        res[side + "_best_events_per_s"] = max((r["events_per_s"] for r in good), default=0.0)
    res["ok"] = not problems
    res["problems"] = problems
    dest = os.path.join(build, "bench", "http_sink.json")
    with open(dest, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    a, c = res["acrt_best_events_per_s"], res["curl_best_events_per_s"]
    print("http_sink: acrt %.0f events/s, curl %.0f events/s (%.2fx) for %d events in batches "
          "of %d, best of %d (the same acrt run into a null Sink: %.0f events/s)%s"
          % (a, c, a / c if c else 0.0, N, B, REPS, res["acrt_null_best_events_per_s"],
                                   "" if not problems else "  FAIL: " + "; ".join(problems)))
    print("  -> %s" % dest)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
