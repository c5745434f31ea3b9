/*
 * lograte.c - see lograte.h.
 */
#include "runtime/lograte.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"

int
acrt__lograte_init(acrt__lograte *lr)
{
	memset(lr->slot, 0, sizeof lr->slot);
	return pthread_mutex_init(&lr->mu, NULL) == 0 ? 0 : -1;
}

void
acrt__lograte_destroy(acrt__lograte *lr)
{
	pthread_mutex_destroy(&lr->mu);
}

/* A summary to log once the lock is released. */
typedef struct pending {
	uint64_t suppressed;
	int64_t span_ns;
	char last[160];
} pending;

/* Takes slot s's suppressed count into *p and starts a new window at now. */
static void
roll(acrt__lograte_slot *s, int64_t now, pending *p)
{
	p->suppressed = s->suppressed;
	p->span_ns = now - s->window;
	memcpy(p->last, s->last, sizeof p->last);
	s->window = now;
	s->lines = 0;
	s->suppressed = 0;
	s->last[0] = '\0';
}

static void
summary(const char *component, const pending *p)
{
	if (p->suppressed == 0)
		return;
	json_t *x = json_pack("{s:I}", "suppressed", (json_int_t)p->suppressed);
	acrt__log(ACRT_LOG_WARN, component, 0, x,
	          "%llu similar lines suppressed in the last %.1f s (at most %d a second); the "
	          "last: %s",
	          (unsigned long long)p->suppressed, (double)p->span_ns / 1e9, ACRT__LOGRATE_BURST,
	          p->last[0] ? p->last : "-");
	json_decref(x);
}

bool
acrt__lograte_take(acrt__lograte *lr, const char *component, const void *site, int code,
                   const char *msg)
{
	int64_t now = acrt__fast_mono_ns();
	pending p = {0};
	bool ok;
	pthread_mutex_lock(&lr->mu);
	acrt__lograte_slot *s = NULL, *unused = NULL, *oldest = NULL;
	for (size_t i = 0; i < ACRT__LOGRATE_SLOTS && s == NULL; i++) {
		acrt__lograte_slot *t = &lr->slot[i];
		if (t->site == site && t->code == code)
			s = t;
		else if (t->site == NULL && unused == NULL)
			unused = t;
		else if (t->site != NULL && (oldest == NULL || t->window < oldest->window))
			oldest = t;
	}
	if (s == NULL) { /* a new site: a free slot, else the least recent one */
		s = unused != NULL ? unused : oldest;
		if (s->site != NULL)
			roll(s, now, &p);
		s->site = site;
		s->code = code;
		s->window = now;
		s->lines = 0;
	} else if (now - s->window >= ACRT__LOGRATE_WINDOW_NS) {
		roll(s, now, &p);
	}
	ok = s->lines < ACRT__LOGRATE_BURST;
	if (ok) {
		s->lines++;
	} else {
		s->suppressed++;
		snprintf(s->last, sizeof s->last, "%s", msg != NULL ? msg : "");
	}
	pthread_mutex_unlock(&lr->mu);
	summary(component, &p);
	return ok;
}

void
acrt__lograte_flush(acrt__lograte *lr, const char *component)
{
	int64_t now = acrt__fast_mono_ns();
	for (size_t i = 0; i < ACRT__LOGRATE_SLOTS; i++) {
		pending p = {0};
		pthread_mutex_lock(&lr->mu);
		if (lr->slot[i].site != NULL)
			roll(&lr->slot[i], now, &p);
		pthread_mutex_unlock(&lr->mu);
		summary(component, &p);
	}
}
