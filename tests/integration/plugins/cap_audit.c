/*
 * cap_audit.c - a capability plugin for the tests: tier 45 (between retry and
 * circuit_breaker), it writes one line per hook call to the file in its
 * config `path`, and fails (before the component sees them) the events whose
 * `seq` is a multiple of `fail_every` (config, 0 = never).
 */
#include <acrt/acrt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct audit {
	FILE *out;
	json_int_t fail_every;
} audit_state;

static int
audit_create(const json_t *config, void **state)
{
	audit_state *a = calloc(1, sizeof *a);
	const char *path = json_string_value(json_object_get(config, "path"));
	if (a == NULL || path == NULL || (a->out = fopen(path, "a")) == NULL) {
		free(a);
		return ACRT_ERR;
	}
	a->fail_every = json_integer_value(json_object_get(config, "fail_every"));
	*state = a;
	return ACRT_OK;
}

static void
audit_destroy(void *state)
{
	audit_state *a = state;
	fclose(a->out);
	free(a);
}

static int
audit_before_receive(void *state, acrt_cap_call *call)
{
	audit_state *a = state;
	acrt_event *const *evs;
	size_t n = acrt_cap_events(call, &evs);
	for (size_t i = 0; i < n; i++) {
		json_int_t seq =
		    json_integer_value(json_object_get(acrt_event_json(evs[i]), "seq"));
		fprintf(a->out, "before_receive seq=%lld\n", (long long)seq);
		if (a->fail_every > 0 && seq % a->fail_every == 0)
			return acrt_cap_fail(call, "audit refuses seq %lld", (long long)seq);
	}
	return ACRT_OK;
}

static int
audit_around(void *state, acrt_cap_call *call)
{
	audit_state *a = state;
	fprintf(a->out, "around enter attempts=%d\n", acrt_cap_attempts(call));
	int rc = acrt_cap_next(call);
	fprintf(a->out, "around leave rc=%d attempts=%d\n", rc, acrt_cap_attempts(call));
	return rc;
}

static void
audit_after_send(void *state, acrt_cap_call *call, const char *port, const acrt_event *ev)
{
	audit_state *a = state;
	(void)call;
	(void)ev;
	fprintf(a->out, "after_send port=%s\n", port);
}

static void
audit_on_failure(void *state, acrt_cap_call *call, int rc)
{
	audit_state *a = state;
	(void)call;
	fprintf(a->out, "on_failure rc=%d\n", rc);
}

ACRT_API const acrt_capability_desc audit = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_capability_desc),
    .name = "audit",
    .tier = 45,
    .create = audit_create,
    .destroy = audit_destroy,
    .before_receive = audit_before_receive,
    .around_process = audit_around,
    .after_send = audit_after_send,
    .on_failure = audit_on_failure,
};

ACRT_API const acrt_capability_desc audit_bad_abi = {
    .abi_version = (99u << 16),
    .struct_size = sizeof(acrt_capability_desc),
    .name = "audit_bad_abi",
    .tier = 45,
};
