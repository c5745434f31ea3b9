#!/usr/bin/env python3
"""gen_access_log.py - deterministic web access-log JSON lines (~235 bytes each).

    gen_access_log.py N [SEED] > access.jsonl

The same N and SEED always give the same bytes (a fixed LCG, no `random`), so
benchmark rows and their reference outputs are reproducible on any machine.
Numbers are written as a log shipper writes them: integers, and decimals with
three places (`"latency":29.410`); a float round trip would drop such trailing
zeros, so an exact pipeline shows here.
"""
import sys

METHODS = ["GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"]
PATHS = ["/", "/login", "/logout", "/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/users/{id}",
         "/api/v1/cart", "/static/app.js", "/static/app.css", "/health", "/search", "/checkout"]
STATUS = [200] * 40 + [201] * 4 + [204] * 2 + [301, 302, 304, 304] + [400, 401, 403, 404, 404, 404] + \
         [500, 502, 503, 504]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1",
          "curl/7.88.1", "Go-http-client/1.1", "python-requests/2.31.0"]


def main():
    n = int(sys.argv[1])
    state = int(sys.argv[2]) if len(sys.argv) > 2 else 42

    def rnd(m):
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return (state >> 33) % m

    out = sys.stdout
    buf = []
    ts = 1733300000000
    for i in range(n):
        ts += rnd(200)
        p = PATHS[rnd(len(PATHS))].replace("{id}", str(rnd(100000)))
        lat = rnd(900000)
        line = ('{"ts":%d.%03d,"host":"web-%02d","method":"%s","path":"%s","status":%d,'
                '"latency":%d.%03d,"bytes":%d,"ip":"10.%d.%d.%d","ua":"%s","req_id":"%08x-%04x-%04x-%04x-%012x"}'
                % (ts // 1000, ts % 1000, rnd(16), METHODS[rnd(len(METHODS))], p,
                   STATUS[rnd(len(STATUS))], lat // 1000, lat % 1000, rnd(2000000),
                   rnd(256), rnd(256), rnd(256), AGENTS[rnd(len(AGENTS))], rnd(1 << 31), rnd(65536), rnd(65536), rnd(65536),
                   rnd(1 << 31) * 65536 + rnd(65536)))
        buf.append(line)
        if len(buf) == 4096:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
