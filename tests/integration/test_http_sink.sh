#!/usr/bin/env bash
# The http sink (issue 18 part 2, docs/COMPONENTS.md "Sink: http") against
# http_receiver.py, a receiver that answers 503 and 429 at random (seeded)
# and deduplicates batches by Idempotency-Key:
#   1. NDJSON, 30% of requests refused: after dedup by key every seq arrives
#      exactly once; retries happened (the receiver's 503/429s and the sink's
#      http_retries counter); every request carried a key and the bearer
#      token of token_file (never in the log); one 429 with Retry-After: 1 was
#      waited for (>= 0.9 s before its retry); exit 0;
#   2. format: json_array with a small max_bytes, behind a Transformer: every
#      seq once;
#   3. a 400 for the batches holding seq 77: those events go to the
#      dead_letter port with acrt-http-status 400 and the body; every other seq
#      arrives once; the rejection is counted; exit 0; without a dead letter
#      the same run exits 3 with those events counted unwritten;
#   4. SIGKILL after a checkpoint, then --resume to the end: nothing lost, and
#      every batch sent twice carries the same key with the same body (the
#      receiver counts dup keys, and mismatches); a token file open to others
#      is refused at setup (exit 1);
#   5. a receiver that is down: the sink retries, its input waits (the source
#      does not finish), the `sink_write_blocked` alert fires, the failed
#      attempts are counted in /metrics and the API's counters; the receiver comes up: every seq once;
#   6. https with ca_file: every seq once; without ca_file (the system's CAs
#      do not know the test CA) the requests fail verification and are
#      retried, and on_write_error: fail stops the run (exit 1).
. "$(dirname "$0")/lib.sh" "$@"

# start_receiver NAME ARGS...: a receiver on its own port; sets RPORT.
start_receiver() {
	local name=$1
	shift
	"$PY" "$SRC/tests/integration/http_receiver.py" "$WORK/$name.port" "$@" \
		>"$WORK/$name.rx.log" 2>&1 &
	_BG_PIDS="$_BG_PIDS $!"
	wait_for 10 test -s "$WORK/$name.port" || fail "$name: the receiver did not start" \
		"$WORK/$name.rx.log"
	RPORT=$(cat "$WORK/$name.port")
}
stats() { curl -sf "http://127.0.0.1:$1/stats"; }

# system DIR SINK_CONFIG [EXTRA_COMPONENTS] [EXTRA_BINDINGS] [SOURCE_CONFIG] [RUNTIME]
system() {
	local d=$1 sink=$2 extra=${3:-} bind=${4:-"    - {from: gen.output, to: out.input}"}
	local src=${5:-"{generator: sequence, count: 3000}"} rt=${6:-}
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: httpsink
  components:
    - {name: gen, type: Source, config: $src}
    - name: out
      type: Sink
      config: $sink
$extra
  bindings:
$bind
YAML
	printf 'schema_version: "1.0.0"\nruntime:\n  api: {listen: "127.0.0.1:%s"}\n%s\n' \
		"$(free_port)" "$rt" >"$d/deployment.yaml"
}

# check_once PORT N [SKIP]: after dedup by key, the receiver holds every seq
# 1..N once except those in SKIP (a Python set expression).
check_once() {
	stats "$1" | py '
import json, sys
n, skip = int(sys.argv[1]), eval(sys.argv[2])
d = json.load(sys.stdin)
seqs = sorted(e["seq"] for e in d["events"])
want = [s for s in range(1, n + 1) if s not in skip]
if seqs != want:
    sys.exit("after dedup by key: %d events, %d distinct, want %d (missing %s..., extra %d)" % (
        len(seqs), len(set(seqs)), len(want), sorted(set(want) - set(seqs))[:5],
        len(seqs) - len(set(seqs))))
if d["mismatched_keys"] or d["no_key"]:
    sys.exit("keys: %d reused for another body, %d requests without one" % (
        d["mismatched_keys"], d["no_key"]))
' "$2" "${3:-set()}"
}

# ---- 1. NDJSON through random 503/429s, a bearer token, Retry-After ------------
printf 'tok-%s\n' "$RANDOM$RANDOM" >"$WORK/token"
chmod 600 "$WORK/token"
TOKEN=$(tr -d '\n' <"$WORK/token")
start_receiver r1 --fail 0.3 --seed 7 --token "$TOKEN" --retry-after-once
D="$WORK/s1"
system "$D" "{sink: http, url: \"http://127.0.0.1:$RPORT/ingest\", format: ndjson, max_items: 50,
        token_file: $WORK/token, retry_initial_ms: 5, retry_max_ms: 2000, headers: {X-Test: one}}"
run_acrt s1 30 run "$D"
expect_rc 0 "ndjson with 30% 503/429" "$WORK/s1.err"
check_once "$RPORT" 3000 || fail "ndjson: not every seq exactly once" "$WORK/s1.err"
ok "ndjson: every seq exactly once after dedup by key"
stats "$RPORT" | py '
import json, sys
d = json.load(sys.stdin)
st = d["statuses"]
if st.get("503", 0) == 0 or st.get("429", 0) == 0:
    sys.exit("no 503 or no 429 answered: %r" % st)
if d["auth_bad"] or d["auth_ok"] != d["requests"]:
    sys.exit("bearer token: %d requests with it, %d without" % (d["auth_ok"], d["auth_bad"]))
if d["retry_after_gap"] is None or d["retry_after_gap"] < 0.9:
    sys.exit("Retry-After: 1 not waited for: gap %r" % d["retry_after_gap"])
' || fail "ndjson: retries, token or Retry-After" "$WORK/s1.err"
ok "ndjson: 503s and 429s retried, the token on every request, Retry-After: 1 waited for"
grep -q '"msg":"POST http://127.0.0.1:[0-9]*/ingest failed: HTTP \(503\|429\); retrying batch out-0-' \
	"$WORK/s1.err" || fail "no retry logged" "$WORK/s1.err"
grep -qF "$TOKEN" "$WORK/s1.err" "$WORK/s1.out" && fail "the token was logged" "$WORK/s1.err"
ok "retries logged, the token never"

# ---- 2. json_array, max_bytes, behind a Transformer ------------------------------
start_receiver r2 --fail 0.2 --seed 11
D="$WORK/s2"
system "$D" "{sink: http, url: \"http://127.0.0.1:$RPORT/ingest\", format: json_array, max_items: 64,
        max_bytes: 2048, retry_initial_ms: 5, retry_max_ms: 50}" \
	"    - {name: tx, type: Transformer, config: {jq: '.k = (.seq % 3)'}}" \
	"    - {from: gen.output, to: tx.input}
    - {from: tx.output, to: out.input}"
run_acrt s2 30 run "$D"
expect_rc 0 "json_array" "$WORK/s2.err"
check_once "$RPORT" 3000 || fail "json_array: not every seq exactly once" "$WORK/s2.err"
ok "json_array, max_bytes 2048: every seq exactly once"

# ---- 3. a 400: the dead letter, with status and body --------------------------
start_receiver r3 --reject '"seq":77}'
D="$WORK/s3"
system "$D" "{sink: http, url: \"http://127.0.0.1:$RPORT/ingest\", max_items: 20}
      capabilities: {dead_letter: {to: dlq.input}}" \
	"    - {name: dlq, type: Sink, config: {sink: file, path: dlq.jsonl}}" \
	"    - {from: gen.output, to: out.input}" "{generator: sequence, count: 200}"
run_acrt s3 30 run "$D"
expect_rc 0 "a 400 with a dead letter" "$WORK/s3.err"
check_once "$RPORT" 200 "set(range(61, 81))" || fail "400: the other batches" "$WORK/s3.err"
py '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
seqs = sorted(r["payload"]["seq"] for r in rows)
if seqs != list(range(61, 81)):
    sys.exit("dead letters: %r" % seqs)
h = rows[0]["headers"]
if h.get("acrt-http-status") != "400" or "rejected: \"seq\":77}" not in h.get("acrt-http-body", "") \
        or "HTTP 400" not in h.get("acrt-error", "") or not h.get("acrt-idempotency-key", "").startswith("out-0-"):
    sys.exit("dead letter headers: %r" % h)
' "$D/dlq.jsonl" || fail "400: the dead letters" "$D/dlq.jsonl"
grep -q '"dead_lettered":20,' "$WORK/s3.err" || fail "400: the summary's dead letters" "$WORK/s3.err"
ok "400: the batch's 20 events in the dead letter with status, body and key; the rest once"
D="$WORK/s3b"
system "$D" "{sink: http, url: \"http://127.0.0.1:$RPORT/ingest\", max_items: 20}" "" \
	"    - {from: gen.output, to: out.input}" "{generator: sequence, count: 200}"
run_acrt s3b 30 run "$D"
expect_lost 20 "a 400 without a dead letter" "$WORK/s3b.err" unwritten
grep -q '"level":"error".*HTTP 400: rejected' "$WORK/s3b.err" || fail "400: no error line" "$WORK/s3b.err"

# ---- 4. SIGKILL and --resume ---------------------------------------------------
start_receiver r4 --fail 0.2 --seed 5
D="$WORK/s4"
N=4000
system "$D" "{sink: http, url: \"http://127.0.0.1:$RPORT/ingest\", max_items: 25, max_ms: 600000,
        retry_initial_ms: 5, retry_max_ms: 50}" "" "    - {from: gen.output, to: out.input}" \
	"{generator: sequence, count: $N, rate_per_s: 2000}" \
	"  state: {adapter: sqlite_snapshot, path: state/ck.db, checkpoint_interval_s: 1}"
stored() { grep -c '"msg":"checkpoint [0-9]* stored' "$1" 2>/dev/null || true; }
has_stored() { [ "$(stored "$1")" -ge "$2" ]; }
start_acrt s4a run "$D"
wait_alive "$PID" 20 has_stored "$WORK/s4a.err" 1 || fail "no checkpoint stored" "$WORK/s4a.err"
# 30 to 100 ms after a checkpoint: batches went out since (they will be sent
# again), and the next barrier (1 s after this one) has not reached the sink:
# a barrier whose checkpoint is not stored cuts a batch that the replay does
# not cut, whose events would then come again under another key
# (docs/COMPONENTS.md, "Sink: http").
sleep "0.$(printf '%03d' $((30 + RANDOM % 70)))"
kill -KILL "$PID"
wait_exit "$PID" 10 || fail "still running after SIGKILL"
before=$(stats "$RPORT" | py 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
[ "$before" -lt "$N" ] || fail "the first run delivered everything before the kill"
run_acrt s4b 30 run "$D" --resume
expect_rc 0 "resumed after SIGKILL" "$WORK/s4b.err"
grep -q '"msg":"resuming from checkpoint' "$WORK/s4b.err" || fail "did not resume" "$WORK/s4b.err"
check_once "$RPORT" "$N" || fail "SIGKILL + --resume: not every seq once after dedup by key" \
	"$WORK/s4b.err"
dups=$(stats "$RPORT" | py 'import json,sys; print(json.load(sys.stdin)["dup_keys"])')
[ "$dups" -ge 1 ] || fail "no batch was sent again after --resume (the key check saw nothing)"
ok "SIGKILL after $before events, --resume: every seq once after dedup by key ($dups batches resent with their key)"

chmod 644 "$WORK/token"
D="$WORK/s5"
system "$D" "{sink: http, url: \"http://127.0.0.1:$RPORT/\", token_file: $WORK/token}"
run_acrt s5 30 run "$D"
expect_rc 1 "a token file open to others" "$WORK/s5.err"
grep -q 'is open to its group or others (mode 644)' "$WORK/s5.err" || fail "no reason" "$WORK/s5.err"
grep -qF "$TOKEN" "$WORK/s5.err" && fail "the token was logged" "$WORK/s5.err"
ok "a token file of mode 644 refused"

# ---- 5. the receiver down, then up ---------------------------------------------
DOWN=$(free_port)
D="$WORK/s6"
system "$D" "{sink: http, url: \"http://127.0.0.1:$DOWN/ingest\", max_items: 10, retry_initial_ms: 20,
        retry_max_ms: 100}" "" "    - {from: gen.output, to: out.input}
    - {from: gen.output, to: seen.input}" "{generator: sequence, count: 5000}"
sed -i 's/^  bindings:/    - {name: seen, type: Sink, config: {sink: file, path: seen.jsonl}}\n  bindings:/' \
	"$D/architecture.yaml"
API=$(sed -n 's/.*listen: "\(.*\)".*/\1/p' "$D/deployment.yaml")
start_acrt s6 run "$D"
firing() { grep -q "\"msg\":\"alert 'sink_write_blocked' firing" "$WORK/s6.err"; }
wait_alive "$PID" 20 firing || fail "down: no sink_write_blocked alert" "$WORK/s6.err"
werr() {
	curl -sf -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" "http://$API/metrics" |
		grep -q '^acrt_component_write_errors_total{component="out"} [1-9]'
}
wait_alive "$PID" 10 werr || fail "down: no write errors in /metrics" "$WORK/s6.err"
counted() {
	curl -sf -H "Authorization: Bearer $(cat "$D/.acrt/read.token")" \
		"http://$API/api/v1/components/out" | py '
import json, sys
c = json.load(sys.stdin).get("counters", {})
sys.exit(0 if c.get("http_retries", 0) > 0 and c.get("http_network_errors", 0) > 0 else 1)'
}
wait_alive "$PID" 10 counted || fail "down: no http_retries in the API" "$WORK/s6.err"
grep -q '"msg":"POST http://127.0.0.1:[0-9]*/ingest failed: .*; retrying batch' "$WORK/s6.err" ||
	fail "down: no retry logged" "$WORK/s6.err"
[ "$(lines "$D/seen.jsonl")" -lt 5000 ] || fail "down: the source was not held back" "$WORK/s6.err"
ok "receiver down: retried, alert firing, write errors in /metrics, http_retries in the API, the source held back"
start_receiver r6 --port "$DOWN"
wait_exit "$PID" 30 || fail "down: did not end once the receiver came up" "$WORK/s6.err"
expect_rc 0 "the receiver up again" "$WORK/s6.err"
check_once "$DOWN" 5000 || fail "down, then up: not every seq once" "$WORK/s6.err"
grep -q '"msg":"POST http://127.0.0.1:[0-9]*/ingest goes through again after' "$WORK/s6.err" ||
	fail "down: no recovery logged" "$WORK/s6.err"
ok "receiver up: every seq once, the recovery logged"

# ---- 6. https ------------------------------------------------------------------
T="$WORK/tls"
mkdir -p "$T"
(
	cd "$T"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj /CN=acrt-test-ca
	openssl req -newkey rsa:2048 -nodes -keyout key.pem -out srv.csr -subj /CN=127.0.0.1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem \
		-days 2 -extfile srv.ext
) >"$WORK/openssl.log" 2>&1 || fail "openssl could not generate the certificates" "$WORK/openssl.log"
start_receiver r7 --tls "$T/cert.pem" "$T/key.pem"
D="$WORK/s7"
system "$D" "{sink: http, url: \"https://127.0.0.1:$RPORT/ingest\", ca_file: $T/ca.pem, max_items: 50}" \
	"" "    - {from: gen.output, to: out.input}" "{generator: sequence, count: 500}"
run_acrt s7 30 run "$D"
expect_rc 0 "https with ca_file" "$WORK/s7.err"
py 'import json, sys, ssl, urllib.request
c = ssl.create_default_context(cafile=sys.argv[2])
d = json.load(urllib.request.urlopen("https://127.0.0.1:%s/stats" % sys.argv[1], context=c))
seqs = sorted(e["seq"] for e in d["events"])
sys.exit(0 if seqs == list(range(1, 501)) else "https: %d events" % len(seqs))' "$RPORT" "$T/ca.pem" ||
	fail "https: not every seq once" "$WORK/s7.err"
ok "https with ca_file: every seq once"
D="$WORK/s8"
system "$D" "{sink: http, url: \"https://127.0.0.1:$RPORT/ingest\", max_items: 50, retry_initial_ms: 20,
        on_write_error: fail, write_error_timeout_ms: 300}" \
	"" "    - {from: gen.output, to: out.input}" "{generator: sequence, count: 500}"
run_acrt s8 30 run "$D"
expect_rc 1 "https without the CA, on_write_error: fail" "$WORK/s8.err"
grep -q '"msg":"POST https://127.0.0.1:[0-9]*/ingest failed: SSL peer certificate or SSH remote key was not OK' \
	"$WORK/s8.err" || fail "https without the CA: no verification failure logged" "$WORK/s8.err"
grep -q 'failing for [0-9]* ms (on_write_error: fail)' "$WORK/s8.err" ||
	fail "https without the CA: no reason for stopping" "$WORK/s8.err"
py "$PY_PRELUDE"'
r = [r for r in log_records(sys.argv[1]) if "exit_status" in r][-1]["by_component"]["out"]
if r.get("failed", 0) + r.get("unwritten", 0) != 50:
    die("the batch given up should count 50 events failed or unwritten: %r" % r)
' "$WORK/s8.err" || fail "https without the CA: the summary" "$WORK/s8.err"
ok "https without the CA: verification fails, retried, on_write_error: fail stops the run, the batch of 50 counted"
pass
