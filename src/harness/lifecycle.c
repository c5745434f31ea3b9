/*
 * lifecycle.c - setup -> process -> cleanup of a wired system, run as
 * generations (hot reload), and the supervising loop with its services and
 * the drain on SIGINT/SIGTERM (see runtime.h for the phases). The instance
 * threads themselves are in instance.c.
 *
 * Signals: the calling thread blocks SIGINT, SIGTERM and SIGHUP before any
 * thread starts (threads inherit the mask), then reads them from a signalfd
 * while it supervises the task group, so no handler ever runs inside a
 * component. The same loop serves the registered services (service.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/enrich.h" /* error records: class, trace, resources */
#include "core/event.h"
#include "core/log.h"
#include "reload/reload.h"
#include "runtime/runtime.h"

/* The task group's on_cancel hook: wake every blocking call of every thread. */
static void
on_cancel(void *arg)
{
	acrt__runtime *rt = arg;
	atomic_store(&rt->cancelled, true);
	for (size_t i = 0; i < rt->n_transports; i++)
		rt->transports[i]->ops->cancel(rt->transports[i]);
	acrt__runtime_wake(rt);
}

/* ---- Setup and cleanup ----------------------------------------------------- */

static void
cleanup_all(acrt__runtime *rt)
{
	const acrt__blueprint *bp = rt->bp;
	for (size_t k = bp->n_comps; k-- > 0;) {
		acrt__comp *c = &rt->comps[bp->topo[k]];
		for (int r = c->n_inst; r-- > 0;) {
			acrt_ctx *ctx = &c->inst[r];
			if (!ctx->set_up)
				continue;
			if (c->desc->cleanup != NULL)
				c->desc->cleanup(ctx, ctx->self);
			ctx->set_up = false;
			ctx->self = NULL;
		}
	}
}

/* Sets every instance up in topological order within startup_timeout_ms.
 * Returns 0, -1 on a failure, or ACRT_ETIMEDOUT. */
static int
setup_all(acrt__runtime *rt)
{
	const acrt__blueprint *bp = rt->bp;
	int64_t deadline = acrt__mono_ns() + bp->startup_timeout_ms * 1000000;
	for (size_t k = 0; k < bp->n_comps; k++) {
		acrt__comp *c = &rt->comps[bp->topo[k]];
		for (int r = 0; r < c->n_inst; r++) {
			int rc = acrt__instance_setup(&c->inst[r], deadline);
			if (rc == ACRT_ETIMEDOUT)
				return rc;
			if (rc != ACRT_OK)
				return -1;
		}
	}
	return 0;
}

/* ---- Supervision ------------------------------------------------------------- */

static void
log_task_error(void *arg, const char *task, int rc)
{
	(void)arg;
	json_t *x = json_pack("{s:s,s:s}", "task", task, "error", acrt_strerror(rc));
	x = acrt__enrich_error(x, rc, NULL, NULL, 1, true); /* error class, resources */
	acrt__log(ACRT_LOG_ERROR, NULL, 0, x, "component thread '%s' failed: %s", task,
	          acrt_strerror(rc));
	json_decref(x);
}

/* The earliest of wake and the services' next deadlines. */
static int64_t
services_wake(acrt__runtime *rt, int64_t now, int64_t wake)
{
	for (size_t i = 0; i < rt->n_services; i++) {
		const acrt__service *s = &rt->services[i];
		int64_t t = s->next_ns != NULL ? s->next_ns(s->arg, now) : ACRT__FOREVER;
		if (t < wake)
			wake = t;
	}
	return wake;
}

static void
services_tick(acrt__runtime *rt)
{
	for (size_t i = 0; i < rt->n_services; i++)
		if (rt->services[i].tick != NULL)
			rt->services[i].tick(rt->services[i].arg, acrt__mono_ns());
}

static int
services_start(acrt__runtime *rt)
{
	for (size_t i = 0; i < rt->n_services; i++) {
		const acrt__service *s = &rt->services[i];
		if (s->start != NULL && s->start(s->arg, rt) != 0) {
			while (i-- > 0)
				if (rt->services[i].stop != NULL)
					rt->services[i].stop(rt->services[i].arg, false);
			return -1;
		}
	}
	return 0;
}

/* In reverse order of start. */
static void
services_stop(acrt__runtime *rt, bool reload)
{
	for (size_t i = rt->n_services; i-- > 0;)
		if (rt->services[i].stop != NULL)
			rt->services[i].stop(rt->services[i].arg, reload);
}

/* Tells every service a change of phase (service.h): ready, reloading, draining. */
static void
services_phase(acrt__runtime *rt, acrt__phase phase)
{
	for (size_t i = 0; i < rt->n_services; i++)
		if (rt->services[i].phase != NULL)
			rt->services[i].phase(rt->services[i].arg, phase);
}

/* A requested reload (SIGHUP, the API, --watch): validated and diffed, then
 * applied in place, or the generation quiesces for a switch (the next
 * generation's start says READY then). */
static void
handle_reload(acrt__runtime *rt)
{
	bool live = !atomic_load(&rt->stopping); /* else ignored: the system is stopping */
	if (live)
		services_phase(rt, ACRT__PHASE_RELOADING);
	if (acrt__reload_prepare(rt) && acrt__reload_in_place(rt) == 0) {
		atomic_store(&rt->reloading, true); /* quiesce: sources stop, streams drain */
		acrt__runtime_stop(rt);
	} else if (live) {
		services_phase(rt, ACRT__PHASE_READY); /* done, failed, or nothing changed */
	}
}

#define MAX_POLL (5 + ACRT__MAX_SERVICES)

/* After a cancel, how long the threads have to end before the process exits
 * without them. */
#define ACRT__CANCEL_GRACE_NS (5 * 1000000000LL)

/* Waits for the task group, handling signals and the shutdown deadline: poll
 * on a signalfd (the signals are blocked in every thread), the group's
 * done_fd, the --watch inotify fd and each service's fd, with a timeout only
 * when a deadline needs one. Returns 1 if the run was cancelled by force,
 * else 0. */
static int
supervise(acrt__runtime *rt)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int64_t drain_deadline = ACRT__FOREVER;
	int64_t cancel_deadline = ACRT__FOREVER; /* forced: the threads' grace */
	int forced = 0;
	if (rt->reload->stop_pending) { /* a stop came during a reload's switch */
		rt->reload->stop_pending = false;
		drain_deadline = acrt__mono_ns() + rt->bp->shutdown_timeout_ms * 1000000;
		acrt__runtime_stop(rt);
		services_phase(rt, ACRT__PHASE_DRAINING);
	}

	for (;;) {
		if (acrt__tg_wait_until(&rt->tg, acrt__mono_ns()) != ACRT_ETIMEDOUT)
			break;
		int64_t now = acrt__mono_ns();
		if (forced && now >= cancel_deadline)
			break; /* a thread is stuck: run_generation leaves it behind */
		int64_t wake = forced ? cancel_deadline : drain_deadline;
		wake = services_wake(rt, now, wake);
		/* ---- checkpoints: trigger and time out ---- */
		int64_t ck_next = acrt__ckpt_tick(rt, now);
		if (ck_next < wake)
			wake = ck_next;
		/* ---- hot reload: --watch's debounce ---- */
		if (rt->reload->due != 0 && rt->reload->due < wake)
			wake = rt->reload->due;
		int timeout_ms = wake == ACRT__FOREVER ? -1
		                 : wake <= now         ? 0
		                                       : (int)((wake - now + 999999) / 1000000);
		if (sfd < 0)
			timeout_ms = 100;
		struct pollfd pfd[MAX_POLL] = {{.fd = rt->tg.done_fd, .events = POLLIN},
		                               {.fd = sfd, .events = POLLIN},
		                               {.fd = rt->reload->watch_fd, .events = POLLIN},
		                               {.fd = acrt__ckpt_fd(rt), .events = POLLIN}};
		nfds_t n = 4;
		for (size_t i = 0; i < rt->n_services; i++)
			if (rt->services[i].fd != NULL)
				pfd[n++] =
				    (struct pollfd){.fd = rt->services[i].fd(rt->services[i].arg),
				                    .events = POLLIN};
		(void)poll(pfd, n, timeout_ms); /* negative fds are ignored */
		if (pfd[2].revents & POLLIN)
			acrt__reload_watch_read(rt); /* --watch: a file changed */
		if (pfd[3].revents & POLLIN)
			acrt__ckpt_fd_read(rt); /* a checkpoint was asked for: the next tick */
		acrt__runtime_watch_stuck(rt, acrt__mono_ns()); /* before the services read it */
		services_tick(rt);   /* the HTTP API, alert rules, the status line */
		acrt__enrich_tick(); /* fresh process figures for error records */
		struct signalfd_siginfo si;
		int sig = 0;
		if (sfd >= 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
			sig = (int)si.ssi_signo;
		else if (sfd < 0) /* no signalfd: fall back to polling for signals */
			sig = sigtimedwait(&set, NULL, &(struct timespec){0, 0});
		if ((sig == SIGINT || sig == SIGTERM) && atomic_load(&rt->reloading) && !forced &&
		    !rt->reload->stop_pending) {
			/* A reload's switch is under way (finish hooks are
			 * being skipped): complete it, then stop the next generation */
			acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
			          "received %s during a reload: stopping once the switch is done",
			          sig == SIGINT ? "SIGINT" : "SIGTERM");
			rt->reload->stop_pending = true;
		} else if (sig == SIGINT || sig == SIGTERM) {
			if (!atomic_load(&rt->stopping)) {
				acrt__log(
				    ACRT_LOG_INFO, NULL, 0, NULL,
				    "received %s: stopping sources, draining in-flight events "
				    "(up to %lld ms)",
				    sig == SIGINT ? "SIGINT" : "SIGTERM",
				    (long long)rt->bp->shutdown_timeout_ms);
				drain_deadline =
				    acrt__mono_ns() + rt->bp->shutdown_timeout_ms * 1000000;
				acrt__runtime_stop(rt);
				services_phase(rt, ACRT__PHASE_DRAINING);
			} else if (!forced) {
				acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
				          "second signal: cancelling at once");
				forced = 1;
				cancel_deadline = acrt__mono_ns() + ACRT__CANCEL_GRACE_NS;
				acrt__tg_cancel(&rt->tg);
			} else {
				break; /* a third: do not wait for the grace */
			}
		} else if (sig == SIGHUP) {
			acrt__reload_request(rt, "SIGHUP"); /* hot reload */
		}
		if (drain_deadline == ACRT__FOREVER && !forced && atomic_load(&rt->stopping) &&
		    !atomic_load(&rt->reloading)) {
			/* A component asked the run to stop (a Passthrough's max_items,
			 * acrt__ctx_request_stop): a drain like SIGTERM's, seen at the
			 * loop's next wake-up (at most a second with the alert rules). */
			acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
			          "a component asked the run to stop: draining in-flight events "
			          "(up to %lld ms)",
			          (long long)rt->bp->shutdown_timeout_ms);
			drain_deadline = acrt__mono_ns() + rt->bp->shutdown_timeout_ms * 1000000;
			services_phase(rt, ACRT__PHASE_DRAINING);
		}
		if (rt->reload->due != 0 && acrt__mono_ns() >= rt->reload->due)
			acrt__reload_request(rt, "watch");
		if (rt->reload->requested && !atomic_load(&rt->reloading))
			handle_reload(rt);
		if (!forced && acrt__mono_ns() >= drain_deadline) {
			acrt__log(
			    ACRT_LOG_WARN, NULL, 0, NULL,
			    "drain did not finish within shutdown_timeout_ms=%lld; cancelling",
			    (long long)rt->bp->shutdown_timeout_ms);
			forced = 1;
			cancel_deadline = acrt__mono_ns() + ACRT__CANCEL_GRACE_NS;
			acrt__tg_cancel(&rt->tg);
		}
	}
	if (sfd >= 0)
		close(sfd);
	return forced;
}

/* What the transports report at the end: events they could not carry (a
 * NATS message past the server's max_payload: each was logged where it was
 * dropped; they count as lost), and sides of bindings between nodes that
 * found another process had claimed them (this one is stale: fenced, each
 * logged; the run fails). */
static void
transport_faults(acrt__runtime *rt, size_t *dropped, size_t *fenced)
{
	*dropped = *fenced = 0;
	for (size_t i = 0; i < rt->n_transports; i++) {
		acrt__transport_stats st = {0};
		rt->transports[i]->ops->stats(rt->transports[i], &st);
		*dropped += (size_t)st.dropped;
		*fenced += st.fenced;
	}
}

/* Logs each stream's totals (debug level) and returns the events still inside
 * them and in the instances' outboxes (emitted, not yet sent). After the
 * threads have ended. */
static size_t
in_flight(acrt__runtime *rt)
{
	size_t left = 0;
	for (size_t k = 0; k < rt->bp->n_comps; k++) {
		acrt__comp *c = &rt->comps[k];
		for (int r = 0; r < c->n_inst; r++)
			for (size_t p = 0; c->inst[r].outbox != NULL && p < c->spec->n_outputs; p++)
				left += c->inst[r].outbox[p].n;
	}
	for (size_t i = 0; i < rt->n_transports; i++) {
		acrt__transport *t = rt->transports[i];
		acrt__transport_stats st;
		t->ops->stats(t, &st);
		left += st.depth;
		if (!acrt__log_enabled(ACRT_LOG_DEBUG))
			continue;
		json_t *x = json_pack("{s:s,s:I,s:I,s:f,s:I}", "stream", t->name, "sent",
		                      (json_int_t)st.sent, "received", (json_int_t)st.received,
		                      "producer_blocked_s", (double)st.blocked_ns / 1e9, "depth",
		                      (json_int_t)st.depth);
		acrt__log(ACRT_LOG_DEBUG, NULL, 0, x, "stream totals");
		json_decref(x);
	}
	return left;
}

/* The last line of a run, and its exit status: 0 when it ended and lost
 * nothing, 3 when it ended but lost events, 1 when it was stopped by a
 * failure or a cancel, or the state a --resume needs was not stored
 * (summary.h). The figures count every generation of a reloaded run. */
static void
finish_summary(acrt__runtime *rt, const acrt__blueprint *bp, int rc, bool forced, bool stored)
{
	acrt__run_totals *t = &rt->totals;
	uint64_t lost = acrt__totals_lost(t);
	int level = ACRT_LOG_INFO;
	char msg[256];
	if (rc != ACRT_OK || forced) {
		rt->exit_code = ACRT__EXIT_FAILED;
		level = ACRT_LOG_ERROR;
		snprintf(msg, sizeof msg,
		         "system '%s' stopped by %s; %llu in-flight events discarded", bp->name,
		         rc != ACRT_OK ? "a component failure" : "cancellation",
		         (unsigned long long)t->discarded);
	} else if (!stored) {
		rt->exit_code =
		    ACRT__EXIT_FAILED; /* the final checkpoint: logged by checkpoint.c */
		level = ACRT_LOG_ERROR;
		snprintf(msg, sizeof msg,
		         "system '%s' finished, but its final checkpoint was not stored", bp->name);
	} else if (lost > 0) {
		rt->exit_code = ACRT__EXIT_LOST;
		level = ACRT_LOG_ERROR;
		snprintf(msg, sizeof msg,
		         "system '%s' finished, but lost %llu event(s): by_component says where",
		         bp->name, (unsigned long long)lost);
	} else {
		rt->exit_code = ACRT__EXIT_OK;
		snprintf(msg, sizeof msg, "system '%s' finished", bp->name);
	}
	double secs = (double)(acrt__mono_ns() - rt->run_started_ns) / 1e9;
	json_t *extra = acrt__totals_json(t, secs);
	if (extra != NULL)
		json_object_set_new(extra, "exit_status", json_integer(rt->exit_code));
	acrt__log(level, NULL, 0, extra, "%s", msg);
	json_decref(extra);
}

/* How a generation ended (hot reload runs the system as generations). */
enum { GEN_DONE, GEN_RELOAD, GEN_ROLLBACK, GEN_ABANDONED };

/* Wires bp, sets it up, runs it until it ends (or quiesces for a reload),
 * cleans up. rt->exit_code says how a GEN_DONE went. */
static int
run_generation(acrt__runtime *rt, const acrt__blueprint *bp, acrt__run_opts *opts)
{
	acrt__reload_ctl *ctl = rt->reload;
	bool first = ctl->prev == NULL && ctl->carry == NULL;
	int gen = GEN_DONE;
	rt->exit_code = ACRT__EXIT_FAILED;
	atomic_store(&rt->reloading, false);
	rt->tg_ready = false;
	atomic_store(&rt->stopping, false);
	atomic_store(&rt->cancelled, false);
	if (acrt__runtime_wire(rt, bp) != 0)
		goto out_unwire;
	if (acrt__tg_init(&rt->tg, on_cancel, rt) != 0)
		goto out_unwire;
	rt->tg_ready = true;
	/* ---- checkpoints: the store, and --resume, before setup ---- */
	if (acrt__ckpt_open(rt, first && opts != NULL ? opts->resume : NULL) != 0)
		goto out_unwire;
	acrt__reload_apply(rt); /* a reload: the previous generation's state */

	int64_t t0 = acrt__mono_ns();
	int src = setup_all(rt);
	if (src != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "setup failed; cleaning up the components already set up");
		cleanup_all(rt);
		if (src == ACRT_ETIMEDOUT) { /* a setup thread may still use the runtime */
			if (opts != NULL)
				opts->abandoned = true;
			return GEN_ABANDONED;
		}
		if (ctl->prev != NULL) { /* a reload: go back to the previous system */
			acrt__reload_failed(rt, "a component's setup failed (see above)");
			gen = GEN_ROLLBACK;
		}
		goto out_unwire;
	}
	if (acrt__ckpt_restore(rt) != 0) { /* --resume, or a reload */
		cleanup_all(rt);
		goto out_unwire;
	}
	acrt__reload_committed(rt); /* a reload: the new generation is set up */
	/* ---- the services (the HTTP API, alert rules, the status line):
	 * served from here until the last cleanup ---- */
	rt->started_ns = acrt__mono_ns();
	if (services_start(rt) != 0) {
		cleanup_all(rt);
		goto out_unwire;
	}
	if (opts != NULL && opts->watch && acrt__reload_watch(rt) != 0)
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "--watch: cannot watch the blueprint's files");
	acrt__enrich_tick(); /* the first process figures for error records */
	acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
	          "system '%s' started: %zu component(s), %zu stream(s)", bp->name, bp->n_comps,
	          rt->n_transports);

	for (size_t k = 0; k < bp->n_comps; k++) {
		acrt__comp *c = &rt->comps[bp->topo[k]];
		for (int r = 0; !c->chained && r < c->n_inst; r++)
			if (acrt__tg_spawn(&rt->tg, c->inst[r].thread_name, acrt__instance_main,
			                   &c->inst[r]) != 0)
				break;
	}
	services_phase(rt, ACRT__PHASE_READY); /* systemd: READY=1 (observe/notify.c) */

	int forced = supervise(rt);

	/* Stop means stop: after a cancel, a thread that does not end within the
	 * grace (stuck in a component's code) is left behind and the process
	 * exits with 1 (the caller _exits: nothing it may use is freed). */
	int rc = acrt__tg_wait_until(&rt->tg, forced ? acrt__mono_ns() : ACRT__FOREVER);
	if (rc == ACRT_ETIMEDOUT) {
		char names[256];
		size_t n = acrt__tg_running(&rt->tg, names, sizeof names);
		acrt__log(
		    ACRT_LOG_ERROR, NULL, 0, NULL,
		    "system '%s' cancelled, but %zu component thread(s) did not stop within %d s "
		    "(stuck in a component's code): %s; exiting without them (exit 1)",
		    bp->name, n, (int)(ACRT__CANCEL_GRACE_NS / 1000000000), names);
		rt->exit_code = ACRT__EXIT_FAILED;
		acrt__tg_abandon(&rt->tg); /* left behind, on purpose */
		if (opts != NULL)
			opts->abandoned = true;
		return GEN_ABANDONED;
	}
	size_t dropped, fenced;
	transport_faults(rt, &dropped, &fenced);
	if (rc == ACRT_OK && fenced > 0)
		rc = ACRT_EFATAL; /* a stale process: it must not store a final checkpoint */
	if (rc != ACRT_OK)
		acrt__tg_errors(&rt->tg, log_task_error, NULL);
	size_t lost = forced || rc != ACRT_OK ? in_flight(rt) : 0;
	lost += dropped;
	bool reload = atomic_load(&rt->reloading) && rc == ACRT_OK && !forced && ctl->next != NULL;

	/* ---- what this generation did with its events, and the whole run ---- */
	(void)acrt__totals_add(&rt->totals, rt, lost);
	if (reload) { /* the drained generation's own figures */
		acrt__run_totals this_gen = {0};
		(void)acrt__totals_add(&this_gen, rt, 0);
		json_t *extra = acrt__totals_json(&this_gen, (double)(acrt__mono_ns() - t0) / 1e9);
		acrt__log(ACRT_LOG_INFO, NULL, 0, extra, "reload: the system '%s' is drained",
		          bp->name);
		json_decref(extra);
		acrt__totals_free(&this_gen);
		if (acrt__reload_capture(rt) == ACRT_OK)
			gen = GEN_RELOAD;
		else
			acrt__reload_failed(rt, "out of memory capturing the state");
		(void)acrt__ckpt_finish(rt, false); /* the next generation opens it again */
		rt->exit_code = ACRT__EXIT_OK;
	} else {
		/* a last checkpoint after a graceful end */
		bool stored = acrt__ckpt_finish(rt, rc == ACRT_OK && !forced) == 0;
		finish_summary(rt, bp, rc, forced, stored);
	}

	/* alerts resolve what is active; taps end their streams; the API
	 * outlives generations */
	services_stop(rt, gen == GEN_RELOAD);
	cleanup_all(rt);
out_unwire:
	if (rt->tg_ready) {
		(void)acrt__tg_wait_until(&rt->tg, ACRT__FOREVER);
		acrt__tg_destroy(&rt->tg);
		rt->tg_ready = false;
	}
	(void)acrt__ckpt_finish(rt, false); /* when setup failed: frees the store */
	acrt__runtime_unwire(rt);
	return gen;
}

int
acrt__runtime_run(const acrt__blueprint *bp, acrt__run_opts *opts)
{
	acrt__runtime rt;
	acrt__reload_ctl ctl;
	memset(&rt, 0, sizeof rt);
	acrt__run_opts none = {0};
	acrt__reload_init(&ctl, opts != NULL ? opts : &none);
	rt.reload = &ctl;
	rt.ckpt_ops = &acrt__ckpt_instance_ops;
	if (opts != NULL) {
		if (opts->n_services > ACRT__MAX_SERVICES)
			return ACRT__EXIT_FAILED;
		rt.services = opts->services;
		rt.n_services = opts->n_services;
		rt.tap_hooks = opts->tap_hooks;
	}
	rt.exit_code = ACRT__EXIT_FAILED;
	rt.run_started_ns = acrt__mono_ns();
	atomic_init(&rt.stopping, false);
	atomic_init(&rt.cancelled, false);
	if (pthread_mutex_init(&rt.mu, NULL) != 0)
		return ACRT__EXIT_FAILED;
	if (acrt__cond_init_mono(&rt.wake) != 0)
		goto out_mutex;

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);

	/* The system runs as generations; a reload switches
	 * to the next one (or back to the previous one if its setup fails). */
	const acrt__blueprint *cur = bp;
	for (;;) {
		int gen = run_generation(&rt, cur, opts);
		if (gen == GEN_ABANDONED)
			return ACRT__EXIT_FAILED; /* a hung setup may still use everything: the
			                             caller _exits */
		if (gen == GEN_RELOAD) {
			ctl.prev = rt.bp; /* in use (a swap in place changes it, not the pointer) */
			cur = acrt__reload_adopt(&ctl);
			if (cur == NULL) { /* out of memory: go on with what ran */
				acrt__reload_failed(&rt, "out of memory");
				cur = ctl.prev;
				ctl.prev = NULL;
			}
			continue;
		}
		if (gen == GEN_ROLLBACK) {
			cur = ctl.prev;
			ctl.prev = NULL;
			continue;
		}
		break;
	}
	services_stop(&rt, false); /* when a rolled-back reload failed to set up */
	acrt__reload_free(&ctl);

	/* A signal that arrived after supervision ended must not kill us on unblock. */
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_cond_destroy(&rt.wake);
	acrt__enrich_release(); /* libproc2's handles */
	acrt__totals_free(&rt.totals);
out_mutex:
	pthread_mutex_destroy(&rt.mu);
	return rt.exit_code;
}
