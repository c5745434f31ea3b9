/*
 * graph.c - the component graph of a blueprint: rejects cycles and computes
 * the topological order the harness starts components in.
 *
 * A cycle is allowed only when every binding on it says allow_cycle: true.
 * A binding into an APIEndpoint's `response` port, or into any input of an
 * APIEndpoint with `reply` (its answers: docs/COMPONENTS.md; the Autocoder
 * dialect's endpoint takes them on `request`) is not an edge of the graph at
 * all: the request/reply
 * cycle it closes is the endpoint's purpose, and it is left out of the order
 * as allow_cycle bindings are.
 * So an edge u->v without allow_cycle is an error exactly when u and v lie in
 * the same strongly connected component of the whole graph (Tarjan). The
 * error names the components of one such cycle, found by a BFS from v back to
 * u inside the SCC.
 *
 * The order (Kahn) ignores allow_cycle edges, which leaves a DAG once the
 * check passed; ties go to the component declared first, so sources come
 * first and the order is stable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/bp_int.h"

/* A binding carrying answers back to an APIEndpoint (see the top). */
static bool
reply_edge(const acrt__blueprint *bp, const acrt__binding_spec *b)
{
	const acrt__comp_spec *c = &bp->comps[b->to_comp];
	return c->type != NULL && strcmp(c->type, "APIEndpoint") == 0 && b->to_port != NULL &&
	       (strcmp(b->to_port, "response") == 0 || json_object_get(c->config, "reply"));
}

typedef struct tarjan {
	const acrt__blueprint *bp;
	long *index, *low, *scc;
	bool *on;
	size_t *stack, sp;
	long next, n_scc;
} tarjan;

static void
strong(tarjan *t, size_t v)
{
	t->index[v] = t->low[v] = t->next++;
	t->stack[t->sp++] = v;
	t->on[v] = true;
	for (size_t e = 0; e < t->bp->n_bindings; e++) {
		const acrt__binding_spec *b = &t->bp->bindings[e];
		if (b->from_comp != v || reply_edge(t->bp, b))
			continue;
		size_t w = b->to_comp;
		if (t->index[w] < 0) {
			strong(t, w);
			if (t->low[w] < t->low[v])
				t->low[v] = t->low[w];
		} else if (t->on[w] && t->index[w] < t->low[v]) {
			t->low[v] = t->index[w];
		}
	}
	if (t->low[v] == t->index[v]) {
		size_t w;
		do {
			w = t->stack[--t->sp];
			t->on[w] = false;
			t->scc[w] = t->n_scc;
		} while (w != v);
		t->n_scc++;
	}
}

/* Writes "a -> b -> ... -> a" for a cycle through edge u->v inside one SCC. */
static void
describe_cycle(const acrt__blueprint *bp, const long *scc, size_t u, size_t v, char *buf,
               size_t len)
{
	size_t n = bp->n_comps;
	long *prev = acrt__malloc(n * sizeof *prev);
	size_t *queue = acrt__malloc(n * sizeof *queue), qh = 0, qt = 0;
	size_t off = 0;
	if (!prev || !queue) {
		snprintf(buf, len, "%s -> %s", bp->comps[u].name, bp->comps[v].name);
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		prev[i] = -2;
	prev[v] = -1;
	queue[qt++] = v;
	while (qh < qt && prev[u] == -2) {
		size_t x = queue[qh++];
		for (size_t e = 0; e < bp->n_bindings; e++) {
			const acrt__binding_spec *b = &bp->bindings[e];
			if (b->from_comp != x || scc[b->to_comp] != scc[u] ||
			    prev[b->to_comp] != -2)
				continue;
			prev[b->to_comp] = (long)x;
			queue[qt++] = b->to_comp;
		}
	}
	/* Path v ... u, reversed from prev; print u -> v -> ... -> u. */
	size_t path_n = 0;
	for (long x = (long)u; x >= 0 && path_n < n; x = prev[x])
		queue[path_n++] = (size_t)x;
	off += (size_t)snprintf(buf + off, len - off, "%s", bp->comps[u].name);
	for (size_t i = path_n; i-- > 0 && off < len;)
		off += (size_t)snprintf(buf + off, len - off, " -> %s", bp->comps[queue[i]].name);
cleanup:
	acrt__free(prev);
	acrt__free(queue);
}

int
acrt__graph_check(acrt__bpload *L)
{
	const acrt__blueprint *bp = L->bp;
	size_t n = bp->n_comps;
	tarjan t = {bp, NULL, NULL, NULL, NULL, NULL, 0, 0, 0};
	bool *reported = NULL;
	int rc = 0;
	t.index = acrt__malloc(n * sizeof *t.index);
	t.low = acrt__malloc(n * sizeof *t.low);
	t.scc = acrt__malloc(n * sizeof *t.scc);
	t.on = acrt__calloc(n, sizeof *t.on);
	t.stack = acrt__malloc(n * sizeof *t.stack);
	reported = acrt__calloc(n, sizeof *reported);
	if (!t.index || !t.low || !t.scc || !t.on || !t.stack || !reported) {
		rc = acrt__err(L, NULL, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		t.index[i] = -1;
	for (size_t i = 0; i < n; i++)
		if (t.index[i] < 0)
			strong(&t, i);
	for (size_t e = 0; e < bp->n_bindings; e++) {
		const acrt__binding_spec *b = &bp->bindings[e];
		long s = t.scc[b->from_comp];
		if (b->allow_cycle || reply_edge(bp, b) || s != t.scc[b->to_comp] || reported[s])
			continue;
		reported[s] = true;
		char path[1024] = "";
		describe_cycle(bp, t.scc, b->from_comp, b->to_comp, path, sizeof path);
		L->errors++;
		acrt__diag_add(L->diag, &b->mark,
		               "cycle: %s (allowed only when every binding on it says allow_cycle: "
		               "true)",
		               path);
		rc = -1;
	}
cleanup:
	acrt__free(t.index);
	acrt__free(t.low);
	acrt__free(t.scc);
	acrt__free(t.on);
	acrt__free(t.stack);
	acrt__free(reported);
	return rc;
}

int
acrt__graph_topo(acrt__blueprint *bp)
{
	size_t n = bp->n_comps, done = 0;
	size_t *indeg = acrt__calloc(n ? n : 1, sizeof *indeg);
	bool *placed = acrt__calloc(n ? n : 1, sizeof *placed);
	size_t *topo = acrt__malloc((n ? n : 1) * sizeof *topo);
	int rc = -1;
	if (!indeg || !placed || !topo)
		goto cleanup;
	for (size_t e = 0; e < bp->n_bindings; e++)
		if (!bp->bindings[e].allow_cycle && !reply_edge(bp, &bp->bindings[e]))
			indeg[bp->bindings[e].to_comp]++;
	while (done < n) {
		size_t v = n;
		for (size_t i = 0; i < n && v == n; i++)
			if (!placed[i] && indeg[i] == 0)
				v = i;
		if (v == n) /* a cycle slipped through: place the rest in order */
			for (size_t i = 0; i < n && v == n; i++)
				if (!placed[i])
					v = i;
		placed[v] = true;
		topo[done++] = v;
		for (size_t e = 0; e < bp->n_bindings; e++) {
			const acrt__binding_spec *b = &bp->bindings[e];
			if (b->from_comp == v && !b->allow_cycle && !reply_edge(bp, b) &&
			    indeg[b->to_comp] > 0)
				indeg[b->to_comp]--;
		}
	}
	acrt__free(bp->topo);
	bp->topo = topo;
	topo = NULL;
	rc = 0;
cleanup:
	acrt__free(indeg);
	acrt__free(placed);
	acrt__free(topo);
	return rc;
}
