/*
 * convert.c - `acrt convert [DIR|FILE] [--deployment F]` (docs/AUTOCODER.md,
 * "acrt convert"): prints the native acrt form of a blueprint, above all one
 * of the Autocoder dialect, as `acrt validate` understood it: each component
 * with the built-in type that runs it and that type's config (the
 * deployment's overrides merged in), its ports written out (ADR-031 ports,
 * ports only bindings named, the original's templates), one binding per edge
 * in acrt's `from`/`to` shape, the named schemas. The notes go to stderr as
 * validate prints them; the YAML goes to stdout, for users to migrate and to
 * diff.
 *
 * What the native form cannot say is written as it runs, with a comment: a
 * component that needs an implementation is its Passthrough stand-in; an
 * input port bound to nothing is left out; the answers of the original's
 * APIEndpoint come back on `response` (its one input, renamed with the
 * bindings into it). The implicit bindings of dead_letter capabilities are
 * not written (the capability makes them). Every name and string is quoted
 * when YAML would read it as something else; configs and schemas are JSON,
 * which YAML reads as flow mappings.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

/* s as a YAML scalar: plain when it is a name (a letter, then letters,
 * digits, _ - .) YAML cannot read as a boolean or null, else a JSON string
 * (a YAML double-quoted scalar). */
static void
yaml_str(FILE *f, const char *s)
{
	static const char *const reserved[] = {"y",   "n",    "yes",   "no",   "on",
	                                       "off", "true", "false", "null", NULL};
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
	                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
	bool plain = ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) &&
	             strspn(s, name_chars) == strlen(s);
	for (const char *const *r = reserved; plain && *r; r++)
		plain = strcasecmp(*r, s) != 0;
	if (plain) {
		fputs(s, f);
		return;
	}
	json_t *j = json_string(s);
	if (j == NULL || json_dumpf(j, f, JSON_ENCODE_ANY) != 0)
		fputs("\"?\"", f);
	json_decref(j);
}

/* A JSON value on one line ({"a": 1, "b": [2]}), which YAML reads as is. */
static void
yaml_json(FILE *f, const json_t *v)
{
	if (json_dumpf(v, f, JSON_ENCODE_ANY | JSON_INDENT(0) | JSON_SORT_KEYS) != 0)
		fputs("null", f);
}

/* The name under schemas: that s is (the loader shares the object), or NULL. */
static const char *
schema_name(const acrt__blueprint *bp, const json_t *s)
{
	const char *k;
	json_t *v;
	json_object_foreach(bp->schemas, k, v)
	{
		if (v == s)
			return k;
	}
	return NULL;
}

static bool
input_bound(const acrt__blueprint *bp, size_t c, const char *port)
{
	for (size_t i = 0; i < bp->n_bindings; i++)
		if (bp->bindings[i].to_comp == c && strcmp(bp->bindings[i].to_port, port) == 0)
			return true;
	return false;
}

/* The original's replying APIEndpoint with one input that is not `response`:
 * that input, written as `response`. */
static const char *
renamed_input(const acrt__comp_spec *c)
{
	if (c->type == NULL || strcmp(c->type, "APIEndpoint") != 0 ||
	    json_object_get(c->config, "reply") == NULL || c->n_inputs != 1 ||
	    strcmp(c->inputs[0].name, "response") == 0)
		return NULL;
	return c->inputs[0].name;
}

static void
write_ports(FILE *f, const acrt__blueprint *bp, size_t ci, bool in)
{
	const acrt__comp_spec *c = &bp->comps[ci];
	const acrt__port_spec *ports = in ? c->inputs : c->outputs;
	size_t n = in ? c->n_inputs : c->n_outputs, written = 0;
	const char *ren = in ? renamed_input(c) : NULL;
	fprintf(f, "      %s: [", in ? "inputs" : "outputs");
	for (size_t i = 0; i < n; i++) {
		if (in && !input_bound(bp, ci, ports[i].name))
			continue; /* bound to nothing: said in the comment above */
		if (!in && strcmp(ports[i].name, "dead_letter") == 0 && c->capabilities &&
		    json_object_get(c->capabilities, "dead_letter"))
			continue; /* the capability adds it */
		fputs(written++ ? ", " : "", f);
		const char *name = ren ? "response" : ports[i].name;
		if (ports[i].schema == NULL) {
			yaml_str(f, name);
			continue;
		}
		fputs("{name: ", f);
		yaml_str(f, name);
		fputs(", schema: ", f);
		const char *sn = schema_name(bp, ports[i].schema);
		if (sn)
			yaml_str(f, sn);
		else
			yaml_json(f, ports[i].schema);
		fputs("}", f);
	}
	fputs("]\n", f);
}

static void
write_component(FILE *f, const acrt__blueprint *bp, size_t ci)
{
	const acrt__comp_spec *c = &bp->comps[ci];
	fputs("    - name: ", f);
	yaml_str(f, c->name);
	fputs("\n", f);
	if (c->needs_impl)
		fprintf(f,
		        "      # needs an implementation (the original's %s): plug in a native\n"
		        "      # component (implementation: plugin:PATH#SYMBOL); this Passthrough\n"
		        "      # only passes its events on\n",
		        c->dialect_type ? c->dialect_type : "?");
	else if (c->dialect_type && c->type && strcmp(c->dialect_type, c->type) != 0)
		fprintf(f, "      # the original's %s\n", c->dialect_type);
	for (size_t i = 0; i < c->n_inputs; i++)
		if (!input_bound(bp, ci, c->inputs[i].name))
			fprintf(f, "      # input '%s' was bound to nothing: left out\n",
			        c->inputs[i].name);
	if (renamed_input(c))
		fprintf(f, "      # its answers came back on '%s': written as 'response'\n",
		        c->inputs[0].name);
	if (c->type) {
		fputs("      type: ", f);
		yaml_str(f, c->type);
		fputs("\n", f);
	} else {
		char impl[4400];
		snprintf(impl, sizeof impl, "plugin:%s#%s", c->plugin_path ? c->plugin_path : "?",
		         c->plugin_symbol ? c->plugin_symbol : "?");
		fputs("      implementation: ", f);
		yaml_str(f, impl);
		fputs("\n", f);
	}
	if (json_object_size(c->config) > 0) {
		fputs("      config: ", f);
		yaml_json(f, c->config);
		fputs("\n", f);
	}
	write_ports(f, bp, ci, true);
	write_ports(f, bp, ci, false);
	static const struct {
		const char *key;
		size_t off;
	} raw[] = {{"capabilities", offsetof(acrt__comp_spec, capabilities)},
	           {"batching", offsetof(acrt__comp_spec, batching)},
	           {"state", offsetof(acrt__comp_spec, state)}};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
		const json_t *v = *(json_t *const *)((const char *)c + raw[i].off);
		if (v == NULL)
			continue;
		fprintf(f, "      %s: ", raw[i].key);
		yaml_json(f, v);
		fputs("\n", f);
	}
	if (c->replicas > 1)
		fprintf(f, "      replicas: %d\n", c->replicas);
}

static void
write_binding(FILE *f, const acrt__blueprint *bp, const acrt__binding_spec *b)
{
	const acrt__comp_spec *from = &bp->comps[b->from_comp], *to = &bp->comps[b->to_comp];
	if (strcmp(b->from_port, "dead_letter") == 0 && from->capabilities &&
	    json_object_get(from->capabilities, "dead_letter"))
		return; /* the capability makes it */
	char fe[300], te[300];
	snprintf(fe, sizeof fe, "%s.%s", from->name, b->from_port);
	snprintf(te, sizeof te, "%s.%s", to->name, renamed_input(to) ? "response" : b->to_port);
	fputs("    - {from: ", f);
	yaml_str(f, fe);
	fputs(", to: ", f);
	yaml_str(f, te);
	if (b->buffer_size != bp->default_buffer)
		fprintf(f, ", buffer_size: %zu", b->buffer_size);
	if (b->allow_cycle)
		fputs(", allow_cycle: true", f);
	fputs("}\n", f);
}

static void
convert(FILE *f, const acrt__blueprint *bp)
{
	fprintf(f,
	        "# The native form of %s, as acrt validate understood it\n"
	        "# (acrt convert; docs/AUTOCODER.md).\n",
	        bp->arch_path);
	fputs("schema_version: \"1.0.0\"\nsystem:\n  name: ", f);
	yaml_str(f, bp->name);
	fputs("\n", f);
	if (bp->description) {
		fputs("  description: ", f);
		yaml_str(f, bp->description);
		fputs("\n", f);
	}
	if (bp->version) {
		fputs("  version: ", f);
		yaml_str(f, bp->version);
		fputs("\n", f);
	}
	fputs("  components:\n", f);
	for (size_t i = 0; i < bp->n_comps; i++)
		write_component(f, bp, i);
	fputs(bp->n_bindings ? "  bindings:\n" : "  bindings: []\n", f);
	for (size_t i = 0; i < bp->n_bindings; i++)
		write_binding(f, bp, &bp->bindings[i]);
	if (json_object_size(bp->schemas) > 0) {
		const char *k;
		json_t *v;
		fputs("schemas:\n", f);
		json_object_foreach(bp->schemas, k, v)
		{
			fputs("  ", f);
			yaml_str(f, k);
			fputs(": ", f);
			yaml_json(f, v);
			fputs("\n", f);
		}
	}
}

int
acrt__cmd_convert(int argc, char **argv)
{
	const char *path = NULL, *deployment = NULL;
	int d;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((d = acrt__cli_deployment_opt("convert", argc, argv, &i, &deployment)) != 0) {
			if (d < 0)
				return 2;
		} else if (a[0] == '-') {
			return acrt__cli_usage_error("convert: unknown option '%s'", a);
		} else if (path == NULL) {
			path = a;
		} else {
			return acrt__cli_usage_error(
			    "convert: one blueprint at a time ('%s' and '%s')", path, a);
		}
	}
	acrt__blueprint *bp = acrt__cli_load_notes(path ? path : ".", deployment);
	if (bp == NULL)
		return 2;
	convert(stdout, bp);
	acrt__blueprint_free(bp);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("acrt: convert: stdout");
		return 1;
	}
	return 0;
}
