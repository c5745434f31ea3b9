/*
 * rules.c - the checks of a component that need more than its config:
 *
 *   batching       `batching:` (and runtime.batching's defaults, read by
 *                  deploy.c through acrt__batching_read) checked and resolved
 *                  into acrt__comp_spec.batch; then what the descriptor allows
 *                  (acrt__batch_effective, which the wiring calls too)
 *   type rules     what a built-in type demands of the blueprint beyond its
 *                  config: the APIEndpoint's single replica and its
 *                  `response` input with reply
 *                  (acrt__type_replicas_misfit, which the type's setup calls too)
 *   capabilities   every built-in capability's value, through the capability's
 *                  own create() (acrt__cap_check, registered from above with
 *                  acrt__blueprint_set_cap_check), after bindings.c has added
 *                  the dead letter ports
 *
 * So a blueprint that `acrt validate` accepts does not fail at `acrt run` for
 * one of these reasons.
 */
#include <stdio.h>
#include <string.h>

#include "blueprint/bp_int.h"

static const char *const batch_keys[] = {"enabled", "max_items", "max_ms", "error_mode", NULL};
static const char *const modes[] = {"per_item", "fail_fast", NULL};

/* ---- Batching ------------------------------------------------------------- */

int
acrt__batching_read(acrt__bpload *L, const acrt__ynode *m, const char *comp, acrt__batch_spec *b)
{
	char in[200], p[160];
	int rc = 0, r;
	bool own = comp != NULL;
	if (own) {
		snprintf(in, sizeof in, "in batching of component '%s'", comp);
		snprintf(p, sizeof p, "component '%s': batching", comp);
	} else {
		snprintf(in, sizeof in,
		         "in runtime.batching (max_items, max_ms, error_mode: "
		         "batching is turned on by each component's batching.enabled)");
		snprintf(p, sizeof p, "runtime.batching");
	}
	if (acrt__check_keys(L, m, own ? batch_keys : batch_keys + 1, in) < 0)
		rc = -1;
	bool on;
	if (own && (r = acrt__get_bool(L, m, "enabled", &on)) < 0)
		rc = -1;
	else if (own && r == 1)
		b->enabled = on;
	const acrt__ynode *n = acrt__ynode_get(m, "max_items");
	if (n && n->kind != ACRT__Y_NULL) {
		if (n->kind != ACRT__Y_INT || n->i < 1 || n->i > 1000000)
			rc =
			    acrt__err(L, n, "%s.max_items must be an integer from 1 to 1000000", p);
		else
			b->max_items = (size_t)n->i;
	}
	n = acrt__ynode_get(m, "max_ms");
	if (n && n->kind != ACRT__Y_NULL) {
		double ms = n->kind == ACRT__Y_INT ? (double)n->i : n->f;
		if ((n->kind != ACRT__Y_INT && n->kind != ACRT__Y_FLOAT) ||
		    !(ms >= 0 && ms <= 86400000.0))
			rc = acrt__err(L, n,
			               "%s.max_ms must be a number of milliseconds from 0 to "
			               "86400000",
			               p);
		else
			b->max_ns = (int64_t)(ms * 1e6);
	}
	n = acrt__ynode_get(m, "error_mode");
	if (n && n->kind != ACRT__Y_NULL) {
		if (n->kind != ACRT__Y_STR ||
		    (strcmp(n->text, modes[0]) && strcmp(n->text, modes[1]))) {
			char hint[128] = "";
			if (n->kind == ACRT__Y_STR)
				acrt__hint(hint, sizeof hint, n->text, modes, (size_t)-1);
			rc = acrt__err(L, n, "%s.error_mode must be per_item or fail_fast%s", p,
			               hint);
		} else {
			b->fail_fast = !strcmp(n->text, "fail_fast");
		}
	}
	return rc;
}

const char *
acrt__batch_effective(const acrt__batch_spec *spec, const acrt_component_desc *d, size_t n_inputs,
                      acrt__batch_spec *out)
{
	acrt__batch_spec b = *spec;
	if (!b.enabled && d->process == NULL && d->process_batch != NULL && d->run == NULL) {
		/* process_batch only, batching off: batches of one event, no waiting */
		b.enabled = true;
		b.max_items = 1;
		b.max_ns = 0;
	}
	if (b.enabled && (n_inputs == 0 || d->run != NULL))
		return "enabled on a source (a component without input ports or with its own run "
		       "loop)";
	if (b.enabled && d->process == NULL && d->process_batch == NULL)
		return "enabled on a component with neither process nor process_batch";
	*out = b;
	return NULL;
}

/* ---- Type rules ----------------------------------------------------------- */

static const struct {
	const char *type;
	int max_replicas;
	const char *why;
} type_rules[] = {
    {"APIEndpoint", 1,
     "an APIEndpoint runs as one instance (replicas: 1): it owns its listening address; use "
     "`threads` to serve requests on more threads"},
};

const char *
acrt__type_replicas_misfit(const char *type, int replicas)
{
	for (size_t i = 0; type && i < sizeof type_rules / sizeof type_rules[0]; i++)
		if (!strcmp(type_rules[i].type, type) && replicas > type_rules[i].max_replicas)
			return type_rules[i].why;
	return NULL;
}

int
acrt__comp_rules(acrt__bpload *L, size_t idx, const acrt_component_desc *d)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	acrt__comp_aux *a = &L->aux[idx];
	const acrt__ynode *m = NULL, *bn = acrt__ynode_get(a->node, "batching");
	int rc = 0;
	const char *why = acrt__type_replicas_misfit(c->type, c->replicas);
	if (why) {
		const acrt__ynode *at =
		    a->ovr_replicas ? a->ovr_replicas : acrt__ynode_get(a->node, "replicas");
		rc = acrt__err(L, at ? at : a->node, "component '%s': %s", c->name, why);
	}
	if (c->type != NULL && strcmp(c->type, "APIEndpoint") == 0) {
		/* reply reads the answers from input `response`, and only reply has an input */
		bool reply = json_object_get(c->config, "reply") != NULL, has = false;
		for (size_t i = 0; i < c->n_inputs; i++)
			has |= strcmp(c->inputs[i].name, "response") == 0;
		/* The dialect's endpoint (dialect_api.c) takes its answers on any
		 * input (the original's `request`, or one the bindings create, which
		 * are read after this), and keeps its template's input without
		 * reply (bound to nothing: a note). */
		has |= c->dialect_type != NULL;
		if (reply && !has)
			rc = acrt__err(
			    L, a->node,
			    "component '%s': reply needs an input port 'response' (inputs: "
			    "[{name: response}]) with a binding into it: the pipeline's "
			    "answers",
			    c->name);
		else if (!reply && c->n_inputs > 0 && c->dialect_type == NULL)
			rc = acrt__err(
			    L, a->node,
			    "component '%s': an APIEndpoint has an input ('%s') only with "
			    "reply (config.reply: the answers come in on 'response')",
			    c->name, c->inputs[0].name);
	}
	c->batch = L->batch_dflt;
	c->batch.enabled = false; /* never from runtime.batching */
	if (bn && bn->kind == ACRT__Y_MAP) {
		m = bn;
		if (acrt__batching_read(L, m, c->name, &c->batch) < 0)
			return -1;
	}
	acrt__batch_spec eff;
	if (d && (why = acrt__batch_effective(&c->batch, d, c->n_inputs, &eff)) != NULL)
		rc = acrt__err(L, m ? m : a->node, "component '%s': batching %s", c->name, why);
	return rc;
}

/* ---- Capabilities ---------------------------------------------------------- */

/* Set once before any thread starts, read-only afterwards (blueprint.h). */
static acrt__cap_check_fn cap_check;

void
acrt__blueprint_set_cap_check(acrt__cap_check_fn fn)
{
	cap_check = fn;
}

int
acrt__caps_check(acrt__bpload *L)
{
	int rc = 0;
	for (size_t i = 0; i < L->bp->n_comps; i++) {
		acrt__comp_spec *c = &L->bp->comps[i];
		const acrt__ynode *caps = acrt__ynode_get(L->aux[i].node, "capabilities");
		if (L->aux[i].broken || !c->capabilities || !caps || caps->kind != ACRT__Y_MAP)
			continue;
		for (size_t k = 0; k < caps->n; k++) {
			const char *name = caps->keys[k]->text;
			char key[64], err[512];
			if (!strncmp(name, "plugin:", 7))
				continue;
			if (cap_check == NULL) {
				rc = acrt__err(L, caps->items[k],
				               "component '%s': capability '%s' cannot be checked: "
				               "internal error: no capability checker registered",
				               c->name, name);
				continue;
			}
			if (cap_check(name, json_object_get(c->capabilities, name), c, key,
			              sizeof key, err, sizeof err) == 0)
				continue;
			const acrt__ynode *at =
			    key[0] ? acrt__ynode_get(caps->items[k], key) : NULL;
			rc = acrt__err(L, at ? at : caps->items[k], "component '%s': %s", c->name,
			               err);
		}
	}
	return rc;
}
