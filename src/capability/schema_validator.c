/*
 * schema_validator.c - the schema_validator capability (SPEC section 1,
 * `schema_validator: {strict: bool}`, tier 10): every event received on an
 * input port that has a schema is validated against it (JSON Schema draft
 * 2020-12, schema.h); with strict: true every event the component emits on an
 * output port that has a schema is validated too.
 *
 * Schemas are compiled once, in create(). The valid path allocates nothing:
 * acrt__schema_validate is called without an error list (first failure stops
 * it); only when an event is invalid is it validated again to collect every
 * error's instance path and keyword for the reason, which reads
 *
 *   /seq: maximum; /name: type
 *
 * (at most ~400 characters, "; ..." when cut). A payload that is not JSON
 * fails with "payload is not JSON". In a batch (call->n > 1) every event is
 * checked; one invalid event fails the whole delivery and the reason names
 * its index. Counters: passed / rejected (input events), out_passed /
 * out_rejected (strict: emitted events).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability/caps.h"
#include "core/common.h"
#include "schema/schema.h"

typedef struct sv_port {
	const char *name; /* borrowed from the component spec */
	acrt__schema *schema;
} sv_port;

typedef struct sv_state {
	sv_port *in;
	size_t n_in;
	sv_port *out;
	size_t n_out;
	bool strict;
	/* Written by the instance's thread only, read by stats(). */
	atomic_uint_fast64_t passed, rejected, out_passed, out_rejected;
} sv_state;

static void
sv_destroy(void *state)
{
	sv_state *s = state;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_in; i++)
		acrt__schema_free(s->in[i].schema);
	for (size_t i = 0; i < s->n_out; i++)
		acrt__schema_free(s->out[i].schema);
	acrt__free(s->in);
	acrt__free(s->out);
	acrt__free(s);
}

/* Compiles the schemas of the ports that have one into *out. 0 or -1 with err. */
static int
compile_ports(const acrt__port_spec *ports, size_t n, const char *dir, sv_port **out, size_t *n_out,
              char *err, size_t errlen)
{
	*out = acrt__calloc(n ? n : 1, sizeof **out);
	if (*out == NULL) {
		snprintf(err, errlen, "schema_validator: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (ports[i].schema == NULL)
			continue;
		char why[256] = "";
		acrt__schema *c = acrt__schema_compile(ports[i].schema, why, sizeof why);
		if (c == NULL) {
			snprintf(err, errlen, "schema_validator: schema of %s port '%s': %s", dir,
			         ports[i].name, why);
			return -1;
		}
		(*out)[*n_out].name = ports[i].name;
		(*out)[(*n_out)++].schema = c;
	}
	return 0;
}

static int
sv_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err, size_t errlen)
{
	bool strict = false;
	if (json_is_object(config)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)config, k, v)
		{
			if (strcmp(k, "strict") == 0) {
				if (!json_is_boolean(v)) {
					snprintf(
					    err, errlen,
					    "schema_validator: 'strict' must be true or false");
					return -1;
				}
				strict = json_is_true(v);
			} else if (strcmp(k, "enabled") != 0) {
				snprintf(
				    err, errlen,
				    "schema_validator: unknown key '%s' (known: strict, enabled)",
				    k);
				return -1;
			}
		}
	}
	sv_state *s = acrt__calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "schema_validator: out of memory");
		return -1;
	}
	s->strict = strict;
	if (compile_ports(comp->inputs, comp->n_inputs, "input", &s->in, &s->n_in, err, errlen) <
	        0 ||
	    (strict && compile_ports(comp->outputs, comp->n_outputs, "output", &s->out, &s->n_out,
	                             err, errlen) < 0)) {
		sv_destroy(s);
		return -1;
	}
	*state = s;
	return 0;
}

static const acrt__schema *
find(const sv_port *ports, size_t n, const char *name)
{
	if (name == NULL)
		name = "input";
	for (size_t i = 0; i < n; i++) /* the harness passes the spec's own pointers */
		if (ports[i].name == name)
			return ports[i].schema;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ports[i].name, name) == 0)
			return ports[i].schema;
	return NULL;
}

/* Writes every error of an invalid instance into buf: "path: what; ...", what
 * being "maximum 100, got 101" where the keyword has a detail. */
static void
describe(const acrt__schema *sch, const json_t *j, char *buf, size_t len)
{
	acrt__schema_errors errs = ACRT__SCHEMA_ERRORS_INIT;
	errs.max = 16;
	acrt__schema_validate(sch, j, &errs);
	size_t off = 0, room = len - 6; /* keeps room for "; ..." */
	buf[0] = '\0';
	for (size_t i = 0; i < errs.n; i++) { /* "; " path ": " text, without printf */
		const char *p = errs.v[i].path && errs.v[i].path[0] ? errs.v[i].path : "(root)";
		const char *t = acrt__schema_error_text(&errs.v[i]);
		size_t pl = strlen(p), tl = strlen(t), w = (i ? 2 : 0) + pl + 2 + tl;
		if (w >= room - off) {
			snprintf(buf + off, len - off, "; ...");
			break;
		}
		if (i)
			memcpy(buf + off, "; ", 2);
		memcpy(buf + off + (i ? 2 : 0), p, pl);
		memcpy(buf + off + (i ? 2 : 0) + pl, ": ", 2);
		memcpy(buf + off + (i ? 2 : 0) + pl + 2, t, tl);
		off += w;
		buf[off] = '\0';
	}
	if (errs.n == 0)
		snprintf(buf, len, "(root): invalid");
	acrt__schema_errors_free(&errs);
}

/* 0 when ev is valid, else 1 with the reason in buf (len >= 64). */
static int
check(const acrt__schema *sch, acrt_event *ev, char *buf, size_t len)
{
	const json_t *j = acrt_event_json(ev);
	if (j == NULL) {
		const char *ct = acrt_event_content_type(ev);
		snprintf(buf, len, "payload is not JSON (content type %s)", ct ? ct : "none");
		return 1;
	}
	if (acrt__schema_validate(sch, j, NULL) == 0)
		return 0;
	describe(sch, j, buf, len);
	return 1;
}

static int
sv_before_receive(void *state, acrt__cap_call *call)
{
	sv_state *s = state;
	const acrt__schema *sch = find(s->in, s->n_in, call->port);
	if (sch == NULL) {
		acrt__cap_count(&s->passed, call->n);
		return ACRT_OK;
	}
	size_t bad = 0, first = 0;
	char why[400];
	for (size_t i = 0; i < call->n; i++) {
		if (bad > 0) { /* the reason is written: only count the rest */
			const json_t *j = acrt_event_json(call->evs[i]);
			if (j == NULL || acrt__schema_validate(sch, j, NULL) != 0)
				bad++;
			continue;
		}
		if (check(sch, call->evs[i], why, sizeof why) != 0) {
			bad++;
			first = i;
		}
	}
	if (bad == 0) {
		acrt__cap_count(&s->passed, call->n);
		return ACRT_OK;
	}
	acrt__cap_count(&s->rejected, bad);
	acrt__cap_count(&s->passed, call->n - bad);
	if (call->n > 1)
		return acrt__cap_fail(call, "schema_validator", ACRT_ERR,
		                      "input '%s': event %zu of %zu (%zu invalid): %s", call->port,
		                      first + 1, call->n, bad, why);
	return acrt__cap_fail(call, "schema_validator", ACRT_ERR, "%s", why);
}

static int
sv_before_send(void *state, acrt__cap_call *call, const char *port, acrt_event *ev)
{
	sv_state *s = state;
	const acrt__schema *sch = find(s->out, s->n_out, port);
	if (sch == NULL)
		return ACRT_OK;
	char why[400];
	if (check(sch, ev, why, sizeof why) == 0) {
		acrt__cap_count(&s->out_passed, 1);
		return ACRT_OK;
	}
	acrt__cap_count(&s->out_rejected, 1);
	return acrt__cap_fail(call, "schema_validator", ACRT_ERR, "output '%s': %s", port, why);
}

static void
sv_stats(void *state, json_t *out)
{
	sv_state *s = state;
	json_object_set_new(
	    out, "passed",
	    json_integer((json_int_t)atomic_load_explicit(&s->passed, memory_order_relaxed)));
	json_object_set_new(
	    out, "rejected",
	    json_integer((json_int_t)atomic_load_explicit(&s->rejected, memory_order_relaxed)));
	if (s->strict) {
		json_object_set_new(out, "out_passed",
		                    json_integer((json_int_t)atomic_load_explicit(
		                        &s->out_passed, memory_order_relaxed)));
		json_object_set_new(out, "out_rejected",
		                    json_integer((json_int_t)atomic_load_explicit(
		                        &s->out_rejected, memory_order_relaxed)));
	}
}

const acrt__cap_class acrt__cap_schema_validator = {
    .name = "schema_validator",
    .tier = 10,
    .create = sv_create,
    .destroy = sv_destroy,
    .before_receive = sv_before_receive,
    .before_send = sv_before_send, /* a no-op unless strict */
    .stats = sv_stats,
};
