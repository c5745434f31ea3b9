/*
 * test_taskgroup.c - structured concurrency: the first failure cancels the
 * siblings, every failure is collected, wait honours its deadline, threads
 * carry their names, and no thread outlives its group.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "acrt/acrt.h"
#include "core/taskgroup.h"
#include "core/waitq.h"
#include "testutil.h"

/* Siblings park on this waitq until cancel notifies it. */
typedef struct env {
	acrt__taskgroup tg;
	acrt__waitq wq;
	atomic_int cancelled_seen;
	atomic_int started;
} env;

static void
on_cancel(void *arg)
{
	env *e = arg;
	acrt__waitq_notify(&e->wq);
}

static int
blocker(void *arg)
{
	env *e = arg;
	atomic_fetch_add(&e->started, 1);
	while (!acrt__tg_cancelled(&e->tg)) {
		uint64_t key = acrt__waitq_key(&e->wq);
		if (acrt__tg_cancelled(&e->tg))
			break;
		acrt__waitq_wait(&e->wq, key, ACRT__FOREVER);
	}
	atomic_fetch_add(&e->cancelled_seen, 1);
	return ACRT_ECANCELED;
}

static int
failer(void *arg)
{
	env *e = arg;
	/* Fail only once the siblings are running, so that cancel must wake them. */
	WAIT_FOR(atomic_load(&e->started) == 3, 5000);
	return ACRT_EFATAL;
}

static void
collect(void *arg, const char *name, int rc)
{
	char *out = arg;
	snprintf(out + strlen(out), 128 - strlen(out), "%s=%d;", name, rc);
}

static void
test_first_failure_cancels_siblings(void **state)
{
	(void)state;
	env e = {0};
	acrt__waitq_init(&e.wq);
	assert_int_equal(acrt__tg_init(&e.tg, on_cancel, &e), 0);
	int before = count_threads();
	for (int i = 0; i < 3; i++)
		assert_int_equal(acrt__tg_spawn(&e.tg, "blocker", blocker, &e), 0);
	assert_int_equal(acrt__tg_spawn(&e.tg, "failer", failer, &e), 0);

	int rc = acrt__tg_wait_until(&e.tg, acrt__mono_ns() + 10000 * MS);
	assert_int_equal(rc, ACRT_EFATAL);
	assert_int_equal(atomic_load(&e.cancelled_seen), 3);
	char errs[128] = "";
	acrt__tg_errors(&e.tg, collect, errs);
	/* Only the real failure is an error; cancelled siblings are not. */
	assert_string_equal(errs, "failer=-2;");
	assert_string_equal(e.tg.first_err_task, "failer");
	/* Joined: no thread outlives the group. */
	assert_int_equal(count_threads(), before);
	acrt__tg_destroy(&e.tg);
	acrt__waitq_destroy(&e.wq);
}

static int
ok_task(void *arg)
{
	(void)arg;
	return ACRT_OK;
}

static void
test_no_orphans_after_many(void **state)
{
	(void)state;
	int before = count_threads();
	for (int round = 0; round < 20; round++) {
		acrt__taskgroup tg;
		acrt__tg_init(&tg, NULL, NULL);
		for (int i = 0; i < 16; i++)
			assert_int_equal(acrt__tg_spawn(&tg, "ok", ok_task, NULL), 0);
		assert_int_equal(acrt__tg_wait_until(&tg, ACRT__FOREVER), ACRT_OK);
		acrt__tg_destroy(&tg);
	}
	assert_int_equal(count_threads(), before);
}

static void
test_wait_deadline_then_cancel(void **state)
{
	(void)state;
	env e = {0};
	acrt__waitq_init(&e.wq);
	acrt__tg_init(&e.tg, on_cancel, &e);
	acrt__tg_spawn(&e.tg, "blocker", blocker, &e);
	int64_t t0 = acrt__mono_ns();
	assert_int_equal(acrt__tg_wait_until(&e.tg, t0 + 50 * MS), ACRT_ETIMEDOUT);
	assert_true(acrt__mono_ns() - t0 >= 50 * MS);
	acrt__tg_cancel(&e.tg);
	acrt__tg_cancel(&e.tg); /* idempotent */
	assert_int_equal(acrt__tg_wait_until(&e.tg, acrt__mono_ns() + 5000 * MS), ACRT_OK);
	assert_int_equal(atomic_load(&e.cancelled_seen), 1);
	acrt__tg_destroy(&e.tg);
	acrt__waitq_destroy(&e.wq);
}

static int
name_task(void *arg)
{
	char *out = arg;
	pthread_getname_np(pthread_self(), out, 16);
	return ACRT_OK;
}

static void
test_thread_carries_name(void **state)
{
	(void)state;
	acrt__taskgroup tg;
	acrt__tg_init(&tg, NULL, NULL);
	char got[16] = "";
	acrt__tg_spawn(&tg, "enrich#3", name_task, got);
	acrt__tg_wait_until(&tg, ACRT__FOREVER);
	assert_string_equal(got, "enrich#3");
	acrt__tg_destroy(&tg);
}

int
main(void)
{
	/* Warm up: sanitizer runtimes start helper threads lazily on the first
	 * pthread_create; they must not count as orphans. */
	acrt__taskgroup warm;
	acrt__tg_init(&warm, NULL, NULL);
	acrt__tg_spawn(&warm, "warm", ok_task, NULL);
	acrt__tg_wait_until(&warm, ACRT__FOREVER);
	acrt__tg_destroy(&warm);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_failure_cancels_siblings),
	    cmocka_unit_test(test_no_orphans_after_many),
	    cmocka_unit_test(test_wait_deadline_then_cancel),
	    cmocka_unit_test(test_thread_carries_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
