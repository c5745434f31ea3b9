/*
 * app.js - the acrt web console (docs/CONSOLE.md), plain JavaScript with no
 * library. It polls the HTTP API of the system that served it (same origin)
 * once a second with the bearer token typed into the login form, and draws:
 * the graph (GET /api/v1/graph once, then /api/v1/system for the figures),
 * the alerts and their history, the checkpoints (a create button: POST, the
 * write token), the reloads, and a component's detail with its live tap.
 *
 * The token lives only in the variable `token` of this closure: never in a
 * URL, a cookie or storage. Logging out (or a 401) forgets it.
 */
"use strict";
(function () {
  const POLL_MS = 1000;
  const BOX_W = 180, BOX_H = 66, COL_GAP = 150, ROW_GAP = 26, PAD = 16, BAND_HEAD = 22;
  const SVGNS = "http://www.w3.org/2000/svg";

  let token = null;        // the bearer token, in memory only
  let graph = null;        // /api/v1/graph
  let prev = null;         // the previous /api/v1/system sample, and when
  let timer = null;
  let selected = null;     // the component shown in detail
  let tapAbort = null;     // the live tap's AbortController
  let reloadsSeen = [];    // the reloads seen while this tab is open (newest first)
  let graphReloads = -1;   // reload count when the graph was read
  let session = 0;         // bumped at each login and logout: a poll of an old one stops

  const $ = (id) => document.getElementById(id);

  /* ---- The API ------------------------------------------------------------ */

  async function api(path, opts) {
    opts = opts || {};
    const headers = { "Authorization": "Bearer " + token };
    let res;
    try {
      res = await fetch(path, { method: opts.method || "GET", headers: headers,
                                cache: "no-store", signal: opts.signal });
    } catch (e) {
      return { status: 0, body: { error: "cannot reach the API: " + e.message } };
    }
    if (opts.raw) return { status: res.status, res: res };
    let body = null;
    const text = await res.text();
    try { body = JSON.parse(text); } catch (e) { body = { text: text }; }
    if (res.status === 401 && token !== null) logout("the API refused the token (401)");
    return { status: res.status, body: body };
  }

  /* ---- Login -------------------------------------------------------------- */

  async function login(ev) {
    ev.preventDefault();
    const t = $("token").value.trim();
    $("token").value = "";
    if (t === "") return;
    token = t;
    const g = await api("/api/v1/graph");
    if (g.status !== 200) {
      token = null;
      setMsg("login-msg", g.status === 401 ? "401: that token is not valid"
                                           : "error " + g.status + ": " + errText(g.body), true);
      return;
    }
    // Which scope: a write-only route answers 403 to the read token.
    graph = g.body;
    const probe = graph.components.length
      ? await api("/api/v1/components/" + encodeURIComponent(graph.components[0].name) + "/config")
      : { status: 403 };
    session++;
    $("who").textContent = probe.status === 200 ? "write token" : "read token";
    $("who").dataset.scope = probe.status === 200 ? "write" : "read";
    setMsg("login-msg", "");
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = false;
    document.body.dataset.loggedIn = "1";
    prev = null;
    drawGraph();
    poll();
  }

  function logout(why) {
    session++;
    token = null;
    graph = null;
    prev = null;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    stopTap();
    selected = null;
    $("detail").hidden = true;
    $("main").hidden = true;
    $("login").hidden = false;
    $("logout").hidden = true;
    $("who").textContent = "";
    delete document.body.dataset.loggedIn;
    setMsg("login-msg", typeof why === "string" ? why : "", typeof why === "string");
  }

  /* ---- Polling ------------------------------------------------------------ */

  async function poll() {
    timer = null;
    if (token === null) return;
    const mine = session;
    const [sys, al, ck] = await Promise.all([api("/api/v1/system"), api("/api/v1/alerts"),
                                             api("/api/v1/checkpoints")]);
    if (token === null || mine !== session) return;
    if (sys.status === 200) {
      const now = performance.now();
      const reloads = sys.body.reload ? sys.body.reload.succeeded : 0;
      if (graphReloads >= 0 && reloads !== graphReloads) { // the graph may have changed
        const g = await api("/api/v1/graph");
        if (g.status === 200) { graph = g.body; drawGraph(); }
      }
      graphReloads = reloads;
      showSystem(sys.body, prev, now);
      showReloads(sys.body.reload);
      prev = { sys: sys.body, at: now };
      if (selected !== null) showDetail();
    } else {
      $("sysstate").textContent = "unreachable";
      $("sysstate").className = "pill failed";
    }
    if (al.status === 200) showAlerts(al.body);
    if (ck.status === 200) showCheckpoints(ck.body);
    if (mine === session) timer = setTimeout(poll, POLL_MS);
  }

  /* ---- The graph ---------------------------------------------------------- */

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Columns by longest path from the sources (cycles cut after n rounds).
  function layers(names, binds) {
    const col = {};
    names.forEach((n) => { col[n] = 0; });
    for (let round = 0; round < names.length; round++) {
      let moved = false;
      binds.forEach((b) => {
        if (b.from in col && b.to in col && col[b.to] < col[b.from] + 1 && b.from !== b.to) {
          col[b.to] = col[b.from] + 1;
          moved = true;
        }
      });
      if (!moved) break;
    }
    return col;
  }

  function drawGraph() {
    const svg = $("graph");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!graph) return;
    const defs = el("defs", {}, svg);
    const m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
                             markerWidth: "10", markerHeight: "10", orient: "auto",
                             markerUnits: "userSpaceOnUse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }, m);

    // Columns over the whole system (so that an arrow between nodes still
    // goes left to right); bands, one per node (or one for the system),
    // stacked, each with its own rows.
    const bands = graph.nodes.length ? graph.nodes.slice() : [null];
    const col = layers(graph.components.map((c) => c.name), graph.bindings);
    const pos = {};
    let y = PAD, width = 0;
    const bandG = el("g", {}, svg);
    const edgeG = el("g", {}, svg);
    const compG = el("g", {}, svg);
    bands.forEach((node) => {
      const comps = graph.components.filter((c) => (node === null || c.node === node));
      if (!comps.length) return;
      const rows = {};
      let maxRow = 0, maxCol = 0, minCol = Infinity;
      comps.forEach((c) => {
        const k = col[c.name];
        rows[k] = (rows[k] || 0) + 1;
        maxRow = Math.max(maxRow, rows[k]);
        maxCol = Math.max(maxCol, k);
        minCol = Math.min(minCol, k);
        pos[c.name] = { col: k, row: rows[k] - 1 };
      });
      const top = y + (node !== null ? BAND_HEAD : 0);
      const h = maxRow * (BOX_H + ROW_GAP) - ROW_GAP;
      comps.forEach((c) => {
        const p = pos[c.name];
        // centre short columns vertically
        const inCol = rows[p.col];
        const off = (h - (inCol * (BOX_H + ROW_GAP) - ROW_GAP)) / 2;
        p.x = PAD + (node !== null ? 10 : 0) + p.col * (BOX_W + COL_GAP);
        p.y = top + off + p.row * (BOX_H + ROW_GAP);
      });
      const x0 = PAD + minCol * (BOX_W + COL_GAP);
      const w = (maxCol - minCol + 1) * (BOX_W + COL_GAP) - COL_GAP + (node !== null ? 20 : 0);
      if (node !== null) {
        el("rect", { x: x0 - 6, y: y - 6, width: w + 12, height: h + BAND_HEAD + 18,
                     rx: 8, class: "node-band" }, bandG);
        const t = el("text", { x: x0 + 4, y: y + 10, class: "node-label" }, bandG);
        t.textContent = "node " + node + (graph.node === node ? " (this process)" : "");
      }
      width = Math.max(width, x0 + w + PAD);
      y = top + h + (node !== null ? 30 : ROW_GAP) + PAD;
    });
    svg.setAttribute("width", width);
    svg.setAttribute("height", y);

    graph.bindings.forEach((b) => {
      const a = pos[b.from], z = pos[b.to];
      if (!a || !z) return;
      const g = el("g", { class: "edge" + (b.chained ? " chained" : b.stream ? "" : " other") },
                   edgeG);
      g.dataset.from = b.from;
      g.dataset.to = b.to;
      if (b.stream) g.dataset.stream = b.stream;
      const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2, x2 = z.x, y2 = z.y + BOX_H / 2;
      let d;
      if (x2 > x1) {
        const mx = (x1 + x2) / 2;
        d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 2},${y2}`;
      } else { // a cycle or a band above: loop around below
        const low = Math.max(a.y, z.y) + BOX_H + ROW_GAP / 2;
        d = `M${x1},${y1} C${x1 + 60},${low} ${x2 - 60},${low} ${x2 - 2},${y2}`;
      }
      el("path", { d: d, "marker-end": "url(#arrow)" }, g);
      const t = el("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 7, class: "elabel" }, g);
      t.textContent = b.chained ? "chained" : b.stream ? "" : "other node";
      const ti = el("title", {}, g);
      ti.textContent = `${b.from}.${b.from_port} → ${b.to}.${b.to_port}` +
        ` (buffer ${b.buffer_size}${b.chained ? ", chained: a direct call" : ""})`;
    });

    graph.components.forEach((c) => {
      const p = pos[c.name];
      if (!p) return;
      const g = el("g", { class: "comp" + (c.here ? "" : " remote") +
                                  (selected === c.name ? " selected" : ""),
                          transform: `translate(${p.x},${p.y})` }, compG);
      g.dataset.name = c.name;
      el("rect", { width: BOX_W, height: BOX_H, rx: 6 }, g);
      const n = el("text", { x: 10, y: 18, class: "name" }, g);
      n.textContent = c.name + (c.replicas > 1 ? " ×" + c.replicas : "");
      const ty = el("text", { x: 10, y: 33, class: "type" }, g);
      // a component on several nodes (scale-out) is drawn once, in this
      // node's band when it runs here
      ty.textContent = c.type + (c.nodes && c.nodes.length > 1 ? " · on nodes " +
        c.nodes.join(", ") : c.here ? "" : " · on node " + c.node);
      const r = el("text", { x: 10, y: 48, class: "rates" }, g);
      r.textContent = c.here ? "–" : "";
      const e = el("text", { x: 10, y: 61, class: "errs" }, g);
      e.textContent = "";
      g.addEventListener("click", () => select(c.name));
    });
    if (prev) showSystem(prev.sys, null, prev.at);
  }

  function fmtRate(x) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    if (x >= 1e6) return (x / 1e6).toFixed(1) + "M";
    if (x >= 1e4) return (x / 1e3).toFixed(1) + "k";
    return x >= 100 ? x.toFixed(0) : x.toFixed(1);
  }

  // Pressure of a stream: the larger of its fill and the share of the last
  // interval its producers spent blocked. 0 low, 1 rising, 2 saturated.
  function pressureClass(fill, blockedShare) {
    const p = Math.max(fill, blockedShare || 0);
    return p >= 0.9 ? 2 : p >= 0.5 ? 1 : 0;
  }

  function showSystem(sys, before, now) {
    $("sysname").textContent = sys.system + (sys.node ? " · node " + sys.node : "");
    $("sysstate").textContent = sys.state + (sys.ready ? "" : " (not ready)");
    $("sysstate").className = "pill " + sys.state;
    $("sysinfo").textContent =
      `up ${Math.round(sys.uptime_s)} s · ${fmtBytes(sys.process.resident_memory_bytes)} RSS · ` +
      `${sys.process.threads} threads · source out ${sys.totals.source_events_out} · ` +
      `sink in ${sys.totals.sink_events_in} · errors ${sys.totals.errors}`;
    const dt = before ? (now - before.at) / 1000 : 0;
    const old = {};
    if (before) before.sys.components.forEach((c) => { old[c.name] = c; });
    sys.components.forEach((c) => {
      const g = document.querySelector(`#graph .comp[data-name="${cssEsc(c.name)}"]`);
      if (!g) return;
      const o = old[c.name];
      const rin = o && dt > 0 ? (c.events_in - o.events_in) / dt : null;
      const rout = o && dt > 0 ? (c.events_out - o.events_out) / dt : null;
      if (rin !== null) { g.dataset.inRate = rin; g.dataset.outRate = rout; }
      g.dataset.eventsIn = c.events_in;
      g.dataset.eventsOut = c.events_out;
      g.dataset.errors = c.errors;
      g.dataset.state = c.state;
      g.classList.toggle("err", c.errors > 0 || c.state === "failed");
      g.classList.toggle("finished", c.state === "finished");
      // A source shows what it emits, a sink what it takes, the rest both.
      const gc = graph.components.find((x) => x.name === c.name) || { inputs: [1], outputs: [1] };
      const parts = [];
      if (gc.inputs.length) parts.push(`in ${fmtRate(rin)}/s`);
      if (gc.outputs.length) parts.push(`out ${fmtRate(rout)}/s`);
      g.querySelector(".rates").textContent = parts.join(" · ");
      g.querySelector(".errs").textContent =
        (c.errors > 0 ? `errors ${c.errors}` : "") + (c.state !== "running" ? " " + c.state : "");
    });
    const oldS = {};
    if (before) before.sys.streams.forEach((s) => { oldS[s.name] = s; });
    sys.streams.forEach((s) => {
      const g = document.querySelector(`#graph .edge[data-stream="${cssEsc(s.name)}"]`);
      if (!g) return;
      const o = oldS[s.name];
      const share = o && dt > 0 ? Math.min(1, (s.producer_blocked_s - o.producer_blocked_s) / dt)
                                : (g.dataset.blockedShare ? +g.dataset.blockedShare : 0);
      g.dataset.fill = s.fill_ratio;
      g.dataset.depth = s.depth;
      g.dataset.blockedS = s.producer_blocked_s;
      g.dataset.blockedShare = share;
      const pc = pressureClass(s.fill_ratio, share);
      g.classList.remove("p0", "p1", "p2");
      g.classList.add("p" + pc);
      g.querySelector("text").textContent =
        `fill ${Math.round(s.fill_ratio * 100)}%` +
        (s.producer_blocked_s > 0 ? ` · blocked ${s.producer_blocked_s.toFixed(1)} s` : "") +
        (s.remote ? (s.remote.connected ? "" : " · broker down") : "");
      g.querySelector("title").textContent = `${s.name}: ${s.depth} of ${s.capacity} events ` +
        `waiting, ${s.sent} sent, ${s.received} received, producers blocked ` +
        `${s.producer_blocked_s.toFixed(3)} s in all (${Math.round(share * 100)}% of the last ` +
        `second), transport ${s.kind}`;
    });
  }

  function fmtBytes(b) {
    if (!(b >= 0)) return "?";
    return b >= 1 << 30 ? (b / (1 << 30)).toFixed(1) + " GiB" : (b / (1 << 20)).toFixed(1) + " MiB";
  }

  function cssEsc(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/"/g, '\\"'); }

  /* ---- Tables ------------------------------------------------------------- */

  function table(id, head, rows, empty) {
    const t = $(id);
    while (t.firstChild) t.removeChild(t.firstChild);
    if (!rows.length) {
      const tr = t.insertRow();
      const td = tr.insertCell();
      td.className = "empty";
      td.textContent = empty;
      return;
    }
    const hr = t.createTHead().insertRow();
    head.forEach((h) => { const th = document.createElement("th"); th.textContent = h; hr.appendChild(th); });
    const tb = t.createTBody();
    rows.forEach((r) => {
      const tr = tb.insertRow();
      if (r.cls) tr.className = r.cls;
      if (r.data) for (const k in r.data) tr.dataset[k] = r.data[k];
      r.cells.forEach((c) => { tr.insertCell().textContent = c; });
    });
  }

  function labels(l) {
    // component=x and stream=y are plain enough as their values
    return Object.keys(l || {}).map((k) =>
      (k === "component" || k === "stream" ? "" : k + "=") + l[k]).join(" ");
  }

  function showAlerts(a) {
    table("alerts", ["alert", "state", "on", "value", "since"],
          a.alerts.map((x) => ({ cls: x.state, data: { alert: x.name, state: x.state },
            cells: [x.name, `${x.state} (${x.severity})`, labels(x.labels),
                    `${+x.value.toFixed(3)} ${x.op} ${x.threshold}`, x.active_since.slice(11, 19)] })),
          "no active alert");
    const h = (a.history || []).slice().reverse().slice(0, 30);
    table("alert-history", ["time", "alert", "change", "on"],
          h.map((x) => ({ cls: x.state, data: { alert: x.name, state: x.state },
            cells: [x.time.slice(11, 19), x.name, `${x.from} → ${x.state}`, labels(x.labels)] })),
          "no change yet");
  }

  function showCheckpoints(c) {
    $("ckpt-create").disabled = !c.enabled;
    $("ckpt-summary").textContent = c.enabled
      ? `${c.adapter}: ${c.completed} completed, ${c.failed} failed, ${c.aborted} aborted` +
        (c.in_progress ? ` · #${c.in_progress} in progress` : "") +
        (c.last_error ? ` · last error: ${c.last_error}` : "")
      : "checkpoints are off (runtime.state is not configured)";
    table("ckpts", ["id", "time", "size", "parts", "duration"],
          c.checkpoints.map((x) => ({ data: { ckptId: x.id },
            cells: [x.id, new Date(x.time_unix_ns / 1e6).toISOString().slice(11, 19), fmtSize(x.bytes),
                    x.parts, (x.seconds * 1000).toFixed(1) + " ms"] })),
          c.enabled ? "none yet" : "—");
  }

  function fmtSize(b) { return b >= 1024 * 1024 ? (b / 1048576).toFixed(1) + " MiB" : b >= 1024 ? (b / 1024).toFixed(1) + " KiB" : b + " B"; }

  async function createCheckpoint() {
    setMsg("ckpt-msg", "requesting…");
    const r = await api("/api/v1/checkpoints", { method: "POST" });
    if (r.status === 202) {
      setMsg("ckpt-msg", `202: requested (the new one's id will be above ${r.body.after})`);
      $("ckpt-msg").dataset.status = "202";
    } else {
      setMsg("ckpt-msg", `${r.status}: ${errText(r.body)}`, true);
      $("ckpt-msg").dataset.status = String(r.status);
    }
  }

  function showReloads(rl) {
    if (!rl) {
      $("reload-summary").textContent = "hot reload is not available";
      return;
    }
    $("reload-summary").textContent = `${rl.succeeded} succeeded, ${rl.failed} failed` +
      (rl.watching ? " · watching the files" : "");
    if (rl.last && !reloadsSeen.some((x) => x.time_unix_ns === rl.last.time_unix_ns))
      reloadsSeen.unshift(rl.last);
    reloadsSeen = reloadsSeen.slice(0, 10);
    table("reloads", ["time", "result", "changes"],
          reloadsSeen.map((x) => ({ data: { result: x.ok ? "ok" : "failed" }, cells: [new Date(x.time_unix_ns / 1e6).toISOString().slice(11, 19),
            x.ok ? "ok" : "failed", x.ok ? changesText(x.changes) : x.error] })),
          "no reload yet");
  }

  function changesText(c) {
    if (!c) return "";
    const out = [];
    if (c.mode) out.push(c.mode);
    ["added", "removed"].forEach((k) => { if (c[k] && c[k].length) out.push(k + ": " + c[k].join(", ")); });
    if (c.changed) Object.keys(c.changed).forEach((k) => out.push(`${k}: ${[].concat(c.changed[k]).join(", ")}`));
    Object.keys(c).forEach((k) => {
      const v = c[k];
      if (["mode", "added", "removed", "changed"].includes(k) || v === false ||
          (Array.isArray(v) && !v.length)) return;
      out.push(k + ": " + (Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v));
    });
    return out.join(" · ");
  }

  /* ---- Component detail --------------------------------------------------- */

  async function select(name) {
    stopTap();
    selected = name;
    document.querySelectorAll("#graph .comp").forEach((g) =>
      g.classList.toggle("selected", g.dataset.name === name));
    $("detail").hidden = false;
    $("d-name").textContent = name;
    $("d-tap-out").textContent = "";
    setMsg("d-tap-msg", "");
    const c = graph.components.find((x) => x.name === name);
    const sel = $("d-port");
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    (c ? c.outputs.map((p) => ["out", p]).concat(c.inputs.map((p) => ["in", p])) : []).forEach((p) => {
      const o = document.createElement("option");
      o.value = p[1];
      o.textContent = `${p[0]}: ${p[1]}`;
      sel.appendChild(o);
    });
    if (c && !c.here) { // its figures are on its own node's API
      ["d-info", "d-counters", "d-caps"].forEach((id) => table(id, [], [],
        `${name} runs on node ${c.node}: open that node's console`));
      $("d-hist").textContent = "";
      $("d-config").textContent = "";
      return;
    }
    const cfg = await api("/api/v1/components/" + encodeURIComponent(name) + "/config");
    $("d-config").textContent = cfg.status === 200
      ? JSON.stringify({ config: cfg.body.config, capabilities: cfg.body.capabilities || undefined,
                         batching: cfg.body.batching || undefined }, null, 2)
      : `${cfg.status}: ${errText(cfg.body)}` +
        (cfg.status === 403 ? " (a config may hold secrets: log in with the write token)" : "");
    showDetail();
  }

  async function showDetail() {
    const name = selected;
    const gc = graph && graph.components.find((x) => x.name === name);
    if (gc && !gc.here) return;
    const r = await api("/api/v1/components/" + encodeURIComponent(name));
    if (name !== selected) return;
    if (r.status !== 200) {
      table("d-info", [], [], `${r.status}: ${errText(r.body)}`);
      return;
    }
    const c = r.body;
    const kv = (id, obj) => table(id, ["", ""], Object.keys(obj).map((k) => ({ cells: [k, String(obj[k])] })), "none");
    kv("d-info", { type: c.type, state: c.state, setup: c.setup, replicas: c.replicas,
                   chained: c.chained, "events in": c.events_in, "events out": c.events_out,
                   errors: c.errors, "last error": c.last_error || "" });
    kv("d-counters", c.counters || {});
    const caps = [];
    c.instances.forEach((i) => {
      Object.keys(i.capabilities || {}).forEach((cap) => {
        Object.keys(i.capabilities[cap]).forEach((st) =>
          caps.push({ cells: [i.replica, cap, st, String(i.capabilities[cap][st])] }));
      });
    });
    table("d-caps", ["replica", "capability", "stat", "value"], caps, "no capabilities");
    const h = c.processing_time;
    const box = $("d-hist");
    while (box.firstChild) box.removeChild(box.firstChild);
    if (!h || !h.count) {
      box.textContent = "no sample yet";
      box.className = "empty";
    } else {
      box.className = "";
      $("d-hist-note").textContent =
        `${h.count} samples (one event in ${h.sample_one_in}), mean ${fmtDur(h.sum_s / h.count)}`;
      const max = Math.max.apply(null, h.buckets);
      h.buckets.forEach((n, i) => {
        const row = document.createElement("div");
        row.className = "hist-row";
        const l = document.createElement("span");
        l.className = "lbl";
        l.textContent = i < h.bounds_s.length ? "≤ " + fmtDur(h.bounds_s[i]) : "> " + fmtDur(h.bounds_s[i - 1]);
        const b = document.createElement("span");
        b.className = "bar";
        b.style.width = (max ? (160 * n) / max : 0) + "px";
        const v = document.createElement("span");
        v.textContent = n;
        row.append(l, b, v);
        box.appendChild(row);
      });
    }
  }

  function fmtDur(s) {
    return s >= 1 ? +s.toFixed(2) + " s" : s >= 1e-3 ? +(s * 1e3).toFixed(2) + " ms"
         : s >= 1e-6 ? +(s * 1e6).toFixed(1) + " µs" : (s * 1e9).toFixed(0) + " ns";
  }

  async function toggleTap() {
    if (tapAbort) { stopTap(); return; }
    const port = $("d-port").value;
    const out = $("d-tap-out");
    tapAbort = new AbortController();
    $("d-tap").textContent = "Stop tap";
    setMsg("d-tap-msg", "tapping…");
    const q = `component=${encodeURIComponent(selected)}&port=${encodeURIComponent(port)}&rate=20`;
    const r = await api("/api/v1/tap?" + q, { raw: true, signal: tapAbort.signal });
    if (r.status !== 200) {
      let why = "";
      if (r.res) { try { why = errText(await r.res.json()); } catch (e) { why = ""; } }
      else why = "cannot reach the API";
      setMsg("d-tap-msg", `${r.status}: ${why}` + (r.status === 403 ? " (the tap shows payloads)" : ""), true);
      stopTap(true);
      return;
    }
    const reader = r.res.body.getReader();
    const dec = new TextDecoder();
    let buf = "", lines = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          lines.push(tapLine(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        lines = lines.slice(-50);
        out.textContent = lines.join("\n");
      }
      setMsg("d-tap-msg", "the stream ended");
    } catch (e) {
      if (e.name !== "AbortError") setMsg("d-tap-msg", "tap: " + e.message, true);
    }
    stopTap(true);
  }

  // One tapped event, shortened: time, replica, payload (and what was skipped).
  function tapLine(text) {
    let e;
    try { e = JSON.parse(text); } catch (err) { return text; }
    const p = e.payload_encoding === "json" ? JSON.stringify(e.payload) : String(e.payload);
    return `${String(e.time || "").slice(11, 23)} #${e.replica} ${p}` +
      (e.skipped ? ` (skipped ${e.skipped})` : "");
  }

  function stopTap(keepMsg) {
    if (tapAbort) tapAbort.abort();
    tapAbort = null;
    $("d-tap").textContent = "Start tap";
    if (!keepMsg) setMsg("d-tap-msg", "");
  }

  /* ---- Little things ------------------------------------------------------ */

  function errText(b) { return b && (b.error || b.text) ? (b.error || b.text).trim() : "error"; }

  function setMsg(id, text, isError) {
    const e = $(id);
    e.textContent = text;
    e.className = "msg" + (text ? (isError ? " error" : " good") : "");
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", () => logout());
    $("ckpt-create").addEventListener("click", createCheckpoint);
    $("d-close").addEventListener("click", () => { stopTap(); selected = null; $("detail").hidden = true;
      document.querySelectorAll("#graph .comp.selected").forEach((g) => g.classList.remove("selected")); });
    $("d-tap").addEventListener("click", toggleTap);
    $("token").focus();
  });
})();
