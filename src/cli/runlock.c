/*
 * runlock.c - one `acrt run` per system directory (docs/CLI.md, "One system,
 * one process"). Before anything else of a run happens (build.lock rewritten,
 * the store opened, the sink's output truncated, token files generated),
 * `acrt run` takes <blueprint dir>/.acrt/run.lock (core/filelock.h: flock,
 * held until the process ends, the file naming the pid and start time). A
 * second run on the directory is refused with exit 1 and a message naming the
 * other process and the lock. With --node NODE the lock is the node's own,
 * .acrt/NODE/run.lock, so that the nodes of one system can run side by side
 * (docs/MULTINODE.md), each once. Read-only commands (validate, graph, lock, tap,
 * top, checkpoints) never take it.
 *
 * A run killed with SIGKILL loses its flock with its life, so its lock is
 * free again; what it leaves is files: run.lock holding its pid (reported
 * and reclaimed) and, in .acrt, api.addr and the generated tokens, which
 * would point `acrt top` and `acrt tap` at a dead address with dead tokens
 * until the new run's API writes its own. Holding the lock, this run owns
 * .acrt: those are removed at once, and logged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/common.h"
#include "core/filelock.h"
#include "core/log.h"

struct acrt__runlock {
	acrt__filelock *lock;
	char *dir; /* <blueprint dir>/.acrt, removed at release when empty */
};

/* The files a run writes into .acrt (observe/api_config.c). */
static const char *const leftovers[] = {"api.addr", "read.token", "write.token"};

/* Removes what an earlier run left in .acrt; a token file the deployment
 * configures there on purpose is kept. */
static void
remove_leftovers(const acrt__blueprint *bp, const char *dir)
{
	char removed[96] = "";
	for (size_t i = 0; i < sizeof leftovers / sizeof *leftovers; i++) {
		char *p = acrt__path_join(dir, leftovers[i]);
		if (p == NULL)
			return;
		bool configured =
		    (bp->api.read_token_file != NULL && strcmp(bp->api.read_token_file, p) == 0) ||
		    (bp->api.write_token_file != NULL && strcmp(bp->api.write_token_file, p) == 0);
		if (!configured && unlink(p) == 0) {
			size_t n = strlen(removed);
			snprintf(removed + n, sizeof removed - n, "%s%s", n ? ", " : "",
			         leftovers[i]);
		} else if (!configured && errno != ENOENT) {
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
			          "run: cannot remove %s, left by an earlier run: %s", p,
			          strerror(errno));
		}
		acrt__free(p);
	}
	if (removed[0] != '\0')
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "run: removed what an earlier run left in %s: %s", dir, removed);
}

/* Says who holds the lock, and what to do. */
static void
print_held(const acrt__blueprint *bp, const char *path, const acrt__lock_holder *h)
{
	if (h->pid != 0)
		fprintf(stderr,
		        "acrt: run: the system in %s is already running (pid %ld, since %s; "
		        "lock %s): stop it first (kill -TERM %ld), or run this one from another "
		        "directory; 'acrt top %s' shows the running one\n",
		        bp->dir, h->pid, h->since[0] ? h->since : "an unknown time", path, h->pid,
		        bp->dir);
	else
		fprintf(stderr,
		        "acrt: run: the system in %s is already running (lock %s, which does not "
		        "say by whom): stop the other run first\n",
		        bp->dir, path);
}

int
acrt__runlock_take(const acrt__blueprint *bp, acrt__runlock **out)
{
	*out = NULL;
	acrt__runlock *rl = acrt__calloc(1, sizeof *rl);
	char *path = NULL;
	int rc = 1;
	/* <dir>/.acrt, or a node's own <dir>/.acrt/<node> (--node: nodes.c) */
	if (rl == NULL || (rl->dir = acrt__blueprint_run_dir(bp)) == NULL ||
	    (path = acrt__path_join(rl->dir, "run.lock")) == NULL) {
		fprintf(stderr, "acrt: run: out of memory\n");
		goto cleanup;
	}
	acrt__lock_holder h;
	char err[512];
	int st = acrt__filelock_take(path, &rl->lock, &h, err, sizeof err);
	if (st == ACRT__FLOCK_HELD) {
		print_held(bp, path, &h);
		goto cleanup;
	}
	rc = 0;
	if (st == ACRT__FLOCK_ERROR) { /* e.g. a read-only directory: as the API's files */
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "run: no run lock (%s): a second run on %s would not be refused", err,
		          bp->dir);
		goto cleanup;
	}
	if (h.pid != 0)
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "run: the previous run in %s (pid %ld, since %s) did not end cleanly%s; "
		          "its lock %s is reclaimed",
		          bp->dir, h.pid, h.since[0] ? h.since : "an unknown time",
		          h.gone ? " (the process is gone)" : "", path);
	remove_leftovers(bp, rl->dir);
	*out = rl;
	rl = NULL;
cleanup:
	acrt__free(path);
	acrt__runlock_release(rl);
	return rc;
}

void
acrt__runlock_release(acrt__runlock *rl)
{
	if (rl == NULL)
		return;
	if (rl->lock != NULL) {
		acrt__filelock_release(rl->lock);
		(void)rmdir(rl->dir); /* only when empty */
	}
	acrt__free(rl->dir);
	acrt__free(rl);
}
