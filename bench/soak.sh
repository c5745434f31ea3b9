#!/usr/bin/env bash
# bench/soak.sh - soak (issue 17): one system runs for SOAK_SECONDS with hot
# reloads, API scrapes, taps and checkpoints; its RSS, open fds and threads
# are sampled all along, and the run fails when they grow.
#
#   bash bench/soak.sh [BUILD_DIR]          default BUILD_DIR: build
#
# The system: Source{generator: sequence, rate_per_s} -> Filter -> Transformer
# -> Aggregator (1 s windows) -> Sink{sink: null}, chaining off (a thread and
# a stream per component), checkpoints every second on the SQLite store, the
# HTTP API on a free loopback port with its generated tokens. Every SOAK_RELOAD_S the blueprint is rewritten (atomically) to the
# next of four variants and reloaded (SIGHUP; every fifth one POST
# /api/v1/reload with the write token). With SOAK_KIND=mixed (default) the
# variants alternate a Transformer config change (a reload in place) and a
# Source payload change (a generation switch); `inplace` or `switch` keeps to
# one kind. The next reload is sent only once the previous one is logged done,
# so every reload adopts a new blueprint. Meanwhile /metrics is scraped every
# SOAK_SCRAPE_S (curl, read token) and `acrt tap xf --limit 3` runs every
# SOAK_TAP_S.
#
# Samples every SOAK_SAMPLE_S: VmRSS and Threads of /proc/PID/status, the
# entries of /proc/PID/fd. Written to OUT/soak.csv, the summary and verdict to
# OUT/soak.json (OUT: SOAK_OUT, default BUILD_DIR/bench/soak).
#
# Verdict (after a warm-up: the first third of the samples is ignored): the
# median of the last third against the median of the second third. It fails
# when RSS grew by more than max(SOAK_RSS_TOL_KB, SOAK_RSS_TOL_PCT % of the
# second third's median), or by more than SOAK_RSS_FLOOR_KB at more than
# SOAK_MAX_B_PER_RELOAD bytes per reload done between the two thirds; fds by
# more than SOAK_FD_TOL, threads by more than SOAK_THREAD_TOL; also when acrt
# died or did not exit 0 on SIGTERM, a reload failed, too few were done
# (SOAK_MIN_RELOADS), or more than a tenth of the scrapes failed. Medians
# ignore the passing spikes of a generation switch (its threads and fds come
# and go, allocator arenas breathe); a leak moves them.
#
# Environment (defaults):
#   SOAK_SECONDS=3600     duration
#   SOAK_RELOAD_S=10      reload interval (0.1 to show a flat RSS under many
#                         reloads quickly)
#   SOAK_SAMPLE_S         min(10, SOAK_SECONDS / 30)
#   SOAK_SCRAPE_S=5       GET /metrics interval
#   SOAK_TAP_S=60         `acrt tap` interval
#   SOAK_KIND=mixed       mixed | inplace | switch
#   SOAK_RATE=2000        events per second from the source
#   SOAK_RSS_TOL_KB=1536  SOAK_RSS_TOL_PCT=5  SOAK_FD_TOL=2  SOAK_THREAD_TOL=1
#   SOAK_MAX_B_PER_RELOAD=8192  SOAK_RSS_FLOOR_KB=768
#   SOAK_MIN_RELOADS=1    SOAK_OUT  SOAK_ACRT (default BUILD_DIR/acrt)
#
# Exit 0 flat, 1 growth or a failed run, 2 usage.
set -euo pipefail
build="$(readlink -f "${1:-build}")"
acrt="${SOAK_ACRT:-$build/acrt}"
out="${SOAK_OUT:-$build/bench/soak}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ ! -x "$acrt" ]; then
	echo "soak: $acrt is not an executable (build first: make)" >&2
	exit 2
fi
command -v curl >/dev/null || {
	echo "soak: curl is needed" >&2
	exit 2
}
mkdir -p "$out"
exec "$PY" - "$acrt" "$out" <<'PY'
import json, os, signal, socket, statistics, subprocess, sys, time

acrt, out = sys.argv[1], sys.argv[2]
env = os.environ


def usage(msg):
    print("soak: " + msg, file=sys.stderr)
    sys.exit(2)


def num(key, dflt):
    try:
        return float(env.get(key, dflt))
    except ValueError:
        usage("%s=%r is not a number" % (key, env[key]))


SECONDS = num("SOAK_SECONDS", 3600)
RELOAD_S = num("SOAK_RELOAD_S", 10)
SAMPLE_S = num("SOAK_SAMPLE_S", min(10.0, SECONDS / 30))
SCRAPE_S = num("SOAK_SCRAPE_S", 5)
TAP_S = num("SOAK_TAP_S", 60)
RATE = int(num("SOAK_RATE", 2000))
RSS_TOL_KB = num("SOAK_RSS_TOL_KB", 1536)
RSS_TOL_PCT = num("SOAK_RSS_TOL_PCT", 5)
FD_TOL = num("SOAK_FD_TOL", 2)
THREAD_TOL = num("SOAK_THREAD_TOL", 1)
MAX_B_PER_RELOAD = num("SOAK_MAX_B_PER_RELOAD", 8192)
RSS_FLOOR_KB = num("SOAK_RSS_FLOOR_KB", 768)
MIN_RELOADS = int(num("SOAK_MIN_RELOADS", 1))
KIND = env.get("SOAK_KIND", "mixed")
if KIND not in ("mixed", "inplace", "switch") or SECONDS <= 0 or RELOAD_S <= 0 or SAMPLE_S <= 0:
    usage("SOAK_KIND is mixed|inplace|switch; durations must be > 0")

sysdir = os.path.join(out, "system")
os.makedirs(sysdir, exist_ok=True)
for f in ("architecture.yaml", "deployment.yaml", "acrt.log"):
    if os.path.exists(os.path.join(sysdir, f)):
        os.unlink(os.path.join(sysdir, f))
subprocess.run(["rm", "-rf", os.path.join(sysdir, "state"), os.path.join(sysdir, ".acrt")])

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()

# Variant k: the source's payload p and the Transformer's value v. mixed:
# (0,0) (0,1) (1,1) (1,0): in place, switch, in place, switch, ...
VARIANTS = {"mixed": [(0, 0), (0, 1), (1, 1), (1, 0)],
            "inplace": [(0, 0), (0, 1)], "switch": [(0, 0), (1, 0)]}[KIND]


def write_arch(k):
    p, v = VARIANTS[k % len(VARIANTS)]
    text = """schema_version: "1.0.0"
system:
  name: soak
  version: "0.1.0"
  components:
    - {name: gen, type: Source, config: {generator: sequence, rate_per_s: %d, payload: {p: %d, n: 7}}}
    - {name: pick, type: Filter, config: {where: '.n > 0'}}
    - {name: xf, type: Transformer, config: {set: {v: "v%d"}}}
    - {name: agg, type: Aggregator, config: {key: v, window_ms: 1000, ops: {seq: [count, max]}}}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: pick.input}
    - {from: pick.output, to: xf.input}
    - {from: xf.output, to: agg.input}
    - {from: agg.output, to: out.input}
""" % (RATE, p, v)
    tmp = os.path.join(sysdir, ".architecture.yaml.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(sysdir, "architecture.yaml"))  # never half-read


write_arch(0)
with open(os.path.join(sysdir, "deployment.yaml"), "w") as f:
    f.write("""schema_version: "1.0.0"
system_name: soak
runtime:
  chaining: false
  api: {listen: "127.0.0.1:%d"}
  state: {adapter: sqlite_snapshot, checkpoint_interval_s: 1, retain: 3}
""" % port)

logpath = os.path.join(sysdir, "acrt.log")
log = open(logpath, "wb")
proc = subprocess.Popen([acrt, "run", sysdir], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=log)
pid = proc.pid
base = "http://127.0.0.1:%d" % port
logpos, outcomes = 0, {"done": 0, "failed": 0, "nothing": 0}


def read_log():
    """Counts reload outcomes logged since the last call."""
    global logpos
    with open(logpath, "rb") as f:
        f.seek(logpos)
        chunk = f.read()
    cut = chunk.rfind(b"\n") + 1
    logpos += cut
    for line in chunk[:cut].split(b"\n"):
        if b"reload (" not in line:
            continue
        if b") done" in line:
            outcomes["done"] += 1
        elif b") failed" in line or b"reload failed" in line:
            outcomes["failed"] += 1
        elif b"nothing changed" in line:
            outcomes["nothing"] += 1


def token(which):
    try:
        with open(os.path.join(sysdir, ".acrt", which + ".token")) as f:
            return f.read().strip()
    except OSError:
        return None


def http(path, which="read", method="GET"):
    """curl; the token goes in through stdin (never in argv)."""
    tok = token(which)
    if tok is None:
        return None
    r = subprocess.run(["curl", "-fsS", "-m", "5", "-X", method, "-K", "-", base + path],
                       input=('header = "Authorization: Bearer %s"\n' % tok).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout if r.returncode == 0 else None


def sample():
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.split()
    return int(st["VmRSS"][0]), len(os.listdir("/proc/%d/fd" % pid)), int(st["Threads"][0])


def fail(msg):
    print("soak: FAIL: " + msg, file=sys.stderr)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    sys.exit(1)


# Ready: the API answers (the first generation is set up).
deadline = time.monotonic() + 30
while http("/metrics") is None:
    if proc.poll() is not None or time.monotonic() > deadline:
        fail("acrt did not start (see %s)" % logpath)
    time.sleep(0.1)

t0 = time.monotonic()
end = t0 + SECONDS
next_reload, next_sample, next_scrape, next_tap = t0 + RELOAD_S, t0, t0, t0 + min(TAP_S, SECONDS / 4)
settled_at = t0
variant, sent, waiting_since, scrapes, scrape_errors, taps, tap_lines = 0, 0, None, 0, 0, [], 0
rows = []
csv = open(os.path.join(out, "soak.csv"), "w")
csv.write("t_s,reloads,rss_kb,fds,threads\n")
while True:
    now = time.monotonic()
    if now >= end:
        break
    if proc.poll() is not None:
        fail("acrt exited with %d during the soak (see %s)" % (proc.returncode, logpath))
    read_log()
    settled = outcomes["done"] + outcomes["failed"] + outcomes["nothing"]
    if waiting_since is not None and settled >= sent:
        waiting_since, settled_at = None, now
    if waiting_since is not None and now - waiting_since > 30:
        fail("reload %d did not complete within 30 s" % sent)
    # Sampled between two reloads (a switch's threads and fds come and go; a
    # switch logs "done" just before its threads start), unless one has been
    # in flight for 5 s past the due time.
    quiet = waiting_since is None and now - settled_at >= 0.05
    if now >= next_sample and (quiet or now - next_sample > 5):
        try:
            rss, fds, thr = sample()
        except (OSError, KeyError, IndexError):
            fail("cannot read /proc/%d" % pid)
        rows.append((round(now - t0, 2), settled, rss, fds, thr))
        csv.write("%.2f,%d,%d,%d,%d\n" % rows[-1])
        csv.flush()
        next_sample += SAMPLE_S
    if waiting_since is None and now >= next_reload:
        variant += 1
        write_arch(variant)
        sent += 1
        if sent % 5 == 0:
            if http("/api/v1/reload", "write", "POST") is None:
                fail("POST /api/v1/reload failed")
        else:
            os.kill(pid, signal.SIGHUP)
        waiting_since = now
        next_reload = max(next_reload + RELOAD_S, now)
    if now >= next_scrape:
        scrapes += 1
        body = http("/metrics")
        if body is None or b"acrt_reloads_total" not in body:
            scrape_errors += 1
        next_scrape += SCRAPE_S
    for t in list(taps):
        if t[0].poll() is not None:
            tap_lines += t[0].stdout.read().count(b"\n")
            taps.remove(t)
        elif now - t[1] > 10:
            t[0].kill()
            t[0].wait()
            taps.remove(t)
    if now >= next_tap:
        taps.append((subprocess.Popen([acrt, "tap", "xf", sysdir, "--limit", "3"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL), now))
        next_tap += TAP_S
    time.sleep(max(0.005, min(next_reload, next_sample, next_scrape, next_tap, end,
                              settled_at + 0.05) - time.monotonic()))

for t in taps:
    t[0].wait(timeout=15)
    tap_lines += t[0].stdout.read().count(b"\n")
final_metrics = http("/metrics") or b""
proc.send_signal(signal.SIGTERM)
try:
    rc = proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = proc.wait()
read_log()
csv.close()

n = len(rows)
a, b = n // 3, 2 * n // 3
med = lambda col, lo, hi: statistics.median(r[col] for r in rows[lo:hi])
verdict, why = "flat", []
summary = {"seconds": SECONDS, "reload_s": RELOAD_S, "sample_s": SAMPLE_S, "kind": KIND,
           "rate_per_s": RATE, "samples": n, "reloads_sent": sent, "reloads": outcomes,
           "scrapes": scrapes, "scrape_errors": scrape_errors, "tap_lines": tap_lines,
           "exit_status": rc}
if n < 6:
    verdict, why = "failed", ["too few samples (%d): lengthen SOAK_SECONDS or shorten SOAK_SAMPLE_S" % n]
else:
    for col, name, tol in ((2, "rss_kb", None), (3, "fds", FD_TOL), (4, "threads", THREAD_TOL)):
        mid, last = med(col, a, b), med(col, b, n)
        if tol is None:
            tol = max(RSS_TOL_KB, mid * RSS_TOL_PCT / 100)
        first_r, last_r = rows[a][1], rows[-1][1]
        summary[name] = {"start": rows[0][col], "second_third_median": mid,
                         "last_third_median": last, "growth": last - mid, "tolerance": tol,
                         "max": max(r[col] for r in rows), "end": rows[-1][col]}
        if name == "rss_kb":
            # growth per reload between the two thirds' midpoints
            dr = statistics.median(r[1] for r in rows[b:n]) - statistics.median(r[1] for r in rows[a:b])
            summary[name]["bytes_per_reload"] = round((last - mid) * 1024 / dr, 1) if dr > 0 else None
        if last - mid > tol:
            verdict = "growth"
            why.append("%s grew from a median of %s to %s (tolerance %s)" % (name, mid, last, round(tol, 1)))
        elif name == "rss_kb" and last - mid > RSS_FLOOR_KB and \
                (summary[name]["bytes_per_reload"] or 0) > MAX_B_PER_RELOAD:
            verdict = "growth"
            why.append("rss_kb grew by %s B per reload (%s KB in all; at most %d B per reload)"
                       % (summary[name]["bytes_per_reload"], last - mid, MAX_B_PER_RELOAD))
if proc.returncode not in (0,):
    verdict = "failed"
    why.append("acrt exited with %d" % rc)
if outcomes["failed"]:
    verdict = "failed"
    why.append("%d reload(s) failed" % outcomes["failed"])
if outcomes["done"] < MIN_RELOADS:
    verdict = "failed"
    why.append("only %d reload(s) done, want >= %d" % (outcomes["done"], MIN_RELOADS))
if scrape_errors > scrapes // 10:
    verdict = "failed"
    why.append("%d of %d /metrics scrapes failed" % (scrape_errors, scrapes))
summary["verdict"], summary["why"] = verdict, why
with open(os.path.join(out, "soak.json"), "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print("soak: %ds, %d reloads done (%d sent, kind %s, every %gs), %d scrapes, %d tap lines"
      % (SECONDS, outcomes["done"], sent, KIND, RELOAD_S, scrapes, tap_lines))
for name in ("rss_kb", "fds", "threads"):
    if name in summary:
        x = summary[name]
        print("soak:   %-8s start %s, second third %s, last third %s, max %s, end %s%s"
              % (name, x["start"], x["second_third_median"], x["last_third_median"], x["max"], x["end"],
                 ", %s B/reload" % x["bytes_per_reload"] if "bytes_per_reload" in x else ""))
print("soak: %s%s (%s)" % (verdict.upper(), ": " + "; ".join(why) if why else "", os.path.join(out, "soak.json")))
sys.exit(0 if verdict == "flat" else 1)
PY
