/*
 * alert_rule.h - one `runtime.alerts` entry (docs/ALERTS.md), read into typed
 * fields. The blueprint loader reports a bad entry at `acrt validate` with its
 * file:line:column; the alert evaluator (observe/alerts.c) reads the same
 * fields when a system starts, so the two cannot disagree. Pure functions:
 * any thread.
 */
#ifndef ACRT_ALERT_RULE_H
#define ACRT_ALERT_RULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
	ACRT__ALERT_GT,
	ACRT__ALERT_GE,
	ACRT__ALERT_LT,
	ACRT__ALERT_LE,
	ACRT__ALERT_EQ,
	ACRT__ALERT_NE
} acrt__alert_op;

/* ">", ">=", ... indexed by acrt__alert_op. */
extern const char *const acrt__alert_op_names[];

/* The keys of a rule, NULL-terminated. */
extern const char *const acrt__alert_rule_keys[];

typedef struct acrt__alert_rule {
	const char *name;     /* borrowed from the entry */
	bool enabled;         /* false: the entry only removes a default of its name */
	const char *metric;   /* borrowed; the rest is set only when enabled */
	const char *severity; /* borrowed; "warning" when absent */
	acrt__alert_op op;
	double threshold, for_s;
	bool rate;
} acrt__alert_rule;

/*
 * Reads one entry into *r. Returns 0, or -1 with *key set to the offending key
 * (NULL for the whole entry) and a one-line reason in msg ("'op' must be one
 * of > >= < <= == !="). A rule with `enabled: false` only needs its name.
 */
int acrt__alert_rule_parse(const json_t *o, acrt__alert_rule *r, const char **key, char *msg,
                           size_t len);

#endif /* ACRT_ALERT_RULE_H */
