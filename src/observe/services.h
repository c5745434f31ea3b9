/*
 * services.h - what observe/ serves from the supervising loop of `acrt run`
 * (runtime/service.h): the HTTP API (with `acrt tap`'s streams), the alert
 * rules, the live status line and, under systemd, sd_notify (observe/notify.h);
 * and the tap hooks the runtime calls on a
 * tapped port. The CLI fills acrt__run_opts from here, so the runtime below
 * never names any of them.
 *
 * Threads: the services run on the supervising thread; the tap hooks on the
 * component threads (observe/tap.h). The caller owns the acrt__observe, which
 * must outlive acrt__runtime_run.
 */
#ifndef ACRT_SERVICES_H
#define ACRT_SERVICES_H

#include <stdbool.h>

#include "observe/notify.h"
#include "observe/status.h"
#include "runtime/query.h"
#include "runtime/service.h"

struct acrt__api;
struct acrt__alerts;

typedef struct acrt__observe {
	struct acrt__api *api;       /* lives across the generations of a reload */
	struct acrt__alerts *alerts; /* one generation's rules */
	acrt__runtime *rt;           /* between start and stop: taps end with a generation */
	acrt__status status;
	acrt__notify notify;
	acrt__service services[5];
} acrt__observe;

/* Zeroes *o and fills opts->services and opts->tap_hooks; the status line
 * only when status_line is true, systemd's notify only under NOTIFY_SOCKET. */
void acrt__observe_init(acrt__observe *o, acrt__run_opts *opts, bool status_line);

#endif /* ACRT_SERVICES_H */
