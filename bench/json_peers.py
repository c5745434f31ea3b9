#!/usr/bin/env python3
"""json_peers.py - the Python peer of the bench's JSON rows (the speed peer).

    json_peers.py job|passthrough|aggregate IN > OUT

Plain `json.loads` / `json.dumps` (floats, compact separators), one line at a
time, the same jobs as the acrt blueprints and the jq programs:

  job          select(.status >= 500) | .env = "prod" | .duration_ms = .latency
               | del(.latency) | del(.ua)
  passthrough  every line parsed and written again
  aggregate    per .path: {"key", "latency_count", "latency_avg"}, sorted by key
               (like jq's group_by)

Floats make it fast, not exact: 29.410 comes out as 29.41 (the same value).
bench.py checks this output's values against the exact expectation and reports
any mismatch as information, not as a failure.
"""
import json
import sys


def main():
    mode, path = sys.argv[1], sys.argv[2]
    loads = json.loads
    enc = json.JSONEncoder(separators=(",", ":"))
    dumps = enc.encode
    out = []
    write = sys.stdout.write
    with open(path, "r", encoding="utf-8") as f:
        if mode == "job":
            for line in f:
                o = loads(line)
                if o["status"] >= 500:
                    o["env"] = "prod"
                    o["duration_ms"] = o.pop("latency")
                    o.pop("ua", None)
                    out.append(dumps(o))
                    if len(out) == 4096:
                        out.append("")
                        write("\n".join(out))
                        out.clear()
        elif mode == "passthrough":
            for line in f:
                out.append(dumps(loads(line)))
                if len(out) == 4096:
                    out.append("")
                    write("\n".join(out))
                    out.clear()
        elif mode == "aggregate":
            groups = {}
            for line in f:
                o = loads(line)
                g = groups.get(o["path"])
                if g is None:
                    g = groups[o["path"]] = [0, 0.0]
                g[0] += 1
                g[1] += o["latency"]
            for key in sorted(groups):
                n, total = groups[key]
                out.append(dumps({"key": key, "latency_count": n, "latency_avg": total / n}))
        else:
            sys.exit("json_peers.py: unknown mode %r" % mode)
    if out:
        out.append("")
        write("\n".join(out))


if __name__ == "__main__":
    main()
