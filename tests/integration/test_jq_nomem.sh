#!/usr/bin/env bash
# A jq program that exhausts memory (issue 17, docs/SECURITY.md "jq programs"):
# libjq 1.6 has no memory or step budget and abort()s when an allocation fails,
# so the run ends with SIGABRT (exit 134); what acrt adds is an error line,
# logged by libjq's no-memory handler before the abort, naming the component
# and the program. The process gets a small address-space limit (ulimit -v) so
# that the allocation fails quickly instead of the machine swapping; under a
# sanitizer (which reserves terabytes of address space) the test is skipped.
. "$(dirname "$0")/lib.sh" "$@"

if ldd "$ACRT" 2>/dev/null | grep -Eq 'lib(a|t|ub)san'; then
	say "SKIP: sanitizer build (ulimit -v would stop it at start)"
	pass
fi

d="$WORK/oom"
mkdir -p "$d"
cat >"$d/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: oom
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 3}}
    - {name: blowup, type: Transformer, config: {jq: '[repeat(.)]'}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: gen, to: blowup}
    - {from: blowup, to: out}
YAML
printf 'runtime:\n  logging: {format: json}\n' >"$d/deployment.yaml"

say "acrt run with [repeat(.)] under ulimit -v 400000"
(
	ulimit -v 400000
	exec timeout -k 5 120 "$ACRT" run "$d" --quiet
) >"$WORK/run.out" 2>"$WORK/run.err"
RC=$?
expect_rc 134 "[repeat(.)] exhausts memory: libjq aborts" "$WORK/run.err"
py "$PY_PRELUDE"'
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hit = [r for r in recs if r.get("level") == "error" and r.get("component") == "blowup"
       and "jq program '"'"'[repeat(.)]'"'"' ran out of memory" in r.get("msg", "")]
if not hit:
    die("no error record naming component blowup and its program: %r" % recs[-3:])
' "$WORK/run.err" || fail "the abort is not explained in the log" "$WORK/run.err"
ok "the log names component 'blowup' and program '[repeat(.)]' before the abort"
pass
