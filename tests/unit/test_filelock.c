/*
 * test_filelock.c - the lock files behind `acrt run`'s directory lock and the
 * checkpoint store's lock (src/core/filelock.h): taking one writes the
 * holder's record (0600, missing directories 0700); another process holding
 * it is reported with its pid; a second take in the same process, through
 * another spelling of the path, is shared until the last release, which
 * removes the file; a file left by a process that died is reclaimed and
 * reported; a path that is not a regular file is an error.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/filelock.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/acrt-filelock.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_take_share_release(void **state)
{
	(void)state;
	char path[128], other[128], err[256], rec[128];
	snprintf(path, sizeof path, "%s/sub/dir/x.lock", dir);
	snprintf(other, sizeof other, "%s/sub/./dir/../dir/x.lock", dir);
	acrt__filelock *a = NULL, *b = NULL;
	acrt__lock_holder h;
	assert_int_equal(acrt__filelock_take(path, &a, &h, err, sizeof err), ACRT__FLOCK_TAKEN);
	assert_int_equal(h.pid, 0); /* a fresh file: nobody left it */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char sub[128];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(rec, 1, sizeof rec - 1, f);
	fclose(f);
	rec[n] = '\0';
	char want[32];
	snprintf(want, sizeof want, "pid=%ld\nsince=", (long)getpid());
	assert_true(strncmp(rec, want, strlen(want)) == 0);
	assert_non_null(strstr(rec, "Z\n"));

	/* The same file through another path: shared, not refused. */
	assert_int_equal(acrt__filelock_take(other, &b, &h, err, sizeof err), ACRT__FLOCK_TAKEN);
	assert_ptr_equal(a, b);
	acrt__filelock_release(b);
	assert_int_equal(access(path, F_OK), 0); /* one holder left */
	acrt__filelock_release(a);
	assert_int_equal(access(path, F_OK), -1); /* the last release removes it */
	acrt__filelock_release(NULL);
}

static void
test_held_by_another_process(void **state)
{
	(void)state;
	char path[128], err[256];
	snprintf(path, sizeof path, "%s/held.lock", dir);
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) { /* holds the lock as another acrt would, until told */
		close(done[1]);
		int fd = open(path, O_RDWR | O_CREAT, 0600);
		char rec[64];
		int len = snprintf(rec, sizeof rec, "pid=%ld\nsince=2026-12-04T10:00:00Z\n",
		                   (long)getpid());
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(fd, rec, (size_t)len) != len)
			_exit(1);
		char c = 'r';
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	acrt__filelock *l = NULL;
	acrt__lock_holder h;
	assert_int_equal(acrt__filelock_take(path, &l, &h, err, sizeof err), ACRT__FLOCK_HELD);
	assert_null(l);
	assert_int_equal(h.pid, (long)child);
	assert_string_equal(h.since, "2026-12-04T10:00:00Z");
	assert_false(h.gone);

	/* The holder dies without releasing: the lock is free, the file stale. */
	close(done[1]);
	int wst;
	assert_int_equal(waitpid(child, &wst, 0), child);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	assert_int_equal(acrt__filelock_take(path, &l, &h, err, sizeof err), ACRT__FLOCK_TAKEN);
	assert_int_equal(h.pid, (long)child);
	assert_true(h.gone);
	acrt__filelock_release(l);
	assert_int_equal(access(path, F_OK), -1);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
}

static void
test_errors(void **state)
{
	(void)state;
	char err[256];
	acrt__filelock *l = NULL;
	acrt__lock_holder h;
	/* A directory where the file should be. */
	assert_int_equal(acrt__filelock_take(dir, &l, &h, err, sizeof err), ACRT__FLOCK_ERROR);
	assert_null(l);
	assert_non_null(strstr(err, dir));
	/* A symlink is not followed. */
	char target[128], link[128];
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(link, sizeof link, "%s/link.lock", dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(acrt__filelock_take(link, &l, &h, err, sizeof err), ACRT__FLOCK_ERROR);
	assert_int_equal(access(target, F_OK), -1);
	/* A parent that is a file. */
	char file[128], below[160];
	snprintf(file, sizeof file, "%s/plain", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(below, sizeof below, "%s/x.lock", file);
	assert_int_equal(acrt__filelock_take(below, &l, &h, err, sizeof err), ACRT__FLOCK_ERROR);
	assert_non_null(strstr(err, "x.lock"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_take_share_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_by_another_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
