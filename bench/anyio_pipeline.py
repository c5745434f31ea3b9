"""anyio_pipeline.py - the pipeline as the original Python runtime ran it.

Three anyio tasks wired by anyio.create_memory_object_stream(1024):
source sends N dict events {"seq": i}; transform builds a new dict with an
extra key; sink counts. Run with Debian's /usr/bin/python3 (anyio 3.6).

Usage: anyio_pipeline.py [N]   (default 500000)
Prints one JSON line: {"n":..,"seconds":..,"events_per_s":..,"count":..,"ok":..}
and exits 0 when the sink saw N events, else 1.
"""
import json
import sys
import time

import anyio


async def pipeline(n):
    src_tx, src_rx = anyio.create_memory_object_stream(1024)
    out_tx, out_rx = anyio.create_memory_object_stream(1024)
    seen = {"count": 0, "sum": 0}

    async def source():
        async with src_tx:
            for i in range(n):
                await src_tx.send({"seq": i})

    async def transform():
        async with src_rx, out_tx:
            async for ev in src_rx:
                await out_tx.send({**ev, "tag": "x"})

    async def sink():
        async with out_rx:
            async for ev in out_rx:
                seen["count"] += 1
                seen["sum"] += ev["seq"]

    async with anyio.create_task_group() as tg:
        tg.start_soon(sink)
        tg.start_soon(transform)
        tg.start_soon(source)
    return seen


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
    t0 = time.perf_counter()
    seen = anyio.run(pipeline, n)
    dt = time.perf_counter() - t0
    ok = seen["count"] == n and seen["sum"] == n * (n - 1) // 2
    print(json.dumps({"n": n, "seconds": round(dt, 6),
                      "events_per_s": round(n / dt, 1) if dt > 0 else 0.0,
                      "count": seen["count"], "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
