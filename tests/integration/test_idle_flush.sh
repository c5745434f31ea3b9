#!/usr/bin/env bash
# A file sink writes out what it holds as soon as the flow pauses (the idle
# hook): events that reached it are in the file while the system is still
# running and quiet, with chaining on (the sink runs on the source's thread)
# and off (the sink has its own thread behind a stream).
. "$(dirname "$0")/lib.sh" "$@"

for chaining in true false; do
	d="$WORK/idle-$chaining"
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: idle
  components:
    - {name: input, type: Source, config: {source: stdin}}
    - {name: xf, type: Transformer, config: {set: {seen: true}}}
    - {name: out, type: Sink, config: {sink: file, path: out.jsonl}}
  bindings:
    - {from: input.output, to: xf.input}
    - {from: xf.output, to: out.input}
YAML
	printf 'schema_version: "1.0.0"\nsystem_name: idle\nruntime: {chaining: %s}\n' \
		"$chaining" >"$d/deployment.yaml"

	say "chaining $chaining: 10 events, then a quiet input that stays open"
	mkfifo "$d/in"
	"$ACRT" run "$d" <"$d/in" >"$d/acrt.out" 2>"$d/acrt.err" &
	PID=$!
	_BG_PIDS="$_BG_PIDS $PID"
	exec 3>"$d/in" # hold the write end open: no end of input
	for i in $(seq 1 10); do printf '{"n": %d}\n' "$i" >&3; done
	wait_alive "$PID" 5 has_lines "$d/out.jsonl" 10 ||
		fail "the sink file has $(lines "$d/out.jsonl") of 10 lines while the input is quiet" \
			"$d/acrt.err"
	alive "$PID" || fail "acrt exited while its input was still open" "$d/acrt.err"
	ok "all 10 events are in the file while acrt waits for more input"

	exec 3>&- # end of input: acrt drains and exits 0
	wait_exit "$PID" 10 || fail "acrt did not exit after its input closed" "$d/acrt.err"
	expect_rc 0 "acrt run" "$d/acrt.err"
	[ "$(lines "$d/out.jsonl")" -eq 10 ] || fail "expected exactly 10 lines" "$d/out.jsonl"
	ok "exit 0 at end of input, exactly 10 lines"
done
pass
