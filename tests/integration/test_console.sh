#!/usr/bin/env bash
# The web console's pages and routes (docs/CONSOLE.md), with curl against a
# running system: /ui, /ui/ and every page file are served without a token,
# with Content-Security-Policy, X-Content-Type-Options and the right
# Content-Type, and carry no data (not the system's name, not a token); an
# unknown page is 404, a POST 405, and a path that climbs out of /ui reaches no
# API route; the API stays closed without a token; GET /api/v1/graph (read
# token) lists every component and binding with its stream; a component's
# config needs the write token (403 with the read one); its detail has the
# processing-time histogram; GET /api/v1/alerts has a history. The browser
# test is test_console_browser.sh.
. "$(dirname "$0")/lib.sh" "$@"

command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"

has_addr() { grep -q 'api listening on http://' "$1"; }

D="$WORK/sys"
mkdir -p "$D"
cat >"$D/architecture.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: consolecurl
  components:
    - {name: gen, type: Source, config: {generator: sequence, count: 100000000, rate_per_s: 500}}
    - {name: xf, type: Transformer, replicas: 2, config: {set: {seen: 1}}}
    - {name: sink, type: Sink, config: {sink: "null"}}
  bindings:
    - {from: gen.output, to: xf.input}
    - {from: xf.output, to: sink.input}
YAML
PORT=$(free_port)
cat >"$D/deployment.yaml" <<YAML
schema_version: "1.0.0"
system_name: consolecurl
runtime:
  api: {listen: "127.0.0.1:$PORT"}
YAML
start_acrt sys run "$D"
wait_alive "$PID" 20 has_addr "$WORK/sys.err" || fail "no 'api listening' line" "$WORK/sys.err"
URL="http://127.0.0.1:$PORT"
RT=$(cat "$D/.acrt/read.token")
WT=$(cat "$D/.acrt/write.token")

# get PATH NAME [CURL ARGS...]: body in $WORK/NAME.body, headers in
# $WORK/NAME.hdr; prints the status.
get() {
	local p=$1 n=$2
	shift 2
	curl -s --max-time 10 -D "$WORK/$n.hdr" -o "$WORK/$n.body" -w '%{http_code}' "$@" "$URL$p"
}
header() { grep -i "^$2:" "$WORK/$1.hdr" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }

# ---- the pages: no token, security headers, no data --------------------------
for p in /ui /ui/ /ui/index.html /ui/app.js /ui/style.css; do
	n=page$(echo "$p" | tr '/.' '__')
	c=$(get "$p" "$n")
	[ "$c" = 200 ] || fail "GET $p without a token: $c, expected 200" "$WORK/$n.body"
	csp=$(header "$n" Content-Security-Policy)
	case "$csp" in
	*"default-src 'none'"*"script-src 'self'"*"connect-src 'self'"*"frame-ancestors 'none'"*) ;;
	*) fail "GET $p: Content-Security-Policy is '$csp'" "$WORK/$n.hdr" ;;
	esac
	[ "$(header "$n" X-Content-Type-Options)" = nosniff ] || fail "GET $p: no X-Content-Type-Options: nosniff" "$WORK/$n.hdr"
	want=text/html
	case "$p" in *.js) want=text/javascript ;; *.css) want=text/css ;; esac
	case "$(header "$n" Content-Type)" in "$want"*) ;; *) fail "GET $p: Content-Type $(header "$n" Content-Type), expected $want" "$WORK/$n.hdr" ;; esac
	if grep -q -e consolecurl -e "$RT" -e "$WT" "$WORK/$n.body"; then
		fail "GET $p: the page carries the system's name or a token"
	fi
done
ok "/ui, /ui/ and its files: 200 without a token, with CSP and nosniff, and no data in them"
cmp -s "$WORK/page_ui.body" "$SRC/ui/index.html" || fail "/ui is not ui/index.html as built"
cmp -s "$WORK/page_ui_app_js.body" "$SRC/ui/app.js" || fail "/ui/app.js is not ui/app.js as built"
ok "the pages served are the files of ui/, byte for byte"
grep -q 'src="/ui/app.js"' "$WORK/page_ui.body" || fail "index.html does not load /ui/app.js"
if grep -hoE "https?://[^\"' )]*" "$WORK/page_ui.body" "$WORK/page_ui_app_js.body" "$WORK/page_ui_style_css.body" | grep -v '^http://www.w3.org/2000/svg$' | grep -q .; then
	fail "the pages name another origin (no network at run time)"
fi
ok "the pages load nothing from another origin"

c=$(get /ui/nope.js nope)
[ "$c" = 404 ] || fail "GET /ui/nope.js: $c, expected 404"
c=$(get /ui/ post -X POST)
[ "$c" = 405 ] || fail "POST /ui/: $c, expected 405"
[ "$(header post Allow)" = "GET, HEAD" ] || fail "POST /ui/: Allow is '$(header post Allow)'"
c=$(get /ui/../api/v1/system climb --path-as-is)
[ "$c" = 404 ] || fail "GET /ui/../api/v1/system without a token: $c, expected 404" "$WORK/climb.body"
if grep -q consolecurl "$WORK/climb.body"; then fail "a path climbing out of /ui served data"; fi
ok "unknown page 404, POST 405 (Allow: GET, HEAD), /ui/../api/v1/system reaches no API route"

for p in /api/v1/system /api/v1/graph /api/v1/components/xf/config /ui-x; do
	c=$(get "$p" noauth)
	[ "$c" = 401 ] || fail "GET $p without a token: $c, expected 401"
done
ok "the API (graph and config included) stays closed without a token: 401"

# ---- the console's JSON --------------------------------------------------------
c=$(get /api/v1/graph graph -H "Authorization: Bearer $RT")
[ "$c" = 200 ] || fail "GET /api/v1/graph (read token): $c" "$WORK/graph.body"
py '
import json, sys
g = json.load(open(sys.argv[1]))
names = [c["name"] for c in g["components"]]
if names != ["gen", "xf", "sink"]:
    sys.exit("components %r" % names)
xf = g["components"][1]
if xf["type"] != "Transformer" or xf["replicas"] != 2 or xf["inputs"] != ["input"] or "output" not in xf["outputs"]:
    sys.exit("xf: %r" % xf)
edges = sorted((b["from"], b["from_port"], b["to"], b["to_port"], b["stream"]) for b in g["bindings"])
want = [("gen", "output", "xf", "input", "gen.output->xf.input"),
        ("xf", "output", "sink", "input", "xf.output->sink.input")]
if edges != want:
    sys.exit("bindings %r" % edges)
if g["system"] != "consolecurl" or g["nodes"] != [] or g["node"] is not None:
    sys.exit("system/nodes: %r" % g)
if "config" in json.dumps(g):
    sys.exit("the graph (read token) carries a config")
' "$WORK/graph.body" || fail "GET /api/v1/graph" "$WORK/graph.body"
ok "GET /api/v1/graph: every component (type, replicas, ports) and binding with its stream, no config"

c=$(get /api/v1/components/xf/config cfgr -H "Authorization: Bearer $RT")
[ "$c" = 403 ] || fail "config with the read token: $c, expected 403" "$WORK/cfgr.body"
c=$(get /api/v1/components/xf/config cfgw -H "Authorization: Bearer $WT")
[ "$c" = 200 ] || fail "config with the write token: $c" "$WORK/cfgw.body"
py 'import json, sys
c = json.load(open(sys.argv[1]))
sys.exit(0 if c["config"] == {"set": {"seen": 1}} and c["type"] == "Transformer" else "config: %r" % c)
' "$WORK/cfgw.body" || fail "config of xf" "$WORK/cfgw.body"
c=$(get /api/v1/components/nope/config cfgn -H "Authorization: Bearer $WT")
[ "$c" = 404 ] || fail "config of an unknown component: $c, expected 404"
ok "a component's config: 403 with the read token, 200 with the write token, 404 for an unknown one"

hist_ok() {
	get /api/v1/components/xf comp -H "Authorization: Bearer $RT" >/dev/null
	py 'import json, sys
h = json.load(open(sys.argv[1]))["processing_time"]
assert len(h["buckets"]) == len(h["bounds_s"]) + 1, h
assert h["count"] == sum(h["buckets"]) and h["count"] > 0, h
assert h["sample_one_in"] == 64
' "$WORK/comp.body" 2>/dev/null
}
wait_alive "$PID" 15 hist_ok || fail "GET /api/v1/components/xf: no processing_time histogram with samples" "$WORK/comp.body"
ok "a component's detail has its processing-time histogram (buckets = bounds + 1, count = sum)"

c=$(get /api/v1/alerts alerts -H "Authorization: Bearer $RT")
[ "$c" = 200 ] || fail "GET /api/v1/alerts: $c"
py 'import json, sys
a = json.load(open(sys.argv[1]))
sys.exit(0 if isinstance(a.get("history"), list) and isinstance(a.get("alerts"), list) else "alerts: %r" % a)
' "$WORK/alerts.body" || fail "GET /api/v1/alerts has no history list" "$WORK/alerts.body"
ok "GET /api/v1/alerts has alerts and history"

kill -TERM "$PID"
wait_exit "$PID" 20 || fail "acrt did not stop"
expect_rc 0 "acrt run stopped by SIGTERM" "$WORK/sys.err"
pass
