/*
 * accumulator.c - the built-in Accumulator: a running total per key in
 * managed state, and for every event the updated total, as the original
 * Autocoder's Accumulator does (docs/COMPONENTS.md, docs/AUTOCODER.md).
 *
 * Each event (a JSON object) names its key in field `key` (config `key`;
 * absent: "default_accumulator"), its value in field `value` (config
 * `value`; absent: 0; a number, or a string holding one) and its operation
 * in field `operation`: add (the default), multiply, get_total or reset.
 * The Accumulator emits on each of `ports` (default [aggregate]):
 *   {"operation": OP, "key": K, "input_value": V, "new_total": T,
 *    "success": true, "original_data": EVENT}
 * An event it cannot read (not an object, a value that is not a number, an
 * unknown operation) fails: port `error`, counter `invalid_events`.
 *
 * State: managed keyed state, so checkpoints capture the totals and --resume
 * restores them. Entry key: the key's text (acrt__key_of_value); entry value:
 * the total, 8 bytes, the bits of an IEEE 754 double, little-endian.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"

/* Appends a string literal (without its NUL). */
#define PUT_LIT(b, lit) acrt__jbuf_put((b), (lit), sizeof(lit) - 1)

static const acrt_prop acc_props[] = {
    {"key", ACRT_PROP_STRING, 0, 0, 0, NULL, "field naming the total (key)"},
    {"value", ACRT_PROP_STRING, 0, 0, 0, NULL, "field holding the amount (value)"},
    {"ports", ACRT_PROP_ARRAY, 0, 0, 0, NULL, "output ports each total goes on ([aggregate])"},
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__accumulator_check(const json_t *config, const char **key, char *msg, size_t len)
{
	static const char *const fields[] = {"key", "value"};
	for (int i = 0; i < 2; i++) {
		const json_t *f = json_object_get(config, fields[i]);
		if (f != NULL && json_string_length(f) == 0) {
			*key = fields[i];
			snprintf(msg, len, "expected a field name (a non-empty string)");
			return -1;
		}
	}
	return acrt__ports_check(config, key, msg, len);
}

typedef struct accum {
	const char *fields[3]; /* key, value, "operation" */
	size_t lens[3];
	const char **ports;
	size_t n_ports;
} accum;

typedef struct picked {
	const accum *a;
	acrt__jval v[3];
} picked;

static int
pick(void *arg, const char *k, size_t kl, const acrt__jval *v)
{
	picked *p = arg;
	for (int i = 0; i < 3; i++)
		if (p->a->lens[i] == kl && memcmp(p->a->fields[i], k, kl) == 0)
			p->v[i] = *v; /* the last one, if repeated */
	return 0;
}

static void
put_double(unsigned char *b, double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (8 * i));
}

static double
get_double(const unsigned char *b)
{
	uint64_t u = 0;
	double d;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)b[i] << (8 * i);
	memcpy(&d, &u, sizeof d);
	return d;
}

/* The amount: a number, or a string holding one (as Python's float()). */
static int
amount(const acrt__jval *v, double *out)
{
	if (v->type == ACRT__J_ABSENT) {
		*out = 0;
		return 0;
	}
	if (v->type == ACRT__J_NUMBER) {
		*out = v->num;
		return 0;
	}
	if (v->type != ACRT__J_STRING || v->raw_len < 3 || v->raw_len > 64 ||
	    memchr(v->raw, '\\', v->raw_len) != NULL)
		return -1;
	char buf[64], *end;
	memcpy(buf, v->raw + 1, v->raw_len - 2);
	buf[v->raw_len - 2] = '\0';
	*out = strtod(buf, &end);
	while (*end == ' ')
		end++;
	return *end == '\0' && end != buf && isfinite(*out) ? 0 : -1;
}

static int
acc_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	accum *a = self;
	(void)port;
	size_t len, cap;
	const char *text = acrt__event_text(ev, &len, &cap);
	if (text == NULL)
		return acrt_fail(ctx, "out of memory");
	picked p = {.a = a};
	int fr = acrt__json_fields(text, len, cap, pick, &p);
	if (fr != 0)
		return acrt__fail_event(ctx, ev, "invalid_events", "%s",
		                        fr == 1 ? "payload is not a JSON object"
		                                : "payload is not valid JSON");
	double value;
	if (amount(&p.v[1], &value) != 0)
		return acrt__fail_event(ctx, ev, "invalid_events", "field '%s' is not a number",
		                        a->fields[1]);
	const char *op = "add";
	size_t oplen = 3;
	if (p.v[2].type == ACRT__J_STRING && p.v[2].raw_len >= 2) {
		op = p.v[2].raw + 1;
		oplen = p.v[2].raw_len - 2;
	} else if (p.v[2].type != ACRT__J_ABSENT) {
		return acrt__fail_event(ctx, ev, "invalid_events",
		                        "field 'operation' is not a string");
	}
	static const char *const ops[] = {"add", "multiply", "get_total", "reset"};
	int which = -1;
	for (int i = 0; i < 4; i++)
		if (strlen(ops[i]) == oplen && memcmp(ops[i], op, oplen) == 0)
			which = i;
	if (which < 0)
		return acrt__fail_event(ctx, ev, "invalid_events", "unknown operation '%.*s'",
		                        (int)(oplen < 64 ? oplen : 64), op);

	char kbuf[ACRT__KEY_INLINE];
	char *kheap = NULL;
	size_t klen;
	const char *k = "\"default_accumulator\"";
	klen = strlen(k);
	if (p.v[0].type != ACRT__J_ABSENT &&
	    (k = acrt__key_of_value(&p.v[0], kbuf, sizeof kbuf, &kheap, &klen)) == NULL)
		return acrt_fail(ctx, "out of memory");
	const void *old;
	size_t olen;
	double total =
	    acrt_state_get(ctx, k, klen, &old, &olen) == ACRT_OK && olen == 8 ? get_double(old) : 0;
	switch (which) {
	case 0:
		total += value;
		break;
	case 1:
		total *= value;
		break;
	case 3:
		total = 0;
		break;
	default:
		break;
	}
	unsigned char b[8];
	put_double(b, total);
	int rc = ACRT_OK;
	if (which != 2 && acrt_state_put(ctx, k, klen, b, sizeof b) != ACRT_OK) {
		rc = acrt_fail(ctx, "out of memory (state)");
		goto out;
	}
	acrt__jbuf o;
	acrt__jbuf_init(&o);
	PUT_LIT(&o, "{\"operation\":");
	acrt__jbuf_string(&o, ops[which], strlen(ops[which]));
	PUT_LIT(&o, ",\"key\":");
	if (p.v[0].type == ACRT__J_ABSENT)
		acrt__jbuf_put(&o, k, klen);
	else
		acrt__jbuf_put(&o, p.v[0].raw, p.v[0].raw_len); /* as it came */
	PUT_LIT(&o, ",\"input_value\":");
	acrt__jbuf_double(&o, value);
	PUT_LIT(&o, ",\"new_total\":");
	acrt__jbuf_double(&o, total);
	PUT_LIT(&o, ",\"success\":true,\"original_data\":");
	acrt__jbuf_put(&o, text, len);
	acrt__jbuf_putc(&o, '}');
	size_t olen2;
	char *out = acrt__jbuf_take(&o, &olen2);
	acrt_event *e = out != NULL ? acrt_event_new(ctx, out, olen2, "application/json") : NULL;
	acrt__free(out);
	rc = e != NULL ? acrt__ports_emit(ctx, a->ports, a->n_ports, e)
	               : acrt_fail(ctx, "out of memory");
out:
	acrt__free(kheap);
	return rc;
}

static void
acc_cleanup(acrt_ctx *ctx, void *self)
{
	accum *a = self;
	(void)ctx;
	if (a == NULL)
		return;
	acrt__free(a->ports);
	acrt__free(a);
}

static int
acc_setup(acrt_ctx *ctx, void **self)
{
	accum *a = acrt__calloc(1, sizeof *a);
	if (a == NULL)
		return acrt_fail(ctx, "out of memory");
	a->fields[0] = acrt_config_string(ctx, "key", "key");
	a->fields[1] = acrt_config_string(ctx, "value", "value");
	a->fields[2] = "operation";
	for (int i = 0; i < 3; i++)
		a->lens[i] = strlen(a->fields[i]);
	int rc = acrt__ports_read(ctx, "aggregate", &a->ports, &a->n_ports);
	if (rc != ACRT_OK) {
		acrt__free(a);
		return rc;
	}
	if (acrt_state_count(ctx) > 0)
		acrt_log(ctx, ACRT_LOG_INFO, "resumed with %zu total(s)", acrt_state_count(ctx));
	*self = a;
	return ACRT_OK;
}

const acrt_component_desc acrt__accumulator_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Accumulator",
    .props = acc_props,
    .setup = acc_setup,
    .process = acc_process,
    .cleanup = acc_cleanup,
};
