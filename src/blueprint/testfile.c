/*
 * testfile.c - reads and checks the test files of `acrt test` (testfile.h,
 * docs/TESTING.md) with the blueprint's own YAML tree, so that each error
 * names file:line:col and the key, as the loader's do.
 *
 *   tests:
 *     - name: reshape renames amount
 *       component: reshape          # or components: [reshape, enrich]
 *       input:                      # or a list of such mappings, fed in turn
 *         reshape.input: [{seq: 1, amount: 42}]
 *       expect:
 *         reshape.output:
 *           - {seq: 1, amount_cents: 42}   # exact, by value
 *           - jq: '.seq == 1'              # a condition
 *           - equals: {jq: 1}              # exact, when the event is {jq: ...}
 *           - contains: {seq: 1}           # these members, the others free
 *       order: any                  # optional (default: strict)
 *       timeout_ms: 10000           # optional: the run is stopped past it
 *
 * Events become JSON text here: a plain (unquoted) scalar that is a JSON
 * number keeps its text exactly (12345678901234567890, 0.10000000000000000001,
 * 1.50), other YAML numbers (0x1f, .5) are printed from their value, and a
 * quoted scalar is a string.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"
#include "blueprint/testfile.h"
#include "core/common.h"
#include "core/json.h"

static const char *const top_keys[] = {"tests", NULL};
static const char *const case_keys[] = {"name",       "description", "component",
                                        "components", "input",       "expect",
                                        "order",      "timeout_ms",  NULL};
/* The longest timeout_ms: a day. */
#define MAX_TIMEOUT_MS 86400000
static const char *const orders[] = {"strict", "any", NULL};

/* ---- YAML values as JSON text ------------------------------------------------ */

/* Whether s is one JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
json_number(const char *s)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* Appends n as JSON. 0, or -1 after reporting a value JSON cannot hold. */
static int
put_value(acrt__bpload *L, acrt__jbuf *b, const acrt__ynode *n)
{
	char num[32];
	switch (n->kind) {
	case ACRT__Y_NULL:
		acrt__jbuf_put(b, "null", 4);
		return 0;
	case ACRT__Y_BOOL:
		acrt__jbuf_put(b, n->b ? "true" : "false", n->b ? 4 : 5);
		return 0;
	case ACRT__Y_INT:
		if (json_number(n->text))
			acrt__jbuf_put(b, n->text, strlen(n->text));
		else
			acrt__jbuf_put(b, num, acrt__json_itoa(n->i, num));
		return 0;
	case ACRT__Y_FLOAT:
		if (!isfinite(n->f))
			return acrt__err(L, n,
			                 "'%s' is not a JSON number (JSON has no infinity or NaN)",
			                 n->text);
		if (json_number(n->text))
			acrt__jbuf_put(b, n->text, strlen(n->text));
		else
			acrt__jbuf_put(b, num, acrt__json_dtoa(n->f, num));
		return 0;
	case ACRT__Y_STR:
		if (n->plain && json_number(n->text)) /* past int64: YAML left it a string */
			acrt__jbuf_put(b, n->text, strlen(n->text));
		else
			acrt__jbuf_string(b, n->text, strlen(n->text));
		return 0;
	case ACRT__Y_SEQ:
		acrt__jbuf_putc(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			if (i > 0)
				acrt__jbuf_putc(b, ',');
			if (put_value(L, b, n->items[i]) < 0)
				return -1;
		}
		acrt__jbuf_putc(b, ']');
		return 0;
	case ACRT__Y_MAP:
		acrt__jbuf_putc(b, '{');
		for (size_t i = 0; i < n->n; i++) {
			if (i > 0)
				acrt__jbuf_putc(b, ',');
			acrt__jbuf_string(b, n->keys[i]->text, strlen(n->keys[i]->text));
			acrt__jbuf_putc(b, ':');
			if (put_value(L, b, n->items[i]) < 0)
				return -1;
		}
		acrt__jbuf_putc(b, '}');
		return 0;
	}
	return -1;
}

/* One item: an event, `jq: PROGRAM`, `equals: VALUE` or `contains: VALUE`
 * (conds), else a value. */
static int
read_item(acrt__bpload *L, const acrt__ynode *n, bool conds, acrt__test_item *it)
{
	it->mark = n->mark;
	if (conds && n->kind == ACRT__Y_MAP && n->n == 1 && !strcmp(n->keys[0]->text, "jq")) {
		const acrt__ynode *q = n->items[0];
		if (q->kind != ACRT__Y_STR || q->text[0] == '\0')
			return acrt__err_type(L, q, "jq",
			                      "a jq program (a condition on the event)");
		if ((it->jq = acrt__strdup(q->text)) == NULL)
			return acrt__err(L, n, "out of memory");
		return 0;
	}
	if (conds && n->kind == ACRT__Y_MAP && n->n == 1 && !strcmp(n->keys[0]->text, "equals"))
		n = n->items[0];
	else if (conds && n->kind == ACRT__Y_MAP && n->n == 1 &&
	         !strcmp(n->keys[0]->text, "contains")) {
		n = n->items[0];
		it->contains = true;
	}
	acrt__jbuf b;
	acrt__jbuf_init(&b);
	if (put_value(L, &b, n) < 0) {
		acrt__jbuf_free(&b);
		return -1;
	}
	if ((it->json = acrt__jbuf_take(&b, &it->len)) == NULL)
		return acrt__err(L, n, "out of memory");
	return 0;
}

/* "COMPONENT.PORT", or "PORT" when the test names one component. */
static int
read_ref(acrt__bpload *L, const acrt__test_case *tc, const acrt__ynode *key, const char *what,
         acrt__test_port *p)
{
	const char *t = key->text, *dot = strchr(t, '.');
	p->mark = key->mark;
	if (dot == NULL && tc->n_comps != 1)
		return acrt__err(L, key,
		                 "%s: '%s': name the port as COMPONENT.PORT (the test has %zu "
		                 "components)",
		                 what, t, tc->n_comps);
	if (dot != NULL && (dot == t || dot[1] == '\0' || strchr(dot + 1, '.') != NULL))
		return acrt__err(L, key, "%s: '%s': expected COMPONENT.PORT", what, t);
	p->comp = dot ? acrt__bp_strndup(t, (size_t)(dot - t))
	              : (tc->n_comps == 1 ? acrt__strdup(tc->comps[0]) : NULL);
	p->port = acrt__strdup(dot ? dot + 1 : t);
	if (p->comp == NULL || p->port == NULL)
		return acrt__err(L, key, "out of memory");
	return 0;
}

/* One COMPONENT.PORT: [events] entry into p. */
static int
read_entry(acrt__bpload *L, acrt__test_case *tc, const acrt__ynode *key, const acrt__ynode *v,
           const char *what, acrt__test_port *p)
{
	int rc = 0;
	if (read_ref(L, tc, key, what, p) < 0)
		return -1;
	if (v->kind == ACRT__Y_NULL)
		return 0; /* no events */
	if (v->kind != ACRT__Y_SEQ)
		return acrt__err_type(L, v, key->text, "a list of events");
	if ((p->items = acrt__calloc(v->n ? v->n : 1, sizeof *p->items)) == NULL)
		return acrt__err(L, v, "out of memory");
	for (size_t k = 0; k < v->n; k++, p->n++)
		if (read_item(L, v->items[k], what[0] == 'e', &p->items[k]) < 0)
			rc = -1;
	return rc;
}

/* input: or expect: a mapping of port -> list of events; input: also a list
 * of such mappings (segments fed in turn, a port may come back). */
static int
read_ports(acrt__bpload *L, acrt__test_case *tc, const acrt__ynode *m, const char *what,
           acrt__test_port **out, size_t *nout)
{
	int rc = 0;
	bool input = what[0] == 'i';
	size_t total = 0;
	if (m->kind == ACRT__Y_NULL)
		return 0;
	if (m->kind == ACRT__Y_SEQ && input) {
		for (size_t s = 0; s < m->n; s++) {
			if (m->items[s]->kind != ACRT__Y_MAP)
				return acrt__err_type(
				    L, m->items[s], what,
				    "a mapping of COMPONENT.PORT to a list of events");
			total += m->items[s]->n;
		}
		tc->input_segments = true;
	} else if (m->kind != ACRT__Y_MAP) {
		return acrt__err_type(L, m, what,
		                      input
		                          ? "a mapping of COMPONENT.PORT to a list of events, or a "
		                            "list of such mappings"
		                          : "a mapping of COMPONENT.PORT to a list of events");
	} else {
		total = m->n;
	}
	if ((*out = acrt__calloc(total ? total : 1, sizeof **out)) == NULL)
		return acrt__err(L, m, "out of memory");
	bool seq = m->kind == ACRT__Y_SEQ;
	for (size_t s = 0; s < (seq ? m->n : 1); s++) {
		const acrt__ynode *map = seq ? m->items[s] : m;
		for (size_t i = 0; i < map->n; i++)
			if (read_entry(L, tc, map->keys[i], map->items[i], what,
			               &(*out)[(*nout)++]) < 0)
				rc = -1;
	}
	return rc;
}

static int
read_comps(acrt__bpload *L, acrt__test_case *tc, const acrt__ynode *m)
{
	const acrt__ynode *one = acrt__ynode_get(m, "component");
	const acrt__ynode *many = acrt__ynode_get(m, "components");
	const acrt__ynode *const *items = &one;
	size_t n = 1;
	if (one != NULL && many != NULL)
		return acrt__err(L, acrt__ynode_key(m, "components"),
		                 "component and components: give one of them");
	if (one == NULL && many == NULL)
		return acrt__err(L, m,
		                 "test '%s': missing 'component' (or 'components', a sub-graph)",
		                 tc->name ? tc->name : "?");
	if (many != NULL) {
		if (many->kind != ACRT__Y_SEQ || many->n == 0)
			return acrt__err_type(L, many, "components",
			                      "a non-empty list of components");
		items = (const acrt__ynode *const *)many->items;
		n = many->n;
	}
	tc->comps = acrt__calloc(n, sizeof *tc->comps);
	tc->comp_marks = acrt__calloc(n, sizeof *tc->comp_marks);
	if (tc->comps == NULL || tc->comp_marks == NULL)
		return acrt__err(L, m, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (items[i]->kind != ACRT__Y_STR)
			return acrt__err_type(L, items[i], many ? "components" : "component",
			                      "a component name");
		for (size_t k = 0; k < tc->n_comps; k++)
			if (!strcmp(tc->comps[k], items[i]->text))
				return acrt__err(L, items[i], "component '%s' is listed twice",
				                 items[i]->text);
		if ((tc->comps[i] = acrt__strdup(items[i]->text)) == NULL)
			return acrt__err(L, items[i], "out of memory");
		tc->comp_marks[i] = items[i]->mark;
		tc->n_comps = i + 1;
	}
	return 0;
}

static int
read_case(acrt__bpload *L, const acrt__ynode *m, acrt__test_case *tc)
{
	const char *s;
	int rc = 0;
	tc->mark = m->mark;
	if (m->kind != ACRT__Y_MAP)
		return acrt__err_type(L, m, "tests", "a list of tests (mappings)");
	if (acrt__check_keys(L, m, case_keys, "in a test") < 0)
		rc = -1;
	int r = acrt__get_str(L, m, "name", &s);
	if (r == 0)
		rc = acrt__err(L, m, "a test needs a 'name'");
	else if (r == 1 && (tc->name = acrt__strdup(s)) == NULL)
		return acrt__err(L, m, "out of memory");
	if (acrt__ynode_get(m, "description") != NULL &&
	    acrt__get_text(L, m, "description", &s) < 0)
		rc = -1;
	if ((r = acrt__get_str(L, m, "order", &s)) == 1) {
		if (!strcmp(s, "any"))
			tc->any_order = true;
		else if (strcmp(s, "strict") != 0) {
			char hint[128];
			acrt__hint(hint, sizeof hint, s, orders, (size_t)-1);
			rc = acrt__err(L, acrt__ynode_get(m, "order"),
			               "order: expected strict or any, got '%s'%s", s, hint);
		}
	} else if (r < 0) {
		rc = -1;
	}
	tc->timeout_ms = 10000;
	if ((r = acrt__get_int(L, m, "timeout_ms", 1, &tc->timeout_ms)) < 0)
		rc = -1;
	else if (r == 1 && tc->timeout_ms > MAX_TIMEOUT_MS)
		rc = acrt__err(L, acrt__ynode_get(m, "timeout_ms"),
		               "timeout_ms must be <= %d (a day)", MAX_TIMEOUT_MS);
	if (read_comps(L, tc, m) < 0)
		return -1; /* the ports below need the components */
	const acrt__ynode *in = acrt__ynode_get(m, "input");
	const acrt__ynode *ex = acrt__ynode_get(m, "expect");
	if (in != NULL && read_ports(L, tc, in, "input", &tc->inputs, &tc->n_inputs) < 0)
		rc = -1;
	if (ex == NULL)
		rc = acrt__err(L, m, "test '%s': missing 'expect' (the output ports to check)",
		               tc->name ? tc->name : "?");
	else if (read_ports(L, tc, ex, "expect", &tc->expect, &tc->n_expect) < 0)
		rc = -1;
	return rc;
}

int
acrt__testfile_load(const char *path, acrt__test_file **out, acrt__diag *d)
{
	acrt__test_file *f = acrt__calloc(1, sizeof *f);
	acrt__ynode *root = NULL;
	acrt__mark top = {path, 1, 1};
	int rc = -1;
	if (f == NULL || (f->path = acrt__strdup(path)) == NULL) {
		acrt__diag_add(d, &top, "out of memory");
		goto cleanup;
	}
	if (acrt__yaml_load(f->path, &root, d) < 0)
		goto cleanup;
	/* acrt__err needs a blueprint for marks-less errors: the file itself */
	acrt__blueprint fake = {.arch_path = f->path};
	acrt__bpload L = {.bp = &fake, .diag = d};
	const acrt__ynode *tests = root != NULL ? acrt__ynode_get(root, "tests") : NULL;
	if (root == NULL || root->kind != ACRT__Y_MAP || tests == NULL) {
		acrt__err(&L, root != NULL && root->kind == ACRT__Y_MAP ? root : NULL,
		          "expected a mapping with 'tests:' (a list of tests)");
		goto cleanup;
	}
	(void)acrt__check_keys(&L, root, top_keys, "at the top of a test file");
	if (tests->kind != ACRT__Y_SEQ || tests->n == 0) {
		acrt__err_type(&L, tests, "tests", "a non-empty list of tests");
		goto cleanup;
	}
	if ((f->cases = acrt__calloc(tests->n, sizeof *f->cases)) == NULL) {
		acrt__err(&L, tests, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < tests->n; i++, f->n++)
		(void)read_case(&L, tests->items[i], &f->cases[i]);
	for (size_t i = 0; i < f->n; i++) /* names are unique within a file */
		for (size_t k = 0; k < i && f->cases[i].name; k++)
			if (f->cases[k].name && !strcmp(f->cases[i].name, f->cases[k].name)) {
				acrt__err(&L, acrt__ynode_get(tests->items[i], "name"),
				          "test '%s' is named twice in this file",
				          f->cases[i].name);
				break;
			}
	*out = f; /* with errors too: the check can still report what it finds */
	f = NULL;
	rc = L.errors > 0 ? -1 : 0;
cleanup:
	acrt__ynode_free(root);
	acrt__testfile_free(f);
	return rc;
}

static void
free_ports(acrt__test_port *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < p[i].n; k++) {
			acrt__free(p[i].items[k].json);
			acrt__free(p[i].items[k].jq);
		}
		acrt__free(p[i].items);
		acrt__free(p[i].comp);
		acrt__free(p[i].port);
	}
	acrt__free(p);
}

void
acrt__testfile_free(acrt__test_file *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		acrt__test_case *tc = &f->cases[i];
		acrt__free(tc->name);
		for (size_t k = 0; k < tc->n_comps; k++)
			acrt__free(tc->comps[k]);
		acrt__free(tc->comps);
		acrt__free(tc->comp_marks);
		free_ports(tc->inputs, tc->n_inputs);
		free_ports(tc->expect, tc->n_expect);
	}
	acrt__free(f->cases);
	acrt__free(f->path);
	acrt__free(f);
}
