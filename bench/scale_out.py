#!/usr/bin/env python3
"""scale_out.py - the scale-out benchmark rows (issue 12; `make bench`, BENCH_ONLY=scale_out).

    scale_out.py BUILD_DIR

A slow transform on one node, then the same transform on two nodes sharing its
input (docs/MULTINODE.md, "Scale-out"): access-log lines (bench/gen_access_log.py)
from a file Source on node a, through `shape` (a Transformer that sets a field,
held to RATE events/s per node by a rate_limit: the stand-in for a transform that
waits on something else, such as a lookup service), to a `null` Sink on node s,
over a Redis stream (redis-server of its own):

  scale_out_1node   shape on node w1
  scale_out_2nodes  shape on nodes w1 and w2: gen deals its events out in turns

Wall time from the producer's start to the sink's end, best of BENCH_REPS (3),
interleaved. Target (issue 12): two nodes carry about twice what one does
(>= 1.8x). A transform bound by this machine's CPU cannot show it here: the
machine has 2 cores, which the producer, the sink and Redis share with the two
workers. Writes BUILD_DIR/bench/scale_out.json. Environment: BENCH_SCALE_N
(default 200,000 lines; BENCH_QUICK: 60,000), BENCH_SCALE_RATE (50,000), BENCH_REPS.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from hop import free_port, sink_events, wait_port  # bench/ is the script's directory

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 1.8


def system(d, path, url, rate, workers):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "architecture.yaml"), "w") as f:
        f.write('schema_version: "1.0.0"\nsystem:\n  name: scalebench\n  components:\n'
                '    - {name: src, type: Source, config: {source: file, path: "%s"}}\n'
                '    - {name: shape, type: Transformer, config: {set: {via: shape}},\n'
                '       capabilities: {rate_limit: {rate: %d, burst: 64, mode: wait}}}\n'
                '    - {name: out, type: Sink, config: {sink: "null"}}\n'
                '  bindings:\n'
                '    - {from: src.output, to: shape.input, buffer_size: 8192}\n'
                '    - {from: shape.output, to: out.input, buffer_size: 8192}\n'
                % (path, rate))
    with open(os.path.join(d, "deployment.yaml"), "w") as f:
        f.write("nodes:\n  a: {components: [src]}\n")
        for w in workers:
            f.write("  %s: {components: [shape]}\n" % w)
        f.write("  s: {components: [out]}\nruntime:\n"
                '  transport: {kind: redis, url: "%s"}\n' % url)


def run(acrt, d, workers, n, tmp):
    """One repetition: seconds, or raises."""
    es = os.path.join(tmp, "s.err")
    procs = [subprocess.Popen([acrt, "run", d, "--node", node, "-q"],
                              stdout=subprocess.DEVNULL,
                              stderr=open(es if node == "s" else os.devnull, "w"))
             for node in ["s"] + workers]
    time.sleep(0.3)  # the consumers are set up (they create nothing the producer needs)
    t = time.perf_counter()
    a = subprocess.run([acrt, "run", d, "--node", "a", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600)
    rcs = [p.wait(timeout=600) for p in procs]
    s = time.perf_counter() - t
    if a.returncode != 0 or any(rcs) or sink_events(es) != n:
        raise RuntimeError("exit %d/%r, %r events" % (a.returncode, rcs, sink_events(es)))
    return s


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    acrt = os.path.abspath(os.path.join(build, "acrt"))
    quick = os.environ.get("BENCH_QUICK") == "1"
    n = int(os.environ.get("BENCH_SCALE_N", "60000" if quick else "200000"))
    rate = int(os.environ.get("BENCH_SCALE_RATE", "50000"))
    reps = int(os.environ.get("BENCH_REPS", "3"))
    outdir = os.path.join(build, "bench")
    os.makedirs(outdir, exist_ok=True)
    if shutil.which("redis-server") is None:
        print("scale_out: redis-server is not installed (scripts/install-deps.sh)")
        return 1
    tmp = tempfile.mkdtemp(prefix="acrt-scale-",
                           dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    redis = None
    try:
        path = os.path.join(tmp, "access.jsonl")
        with open(path, "wb") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_access_log.py"), str(n)],
                           stdout=f, check=True)
        port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", tmp],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(port):
            raise RuntimeError("redis-server did not start")
        url = "redis://127.0.0.1:%d" % port
        rows = {"scale_out_1node": ["w1"], "scale_out_2nodes": ["w1", "w2"]}
        for name, workers in rows.items():
            system(os.path.join(tmp, name), path, url, rate, workers)
        times = {k: [] for k in rows}
        errors = {}
        for _ in range(reps):
            for name, workers in rows.items():
                try:
                    times[name].append(run(acrt, os.path.join(tmp, name), workers, n, tmp))
                except Exception as e:  # noqa: BLE001 - reported in the table
                    errors[name] = str(e)
        results = {"lines": n, "rate_per_node": rate, "reps": reps, "rows": {}}
        print("scale-out: %d access-log lines, shape held to %d events/s per node, "
              "over redis, best of %d" % (n, rate, reps))
        print("%-18s %10s %8s  %s" % ("row", "events/s", "best s", "vs one node"))
        ok = True
        one = min(times["scale_out_1node"]) if times["scale_out_1node"] else None
        for name in rows:
            if not times[name]:
                print("%-18s %s" % (name, "FAILED: " + errors.get(name, "?")))
                results["rows"][name] = {"error": errors.get(name)}
                ok = False
                continue
            best = min(times[name])
            r = {"best_s": round(best, 3), "events_per_s": round(n / best)}
            note = ""
            if name == "scale_out_2nodes" and one is not None:
                ratio = one / best
                r["vs_one_node"] = round(ratio, 2)
                r["target_met"] = ratio >= TARGET
                note = "%.2fx scale_out_1node (target >= %.1fx: %s)" % (
                    ratio, TARGET, "met" if r["target_met"] else "MISSED")
            print("%-18s %10d %8.3f  %s" % (name, n / best, best, note))
            results["rows"][name] = r
        with open(os.path.join(outdir, "scale_out.json"), "w") as f:
            json.dump(results, f, indent=2)
        return 0 if ok else 1
    finally:
        if redis is not None:
            redis.kill()
            redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
