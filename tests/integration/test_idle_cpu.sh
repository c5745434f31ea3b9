#!/usr/bin/env bash
# An idle system costs no CPU: `source: stdin` reading a FIFO that stays open
# without data, `sink: stdout`. Once it runs (one line went through), its
# utime+stime over a 2 s window must stay under 5% of one core (no busy
# polling in the source, the streams or the supervisor). Closing the FIFO is
# end of input: exit 0 with every line written. Chaining on and off.
. "$(dirname "$0")/lib.sh" "$@"

HZ=$(getconf CLK_TCK)
[ "${HZ:-0}" -gt 0 ] || fail "getconf CLK_TCK gave '$HZ'"

# cpu_ticks PID: utime + stime (fields 14 and 15 of /proc/PID/stat), in ticks.
cpu_ticks() {
	sed -e 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# idle_case CHAINING
idle_case() {
	local chaining=$1 d="$WORK/chaining-$1" name="idle-chaining-$1"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: idle
  components:
    - {name: input, type: Source, config: {source: stdin}}
    - {name: output, type: Sink, config: {sink: stdout}}
  bindings:
    - {from: input.output, to: output.input}
YAML
	cat >"$d/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: idle
runtime: {chaining: $chaining}
YAML
	mkfifo "$d/in.fifo"
	# The test holds the FIFO open for writing (read-write, so the open does
	# not block) and writes nothing; acrt must not inherit that descriptor, or
	# closing it would never be end of input.
	exec 3<>"$d/in.fifo"
	"$ACRT" run "$d" <"$d/in.fifo" >"$WORK/$name.out" 2>"$WORK/$name.err" 3>&- &
	PID=$!
	_REAPED=""
	_BG_PIDS="$_BG_PIDS $PID"

	say "chaining $chaining: stdin (an open, silent FIFO) -> stdout"
	echo '{"n": 1}' >&3
	wait_alive "$PID" 15 has_lines "$WORK/$name.out" 1 ||
		fail "chaining $chaining: the first line did not reach stdout within 15 s" "$WORK/$name.err"
	ok "chaining $chaining: running: the first line went through"

	# A measurement window, not a wait for something to happen.
	local t0 c0 t1 c1
	t0=$(date +%s%N)
	c0=$(cpu_ticks "$PID")
	sleep 2
	c1=$(cpu_ticks "$PID")
	t1=$(date +%s%N)
	alive "$PID" || fail "chaining $chaining: acrt exited while idle" "$WORK/$name.err"
	py '
import sys
ticks, hz, ns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
share = ticks / hz / (ns / 1e9)
print("%d ticks in %.2f s: %.1f%% of one core" % (ticks, ns / 1e9, 100 * share))
sys.exit(0 if share < 0.05 else 1)
' "$((c1 - c0))" "$HZ" "$((t1 - t0))" >"$d/cpu" ||
		fail "chaining $chaining: acrt busy while idle: $(cat "$d/cpu"), expected under 5%" "$WORK/$name.err"
	ok "chaining $chaining: idle CPU: $(cat "$d/cpu")"

	echo '{"n": 2}' >&3
	exec 3>&-
	wait_exit "$PID" 10 || fail "chaining $chaining: acrt did not exit within 10 s of the FIFO's end" "$WORK/$name.err"
	expect_rc 0 "chaining $chaining: acrt at end of input" "$WORK/$name.err"
	py "$PY_PRELUDE"'
got = load(sys.argv[1])
if got != [{"n": 1}, {"n": 2}]:
    die("stdout holds %r, expected n = 1, 2" % got)
' "$WORK/$name.out" || fail "chaining $chaining: stdout is wrong" "$WORK/$name.out" "$WORK/$name.err"
	ok "chaining $chaining: stdout holds both lines"
}

idle_case true
idle_case false
pass
