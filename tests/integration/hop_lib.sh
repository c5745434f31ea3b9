# Helpers of the cross-node transport tests (test_transport_*.sh), sourced
# after lib.sh. The system: node a runs a sequence Source, node b a file Sink,
# one binding between them carried by runtime.transport.

RATE=""
# mk DIR COUNT BUFFER TRANSPORT-MAPPING: the two-node system in DIR ($RATE: a
# source rate). The sink's path comes from $OUT so that a restarted node b
# writes a file of its own (a Sink truncates its file at start).
mk() {
	local d=$1 count=$2 buf=$3 transport=$4
	mkdir -p "$d"
	cat >"$d/architecture.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: hop
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: $count$RATE}}
    - {name: out, type: Sink, config: {sink: file, path: "\${OUT}"}}
  bindings:
    - {from: gen.output, to: out.input, buffer_size: $buf}
YAML
	cat >"$d/deployment.yaml" <<YAML
nodes:
  a: {components: [gen]}
  b: {components: [out]}
runtime:
  transport: $transport
YAML
}

# check_seq exact|union N FILE...: the files together hold {"seq": 1..N}; with
# "exact", each once and in order. Prints the number of duplicates.
check_seq() {
	py "$PY_PRELUDE"'
mode, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
seqs = [r["seq"] for f in files for r in load(f)]
if mode == "exact":
    if seqs != list(range(1, n + 1)):
        die("expected 1..%d once each in order, got %d events" % (n, len(seqs)))
else:
    missing = set(range(1, n + 1)) - set(seqs)
    if missing:
        die("%d events lost, e.g. %r" % (len(missing), sorted(missing)[:5]))
    if set(seqs) - set(range(1, n + 1)):
        die("unexpected events")
print(len(seqs) - n)
' "$@"
}

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
