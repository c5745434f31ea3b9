/*
 * filelock.c - exclusive lock files that name their holder (see filelock.h
 * for the protocol: flock, the holder's record, stale files, sharing within
 * one process).
 *
 * Locking: `mu` guards the table of locks this process holds (`held`), and
 * each entry's refs.
 */
#include "core/filelock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"

#define RECORD_MAX 128 /* bytes of the holder's record read back */
#define RETRIES 16     /* the path replaced under us this many times: give up */

struct acrt__filelock {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	unsigned refs;               /* holders in this process (protected by mu) */
	struct acrt__filelock *next; /* protected by mu */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static acrt__filelock *held; /* protected by mu */

static int
fail(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return ACRT__FLOCK_ERROR;
}

/* Parses the holder's record ("pid=N\nsince=T\n"); unknown lines are skipped. */
static void
read_holder(int fd, acrt__lock_holder *h)
{
	char buf[RECORD_MAX + 1];
	memset(h, 0, sizeof *h);
	ssize_t n = pread(fd, buf, RECORD_MAX, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = buf; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (strncmp(line, "pid=", 4) == 0) {
			char *end;
			long pid = strtol(line + 4, &end, 10);
			if (*end == '\0' && pid > 0)
				h->pid = pid;
		} else if (strncmp(line, "since=", 6) == 0) {
			snprintf(h->since, sizeof h->since, "%s", line + 6);
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	h->gone = h->pid != 0 && kill((pid_t)h->pid, 0) != 0 && errno == ESRCH;
}

/* The holder of a lock another process has: it writes its record right
 * after locking, so an empty file is read again for up to about 100 ms. */
static void
read_other(int fd, acrt__lock_holder *h)
{
	for (int i = 0; i < 20; i++) {
		read_holder(fd, h);
		if (h->pid != 0)
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Replaces the file's content with this process's record. A lock file this
 * process may only read (another user's) keeps its content. */
static void
write_record(int fd)
{
	char rec[RECORD_MAX], since[32] = "";
	struct tm tm;
	time_t now = time(NULL);
	if (gmtime_r(&now, &tm) != NULL)
		(void)strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(rec, sizeof rec, "pid=%ld\nsince=%s\n", (long)getpid(), since);
	if (ftruncate(fd, 0) == 0 && pwrite(fd, rec, (size_t)n, 0) == n)
		return;
	/* Not fatal: the lock holds; a refused process just cannot name us. */
}

/* The entry this process holds for the file open at fd, or NULL. Under mu. */
static acrt__filelock *
find_held(const struct stat *st)
{
	for (acrt__filelock *l = held; l != NULL; l = l->next)
		if (l->dev == st->st_dev && l->ino == st->st_ino)
			return l;
	return NULL;
}

/* Opens (creating) the lock file: read-write, else read-only when it exists
 * but belongs to someone else (flock needs no write access). */
static int
open_lock_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* One attempt. 2: the path no longer names the file locked: try again. */
static int
take_once(const char *path, acrt__filelock **out, acrt__lock_holder *h, char *err, size_t errlen)
{
	int fd = open_lock_file(path);
	if (fd < 0)
		return fail(err, errlen, "cannot open the lock file", path);
	int rc = ACRT__FLOCK_ERROR;
	struct stat st, now;
	if (fstat(fd, &st) != 0) {
		rc = fail(err, errlen, "cannot stat the lock file", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the lock file %s is not a regular file", path);
		goto out;
	}
	pthread_mutex_lock(&mu);
	acrt__filelock *l = find_held(&st);
	if (l != NULL) { /* this process holds it: one holder more */
		l->refs++;
		pthread_mutex_unlock(&mu);
		*out = l;
		rc = ACRT__FLOCK_TAKEN;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		pthread_mutex_unlock(&mu);
		if (errno == EWOULDBLOCK) {
			read_other(fd, h);
			rc = ACRT__FLOCK_HELD;
		} else {
			rc = fail(err, errlen, "cannot lock", path);
		}
		goto out;
	}
	/* A holder releasing it removes the file before unlocking: if the path
	 * now names another file (or none), this lock is on a removed file. */
	if (stat(path, &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
		pthread_mutex_unlock(&mu);
		rc = 2;
		goto out;
	}
	l = acrt__calloc(1, sizeof *l);
	char *p = acrt__strdup(path);
	if (l == NULL || p == NULL) {
		pthread_mutex_unlock(&mu);
		acrt__free(l);
		acrt__free(p);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	read_holder(fd, h); /* what a holder that did not release left */
	write_record(fd);
	l->path = p;
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->refs = 1;
	l->next = held;
	held = l;
	pthread_mutex_unlock(&mu);
	*out = l;
	return ACRT__FLOCK_TAKEN;
out:
	close(fd); /* unlocks when this descriptor took the lock */
	return rc;
}

int
acrt__filelock_take(const char *path, acrt__filelock **out, acrt__lock_holder *holder, char *err,
                    size_t errlen)
{
	acrt__lock_holder h;
	memset(&h, 0, sizeof h);
	char *dirs = acrt__strdup(path);
	if (dirs == NULL) {
		snprintf(err, errlen, "out of memory");
		return ACRT__FLOCK_ERROR;
	}
	int rc = acrt__mkdirs_for(dirs, 0700);
	int saved = errno;
	acrt__free(dirs);
	if (rc != 0) {
		errno = saved;
		return fail(err, errlen, "cannot create the directory of", path);
	}
	for (int i = 0; i < RETRIES; i++) {
		memset(&h, 0, sizeof h);
		rc = take_once(path, out, &h, err, errlen);
		if (rc != 2)
			break;
	}
	if (rc == 2) {
		snprintf(err, errlen, "the lock file %s keeps being replaced", path);
		rc = ACRT__FLOCK_ERROR;
	}
	if (holder != NULL)
		*holder = h;
	return rc;
}

void
acrt__filelock_release(acrt__filelock *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (--l->refs > 0) {
		pthread_mutex_unlock(&mu);
		return;
	}
	for (acrt__filelock **pp = &held; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	/* Remove the file while still holding the lock, and only when the path
	 * still names it (someone may have removed and recreated it). */
	struct stat st;
	if (stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		(void)unlink(l->path);
	close(l->fd);
	acrt__free(l->path);
	acrt__free(l);
}

const char *
acrt__filelock_path(const acrt__filelock *l)
{
	return l->path;
}
