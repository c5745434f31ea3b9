/*
 * up.c - `acrt up`: every node of a deployment with `nodes:` started locally
 * for development, in one command (docs/MULTINODE.md, "Every node at once").
 *
 * Each node is its own child process, `acrt run DIR --node NAME` with the
 * options given (the same binary: /proc/self/exe; it gets SIGTERM if `acrt
 * up` dies), so the nodes talk through
 * runtime.transport exactly as on separate machines. Each line a node prints
 * is printed with the node's name in front (`work | ...`), stdout to stdout
 * and stderr to stderr, whole lines only. The first SIGINT or SIGTERM is
 * passed on as SIGTERM to the nodes that no other node feeds (those holding
 * the sources): they stop their sources and drain, their end of stream
 * crosses to the nodes downstream, which end by themselves, so nothing is
 * left in the broker. A second signal goes to every node (a node cancels at
 * once then). When a node
 * ends with a failure, the others are stopped (SIGTERM), as foreman and
 * honcho do. The exit status is the worst of the nodes' (a signal N counts
 * as 128 + N).
 *
 * Threads: one; it blocks in poll(2) on the nodes' pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/common.h"

#define LINE_MAX_BYTES 65536

typedef struct out {
	int fd;    /* the read end; -1 once closed */
	FILE *to;  /* stdout or stderr */
	char *buf; /* a partial line */
	size_t len;
} out;

typedef struct node {
	const char *name;
	bool fed;  /* a binding from another node comes in */
	pid_t pid; /* 0 once reaped */
	int status;
	out o[2];
} node;

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Prints the whole lines of o's buffer with the node's name in front; at
 * the end (eof) the rest too. */
static void
flush_lines(const char *name, size_t width, out *o, bool eof)
{
	size_t start = 0;
	for (size_t i = 0; i < o->len; i++)
		if (o->buf[i] == '\n') {
			fprintf(o->to, "%-*s | %.*s\n", (int)width, name, (int)(i - start),
			        o->buf + start);
			start = i + 1;
		}
	if ((eof || o->len - start >= LINE_MAX_BYTES) && start < o->len) {
		fprintf(o->to, "%-*s | %.*s\n", (int)width, name, (int)(o->len - start),
		        o->buf + start);
		start = o->len;
	}
	memmove(o->buf, o->buf + start, o->len - start);
	o->len -= start;
	fflush(o->to);
}

/* Reads what is there; closes the pipe at its end. */
static void
drain(node *n, size_t width, out *o)
{
	ssize_t r = read(o->fd, o->buf + o->len, LINE_MAX_BYTES * 2 - o->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		flush_lines(n->name, width, o, true);
		close(o->fd);
		o->fd = -1;
		return;
	}
	o->len += (size_t)r;
	flush_lines(n->name, width, o, false);
}

static void
signal_all(node *nodes, size_t n, int sig)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].pid > 0)
			kill(nodes[i].pid, sig);
}

/* Starts `acrt run ... --node NAME`; 0 or -1 (after a message). The node
 * gets SIGTERM should `acrt up` die (PR_SET_PDEATHSIG): no node outlives it. */
static int
start(node *n, char **args, size_t nargs)
{
	int p[2][2] = {{-1, -1}, {-1, -1}};
	if (pipe2(p[0], O_CLOEXEC) != 0 || pipe2(p[1], O_CLOEXEC) != 0) {
		fprintf(stderr, "acrt: up: node '%s': %s\n", n->name, strerror(errno));
		return -1;
	}
	args[nargs - 2] = (char *)n->name; /* argv: ... --node NAME NULL */
	pid_t parent = getpid();
	fflush(NULL);
	n->pid = fork();
	if (n->pid == 0) { /* the child: async-signal-safe calls only */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		if (dup2(p[0][1], STDOUT_FILENO) < 0 || dup2(p[1][1], STDERR_FILENO) < 0)
			_exit(127);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	int err = errno;
	close(p[0][1]);
	close(p[1][1]);
	n->o[0] = (out){.fd = p[0][0], .to = stdout};
	n->o[1] = (out){.fd = p[1][0], .to = stderr};
	if (n->pid < 0) {
		n->pid = 0;
		fprintf(stderr, "acrt: up: node '%s': cannot start: %s\n", n->name, strerror(err));
		return -1;
	}
	for (int k = 0; k < 2; k++)
		if ((n->o[k].buf = acrt__malloc(LINE_MAX_BYTES * 2)) == NULL)
			return -1;
	return 0;
}

static int
exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reaps the nodes that ended; a failure stops the others. */
static void
reap(node *nodes, size_t n, int *worst, bool *stopping)
{
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].pid <= 0 || waitpid(nodes[i].pid, &nodes[i].status, WNOHANG) <= 0)
			continue;
		nodes[i].pid = 0;
		int code = exit_code(nodes[i].status);
		if (code > *worst)
			*worst = code;
		if (code != 0 && !*stopping) {
			fprintf(stderr,
			        "acrt: up: node '%s' ended with exit status %d: stopping the "
			        "others\n",
			        nodes[i].name, code);
			*stopping = true;
			signal_all(nodes, n, SIGTERM);
		}
	}
}

static int
usage(void)
{
	return acrt__cli_usage_error("up: expected [DIR|architecture.yaml] [--deployment F] "
	                             "[--resume] [-q]");
}

int
acrt__cmd_up(int argc, char **argv)
{
	const char *path = ".", *deployment = NULL;
	/* argv of each node: acrt run PATH [--deployment F] [--resume] [-q] --node NAME */
	char **args = acrt__calloc((size_t)argc + 8, sizeof *args);
	if (args == NULL)
		return 1;
	size_t na = 0;
	args[na++] = "acrt";
	args[na++] = "run";
	size_t at_path = na++;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--deployment") == 0 && i + 1 < argc) {
			deployment = argv[++i];
			args[na++] = "--deployment";
			args[na++] = (char *)deployment;
		} else if (strcmp(argv[i], "--resume") == 0 || strcmp(argv[i], "-q") == 0) {
			args[na++] = argv[i];
		} else if (argv[i][0] != '-' && strcmp(path, ".") == 0) {
			path = argv[i];
		} else {
			acrt__free(args);
			return usage();
		}
	}
	args[at_path] = (char *)path;
	args[na++] = "--node";
	args[na++] = NULL; /* the node's name, per node */
	args[na++] = NULL;

	acrt__blueprint *bp = acrt__cli_load(path, deployment);
	if (bp == NULL) {
		acrt__free(args);
		return 2;
	}
	if (bp->nodes.n == 0) {
		fprintf(stderr,
		        "acrt: up: the deployment has no nodes: (run it with 'acrt run')\n");
		acrt__blueprint_free(bp);
		acrt__free(args);
		return 2;
	}
	size_t n = bp->nodes.n, width = 0;
	node *nodes = acrt__calloc(n, sizeof *nodes);
	struct pollfd *fds = acrt__calloc(2 * n, sizeof *fds);
	int worst = 0, signals = 0;
	bool stopping = false;
	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (nodes == NULL || fds == NULL) {
		worst = 1;
		goto out;
	}
	for (size_t b = 0; b < bp->n_bindings; b++) { /* which nodes another one feeds */
		const acrt__binding_spec *bs = &bp->bindings[b];
		if (acrt__blueprint_crosses(bp, bs))
			for (size_t k = 0; k < n; k++)
				nodes[k].fed |=
				    (acrt__blueprint_comp_nodes(bp, bs->to_comp) >> k) & 1;
	}
	bool all_fed = true; /* a cycle of nodes: stop them all at once */
	for (size_t i = 0; i < n; i++)
		all_fed &= nodes[i].fed;
	for (size_t i = 0; i < n; i++) {
		nodes[i].name = bp->nodes.names[i];
		nodes[i].o[0].fd = nodes[i].o[1].fd = -1;
		size_t w = strlen(nodes[i].name);
		width = w > width ? w : width;
	}
	for (size_t i = 0; i < n; i++)
		if (start(&nodes[i], args, na) != 0) {
			worst = 1;
			stopping = true;
			signal_all(nodes, n, SIGTERM);
			break;
		}
	for (;;) {
		if (got_signal != 0) {
			bool first = signals++ == 0;
			stopping = true;
			for (size_t i = 0; i < n; i++) /* first: the upstream-most nodes */
				if (nodes[i].pid > 0 && (!first || !nodes[i].fed || all_fed))
					kill(nodes[i].pid, first ? SIGTERM : got_signal);
			got_signal = 0;
		}
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			for (int j = 0; j < 2; j++)
				if (nodes[i].o[j].fd >= 0)
					fds[k++] = (struct pollfd){.fd = nodes[i].o[j].fd,
					                           .events = POLLIN};
		reap(nodes, n, &worst, &stopping);
		bool alive = false;
		for (size_t i = 0; i < n; i++)
			alive |= nodes[i].pid > 0;
		if (k == 0 && !alive)
			break;
		if (poll(fds, k, 100) <= 0)
			continue;
		for (size_t i = 0; i < n; i++)
			for (int j = 0; j < 2; j++)
				for (size_t f = 0; f < k; f++)
					if (fds[f].fd == nodes[i].o[j].fd &&
					    nodes[i].o[j].fd >= 0 &&
					    (fds[f].revents & (POLLIN | POLLHUP | POLLERR)))
						drain(&nodes[i], width, &nodes[i].o[j]);
	}
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	for (size_t i = 0; nodes != NULL && i < n; i++)
		for (int j = 0; j < 2; j++) {
			if (nodes[i].o[j].fd >= 0)
				close(nodes[i].o[j].fd);
			acrt__free(nodes[i].o[j].buf);
		}
	acrt__free(fds);
	acrt__free(nodes);
	acrt__blueprint_free(bp);
	acrt__free(args);
	return worst;
}
