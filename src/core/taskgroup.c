/*
 * taskgroup.c - see taskgroup.h. Threads block SIGINT/SIGTERM/SIGHUP (the
 * runtime's signal thread takes them) and flush their event cache on exit.
 */
#include "core/taskgroup.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "acrt/acrt.h"
#include "core/common.h"
#include "core/event.h"
#include "core/waitq.h"

int
acrt__tg_init(acrt__taskgroup *tg, void (*on_cancel)(void *), void *arg)
{
	memset(tg, 0, sizeof *tg);
	atomic_init(&tg->cancelled, false);
	tg->on_cancel = on_cancel;
	tg->on_cancel_arg = arg;
	tg->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (tg->done_fd < 0)
		return -1;
	if (pthread_mutex_init(&tg->mu, NULL) != 0)
		goto fail_fd;
	if (acrt__cond_init_mono(&tg->cv) != 0)
		goto fail_mutex;
	return 0;
fail_mutex:
	pthread_mutex_destroy(&tg->mu);
fail_fd:
	close(tg->done_fd);
	return -1;
}

void
acrt__tg_cancel(acrt__taskgroup *tg)
{
	bool expected = false;
	if (!atomic_compare_exchange_strong(&tg->cancelled, &expected, true))
		return;
	if (tg->on_cancel != NULL)
		tg->on_cancel(tg->on_cancel_arg);
}

static void *
task_main(void *p)
{
	acrt__task *t = p;
	acrt__taskgroup *tg = t->tg;
	pthread_setname_np(pthread_self(), t->name);

	int rc = t->fn(t->arg);
	acrt__event_thread_flush();

	bool failed = rc != ACRT_OK && rc != ACRT_ECANCELED;
	pthread_mutex_lock(&tg->mu);
	t->rc = rc;
	t->done = true;
	if (--tg->running == 0) {
		uint64_t one = 1;
		(void)!write(tg->done_fd, &one, sizeof one);
	}
	if (failed && tg->first_err == 0) {
		tg->first_err = rc;
		memcpy(tg->first_err_task, t->name, sizeof t->name);
	}
	pthread_cond_broadcast(&tg->cv);
	pthread_mutex_unlock(&tg->mu);
	if (failed)
		acrt__tg_cancel(tg);
	return NULL;
}

int
acrt__tg_spawn(acrt__taskgroup *tg, const char *name, acrt__task_fn fn, void *arg)
{
	acrt__task *t = acrt__calloc(1, sizeof *t);
	if (t == NULL)
		goto fail;
	t->tg = tg;
	t->fn = fn;
	t->arg = arg;
	snprintf(t->name, sizeof t->name, "%s", name != NULL ? name : "acrt-task");

	pthread_mutex_lock(&tg->mu);
	acrt__task **tasks = acrt__realloc(tg->tasks, (tg->n_tasks + 1) * sizeof *tasks);
	if (tasks == NULL) {
		pthread_mutex_unlock(&tg->mu);
		goto fail_task;
	}
	tg->tasks = tasks;

	/* The new thread must not take process signals: block them around create. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = pthread_create(&t->thread, NULL, task_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_unlock(&tg->mu);
		goto fail_task;
	}
	t->started = true;
	tg->tasks[tg->n_tasks++] = t;
	tg->running++;
	pthread_mutex_unlock(&tg->mu);
	return 0;

fail_task:
	acrt__free(t);
fail:
	pthread_mutex_lock(&tg->mu);
	if (tg->first_err == 0) {
		tg->first_err = ACRT_ENOMEM;
		snprintf(tg->first_err_task, sizeof tg->first_err_task, "%s",
		         name != NULL ? name : "spawn");
	}
	pthread_mutex_unlock(&tg->mu);
	acrt__tg_cancel(tg);
	return -1;
}

int
acrt__tg_wait_until(acrt__taskgroup *tg, int64_t deadline_ns)
{
	pthread_mutex_lock(&tg->mu);
	while (tg->running > 0) {
		if (acrt__cond_wait_until(&tg->cv, &tg->mu, deadline_ns) == ETIMEDOUT &&
		    tg->running > 0) {
			pthread_mutex_unlock(&tg->mu);
			return ACRT_ETIMEDOUT;
		}
	}
	size_t n = tg->n_tasks;
	pthread_mutex_unlock(&tg->mu);

	for (size_t i = 0; i < n; i++) {
		acrt__task *t = tg->tasks[i];
		if (!t->joined) {
			pthread_join(t->thread, NULL);
			t->joined = true;
		}
	}
	pthread_mutex_lock(&tg->mu);
	int rc = tg->first_err;
	pthread_mutex_unlock(&tg->mu);
	return rc;
}

size_t
acrt__tg_running(acrt__taskgroup *tg, char *buf, size_t len)
{
	size_t n = 0, at = 0;
	buf[0] = '\0';
	pthread_mutex_lock(&tg->mu);
	for (size_t i = 0; i < tg->n_tasks; i++) {
		if (tg->tasks[i]->done)
			continue;
		int w = snprintf(buf + at, len - at, "%s'%s'", n ? ", " : "", tg->tasks[i]->name);
		if (w > 0 && (size_t)w < len - at)
			at += (size_t)w;
		n++;
	}
	pthread_mutex_unlock(&tg->mu);
	return n;
}

void
acrt__tg_abandon(acrt__taskgroup *tg)
{
	pthread_mutex_lock(&tg->mu);
	for (size_t i = 0; i < tg->n_tasks; i++) {
		acrt__task *t = tg->tasks[i];
		if (!t->joined && pthread_detach(t->thread) == 0)
			t->joined = true; /* not to be joined: it is left behind */
	}
	pthread_mutex_unlock(&tg->mu);
}

void
acrt__tg_errors(acrt__taskgroup *tg, void (*fn)(void *, const char *, int), void *arg)
{
	pthread_mutex_lock(&tg->mu);
	for (size_t i = 0; i < tg->n_tasks; i++) {
		acrt__task *t = tg->tasks[i];
		if (t->done && t->rc != ACRT_OK && t->rc != ACRT_ECANCELED)
			fn(arg, t->name, t->rc);
	}
	pthread_mutex_unlock(&tg->mu);
}

void
acrt__tg_destroy(acrt__taskgroup *tg)
{
	for (size_t i = 0; i < tg->n_tasks; i++)
		acrt__free(tg->tasks[i]);
	acrt__free(tg->tasks);
	pthread_cond_destroy(&tg->cv);
	pthread_mutex_destroy(&tg->mu);
	close(tg->done_fd);
}
