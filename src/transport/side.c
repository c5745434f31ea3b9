/*
 * side.c - the ops one side of a binding between nodes does not have, and
 * the position both sides keep in checkpoints (side.h).
 */
#include "transport/side.h"

#include <stdio.h>

#include "transport/wire.h"

void
acrt__side_kick(acrt__transport *t)
{
	(void)t;
}

int
acrt__side_barrier(acrt__transport *t, acrt_event *ev, int64_t deadline)
{
	acrt_event_unref(ev);
	return t->ops->sync(t, deadline);
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

void
acrt__side_pos_save(pthread_mutex_t *mu, int side, const uint64_t *epoch, const uint64_t *seq,
                    unsigned char out[ACRT__HOP_PART])
{
	pthread_mutex_lock(mu);
	acrt__wire_hop_put(out, side, *epoch, *seq);
	pthread_mutex_unlock(mu);
}

int
acrt__side_pos_load(pthread_mutex_t *mu, int side, uint64_t *epoch, uint64_t *seq,
                    const unsigned char *p, size_t n, char *why, size_t whylen)
{
	uint64_t e, q;
	if (acrt__wire_hop_get(p, n, side, &e, &q) != 0) {
		snprintf(why, whylen, "not the position of a %s side",
		         side == 1 ? "sending" : "receiving");
		return -1;
	}
	pthread_mutex_lock(mu);
	*epoch = e;
	*seq = q;
	pthread_mutex_unlock(mu);
	return 0;
}
