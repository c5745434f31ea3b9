/*
 * graph.c - `acrt graph [DIR|FILE] [--deployment F] [--format dot|mermaid]`
 * (SPEC section 6): prints the wiring of a blueprint, one node per component
 * (name, type or plugin symbol, replicas, capabilities) and one edge per
 * binding (ports and buffer size), as Graphviz DOT or a Mermaid flowchart.
 * With `nodes:` in the deployment (docs/MULTINODE.md) each node is a cluster
 * (DOT `subgraph cluster_NODE`, a Mermaid subgraph) holding its components,
 * and a binding between nodes is drawn bold, labelled with the transport.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* Writes s inside a DOT double-quoted string. */
static void
dot_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

/* Writes s inside a Mermaid double-quoted label (entity codes). */
static void
mermaid_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '"':
			fputs("#quot;", f);
			break;
		case '<':
			fputs("#lt;", f);
			break;
		case '>':
			fputs("#gt;", f);
			break;
		case '#':
			fputs("#35;", f);
			break;
		case '&':
			fputs("#amp;", f);
			break;
		case '\n':
		case '\r':
			fputc(' ', f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

typedef void (*esc_fn)(FILE *, const char *);

/* The lines of a node's label, joined by `sep` (written raw). */
static void
node_label(FILE *f, const acrt__blueprint *bp, size_t i, esc_fn esc, const char *sep)
{
	const acrt__comp_spec *c = &bp->comps[i];
	uint64_t on = acrt__blueprint_comp_nodes(bp, i);
	esc(f, c->name);
	fputs(sep, f);
	if (c->type) {
		esc(f, c->type);
		if (c->dialect_type && strcmp(c->dialect_type, c->type) != 0) {
			/* the Autocoder original's type it runs */
			char d[160];
			snprintf(d, sizeof d, " (%s%s)", c->dialect_type,
			         c->needs_impl ? ": needs an implementation" : "");
			esc(f, d);
		}
	} else {
		esc(f, "plugin ");
		esc(f, c->plugin_symbol ? c->plugin_symbol : "?");
	}
	if (c->replicas > 1) {
		char r[48];
		snprintf(r, sizeof r, "replicas: %d", c->replicas);
		fputs(sep, f);
		esc(f, r);
	}
	if (on & (on - 1)) { /* scale-out: drawn in its first node's cluster */
		fputs(sep, f);
		esc(f, "on nodes:");
		for (size_t k = 0; k < bp->nodes.n; k++)
			if (on & (UINT64_C(1) << k)) {
				esc(f, " ");
				esc(f, bp->nodes.names[k]);
			}
	}
	if (json_is_object(c->capabilities) && json_object_size(c->capabilities) > 0) {
		const char *k;
		json_t *v;
		int first = 1;
		fputs(sep, f);
		esc(f, "capabilities: ");
		json_object_foreach(c->capabilities, k, v)
		{
			(void)v;
			if (!first)
				esc(f, ", ");
			esc(f, k);
			first = 0;
		}
	}
}

static void
edge_label(FILE *f, const acrt__blueprint *bp, const acrt__binding_spec *b, esc_fn esc,
           const char *sep)
{
	char size[48];
	esc(f, b->from_port);
	esc(f, " -> ");
	esc(f, b->to_port);
	fputs(sep, f);
	snprintf(size, sizeof size, "buffer %zu", b->buffer_size);
	esc(f, size);
	if (b->allow_cycle) {
		fputs(sep, f);
		esc(f, "allow_cycle");
	}
	if (acrt__blueprint_crosses(bp, b)) {
		fputs(sep, f);
		esc(f, "across nodes: ");
		esc(f, bp->transport.kind ? bp->transport.kind : "no transport");
	}
}

/* Whether component i is drawn inside node k's cluster (k == SIZE_MAX: no
 * cluster, for a deployment without nodes). A component on several nodes
 * (scale-out) is drawn in each of their clusters. */
static bool
in_node(const acrt__blueprint *bp, size_t i, size_t k)
{
	uint64_t on = acrt__blueprint_comp_nodes(bp, i);
	return k == SIZE_MAX ? on == 0 : k < 64 && (on & (UINT64_C(1) << k)) != 0;
}

/* Whether component i's drawing in node k is its first (named as the
 * component; the others get "@node"). */
static bool
first_copy(const acrt__blueprint *bp, size_t i, size_t k)
{
	uint64_t on = acrt__blueprint_comp_nodes(bp, i);
	return k == SIZE_MAX || (on & ((UINT64_C(1) << k) - 1)) == 0;
}

/* The drawings of binding b: from component copy kf to copy kt, when that
 * pair carries it (the same node, or nodes apart for a crossing binding). */
static bool
edge_drawn(const acrt__blueprint *bp, const acrt__binding_spec *b, size_t kf, size_t kt)
{
	if (!in_node(bp, b->from_comp, kf) || !in_node(bp, b->to_comp, kt))
		return false;
	return kf == kt || acrt__blueprint_crosses(bp, b);
}

static void
dot_id(FILE *f, const acrt__blueprint *bp, size_t i, size_t k)
{
	fputs("\"", f);
	dot_str(f, bp->comps[i].name);
	if (!first_copy(bp, i, k)) {
		fputs("@", f);
		dot_str(f, bp->nodes.names[k]);
	}
	fputs("\"", f);
}

static void
dot_comp(FILE *f, const acrt__blueprint *bp, size_t i, size_t k, const char *indent)
{
	const acrt__comp_spec *c = &bp->comps[i];
	fputs(indent, f);
	dot_id(f, bp, i, k);
	fputs(" [label=\"", f);
	node_label(f, bp, i, dot_str, "\\n");
	fputs("\"", f);
	if (c->replicas > 1)
		fputs(", peripheries=2", f);
	fputs("];\n", f);
}

/* The node indices to try for a component's copies: SIZE_MAX, then 0..n-1. */
#define FOR_COPY(k, bp) for (size_t k = SIZE_MAX; k == SIZE_MAX || k < (bp)->nodes.n; k++)

static void
print_dot(FILE *f, const acrt__blueprint *bp)
{
	fputs("digraph \"", f);
	dot_str(f, bp->name);
	fputs("\" {\n", f);
	fputs("  rankdir=LR;\n", f);
	fputs("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n", f);
	fputs("  edge [fontname=\"Helvetica\", fontsize=10];\n", f);
	for (size_t i = 0; i < bp->n_comps; i++)
		if (in_node(bp, i, SIZE_MAX))
			dot_comp(f, bp, i, SIZE_MAX, "  ");
	for (size_t k = 0; k < bp->nodes.n; k++) {
		fputs("  subgraph \"cluster_", f);
		dot_str(f, bp->nodes.names[k]);
		fputs("\" {\n    label=\"node ", f);
		dot_str(f, bp->nodes.names[k]);
		fputs("\";\n    style=\"rounded,dashed\";\n", f);
		for (size_t i = 0; i < bp->n_comps; i++)
			if (in_node(bp, i, k))
				dot_comp(f, bp, i, k, "    ");
		fputs("  }\n", f);
	}
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		FOR_COPY(kf, bp)
		FOR_COPY(kt, bp)
		{
			if (!edge_drawn(bp, b, kf, kt))
				continue;
			fputs("  ", f);
			dot_id(f, bp, b->from_comp, kf);
			fputs(" -> ", f);
			dot_id(f, bp, b->to_comp, kt);
			fputs(" [label=\"", f);
			edge_label(f, bp, b, dot_str, "\\n");
			fputs("\"", f);
			if (b->allow_cycle)
				fputs(", style=dashed", f);
			if (acrt__blueprint_crosses(bp, b))
				fputs(", penwidth=2", f);
			fputs("];\n", f);
		}
	}
	fputs("}\n", f);
}

/* Mermaid node ids: c<index> (names could collide with keywords such as
 * `end`), c<index>_<node> for the further copies of a component on several
 * nodes. */
static void
mermaid_id(FILE *f, const acrt__blueprint *bp, size_t i, size_t k)
{
	fprintf(f, "c%zu", i);
	if (!first_copy(bp, i, k))
		fprintf(f, "_%zu", k);
}

static void
print_mermaid(FILE *f, const acrt__blueprint *bp)
{
	fputs("flowchart LR\n", f);
	FOR_COPY(k, bp)
	{ /* components without a node, then each node */
		const char *indent = k == SIZE_MAX ? "  " : "    ";
		if (k != SIZE_MAX) {
			fprintf(f, "  subgraph node_%zu [\"node ", k);
			mermaid_str(f, bp->nodes.names[k]);
			fputs("\"]\n", f);
		}
		for (size_t i = 0; i < bp->n_comps; i++) {
			if (!in_node(bp, i, k))
				continue;
			fputs(indent, f);
			mermaid_id(f, bp, i, k);
			fputs("[\"", f);
			node_label(f, bp, i, mermaid_str, "<br/>");
			fputs("\"]\n", f);
		}
		if (k != SIZE_MAX)
			fputs("  end\n", f);
	}
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		FOR_COPY(kf, bp)
		FOR_COPY(kt, bp)
		{
			if (!edge_drawn(bp, b, kf, kt))
				continue;
			fputs("  ", f);
			mermaid_id(f, bp, b->from_comp, kf);
			fprintf(f, " %s|\"",
			        b->allow_cycle                   ? "-.->"
			        : acrt__blueprint_crosses(bp, b) ? "==>"
			                                         : "-->");
			edge_label(f, bp, b, mermaid_str, "<br/>");
			fputs("\"| ", f);
			mermaid_id(f, bp, b->to_comp, kt);
			fputs("\n", f);
		}
	}
}

int
acrt__cmd_graph(int argc, char **argv)
{
	const char *path = NULL, *deployment = NULL, *format = "dot";
	int d;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
			if (++i == argc)
				return acrt__cli_usage_error("graph: %s needs dot or mermaid", a);
			format = argv[i];
		} else if (strncmp(a, "--format=", 9) == 0) {
			format = a + 9;
		} else if ((d = acrt__cli_deployment_opt("graph", argc, argv, &i, &deployment)) !=
		           0) {
			if (d < 0)
				return 2;
		} else if (a[0] == '-') {
			return acrt__cli_usage_error("graph: unknown option '%s'", a);
		} else if (path == NULL) {
			path = a;
		} else {
			return acrt__cli_usage_error(
			    "graph: one blueprint at a time ('%s' and '%s')", path, a);
		}
	}
	if (strcmp(format, "dot") != 0 && strcmp(format, "mermaid") != 0)
		return acrt__cli_usage_error("graph: unknown format '%s' (dot or mermaid)", format);
	if (path == NULL)
		path = ".";

	acrt__blueprint *bp = acrt__cli_load(path, deployment);
	if (bp == NULL)
		return 2;
	if (strcmp(format, "dot") == 0)
		print_dot(stdout, bp);
	else
		print_mermaid(stdout, bp);
	acrt__blueprint_free(bp);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("acrt: graph: stdout");
		return 1;
	}
	return 0;
}
