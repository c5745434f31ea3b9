/*
 * run.c - `acrt run`: load, validate, configure logging, take the directory's
 * run lock (runlock.c), run the system.
 *
 * --node NAME (docs/MULTINODE.md) runs one node of a deployment with
 * `nodes:`: the node is picked before the run lock (its lock, store and
 * .acrt files are its own), build.lock is checked against the whole system,
 * then the blueprint is narrowed to the node's components. A node with a
 * binding to another node runs it over runtime.transport: nats or redis
 * (with runtime.state, exactly-once across nodes: a component sending to
 * another node must run one replica there, else exit 2). Without --node, every node runs in this
 * one process with every binding local, as if there were no `nodes:`.
 *
 * --stub (docs/AUTOCODER.md): a blueprint of the original Autocoder whose
 * components need an implementation is refused (each named) unless --stub
 * runs them as pass-through stand-ins.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blueprint/lock.h"
#include "cli/cli.h"
#include "core/log.h"
#include "observe/services.h"
#include "runtime/runtime.h"
#include "transport/nats.h"

/*
 * Checks build.lock (SPEC section 3). Without one: a hint. On drift: every
 * difference on stderr and 2, unless `update` (then it is rewritten and logged).
 * Returns 0 to go on, or the exit code.
 */
static int
check_lock(const acrt__blueprint *bp, const char *path, bool update)
{
	acrt__diag diag = {0};
	int st = acrt__lock_check(bp, &diag);
	int rc = 0;
	if (st == ACRT__LOCK_OK) {
		/* nothing to say */
	} else if (st == ACRT__LOCK_MISSING && !update) {
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
		          "no build.lock: pin this build with 'acrt lock %s'", path);
	} else if (!update) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		fprintf(stderr,
		        "acrt: run: build.lock does not match the blueprint; refusing to "
		        "start (rewrite it with 'acrt lock %s' or 'acrt run --update-lock')\n",
		        path);
		rc = 2;
	} else {
		for (size_t i = 0; i < diag.n; i++)
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "%s", diag.lines[i]);
		acrt__diag_free(&diag);
		if (acrt__lock_write(bp, &diag) != 0) {
			for (size_t i = 0; i < diag.n; i++)
				fprintf(stderr, "%s\n", diag.lines[i]);
			rc = 1;
		} else {
			char *lp = acrt__lock_path(bp);
			acrt__log(ACRT_LOG_INFO, NULL, 0, NULL, "%s %s (--update-lock)",
			          lp ? lp : ACRT__LOCK_FILE,
			          st == ACRT__LOCK_MISSING ? "written" : "rewritten");
			acrt__free(lp);
		}
	}
	acrt__diag_free(&diag);
	return rc;
}

/* Components whose logic was the Autocoder original's generated code
 * (docs/AUTOCODER.md): refused, each named (exit 2), unless --stub runs
 * pass-through stand-ins, each with a note. 0 to go on, or the exit code. */
static int
check_stubs(const acrt__blueprint *bp, bool stub)
{
	size_t n = 0;
	for (size_t i = 0; i < bp->n_comps; i++) {
		const acrt__comp_spec *c = &bp->comps[i];
		if (!c->needs_impl)
			continue;
		n++;
		if (stub)
			fprintf(stderr,
			        "%s:%d:%d: note: component '%s' (%s) runs as a pass-through "
			        "stand-in (--stub)\n",
			        c->mark.file, c->mark.line, c->mark.col, c->name,
			        c->dialect_type ? c->dialect_type : c->type);
		else
			fprintf(stderr,
			        "%s:%d:%d: component '%s' (%s) needs an implementation: plug "
			        "in a native component\n",
			        c->mark.file, c->mark.line, c->mark.col, c->name,
			        c->dialect_type ? c->dialect_type : c->type);
	}
	if (n == 0 || stub)
		return 0;
	fprintf(stderr,
	        "acrt: run: %zu component%s need%s an implementation: refusing to start (--stub "
	        "runs each as a pass-through stand-in to try the wiring)\n",
	        n, n == 1 ? "" : "s", n == 1 ? "s" : "");
	return 2;
}

/* --node NAME: picks the node, or says why it cannot run (exit 2). */
static int
pick_node(acrt__blueprint *bp, const char *node, bool watch)
{
	char err[512];
	if (acrt__blueprint_node_pick(bp, node, err, sizeof err) != 0) {
		fprintf(stderr, "acrt: run: %s\n", err);
		return 2;
	}
	if (watch) {
		fprintf(stderr, "acrt: run: --watch with --node is not available in this build "
		                "yet (a reload would load the whole system): leave one out\n");
		return 2;
	}
	/* nats or redis carries them (src/transport/); with runtime.state, a
	 * producer of one runs one replica on its node (wiring.c says why). */
	bool net = bp->transport.kind != NULL;
	size_t n = 0;
	uint64_t self = UINT64_C(1) << acrt__blueprint_node_index(bp);
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *b = &bp->bindings[i];
		const char *from = acrt__blueprint_comp_node(bp, b->from_comp);
		const char *to = acrt__blueprint_comp_node(bp, b->to_comp);
		bool sends = acrt__blueprint_comp_nodes(bp, b->from_comp) & self;
		bool receives = acrt__blueprint_comp_nodes(bp, b->to_comp) & self;
		if (!acrt__blueprint_crosses(bp, b) || (!sends && !receives))
			continue;
		if (net && (!bp->state.on || !sends || bp->comps[b->from_comp].replicas <= 1))
			continue;
		n++;
		fprintf(stderr,
		        "acrt: run: node '%s': binding %s.%s -> %s.%s crosses nodes ('%s' -> "
		        "'%s')\n",
		        node, bp->comps[b->from_comp].name, b->from_port,
		        bp->comps[b->to_comp].name, b->to_port, from, to);
	}
	if (n == 0)
		return 0;
	if (net) {
		fprintf(stderr,
		        "acrt: run: node '%s': with runtime.state, a component sending to another "
		        "node runs one replica (exactly-once across nodes numbers its events in "
		        "order); refusing to start (set its replicas to 1, or remove runtime.state "
		        "for at-least-once delivery over %s)\n",
		        node, bp->transport.kind);
		return 2;
	}
	fprintf(stderr,
	        "acrt: run: node '%s' has %zu binding%s to other nodes and no "
	        "runtime.transport (nats or redis) to carry them: refusing to start (run the "
	        "whole system in one process without --node)\n",
	        node, n, n == 1 ? "" : "s");
	return 2;
}

/* Narrows bp to the picked node (after build.lock was checked against the
 * whole system), or says that every node runs here. 0, or the exit code. */
static int
narrow_node(acrt__blueprint *bp)
{
	char list[512] = "";
	size_t off = 0;
	if (bp->nodes.self == NULL) {
		for (size_t k = 0; k < bp->nodes.n && off < sizeof list; k++)
			off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
			                        k ? ", " : "", bp->nodes.names[k]);
		if (bp->nodes.n > 0)
			acrt__log(
			    ACRT_LOG_INFO, NULL, 0, NULL,
			    "nodes: every node (%s) runs in this process, every binding local; "
			    "--node NAME runs one",
			    list);
		return 0;
	}
	size_t all = bp->n_comps;
	if (acrt__blueprint_node_narrow(bp) != 0) {
		fprintf(stderr, "acrt: run: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < bp->n_comps && off < sizeof list; i++)
		off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
		                        bp->comps[i].name);
	acrt__log(ACRT_LOG_INFO, NULL, 0, NULL, "node '%s': runs %s (%zu of %zu components)",
	          bp->nodes.self, list, bp->n_comps, all);
	return 0;
}

int
acrt__cmd_run(int argc, char **argv)
{
	const char *path = NULL, *deployment = NULL, *node = NULL;
	bool update_lock = false, stub = false;
	acrt__run_opts opts = {0};
	int d;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			opts.quiet = true;
		} else if ((d = acrt__cli_deployment_opt("run", argc, argv, &i, &deployment)) !=
		           0) {
			if (d < 0)
				return 2;
		} else if (strcmp(a, "--update-lock") == 0) {
			update_lock = true;
		} else if (strcmp(a, "--resume") == 0) {
			opts.resume = "";
		} else if (strncmp(a, "--resume=", 9) == 0) {
			opts.resume = a + 9;
		} else if (strcmp(a, "--watch") == 0) {
			opts.watch = true;
		} else if (strcmp(a, "--stub") == 0) {
			stub = true;
		} else if (strcmp(a, "--node") == 0) {
			if (++i == argc)
				return acrt__cli_usage_error("run: %s needs a node name", a);
			node = argv[i];
		} else if (strncmp(a, "--node=", 7) == 0) {
			node = a + 7;
		} else if (a[0] == '-') {
			return acrt__cli_usage_error("run: unknown option '%s'", a);
		} else if (path == NULL) {
			path = a;
		} else {
			return acrt__cli_usage_error("run: one blueprint at a time ('%s' and '%s')",
			                             path, a);
		}
	}
	if (path == NULL)
		path = "architecture.yaml";

	acrt__blueprint *bp = acrt__cli_load_notes(path, deployment);
	if (bp == NULL)
		return 2;
	acrt__log_config(bp->log_level, bp->log_format);
	int nrc = check_stubs(bp, stub);
	if (nrc == 0 && node != NULL)
		nrc = pick_node(bp, node, opts.watch);
	if (nrc != 0) {
		acrt__blueprint_free(bp);
		return nrc;
	}
	/* One run per directory, before anything is written (build.lock, the
	 * store, the sink's output, token files): runlock.c. */
	acrt__runlock *rl = NULL;
	int lrc = acrt__runlock_take(bp, &rl);
	if (lrc == 0)
		lrc = check_lock(bp, path, update_lock);
	if (lrc == 0)
		lrc = narrow_node(bp);
	if (lrc != 0) {
		acrt__runlock_release(rl);
		acrt__blueprint_free(bp);
		return lrc;
	}
	opts.path = path; /* a reload loads them again */
	opts.deployment = deployment;
	opts.update_lock = update_lock;
	opts.stub = stub; /* a reload refuses stand-ins without it too */
	/* A closed stdout shows as EPIPE to the stdout Sink, which stops the run
	 * with its summary, instead of SIGPIPE killing the process mid-write. */
	signal(SIGPIPE, SIG_IGN);
	static acrt__observe obs; /* the API, alerts, taps, the status line */
	acrt__observe_init(&obs, &opts, !opts.quiet && isatty(STDERR_FILENO));
	int rc = acrt__runtime_run(bp, &opts);
	/* The lock keeps copies of what it needs: it reads no blueprint. */
	acrt__runlock_release(rl);
	if (opts.abandoned) { /* a hung setup() may still read the blueprint: no frees */
		fflush(NULL);
		_exit(rc);
	}
	acrt__nats_release(); /* nats.c's threads end before the exit handlers run */
	acrt__blueprint_free(bp);
	return rc;
}
