/*
 * help.c - `acrt help [COMMAND|TYPE]`. A built-in type's keys are printed
 * from its descriptor's config table, the one `acrt validate` checks against.
 * A type name of the original Autocoder language (docs/AUTOCODER.md) prints
 * the original's default ports and what acrt runs it as, from the table the
 * loader maps it with (blueprint/dialect_types.c).
 */
#include <stdio.h>
#include <string.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"
#include "cli/cli.h"
#include "core/builtin.h"
#include "core/json.h"

static const char overview[] =
    "acrt " ACRT_VERSION_STRING " - run systems of components wired by bounded streams\n"
    "\n"
    "usage:\n"
    "  acrt run [DIR|architecture.yaml] [--deployment F] [--resume[=ID]] [--watch]\n"
    "           [--update-lock] [--quiet] [--node NAME] [--stub]\n"
    "  acrt up [DIR|architecture.yaml] [--deployment F] [--resume] [-q]\n"
    "  acrt validate [--deployment F] [DIR|FILE]...\n"
    "  acrt checkpoints list|show|verify|delete|create [ID] [DIR]\n"
    "  acrt lock [DIR|FILE] [--deployment F]\n"
    "  acrt graph [DIR|FILE] [--deployment F] [--format dot|mermaid]\n"
    "  acrt schema check SCHEMA.json [INSTANCE.json|-]...\n"
    "  acrt top [DIR|FILE] [--once] [--interval MS]\n"
    "  acrt tap COMPONENT[.PORT] [DIR|FILE] [--limit N] [--rate N]\n"
    "  acrt test [DIR|FILE] [-t FILE|DIR]... [--verbose]\n"
    "  acrt convert [DIR|FILE] [--deployment F]\n"
    "  acrt --version\n"
    "  acrt help [COMMAND|TYPE]   TYPE: a built-in component type (Source, Sink, ...)\n"
    "                             or one of the original Autocoder's (Model, ...)\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 usage error or invalid blueprint\n";

static const char up_help[] =
    "acrt up [DIR|architecture.yaml] [--deployment F] [--resume] [-q]\n"
    "\n"
    "Starts every node of a deployment with nodes: on this machine, each its own\n"
    "process ('acrt run DIR --node NAME' with the options given), talking through\n"
    "runtime.transport as on separate machines: the development loop of a system\n"
    "that spans processes (docs/MULTINODE.md). Each line a node prints comes out\n"
    "with the node's name in front ('work | ...'). SIGINT and SIGTERM go to every\n"
    "node; when one node fails, the others are stopped. The exit status is the\n"
    "worst of the nodes' (a node killed by signal N counts as 128+N).\n";

static const char run_help[] =
    "acrt run [DIR|architecture.yaml] [--deployment F] [--resume[=ID]] [--watch]\n"
    "         [--update-lock] [--quiet] [--node NAME] [--stub]\n"
    "\n"
    "Loads and validates the blueprint (default: ./architecture.yaml, with\n"
    "deployment.yaml beside it when present), sets every component up in\n"
    "topological order, runs them until every source is exhausted and every\n"
    "stream drained, then cleans up in reverse order.\n"
    "\n"
    "  --deployment F  use F as the deployment file\n"
    "  --resume[=ID]   restore every component from the newest complete\n"
    "                  checkpoint of runtime.state (or checkpoint ID) first\n"
    "  --watch         reload when the blueprint, deployment or a plugin changes\n"
    "                  (SIGHUP and POST /api/v1/reload reload too)\n"
    "  --update-lock   rewrite build.lock when it no longer matches, and go on\n"
    "  --quiet, -q     no live status line on the terminal\n"
    "  --node NAME     run only node NAME of the deployment's nodes: (its own\n"
    "                  run lock .acrt/NAME/, store state/SYSTEM.NAME.db); without\n"
    "                  it every node runs in this process (docs/MULTINODE.md)\n"
    "  --stub          run the components of an Autocoder blueprint that need an\n"
    "                  implementation as pass-through stand-ins (docs/AUTOCODER.md);\n"
    "                  without it the run refuses them (exit 2)\n"
    "\n"
    "When build.lock is present beside architecture.yaml, the run refuses to\n"
    "start (exit 2) if a hash or a capability chain no longer matches it, and\n"
    "prints each difference; see 'acrt help lock'.\n"
    "\n"
    "SIGINT/SIGTERM stop the sources and drain in-flight events (bounded by\n"
    "runtime.timeouts.shutdown_timeout_ms); a second signal cancels at once.\n"
    "Exit: 0 when drained, 1 on a component failure or forced cancel,\n"
    "2 for an invalid blueprint.\n";

static const char validate_help[] =
    "acrt validate [--deployment F] [DIR|FILE]...\n"
    "\n"
    "Checks each blueprint (and its deployment) without running it: unknown keys,\n"
    "types and ranges, names, bindings, ports, cycles, schemas, plugin ABI.\n"
    "Every error is one line: file:line:column: message. Exit 0 if all are\n"
    "valid, 2 otherwise.\n";

static const char lock_help[] =
    "acrt lock [DIR|FILE] [--deployment F]\n"
    "\n"
    "Writes build.lock beside architecture.yaml (default: the current directory):\n"
    "the runtime version, the sha256 of architecture.yaml, of the deployment file\n"
    "and of every plugin binary, and each component's capability chain in\n"
    "execution order. JSON with sorted keys: the same inputs give the same bytes.\n"
    "Written atomically (temporary file, fsync, rename, fsync of the directory).\n"
    "'acrt run' then refuses to start when the blueprint drifts from it.\n"
    "Exit: 0 written, 1 cannot write or read a file, 2 usage or invalid blueprint.\n";

static const char schema_help[] =
    "acrt schema check SCHEMA.json [INSTANCE.json|-]...\n"
    "\n"
    "Validates each instance (a file holding one JSON value, or JSON lines on\n"
    "stdin with '-' or no instance) against a JSON Schema draft 2020-12 file,\n"
    "with the validator the runtime uses. One line per instance: 'valid', or\n"
    "'invalid' with each error's instance path and keyword.\n"
    "Exit: 0 all valid, 1 any invalid, 2 a bad schema or unreadable input.\n";

static const char graph_help[] =
    "acrt graph [DIR|FILE] [--deployment F] [--format dot|mermaid]\n"
    "\n"
    "Prints the wiring on stdout: one node per component (name, type or plugin\n"
    "symbol, replicas, capabilities), one edge per binding (ports, buffer size).\n"
    "  --format dot      Graphviz (default): acrt graph | dot -Tsvg > system.svg\n"
    "  --format mermaid  a Mermaid flowchart (flowchart LR)\n"
    "Exit: 0, or 2 for a usage error or an invalid blueprint.\n";

static const char top_help[] =
    "acrt top [DIR|FILE] [--once] [--interval MS] [--deployment F] [--node NAME]\n"
    "         [--url URL] [--token-file F] [--cacert F] [--cert F --key F]\n"
    "\n"
    "A live view of a running system, read from its HTTP API: components (state,\n"
    "events in/out and their rates per second, errors), streams (depth, capacity,\n"
    "fill), alerts. Redrawn every interval (default 1000 ms) on a terminal;\n"
    "Ctrl-C quits.\n"
    "  --once          take two samples one interval apart, print one plain-text\n"
    "                  snapshot and exit\n"
    "  --cacert F      trust F for an https API (runtime.api.tls)\n"
    "  --cert/--key F  a client certificate, when runtime.api.tls.client_ca is set\n"
    "  --node NAME     the node NAME of a deployment with nodes: (its files are in\n"
    "                  <dir>/.acrt/NAME/ instead of <dir>/.acrt/)\n"
    "The address comes from --url, else <dir>/.acrt/api.addr (written by the\n"
    "running system), else runtime.api.listen, else 127.0.0.1:9464; the token\n"
    "from --token-file, else runtime.api.auth.read_token_file, else\n"
    "<dir>/.acrt/read.token.\n"
    "Exit: 0, 1 when the API cannot be reached or refuses, 2 usage or invalid\n"
    "blueprint.\n";

static const char tap_help[] =
    "acrt tap COMPONENT[.PORT] [DIR|FILE] [--limit N] [--rate N] [--deployment F]\n"
    "         [--node NAME] [--url URL] [--token-file F] [--cacert F] [--cert F --key F]\n"
    "\n"
    "Prints a live sample of the events passing one port of a running system, one\n"
    "JSON object per line: component, port, direction, replica, id, time,\n"
    "traceparent, headers, content_type, skipped, payload_encoding (json, utf-8 or\n"
    "base64) and payload. PORT defaults to the first output port, or for a sink\n"
    "its first input port. The pipeline never waits for a tap: events it cannot\n"
    "take are skipped and counted in 'skipped'.\n"
    "  --limit N  stop after N events\n"
    "  --rate N   at most N events per second; the others are skipped\n"
    "Found like 'acrt top', with the write token (the lines show payloads):\n"
    "--token-file, else runtime.api.auth.write_token_file, else\n"
    "<dir>/.acrt/write.token.\n"
    "Exit: 0 at --limit, at the end of the stream or on Ctrl-C; 1 when the API\n"
    "cannot be reached or refuses the token (403: the read token); 2 usage error,\n"
    "invalid blueprint, or an unknown component or port.\n";

static const char checkpoints_help[] =
    "acrt checkpoints list   [DIR] [--deployment F] [--json]\n"
    "acrt checkpoints show   ID [DIR] [--deployment F]\n"
    "acrt checkpoints verify [ID] [DIR] [--deployment F]\n"
    "acrt checkpoints delete ID [DIR] [--deployment F]\n"
    "acrt checkpoints create [DIR] [--node NAME] [--url U] [--token-file F] [--no-wait]\n"
    "\n"
    "Inspects the checkpoint store named by runtime.state (docs/STATE.md): list\n"
    "(id, time, parts, bytes), show (per part: bytes, keys, own bytes, checksum),\n"
    "verify (checksums and manifest; exit 1 on a problem), delete. create asks the\n"
    "running system for a checkpoint now, through its API (write token), and\n"
    "waits until it is stored.\n";

static const char convert_help[] =
    "acrt convert [DIR|architecture.yaml] [--deployment F]\n"
    "\n"
    "Prints the native acrt form of a blueprint, above all one written in the\n"
    "original Autocoder language (docs/AUTOCODER.md), as 'acrt validate'\n"
    "understood it: each component with the built-in type that runs it and\n"
    "that type's config (the deployment's overrides merged in), its ports written\n"
    "out, one binding per edge in the from/to shape, the named schemas. The\n"
    "notes go to stderr as validate prints them, the YAML to stdout: to migrate\n"
    "a blueprint, or to diff what acrt runs against what was written. A\n"
    "component that needs an implementation is written as its Passthrough\n"
    "stand-in with a comment; an input bound to nothing is left out.\n"
    "Exit: 0, or 2 for an invalid blueprint.\n";

static const char *
prop_type(acrt_prop_type t)
{
	static const char *const names[] = {"",        "string",  "integer", "number",
	                                    "boolean", "mapping", "list",    "any"};
	return t < sizeof names / sizeof *names ? names[t] : "?";
}

static void
print_ports(const char *what, const char *const *ports)
{
	printf("%s:", what);
	for (size_t i = 0; ports != NULL && ports[i] != NULL; i++)
		printf(" %s", ports[i]);
	printf("%s\n", ports == NULL || ports[0] == NULL ? " -" : "");
}

/* A built-in type: its ports and its config keys (type, required, range,
 * allowed values, meaning), from the tables the validator uses. */
static void
type_help(const acrt__builtin *b)
{
	printf("%s (built-in component type; docs/COMPONENTS.md)\n\n", b->type);
	print_ports("input ports", b->in_ports);
	print_ports("output ports", b->out_ports);
	const acrt_prop *p = b->desc != NULL ? b->desc->props : NULL;
	if (p == NULL) {
		printf("\nconfig: free-form\n");
		return;
	}
	printf("\nconfig keys:\n");
	for (; p->type != ACRT_PROP_END; p++) {
		printf("  %-12s %-8s%s", p->key, prop_type(p->type),
		       p->required ? " required" : "");
		if (p->min < p->max) {
			char lo[32], hi[32];
			acrt__json_dtoa(p->min, lo);
			acrt__json_dtoa(p->max, hi);
			printf(" [%s, %s]", lo, hi);
		}
		if (p->one_of != NULL) {
			printf(" one of:");
			for (size_t i = 0; p->one_of[i] != NULL; i++)
				printf(" %s", p->one_of[i]);
		}
		printf("\n               %s\n", p->help != NULL ? p->help : "");
	}
}

/* The original Autocoder's reading of a type name, after acrt's help of the
 * built-in of that name (builtin) or alone. */
static void
dialect_help(const char *type, const char *text, const char *const *in, const char *const *out,
             bool builtin)
{
	if (builtin)
		printf(
		    "\nIn a blueprint of the original Autocoder language (docs/AUTOCODER.md):\n\n");
	else
		printf("%s (a type of the original Autocoder blueprint language; "
		       "docs/AUTOCODER.md)\n\n",
		       type);
	print_ports("original input ports", in);
	if (out != NULL)
		print_ports("original output ports", out);
	printf("\n%s\n", text);
}

static int
no_help(const char *what)
{
	char types[256] = "", orig[256] = "";
	const char *names[32];
	size_t n = 0, k = acrt__dialect_type_names(names, 32);
	for (size_t i = 0; acrt__builtin_at(i) != NULL && n < sizeof types; i++)
		n += (size_t)snprintf(types + n, sizeof types - n, "%s%s", i ? ", " : "",
		                      acrt__builtin_at(i)->type);
	n = 0;
	for (size_t i = 0; i < k && n < sizeof orig; i++)
		n += (size_t)snprintf(orig + n, sizeof orig - n, "%s%s", i ? ", " : "", names[i]);
	return acrt__cli_usage_error("no help for '%s' (a command, or a built-in type: %s) or a "
	                             "type of the original Autocoder language (%s)",
	                             what, types, orig);
}

int
acrt__cmd_help(int argc, char **argv)
{
	if (argc < 1) {
		fputs(overview, stdout);
		return 0;
	}
	if (strcmp(argv[0], "run") == 0)
		fputs(run_help, stdout);
	else if (strcmp(argv[0], "up") == 0)
		fputs(up_help, stdout);
	else if (strcmp(argv[0], "validate") == 0)
		fputs(validate_help, stdout);
	else if (strcmp(argv[0], "lock") == 0)
		fputs(lock_help, stdout);
	else if (strcmp(argv[0], "schema") == 0)
		fputs(schema_help, stdout);
	else if (strcmp(argv[0], "graph") == 0)
		fputs(graph_help, stdout);
	else if (strcmp(argv[0], "top") == 0)
		fputs(top_help, stdout);
	else if (strcmp(argv[0], "tap") == 0)
		fputs(tap_help, stdout);
	else if (strcmp(argv[0], "checkpoints") == 0)
		fputs(checkpoints_help, stdout);
	else if (strcmp(argv[0], "test") == 0)
		fputs(acrt__test_help, stdout); /* test.c */
	else if (strcmp(argv[0], "convert") == 0)
		fputs(convert_help, stdout);
	else {
		const char *const *in = NULL, *const *out = NULL;
		const char *dh = acrt__dialect_type_help(argv[0], &in, &out);
		const acrt__builtin *b = acrt__builtin_find(argv[0]);
		if (b == NULL && dh == NULL)
			return no_help(argv[0]);
		if (b != NULL)
			type_help(b);
		if (dh != NULL)
			dialect_help(argv[0], dh, in, out, b != NULL);
	}
	return 0;
}
