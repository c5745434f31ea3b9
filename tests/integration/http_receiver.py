#!/usr/bin/env python3
"""http_receiver.py - a small HTTP receiver for the http sink's tests and bench
(tests/integration/test_http_sink.sh, bench/http_sink.sh). Standard library only.

    http_receiver.py PORT_FILE [--seed N] [--fail P] [--reject SUBSTR]
                     [--retry-after-once] [--token TOKEN] [--count-only] [--port N]
                     [--tls CERT KEY]

Listens on 127.0.0.1 on port N (default: one the kernel picks) and writes the
port to PORT_FILE; with --tls, HTTPS with that certificate.
POST /...: a batch (NDJSON, or a JSON array when the Content-Type says
application/json). Answers, in this order:
  - 400 with body "rejected: SUBSTR" when the body holds --reject SUBSTR;
  - with --retry-after-once, the first batch is answered 429 with
    "Retry-After: 1" once (the gap to its retry is recorded);
  - with probability --fail (seeded by --seed), 503 or 429 (half each; the 429s
    carry "Retry-After: 0");
  - else 200: the batch is accepted.
Accepted batches are kept by Idempotency-Key: a key seen again is a duplicate
(counted; its body must equal the first one's, else it counts as a mismatch)
and its events are not counted twice.
GET /stats: a JSON object with the counts (below); with --count-only only
requests, batches and events are counted (the bench).
"""
import argparse
import json
import os
import random
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.requests = 0
        self.statuses = {}
        self.batches = {}  # key -> body (accepted)
        self.events = []  # accepted events, deduplicated by key
        self.dup_keys = 0
        self.mismatched_keys = 0
        self.no_key = 0
        self.auth_ok = 0
        self.auth_bad = 0
        self.first_429_at = None  # --retry-after-once: (key, time)
        self.retry_after_gap = None
        self.count_events = 0
        self.count_batches = 0


def parse(body, ctype):
    text = body.decode("utf-8")
    if ctype.startswith("application/json"):
        return json.loads(text)
    return [json.loads(line) for line in text.split("\n") if line]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and
        # the client's delayed ACK add 40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):  # quiet
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.st
        with st.lock:
            out = {
                "requests": st.requests,
                "statuses": st.statuses,
                "keys": len(st.batches),
                "events": st.events if not st.args.count_only else None,
                "count_events": st.count_events,
                "count_batches": st.count_batches,
                "dup_keys": st.dup_keys,
                "mismatched_keys": st.mismatched_keys,
                "no_key": st.no_key,
                "auth_ok": st.auth_ok,
                "auth_bad": st.auth_bad,
                "retry_after_gap": st.retry_after_gap,
            }
        self.reply(200, json.dumps(out).encode(), [("Content-Type", "application/json")])

    def do_POST(self):
        st, a = self.server.st, self.server.st.args
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        key = self.headers.get("Idempotency-Key")
        if a.count_only:
            with st.lock:
                st.requests += 1
                st.count_batches += 1
                st.count_events += body.count(b"\n")
            self.reply(200)
            return
        with st.lock:
            st.requests += 1
            if key is None:
                st.no_key += 1
            if a.token is not None:
                if self.headers.get("Authorization") == "Bearer " + a.token:
                    st.auth_ok += 1
                else:
                    st.auth_bad += 1
            code, extra = 200, []
            if a.reject is not None and a.reject.encode() in body:
                code = 400
            elif a.retry_after_once and st.retry_after_gap is None:
                if st.first_429_at is None:
                    st.first_429_at = (key, time.monotonic())
                    code, extra = 429, [("Retry-After", "1")]
                elif st.first_429_at[0] == key:
                    st.retry_after_gap = time.monotonic() - st.first_429_at[1]
            if code == 200 and a.fail > 0 and st.rng.random() < a.fail:
                code = 503 if st.rng.random() < 0.5 else 429
                if code == 429:
                    extra = [("Retry-After", "0")]
            st.statuses[str(code)] = st.statuses.get(str(code), 0) + 1
            if code == 200:
                if key in st.batches:
                    st.dup_keys += 1
                    if st.batches[key] != body:
                        st.mismatched_keys += 1
                else:
                    st.batches[key] = body
                    st.events.extend(parse(body, self.headers.get("Content-Type", "")))
        if code == 400:
            self.reply(400, ("rejected: %s" % a.reject).encode(), [("Content-Type", "text/plain")])
        else:
            self.reply(code, b"ok" if code == 200 else b"try later", extra)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port_file")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fail", type=float, default=0.0)
    p.add_argument("--reject")
    p.add_argument("--retry-after-once", action="store_true")
    p.add_argument("--token")
    p.add_argument("--count-only", action="store_true")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.st = State(args)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
