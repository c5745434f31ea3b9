/*
 * router.c - the built-in Router: `routes: [{when: CONDITION, to: PORT}, ...]`.
 * Each event goes, unchanged (no copy), to the port of the first route whose
 * condition (a jq program; the truthiness of its first output, false and null
 * being false) holds, else to port `default` (dropped there when unbound).
 * An event on which a condition fails goes to port `error` (dropped when
 * unbound) and is reported as failed (logged, counted; counter `jq_errors`).
 * Conditions read the event's text (cond.h: natively for the common shapes,
 * else jq on a value built once per event for all the routes).
 *
 * Its output ports are the routes' `to` ports, `default` and `error`; the
 * validator asks acrt__router_out_ports for the first ones, and a route to a
 * port with no binding is a validation error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "components/cond.h"
#include "components/jq.h"
#include "components/routes.h"
#include "core/common.h"
#include "core/event.h"

static const acrt_prop router_props[] = {
    {"routes", ACRT_PROP_ARRAY, 1, 0, 0, NULL,
     "[{when: jq condition, to: output port}, ...]: first match wins, else port default"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

static int
port_name_ok(const char *s)
{
	if (s[0] < 'a' || s[0] > 'z')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int
check_when(const json_t *v, char *msg, size_t len)
{
	if (!json_is_string(v)) {
		snprintf(msg, len, "expected a jq condition (a string)");
		return -1;
	}
	return acrt__jq_check(json_string_value(v), msg, len) < 0 ? -1 : 0;
}

static int
check_to(const json_t *v, char *msg, size_t len)
{
	if (!json_is_string(v)) {
		snprintf(msg, len, "expected an output port name (a string)");
		return -1;
	}
	if (!port_name_ok(json_string_value(v))) {
		snprintf(msg, len, "port name '%s' must match ^[a-z][a-z0-9_]*$",
		         json_string_value(v));
		return -1;
	}
	return 0;
}

static const acrt__route_field route_fields[] = {
    {"when", "a route needs 'when' (a jq condition)", check_when},
    {"to", "a route needs 'to' (an output port name)", check_to},
};

int
acrt__router_check(const json_t *config, const char **key, char *msg, size_t len)
{
	return acrt__routes_check(config, route_fields, 2, key, msg, len);
}

size_t
acrt__router_out_ports(const json_t *config, const char **ports, size_t max)
{
	size_t n = 0, i;
	json_t *r;
	json_array_foreach(json_object_get(config, "routes"), i, r)
	{
		const char *to = json_string_value(json_object_get(r, "to"));
		if (to == NULL || !port_name_ok(to))
			continue;
		size_t j = 0;
		while (j < n && strcmp(ports[j], to) != 0)
			j++;
		if (j == n && n < max)
			ports[n++] = to;
	}
	return n;
}

typedef struct route {
	acrt__cond *when;
	const char *to; /* borrowed from config */
} route;

typedef struct router {
	size_t n;
	route r[];
} router;

static void
router_cleanup(acrt_ctx *ctx, void *self)
{
	router *R = self;
	for (size_t i = 0; i < R->n; i++)
		acrt__cond_free(R->r[i].when);
	acrt__free(R);
}

static int
router_setup(acrt_ctx *ctx, void **self)
{
	const json_t *routes = json_object_get(acrt_config(ctx), "routes");
	size_t n = json_array_size(routes);
	router *R = acrt__calloc(1, sizeof *R + n * sizeof R->r[0]);
	if (R == NULL)
		return acrt_fail(ctx, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(routes, i);
		const char *when = json_string_value(json_object_get(r, "when"));
		const char *to = json_string_value(json_object_get(r, "to"));
		char err[512];
		if (when == NULL || to == NULL) {
			router_cleanup(ctx, R);
			return acrt_fail(ctx, "route %zu needs 'when' and 'to'", i + 1);
		}
		R->r[i].to = to;
		if ((R->r[i].when = acrt__cond_compile(when, err, sizeof err)) == NULL) {
			router_cleanup(ctx, R);
			return acrt_fail(ctx, "route %zu: %s", i + 1, err);
		}
		R->n = i + 1;
	}
	*self = R;
	return ACRT_OK;
}

static int
router_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	router *R = self;
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	if (text == NULL)
		return acrt_fail(ctx, "out of memory");
	const char *to = "default";
	acrt__cond_input in;
	acrt__cond_input_init(&in, text, len, cap);
	for (size_t i = 0; i < R->n; i++) {
		char err[512];
		int t = acrt__cond_test(R->r[i].when, &in, err, sizeof err);
		if (t < 0) {
			acrt__cond_input_free(&in);
			char m[600];
			snprintf(m, sizeof m, "route %zu: %s", i + 1, err);
			return acrt__jq_failed(ctx, ev, m);
		}
		if (t) {
			to = R->r[i].to;
			break;
		}
	}
	acrt__cond_input_free(&in);
	int rc = acrt_emit(ctx, to, acrt_event_ref(ev));
	return rc == ACRT_ENOENT && to[0] == 'd' && strcmp(to, "default") == 0 ? ACRT_OK : rc;
}

const acrt_component_desc acrt__router_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Router",
    .props = router_props,
    .setup = router_setup,
    .process = router_process,
    .cleanup = router_cleanup,
};
