/*
 * enrich.c - an example native component: adds `currency` (from config,
 * default "EUR") and `amount_cents` (when the event has a numeric `amount`)
 * to every JSON object event. Built against <acrt/acrt.h> only.
 *
 *   - name: enrich
 *     implementation: plugin:../../build/examples/libenrich.so#enrich
 *     config: {currency: USD}
 */
#include <acrt/acrt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct enrich {
	json_t *currency;
} enrich_state;

static const acrt_prop enrich_props[] = {
    {"currency", ACRT_PROP_STRING, 0, 0, 0, NULL, "ISO 4217 code added to every event"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

static int
enrich_setup(acrt_ctx *ctx, void **self)
{
	enrich_state *s = malloc(sizeof *s);
	if (s == NULL)
		return acrt_fail(ctx, "out of memory");
	s->currency = json_string(acrt_config_string(ctx, "currency", "EUR"));
	if (s->currency == NULL) {
		free(s);
		return acrt_fail(ctx, "out of memory");
	}
	*self = s;
	return ACRT_OK;
}

static int
enrich_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	enrich_state *s = self;
	(void)port;
	const json_t *in = acrt_event_json(ev);
	if (!json_is_object(in))
		return acrt_fail(ctx, "expected a JSON object");
	json_t *out = json_copy((json_t *)in); /* shallow copy; the input is immutable */
	if (out == NULL)
		return acrt_fail(ctx, "out of memory");
	json_object_set(out, "currency", s->currency);
	json_t *amount = json_object_get(out, "amount");
	if (json_is_number(amount))
		json_object_set_new(
		    out, "amount_cents",
		    json_integer((json_int_t)(json_number_value(amount) * 100.0 + 0.5)));
	acrt_event *o = acrt_event_new_json(ctx, out);
	if (o == NULL)
		return acrt_fail(ctx, "out of memory");
	return acrt_emit(ctx, "output", o);
}

static void
enrich_cleanup(acrt_ctx *ctx, void *self)
{
	enrich_state *s = self;
	(void)ctx;
	json_decref(s->currency);
	free(s);
}

ACRT_API const acrt_component_desc enrich = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "enrich",
    .props = enrich_props,
    .setup = enrich_setup,
    .process = enrich_process,
    .cleanup = enrich_cleanup,
};
