/*
 * alerts.h - alerting (docs/ALERTS.md): rules from `runtime.alerts`
 * plus built-in defaults, evaluated once a second on the supervising thread
 * against the metric values of metrics.c (the /metrics exposition, parsed per
 * series). Each series of a rule goes pending -> firing (after for_s) ->
 * resolved; every transition is logged, active alerts are served at
 * GET /api/v1/alerts, and, when `runtime.alert_webhook` is set, firing and
 * resolved alerts are POSTed in the Alertmanager v2 shape by a sender thread
 * (`acrt-webhook`, started only then) through a bounded queue, with retries.
 *
 * Every function accepts a NULL alerts (no-op).
 */
#ifndef ACRT_ALERTS_H
#define ACRT_ALERTS_H

#include <jansson.h>
#include <stdint.h>

#include "runtime/query.h"

typedef struct acrt__alerts acrt__alerts;

/* Reads the rules and the webhook, starts the sender thread when a webhook is
 * configured. Returns 0 (and *out, NULL when there is no rule at all), or -1
 * after logging why (an invalid rule): the run must fail. */
int acrt__alerts_start(acrt__runtime *rt, acrt__alerts **out);
/* When the next evaluation is due (monotonic ns); ACRT__FOREVER when never. */
int64_t acrt__alerts_next_ns(const acrt__alerts *al);
/* Evaluates the rules if due. Never blocks on the network. */
void acrt__alerts_tick(acrt__alerts *al, int64_t now_ns);
/* Resolves what is still active (logged, sent), delivers what is queued
 * (one last attempt), joins the sender thread, frees everything. */
void acrt__alerts_stop(acrt__alerts *al);

/* GET /api/v1/alerts: {"alerts": [{name, labels, state, severity,
 * active_since, value, ...}], "history": [{time, name, from, state, severity,
 * labels, value, summary}]} of the running system of rt: the active alerts
 * and the last 100 transitions, oldest first (both empty when none). */
json_t *acrt__alerts_api_json(const acrt__runtime *rt);

#endif /* ACRT_ALERTS_H */
