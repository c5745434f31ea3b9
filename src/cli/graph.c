/*
 * graph.c - `acrt graph [DIR|FILE] [--deployment F] [--format dot|mermaid]`
 * (SPEC section 6): prints the wiring of a blueprint, one node per component
 * (name, type or plugin symbol, replicas, capabilities) and one edge per
 * binding (ports and buffer size), as Graphviz DOT or a Mermaid flowchart.
 */
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
node_label(FILE *f, const acrt__comp_spec *c, esc_fn esc, const char *sep)
{
	esc(f, c->name);
	fputs(sep, f);
	if (c->type) {
		esc(f, c->type);
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
edge_label(FILE *f, const acrt__binding_spec *b, esc_fn esc, const char *sep)
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
}

static void
print_dot(FILE *f, const acrt__blueprint *bp)
{
	fputs("digraph \"", f);
	dot_str(f, bp->name);
	fputs("\" {\n", f);
	fputs("  rankdir=LR;\n", f);
	fputs("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n", f);
	fputs("  edge [fontname=\"Helvetica\", fontsize=10];\n", f);
	for (size_t i = 0; i < bp->n_comps; i++) {
		const acrt__comp_spec *c = &bp->comps[i];
		fputs("  \"", f);
		dot_str(f, c->name);
		fputs("\" [label=\"", f);
		node_label(f, c, dot_str, "\\n");
		fputs("\"", f);
		if (c->replicas > 1)
			fputs(", peripheries=2", f);
		fputs("];\n", f);
	}
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		fputs("  \"", f);
		dot_str(f, bp->comps[b->from_comp].name);
		fputs("\" -> \"", f);
		dot_str(f, bp->comps[b->to_comp].name);
		fputs("\" [label=\"", f);
		edge_label(f, b, dot_str, "\\n");
		fputs("\"", f);
		if (b->allow_cycle)
			fputs(", style=dashed", f);
		fputs("];\n", f);
	}
	fputs("}\n", f);
}

/* Mermaid node ids: c<index> (names could collide with keywords such as `end`). */
static void
print_mermaid(FILE *f, const acrt__blueprint *bp)
{
	fputs("flowchart LR\n", f);
	for (size_t i = 0; i < bp->n_comps; i++) {
		fprintf(f, "  c%zu[\"", i);
		node_label(f, &bp->comps[i], mermaid_str, "<br/>");
		fputs("\"]\n", f);
	}
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		fprintf(f, "  c%zu %s|\"", b->from_comp, b->allow_cycle ? "-.->" : "-->");
		edge_label(f, b, mermaid_str, "<br/>");
		fprintf(f, "\"| c%zu\n", b->to_comp);
	}
}

int
acrt__cmd_graph(int argc, char **argv)
{
	const char *path = NULL, *deployment = NULL, *format = "dot";
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
			if (++i == argc)
				return acrt__cli_usage_error("graph: %s needs dot or mermaid", a);
			format = argv[i];
		} else if (strncmp(a, "--format=", 9) == 0) {
			format = a + 9;
		} else if (strcmp(a, "--deployment") == 0 || strcmp(a, "-d") == 0) {
			if (++i == argc)
				return acrt__cli_usage_error("graph: %s needs a file", a);
			deployment = argv[i];
		} else if (strncmp(a, "--deployment=", 13) == 0) {
			deployment = a + 13;
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
