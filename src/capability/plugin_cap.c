/*
 * plugin_cap.c - capabilities from plugins (`plugin:PATH#SYMBOL` keys under
 * `capabilities:`): loads the acrt_capability_desc, and runs its hooks as a
 * link of the chain. Also the public acrt_cap_* functions plugins call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "capability/chain.h"
#include "core/common.h"
#include "core/plugin.h"

typedef struct plug {
	acrt__plugin *so;
	const acrt_capability_desc *d;
	void *state;
} plug;

/* config: {"__ref": "plugin:/abs/path#sym", "__config": <the user's value>} */
static int
plug_create(const json_t *config, const acrt__comp_spec *comp, void **state, char *err,
            size_t errlen)
{
	(void)comp;
	const char *ref = json_string_value(json_object_get(config, "__ref"));
	char *path = NULL, *sym = NULL;
	plug *p = acrt__calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ref == NULL || acrt__plugin_parse_ref(ref, &path, &sym) != 0) {
		snprintf(err, errlen, "bad capability reference '%s'", ref ? ref : "?");
		goto fail;
	}
	if (acrt__plugin_open_cap(path, sym, &p->so, &p->d, err, errlen) != 0)
		goto fail;
	if (p->d->create != NULL &&
	    p->d->create(json_object_get(config, "__config"), &p->state) != 0) {
		snprintf(err, errlen, "capability '%s': create failed", p->d->name);
		goto fail;
	}
	free(path);
	free(sym);
	*state = p;
	return 0;
fail:
	if (p != NULL)
		acrt__plugin_close(p->so);
	acrt__free(p);
	free(path);
	free(sym);
	return -1;
}

static void
plug_destroy(void *state)
{
	plug *p = state;
	if (p == NULL)
		return;
	if (p->d->destroy != NULL)
		p->d->destroy(p->state);
	acrt__plugin_close(p->so);
	acrt__free(p);
}

static int
plug_before_receive(void *state, acrt__cap_call *call)
{
	plug *p = state;
	if (p->d->before_receive == NULL)
		return ACRT_OK;
	call->link_name_ = p->d->name;
	return p->d->before_receive(p->state, call);
}

static int
plug_around(void *state, acrt__cap_call *call)
{
	plug *p = state;
	if (p->d->around_process == NULL)
		return acrt__cap_next(call);
	call->link_name_ = p->d->name;
	return p->d->around_process(p->state, call);
}

static int
plug_before_send(void *state, acrt__cap_call *call, const char *port, acrt_event *ev)
{
	plug *p = state;
	if (p->d->before_send == NULL)
		return ACRT_OK;
	call->link_name_ = p->d->name;
	return p->d->before_send(p->state, call, port, ev);
}

static void
plug_after_send(void *state, acrt__cap_call *call, const char *port, const acrt_event *ev)
{
	plug *p = state;
	if (p->d->after_send != NULL)
		p->d->after_send(p->state, call, port, ev);
}

static void
plug_on_failure(void *state, acrt__cap_call *call, int rc)
{
	plug *p = state;
	if (p->d->on_failure != NULL)
		p->d->on_failure(p->state, call, rc);
}

const acrt__cap_class acrt__cap_plugin = {
    .name = "plugin",
    .tier = 70, /* unused: a plugin declares its own tier */
    .create = plug_create,
    .destroy = plug_destroy,
    .before_receive = plug_before_receive,
    .around_process = plug_around,
    .before_send = plug_before_send,
    .after_send = plug_after_send,
    .on_failure = plug_on_failure,
};

int
acrt_cap_next(acrt_cap_call *call)
{
	return acrt__cap_next(call);
}

size_t
acrt_cap_events(acrt_cap_call *call, acrt_event *const **evs)
{
	if (evs != NULL)
		*evs = call->evs;
	return call->n;
}

acrt_ctx *
acrt_cap_ctx(acrt_cap_call *call)
{
	return call->ctx;
}

int
acrt_cap_attempts(acrt_cap_call *call)
{
	return call->attempts;
}

int
acrt_cap_fail(acrt_cap_call *call, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(call->reason, sizeof call->reason, fmt, ap);
	va_end(ap);
	call->failed_by = call->link_name_ != NULL ? call->link_name_ : "plugin";
	return ACRT_ERR;
}
