#!/usr/bin/env bash
# TLS on the HTTP API (runtime.api.tls, docs/API.md): certificates generated
# here with openssl (a CA, a server certificate for 127.0.0.1, a client
# certificate, and one from another CA). With cert+key: 200 over https with the
# token (curl --cacert), 401 without it, plain http refused. With client_ca: no
# client certificate -> 403, a certificate from another CA -> refused, the
# client certificate signed by client_ca -> 200. An unreadable PEM file: one
# line naming it, exit 1.
. "$(dirname "$0")/lib.sh" "$@"

for t in curl openssl; do
	command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh installs it)"
done

api_url() { grep -o 'api listening on https\?://[^ "]*' "$1" | head -n1 | sed 's|.*on ||'; }
has_url() { [ -n "$(api_url "$1")" ]; }
code() {
	local u=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$u"
}

D="$WORK/sys"
T="$D/tls"
mkdir -p "$T"
(
	cd "$T"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj /CN=acrt-test-ca
	openssl req -newkey rsa:2048 -nodes -keyout key.pem -out srv.csr -subj /CN=127.0.0.1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem \
		-days 2 -extfile srv.ext
	openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out client.pem -days 2
	# A client certificate from a CA the server does not trust.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 \
		-subj /CN=intruder
) >"$WORK/openssl.log" 2>&1 || fail "openssl could not generate the certificates" "$WORK/openssl.log"
ok "generated a CA, a server and a client certificate"

cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: tlstest
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 200}}
    - {name: sink, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: sink.input}
YAML

# deploy TLS_MAP: a deployment on a free port with runtime.api.tls = TLS_MAP.
deploy() {
	PORT=$(free_port)
	cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: tlstest
runtime:
  api: {listen: "127.0.0.1:$PORT", tls: $1}
YAML
}

stop() {
	kill -TERM "$PID"
	wait_exit "$PID" 20 || fail "acrt did not stop after SIGTERM"
}

# ---- 1. server certificate only ---------------------------------------------
deploy '{cert: tls/cert.pem, key: tls/key.pem}'
start_acrt tls run "$D"
wait_alive "$PID" 20 has_url "$WORK/tls.err" || fail "no 'api listening' line" "$WORK/tls.err"
URL=$(api_url "$WORK/tls.err")
[ "$URL" = "https://127.0.0.1:$PORT" ] || fail "listening on $URL, expected https://127.0.0.1:$PORT" "$WORK/tls.err"
ok "api listening on $URL"
R=$(cat "$D/.acrt/read.token")
AR=(-H "Authorization: Bearer $R")
c=$(code "$URL/metrics" --cacert "$T/ca.pem" "${AR[@]}")
[ "$c" = 200 ] || fail "https with the token and --cacert: $c, expected 200" "$WORK/tls.err"
c=$(code "$URL/api/v1/system" --cacert "$T/ca.pem" "${AR[@]}")
[ "$c" = 200 ] || fail "https /api/v1/system: $c, expected 200"
ok "https with the read token: 200"
c=$(code "$URL/metrics" --cacert "$T/ca.pem")
[ "$c" = 401 ] || fail "https without a token: $c, expected 401"
ok "https without a token: 401"
c=$(code "$URL/metrics" "${AR[@]}")
[ "$c" = 000 ] || fail "https without trusting the CA: $c, expected a TLS failure"
ok "the server certificate is not trusted without --cacert"
c=$(code "http://127.0.0.1:$PORT/metrics" "${AR[@]}")
[ "$c" != 200 ] || fail "plain http: 200, expected it refused"
ok "plain http refused (curl: $c)"
[ "$(cat "$D/.acrt/api.addr")" = "$URL" ] || fail "api.addr does not hold $URL"
stop
[ "$RC" = 0 ] || fail "acrt exited $RC after SIGTERM" "$WORK/tls.err"
[ ! -e "$D/.acrt/api.addr" ] || fail "api.addr left behind at stop"

# ---- 2. client certificates ---------------------------------------------------
deploy '{cert: tls/cert.pem, key: tls/key.pem, client_ca: tls/ca.pem}'
start_acrt mtls run "$D"
wait_alive "$PID" 20 has_url "$WORK/mtls.err" || fail "no 'api listening' line" "$WORK/mtls.err"
URL=$(api_url "$WORK/mtls.err")
R=$(cat "$D/.acrt/read.token")
AR=(-H "Authorization: Bearer $R")
c=$(code "$URL/metrics" --cacert "$T/ca.pem" "${AR[@]}")
[ "$c" = 403 ] || fail "no client certificate: $c, expected 403"
ok "without a client certificate: refused ($c)"
c=$(code "$URL/metrics" --cacert "$T/ca.pem" "${AR[@]}" --cert "$T/other.pem" --key "$T/other.key")
[ "$c" = 403 ] || fail "a client certificate from another CA: $c, expected 403"
ok "a client certificate from another CA: refused ($c)"
c=$(code "$URL/metrics" --cacert "$T/ca.pem" "${AR[@]}" --cert "$T/client.pem" --key "$T/client.key")
[ "$c" = 200 ] || fail "the client certificate signed by client_ca: $c, expected 200" "$WORK/mtls.err"
c=$(code "$URL/metrics" --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key")
[ "$c" = 401 ] || fail "client certificate without a token: $c, expected 401"
ok "the client certificate signed by client_ca: 200 with the token, 401 without"
stop

# ---- 3. unreadable files --------------------------------------------------------
deploy '{cert: tls/nosuch.pem, key: tls/key.pem}'
run_acrt bad 20 validate "$D"
expect_rc 2 "acrt validate: a missing certificate file" "$WORK/bad.err"
grep -q 'deployment.yaml:[0-9]*:[0-9]*: runtime.api.tls.cert: cannot read .*tls/nosuch.pem' "$WORK/bad.err" ||
	fail "the error does not name deployment.yaml:line:col and tls/nosuch.pem" "$WORK/bad.err"
run_acrt bad 20 run "$D"
expect_rc 2 "acrt run: a missing certificate file" "$WORK/bad.err"
deploy '{cert: tls/cert.pem, key: tls/srv.ext}'
run_acrt bad2 20 run "$D"
expect_rc 1 "a key file that is not PEM" "$WORK/bad2.err"
grep -q 'tls/srv.ext' "$WORK/bad2.err" || fail "the error does not name tls/srv.ext" "$WORK/bad2.err"
ok "unreadable TLS files: a missing one fails validation (exit 2), one that is not PEM fails the run (exit 1), each named"
pass
