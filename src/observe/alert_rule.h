/*
 * alert_rule.h - what one `runtime.alerts` entry may hold (docs/ALERTS.md),
 * shared by alerts.c, which reads the rules when a system starts, and the
 * blueprint loader, which reports a bad rule at `acrt validate` with its
 * file:line:column. Pure functions: any thread.
 */
#ifndef ACRT_ALERT_RULE_H
#define ACRT_ALERT_RULE_H

#include <jansson.h>
#include <stddef.h>

/* The keys of a rule, NULL-terminated. */
extern const char *const acrt__alert_rule_keys[];

/*
 * Checks one entry as alerts.c reads it. Returns 0, or -1 with *key set to the
 * offending key (NULL for the whole entry) and a one-line reason in msg
 * ("'op' must be one of > >= < <= == !="). A rule with `enabled: false` only
 * needs its name.
 */
int acrt__alert_rule_check(const json_t *o, const char **key, char *msg, size_t len);

#endif /* ACRT_ALERT_RULE_H */
