#!/usr/bin/env bash
# The jq components (libjq): Transformer `jq:` (a computed field, several
# outputs = several events, no output = dropped, an error = the original event
# on port `error`, logged and counted, and the run goes on: exit 0), Filter
# (`where:`: kept + rejected = total, both ports bound to file sinks) and Router
# (first matching route wins, else `default`; a failing condition sends the
# event to `error`). Each with operator chaining on and off; the sinks' content
# is checked event by event against the same rules computed in Python.
. "$(dirname "$0")/lib.sh" "$@"

N=1000

# jq_case CHAINING
jq_case() {
	local chaining=$1 d="$WORK/chaining-$1" name="run-chaining-$1"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: jqcomponents
  components:
    # Transformer: set first, then jq. Multiples of 7 fail, of 5 vanish, of 3
    # double; the others get a computed field.
    - {name: gen_x, type: Source, config: {generator: sequence, count: $N}}
    - name: xf
      type: Transformer
      config:
        set: {tag: t}
        jq: >-
          if .seq % 7 == 0 then error("seven \(.seq)")
          elif .seq % 5 == 0 then empty
          elif .seq % 3 == 0 then (., {copy: .seq})
          else {seq, tag, sq: (.seq * .seq), half: (.seq / 2)} end
    - {name: xf_out, type: Sink, config: {sink: file, path: xf_out.jsonl}}
    - {name: xf_err, type: Sink, config: {sink: file, path: xf_err.jsonl}}
    # Filter: keeps multiples of 4; seq 13 fails.
    - {name: gen_f, type: Source, config: {generator: sequence, count: $N}}
    - name: keep
      type: Filter
      config: {where: 'if .seq == 13 then error("thirteen") else .seq % 4 == 0 end'}
    - {name: f_out, type: Sink, config: {sink: file, path: f_out.jsonl}}
    - {name: f_rej, type: Sink, config: {sink: file, path: f_rej.jsonl}}
    - {name: f_err, type: Sink, config: {sink: file, path: f_err.jsonl}}
    # Router: even, else multiples of 3 (so 6 is even: first match wins), else
    # default; seq 999 fails in the first condition.
    - {name: gen_r, type: Source, config: {generator: sequence, count: $N}}
    - name: split
      type: Router
      config:
        routes:
          - {when: 'if .seq == 999 then error("boom") else .seq % 2 == 0 end', to: even}
          - {when: '.seq % 3 == 0', to: three}
          - {when: '.seq % 6 == 0', to: never}
    - {name: r_even, type: Sink, config: {sink: file, path: r_even.jsonl}}
    - {name: r_three, type: Sink, config: {sink: file, path: r_three.jsonl}}
    - {name: r_never, type: Sink, config: {sink: file, path: r_never.jsonl}}
    - {name: r_default, type: Sink, config: {sink: file, path: r_default.jsonl}}
    - {name: r_err, type: Sink, config: {sink: file, path: r_err.jsonl}}
  bindings:
    - {from: gen_x.output, to: xf.input}
    - {from: xf.output, to: xf_out.input}
    - {from: xf.error, to: xf_err.input}
    - {from: gen_f.output, to: keep.input}
    - {from: keep.output, to: f_out.input}
    - {from: keep.rejected, to: f_rej.input}
    - {from: keep.error, to: f_err.input}
    - {from: gen_r.output, to: split.input}
    - {from: split.even, to: r_even.input}
    - {from: split.three, to: r_three.input}
    - {from: split.never, to: r_never.input}
    - {from: split.default, to: r_default.input}
    - {from: split.error, to: r_err.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: jqcomponents
runtime: {chaining: $chaining}
YAML

	run_acrt "validate-$chaining" 20 validate "$d"
	expect_rc 0 "chaining $chaining: acrt validate" "$WORK/validate-$chaining.err"

	say "chaining $chaining: 3 sources of $N events -> Transformer jq / Filter / Router -> file sinks"
	run_acrt "$name" 30 run "$d"
	expect_rc 0 "chaining $chaining: acrt run (every failed event went on to a bound error port)" "$WORK/$name.err"

	py "$PY_PRELUDE"'
import os
d, n = sys.argv[1], int(sys.argv[2])
def f(name):
    return load(os.path.join(d, name + ".jsonl"))
def same(name, want):
    got = f(name)
    if got != want:
        die("%s: %d events, expected %d; first difference near %r vs %r" % (
            name, len(got), len(want),
            next((g for g, w in zip(got, want) if g != w), got[len(want):][:1]),
            next((w for g, w in zip(got, want) if g != w), want[len(got):][:1])))
seqs = range(1, n + 1)
out, err = [], []
for s in seqs:
    if s % 7 == 0:
        err.append({"seq": s})
    elif s % 5 == 0:
        pass
    elif s % 3 == 0:
        out += [{"seq": s, "tag": "t"}, {"copy": s}]
    else:
        half = s / 2
        out.append({"seq": s, "tag": "t", "sq": s * s, "half": int(half) if half == int(half) else half})
same("xf_out", out)
same("xf_err", err)
same("f_out", [{"seq": s} for s in seqs if s != 13 and s % 4 == 0])
same("f_rej", [{"seq": s} for s in seqs if s != 13 and s % 4 != 0])
same("f_err", [{"seq": 13}])
if len(f("f_out")) + len(f("f_rej")) + len(f("f_err")) != n:
    die("filter: kept + rejected + failed != %d" % n)
same("r_even", [{"seq": s} for s in seqs if s != 999 and s % 2 == 0])
same("r_three", [{"seq": s} for s in seqs if s != 999 and s % 2 != 0 and s % 3 == 0])
same("r_never", [])
same("r_default", [{"seq": s} for s in seqs if s != 999 and s % 2 != 0 and s % 3 != 0])
same("r_err", [{"seq": 999}])
' "$d" "$N" || fail "chaining $chaining: wrong sink content" "$WORK/$name.err"
	ok "chaining $chaining: every sink holds exactly the expected events, in order"

	py "$PY_PRELUDE"'
n = int(sys.argv[2])
recs = log_records(sys.argv[1])
def fin_s(recs):
    fin = [r for r in recs if "finished" in str(r.get("msg"))]
    return fin[-1].get("seconds", 0) if fin else 0
def warns(comp, text):
    return [r for r in recs if r.get("level") == "warn" and r.get("component") == comp
            and text in str(r.get("msg"))]
want_x = n // 7
# Each failed event is logged, up to 100 lines a second per component and
# reason; the "suppressed" lines account for the rest (docs/RELIABILITY.md).
logged = len([r for r in warns("xf", "jq: seven ") if "suppressed" not in r])
suppressed = sum(r.get("suppressed", 0) for r in warns("xf", "similar lines suppressed"))
if logged + suppressed != want_x or logged > 100 * (1 + int(fin_s(recs))):
    die("expected %d failed xf events, logged (at most 100 a second) or counted as suppressed: "
        "%d logged, %d suppressed" % (want_x, logged, suppressed))
if len(warns("keep", "jq: thirteen")) != 1:
    die("expected 1 warn line of keep naming the jq error")
if len(warns("split", "route 1: jq: boom")) != 1:
    die("expected 1 warn line of split naming route 1 and the jq error")
fin = [r for r in recs if "finished" in str(r.get("msg"))]
if not fin or fin[-1].get("failed") != want_x + 2 or fin[-1].get("dead_lettered") != want_x + 2 \
        or fin[-1].get("lost") != 0:
    die("the final log line should count %d failed events, all sent on to an error port, none lost: %r" % (want_x + 2, fin[-1:]))
' "$WORK/$name.err" "$N" || fail "chaining $chaining: wrong error log lines" "$WORK/$name.err"
	ok "chaining $chaining: each failed event logged at warn with its jq error (or counted in a suppressed line); $((N / 7 + 2)) errors counted"
}

jq_case true
jq_case false

# An unbound `rejected`/`default` port drops its events deliberately (filtered);
# an unbound `error` port loses the failed ones: exit 3, 10 lost.
d="$WORK/unbound"
mkdir -p "$d"
cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: unbound
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100}}
    - {name: xf, type: Transformer, config: {jq: 'if .seq % 10 == 0 then error("x") else . end'}}
    - {name: keep, type: Filter, config: {where: '.seq % 2 == 0'}}
    - name: split
      type: Router
      config: {routes: [{when: '.seq % 4 == 0', to: four}]}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: keep.input}
    - {from: keep.output, to: split.input}
    - {from: split.four, to: out.input}
YAML
run_acrt unbound 20 run "$d"
expect_lost 10 "unbound error/rejected/default ports: acrt run" "$WORK/unbound.err" failed
py "$PY_PRELUDE"'
got = [e["seq"] for e in load(sys.argv[1])]
want = [s for s in range(1, 101) if s % 4 == 0 and s % 10 != 0]
if got != want:
    die("expected %r, got %r" % (want, got))
' "$d/out.jsonl" || fail "unbound ports: wrong sink content" "$WORK/unbound.err"
ok "unbound error/rejected/default ports drop their events; the bound route gets exactly its own"

pass
