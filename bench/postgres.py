#!/usr/bin/env python3
"""bench/postgres.py - the postgres sink's throughput against psql's \\copy (issue 18).

    python3 bench/postgres.py [BUILD_DIR]          default BUILD_DIR: build

Starts a PostgreSQL 15 server of its own (initdb in BUILD_DIR/bench/postgres/,
trust auth on a free loopback port; as root the server runs as user postgres,
which PostgreSQL requires; the server's defaults otherwise, fsync on), then,
in the same run:
  - acrt: `acrt run --quiet` of Source{sequence, N events of ~190 bytes} ->
    Sink{sink: postgres, table, max_items: B} (insert-only: COPY batches of B
    rows, one transaction each, with the position row); wall time of the
    process, start-up and connection included, as every row of bench.py;
  - acrt_upsert: the same with `key: seq` (COPY into the staging table, then
    INSERT ... ON CONFLICT DO UPDATE);
  - psql: `psql -c "\\copy TABLE (event) FROM FILE"` of the same rows (the
    events as a file Sink writes them, in COPY text form): one COPY, one
    transaction; wall time of psql.
Each table is emptied before each run and must then hold exactly N rows, else
the row fails (exit 1). Best of BENCH_REPS runs each. Prints one line and
writes BUILD_DIR/bench/postgres.json.

Environment: BENCH_PG_N=200000 events (BENCH_QUICK: 50000), BENCH_PG_BATCH=1000,
BENCH_REPS=3.
"""
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time

build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
acrt = os.path.join(build, "acrt")
quick = os.environ.get("BENCH_QUICK") == "1"
N = int(os.environ.get("BENCH_PG_N", "50000" if quick else "200000"))
B = int(os.environ.get("BENCH_PG_BATCH", "1000"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
PG_BIN = "/usr/lib/postgresql/15/bin"
out = os.path.join(build, "bench", "postgres")
PAYLOAD = ('{msg: "GET /api/v1/orders/12345?expand=items HTTP/1.1 200 1534 Mozilla/5.0 '
           '(X11; Linux x86_64) AppleWebKit/537.36", host: web-17}')


def die(msg):
    print("postgres bench: %s" % msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def as_pg(argv):
    """argv as the server's user: postgres when we are root."""
    return (["runuser", "-u", "postgres", "--"] + argv) if os.getuid() == 0 else argv


def blueprint(d, sink):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "architecture.yaml"), "w") as f:
        f.write('schema_version: "1.0.0"\nsystem:\n  name: bench_postgres\n  components:\n'
                "    - {name: gen, type: Source, config: {generator: sequence, count: %d, "
                "payload: %s}}\n    - {name: out, type: Sink, config: %s}\n"
                "  bindings:\n    - {from: gen.output, to: out.input}\n" % (N, PAYLOAD, sink))
    with open(os.path.join(d, "deployment.yaml"), "w") as f:
        f.write('schema_version: "1.0.0"\nruntime: {api: {listen: "127.0.0.1:%d"}}\n'
                % free_port())


def main():
    if not os.access(acrt, os.X_OK):
        die("%s is missing (build first: make)" % acrt)
    if not os.access(os.path.join(PG_BIN, "initdb"), os.X_OK) or shutil.which("psql") is None:
        die("postgresql 15 is missing (scripts/install-deps.sh)")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    pgdir = os.path.join(out, "pg")
    os.makedirs(pgdir)
    if os.getuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(pgdir, pw.pw_uid, pw.pw_gid)
        # the server's user must reach its directory
        for d in (out, os.path.dirname(out), build):
            os.chmod(d, os.stat(d).st_mode | 0o111)
    port = free_port()
    log = open(os.path.join(out, "server.out"), "wb")
    subprocess.run(as_pg([os.path.join(PG_BIN, "initdb"), "-D", os.path.join(pgdir, "data"),
                          "-U", "acrt", "-E", "UTF8", "--auth=trust"]),
                   check=True, stdout=log, stderr=log)
    subprocess.run(as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(pgdir, "data"),
                          "-l", os.path.join(pgdir, "server.log"), "-w", "-t", "30", "-o",
                          "-p %d -k %s -c listen_addresses=127.0.0.1" % (port, pgdir),
                          "start"]), check=True, stdout=log, stderr=log)
    dsn = "host=127.0.0.1 port=%d dbname=postgres user=acrt" % port
    psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "acrt", "-d", "postgres",
            "-XAtq", "-v", "ON_ERROR_STOP=1", "-c"]

    def sql(q):
        return subprocess.run(psql + [q], check=True, capture_output=True,
                              text=True).stdout.strip()

    try:
        # The rows: the events' bytes as a file Sink writes them, as COPY text.
        fdir = os.path.join(out, "file")
        blueprint(fdir, "{sink: file, path: events.jsonl}")
        subprocess.run([acrt, "run", "--quiet", fdir], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(os.path.join(fdir, "events.jsonl"), "rb") as f:
            lines = f.read().splitlines()
        if len(lines) != N:
            die("the file sink wrote %d events, not %d" % (len(lines), N))
        copyf = os.path.join(out, "rows.copy")
        with open(copyf, "wb") as f:
            for l in lines:
                f.write(l.replace(b"\\", b"\\\\").replace(b"\t", b"\\t") + b"\n")
        sql("CREATE TABLE b_psql (id bigserial PRIMARY KEY, event jsonb NOT NULL)")
        blueprint(os.path.join(out, "acrt"),
                  '{sink: postgres, dsn: "%s", table: b_acrt, max_items: %d}' % (dsn, B))
        blueprint(os.path.join(out, "acrt_upsert"),
                  '{sink: postgres, dsn: "%s", table: b_upsert, key: seq, max_items: %d}'
                  % (dsn, B))

        def one(side, argv, table, i):
            sql("DROP TABLE IF EXISTS %s; DELETE FROM acrt_positions WHERE tbl = '%s'"
                % (table, table) if side != "psql" else "TRUNCATE %s" % table)
            t0 = time.monotonic()
            with open(os.path.join(out, "%s.%d.err" % (side, i)), "wb") as err:
                p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=err)
            wall = time.monotonic() - t0
            got = int(sql("SELECT count(*) FROM %s" % table)) if p.returncode == 0 else 0
            return {"wall_s": wall, "rows": got, "rc": p.returncode, "rows_per_s": N / wall,
                    "ok": p.returncode == 0 and got == N}

        sql("CREATE TABLE IF NOT EXISTS acrt_positions (tbl text, component text, replica int, "
            "epoch bigint NOT NULL, pos bigint NOT NULL, PRIMARY KEY (tbl, component, replica))")
        sides = {"acrt": [], "acrt_upsert": [], "psql": []}
        for i in range(REPS):
            for side in ("acrt", "acrt_upsert"):
                table = {"acrt": "b_acrt", "acrt_upsert": "b_upsert"}[side]
                sides[side].append(one(side, [acrt, "run", "--quiet", os.path.join(out, side)],
                                       table, i))
            sides["psql"].append(one("psql", psql + ["\\copy b_psql (event) FROM '%s'" % copyf],
                                     "b_psql", i))
    finally:
        subprocess.run(as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(pgdir, "data"),
                              "-m", "fast", "-w", "stop"]), stdout=log, stderr=log)
    res = {"row": "postgres", "rows": N, "batch": B, "reps": sides,
           "what": "Source -> Sink{postgres, max_items %d} (insert; upsert by seq) vs psql "
                   "\\copy of the same rows, same server (PostgreSQL 15, defaults, loopback TCP)"
                   % B}
    problems = []
    for side, reps in sides.items():
        good = [r for r in reps if r["ok"]]
        if len(good) != len(reps):
            problems.append("%s: %r" % (side, [r for r in reps if not r["ok"]]))
        res[side + "_best_rows_per_s"] = max((r["rows_per_s"] for r in good), default=0.0)
    res["ok"] = not problems
    res["problems"] = problems
    dest = os.path.join(build, "bench", "postgres.json")
    with open(dest, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    a, u, c = (res["acrt_best_rows_per_s"], res["acrt_upsert_best_rows_per_s"],
               res["psql_best_rows_per_s"])
    print("postgres: acrt %.0f rows/s (upsert %.0f), psql \\copy %.0f rows/s (%.2fx) for %d "
          "rows in batches of %d, best of %d%s"
          % (a, u, c, a / c if c else 0.0, N, B, REPS,
             "" if not problems else "  FAIL: " + "; ".join(problems)))
    print("  -> %s" % dest)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
