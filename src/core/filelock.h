/*
 * filelock.h - one process per resource: an exclusive flock(2) on a lock file
 * that also names its holder, so that a second process is refused with a
 * message saying who (docs/CLI.md, `acrt run`; docs/STATE.md, the store lock).
 *
 * The lock file holds two lines, written right after the lock is taken:
 *
 *   pid=1234
 *   since=2026-12-04T10:00:00Z      (UTC, when the lock was taken)
 *
 * The kernel releases a flock when its holder dies, even by SIGKILL, so a
 * lock is never stale; only the file can be. A clean release removes the
 * file (then unlocks), so a file that still holds a pid when the lock is
 * taken was left by a process that did not end cleanly: the taker is told
 * (prev) and reclaims it. A taker that opened the file just before its
 * holder removed it finds, after locking, that the path names another file
 * (or none) and starts again: two processes never both hold "the" lock.
 *
 * Within one process a lock is shared: taking a file this process holds
 * already (the same device and inode, whatever the path's spelling) counts
 * one more holder, and the last release frees it. flock belongs to the open
 * file, so closing another descriptor of the file never drops it (fcntl
 * record locks would), and the descriptor is O_CLOEXEC: a child that execs
 * never inherits it.
 *
 * Threads: any; a process-wide mutex guards the table of held locks. Calls
 * never block on another process (LOCK_NB), only on the file system.
 */
#ifndef ACRT_FILELOCK_H
#define ACRT_FILELOCK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct acrt__filelock acrt__filelock;

/* Who holds (or held) a lock, as its file says. */
typedef struct acrt__lock_holder {
	long pid;       /* 0: unknown (an empty or unreadable file) */
	char since[32]; /* "2026-12-04T10:00:00Z", or "" when unknown */
	bool gone;      /* pid != 0 and no such process exists now */
} acrt__lock_holder;

enum {
	ACRT__FLOCK_ERROR = -1, /* could not be taken: the reason in err */
	ACRT__FLOCK_TAKEN = 0,  /* *out holds it */
	ACRT__FLOCK_HELD = 1,   /* another process holds it: *holder names it */
};

/* Takes the lock at path: the file is created with mode 0600 when absent,
 * and its missing parent directories with 0700; a symlink is not followed.
 * TAKEN: *out is the lock, and holder->pid != 0 when the file was left by a
 * process that did not release it (holder says which; it is reclaimed).
 * HELD: holder names the other process. ERROR: err says why (errno text). */
int acrt__filelock_take(const char *path, acrt__filelock **out, acrt__lock_holder *holder,
                        char *err, size_t errlen);

/* One holder less; the last removes the file and unlocks. NULL is fine. */
void acrt__filelock_release(acrt__filelock *l);

/* The path it was taken with (valid until the last release). */
const char *acrt__filelock_path(const acrt__filelock *l);

#endif /* ACRT_FILELOCK_H */
