/*
 * testcut.c - the blueprint side of `acrt test` (testfile.h, docs/TESTING.md):
 * a test file checked against the loaded blueprint, and the blueprint cut
 * down to the components one test names.
 *
 * The cut works as acrt__blueprint_node_narrow does for `--node`: the
 * runtime below sees an ordinary blueprint. The components under test come
 * first, with the bindings among them; the cut bindings are replaced by
 * bindings to two test endpoints, components whose descriptor is given
 * directly (acrt__comp_spec.desc; runtime/testpoint.h implements them):
 *
 *   feeder  (a source)  output "C.P" -> input P of C, for each input port P of
 *                       a component C under test bound from one left out
 *   capture (a sink)    input "C.P" <- output P of C, for each output port P
 *                       bound to a component left out (fan-out: one binding)
 *
 * So the events a test feeds go through the same wiring, chaining, streams,
 * capability chains and end of stream as in `acrt run`, and the run ends when
 * the feeder has sent everything and it has drained.
 */
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"
#include "blueprint/testfile.h"
#include "core/common.h"

/* ---- Which ports a test may feed and check ---------------------------------- */

static bool
listed(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static bool
has_port(const acrt__port_spec *ps, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ps[i].name, name))
			return true;
	return false;
}

/* Bindings into input port of c: from components under test (*inside) and
 * from those left out (*outside). */
static void
count_in(const acrt__blueprint *bp, char *const *names, size_t n, size_t c, const char *port,
         size_t *inside, size_t *outside, const char **from)
{
	*inside = *outside = 0;
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		if (b->to_comp != c || strcmp(b->to_port, port) != 0)
			continue;
		if (listed(names, n, bp->comps[b->from_comp].name)) {
			(*inside)++;
			*from = bp->comps[b->from_comp].name;
		} else {
			(*outside)++;
		}
	}
}

static void
count_out(const acrt__blueprint *bp, char *const *names, size_t n, size_t c, const char *port,
          size_t *inside, size_t *outside)
{
	*inside = *outside = 0;
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		if (b->from_comp != c || strcmp(b->from_port, port) != 0)
			continue;
		if (listed(names, n, bp->comps[b->to_comp].name))
			(*inside)++;
		else
			(*outside)++;
	}
}

/* The ports of component c as a list for hints. */
static size_t
port_names(const acrt__port_spec *ps, size_t n, const char **out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++)
		out[k++] = ps[i].name;
	return k;
}

static int
check_port(const acrt__test_case *tc, const acrt__test_port *p, bool input,
           const acrt__blueprint *bp, acrt__diag *d)
{
	const char *what = input ? "input" : "expect";
	if (p->comp == NULL || p->port == NULL)
		return -1; /* reported while reading */
	if (!listed(tc->comps, tc->n_comps, p->comp))
		return acrt__diag_add(d, &p->mark,
		                      "%s: '%s.%s': component '%s' is not under test in '%s' (list "
		                      "it in components:)",
		                      what, p->comp, p->port, p->comp, tc->name);
	long c = acrt__blueprint_find(bp, p->comp);
	if (c < 0)
		return -1; /* reported with the component */
	const acrt__comp_spec *cs = &bp->comps[c];
	const acrt__port_spec *ps = input ? cs->inputs : cs->outputs;
	size_t nps = input ? cs->n_inputs : cs->n_outputs;
	if (!has_port(ps, nps, p->port)) {
		const char *names[64];
		char hint[128];
		acrt__hint(hint, sizeof hint, p->port, names, port_names(ps, nps, names, 64));
		return acrt__diag_add(d, &p->mark, "%s: component '%s' has no %s port '%s'%s", what,
		                      p->comp, input ? "input" : "output", p->port, hint);
	}
	size_t in = 0, out = 0;
	const char *from = NULL;
	if (input) {
		count_in(bp, tc->comps, tc->n_comps, (size_t)c, p->port, &in, &out, &from);
		if (out == 0 && in > 0)
			return acrt__diag_add(
			    d, &p->mark,
			    "input: '%s.%s' is bound from '%s', which is under test too: feed the "
			    "inputs that come from outside the tested components",
			    p->comp, p->port, from);
		if (out == 0)
			return acrt__diag_add(d, &p->mark,
			                      "input: '%s.%s' is not bound in the blueprint",
			                      p->comp, p->port);
		return 0;
	}
	count_out(bp, tc->comps, tc->n_comps, (size_t)c, p->port, &in, &out);
	if (out == 0)
		return acrt__diag_add(
		    d, &p->mark,
		    "expect: '%s.%s' %s: only outputs bound to components left out of "
		    "the test are captured",
		    p->comp, p->port,
		    in > 0 ? "goes only to components under test"
		           : "is not bound in the blueprint (its events are dropped)");
	return 0;
}

static int
check_case(const acrt__test_case *tc, const acrt__blueprint *bp, acrt__test_jq_check_fn jq_check,
           acrt__diag *d)
{
	int rc = 0;
	if (tc->name == NULL || tc->n_comps == 0)
		return 0; /* reported while reading */
	for (size_t i = 0; i < tc->n_comps; i++)
		if (acrt__blueprint_find(bp, tc->comps[i]) < 0) {
			const char *names[256];
			size_t m = 0;
			char hint[128];
			for (size_t j = 0; j < bp->n_comps && m < 256; j++)
				names[m++] = bp->comps[j].name;
			acrt__hint(hint, sizeof hint, tc->comps[i], names, m);
			rc = acrt__diag_add(d, &tc->comp_marks[i],
			                    "test '%s': the blueprint has no component '%s'%s",
			                    tc->name, tc->comps[i], hint);
		}
	for (size_t i = 0; i < tc->n_inputs; i++) {
		if (check_port(tc, &tc->inputs[i], true, bp, d) < 0)
			rc = -1;
		for (size_t k = 0; k < i && !tc->input_segments; k++)
			if (tc->inputs[i].comp && tc->inputs[k].comp &&
			    !strcmp(tc->inputs[k].comp, tc->inputs[i].comp) &&
			    !strcmp(tc->inputs[k].port, tc->inputs[i].port))
				rc = acrt__diag_add(d, &tc->inputs[i].mark,
				                    "input: '%s.%s' is given twice",
				                    tc->inputs[i].comp, tc->inputs[i].port);
	}
	for (size_t i = 0; i < tc->n_expect; i++) {
		const acrt__test_port *p = &tc->expect[i];
		if (check_port(tc, p, false, bp, d) < 0)
			rc = -1;
		for (size_t k = 0; k < i; k++)
			if (p->comp && tc->expect[k].comp && !strcmp(tc->expect[k].comp, p->comp) &&
			    !strcmp(tc->expect[k].port, p->port))
				rc = acrt__diag_add(d, &p->mark, "expect: '%s.%s' is given twice",
				                    p->comp, p->port);
		for (size_t k = 0; k < p->n; k++) {
			char err[256];
			if (p->items[k].jq != NULL &&
			    jq_check(p->items[k].jq, err, sizeof err) != 0)
				rc = acrt__diag_add(d, &p->items[k].mark, "jq: %s",
				                    strncmp(err, "jq: ", 4) == 0 ? err + 4 : err);
		}
	}
	return rc;
}

int
acrt__testfile_check(const acrt__test_file *f, const acrt__blueprint *bp,
                     acrt__test_jq_check_fn jq_check, acrt__diag *d)
{
	int rc = 0;
	for (size_t i = 0; i < f->n; i++)
		if (check_case(&f->cases[i], bp, jq_check, d) < 0)
			rc = -1;
	return rc;
}

/* ---- The cut ------------------------------------------------------------------ */

/* Frees what a component spec owns (load.c frees the kept ones). */
static void
comp_clear(acrt__comp_spec *c)
{
	acrt__free(c->name);
	acrt__free(c->type);
	acrt__free(c->plugin_path);
	acrt__free(c->plugin_symbol);
	json_decref(c->config);
	for (size_t i = 0; i < c->n_inputs; i++) {
		acrt__free(c->inputs[i].name);
		json_decref(c->inputs[i].schema);
	}
	acrt__free(c->inputs);
	for (size_t i = 0; i < c->n_outputs; i++) {
		acrt__free(c->outputs[i].name);
		json_decref(c->outputs[i].schema);
	}
	acrt__free(c->outputs);
	json_decref(c->capabilities);
	json_decref(c->batching);
	json_decref(c->state);
	memset(c, 0, sizeof *c);
}

/* A test endpoint's spec with room for n ports (named by add_port). Its
 * name has a dot, which no component name has: it cannot clash. */
static int
endpoint(acrt__comp_spec *c, const char *name, const acrt__mark *mark,
         const acrt_component_desc *desc, void *arg, bool source, size_t n)
{
	memset(c, 0, sizeof *c);
	c->name = acrt__strdup(name);
	c->type = acrt__strdup(name);
	c->config = json_object();
	acrt__port_spec *ps = acrt__calloc(n ? n : 1, sizeof *ps);
	if (source)
		c->outputs = ps;
	else
		c->inputs = ps;
	c->replicas = 1;
	c->mark = *mark;
	c->desc = desc;
	c->test_arg = arg;
	return c->name && c->type && c->config && ps ? 0 : -1;
}

static int
add_port(acrt__comp_spec *c, bool source, const char *comp, const char *port)
{
	acrt__port_spec *p = source ? &c->outputs[c->n_outputs] : &c->inputs[c->n_inputs];
	if ((p->name = acrt__bp_printf("%s.%s", comp, port)) == NULL)
		return -1;
	p->mark = c->mark;
	if (source)
		c->n_outputs++;
	else
		c->n_inputs++;
	return 0;
}

static int
add_binding(acrt__blueprint *bp, size_t from, const char *fport, size_t to, const char *tport,
            const acrt__mark *mark)
{
	acrt__binding_spec *b = &bp->bindings[bp->n_bindings];
	memset(b, 0, sizeof *b);
	b->from_comp = from;
	b->to_comp = to;
	b->from_port = acrt__strdup(fport);
	b->to_port = acrt__strdup(tport);
	b->buffer_size = bp->default_buffer;
	b->mark = *mark;
	if (b->from_port == NULL || b->to_port == NULL) {
		acrt__free(b->from_port);
		acrt__free(b->to_port);
		b->from_port = b->to_port = NULL;
		return -1;
	}
	bp->n_bindings++;
	return 0;
}

int
acrt__blueprint_test_cut(acrt__blueprint *bp, char *const *names, size_t n,
                         const acrt_component_desc *feeder, void *feeder_arg,
                         const acrt_component_desc *capture, void *capture_arg, char *err,
                         size_t errlen)
{
	acrt__nodes_free(bp); /* every component runs here */
	size_t nc = bp->n_comps, nb = bp->n_bindings, kept = 0, nfeed = 0, ncap = 0;
	size_t *newpos = acrt__malloc((nc ? nc : 1) * sizeof *newpos);
	acrt__comp_spec *comps = acrt__calloc(n + 2, sizeof *comps);
	/* at most: every old binding, one per fed input, one per captured output */
	size_t maxb = nb;
	for (size_t i = 0; i < nc; i++)
		maxb += bp->comps[i].n_inputs + bp->comps[i].n_outputs;
	acrt__binding_spec *binds = acrt__calloc(maxb ? maxb : 1, sizeof *binds);
	bool *moved = acrt__calloc(nb ? nb : 1, sizeof *moved);
	int rc = -1;
	if (!newpos || !comps || !binds || !moved)
		goto cleanup;
	for (size_t i = 0; i < nc; i++) { /* the tested first, in blueprint order */
		newpos[i] = SIZE_MAX;
		if (listed(names, n, bp->comps[i].name)) {
			newpos[i] = kept;
			comps[kept] = bp->comps[i];
			comps[kept++].replicas = 1;
		}
	}
	size_t at = 0;
	for (size_t i = 0; i < nb; i++) {
		acrt__binding_spec *b = &bp->bindings[i];
		if (newpos[b->from_comp] != SIZE_MAX && newpos[b->to_comp] != SIZE_MAX) {
			binds[at] = *b;
			binds[at].from_comp = newpos[b->from_comp];
			binds[at++].to_comp = newpos[b->to_comp];
			moved[i] = true; /* its strings belong to binds now */
		}
	}
	/* the cut ports, counted on the old bindings */
	for (size_t k = 0; k < kept; k++) {
		size_t old = 0;
		while (newpos[old] != k)
			old++;
		for (size_t p = 0; p < comps[k].n_inputs; p++) {
			size_t in, out;
			const char *from = NULL;
			count_in(bp, names, n, old, comps[k].inputs[p].name, &in, &out, &from);
			nfeed += out > 0;
		}
		for (size_t p = 0; p < comps[k].n_outputs; p++) {
			size_t in, out;
			count_out(bp, names, n, old, comps[k].outputs[p].name, &in, &out);
			ncap += out > 0;
		}
	}
	acrt__mark mark = {bp->arch_path, 1, 1};
	size_t fi = kept, ci = kept + (nfeed > 0);
	if (nfeed > 0 &&
	    endpoint(&comps[fi], "test.feed", &mark, feeder, feeder_arg, true, nfeed) != 0)
		goto cleanup_endpoints;
	if (ncap > 0 &&
	    endpoint(&comps[ci], "test.capture", &mark, capture, capture_arg, false, ncap) != 0)
		goto cleanup_endpoints;
	{                                  /* feed and capture, found on the old bindings */
		acrt__blueprint tmp = *bp; /* the new arrays, for bind() */
		tmp.bindings = binds;
		tmp.n_bindings = at;
		for (size_t k = 0; k < kept; k++) {
			size_t old = 0;
			while (newpos[old] != k)
				old++;
			for (size_t p = 0; p < comps[k].n_inputs; p++) {
				const char *port = comps[k].inputs[p].name, *from = NULL;
				size_t in, out;
				count_in(bp, names, n, old, port, &in, &out, &from);
				if (out == 0)
					continue;
				if (add_port(&comps[fi], true, comps[k].name, port) != 0 ||
				    add_binding(&tmp, fi,
				                comps[fi].outputs[comps[fi].n_outputs - 1].name, k,
				                port, &comps[k].inputs[p].mark) != 0)
					goto cleanup_endpoints;
			}
			for (size_t p = 0; p < comps[k].n_outputs; p++) {
				const char *port = comps[k].outputs[p].name;
				size_t in, out;
				count_out(bp, names, n, old, port, &in, &out);
				if (out == 0)
					continue;
				if (add_port(&comps[ci], false, comps[k].name, port) != 0 ||
				    add_binding(&tmp, k, port, ci,
				                comps[ci].inputs[comps[ci].n_inputs - 1].name,
				                &comps[k].outputs[p].mark) != 0)
					goto cleanup_endpoints;
			}
		}
		at = tmp.n_bindings;
	}
	/* swap the new arrays in; the old bindings left are freed */
	for (size_t i = 0; i < nb; i++)
		if (!moved[i]) {
			acrt__free(bp->bindings[i].from_port);
			acrt__free(bp->bindings[i].to_port);
		}
	acrt__free(bp->bindings);
	for (size_t i = 0; i < nc; i++)
		if (newpos[i] == SIZE_MAX)
			comp_clear(&bp->comps[i]);
	acrt__free(bp->comps);
	bp->comps = comps;
	bp->n_comps = kept + (nfeed > 0) + (ncap > 0);
	bp->bindings = binds;
	bp->n_bindings = at;
	comps = NULL;
	binds = NULL;
	bp->state.on = false; /* a test stores no checkpoints */
	acrt__free(bp->topo);
	bp->topo = NULL;
	if (acrt__graph_topo(bp) < 0)
		goto cleanup;
	rc = 0;
	goto cleanup;
cleanup_endpoints:
	comp_clear(&comps[kept]);
	comp_clear(&comps[kept + 1]);
	for (size_t i = at; i < maxb; i++) { /* the endpoints' own; the moved stay bp's */
		acrt__free(binds[i].from_port);
		acrt__free(binds[i].to_port);
	}
cleanup:
	if (rc != 0)
		snprintf(err, errlen, "out of memory while cutting the blueprint for the test");
	acrt__free(newpos);
	acrt__free(moved);
	acrt__free(comps);
	acrt__free(binds);
	return rc;
}
