#!/usr/bin/env bash
# bench/run.sh - run the acrt benchmarks (what `make bench` calls).
#
#   bash bench/run.sh [BUILD_DIR]        default BUILD_DIR: build
#
# Prints a table on stdout and writes BUILD_DIR/bench/results.json (and
# state.json, json.json, endpoint.json for those rows alone).
# Environment:
#   BENCH_N=20000000   events for the native and zmq rows (builtin_json and
#                      chain10 use N/4)
#   BENCH_QUICK=1      N=2,000,000 and a shorter Python row / memory probe
#   BENCH_REPS=3       repetitions of each throughput row (best and median kept)
#   BENCH_PY_N=500000  events for the Python anyio row
#   BENCH_JSON_N=1000000  access-log lines for the json_* rows (BENCH_QUICK: 200000)
#   BENCH_ONLY=a,b     run only these rows (native, builtin_json, python_anyio,
#                      zmq_inproc, chain10, memory_flat, state_*, json_access_job,
#                      json_passthrough, json_aggregate, json_event_time, filter_pass,
#                      filter_fail, endpoint, http_sink, postgres, hop,
#                      scale_out, ...)
#   BENCH_PG_N=200000  events for the postgres row (bench/postgres.py)
#   BENCH_HOP_N=1000000  access-log lines for the hop rows (bench/hop.py)
#   BENCH_SCALE_N=200000 access-log lines for the scale_out rows (bench/scale_out.py)
#   BENCH_STRICT=1     also exit 1 when a performance target fails (by default
#                      only a failed or incorrect run makes the exit status 1)
#
# The runner is Python on purpose: Debian's /usr/bin/python3 (the pyenv python3
# on PATH lacks anyio), which also gives exact per-child peak RSS via wait4().
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-build}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
rc=0
"$PY" "$here/bench.py" "$build" || rc=$?
# The APIEndpoint's HTTP ingress under wrk (its own script: BUILD_DIR/bench/endpoint.json).
case ",${BENCH_ONLY:-endpoint}," in
*,endpoint,*)
	echo
	bash "$here/endpoint.sh" "$build" || rc=1
	;;
esac
# The http sink against curl posting the same batches (BUILD_DIR/bench/http_sink.json).
case ",${BENCH_ONLY:-http_sink}," in
*,http_sink,*)
	echo
	"$PY" "$here/http_sink.py" "$build" || rc=1
	;;
esac
# The postgres sink against psql's \copy of the same rows (BUILD_DIR/bench/postgres.json).
case ",${BENCH_ONLY:-postgres}," in
*,postgres,*)
	echo
	"$PY" "$here/postgres.py" "$build" || rc=1
	;;
esac
# Two nodes over NATS JetStream and Redis Streams against their plain clients
# (its own script: BUILD_DIR/bench/hop.json).
case ",${BENCH_ONLY:-hop}," in
*,hop,*)
	echo
	"$PY" "$here/hop.py" "$build" || rc=1
	;;
esac
# A slow transform on one node, then on two sharing its input
# (its own script: BUILD_DIR/bench/scale_out.json).
case ",${BENCH_ONLY:-scale_out}," in
*,scale_out,*)
	echo
	"$PY" "$here/scale_out.py" "$build" || rc=1
	;;
esac
exit "$rc"
