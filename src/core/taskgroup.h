/*
 * taskgroup.h - structured concurrency: a task group owns the threads it
 * starts and outlives them.
 *
 *   - acrt__tg_spawn() starts a named thread (the name shows in top -H, gdb,
 *     /proc/PID/task/TID/comm; truncated to 15 bytes).
 *   - The first task to fail (return a code other than ACRT_OK and
 *     ACRT_ECANCELED) cancels the group: the on_cancel hook runs once, on the
 *     failing thread, and must wake every blocking call of the siblings (the
 *     runtime cancels its transports and wakes its sleepers there).
 *   - Every failure is collected (task name and code) in spawn order.
 *   - acrt__tg_wait_until() returns only when every task has ended and been
 *     joined, or at the deadline with ACRT_ETIMEDOUT (nothing joined yet;
 *     call again, typically after acrt__tg_cancel()). No thread outlives the
 *     group: acrt__tg_destroy() requires a completed wait.
 *
 * Spawn and cancel may be called from any thread; wait from one thread only.
 * A supervisor that also waits for other things (signals) can poll done_fd: it
 * becomes readable when the last running task ends.
 */
#ifndef ACRT_TASKGROUP_H
#define ACRT_TASKGROUP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*acrt__task_fn)(void *arg);

typedef struct acrt__task {
	struct acrt__taskgroup *tg;
	pthread_t thread;
	char name[16];
	acrt__task_fn fn;
	void *arg;
	int rc;
	bool started, done, joined;
} acrt__task;

typedef struct acrt__taskgroup {
	pthread_mutex_t mu;
	pthread_cond_t cv;  /* signalled when a task ends; CLOCK_MONOTONIC */
	acrt__task **tasks; /* protected by mu */
	size_t n_tasks, running;
	atomic_bool cancelled;
	int first_err; /* first failure code, 0 if none */
	char first_err_task[16];
	void (*on_cancel)(void *arg);
	void *on_cancel_arg;
	int done_fd; /* eventfd, readable once no task is running (for poll) */
} acrt__taskgroup;

int acrt__tg_init(acrt__taskgroup *tg, void (*on_cancel)(void *), void *arg);
/* Starts fn(arg) on a new thread named `name`. 0, or -1 if the thread could
 * not be created (the group is then cancelled: a partial start is a failure). */
int acrt__tg_spawn(acrt__taskgroup *tg, const char *name, acrt__task_fn fn, void *arg);
/* Cancels the group: idempotent, runs on_cancel once. */
void acrt__tg_cancel(acrt__taskgroup *tg);
static inline bool
acrt__tg_cancelled(acrt__taskgroup *tg)
{
	return atomic_load_explicit(&tg->cancelled, memory_order_acquire);
}
/* Waits for every task until the monotonic deadline. Returns 0 when all ended
 * successfully, the first failure's code when one failed, ACRT_ETIMEDOUT. */
int acrt__tg_wait_until(acrt__taskgroup *tg, int64_t deadline_ns);
/* The names of the tasks still running, ", "-separated, into buf (len > 0);
 * returns how many there are. */
size_t acrt__tg_running(acrt__taskgroup *tg, char *buf, size_t len);
/* Detaches the tasks still running: the process is about to exit without
 * them (they are stuck); the group must not be destroyed afterwards. */
void acrt__tg_abandon(acrt__taskgroup *tg);
/* Calls fn(arg, name, rc) for every failed task, in spawn order. */
void acrt__tg_errors(acrt__taskgroup *tg, void (*fn)(void *, const char *, int), void *arg);
/* Frees the group; every task must have been joined. */
void acrt__tg_destroy(acrt__taskgroup *tg);

#endif /* ACRT_TASKGROUP_H */
