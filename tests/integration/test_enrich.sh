#!/usr/bin/env bash
# Error enrichment (docs/ALERTS.md, "Error enrichment"): every failure record (a
# JSON log line) carries error_class, capability, trace_id (32 hex digits) and
# attempt; an error-level one (a fatal failure) also the process resource
# snapshot read with libproc2 (rss_bytes, cpu_percent, threads, open_fds, load1,
# mem_available_bytes), a per-event warning not. Failures: a component failing
# events itself (class execution), schema_validator refusing events (class
# schema), and a component failing fatally.
. "$(dirname "$0")/lib.sh" "$@"
ODD=$(plugin odd_fail) || exit 1

D="$WORK/sys"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: enrich
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 40}}
    - name: picky
      implementation: plugin:$ODD#odd_fail
      config: {marker: $D/failed.txt}
    - name: check
      type: Transformer
      inputs: [{name: input, schema: {type: object, required: [seq], properties: {seq: {type: integer, maximum: 20}}}}]
      capabilities:
        schema_validator: {}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: picky.input}
    - {from: picky.output, to: check.input}
    - {from: check.output, to: out.input}
YAML
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: enrich
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  logging: {format: json}
YAML

say "gen (40) -> picky (fails odd seqs) -> check (schema: seq <= 20) -> sink"
run_acrt run 30 run "$D"
# 20 odd seqs fail in picky, 10 even ones (22..40) fail check's schema
expect_lost 30 "acrt run (30 failed events, no dead letter)" "$WORK/run.err" failed

py "$PY_PRELUDE"'
import re
recs = [r for r in log_records(sys.argv[1]) if r.get("level") in ("warn", "error") and r.get("event_id")]
by_comp = {}
for r in recs:
    by_comp.setdefault(r.get("component"), []).append(r)
if len(by_comp.get("picky", [])) != 20:
    die("expected 20 error records from picky, got %d" % len(by_comp.get("picky", [])))
if len(by_comp.get("check", [])) != 10:
    die("expected 10 error records from check (seq 22..40 even), got %d" % len(by_comp.get("check", [])))
want = {"picky": ("execution", "-"), "check": ("schema", "schema_validator")}
for comp, (cls, cap) in want.items():
    for r in by_comp[comp]:
        for k in ("error_class", "capability", "trace_id", "attempt"):
            if k not in r:
                die("%s: field %s missing: %r" % (comp, k, r))
        # a per-event failure is a warning: the resource snapshot goes on errors only
        for k in ("rss_bytes", "cpu_percent", "threads", "open_fds", "load1", "mem_available_bytes"):
            if k in r:
                die("%s: a warning carries the resource field %s: %r" % (comp, k, r))
        if r["error_class"] != cls or r["capability"] != cap:
            die("%s: error_class %r capability %r, expected %r %r" % (comp, r["error_class"], r["capability"], cls, cap))
        if not re.fullmatch(r"[0-9a-f]{32}", r["trace_id"]) or set(r["trace_id"]) == {"0"}:
            die("%s: bad trace_id %r" % (comp, r["trace_id"]))
        if not isinstance(r["attempt"], int) or r["attempt"] < 0:
            die("%s: bad attempt %r" % (comp, r))
' "$WORK/run.err" || fail "error records are not enriched" "$WORK/run.err"
ok "30 warning records: error_class (execution, schema), capability, trace_id, attempt; no resource snapshot"

# An error-level record (a fatal component failure) carries the snapshot.
FATAL=$(plugin fatal) || exit 1
D="$WORK/fatal"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: enrichfatal
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 40}}
    - {name: boom, implementation: "plugin:$FATAL#fatal", config: {at: 5}}
    - {name: out, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: boom.input}
    - {from: boom.output, to: out.input}
YAML
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: enrichfatal
runtime:
  api: {listen: "127.0.0.1:$(free_port)"}
  logging: {format: json}
YAML
say "gen -> boom (fails fatally at its 5th event) -> sink"
run_acrt fatal 30 run "$D"
expect_rc 1 "acrt run" "$WORK/fatal.err"
py "$PY_PRELUDE"'
recs = [r for r in log_records(sys.argv[1]) if r.get("level") == "error" and r.get("component") == "boom"
        and r.get("event_id")]
if not recs:
    die("no error-level record of boom with its event")
r = recs[0]
for k in ("rss_bytes", "cpu_percent", "threads", "open_fds", "load1", "mem_available_bytes",
          "error_class", "capability", "trace_id", "attempt"):
    if k not in r:
        die("field %s missing: %r" % (k, r))
if not (r["rss_bytes"] > 1 << 20 and r["threads"] >= 1 and r["open_fds"] >= 3
        and r["mem_available_bytes"] > 0 and r["load1"] >= 0 and r["cpu_percent"] >= 0):
    die("implausible resource snapshot: %r" % r)
' "$WORK/fatal.err" || fail "the fatal error record does not carry the resource snapshot" "$WORK/fatal.err"
ok "a fatal error record: error_class, capability, trace_id, attempt, rss_bytes, cpu_percent, threads, open_fds, load1, mem_available_bytes"
pass
