/*
 * webhook.h - the alert webhook sender (see webhook.c). The supervising
 * thread pushes; the sender thread posts. Push never blocks.
 */
#ifndef ACRT_WEBHOOK_H
#define ACRT_WEBHOOK_H

#include <jansson.h>

typedef struct acrt__webhook acrt__webhook;

/* Starts the sender thread for `url`; NULL if it cannot start. */
acrt__webhook *acrt__webhook_start(const char *url);
/* Queues one Alertmanager v2 alert object (steals the reference). */
void acrt__webhook_push(acrt__webhook *wh, json_t *alert);
/* Makes a last delivery attempt, stops and joins the thread, frees. NULL ok. */
void acrt__webhook_stop(acrt__webhook *wh);

#endif /* ACRT_WEBHOOK_H */
