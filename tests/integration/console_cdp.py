#!/usr/bin/python3
"""console_cdp.py - drives the web console (docs/CONSOLE.md) in Debian's
headless chromium through the Chrome DevTools Protocol, for
test_console_browser.sh. Needs python3-websocket (Debian) and chromium.

    console_cdp.py URL READ_TOKEN_FILE WRITE_TOKEN_FILE GATE_FILE SHOT_DIR [ARCH_YAML]

URL is the running system's API (http://127.0.0.1:PORT); the system is the
test's: components gen -> sink (a source at a steady rate) and gen2 -> slow
-> out2 where `slow` holds every event until GATE_FILE exists, and an alert
rule `console_fill` on acrt_stream_fill_ratio > 0.5. With ARCH_YAML (the
system's architecture.yaml), it ends with a hot reload that changes slow's
config, and looks for it in the console's reloads. Each step waits on a
condition of the page's DOM (Runtime.evaluate) with a deadline; nothing
sleeps blindly. Prints one `ok:` line per check, exits 1 with the reason (and
a screenshot of the page as it was) on the first failure.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # python3-websocket

STEP_S = 10.0  # the deadline of one wait


class Fail(Exception):
    pass


class CDP:
    """A minimal CDP client: one page target, calls answered in order."""

    def __init__(self, ws_url):
        # Chromium refuses a DevTools websocket with an Origin it does not
        # allow; the client sends none.
        self.ws = websocket.create_connection(ws_url, timeout=STEP_S, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise Fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def js(self, expr):
        """The value of a JavaScript expression (awaited when a promise)."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise Fail("page script failed: %s: %s" % (expr[:80], r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, what, expr, timeout=STEP_S):
        """Waits until expr is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.js(expr)
            if v:
                return v
            if time.monotonic() >= deadline:
                raise Fail("timed out after %.0f s waiting for %s" % (timeout, what))
            time.sleep(0.1)

    def shot(self, path, clip=None):
        """A PNG of the whole page, or of clip {x, y, width, height, scale}."""
        params = {"format": "png", "captureBeyondViewport": True}
        if clip is not None:
            params["clip"] = clip
        r = self.call("Page.captureScreenshot", **params)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))


def start_chromium(profile):
    exe = shutil.which("chromium")
    if exe is None:
        raise Fail("chromium is not installed (scripts/install-deps.sh installs it)")
    args = [exe, "--headless=new", "--remote-debugging-port=0", "--user-data-dir=" + profile,
            "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--hide-scrollbars",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--window-size=1400,1000", "about:blank"]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # chromium's sandbox refuses to run as root
    log = open(os.path.join(profile, "chromium.log"), "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + 20
    while True:
        if os.path.exists(port_file):
            lines = open(port_file).read().split("\n")
            if len(lines) >= 2 and lines[0].strip():
                port = int(lines[0])
                break
        if proc.poll() is not None:
            raise Fail("chromium exited with %s before it listened (see %s)"
                       % (proc.returncode, log.name))
        if time.monotonic() >= deadline:
            raise Fail("chromium wrote no DevToolsActivePort within 20 s")
        time.sleep(0.05)
    with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as r:
        targets = json.load(r)
    pages = [t for t in targets if t.get("type") == "page"]
    if not pages:
        raise Fail("chromium has no page target: %r" % targets)
    return proc, pages[0]["webSocketDebuggerUrl"]


def stop_chromium(proc):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: chromium and its helpers
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def ok(msg):
    print("ok: " + msg, flush=True)


def login(cdp, tok, scope):
    cdp.wait("the login form", "!!document.getElementById('login-form') && "
             "!document.getElementById('login').hidden")
    cdp.js("(() => { const t = document.getElementById('token'); t.value = %s; "
           "document.getElementById('login-form').requestSubmit(); return true; })()"
           % json.dumps(tok))
    who = cdp.wait("the console to log in with the %s token" % scope,
                   "document.body.dataset.loggedIn === '1' && "
                   "document.getElementById('who').dataset.scope")
    if who != scope:
        raise Fail("logged in as %r, expected %r" % (who, scope))
    # The token is kept in memory only: not in the URL, storage or cookies.
    leak = cdp.js("(() => { const t = %s; return [location.href, document.cookie, "
                  "JSON.stringify(localStorage), JSON.stringify(sessionStorage), "
                  "document.documentElement.outerHTML].filter(s => s.includes(t)).length; })()"
                  % json.dumps(tok))
    if leak:
        raise Fail("the token appears in the URL, a cookie, storage or the page")


def click(cdp, selector):
    cdp.js("document.querySelector(%s).dispatchEvent(new MouseEvent('click', {bubbles: true}))"
           % json.dumps(selector))


def run(cdp, url, read_tok, write_tok, gate, shots, arch):
    cdp.call("Page.enable")
    cdp.call("Runtime.enable")
    cdp.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1,
             mobile=False)
    cdp.call("Page.navigate", url=url + "/ui")
    cdp.wait("the page to load", "document.readyState === 'complete' && "
             "location.pathname === '/ui' && !!document.getElementById('token')")
    ok("GET /ui loads the console (no token needed for the page)")

    login(cdp, read_tok, "read")
    ok("logged in with the read token (kept in memory only: not in the URL, storage, cookies)")

    names = ["gen", "sink", "gen2", "slow", "out2"]
    cdp.wait("a box for every component", "(() => { const n = %s; return n.every(x => "
             "document.querySelector('#graph .comp[data-name=\"' + x + '\"]')); })()"
             % json.dumps(names))
    shown = cdp.js("[...document.querySelectorAll('#graph .comp')].map(g => g.dataset.name)")
    if sorted(shown) != sorted(names):
        raise Fail("the graph shows %r, expected %r" % (shown, names))
    edges = cdp.js("[...document.querySelectorAll('#graph .edge')].map(g => g.dataset.stream)")
    want = ["gen.output->sink.input", "gen2.output->slow.input", "slow.output->out2.input"]
    if sorted(edges) != sorted(want):
        raise Fail("the graph's edges are %r, expected %r" % (edges, want))
    ok("the graph shows every component (%s) and binding" % ", ".join(names))
    # Grouped by node: each box lies inside its node's band.
    bands = cdp.js("""(() => {
        const out = {};
        const bands = [...document.querySelectorAll('#graph .node-band')];
        const labels = [...document.querySelectorAll('#graph .node-label')];
        document.querySelectorAll('#graph .comp').forEach(g => {
          const r = g.getBoundingClientRect();
          bands.forEach((b, i) => {
            const q = b.getBoundingClientRect();
            if (r.left >= q.left && r.right <= q.right && r.top >= q.top && r.bottom <= q.bottom)
              out[g.dataset.name] = labels[i].textContent;
          });
        });
        return out; })()""")
    want_bands = {"gen": "node edge", "sink": "node edge", "gen2": "node core",
                  "slow": "node core", "out2": "node core"}
    if bands != want_bands:
        raise Fail("components by node band: %r, expected %r" % (bands, want_bands))
    ok("the components are grouped by node (edge: gen, sink; core: gen2, slow, out2)")

    rate = cdp.wait("gen's out rate above zero", "(() => { const g = document.querySelector("
                    "'#graph .comp[data-name=\"gen\"]'); return g && +g.dataset.outRate > 0 "
                    "&& g.querySelector('.rates').textContent; })()")
    ok("gen's rate goes above zero while it runs (%s)" % rate)

    fill = cdp.wait("the fill of gen2.output->slow.input to rise to 0.9 (coloured)",
                    "(() => { const g = document.querySelector('#graph .edge[data-stream="
                    "\"gen2.output->slow.input\"]'); return g && +g.dataset.fill >= 0.9 && "
                    "g.classList.contains('p2') && g.querySelector('text').textContent; })()")
    ok("the binding behind the held component fills up and turns red (%s)" % fill)

    cdp.wait("the console_fill alert", "!!document.querySelector("
             "'#alerts tr[data-alert=\"console_fill\"][data-state=\"firing\"]')")
    cdp.wait("the alert's history", "!!document.querySelector("
             "'#alert-history tr[data-alert=\"console_fill\"][data-state=\"firing\"]')")
    ok("the alert console_fill appears, firing, in the alerts and their history")
    cdp.shot(os.path.join(shots, "1-pressure.png"))
    # The picture of docs/CONSOLE.md (docs/console.png is a copy): the graph
    # and the alerts, scaled down to stay small.
    cdp.shot(os.path.join(shots, "console.png"),
             {"x": 0, "y": 0, "width": 1400, "height": 700, "scale": 0.75})

    # Release the held component: the stream drains and a checkpoint's
    # barrier can pass it.
    open(gate, "w").close()
    cdp.wait("the stream to drain", "(() => { const g = document.querySelector('#graph .edge"
             "[data-stream=\"gen2.output->slow.input\"]'); return g && +g.dataset.fill < 0.5; })()")

    click(cdp, "#ckpt-create")
    msg = cdp.wait("a refusal of the checkpoint with the read token",
                   "document.getElementById('ckpt-msg').dataset.status === '403' && "
                   "document.getElementById('ckpt-msg').textContent")
    if not msg.startswith("403"):
        raise Fail("the refusal shows %r" % msg)
    if cdp.js("document.querySelectorAll('#ckpts tr[data-ckpt-id]').length"):
        raise Fail("a checkpoint is listed after the read token's refusal")
    ok("creating a checkpoint with the read token is refused, shown as %r" % msg)
    cdp.shot(os.path.join(shots, "2-refused.png"))

    click(cdp, "#logout")
    cdp.wait("the login form after logging out", "!document.body.dataset.loggedIn")
    login(cdp, write_tok, "write")
    ok("logged out, logged in again with the write token")
    click(cdp, "#ckpt-create")
    cdp.wait("the checkpoint request to be accepted",
             "document.getElementById('ckpt-msg').dataset.status === '202'")
    cid = cdp.wait("the new checkpoint in the list", "(() => { const r = document.querySelector("
                   "'#ckpts tr[data-ckpt-id]'); return r && r.dataset.ckptId; })()")
    ok("a checkpoint created with the write token is listed (id %s)" % cid)

    # A component's detail: config (write token), histogram, counters, tap.
    click(cdp, "#graph .comp[data-name=\"gen\"]")
    cdp.wait("gen's detail", "!document.getElementById('detail').hidden && "
             "document.getElementById('d-name').textContent === 'gen' && "
             "document.getElementById('d-config').textContent.includes('rate_per_s')")
    click(cdp, "#graph .comp[data-name=\"sink\"]")
    cdp.wait("sink's processing-time histogram", "document.getElementById('d-name').textContent"
             " === 'sink' && document.querySelectorAll('#d-hist .hist-row').length > 0")
    ok("a component's detail shows its config and processing-time histogram")
    click(cdp, "#d-tap")
    line = cdp.wait("a tapped event", "(() => { const t = document.getElementById('d-tap-out')"
                    ".textContent; return t.includes('{\"seq\":') && t.split('\\n')[0]; })()")
    ok("the live tap of sink's port streams events (%s...)" % line[:60])
    cdp.shot(os.path.join(shots, "3-detail.png"))
    click(cdp, "#d-tap")

    if arch is None:
        return
    # A hot reload that changes slow's config (in place): the console lists
    # it with what changed.
    with open(arch) as f:
        text = f.read()
    with open(arch, "w") as f:
        f.write(text.replace("config: {gate: ", "config: {record: false, gate: "))
    req = urllib.request.Request(url + "/api/v1/reload", method="POST",
                                 headers={"Authorization": "Bearer " + write_tok})
    with urllib.request.urlopen(req, timeout=10) as r:
        if r.status != 202:
            raise Fail("POST /api/v1/reload: %d" % r.status)
    row = cdp.wait("the reload in the list", "(() => { const r = document.querySelector("
                   "'#reloads tr[data-result]'); return r && r.dataset.result + ': ' + "
                   "[...r.cells].map(c => c.textContent).join(' | '); })()")
    if not row.startswith("ok:") or "slow: config" not in row:
        raise Fail("the reload row is %r, expected ok with 'slow: config'" % row)
    ok("a hot reload shows in the list with its diff (%s)" % row[4:])


def main():
    if len(sys.argv) not in (6, 7):
        print(__doc__, file=sys.stderr)
        return 2
    url, rfile, wfile, gate, shots = sys.argv[1:6]
    arch = sys.argv[6] if len(sys.argv) == 7 else None
    read_tok = open(rfile).read().strip()
    write_tok = open(wfile).read().strip()
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="acrt-chromium.")
    proc = cdp = None
    rc = 0
    try:
        proc, ws = start_chromium(profile)
        cdp = CDP(ws)
        run(cdp, url, read_tok, write_tok, gate, shots, arch)
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        rc = 1
        if cdp is not None:
            try:
                cdp.shot(os.path.join(shots, "failure.png"))
                print("(screenshot: %s)" % os.path.join(shots, "failure.png"), file=sys.stderr)
            except Exception:  # the page may be gone
                pass
    finally:
        if cdp is not None:
            cdp.ws.close()
        stop_chromium(proc)
        if rc != 0 and os.path.exists(os.path.join(profile, "chromium.log")):
            sys.stderr.write(open(os.path.join(profile, "chromium.log")).read()[-2000:])
        shutil.rmtree(profile, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
