/*
 * spread.c - the rules of a component on several nodes (scale-out,
 * docs/MULTINODE.md "Scale-out: a component on several nodes"), which
 * acrt__nodes_check (nodes.c) runs once the bindings are known: no source,
 * no APIEndpoint, no Sink writing to PostgreSQL on several nodes, and each
 * binding of such a component joins it to a component on the same nodes (the
 * binding is local on each) or on nodes apart (it crosses, a lane per pair).
 * Each error points at the second node listing the component.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"

/* The entry naming component `name` in the second node listing it (the one
 * that spread it), or the nodes: mapping. */
static const acrt__ynode *
second_listing(const acrt__ynode *nodes, const char *name, const char **node)
{
	size_t seen = 0;
	for (size_t k = 0; nodes && nodes->kind == ACRT__Y_MAP && k < nodes->n; k++) {
		const acrt__ynode *cs = acrt__ynode_get(nodes->items[k], "components");
		for (size_t i = 0; cs && cs->kind == ACRT__Y_SEQ && i < cs->n; i++)
			if (cs->items[i]->kind == ACRT__Y_STR &&
			    strcmp(cs->items[i]->text, name) == 0 && ++seen == 2) {
				*node = nodes->keys[k]->text;
				return cs->items[i];
			}
	}
	*node = "?";
	return nodes;
}

/* The nodes of set m, "a, b and c", into buf. */
static const char *
node_list(const acrt__blueprint *bp, uint64_t m, char *buf, size_t len)
{
	size_t off = 0, left = (size_t)__builtin_popcountll(m);
	buf[0] = '\0';
	for (size_t k = 0; k < bp->nodes.n && off < len; k++)
		if (m & (UINT64_C(1) << k))
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			                        off == 0      ? ""
			                        : --left == 1 ? " and "
			                                      : ", ",
			                        bp->nodes.names[k]);
	return buf;
}

/* Why component c cannot run on several nodes, or NULL. */
static const char *
spread_misfit(const acrt__blueprint *bp, size_t c)
{
	const acrt__comp_spec *s = &bp->comps[c];
	bool fed = false;
	for (size_t i = 0; i < bp->n_bindings; i++)
		fed |= bp->bindings[i].to_comp == c;
	const char *sink = json_string_value(json_object_get(s->config, "sink"));
	int total =
	    (s->replicas > 0 ? s->replicas : 1) * __builtin_popcountll(bp->nodes.on_comp[c]);
	const char *why = acrt__type_replicas_misfit(s->type, total);
	if (!fed)
		return "a component no binding feeds (a source) runs on one node: on "
		       "several, each would emit the same events";
	if (why != NULL)
		return why;
	if (s->type && strcmp(s->type, "Sink") == 0 && sink && strcmp(sink, "postgres") == 0)
		return "a Sink writing to PostgreSQL runs on one node (its positions in "
		       "acrt_positions are per replica, and replicas on two nodes would share "
		       "them)";
	return NULL;
}

int
acrt__nodes_check_spread(acrt__bpload *L)
{
	const acrt__blueprint *bp = L->bp;
	const acrt__ynode *nodes = acrt__ynode_get(L->deploy, "nodes");
	int rc = 0;
	for (size_t c = 0; c < bp->n_comps; c++) {
		uint64_t m = bp->nodes.on_comp[c];
		if (m == 0 || (m & (m - 1)) == 0)
			continue; /* on one node */
		const char *at_node, *name = bp->comps[c].name, *why;
		const acrt__ynode *at = second_listing(nodes, name, &at_node);
		char l1[200], l2[200];
		if ((why = spread_misfit(bp, c)) != NULL) {
			rc = acrt__err(L, at, "nodes.%s: component '%s' is on nodes %s: %s",
			               at_node, name, node_list(bp, m, l1, sizeof l1), why);
			continue;
		}
		for (size_t i = 0; i < bp->n_bindings; i++) {
			const acrt__binding_spec *b = &bp->bindings[i];
			if (b->from_comp != c && b->to_comp != c)
				continue;
			size_t o = b->from_comp == c ? b->to_comp : b->from_comp;
			uint64_t om = bp->nodes.on_comp[o];
			if (om == m || (om & m) == 0)
				continue;
			rc = acrt__err(
			    L, at,
			    "nodes.%s: component '%s' is on nodes %s, and its binding "
			    "%s.%s -> %s.%s joins it to '%s' on %s: the two ends of a "
			    "binding run on the same nodes (the binding is local on each) "
			    "or on nodes apart (it crosses)",
			    at_node, name, node_list(bp, m, l1, sizeof l1),
			    bp->comps[b->from_comp].name, b->from_port, bp->comps[b->to_comp].name,
			    b->to_port, bp->comps[o].name, node_list(bp, om, l2, sizeof l2));
			break;
		}
	}
	return rc;
}
