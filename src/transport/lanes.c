/*
 * lanes.c - deals a producer's events out to the lanes of a binding whose
 * consumer runs on several nodes (lanes.h): ACRT__LANE_TURN events to one
 * lane, then the next, round the lanes. The lane of an event follows from
 * how many were dealt before it, so a producer that replays the same events
 * (a resumed node, with exactly-once) deals them to the same lanes: the count
 * resumes from the lanes' own positions (the sum of the sequences each had
 * numbered), which their parts of the checkpoint restored. Replicas of the
 * producer (without checkpoints) take their runs under a lock and send them
 * outside it; each replica's events keep their order within a lane.
 *
 * Everything else is forwarded: kick, barriers, sync and close go to every lane
 * (each lane's consumer sees this producer's end marker), cancel too.
 */
#include <pthread.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"
#include "transport/lanes.h"

typedef struct lanes {
	acrt__transport base;
	acrt__transport **lane;
	size_t n;
	pthread_mutex_t mu;
	bool started;   /* dealt was read from the lanes (mu) */
	uint64_t dealt; /* events dealt so far, the resumed run's included (mu) */
} lanes;

/* The next run of at most `want` events: its lane, and how many (mu). */
static acrt__transport *
next_run(lanes *l, size_t want, size_t *m)
{
	pthread_mutex_lock(&l->mu);
	if (!l->started) { /* a resumed producer goes on where its lanes stand */
		for (size_t i = 0; i < l->n; i++)
			l->dealt += l->lane[i]->ops->position != NULL
			                ? l->lane[i]->ops->position(l->lane[i])
			                : 0;
		l->started = true;
	}
	size_t left = ACRT__LANE_TURN - (size_t)(l->dealt % ACRT__LANE_TURN);
	acrt__transport *t = l->lane[(l->dealt / ACRT__LANE_TURN) % l->n];
	*m = want < left ? want : left;
	l->dealt += *m;
	pthread_mutex_unlock(&l->mu);
	return t;
}

static int
lanes_send(acrt__transport *base, acrt_event **evs, size_t n, size_t *sent_out, int64_t deadline,
           unsigned flags)
{
	lanes *l = (lanes *)base;
	size_t sent = 0;
	int rc = ACRT_OK;
	while (sent < n && rc == ACRT_OK) {
		size_t m, k = 0;
		acrt__transport *t = next_run(l, n - sent, &m);
		rc = t->ops->send(t, evs + sent, m, &k, deadline, flags);
		sent += k; /* short only when cancelled: the run's turn is spent */
	}
	*sent_out = sent;
	return rc;
}

static void
lanes_kick(acrt__transport *base)
{
	lanes *l = (lanes *)base;
	for (size_t i = 0; i < l->n; i++)
		l->lane[i]->ops->kick(l->lane[i]);
}

static size_t
lanes_try_recv(acrt__transport *base, unsigned consumer, acrt_event **evs, size_t max,
               acrt__rx_status *st)
{
	(void)base, (void)consumer, (void)evs, (void)max;
	*st = ACRT__RX_CANCELED; /* a sending end only: nothing is received here */
	return 0;
}

/* Every lane gets the barrier (a reference each). */
static int
lanes_barrier(acrt__transport *base, acrt_event *ev, int64_t deadline)
{
	lanes *l = (lanes *)base;
	int rc = ACRT_OK;
	if (l->n > 1)
		acrt__event_ref_n(ev, (unsigned)(l->n - 1));
	for (size_t i = 0; i < l->n; i++) {
		int r = l->lane[i]->ops->send_barrier(l->lane[i], ev, deadline);
		if (r != ACRT_OK && rc == ACRT_OK)
			rc = r;
	}
	return rc;
}

static int
lanes_sync(acrt__transport *base, int64_t deadline)
{
	lanes *l = (lanes *)base;
	for (size_t i = 0; i < l->n; i++) {
		int r = l->lane[i]->ops->sync != NULL ? l->lane[i]->ops->sync(l->lane[i], deadline)
		                                      : ACRT_OK;
		if (r != ACRT_OK)
			return r;
	}
	return ACRT_OK;
}

static void
lanes_close(acrt__transport *base)
{
	lanes *l = (lanes *)base;
	for (size_t i = 0; i < l->n; i++)
		l->lane[i]->ops->close(l->lane[i]);
}

static void
lanes_cancel(acrt__transport *base)
{
	lanes *l = (lanes *)base;
	for (size_t i = 0; i < l->n; i++)
		l->lane[i]->ops->cancel(l->lane[i]);
}

/* The lanes' sums (each lane also reports its own, as a stream). */
static void
lanes_stats(acrt__transport *base, acrt__transport_stats *out)
{
	lanes *l = (lanes *)base;
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < l->n; i++) {
		acrt__transport_stats s;
		l->lane[i]->ops->stats(l->lane[i], &s);
		out->sent += s.sent;
		out->blocked_ns += s.blocked_ns;
		out->dropped += s.dropped;
		out->depth += s.depth;
		out->capacity += s.capacity;
	}
}

static size_t
lanes_destroy(acrt__transport *base)
{
	lanes *l = (lanes *)base;
	pthread_mutex_destroy(&l->mu);
	acrt__free(l->lane);
	acrt__free(base->name);
	acrt__free(l);
	return 0; /* the lanes hold the events, and count them when destroyed */
}

static const acrt__transport_ops lanes_ops = {
    .kind = "lanes",
    .send = lanes_send,
    .kick = lanes_kick,
    .try_recv = lanes_try_recv,
    .send_barrier = lanes_barrier,
    .sync = lanes_sync,
    .close = lanes_close,
    .cancel = lanes_cancel,
    .stats = lanes_stats,
    .destroy = lanes_destroy,
};

acrt__transport *
acrt__lanes_new(const char *name, acrt__transport *const *lane, size_t n)
{
	lanes *l = acrt__calloc(1, sizeof *l);
	if (l == NULL || n == 0)
		goto fail;
	l->base.ops = &lanes_ops;
	l->base.name = acrt__strdup(name);
	l->lane = acrt__calloc(n, sizeof *l->lane);
	if (l->base.name == NULL || l->lane == NULL)
		goto fail;
	memcpy(l->lane, lane, n * sizeof *lane);
	l->n = n;
	l->base.parts = l->lane; /* each lane is a side in checkpoints */
	l->base.n_parts = n;
	if (pthread_mutex_init(&l->mu, NULL) != 0)
		goto fail;
	return &l->base;
fail:
	if (l != NULL) {
		acrt__free(l->lane);
		acrt__free(l->base.name);
	}
	acrt__free(l);
	return NULL;
}
