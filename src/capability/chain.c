/*
 * chain.c - building and running capability chains (see chain.h).
 *
 * The order comes from acrt__lock_chain(), the function that writes
 * build.lock, so the runtime executes exactly the locked order. Entries that
 * are not per-event capabilities (batching, state, metrics) are handled by the
 * harness and skipped here.
 */
#include "capability/chain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint/lock.h"
#include "capability/caps.h"
#include "core/common.h"

typedef struct link {
	const acrt__cap_class *cls;
	void *state;
} link;

struct acrt__chain {
	link *links; /* in chain order */
	size_t n;
	size_t *around; /* indices of links with around_process, in order */
	size_t n_around;
	bool send_hooks; /* some link has before_send or after_send */
	const acrt__cap_clock *clock;
};

static const acrt__cap_class *const classes[] = {
    &acrt__cap_schema_validator, &acrt__cap_rate_limit, &acrt__cap_retry,
    &acrt__cap_circuit_breaker,  &acrt__cap_timeout,    &acrt__cap_dead_letter,
};

const acrt__cap_class *
acrt__cap_find(const char *name)
{
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
		if (strcmp(classes[i]->name, name) == 0)
			return classes[i];
	return NULL;
}

int
acrt__cap_cfg_error(char *err, size_t errlen, const char *cap, const char *key, const char *what)
{
	snprintf(err, errlen, "%s: '%s' %s", cap, key, what);
	return -1;
}

int
acrt__cap_fail(acrt__cap_call *call, const char *by, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(call->reason, sizeof call->reason, fmt, ap);
	va_end(ap);
	call->failed_by = by;
	return rc;
}

void
acrt__chain_free(acrt__chain *ch)
{
	if (ch == NULL)
		return;
	for (size_t i = 0; i < ch->n; i++)
		if (ch->links[i].cls->destroy != NULL)
			ch->links[i].cls->destroy(ch->links[i].state);
	acrt__free(ch->links);
	acrt__free(ch->around);
	acrt__free(ch);
}

/* A capability set to false, or {enabled: false}, is off. */
static bool
cap_on(const json_t *v)
{
	if (json_is_false(v) || json_is_null(v))
		return false;
	return !(json_is_object(v) && json_is_false(json_object_get(v, "enabled")));
}

int
acrt__chain_build(const acrt__comp_spec *comp, const acrt__cap_clock *clock, acrt__chain **out,
                  char *err, size_t errlen)
{
	*out = NULL;
	if (json_object_size(comp->capabilities) == 0)
		return 0;
	json_t *order = acrt__lock_chain(comp);
	acrt__chain *ch = acrt__calloc(1, sizeof *ch);
	if (order == NULL || ch == NULL)
		goto nomem;
	ch->clock = clock;
	size_t cap = json_array_size(order);
	ch->links = acrt__calloc(cap ? cap : 1, sizeof *ch->links);
	ch->around = acrt__calloc(cap ? cap : 1, sizeof *ch->around);
	if (ch->links == NULL || ch->around == NULL)
		goto nomem;
	size_t i;
	json_t *name;
	json_array_foreach(order, i, name)
	{
		const char *nm = json_string_value(name);
		json_t *cfg = json_object_get(comp->capabilities, nm);
		if (cfg == NULL || !cap_on(cfg))
			continue; /* batching, state, metrics: the harness's business */
		bool plugin = strncmp(nm, "plugin:", 7) == 0;
		const acrt__cap_class *cls = plugin ? &acrt__cap_plugin : acrt__cap_find(nm);
		if (cls == NULL) {
			snprintf(err, errlen, "capability '%s' is not available in this release",
			         nm);
			goto fail;
		}
		link *l = &ch->links[ch->n];
		l->cls = cls;
		json_t *pcfg = plugin ? json_pack("{s:s,s:O}", "__ref", nm, "__config", cfg) : NULL;
		if (plugin && pcfg == NULL)
			goto nomem;
		int rc = cls->create != NULL
		             ? cls->create(plugin ? pcfg : cfg, comp, &l->state, err, errlen)
		             : 0;
		json_decref(pcfg);
		if (rc != 0)
			goto fail;
		ch->n++;
		if (cls->around_process != NULL)
			ch->around[ch->n_around++] = ch->n - 1;
		if (cls->before_send != NULL || cls->after_send != NULL)
			ch->send_hooks = true;
	}
	json_decref(order);
	if (ch->n == 0) {
		acrt__chain_free(ch);
		return 0;
	}
	*out = ch;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	json_decref(order);
	acrt__chain_free(ch);
	return -1;
}

int
acrt__cap_check(const char *name, const json_t *config, const acrt__comp_spec *comp, char *key,
                size_t keylen, char *err, size_t errlen)
{
	const acrt__cap_class *cls = acrt__cap_find(name);
	void *state = NULL;
	key[0] = '\0';
	if (cls == NULL || cls->create == NULL || !cap_on(config))
		return 0;
	if (cls->create(config, comp, &state, err, errlen) == 0) {
		if (cls->destroy != NULL)
			cls->destroy(state);
		return 0;
	}
	/* acrt__cap_cfg_error's "NAME: 'KEY' what" names the setting. */
	size_t n = strlen(name);
	if (strncmp(err, name, n) == 0 && strncmp(err + n, ": '", 3) == 0) {
		const char *k = err + n + 3, *e = strchr(k, '\'');
		if (e != NULL && (size_t)(e - k) < keylen) {
			memcpy(key, k, (size_t)(e - k));
			key[e - k] = '\0';
		}
	}
	return -1;
}

void
acrt__caps_register(void)
{
	acrt__blueprint_set_cap_check(acrt__cap_check);
}

int
acrt__cap_next(acrt__cap_call *call)
{
	acrt__chain *ch = call->chain_;
	if (call->next_ < ch->n_around) {
		link *l = &ch->links[ch->around[call->next_++]];
		int rc = l->cls->around_process(l->state, call);
		call->next_--;
		return rc;
	}
	call->attempts++;
	call->failed_by = NULL; /* a failure now is the component's own, unless a
	                         * send hook under it (strict schema) names itself */
	return call->inner(call);
}

int
acrt__chain_run(acrt__chain *ch, acrt__cap_call *call)
{
	call->chain_ = ch;
	call->next_ = 0;
	call->attempts = 0;
	call->deadline_ns = 0;
	call->failed_by = NULL;
	call->reason[0] = '\0';
	if (call->clock == NULL)
		call->clock = ch->clock;
	int rc = ACRT_OK;
	for (size_t i = 0; i < ch->n && rc == ACRT_OK; i++) {
		link *l = &ch->links[i];
		if (l->cls->before_receive != NULL) {
			rc = l->cls->before_receive(l->state, call);
			if (rc != ACRT_OK && call->failed_by == NULL)
				call->failed_by = l->cls->name;
		}
	}
	if (rc == ACRT_OK)
		rc = acrt__cap_next(call);
	if (rc != ACRT_OK && rc != ACRT_ECANCELED)
		acrt__chain_on_failure(ch, call, rc);
	return rc;
}

void
acrt__chain_on_failure(acrt__chain *ch, acrt__cap_call *call, int rc)
{
	if (call->clock == NULL)
		call->clock = ch->clock;
	for (size_t i = 0; i < ch->n; i++)
		if (ch->links[i].cls->on_failure != NULL)
			ch->links[i].cls->on_failure(ch->links[i].state, call, rc);
}

bool
acrt__chain_has_send_hooks(const acrt__chain *ch)
{
	return ch != NULL && ch->send_hooks;
}

void
acrt__chain_after_send(acrt__chain *ch, acrt__cap_call *call, const char *port,
                       const acrt_event *ev)
{
	for (size_t i = 0; i < ch->n; i++)
		if (ch->links[i].cls->after_send != NULL)
			ch->links[i].cls->after_send(ch->links[i].state, call, port, ev);
}

int
acrt__chain_before_send(acrt__chain *ch, acrt__cap_call *call, const char *port, acrt_event *ev)
{
	for (size_t i = 0; i < ch->n; i++) {
		link *l = &ch->links[i];
		if (l->cls->before_send == NULL)
			continue;
		int rc = l->cls->before_send(l->state, call, port, ev);
		if (rc != ACRT_OK) {
			if (call->failed_by == NULL)
				call->failed_by = l->cls->name;
			return rc;
		}
	}
	return ACRT_OK;
}

json_t *
acrt__chain_stats(const acrt__chain *ch)
{
	json_t *out = json_object();
	for (size_t i = 0; ch != NULL && out != NULL && i < ch->n; i++) {
		const link *l = &ch->links[i];
		json_t *o = json_object();
		if (o == NULL)
			break;
		if (l->cls->stats != NULL)
			l->cls->stats(l->state, o);
		json_object_set_new(out, l->cls->name, o);
	}
	return out;
}
