/*
 * linecheck.c - see linecheck.h. The helper waits on a condition variable
 * for a range of lines, checks it, and signals back; the caller checks the
 * other range meanwhile. One hand-off per batch (a few hundred lines).
 */
#include "components/linecheck.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* Below this many lines a batch is checked on the calling thread alone. */
#define LC_SPLIT_MIN 16

struct acrt__linecheck {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool started, quit;
	acrt__lc_line *job; /* the helper's range, NULL when it has none */
	size_t job_n;
	char name[16];
};

static void
check_range(acrt__lc_line *l, size_t n)
{
	for (size_t i = 0; i < n; i++) /* an empty line is blank, not checked */
		l[i].ok = l[i].len > 0 && acrt__json_check(l[i].p, l[i].len, l[i].cap, l[i].why,
		                                           sizeof l[i].why) == 0;
}

static void *
helper(void *arg)
{
	acrt__linecheck *lc = arg;
	pthread_setname_np(pthread_self(), lc->name);
	pthread_mutex_lock(&lc->mu);
	for (;;) {
		while (lc->job == NULL && !lc->quit)
			pthread_cond_wait(&lc->cv, &lc->mu);
		if (lc->job == NULL)
			break; /* quit, with nothing left to do */
		acrt__lc_line *job = lc->job;
		size_t n = lc->job_n;
		pthread_mutex_unlock(&lc->mu);
		check_range(job, n);
		pthread_mutex_lock(&lc->mu);
		lc->job = NULL;
		pthread_cond_broadcast(&lc->cv);
	}
	pthread_mutex_unlock(&lc->mu);
	return NULL;
}

acrt__linecheck *
acrt__lc_new(const char *name)
{
	acrt__linecheck *lc = calloc(1, sizeof *lc);
	if (lc == NULL)
		return NULL;
	if (pthread_mutex_init(&lc->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&lc->cv, NULL) != 0) {
		pthread_mutex_destroy(&lc->mu);
		goto fail;
	}
	strncpy(lc->name, name, sizeof lc->name - 1);
	return lc;
fail:
	free(lc);
	return NULL;
}

void
acrt__lc_free(acrt__linecheck *lc)
{
	if (lc == NULL)
		return;
	if (lc->started) {
		pthread_mutex_lock(&lc->mu);
		lc->quit = true;
		pthread_cond_broadcast(&lc->cv);
		pthread_mutex_unlock(&lc->mu);
		pthread_join(lc->th, NULL);
	}
	pthread_cond_destroy(&lc->cv);
	pthread_mutex_destroy(&lc->mu);
	free(lc);
}

void
acrt__lc_check(acrt__linecheck *lc, acrt__lc_line *lines, size_t n)
{
	if (n < LC_SPLIT_MIN) {
		check_range(lines, n);
		return;
	}
	if (!lc->started) {
		/* Without a helper (no thread to be had), check it all here. */
		if (pthread_create(&lc->th, NULL, helper, lc) != 0) {
			check_range(lines, n);
			return;
		}
		lc->started = true;
	}
	size_t half = n / 2;
	pthread_mutex_lock(&lc->mu);
	lc->job = lines + half;
	lc->job_n = n - half;
	pthread_cond_broadcast(&lc->cv);
	pthread_mutex_unlock(&lc->mu);
	check_range(lines, half);
	pthread_mutex_lock(&lc->mu);
	while (lc->job != NULL)
		pthread_cond_wait(&lc->cv, &lc->mu);
	pthread_mutex_unlock(&lc->mu);
}
