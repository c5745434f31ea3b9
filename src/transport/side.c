/*
 * side.c - the ops one side of a binding between nodes does not have (side.h).
 */
#include "transport/side.h"

void
acrt__side_kick(acrt__transport *t)
{
	(void)t;
}

size_t
acrt__side_no_recv(acrt__transport *t, unsigned consumer, acrt_event **evs, size_t max,
                   acrt__rx_status *st)
{
	(void)t, (void)consumer, (void)evs, (void)max;
	*st = ACRT__RX_EOS;
	return 0;
}

int
acrt__side_no_send(acrt__transport *t, acrt_event **evs, size_t n, size_t *sent, int64_t deadline,
                   unsigned flags)
{
	(void)t, (void)evs, (void)n, (void)deadline, (void)flags;
	*sent = 0;
	return ACRT_ECLOSED;
}

int
acrt__side_no_barrier(acrt__transport *t, acrt_event *ev, int64_t deadline)
{
	(void)t, (void)deadline;
	acrt_event_unref(ev);
	return ACRT_ETIMEDOUT;
}

void
acrt__side_no_close(acrt__transport *t)
{
	(void)t;
}
