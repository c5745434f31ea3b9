"""bench.py - the acrt benchmark runner (see bench/run.sh for the knobs).

Rows (all on this machine, in this run, so that ratios are meaningful even
though absolute figures wander on a shared 2-core box):

  native        bench_source -> bench_transform -> bench_sink (C plugins), N events
                (default deployment: 1:1 bindings chained onto one thread)
  native_threads  the same with runtime.chaining: false (a thread per component)
  native_batch  native with batching on for bench_transform (max_items 64, max_ms 5):
                the transform has no process_batch, so this is the per-event path
                inside harness batches; a batching component is never chained, so
                it runs on its own thread (src | xf -> sink)
  builtin_json  Source(sequence) -> Transformer(set) -> Sink(null), N/4 events
  builtin_json_threads  the same, chaining off
  python_anyio  three anyio tasks over memory object streams (the original design)
  zmq_inproc    three threads over ZeroMQ inproc PUSH/PULL, N events (the baseline)
  chain10       bench_source -> 10 x bench_transform -> bench_sink, N/4 events
  chain10_threads  the same, chaining off: 12 threads on the 2 cores
  memory_flat   bench_source -> slow bench_sink, chaining off; RSS from /proc every 100 ms
  api_under_load  native (chained) while wrk (-t1 -c16) hammers /metrics with the read
                token; pipeline throughput vs native_threads, and wrk's requests/s
  state_off     bench_source -> bench_stateful (1M keys of managed state) -> bench_sink,
                chained (one thread), no runtime.state, BENCH_STATE_N events
  state_ckpt_sqlite / _redis / _inmem  the same with a checkpoint every second into
                that adapter (redis: a redis-server started here); interleaved with
                state_off; compared on the run's own rate (setup and exit excluded)
  state_snapshot  (not a row) bench_state: snapshot and restore of 1M keys per adapter
  json_access_job  BENCH_JSON_N access-log lines (gen_access_log.py): Source{file} ->
                Filter{.status >= 500} -> Transformer{set, rename, drop} -> Sink{file};
                peers in the same run: jq, Python json (json_peers.py), syslog-ng, cat
  json_passthrough  Source{file} -> Sink{file}; peers: cat, jq -c ., Python json
  json_aggregate  Source{file} -> Aggregator{key: path, latency: [count, avg]} -> Sink{file};
                peers: jq -s (group_by), Python json
  json_event_time  Source{file} -> Aggregator{time_field: ts, window_ms: 1000, ops: {ts:
                count}} -> Sink{file}: per-second counts by the log's own time (event-time
                tumbling windows, watermark max_out_of_order_ms 2000); peer: jq -n
                -s (group_by(.ts | floor))
                (every output checked by value against the exact expectation,
                json_check.py; only a wrong acrt output fails the row)

events/s = events / wall seconds of the whole child process (spawn to exit,
startup included, the same rule for every row). Peak RSS is the child's
%M from GNU time (its ru_maxrss). Each throughput row runs BENCH_REPS times; the table
shows the best, the JSON also keeps the median and every repetition.
"""
import atexit
import datetime
import hashlib
import re
import secrets
import socket
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import json_check  # bench/json_check.py: the JSON rows' exact value checks

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

BUFFER = 1024
# Upper bound of the memory one queued 8-byte event may take in the runtime:
# the payload, the event header (id, timestamps, 24 bytes of trace context,
# refcount, content type, header list) and malloc's chunk overhead. Generous on
# purpose: the check is about growth, not about the exact struct size.
EVENT_BYTES_BOUND = 512
# Slack for memory_flat: glibc per-thread malloc arenas touching new pages,
# thread stacks faulting in, stdio/log buffers, lazily loaded libraries.
RSS_SLACK_BYTES = 4 << 20
MEMORY_SINK_DELAY_NS = 20000  # 20 us/event: <= 50k/s, >= 100x under the source
MEMORY_PROBE_S = 3.0
RUN_TIMEOUT_S = 150.0
TIME = "/usr/bin/time"
SLOW_REP_S = 30.0  # after a repetition this slow, do not repeat the row


def env_int(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v.replace("_", "")) if v.strip() else default
    except ValueError:
        sys.exit("bench: %s=%r is not an integer" % (name, v))


class Cfg:
    def __init__(self, build):
        self.build = os.path.abspath(os.path.join(ROOT, build) if not os.path.isabs(build) else build)
        self.quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        self.n = env_int("BENCH_N", 2_000_000 if self.quick else 20_000_000)
        self.py_n = env_int("BENCH_PY_N", 100_000 if self.quick else 500_000)
        self.reps = max(1, env_int("BENCH_REPS", 3))
        self.strict = os.environ.get("BENCH_STRICT", "") not in ("", "0")
        only = os.environ.get("BENCH_ONLY", "").strip()
        self.only = set(x.strip() for x in only.split(",") if x.strip()) or None
        self.probe_s = 2.0 if self.quick else MEMORY_PROBE_S
        self.acrt = os.path.join(self.build, "acrt")
        self.outdir = os.path.join(self.build, "bench")
        self.plugin = os.path.join(self.outdir, "libbench_native.so")
        self.zmq = os.path.join(self.outdir, "bench_zmq_pipeline")
        # Checkpoint overhead rows (state_*): long enough for several 1 s checkpoints.
        self.state_n = env_int("BENCH_STATE_N", 12_000_000 if self.quick else 30_000_000)
        self.state_keys = max(1, env_int("BENCH_STATE_KEYS", 1_000_000))
        self.state_interval_s = 1
        self.state_plugin = os.path.join(self.outdir, "libbench_state.so")
        self.bench_state = os.path.join(self.outdir, "bench_state")
        # Realistic JSON rows (json_*): access-log lines, generated once per run.
        self.json_n = max(1, env_int("BENCH_JSON_N", 200_000 if self.quick else 1_000_000))


# ---- processes -----------------------------------------------------------------

class Proc:
    """One child process: wall time, exit status, peak RSS, captured output."""

    def __init__(self, argv, cwd, tag, outdir):
        self.argv = argv
        self.out_path = os.path.join(outdir, tag + ".stdout")
        self.err_path = os.path.join(outdir, tag + ".stderr")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.rss_path = os.path.join(outdir, tag + ".maxrss")
        if os.path.exists(self.rss_path):
            os.unlink(self.rss_path)
        # Through GNU time: a child forked (or vforked) straight from this Python
        # process inherits Python's RSS high-water mark in ru_maxrss; time's own
        # child starts from time's few hundred KiB, so %M is the program's peak.
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen([TIME, "-f", "%M", "-o", self.rss_path] + argv, cwd=cwd,
                                  stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)
        self.pid = self.p.pid  # GNU time; see target_pid() for the program itself
        self._target = None
        self.status = None
        self.wall = None
        self.maxrss_kib = None
        self.timed_out = False

    def wait(self, timeout):
        """Blocks until exit (SIGKILL to the program at timeout)."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.signal(signal.SIGKILL)
            self.p.wait()
        self.wall = time.perf_counter() - self.t0
        self.status = self.p.returncode
        self.maxrss_kib = self._read_maxrss()
        self.out.close()
        self.err.close()
        return self

    def _read_maxrss(self):
        try:
            with open(self.rss_path) as f:
                return int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            return 0

    def target_pid(self, wait_s=2.0):
        """The program's pid (the child of GNU time), or None."""
        deadline = time.perf_counter() + wait_s
        while self._target is None and time.perf_counter() < deadline:
            try:
                with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                    kids = f.read().split()
                if kids:
                    self._target = int(kids[0])
                    break
            except (OSError, ValueError):
                return None
            time.sleep(0.002)
        return self._target

    def signal(self, sig):
        pid = self.target_pid()
        try:
            os.kill(pid if pid else self.pid, sig)
        except ProcessLookupError:
            pass

    def stdout(self):
        with open(self.out_path, "r", errors="replace") as f:
            return f.read()

    def stderr_tail(self, lines=6):
        with open(self.err_path, "r", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).strip()


def vmrss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


# ---- blueprints ----------------------------------------------------------------

def q(s):
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def write_blueprint(cfg, name, components, bindings, chaining=True):
    d = os.path.join(cfg.outdir, "bp", name)
    if os.path.isdir(d):
        shutil.rmtree(d)  # no stale build.lock or state from an earlier run
    os.makedirs(d)
    lines = ['schema_version: "1.0.0"', "system:", "  name: bench_%s" % name,
             '  version: "1.0.0"', "  description: %s" % q("acrt bench row " + name),
             "  components:"]
    for c in components:
        lines.append("    - name: %s" % c["name"])
        for key in ("type", "implementation"):
            if key in c:
                lines.append("      %s: %s" % (key, q(c[key]) if key == "implementation" else c[key]))
        if "config" in c:
            lines.append("      config: %s" % json.dumps(c["config"]))
        for key in ("inputs", "outputs"):
            if key in c:
                lines.append("      %s: %s" % (key, json.dumps(
                    [p if isinstance(p, dict) else {"name": p} for p in c[key]])))
        if "capabilities" in c:
            lines.append("      capabilities: %s" % json.dumps(c["capabilities"]))
        if "batching" in c:
            lines.append("      batching: %s" % json.dumps(c["batching"]))
    lines.append("  bindings:")
    for frm, to in bindings:
        lines.append("    - {from: %s, to: %s, buffer_size: %d}" % (frm, to, BUFFER))
    path = os.path.join(d, "architecture.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    if not chaining:  # one thread per component, every binding a bounded stream
        with open(os.path.join(d, "deployment.yaml"), "w") as f:
            f.write('schema_version: "1.0.0"\nsystem_name: bench_%s\n'
                    'runtime: {chaining: false}\n' % name)
    return path


def native_components(cfg, name, n, transforms, sink_config, chaining=True, batching=None):
    ref = "plugin:%s#%%s" % cfg.plugin
    comps = [{"name": "src", "implementation": ref % "bench_source", "config": {"count": n},
              "inputs": [], "outputs": ["output"]}]
    names = ["src"]
    for i in range(transforms):
        xf = "xf" if transforms == 1 else "xf%d" % i
        comps.append({"name": xf, "implementation": ref % "bench_transform",
                      "inputs": ["input"], "outputs": ["output"]})
        if batching is not None:
            comps[-1]["batching"] = batching
        names.append(xf)
    result = os.path.join(cfg.outdir, "bp", name, "sink_result.txt")
    sc = dict(sink_config)
    sc["result_file"] = result
    comps.append({"name": "sink", "implementation": ref % "bench_sink", "config": sc,
                  "inputs": ["input"], "outputs": []})
    names.append("sink")
    bindings = [("%s.output" % a, "%s.input" % b) for a, b in zip(names, names[1:])]
    return write_blueprint(cfg, name, comps, bindings, chaining), result


def read_sink_result(path):
    try:
        with open(path) as f:
            return dict(kv.split("=", 1) for kv in f.read().split())
    except (OSError, ValueError):
        return None


# ---- rows ----------------------------------------------------------------------

def new_row(name, n, what):
    return {"name": name, "events": n, "what": what, "reps": [], "ok": False, "error": None}


def finish_row(row):
    good = [r for r in row["reps"] if r["ok"]]
    row["ok"] = bool(row["reps"]) and len(good) == len(row["reps"])
    if good:
        eps = [r["events_per_s"] for r in good]
        best = max(good, key=lambda r: r["events_per_s"])
        row["best_events_per_s"] = best["events_per_s"]
        row["median_events_per_s"] = statistics.median(eps)
        row["best_wall_s"] = best["wall_s"]
        row["median_wall_s"] = statistics.median(r["wall_s"] for r in good)
        row["peak_rss_mib"] = max(r["peak_rss_mib"] for r in good)
    return row


def repeat(cfg, row, one):
    for i in range(cfg.reps):
        r = one(i)
        row["reps"].append(r)
        if not r["ok"]:
            row["error"] = r.get("error") or "failed"
            break
        if r["wall_s"] > SLOW_REP_S and i + 1 < cfg.reps:
            row["note"] = "repetitions cut to %d: one took %.1f s" % (i + 1, r["wall_s"])
            break
    return finish_row(row)


def rep_record(p, n):
    return {"wall_s": round(p.wall, 4), "events_per_s": round(n / p.wall, 1) if p.wall else 0.0,
            "peak_rss_mib": round(p.maxrss_kib / 1024.0, 1), "exit": p.status, "ok": False}


def run_acrt_rep(cfg, tag, bp, n, result_file=None, expect=None, expect_sum=None):
    if result_file and os.path.exists(result_file):
        os.unlink(result_file)
    p = Proc([cfg.acrt, "run", bp, "--quiet"], os.path.dirname(bp), tag, cfg.outdir)
    p.wait(RUN_TIMEOUT_S)
    return check_acrt_rep(p, n, result_file, expect, expect_sum)


def check_acrt_rep(p, n, result_file=None, expect=None, expect_sum=None):
    """The record of a finished acrt run, with every correctness check."""
    r = rep_record(p, n)
    if p.timed_out:
        r["error"] = "timed out after %.0f s" % RUN_TIMEOUT_S
        return r
    if p.status != 0:
        r["error"] = "exit %d: %s" % (p.status, p.stderr_tail(3) or "(no stderr)")
        return r
    failed, summary = [], None
    with open(p.err_path, "r", errors="replace") as f:
        for line in f:
            if "bench_sink: FAIL" in line:
                failed.append(line.strip())
            elif '"exit_status"' in line:
                try:
                    summary = json.loads(line)
                except ValueError:
                    pass
    if failed:
        r["error"] = failed[0][:300]
        return r
    # The runtime's end-of-run log line, when present, is a second check (the
    # only one for the builtin row, whose Sink null cannot verify a count).
    if summary is not None:
        r["runtime_summary"] = {k: summary.get(k)
                                for k in ("sink_events", "source_events", "failed")}
        if summary.get("failed") not in (0, None) or summary.get("sink_events") not in (n, None):
            r["error"] = "runtime summary: %s" % json.dumps(r["runtime_summary"])
            return r
    if result_file:
        res = read_sink_result(result_file)
        if res is None:
            r["error"] = "the sink wrote no result file (cleanup not run?)"
            return r
        r["sink"] = res
        count, total = int(res["count"]), int(res["sum"])
        if count != expect or (expect_sum is not None and total != expect_sum) or res.get("ok") != "1":
            r["error"] = "sink saw count=%d sum=%d, expected count=%d sum=%s" % (
                count, total, expect, expect_sum)
            return r
        span = (int(res["last_ns"]) - int(res["first_ns"])) / 1e9
        if span > 0:
            r["sink_events_per_s"] = round(count / span, 1)
    r["ok"] = True
    return r


def row_native(cfg, name="native", transforms=1, n=None, chaining=True, batching=None):
    n = cfg.n if n is None else n
    mult = 2 ** transforms
    expect_sum = n * (n - 1) // 2 * mult
    if expect_sum >= 2 ** 63:
        expect_sum = None  # does not fit the sink's int64 config: count check only
    sink_cfg = {"expect": n}
    if expect_sum is not None:
        sink_cfg["expect_sum"] = expect_sum
    bp, result = native_components(cfg, name, n, transforms, sink_cfg, chaining, batching)
    what = "bench_source -> %s -> bench_sink (C plugins, acrt run --quiet)%s%s" % (
        "bench_transform" if transforms == 1 else "%d x bench_transform" % transforms,
        "" if chaining else ", chaining off: a thread per component",
        "" if batching is None else ", transform batching %s" % json.dumps(batching))
    row = new_row(name, n, what)
    return repeat(cfg, row, lambda i: run_acrt_rep(cfg, "%s.%d" % (name, i), bp, n, result, n,
                                                   expect_sum))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, timeout_s):
    """True once 127.0.0.1:port accepts a connection (False if proc exits first)."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and proc.p.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.002)
    return False


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    if m:
        out["requests_per_s"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([0-9.]+)(m?s)", text)
    if m:
        out["requests"] = int(m.group(1))
        out["wrk_s"] = float(m.group(2)) / (1000.0 if m.group(3) == "ms" else 1.0)
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return out


def row_api_under_load(cfg):
    """native (same blueprint, default deployment) while wrk hammers /metrics.

    The deployment fixes a free port and a read token file, so wrk can start
    as soon as the API accepts (the end of setup); wrk runs until acrt exits
    (SIGINT: wrk then prints its figures), so the whole pipeline run is under
    load. events/s uses the same rule as every row (wall of the acrt process).
    """
    name = "api_under_load"
    n = cfg.n
    expect_sum = n * (n - 1) // 2 * 2
    sink_cfg = {"expect": n}
    if expect_sum < 2 ** 63:
        sink_cfg["expect_sum"] = expect_sum
    else:
        expect_sum = None
    bp, result = native_components(cfg, name, n, 1, sink_cfg)
    d = os.path.dirname(bp)
    token = secrets.token_hex(32)
    tok_path = os.path.join(d, "read.token")
    with open(os.open(tok_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(token + "\n")
    row = new_row(name, n, "native (the default deployment) while `wrk -t1 -c16` requests "
                  "/metrics with the read token for the whole run")
    wrk = shutil.which("wrk")
    if wrk is None:
        row["error"] = "wrk is missing (scripts/install-deps.sh installs it)"
        return finish_row(row)

    def one(i):
        port = free_port()
        with open(os.path.join(d, "deployment.yaml"), "w") as f:
            f.write('schema_version: "1.0.0"\nsystem_name: bench_%s\n'
                    'runtime:\n'
                    '  api: {listen: "127.0.0.1:%d", auth: {read_token_file: read.token}}\n'
                    % (name, port))
        if os.path.exists(result):
            os.unlink(result)
        tag = "%s.%d" % (name, i)
        p = Proc([cfg.acrt, "run", bp, "--quiet"], d, tag, cfg.outdir)
        w = None
        wrk_out = os.path.join(cfg.outdir, tag + ".wrk")
        if wait_listening(port, p, 30.0):
            with open(wrk_out, "wb") as wf:
                w = subprocess.Popen([wrk, "-t1", "-c16", "-d%ds" % int(RUN_TIMEOUT_S),
                                      "-H", "Authorization: Bearer " + token,
                                      "http://127.0.0.1:%d/metrics" % port],
                                     stdout=wf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        t_load = time.perf_counter()
        p.wait(RUN_TIMEOUT_S)
        loaded_s = time.perf_counter() - t_load
        if w is not None:
            w.send_signal(signal.SIGINT)
            try:
                w.wait(10)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
        r = check_acrt_rep(p, n, result, n, expect_sum)
        r["loaded_fraction"] = round(loaded_s / p.wall, 3) if p.wall else 0.0
        if w is None:
            r["ok"] = False
            r["error"] = r.get("error") or "the API never accepted on 127.0.0.1:%d" % port
            return r
        with open(wrk_out, "r", errors="replace") as f:
            r["wrk"] = parse_wrk(f.read())
        if r["ok"] and "requests_per_s" not in r["wrk"]:
            r["ok"] = False
            r["error"] = "wrk printed no Requests/sec (see %s)" % os.path.relpath(wrk_out, ROOT)
        return r

    row = repeat(cfg, row, one)
    good = [r for r in row["reps"] if r.get("wrk", {}).get("requests_per_s")]
    if good:
        row["best_requests_per_s"] = max(r["wrk"]["requests_per_s"] for r in good)
        row["median_requests_per_s"] = statistics.median(r["wrk"]["requests_per_s"] for r in good)
    return row


def row_filter(cfg, name, failing):
    """1M (N/20) events through a Transformer whose input schema (checked by
    the schema_validator capability) accepts or refuses each: the refusing
    one shows what a flood of per-event failures costs (rate-limited lines,
    exact counters; docs/RELIABILITY.md), on the same path as the passing one."""
    n = max(1, cfg.n // 20)
    schema = {"type": "object", "required": ["seq"],
              "properties": {"seq": {"type": "integer", "maximum": 0 if failing else n}}}
    bp = write_blueprint(cfg, name, [
        {"name": "gen", "type": "Source", "config": {"generator": "sequence", "count": n}},
        {"name": "check", "type": "Transformer", "config": {"set": {"checked": True}},
         "inputs": [{"name": "input", "schema": schema}],
         "capabilities": {"schema_validator": {}}},
        {"name": "out", "type": "Sink", "config": {"sink": "null"}}],
        [("gen.output", "check.input"), ("check.output", "out.input")])
    row = new_row(name, n, "Source -> Transformer, input schema (%s) -> Sink null" % (
        "refuses every event" if failing else "accepts every event"))

    def one(i):
        p = Proc([cfg.acrt, "run", bp, "--quiet"], os.path.dirname(bp), "%s.%d" % (name, i),
                 cfg.outdir)
        p.wait(RUN_TIMEOUT_S)
        r = rep_record(p, n)
        summary = None
        with open(p.err_path, "r", errors="replace") as f:
            for line in f:
                if '"exit_status"' in line:
                    summary = json.loads(line)
        r["log_bytes"] = os.path.getsize(p.err_path)
        want = (0, n) if failing else (n, 0)  # sink_events counts what reached the sink
        got = (summary or {}).get("sink_events"), (summary or {}).get("failed")
        want_status = 3 if failing else 0  # failed events without a dead letter: lost, exit 3
        if p.status != want_status or got != want:
            r["error"] = "exit %d (expected %d), sink_events/failed %r, expected %r" % (
                p.status, want_status, got, want)
            return r
        r["ok"] = True
        return r

    row = repeat(cfg, row, one)
    good = [r for r in row["reps"] if r["ok"]]
    if good:
        row["max_log_bytes"] = max(r["log_bytes"] for r in good)
    return row


def row_builtin(cfg, name="builtin_json", chaining=True):
    n = max(1, cfg.n // 4)
    comps = [{"name": "src", "type": "Source", "config": {"generator": "sequence", "count": n}},
             {"name": "xf", "type": "Transformer", "config": {"set": {"tag": "x"}}},
             {"name": "sink", "type": "Sink", "config": {"sink": "null"}}]
    bp = write_blueprint(cfg, name, comps,
                         [("src.output", "xf.input"), ("xf.output", "sink.input")], chaining)
    row = new_row(name, n, "Source(sequence) -> Transformer(set) -> Sink(null), JSON%s" % (
        "" if chaining else ", chaining off: a thread per component"))
    row["note"] = "correctness: exit status and the runtime's summary line (sink_events, failed)"
    return repeat(cfg, row, lambda i: run_acrt_rep(cfg, "%s.%d" % (name, i), bp, n))


def run_selftimed_rep(cfg, tag, argv, n):
    p = Proc(argv, ROOT, tag, cfg.outdir).wait(RUN_TIMEOUT_S)
    r = rep_record(p, n)
    try:
        rep = json.loads(p.stdout().strip().splitlines()[-1])
        r["internal_events_per_s"] = rep.get("events_per_s")
        r["internal_s"] = rep.get("seconds")
    except (ValueError, IndexError):
        rep = {}
    if p.timed_out:
        r["error"] = "timed out after %.0f s" % RUN_TIMEOUT_S
    elif p.status != 0 or rep.get("ok") is not True:
        r["error"] = "exit %d, report %r: %s" % (p.status, rep, p.stderr_tail(3))
    else:
        r["ok"] = True
    return r


def chain_costs(cfg):
    """bench_chain: in-process cost of the capability chain and of schema validation."""
    exe = os.path.join(cfg.outdir, "bench_chain")
    try:
        out = subprocess.run([exe], capture_output=True, text=True, timeout=120)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res["ok"] = out.returncode == 0
    except (OSError, ValueError, IndexError, subprocess.SubprocessError) as e:
        res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    return res


def row_zmq(cfg):
    n = cfg.n
    row = new_row("zmq_inproc", n, "3 threads, ZeroMQ inproc PUSH/PULL, HWM 1000, 8-byte msgs")
    return repeat(cfg, row, lambda i: run_selftimed_rep(cfg, "zmq_inproc.%d" % i,
                                                        [cfg.zmq, str(n)], n))


def row_python(cfg):
    n = cfg.py_n
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    row = new_row("python_anyio", n, "3 anyio tasks, memory object streams (1024), dict events")
    return repeat(cfg, row, lambda i: run_selftimed_rep(
        cfg, "python_anyio.%d" % i, [py, os.path.join(HERE, "anyio_pipeline.py"), str(n)], n))


def row_memory(cfg, source_eps):
    name = "memory_flat"
    # Chaining off: the sink must sit behind a bounded stream for this to test it.
    bp, result = native_components(cfg, name, -1, 0,
                                   {"delay_ns": MEMORY_SINK_DELAY_NS, "expect": -1},
                                   chaining=False)
    row = new_row(name, 0, "bench_source -> slow bench_sink (%d ns/event), RSS every 100 ms"
                  % MEMORY_SINK_DELAY_NS)
    bound = BUFFER * EVENT_BYTES_BOUND + RSS_SLACK_BYTES
    row["bound_bytes"] = bound
    row["bound_rule"] = "%d buffered events x %d B + %d MiB slack (allocator arenas, stacks)" % (
        BUFFER, EVENT_BYTES_BOUND, RSS_SLACK_BYTES >> 20)
    if os.path.exists(result):
        os.unlink(result)
    p = Proc([cfg.acrt, "run", bp, "--quiet"], os.path.dirname(bp), name, cfg.outdir)
    samples = []
    t_end = p.t0 + 0.1 + cfg.probe_s
    nxt = p.t0 + 0.1
    while True:
        now = time.perf_counter()
        if now >= t_end or p.p.poll() is not None:
            break
        if now < nxt:
            time.sleep(nxt - now)
        kib = vmrss_kib(p.target_pid() or -1)
        if kib is None:
            break
        samples.append([round(time.perf_counter() - p.t0, 3), kib])
        nxt += 0.1
    early_exit = p.p.poll() is not None
    t_term = time.perf_counter()
    if not early_exit:
        p.signal(signal.SIGTERM)
    p.wait(20.0)
    stop_s = time.perf_counter() - t_term
    row["samples_kib"] = samples
    row["stop_after_sigterm_s"] = round(stop_s, 3)
    row["exit"] = p.status
    rec = {"wall_s": round(p.wall, 3), "exit": p.status, "ok": False,
           "peak_rss_mib": round((p.maxrss_kib or 0) / 1024.0, 1), "events_per_s": 0.0}
    row["reps"].append(rec)
    res = read_sink_result(result)
    if res:
        count = int(res["count"])
        span = (int(res["last_ns"]) - int(res["first_ns"])) / 1e9
        row["events"] = count
        rec["events_per_s"] = round(count / span, 1) if span > 0 else 0.0
        row["sink_events_per_s"] = rec["events_per_s"]
        if source_eps and rec["events_per_s"]:
            row["source_over_sink"] = round(source_eps / rec["events_per_s"], 1)
    if len(samples) >= 2:
        start, peak = samples[0][1] * 1024, max(s[1] for s in samples) * 1024
        row["start_rss_mib"] = round(start / 1048576.0, 2)
        row["max_rss_mib"] = round(peak / 1048576.0, 2)
        row["growth_mib"] = round((peak - start) / 1048576.0, 2)
        row["flat"] = peak - start <= bound
    else:
        row["flat"] = False
    if early_exit:
        row["error"] = "acrt exited early (exit %s): %s" % (p.status, p.stderr_tail(3))
    elif p.timed_out:
        row["error"] = "did not exit within 20 s of SIGTERM"
    elif p.status != 0:
        row["error"] = "exit %d after SIGTERM: %s" % (p.status, p.stderr_tail(3))
    elif res is None:
        row["error"] = "the sink wrote no result file"
    elif len(samples) < 2:
        row["error"] = "too few RSS samples"
    else:
        rec["ok"] = True
    finish_row(row)
    row["peak_rss_mib"] = rec["peak_rss_mib"]
    return row


# ---- checkpoint overhead (issue 6) -----------------------------------------------
#
# bench_source -> bench_stateful (1M keys of managed state, plugins/bench_state.c)
# -> bench_sink, chained onto one thread; the checkpoint writer ("acrt-ckpt")
# runs on the other core. state_off has no runtime.state; each state_ckpt_* row
# checkpoints every second into one adapter. The runs are interleaved (off,
# sqlite, redis, inmem, off, ...) so that the machine's drift hits every row
# alike. The rate compared is the run's own (bench_stateful: first event to the
# last one processed, the chained sink included), which leaves out setup (the
# 1M-key fill) and the exit (the last checkpoint, taken after the sink's last
# event; bench_sink's span ends at its cleanup, after it).

def state_ckpt_rows():
    return [("state_ckpt_sqlite", "sqlite_snapshot"), ("state_ckpt_redis", "redis_snapshot"),
            ("state_ckpt_inmem", "inmem_ephemeral")]


STATE_ROWS = ["state_off"] + [r for r, _ in state_ckpt_rows()]
STATE_TARGET_RATIO = 0.97  # "within 3% of the run without checkpoints"


class RedisServer:
    """A throwaway redis-server on a free loopback port (no persistence)."""

    def __init__(self, outdir):
        self.p = None
        self.error = None
        exe = shutil.which("redis-server")
        if exe is None:
            self.error = "redis-server is missing (scripts/install-deps.sh installs it)"
            return
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d" % self.port
        d = os.path.join(outdir, "redis")
        os.makedirs(d, exist_ok=True)
        self.log = open(os.path.join(d, "redis.log"), "wb")
        self.p = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", d],
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        deadline = time.perf_counter() + 10.0
        while time.perf_counter() < deadline and self.p.poll() is None:
            try:
                if self.cmd("PING") == "+PONG":
                    return
            except OSError:
                pass
            time.sleep(0.02)
        self.error = "redis-server did not answer PING within 10 s (see %s)" % os.path.relpath(
            os.path.join(d, "redis.log"), ROOT)
        self.stop()

    def cmd(self, *args):
        """One command; returns the first reply line (e.g. +PONG, +OK)."""
        req = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(req)
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        return buf.split(b"\r\n", 1)[0].decode(errors="replace")

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None


def state_blueprint(cfg, name, n, adapter, redis_url):
    ref = "plugin:%s#%%s" % cfg.plugin
    d = os.path.join(cfg.outdir, "bp", name)
    result, span = os.path.join(d, "sink_result.txt"), os.path.join(d, "span_result.txt")
    sink_cfg = {"expect": n, "result_file": result}
    expect_sum = n * (n - 1) // 2
    if expect_sum < 2 ** 63:
        sink_cfg["expect_sum"] = expect_sum
    else:
        expect_sum = None
    comps = [{"name": "src", "implementation": ref % "bench_source", "config": {"count": n},
              "inputs": [], "outputs": ["output"]},
             {"name": "st", "implementation": "plugin:%s#bench_stateful" % cfg.state_plugin,
              "config": {"keys": cfg.state_keys, "expect": n, "result_file": span},
              "inputs": ["input"], "outputs": ["output"]},
             {"name": "sink", "implementation": ref % "bench_sink", "config": sink_cfg,
              "inputs": ["input"], "outputs": []}]
    bp = write_blueprint(cfg, name, comps, [("src.output", "st.input"), ("st.output", "sink.input")])
    if adapter is not None:
        state = {"adapter": adapter, "checkpoint_interval_s": cfg.state_interval_s,
                 "path": "state/ck.db"}
        if redis_url:
            state["redis_url"] = redis_url
        with open(os.path.join(d, "deployment.yaml"), "w") as f:
            f.write('schema_version: "1.0.0"\nsystem_name: bench_%s\nruntime:\n  state: %s\n'
                    % (name, json.dumps(state)))
    return bp, result, span, expect_sum


def parse_checkpoint_log(path):
    """Stored / failed / aborted checkpoints from the runtime's JSON log lines."""
    stored, failed, aborted = [], [], []
    with open(path, "r", errors="replace") as f:
        for line in f:
            if '"msg":"checkpoint ' not in line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            msg = rec.get("msg", "")
            if re.match(r"checkpoint \d+ stored", msg):
                stored.append({"id": rec.get("checkpoint"), "bytes": rec.get("bytes"),
                               "seconds": rec.get("seconds")})
            elif re.match(r"checkpoint \d+ could not be stored", msg):
                failed.append(msg[:200])
            elif re.match(r"checkpoint \d+ aborted", msg):
                aborted.append(msg[:200])
    return stored, failed, aborted


def run_state_rep(cfg, name, i, spec, adapter, redis):
    bp, result, span, expect_sum = spec
    d = os.path.dirname(bp)
    shutil.rmtree(os.path.join(d, "state"), ignore_errors=True)  # every rep starts empty
    if adapter == "redis_snapshot":
        try:
            redis.cmd("FLUSHALL")
        except OSError as e:
            return {"ok": False, "error": "redis-server: FLUSHALL: %s" % e, "wall_s": 0.0,
                    "events_per_s": 0.0, "peak_rss_mib": 0.0}
    if os.path.exists(span):
        os.unlink(span)
    n = cfg.state_n
    r = run_acrt_rep(cfg, "%s.%d" % (name, i), bp, n, result, n, expect_sum)
    if "sink_events_per_s" in r:  # bench_sink's span ends at cleanup: exit included
        r["sink_span_includes_exit"] = True
    res = read_sink_result(span)
    if res is not None and int(res.get("count", -1)) == n and int(res["last_ns"]) > int(res["first_ns"]):
        secs = (int(res["last_ns"]) - int(res["first_ns"])) / 1e9
        r["run_s"] = round(secs, 4)
        r["run_events_per_s"] = round(n / secs, 1)
        cpu = int(res.get("cpu_ns", 0)) / 1e9
        if cpu > 0:  # the pipeline thread's CPU time over the span: no preemption in it
            r["run_cpu_s"] = round(cpu, 4)
            r["cpu_events_per_s"] = round(n / cpu, 1)
            r["cpu_share"] = round(cpu / secs, 3)
        r["state_keys_at_end"] = int(res.get("keys", 0))
    elif r["ok"]:
        r["ok"] = False
        r["error"] = "bench_stateful wrote no complete span (%r)" % res
    stored, failed, aborted = parse_checkpoint_log(os.path.join(cfg.outdir, "%s.%d.stderr" % (name, i)))
    r["checkpoints_stored"] = len(stored)
    r["checkpoints_failed"] = len(failed)
    r["checkpoints_aborted"] = len(aborted)
    if stored:
        r["checkpoint_bytes"] = stored[-1]["bytes"]
        secs = [s["seconds"] for s in stored if s["seconds"] is not None]
        if secs:
            r["checkpoint_s_median"] = round(statistics.median(secs), 4)
            r["checkpoint_s_max"] = round(max(secs), 4)
    if adapter is not None and r["ok"]:
        if not stored:
            r["ok"] = False
            r["error"] = "no checkpoint stored (no 'checkpoint N stored' log line)"
        elif failed or aborted:
            r["ok"] = False
            r["error"] = (failed + aborted)[0]
    return r


def finish_state_row(row):
    finish_row(row)
    good = [r for r in row["reps"] if r["ok"]]
    for key in ("run_events_per_s", "sink_events_per_s", "cpu_events_per_s"):
        vals = [r[key] for r in good if key in r]
        if vals:
            row["best_" + key] = max(vals)
            row["median_" + key] = statistics.median(vals)
    ck = [r["checkpoints_stored"] for r in good]
    if ck:
        row["checkpoints_stored"] = ck
        row["min_checkpoints_stored"] = min(ck)
    secs = [r["checkpoint_s_median"] for r in good if "checkpoint_s_median" in r]
    if secs:
        row["checkpoint_s_median"] = statistics.median(secs)
    return row


def state_rows(cfg, want, redis):
    """The interleaved off/on runs; returns {row name: row}."""
    ckpt = [(name, adapter) for name, adapter in state_ckpt_rows() if want(name)]
    plan = [("state_off", None)] + ckpt  # off always runs: it is every ratio's base
    rows, specs = {}, {}
    for name, adapter in plan:
        what = ("bench_source -> bench_stateful (%s keys of managed state) -> bench_sink, "
                "chained: the pipeline runs on one thread" % "{:,}".format(cfg.state_keys))
        if adapter is None:
            what += ", no runtime.state"
        else:
            what += (", runtime.state {adapter: %s, checkpoint_interval_s: %g}; the checkpoint "
                     "writer thread takes the other core" % (adapter, cfg.state_interval_s))
        rows[name] = new_row(name, cfg.state_n, what)
        rows[name]["adapter"] = adapter
        if adapter == "redis_snapshot" and (redis is None or redis.error):
            rows[name]["error"] = redis.error if redis else "no redis-server"
            continue
        specs[name] = state_blueprint(cfg, name, cfg.state_n, adapter,
                                      redis.url if adapter == "redis_snapshot" else None)
    for i in range(cfg.reps):
        for name, adapter in plan:
            if name not in specs or (rows[name]["reps"] and not rows[name]["reps"][-1]["ok"]):
                continue
            r = run_state_rep(cfg, name, i, specs[name], adapter, redis)
            rows[name]["reps"].append(r)
            if not r["ok"]:
                rows[name]["error"] = r.get("error") or "failed"
    for name in rows:
        finish_state_row(rows[name])
    off = rows["state_off"]
    for name, adapter in ckpt:
        row = rows[name]
        for key in ("run_events_per_s", "events_per_s", "sink_events_per_s", "cpu_events_per_s"):
            for agg in ("median", "best"):
                a, b = row.get("%s_%s" % (agg, key)), off.get("%s_%s" % (agg, key))
                if a and b and row["ok"] and off["ok"]:
                    row["vs_off_%s_%s" % (agg, key)] = round(a / b, 4)
        if "vs_off_median_run_events_per_s" in row:
            row["overhead_median"] = round(1 - row["vs_off_median_run_events_per_s"], 4)
            row["overhead_best"] = round(1 - row["vs_off_best_run_events_per_s"], 4)
        # Each repetition against the state_off run of the same round (adjacent in time).
        for key in ("run_events_per_s", "cpu_events_per_s"):
            pairs = [a[key] / b[key] for a, b in zip(row["reps"], off["reps"])
                     if a["ok"] and b["ok"] and key in a and key in b]
            if pairs:
                row["vs_off_paired_" + key] = [round(x, 4) for x in pairs]
                row["median_vs_off_paired_" + key] = round(statistics.median(pairs), 4)
    return rows


def state_snapshot(cfg, redis):
    """bench_state per adapter: snapshot and restore of cfg.state_keys keys."""
    d = os.path.join(cfg.outdir, "state_snapshot")
    os.makedirs(d, exist_ok=True)
    keys = ("dump_s", "dump_warm_s", "seal_s", "put_s", "snapshot_s", "get_s", "verify_s",
            "open_s", "load_s", "restore_s", "fill_s", "put_ns_per_key", "dump_ns_per_key",
            "load_ns_per_key")
    out = {}
    for adapter in ("sqlite_snapshot", "redis_snapshot", "inmem_ephemeral"):
        res = {"adapter": adapter, "keys": cfg.state_keys, "reps": [], "ok": False, "error": None}
        out[adapter] = res
        if adapter == "redis_snapshot" and (redis is None or redis.error):
            res["error"] = redis.error if redis else "no redis-server"
            continue
        for i in range(cfg.reps):
            where = ""
            if adapter == "sqlite_snapshot":
                where = os.path.join(d, "sqlite.%d.db" % i)
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(where + suffix):
                        os.unlink(where + suffix)
            try:
                if adapter == "redis_snapshot":
                    where = redis.url
                    redis.cmd("FLUSHALL")
                p = subprocess.run([cfg.bench_state, adapter, where, str(cfg.state_keys)],
                                   capture_output=True, text=True, timeout=300)
                rep = json.loads(p.stdout.strip().splitlines()[-1])
                if p.returncode != 0 or rep.get("ok") is not True:
                    rep["ok"] = False
                    rep["error"] = "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:])
            except (OSError, ValueError, IndexError, subprocess.SubprocessError) as e:
                rep = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            res["reps"].append(rep)
            if not rep["ok"]:
                res["error"] = rep["error"]
                break
            if adapter == "sqlite_snapshot":
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(where + suffix):
                        os.unlink(where + suffix)
        good = [r for r in res["reps"] if r.get("ok")]
        res["ok"] = bool(good) and len(good) == len(res["reps"])
        if good:
            res["part_bytes"] = good[0]["part_bytes"]
            for k in keys:  # times: lower is better
                vals = [r[k] for r in good if k in r]
                res["best_" + k] = min(vals)
                res["median_" + k] = statistics.median(vals)
    return out


def fmt_ms(v):
    if v is None:
        return "-"
    return "%.2f" % (v * 1e3) if v < 1e-3 else "%.1f" % (v * 1e3) if v < 10 else "%.0f" % (v * 1e3)


def print_state(cfg, rows, snap):
    if rows:
        print("checkpoint overhead: bench_source -> bench_stateful (%s keys) -> bench_sink, "
              "N=%s, chained (one thread), interval %g s; runs interleaved off/on, %d reps" % (
                  "{:,}".format(cfg.state_keys), "{:,}".format(cfg.state_n),
                  cfg.state_interval_s, cfg.reps))
        hdr = ("row", "run ev/s best", "median", "wall ev/s best", "median", "cpu ev/s best",
               "median", "ckpts", "ckpt s", "vs off median", "vs off best", "cpu vs off median",
               "status")
        out = []
        for r in rows:
            out.append((r["name"], fmt_eps(r.get("best_run_events_per_s")),
                        fmt_eps(r.get("median_run_events_per_s")),
                        fmt_eps(r.get("best_events_per_s")), fmt_eps(r.get("median_events_per_s")),
                        fmt_eps(r.get("best_cpu_events_per_s")),
                        fmt_eps(r.get("median_cpu_events_per_s")),
                        ",".join(str(x) for x in r.get("checkpoints_stored", [])) or "-",
                        "%.3f" % r["checkpoint_s_median"] if "checkpoint_s_median" in r else "-",
                        "%.4fx" % r["vs_off_median_run_events_per_s"]
                        if "vs_off_median_run_events_per_s" in r else "-",
                        "%.4fx" % r["vs_off_best_run_events_per_s"]
                        if "vs_off_best_run_events_per_s" in r else "-",
                        "%.4fx" % r["vs_off_median_cpu_events_per_s"]
                        if "vs_off_median_cpu_events_per_s" in r else "-",
                        "ok" if r["ok"] else "FAIL"))
        w = [max(len(str(x[i])) for x in out + [hdr]) for i in range(len(hdr))]
        line = lambda cells: "  ".join(str(c).rjust(w[i]) if 0 < i < len(hdr) - 1 else
                                       str(c).ljust(w[i]) for i, c in enumerate(cells))
        print(line(hdr))
        print("  ".join("-" * x for x in w))
        for x in out:
            print(line(x))
        for r in rows:
            if r.get("error"):
                print("  %s: FAIL: %s" % (r["name"], r["error"]))
        print("  run ev/s: events / (first event .. last event processed), setup and exit "
              "excluded; wall ev/s: events / process wall time; cpu ev/s: events / CPU time of "
              "the pipeline thread over the run (what other processes took is left out: the "
              "steadier figure on a shared machine); ckpts: checkpoints stored per rep (the "
              "last one at exit); ckpt s: trigger to stored, median")
        print()
    if snap:
        kb = next((s.get("part_bytes") for s in snap.values() if s.get("part_bytes")), None)
        print("snapshot / restore of %s keys (8-byte keys and values%s), ms, best of %d "
              "(median):" % ("{:,}".format(cfg.state_keys),
                             ", one %.1f MB part" % (kb / 1e6) if kb else "", cfg.reps))
        cols = [("dump", "dump_s"), ("seal", "seal_s"), ("put", "put_s"),
                ("snapshot", "snapshot_s"), ("get", "get_s"), ("verify", "verify_s"),
                ("open", "open_s"), ("load", "load_s"), ("restore", "restore_s")]
        hdr = ("adapter",) + tuple(c for c, _ in cols) + ("status",)
        out = []
        for name, s in snap.items():
            out.append((name,) + tuple(
                "%s (%s)" % (fmt_ms(s.get("best_" + k)), fmt_ms(s.get("median_" + k)))
                if s.get("ok") else "-" for _, k in cols) + ("ok" if s.get("ok") else "FAIL",))
        w = [max(len(str(x[i])) for x in out + [hdr]) for i in range(len(hdr))]
        line = lambda cells: "  ".join(str(c).rjust(w[i]) if 0 < i < len(hdr) - 1 else
                                       str(c).ljust(w[i]) for i, c in enumerate(cells))
        print(line(hdr))
        print("  ".join("-" * x for x in w))
        for x in out:
            print(line(x))
        for name, s in snap.items():
            if s.get("error"):
                print("  %s: FAIL: %s" % (name, s["error"]))
        print("  dump: malloc + kv dump on the instance thread at each barrier; seal: SHA-256 "
              "and put: manifest + adapter put on the writer thread (snapshot = the three); "
              "restore = get + verify (SHA-256) + open (split) + kv load")
        dumps = [s["best_dump_s"] for s in snap.values() if s.get("ok")]
        if dumps:
            d = min(dumps)
            print("  the instance thread stops for the dump at every barrier: %.1f ms every %g s "
                  "= %.1f%% of a one-thread pipeline, whatever the adapter" % (
                      d * 1e3, cfg.state_interval_s, 100.0 * d / cfg.state_interval_s))
        print()


# ---- realistic JSON: an access log through acrt and its peers (issue 19) ---------
#
# gen_access_log.py writes BENCH_JSON_N access-log lines (~240 bytes) into
# BUILD/bench/json/access.jsonl once per run. Each json_* row runs one job on it
# with acrt (BENCH_REPS times) and with peers doing the same job in the same run:
# the jq CLI, Python's json module (json_peers.py), syslog-ng (json_access_job)
# and cat (the physical limit). Every output is checked by value against the
# exact expectation (json_check.py, Decimal numbers): acrt's must be right or the
# row FAILs; a peer's mismatches are information. events/s = input lines / wall
# seconds of the whole process; MiB/s = input bytes / the same seconds.

JSON_ROWS = ["json_access_job", "json_passthrough", "json_aggregate", "json_event_time"]
JQ_JOB = 'select(.status >= 500) | .env = "prod" | .duration_ms = .latency | del(.latency) | del(.ua)'
JQ_AGG = ('group_by(.path) | map({key: .[0].path, latency_count: length, '
          'latency_avg: (map(.latency) | add / length)}) | .[]')
# jq 1.6's reduce with .[k] += 1 copies the object per input (150 s for 1M lines
# did not finish); group_by over the slurped lines is its fast way, as in JQ_AGG.
JQ_SECONDS = ('group_by(.ts | floor) | .[] | {window_start: ((.[0].ts | floor) * 1000), '
              'count: length}')
JSON_PEER_SLOW_S = 5.0  # a peer repetition slower than this is not repeated
SYSLOG_NG_IDLE_S = 5.0  # syslog-ng: output idle this long (after some) = done
# (row, peer, ratio): acrt's events/s >= ratio x the peer's, best against best.
JSON_TARGETS = [("json_access_job", "jq", 3.0), ("json_passthrough", "cat", 0.25),
                ("json_aggregate", "jq -s", 3.0)]
MIB = 1048576.0


class JsonData:
    """The run's access log, its exact expectations and the value checks (cached)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.dir = os.path.join(cfg.outdir, "json")
        self.path = os.path.join(self.dir, "access.jsonl")
        self.n = cfg.json_n
        self.bytes = None
        self.error = None
        self.gen_s = None
        self.exp = None
        self.exp_s = None
        self.digest = None
        self.cache_path = os.path.join(self.dir, "checks.cache.json")
        self.cache = None
        with open(os.path.join(HERE, "json_check.py"), "rb") as f:
            self.checker = hashlib.sha256(f.read()).hexdigest()[:16]

    def ensure(self):
        """Generates the input (once per run); False (and self.error) on failure."""
        if self.bytes is not None or self.error:
            return self.error is None
        os.makedirs(self.dir, exist_ok=True)
        t = time.perf_counter()
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        with open(self.path, "wb") as f:
            p = subprocess.run([py, os.path.join(HERE, "gen_access_log.py"), str(self.n)],
                               stdout=f, stderr=subprocess.PIPE, timeout=600)
        self.gen_s = round(time.perf_counter() - t, 2)
        if p.returncode != 0:
            self.error = "gen_access_log.py: exit %d: %s" % (
                p.returncode, p.stderr.decode(errors="replace").strip()[-300:])
            return False
        self.bytes = os.path.getsize(self.path)
        self.digest = json_check.file_digest(self.path)
        return True

    def expected(self):
        """Exact expectations of json_access_job and json_aggregate (one pass, once)."""
        if self.exp is None:
            t = time.perf_counter()
            self.exp = json_check.expectations(self.path)
            self.exp_s = round(time.perf_counter() - t, 2)
            if self.exp["lines"] != self.n:
                raise OSError("%s has %d lines, not %d" % (self.path, self.exp["lines"], self.n))
        return self.exp

    def info(self):
        return {"path": os.path.relpath(self.path, ROOT), "lines": self.n, "bytes": self.bytes,
                "sha256": self.digest, "generate_s": self.gen_s, "expectations_s": self.exp_s,
                "generator": "bench/gen_access_log.py %d" % self.n}

    def check(self, kind, out_path, strings=False):
        """json_check's verdict on out_path, cached by the bytes of the checker, the
        input and the output (also across runs: BUILD/bench/json/checks.cache.json)."""
        if not os.path.exists(out_path):
            return {"ok": False, "summary": "no output file"}
        key = "%s:%s:%s:%s:%s" % (self.checker, kind, int(strings), self.digest,
                                  json_check.file_digest(out_path))
        if self.cache is None:
            try:
                with open(self.cache_path) as f:
                    self.cache = json.load(f)
            except (OSError, ValueError):
                self.cache = {}
        if key in self.cache:
            return dict(self.cache[key], cached=True)
        t = time.perf_counter()
        if kind == "passthrough":
            res = json_check.check_passthrough(out_path, self.path, strings)
        elif kind == "job":
            res = json_check.check_job(out_path, self.expected()["job"], strings)
        elif kind == "aggregate":
            res = json_check.check_aggregate(out_path, self.expected()["groups"])
        elif kind == "copy":
            res = json_check.check_copy(out_path, self.path)
        elif kind == "seconds":
            res = json_check.check_seconds(out_path, self.expected()["seconds"])
        else:
            raise ValueError(kind)
        res["check_s"] = round(time.perf_counter() - t, 2)
        self.cache = {k: v for k, v in self.cache.items() if k.startswith(self.checker)}
        self.cache[key] = res
        tmp = self.cache_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.cache, f)
        os.replace(tmp, self.cache_path)
        return res


def json_rec(p, jd, wall=None):
    wall = p.wall if wall is None else wall
    r = rep_record(p, jd.n)
    r["wall_s"] = round(wall, 4)
    r["events_per_s"] = round(jd.n / wall, 1) if wall else 0.0
    r["mib_per_s"] = round(jd.bytes / MIB / wall, 2) if wall else 0.0
    if p.timed_out:
        r["error"] = "timed out after %.0f s" % RUN_TIMEOUT_S
    elif p.status != 0:
        r["error"] = "exit %d: %s" % (p.status, p.stderr_tail(3) or "(no stderr)")
    else:
        r["ok"] = True
    return r


def acrt_summary(err_path):
    """The runtime's end-of-run log line: sink_events (into sinks), source_events
    (out of sources), failed (docs/RELIABILITY.md)."""
    summary = None
    with open(err_path, "r", errors="replace") as f:
        for line in f:
            if '"exit_status"' in line:
                try:
                    summary = json.loads(line)
                except ValueError:
                    pass
    return summary


def finish_json_runner(x):
    """best / median figures of a peer (or acrt) from its good repetitions."""
    good = [r for r in x["reps"] if r["ok"]]
    if good:
        best = max(good, key=lambda r: r["events_per_s"])
        x["best_events_per_s"] = best["events_per_s"]
        x["median_events_per_s"] = statistics.median(r["events_per_s"] for r in good)
        x["best_mib_per_s"] = best["mib_per_s"]
        x["median_mib_per_s"] = statistics.median(r["mib_per_s"] for r in good)
        x["best_wall_s"] = best["wall_s"]
        x["median_wall_s"] = statistics.median(r["wall_s"] for r in good)
        x["peak_rss_mib"] = max(r["peak_rss_mib"] for r in good)
    return x


def run_json_peer(cfg, jd, row, peer, cmd, argv=None, kind=None, strings=False, runner=None):
    """A peer: runs until JSON_PEER_SLOW_S (at most BENCH_REPS times), then the value
    check of its (deterministic) output. Never fails the row."""
    x = {"name": peer, "cmd": cmd, "reps": [], "status": "ok", "check": None}
    exe = (argv or [None])[0]
    if exe is not None and shutil.which(exe) is None:
        x["status"] = "skipped: %s is not installed (scripts/install-deps.sh)" % exe
        return x
    tag = "%s.%s" % (row, peer.replace(" ", "").replace("-", "_"))
    out = None
    for i in range(cfg.reps):
        if runner is not None:
            r, out = runner(tag)
        else:
            p = Proc(argv, ROOT, tag, jd.dir).wait(RUN_TIMEOUT_S)
            r, out = json_rec(p, jd), p.out_path
        x["reps"].append(r)
        if not r["ok"]:
            x["status"] = "failed: %s" % " ".join((r.get("error") or "?").split())[:300]
            break
        if r["wall_s"] > JSON_PEER_SLOW_S and i + 1 < cfg.reps:
            x["note"] = "ran once: a run took %.1f s" % r["wall_s"]
            break
    finish_json_runner(x)
    if x["status"] == "ok" and kind is not None:
        x["check"] = jd.check(kind, out, strings)
    if out is not None:
        x["output"] = os.path.relpath(out, ROOT)
    return x


def syslog_ng_conf(version, in_path, out_path):
    """The job in syslog-ng's terms: every parsed field under .json.*; `>=` between
    templates is a numeric comparison (`ge` would compare strings); format-json
    writes every value as a string."""
    return """@version: %s
options { stats-freq(0); };
source s_in { file(%s flags(no-parse) follow-freq(1) log-fetch-limit(1000) log-iw-size(100000)); };
parser p_json { json-parser(prefix(".json.")); };
filter f_5xx { "${.json.status}" >= "500" };
rewrite r_job {
  set("prod" value(".json.env"));
  rename(".json.latency" ".json.duration_ms");
  unset(value(".json.ua"));
};
destination d_out { file(%s template("$(format-json --scope none --key .json.* --shift 6)\\n")); };
log { source(s_in); parser(p_json); filter(f_5xx); rewrite(r_job); destination(d_out); };
""" % (version, json.dumps(in_path), json.dumps(out_path))


def syslog_ng_exe():
    exe = shutil.which("syslog-ng") or "/usr/sbin/syslog-ng"
    return exe if os.access(exe, os.X_OK) else None


def syslog_ng_version(exe):
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"syslog-ng \d+ \((\d+)\.(\d+)", out)
    return "%s.%s" % m.groups() if m else None


def syslog_ng_runner(cfg, jd, exe, version, expect_lines):
    """One syslog-ng run of the job: it never exits on its own (a file source
    follows the file), so the runner watches the output: done when it has the
    expected line count, or when it stopped growing for SYSLOG_NG_IDLE_S after
    some output; wall = start to the last line seen written; then SIGTERM."""
    d = os.path.join(jd.dir, "syslog-ng")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "out.jsonl")
    conf = os.path.join(d, "syslog-ng.conf")
    with open(conf, "w") as f:
        f.write(syslog_ng_conf(version, jd.path, out))
    ctl = os.path.join(d, "ctl")
    if len(ctl) > 100:  # a unix socket path
        ctl = os.path.join(tempfile.mkdtemp(prefix="acrt-bench-sng."), "ctl")

    def run(tag):
        for x in (out, os.path.join(d, "persist")):  # no resumed read position
            if os.path.exists(x):
                os.unlink(x)
        p = Proc([exe, "-F", "--no-caps", "-f", conf, "-R", os.path.join(d, "persist"),
                  "-p", os.path.join(d, "pid"), "-c", ctl], d, tag, jd.dir)
        lines, pos, t_last = 0, 0, None
        deadline = p.t0 + RUN_TIMEOUT_S
        why = None
        while True:
            now = time.perf_counter()
            try:
                with open(out, "rb") as f:
                    f.seek(pos)
                    b = f.read()
                if b:
                    pos += len(b)
                    lines += b.count(b"\n")
                    t_last = now
            except FileNotFoundError:
                pass
            if lines >= expect_lines:
                break
            if p.p.poll() is not None:
                why = "exited early"
                break
            if now > deadline:
                why = "timed out after %.0f s (%d lines)" % (RUN_TIMEOUT_S, lines)
                break
            if t_last is not None and now - t_last > SYSLOG_NG_IDLE_S:
                break  # done short of the expected count: the check will say
            time.sleep(0.002)
        p.signal(signal.SIGTERM)
        p.wait(20.0)
        wall = (t_last - p.t0) if t_last is not None else p.wall
        r = json_rec(p, jd, wall)
        r["lines_seen"] = lines
        r["exit_after_sigterm"] = p.status
        r["ok"], r["error"] = False, None
        if why == "exited early":  # its stderr ends with links: show the error lines
            with open(p.err_path, "r", errors="replace") as f:
                errs = [x.strip() for x in f if "rror" in x]
            r["error"] = "exited early: exit %s: %s" % (p.status, " | ".join(errs[:3]) or
                                                         p.stderr_tail(3))
        elif why:
            r["error"] = why
        elif p.timed_out:
            r["error"] = "did not exit within 20 s of SIGTERM"
        elif p.status not in (0, 128 + signal.SIGTERM):
            r["error"] = "exit %s after SIGTERM: %s" % (p.status, p.stderr_tail(3))
        elif t_last is None:
            r["error"] = "no output"
        else:
            r["ok"] = True
        return r, out

    return run


def json_row_spec(cfg, jd, name):
    """(components, bindings, what, check kind, expected output lines, peers)."""
    src = {"name": "src", "type": "Source", "config": {"source": "file", "path": jd.path}}
    sink = {"name": "sink", "type": "Sink", "config": {"sink": "file", "path": "out.jsonl"}}
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    peers_py = os.path.join(HERE, "json_peers.py")
    rel_in = os.path.relpath(jd.path, ROOT)
    if name == "json_access_job":
        mid = [{"name": "f", "type": "Filter", "config": {"where": ".status >= 500"}},
               {"name": "xf", "type": "Transformer", "config": {
                   "set": {"env": "prod"}, "rename": {"latency": "duration_ms"}, "drop": ["ua"]}}]
        what = ("Source{file} -> Filter{where: .status >= 500} -> Transformer{set: {env: prod}, "
                "rename: {latency: duration_ms}, drop: [ua]} -> Sink{file}")
        kind, expect_lines = "job", len(jd.expected()["job"])
        peers = [("jq", "jq -c '%s' IN" % JQ_JOB, ["jq", "-c", JQ_JOB, jd.path], "job"),
                 ("python", "python3 json_peers.py job IN", [py, peers_py, "job", jd.path], "job"),
                 ("syslog-ng", "syslog-ng -F (json-parser, filter >=, rewrite, format-json)",
                  None, "job"),
                 ("cat", "cat IN > OUT", ["cat", jd.path], "copy")]
    elif name == "json_passthrough":
        mid = []
        what = "Source{file} -> Sink{file}"
        kind, expect_lines = "passthrough", jd.n
        peers = [("cat", "cat IN > OUT", ["cat", jd.path], "passthrough"),
                 ("jq", "jq -c . IN", ["jq", "-c", ".", jd.path], "passthrough"),
                 ("python", "python3 json_peers.py passthrough IN",
                  [py, peers_py, "passthrough", jd.path], "passthrough")]
    elif name == "json_event_time":
        mid = [{"name": "agg", "type": "Aggregator", "config": {
            "time_field": "ts", "window_ms": 1000, "max_out_of_order_ms": 2000,
            "ops": {"ts": "count"}}}]
        what = ("Source{file} -> Aggregator{time_field: ts, window_ms: 1000, "
                "max_out_of_order_ms: 2000, ops: {ts: count}} -> Sink{file}")
        kind, expect_lines = "seconds", len(jd.expected()["seconds"])
        peers = [("jq -s", "jq -s -c '%s' IN" % JQ_SECONDS, ["jq", "-s", "-c", JQ_SECONDS, jd.path],
                  "seconds")]
    else:
        mid = [{"name": "agg", "type": "Aggregator", "config": {
            "key": "path", "ops": {"latency": ["count", "avg"]}}}]
        what = "Source{file} -> Aggregator{key: path, ops: {latency: [count, avg]}} -> Sink{file}"
        kind, expect_lines = "aggregate", len(jd.expected()["groups"])
        peers = [("jq -s", "jq -s -c '%s' IN" % JQ_AGG, ["jq", "-s", "-c", JQ_AGG, jd.path],
                  "aggregate"),
                 ("python", "python3 json_peers.py aggregate IN",
                  [py, peers_py, "aggregate", jd.path], "aggregate")]
    comps = [src] + mid + [sink]
    names = [c["name"] for c in comps]
    bindings = [("%s.output" % a, "%s.input" % b) for a, b in zip(names, names[1:])]
    what += ", %s access-log lines (%s)" % ("{:,}".format(jd.n), rel_in)
    return comps, bindings, what, kind, expect_lines, peers


def row_json(cfg, jd, name):
    if not jd.ensure():
        row = finish_row(new_row(name, jd.n, "-"))
        row["error"] = jd.error
        return row
    comps, bindings, what, kind, expect_lines, peers = json_row_spec(cfg, jd, name)
    bp = write_blueprint(cfg, name, comps, bindings)
    out = os.path.join(os.path.dirname(bp), "out.jsonl")
    row = new_row(name, jd.n, what)
    row["input"] = jd.info()
    row["expected_output_lines"] = expect_lines

    def one(i):
        if os.path.exists(out):
            os.unlink(out)
        p = Proc([cfg.acrt, "run", bp, "--quiet"], os.path.dirname(bp), "%s.%d" % (name, i),
                 cfg.outdir).wait(RUN_TIMEOUT_S)
        r = json_rec(p, jd)
        if not r["ok"]:
            return r
        s = acrt_summary(p.err_path)
        if s is not None:
            r["runtime_summary"] = {k: s.get(k) for k in ("sink_events", "source_events", "failed")}
            if s.get("failed") != 0 or s.get("source_events") != jd.n or \
                    s.get("sink_events") != expect_lines:
                r["wrong"] = ("runtime summary %s; expected source_events %d, sink_events %d, "
                              "failed 0" % (json.dumps(r["runtime_summary"]), jd.n, expect_lines))
        r["check"] = jd.check(kind, out)
        if not r["check"]["ok"] and "wrong" not in r:
            r["wrong"] = "output: %s" % r["check"]["summary"]
        return r

    repeat(cfg, row, one)
    row["output"] = os.path.relpath(out, ROOT)
    wrong = [r["wrong"] for r in row["reps"] if r.get("wrong")]
    checks = [r["check"] for r in row["reps"] if r.get("check")]
    if checks:
        row["check"] = next((c for c in checks if not c["ok"]), checks[-1])
    if wrong and row["ok"]:
        row["ok"] = False
        row["error"] = "acrt's output is wrong: %s" % wrong[0]
    row["peers"] = []
    for peer, cmd, argv, pkind in peers:
        runner = None
        if peer == "syslog-ng":
            exe = syslog_ng_exe()
            version = syslog_ng_version(exe) if exe else None
            if exe is None or version is None:
                row["peers"].append({"name": peer, "cmd": cmd, "reps": [], "check": None,
                                     "status": "skipped: %s" % (
                                         "syslog-ng is not installed (syslog-ng-core)"
                                         if exe is None else "no version from syslog-ng --version")})
                continue
            runner = syslog_ng_runner(cfg, jd, exe, version, expect_lines)
            cmd = "%s %s (config: %s)" % (exe, version, os.path.relpath(
                os.path.join(jd.dir, "syslog-ng", "syslog-ng.conf"), ROOT))
        x = run_json_peer(cfg, jd, name, peer, cmd, argv, pkind, strings=peer == "syslog-ng",
                          runner=runner)
        if peer == "syslog-ng":
            x["note"] = "; ".join(filter(None, [
                x.get("note"), "every value comes out as a string (\"status\":\"503\"); "
                "checked with strings compared as numbers; wall = start to the last output "
                "line, then SIGTERM"]))
        a, b = row.get("best_events_per_s"), x.get("best_events_per_s")
        if a and b:
            x["acrt_over_peer"] = round(a / b, 3)
            x["median_acrt_over_peer"] = round(row["median_events_per_s"] /
                                               x["median_events_per_s"], 3)
        row["peers"].append(x)
    good = [r for r in row["reps"] if r["ok"]]
    if good:
        best = max(good, key=lambda r: r["events_per_s"])
        row["best_mib_per_s"] = best["mib_per_s"]
        row["median_mib_per_s"] = statistics.median(r["mib_per_s"] for r in good)
    # The passthrough outputs are as large as the input: do not keep them around.
    for path in [out] + [os.path.join(ROOT, x["output"]) for x in row["peers"] if x.get("output")]:
        try:
            if os.path.getsize(path) > 64 << 20:
                os.unlink(path)
        except OSError:
            pass
    return row


def json_targets(rows_by_name):
    """[(row, target name, pass, detail)] for the json rows that ran."""
    out = []
    for name, peer, ratio in JSON_TARGETS:
        row = rows_by_name.get(name)
        if row is None:
            continue
        x = next((p for p in row.get("peers", []) if p["name"] == peer), None)
        got = x.get("acrt_over_peer") if x else None
        detail = ("%.2fx" % got) if got else "n/a: %s" % (
            "acrt failed" if not row.get("best_events_per_s") else
            x["status"] if x and x["status"] != "ok" else "no %s figure" % peer)
        if got and not row["ok"]:
            detail += ", but acrt's output is wrong"
        out.append((name, "%s acrt >= %gx %s" % (name, ratio, peer),
                    bool(got and row["ok"] and got >= ratio), detail))
    return out


def print_json(cfg, jd, rows, targets):
    if not rows:
        return
    print("realistic JSON (issue 19): %s access-log lines, %.1f MiB (%s); acrt best of %d, "
          "peers best of up to %d (a peer run over %g s is not repeated: runs column)" % (
              "{:,}".format(jd.n), (jd.bytes or 0) / MIB, os.path.relpath(jd.path, ROOT),
              cfg.reps, cfg.reps, JSON_PEER_SLOW_S))
    hdr = ("row", "runner", "runs", "MiB/s", "events/s", "wall s", "RSS MiB", "acrt/peer",
           "output (values)")
    out = []
    for r in rows:
        t = next((x for x in targets if x[0] == r["name"]), None)
        chk = r.get("check")
        out.append((r["name"], "acrt", str(len(r["reps"])),
                    "%.1f" % r["best_mib_per_s"] if r.get("best_mib_per_s") else "-",
                    fmt_eps(r.get("best_events_per_s")),
                    "%.2f" % r["best_wall_s"] if r.get("best_wall_s") else "-",
                    "%.1f" % r["peak_rss_mib"] if r.get("peak_rss_mib") else "-", "-",
                    ("ok: " if r["ok"] else "FAIL: ") + (
                        chk["summary"] if chk else r.get("error") or "?")))
        for x in r.get("peers", []):
            c = x.get("check")
            if x["status"] != "ok":
                what = x["status"]
            elif c is None:
                what = "-"
            else:
                what = ("" if c["ok"] else "differs (info): ") + c["summary"]
            out.append(("", x["name"], str(len(x["reps"])),
                        "%.1f" % x["best_mib_per_s"] if x.get("best_mib_per_s") else "-",
                        fmt_eps(x.get("best_events_per_s")),
                        "%.2f" % x["best_wall_s"] if x.get("best_wall_s") else "-",
                        "%.1f" % x["peak_rss_mib"] if x.get("peak_rss_mib") else "-",
                        "%.2fx" % x["acrt_over_peer"] if x.get("acrt_over_peer") else "-", what))
        if t:
            out.append(("", "target", "", "", "", "", "", "",
                        "%s: %s (%s)" % (t[1].split(" ", 1)[1], "met" if t[2] else "missed",
                                         t[3])))
    w = [max(len(str(x[i])) for x in out + [hdr]) for i in range(len(hdr) - 1)]
    line = lambda cells: ("  ".join(str(c).rjust(w[i]) if 1 < i else str(c).ljust(w[i])
                                    for i, c in enumerate(cells[:-1])) + "  " + cells[-1])
    print(line(hdr))
    print("  ".join("-" * x for x in w) + "  " + "-" * len(hdr[-1]))
    for x in out:
        print(line(x))
    for r in rows:
        for x in r.get("peers", []):
            if x.get("note"):
                print("  %s / %s: %s" % (r["name"], x["name"], x["note"]))
    print("  events/s = input lines / wall s of the process (startup included); acrt/peer = "
          "best vs best. Output: values compared exactly (Decimal) with the expectation "
          "computed in Python (bench/json_check.py); only acrt's can fail the row. "
          "json_aggregate: key, count exact, avg to 1e-9 relative")
    print()


# ---- report --------------------------------------------------------------------

def machine_info(cfg):
    info = {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "kernel": platform.release(), "machine": platform.machine(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "loadavg_at_start": os.getloadavg(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["acrt_version"] = subprocess.run([cfg.acrt, "--version"], capture_output=True,
                                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["acrt_version"] = None
    return info


def fmt_eps(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.0f" % v


def print_table(rows, zmq_eps):
    hdr = ("benchmark", "events", "events/s", "median", "wall s", "vs zmq", "peak RSS MiB", "status")
    out = []
    for r in rows:
        eps = r.get("best_events_per_s")
        ratio = ("%.2fx" % (eps / zmq_eps)) if eps and zmq_eps and r["name"] != "memory_flat" \
            and r["name"] not in JSON_ROWS else "-"
        out.append((r["name"], "{:,}".format(r["events"]), fmt_eps(eps),
                    fmt_eps(r.get("median_events_per_s")) if r["name"] != "memory_flat" else "-",
                    "%.2f" % r["best_wall_s"] if r.get("best_wall_s") else "-", ratio,
                    "%.1f" % r["peak_rss_mib"] if r.get("peak_rss_mib") else "-",
                    "ok" if r["ok"] else "FAIL"))
    w = [max(len(str(x[i])) for x in out + [hdr]) for i in range(len(hdr))]
    line = lambda cells: "  ".join(str(c).rjust(w[i]) if 0 < i < 7 else str(c).ljust(w[i])
                                   for i, c in enumerate(cells))
    print(line(hdr))
    print("  ".join("-" * x for x in w))
    for x in out:
        print(line(x))
    for r in rows:
        if r.get("error"):
            print("  %s: FAIL: %s" % (r["name"], r["error"]))


def main():
    cfg = Cfg(sys.argv[1] if len(sys.argv) > 1 else "build")
    os.makedirs(cfg.outdir, exist_ok=True)
    want = lambda name: cfg.only is None or name in cfg.only
    want_state = any(want(x) for x in STATE_ROWS)
    want_snapshot = want_state or want("state_snapshot")
    missing = [p for p, needed in ((cfg.acrt, True), (cfg.plugin, True), (cfg.zmq, want("zmq_inproc")),
                                   (cfg.state_plugin, want_state),
                                   (cfg.bench_state, want_snapshot))
               if needed and not os.access(p, os.R_OK if p.endswith(".so") else os.X_OK)]
    mode = "quick" if cfg.quick else "normal"
    print("acrt bench (%s): N=%s, python N=%s, JSON N=%s, %d reps, best shown; %d CPUs, "
          "load %.2f" % (mode, "{:,}".format(cfg.n), "{:,}".format(cfg.py_n),
                         "{:,}".format(cfg.json_n), cfg.reps, os.cpu_count(),
                         os.getloadavg()[0]), flush=True)
    for m in missing:
        print("bench: missing %s (run `make` first); dependent rows will FAIL" % m)

    t_start = time.perf_counter()
    rows = []
    plan = [("zmq_inproc", lambda: row_zmq(cfg)),
            ("native", lambda: row_native(cfg)),
            ("native_threads", lambda: row_native(cfg, "native_threads", chaining=False)),
            ("native_batch", lambda: row_native(cfg, "native_batch", batching={
                "enabled": True, "max_items": 64, "max_ms": 5})),
            ("builtin_json", lambda: row_builtin(cfg)),
            ("builtin_json_threads", lambda: row_builtin(cfg, "builtin_json_threads", False)),
            ("filter_pass", lambda: row_filter(cfg, "filter_pass", False)),
            ("filter_fail", lambda: row_filter(cfg, "filter_fail", True)),
            ("chain10", lambda: row_native(cfg, "chain10", 10, max(1, cfg.n // 4))),
            ("chain10_threads", lambda: row_native(cfg, "chain10_threads", 10, max(1, cfg.n // 4),
                                                   chaining=False)),
            ("api_under_load", lambda: row_api_under_load(cfg)),
            ("python_anyio", lambda: row_python(cfg)),
            ("memory_flat", lambda: row_memory(cfg, by_name.get("native", {}).get(
                "best_events_per_s"))),
            ("state_off", lambda: state_row("state_off")),
            ("state_ckpt_sqlite", lambda: state_row("state_ckpt_sqlite")),
            ("state_ckpt_redis", lambda: state_row("state_ckpt_redis")),
            ("state_ckpt_inmem", lambda: state_row("state_ckpt_inmem")),
            ("json_access_job", lambda: row_json(cfg, jd, "json_access_job")),
            ("json_passthrough", lambda: row_json(cfg, jd, "json_passthrough")),
            ("json_aggregate", lambda: row_json(cfg, jd, "json_aggregate")),
            ("json_event_time", lambda: row_json(cfg, jd, "json_event_time"))]
    jd = JsonData(cfg)
    by_name = {}
    state = {}

    def state_redis():
        """One redis-server for the state rows and the snapshot timings."""
        if "redis" not in state:
            state["redis"] = None
            if want("state_ckpt_redis") or want_snapshot:
                state["redis"] = RedisServer(cfg.outdir)
                atexit.register(state["redis"].stop)
        return state["redis"]

    def state_row(name):
        """The state rows run together, interleaved, at the first one's turn."""
        if "rows" not in state:
            ran = [x for x in STATE_ROWS if x == "state_off" or want(x)]
            print(" (interleaved: %s; x %d)" % (", ".join(ran), cfg.reps), end="", flush=True)
            state["rows"] = state_rows(cfg, want, state_redis())
        else:
            print(" (ran above)", end="")
        return state["rows"][name]

    for name, fn in plan:
        if not want(name):
            continue
        print("  running %-13s ..." % name, end="", flush=True)
        t = time.perf_counter()
        try:
            row = fn()
        except (OSError, subprocess.SubprocessError) as e:
            row = finish_row(new_row(name, 0, "-"))
            row["error"] = "%s: %s" % (type(e).__name__, e)
        print(" %5.1f s%s" % (time.perf_counter() - t, "" if row["ok"] else "  FAIL"), flush=True)
        rows.append(row)
        by_name[name] = row
    if "rows" in state and "state_off" not in by_name:  # the base of the ckpt rows' ratios
        rows.append(state["rows"]["state_off"])
        by_name["state_off"] = rows[-1]
    order = ["native", "native_threads", "api_under_load", "native_batch", "builtin_json",
             "builtin_json_threads", "filter_pass", "filter_fail", "python_anyio",
             "zmq_inproc", "chain10", "chain10_threads", "memory_flat",
             "state_off", "state_ckpt_sqlite", "state_ckpt_redis", "state_ckpt_inmem"] + JSON_ROWS
    rows.sort(key=lambda r: order.index(r["name"]))

    zmq = by_name.get("zmq_inproc", {})
    zmq_eps = zmq.get("best_events_per_s") if zmq.get("ok") else None
    for r in rows:
        if r.get("best_events_per_s") and zmq_eps and r["name"] != "memory_flat" \
                and r["name"] not in JSON_ROWS:
            r["ratio_vs_zmq"] = round(r["best_events_per_s"] / zmq_eps, 3)
            r["median_ratio_vs_zmq"] = round(r["median_events_per_s"] / zmq["median_events_per_s"], 3)

    print()
    print_table(rows, zmq_eps)
    print()
    json_list = [by_name[x] for x in JSON_ROWS if x in by_name]
    json_tgts = json_targets(by_name)
    print_json(cfg, jd, json_list, json_tgts)

    nat = by_name.get("native", {})
    nat_eps = nat.get("best_events_per_s") if nat.get("ok") else None
    bj = by_name.get("builtin_json", {})
    bj_eps = bj.get("best_events_per_s") if bj.get("ok") else None
    mem = by_name.get("memory_flat", {})
    targets = []

    def target(name, cond, detail, rows_needed):
        if not all(want(x) for x in rows_needed):
            return
        targets.append({"target": name, "pass": bool(cond), "detail": detail})

    fp, ff = by_name.get("filter_pass", {}), by_name.get("filter_fail", {})
    if fp.get("ok") and ff.get("ok"):
        ff["fail_vs_pass_wall"] = round(ff["median_wall_s"] / fp["median_wall_s"], 2)
        print("failing events vs passing (filter_fail / filter_pass, median wall): %.2fx; log %s bytes"
              % (ff["fail_vs_pass_wall"], "{:,}".format(ff["max_log_bytes"])))
    target("filter_fail <= 2x filter_pass (median wall) and < 1 MB of log",
           ff.get("ok") and fp.get("ok") and ff["median_wall_s"] <= 2 * fp["median_wall_s"]
           and ff["max_log_bytes"] < 1 << 20,
           "%.2fx, %s bytes" % (ff.get("fail_vs_pass_wall", 0), "{:,}".format(ff.get("max_log_bytes", 0)))
           if ff.get("ok") and fp.get("ok") else "n/a", ["filter_pass", "filter_fail"])
    target("native >= 10,000,000 events/s", nat_eps and nat_eps >= 10e6,
           "native %s/s" % fmt_eps(nat_eps), ["native"])
    target("native >= 5x zmq_inproc", nat_eps and zmq_eps and nat_eps >= 5 * zmq_eps,
           "%.2fx" % (nat_eps / zmq_eps) if nat_eps and zmq_eps else "n/a", ["native", "zmq_inproc"])
    nb = by_name.get("native_batch", {})
    nb_eps = nb.get("best_events_per_s") if nb.get("ok") else None
    nt = by_name.get("native_threads", {})
    nt_eps = nt.get("best_events_per_s") if nt.get("ok") else None
    if nb_eps and nat_eps:
        nb["batching_on_vs_off"] = round(nb_eps / nat_eps, 3)
        if nt_eps:
            nb["batching_on_vs_threads"] = round(nb_eps / nt_eps, 3)
        print("batching on vs off (native_batch / native): %.2fx%s" % (
            nb_eps / nat_eps, "; vs native_threads: %.2fx" % (nb_eps / nt_eps) if nt_eps else ""))
    al = by_name.get("api_under_load", {})
    al_eps = al.get("best_events_per_s") if al.get("ok") else None
    if al_eps and nat_eps:
        al["vs_native"] = round(al_eps / nat_eps, 3)
        print("api_under_load: pipeline %s/s under load vs %s/s quiet (native): %.3fx; "
              "wrk /metrics: %s requests/s" % (fmt_eps(al_eps), fmt_eps(nat_eps), al_eps / nat_eps,
                                               fmt_eps(al.get("best_requests_per_s"))))
    target("api_under_load within 5% of native", al_eps and nat_eps and al_eps >= 0.95 * nat_eps,
           "%.3fx" % (al_eps / nat_eps) if al_eps and nat_eps else "n/a",
           ["api_under_load", "native"])
    al_rps = al.get("best_requests_per_s")
    target("/metrics under load >= 10,000 requests/s", al_rps and al_rps >= 10000,
           "%s requests/s" % fmt_eps(al_rps), ["api_under_load"])
    target("builtin_json >= zmq_inproc", bj_eps and zmq_eps and bj_eps >= zmq_eps,
           "%.2fx" % (bj_eps / zmq_eps) if bj_eps and zmq_eps else "n/a",
           ["builtin_json", "zmq_inproc"])
    if "growth_mib" in mem:
        mdetail = "start %.1f MiB, max %.1f MiB, growth %.2f MiB <= bound %.2f MiB? %s; SIGTERM -> exit %s in %.2f s" % (
            mem["start_rss_mib"], mem["max_rss_mib"], mem["growth_mib"],
            mem["bound_bytes"] / 1048576.0, "yes" if mem.get("flat") else "no", mem.get("exit"),
            mem.get("stop_after_sigterm_s", 0))
    else:
        mdetail = mem.get("error") or "n/a"
    target("memory flat under a 100x slower sink", mem.get("ok") and mem.get("flat"), mdetail,
           ["memory_flat"])
    n_before_json = len(targets)
    for row_name, tname, ok, detail in json_tgts:
        target(tname, ok, detail, [row_name])
    json_target_list = targets[n_before_json:]
    chain = None
    if want("chain_overhead"):
        chain = chain_costs(cfg)
        if chain.get("ok"):
            print("capability chain (rate_limit unlimited + retry + circuit_breaker + timeout): "
                  "%.1f ns/event unbatched, %.2f ns/event in batches of 64; "
                  "schema validation of a 10-field object: %.0f ns/event" % (
                      chain["chain_overhead_ns_per_event"],
                      chain["chain_overhead_ns_per_event_batch64"],
                      chain["schema_validation_ns_per_event"]))
        target("chain <= 50 ns/event unbatched", chain.get("ok") and
               chain["chain_overhead_ns_per_event"] <= 50,
               "%s ns" % chain.get("chain_overhead_ns_per_event", "n/a"), ["chain_overhead"])
        target("chain <= 10 ns/event in batches of 64", chain.get("ok") and
               chain["chain_overhead_ns_per_event_batch64"] <= 10,
               "%s ns" % chain.get("chain_overhead_ns_per_event_batch64", "n/a"),
               ["chain_overhead"])
    snap = None
    if want_snapshot:
        snap = state_snapshot(cfg, state_redis())
    if state.get("redis") is not None:
        state["redis"].stop()
    state_list = [by_name[x] for x in STATE_ROWS if x in by_name]
    print_state(cfg, state_list, snap)
    n_before_state = len(targets)
    for name, adapter in state_ckpt_rows():
        r = by_name.get(name, {})
        med, best = r.get("vs_off_median_run_events_per_s"), r.get("vs_off_best_run_events_per_s")
        detail = ("run rate vs state_off: median %.4fx, best %.4fx, per round %s; wall: median "
                  "%.4fx; pipeline CPU: median %.4fx; checkpoints stored %s" % (
                      med, best, r.get("vs_off_paired_run_events_per_s"),
                      r.get("vs_off_median_events_per_s") or 0,
                      r.get("vs_off_median_cpu_events_per_s") or 0, r.get("checkpoints_stored"))
                  if med and best else r.get("error") or "n/a")
        target("checkpoint overhead %s (%g s interval, %s keys) <= 3%%" % (
                   adapter.split("_")[0], cfg.state_interval_s,
                   "1M" if cfg.state_keys == 1_000_000 else "{:,}".format(cfg.state_keys)),
               r.get("ok") and med and med >= STATE_TARGET_RATIO, detail, [name])
    state_targets = targets[n_before_state:]
    for t in targets:
        print("%-40s %s  (%s)" % (t["target"], "PASS" if t["pass"] else "FAIL", t["detail"]))

    total = time.perf_counter() - t_start
    results = {"machine": machine_info(cfg),
               "config": {"mode": mode, "n": cfg.n, "python_n": cfg.py_n, "reps": cfg.reps,
                          "buffer_size": BUFFER, "memory_sink_delay_ns": MEMORY_SINK_DELAY_NS,
                          "events_per_s_rule": "events / wall seconds of the child process",
                          "state_n": cfg.state_n, "state_keys": cfg.state_keys,
                          "state_checkpoint_interval_s": cfg.state_interval_s,
                          "json_n": cfg.json_n, "json_peer_slow_s": JSON_PEER_SLOW_S},
               "rows": rows, "targets": targets, "capability_chain": chain,
               "state_snapshot": snap, "total_s": round(total, 1)}
    path = os.path.join(cfg.outdir, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    written = [path]
    if state_list or snap:  # the checkpoint figures alone, as well
        written.append(os.path.join(cfg.outdir, "state.json"))
        with open(written[-1], "w") as f:
            json.dump({"machine": results["machine"],
                       "config": {k: v for k, v in results["config"].items()
                                  if k.startswith("state_") or k in ("mode", "reps")},
                       "rows": state_list, "snapshot": snap, "targets": state_targets},
                      f, indent=2)
            f.write("\n")
    if json_list:  # the realistic JSON rows alone, as well
        written.append(os.path.join(cfg.outdir, "json.json"))
        with open(written[-1], "w") as f:
            json.dump({"machine": results["machine"],
                       "config": {"mode": mode, "reps": cfg.reps, "json_n": cfg.json_n,
                                  "json_peer_slow_s": JSON_PEER_SLOW_S,
                                  "events_per_s_rule": "input lines / wall seconds of the "
                                                       "child process"},
                       "input": jd.info(), "rows": json_list, "targets": json_target_list},
                      f, indent=2)
            f.write("\n")
    print("\nJSON: %s  (total %.0f s)" % (", ".join(os.path.relpath(x, ROOT) for x in written),
                                         total))

    failed_rows = [r["name"] for r in rows if not r["ok"]]
    failed_rows += ["state_snapshot(%s)" % a for a, s in (snap or {}).items() if not s.get("ok")]
    failed_targets = [t for t in targets if not t["pass"]]
    if failed_rows:
        print("bench: FAIL: %s" % ", ".join(failed_rows))
        return 1
    if failed_targets and cfg.strict:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
