#!/usr/bin/env python3
"""hop.py - the cross-node benchmark rows (issue 12; `make bench`, BENCH_ONLY=hop).

    hop.py BUILD_DIR

The same access-log lines (bench/gen_access_log.py, ~235 bytes each) cross one
binding in four ways, each against its plain-client peer in the same run:

  hop_local         Source{file} -> Sink{null}, both in one acrt process
  hop_nats          the same two components as two acrt nodes (--node a, --node b)
                    over a NATS JetStream stream (nats-server -js of its own)
  hop_nats_client   bench/hop_peer: nats.c publishing the lines 64 per message
                    asynchronously (every publish acknowledged by the end), and
                    fetching (256) and acking them: the same hand-offs as acrt's
                    transport, two processes
  hop_redis         the two nodes over a Redis stream (redis-server of its own)
  hop_redis_client  hop_peer: hiredis XADD 64 lines per entry, 16 entries per
                    round trip; XREADGROUP COUNT 1024 + XACK/XDEL

Wall time from the producer's start to the consumer's end, best of BENCH_REPS
(3). Targets (issue 12): each transport >= 0.8x its plain client, and >= 200,000
events/s per hop. Writes BUILD_DIR/bench/hop.json. Environment: BENCH_HOP_N
(default 1,000,000 lines; BENCH_QUICK: 200,000), BENCH_REPS, BENCH_HOP_ROWS (a
comma-separated subset of the rows, e.g. hop_nats,hop_nats_client, while
iterating). The table's last column also gives the CPU seconds the broker
(nats-server or redis-server) spent in the row's best repetition.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_CLIENT = 0.8
TARGET_EPS = 200000
# The binding's buffer_size: the broker-side bound (BENCH_HOP_BUFFER).
BUFFER = int(os.environ.get("BENCH_HOP_BUFFER", "8192"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def proc_cpu(pid):
    """CPU seconds (user + system) process pid has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system(d, path, transport):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "architecture.yaml"), "w") as f:
        f.write('schema_version: "1.0.0"\nsystem:\n  name: hopbench\n  components:\n'
                '    - {name: src, type: Source, config: {source: file, path: "%s"}}\n'
                '    - {name: out, type: Sink, config: {sink: "null"}}\n'
                '  bindings:\n    - {from: src.output, to: out.input, buffer_size: %d}\n'
                % (path, BUFFER))
    with open(os.path.join(d, "deployment.yaml"), "w") as f:
        f.write("nodes:\n  a: {components: [src]}\n  b: {components: [out]}\n"
                "runtime:\n  transport: %s\n" % transport)


def sink_events(err_path):
    """sink_events of the run's summary line (the consumer node's log)."""
    with open(err_path) as f:
        for line in f:
            if '"finished"' in line or "finished" in line:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if "sink_events" in rec:
                    return rec["sink_events"]
    return None


def run_nodes(acrt, d, n, tmp, nodes=True):
    """One repetition: seconds, or raises."""
    eb = os.path.join(tmp, "b.err")
    if not nodes:
        t = time.perf_counter()
        p = subprocess.run([acrt, "run", d, "-q"], stdout=subprocess.DEVNULL,
                           stderr=open(eb, "w"), timeout=300)
        s = time.perf_counter() - t
        if p.returncode != 0 or sink_events(eb) != n:
            raise RuntimeError("one node: exit %d, %r events" % (p.returncode, sink_events(eb)))
        return s
    b = subprocess.Popen([acrt, "run", d, "--node", "b", "-q"], stdout=subprocess.DEVNULL,
                         stderr=open(eb, "w"))
    time.sleep(0.3)  # the consumer is set up (it creates nothing the producer needs)
    t = time.perf_counter()
    a = subprocess.run([acrt, "run", d, "--node", "a", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300)
    rb = b.wait(timeout=300)
    s = time.perf_counter() - t
    if a.returncode != 0 or rb != 0 or sink_events(eb) != n:
        raise RuntimeError("nodes: exit %d/%d, %r events" % (a.returncode, rb, sink_events(eb)))
    return s


def run_peer(peer, kind, url, name, path, n):
    c = subprocess.Popen([peer, kind, url, name, "consume", str(n)], stdout=subprocess.PIPE,
                         text=True)
    if c.stdout.readline().strip() != "ready":
        raise RuntimeError("hop_peer consumer did not start")
    t = time.perf_counter()
    p = subprocess.run([peer, kind, url, name, "produce", path], timeout=300)
    rc = c.wait(timeout=300)
    s = time.perf_counter() - t
    if p.returncode != 0 or rc != 0:
        raise RuntimeError("hop_peer: exit %d/%d" % (p.returncode, rc))
    return s


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    acrt = os.path.abspath(os.path.join(build, "acrt"))
    peer = os.path.abspath(os.path.join(build, "bench", "hop_peer"))
    quick = os.environ.get("BENCH_QUICK") == "1"
    n = int(os.environ.get("BENCH_HOP_N", "200000" if quick else "1000000"))
    reps = int(os.environ.get("BENCH_REPS", "3"))
    outdir = os.path.join(build, "bench")
    os.makedirs(outdir, exist_ok=True)
    for tool in ("nats-server", "redis-server"):
        if shutil.which(tool) is None:
            print("hop: %s is not installed (scripts/install-deps.sh)" % tool)
            return 1
    tmp = tempfile.mkdtemp(prefix="acrt-hop-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    procs = []
    try:
        path = os.path.join(tmp, "access.jsonl")
        with open(path, "wb") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_access_log.py"), str(n)],
                           stdout=f, check=True)
        size = os.path.getsize(path)
        nport, rport = free_port(), free_port()
        procs.append(subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(nport),
                                       "-sd", os.path.join(tmp, "js")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", tmp],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_port(nport) or not wait_port(rport):
            print("hop: the servers did not start")
            return 1
        nurl, rurl = "nats://127.0.0.1:%d" % nport, "127.0.0.1:%d" % rport
        system(os.path.join(tmp, "nats"), path, '{kind: nats, url: "%s"}' % nurl)
        system(os.path.join(tmp, "redis"), path, '{kind: redis, url: "redis://%s"}' % rurl)
        rows = {
            "hop_local": lambda: run_nodes(acrt, os.path.join(tmp, "nats"), n, tmp, nodes=False),
            "hop_nats": lambda: run_nodes(acrt, os.path.join(tmp, "nats"), n, tmp),
            "hop_nats_client": lambda: run_peer(peer, "nats", nurl, "PEER", path, n),
            "hop_redis": lambda: run_nodes(acrt, os.path.join(tmp, "redis"), n, tmp),
            "hop_redis_client": lambda: run_peer(peer, "redis", rurl, "acrt:peer", path, n),
        }
        only = os.environ.get("BENCH_HOP_ROWS")
        if only:
            rows = {k: v for k, v in rows.items() if k in only.split(",")}
        broker = {"nats": procs[0].pid, "redis": procs[1].pid}
        times = {k: [] for k in rows}
        cpu = {k: [] for k in rows}
        errors = {}
        for _ in range(reps):  # interleaved, so a busy moment hits every row alike
            for name, fn in rows.items():
                if name in errors:
                    continue
                pid = broker["redis" if "redis" in name else "nats"]
                c0 = proc_cpu(pid)
                try:
                    times[name].append(fn())
                    cpu[name].append(proc_cpu(pid) - c0)
                except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                    errors[name] = str(e)
        results = {"lines": n, "bytes": size, "reps": reps, "rows": {}}
        print("\ncross-node hop: %d access-log lines (%.1f MiB), best of %d" % (n, size / 2**20, reps))
        print("%-18s %12s %9s %9s %9s  %s" % ("row", "events/s", "MiB/s", "best s", "broker s",
                                               "vs peer"))
        ok = True
        for name in rows:
            if name in errors or not times[name]:
                print("%-18s FAILED: %s" % (name, errors.get(name, "no run")))
                results["rows"][name] = {"error": errors.get(name)}
                ok = False
                continue
            best = min(times[name])
            eps = n / best
            bcpu = cpu[name][times[name].index(best)]
            r = {"best_s": round(best, 3), "median_s": round(sorted(times[name])[len(times[name]) // 2], 3),
                 "events_per_s": round(eps), "mib_per_s": round(size / 2**20 / best, 1),
                 "broker_cpu_s": round(bcpu, 2)}
            note = ""
            peer_name = name + "_client"
            if peer_name in rows and times.get(peer_name):
                ratio = min(times[peer_name]) / best
                r["vs_client"] = round(ratio, 2)
                r["target_met"] = ratio >= TARGET_CLIENT and eps >= TARGET_EPS
                note = "%.2fx %s (target >= %.1fx and >= %d ev/s: %s)" % (
                    ratio, peer_name, TARGET_CLIENT, TARGET_EPS, "met" if r["target_met"] else "MISSED")
            elif name == "hop_local":
                note = "one process, the binding local"
            results["rows"][name] = r
            print("%-18s %12d %9.1f %9.3f %9.2f  %s" % (name, eps, r["mib_per_s"], best, bcpu, note))
        with open(os.path.join(outdir, "hop.json"), "w") as f:
            json.dump(results, f, indent=2)
        return 0 if ok else 1
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
