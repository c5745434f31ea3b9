/*
 * alert_rule.c - see alert_rule.h.
 */
#include "blueprint/alert_rule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const acrt__alert_op_names[] = {">", ">=", "<", "<=", "==", "!="};

const char *const acrt__alert_rule_keys[] = {"name",     "metric", "op",      "threshold", "for_s",
                                             "severity", "rate",   "enabled", NULL};

/* A number, or a string holding one (YAML scalars may arrive as either). */
static bool
num(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v)) {
		char *end;
		errno = 0;
		*out = strtod(json_string_value(v), &end);
		return errno == 0 && end != json_string_value(v) && *end == '\0';
	}
	return false;
}

static int
op_index(const char *op)
{
	for (int j = 0; op != NULL && j < 6; j++)
		if (strcmp(op, acrt__alert_op_names[j]) == 0)
			return j;
	return -1;
}

static int
unknown_key(const json_t *o, const char **key, char *msg, size_t len)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		bool known = false;
		for (const char *const *p = acrt__alert_rule_keys; *p; p++)
			known |= strcmp(*p, k) == 0;
		if (!known) {
			*key = k;
			snprintf(msg, len,
			         "unknown key '%s' (known: name, metric, op, threshold, for_s, "
			         "severity, rate, enabled)",
			         k);
			return -1;
		}
	}
	return 0;
}

int
acrt__alert_rule_parse(const json_t *o, acrt__alert_rule *r, const char **key, char *msg,
                       size_t len)
{
	memset(r, 0, sizeof *r);
	*key = NULL;
	if (!json_is_object(o)) {
		snprintf(msg, len, "a rule must be a mapping");
		return -1;
	}
	if (unknown_key(o, key, msg, len) != 0)
		return -1;
	r->name = json_string_value(json_object_get(o, "name"));
	if (r->name == NULL || *r->name == '\0') {
		*key = json_object_get(o, "name") != NULL ? "name" : NULL;
		snprintf(msg, len, "'name' is required");
		return -1;
	}
	json_t *en = json_object_get(o, "enabled");
	const char *ens = json_string_value(en);
	if (en != NULL && !json_is_boolean(en) &&
	    !(ens != NULL && (strcmp(ens, "false") == 0 || strcmp(ens, "true") == 0))) {
		*key = "enabled";
		snprintf(msg, len, "'enabled' must be true or false");
		return -1;
	}
	r->enabled = !json_is_false(en) && !(ens != NULL && strcmp(ens, "false") == 0);
	if (!r->enabled)
		return 0;
	json_t *fv = json_object_get(o, "for_s");
	json_t *rv = json_object_get(o, "rate");
	json_t *sv = json_object_get(o, "severity");
	int op = op_index(json_string_value(json_object_get(o, "op")));
	r->metric = json_string_value(json_object_get(o, "metric"));
	r->severity = sv != NULL ? json_string_value(sv) : "warning";
	const char *why = NULL, *at = NULL;
	if (r->metric == NULL || *r->metric == '\0')
		at = "metric", why = "'metric' is required";
	else if (op < 0)
		at = "op", why = "'op' must be one of > >= < <= == !=";
	else if (!num(json_object_get(o, "threshold"), &r->threshold))
		at = "threshold", why = "'threshold' must be a number";
	else if (fv != NULL && (!num(fv, &r->for_s) || !(r->for_s >= 0)))
		at = "for_s", why = "'for_s' must be a number >= 0";
	else if (rv != NULL && !json_is_boolean(rv))
		at = "rate", why = "'rate' must be true or false";
	else if (r->severity == NULL || *r->severity == '\0')
		at = "severity", why = "'severity' must be a non-empty string";
	if (why == NULL) {
		r->op = (acrt__alert_op)op;
		r->rate = json_is_true(rv);
		return 0;
	}
	/* A missing key is the entry's fault, a bad one its own. */
	*key = json_object_get(o, at) != NULL ? at : NULL;
	snprintf(msg, len, "%s", why);
	return -1;
}
