/*
 * reload.c - hot reload: validating and diffing a new blueprint, carrying
 * every instance's state from one generation to the next, and --watch
 * (see reload.h for the sequence; lifecycle.c runs the generations).
 */
#include "reload/reload.h"
#include "runtime/runtime.h"

#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blueprint/lock.h"
#include "checkpoint/ckpt_int.h"
#include "core/common.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "state/part.h"

#define WATCH_DEBOUNCE_NS (200 * 1000000LL) /* editors write a file in several steps */

void
acrt__reload_init(acrt__reload_ctl *ctl, const acrt__run_opts *opts)
{
	memset(ctl, 0, sizeof *ctl);
	ctl->opts = opts;
	ctl->watch_fd = -1;
}

static void
free_carry(acrt__reload_ctl *ctl)
{
	for (size_t i = 0; i < ctl->n_carry; i++)
		acrt__ck_blob_free(&ctl->carry[i]);
	free(ctl->carry);
	ctl->carry = NULL;
	ctl->n_carry = 0;
}

void
acrt__reload_free(acrt__reload_ctl *ctl)
{
	free_carry(ctl);
	acrt__blueprint_free(ctl->next);
	for (size_t i = 0; i < ctl->n_owned; i++)
		acrt__blueprint_free(ctl->owned[i]);
	free(ctl->owned);
	json_decref(ctl->changes);
	json_decref(ctl->last_changes);
	json_decref(ctl->stamps);
	json_decref(ctl->watched);
	if (ctl->watch_fd >= 0)
		close(ctl->watch_fd);
	memset(ctl, 0, sizeof *ctl);
	ctl->watch_fd = -1;
}

void
acrt__reload_request(acrt__runtime *rt, const char *trigger)
{
	acrt__reload_ctl *ctl = rt->reload;
	if (ctl == NULL)
		return;
	ctl->requested = true;
	snprintf(ctl->trigger, sizeof ctl->trigger, "%s", trigger);
}

static void
record_failure(acrt__reload_ctl *ctl, const char *why)
{
	ctl->n_failed++;
	ctl->last_ok = false;
	ctl->last_wall_ns = acrt__wall_ns();
	snprintf(ctl->last_error, sizeof ctl->last_error, "%s", why);
	json_decref(ctl->last_changes);
	ctl->last_changes = NULL;
}

/* The pending reload's changes become the last one's, with how it was done. */
static void
record_success(acrt__reload_ctl *ctl, const char *mode, const char *what)
{
	ctl->n_ok++;
	ctl->last_ok = true;
	ctl->last_wall_ns = acrt__wall_ns();
	ctl->last_error[0] = '\0';
	json_decref(ctl->last_changes);
	ctl->last_changes = ctl->changes != NULL ? ctl->changes : json_object();
	ctl->changes = NULL;
	json_object_set_new(ctl->last_changes, "mode", json_string(mode));
	acrt__log(ACRT_LOG_INFO, NULL, 0, ctl->last_changes, "reload (%s) done%s%s: %s",
	          ctl->trigger, strcmp(mode, "in place") == 0 ? " " : "",
	          strcmp(mode, "in place") == 0 ? mode : "", what);
}

/* ---- Diff ------------------------------------------------------------------- */

/* A plugin file's identity for "changed": size and modification time. */
static void
plugin_stamp(const char *path, char *out, size_t n)
{
	struct stat st;
	if (path == NULL || stat(path, &st) != 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%lld:%lld.%09ld", (long long)st.st_size,
		         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
json_same(const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL)
		return a == b || json_is_null(a) || json_is_null(b) ||
		       (json_is_object(a) && json_object_size(a) == 0) ||
		       (json_is_object(b) && json_object_size(b) == 0);
	return json_equal(a, b);
}

static bool
ports_same(const acrt__port_spec *a, size_t na, const acrt__port_spec *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) != 0 || !json_same(a[i].schema, b[i].schema))
			return false;
	return true;
}

/* What differs between two specs of the same name (an array of words). */
static json_t *
comp_changes(const acrt__comp_spec *a, const acrt__comp_spec *b, const char *stamp)
{
	json_t *what = json_array();
	if (!str_eq(a->type, b->type) || !str_eq(a->plugin_path, b->plugin_path) ||
	    !str_eq(a->plugin_symbol, b->plugin_symbol))
		json_array_append_new(what, json_string("implementation"));
	else if (b->plugin_path != NULL && stamp != NULL) {
		char now[64];
		plugin_stamp(b->plugin_path, now, sizeof now);
		if (strcmp(now, stamp) != 0)
			json_array_append_new(what, json_string("plugin file"));
	}
	if (!json_same(a->config, b->config))
		json_array_append_new(what, json_string("config"));
	if (a->replicas != b->replicas)
		json_array_append_new(what, json_string("replicas"));
	if (!json_same(a->capabilities, b->capabilities))
		json_array_append_new(what, json_string("capabilities"));
	if (!json_same(a->batching, b->batching))
		json_array_append_new(what, json_string("batching"));
	if (!ports_same(a->inputs, a->n_inputs, b->inputs, b->n_inputs) ||
	    !ports_same(a->outputs, a->n_outputs, b->outputs, b->n_outputs))
		json_array_append_new(what, json_string("ports"));
	return what;
}

static void
binding_text(const acrt__blueprint *bp, const acrt__binding_spec *b, char *out, size_t n)
{
	snprintf(out, n, "%s.%s->%s.%s (%zu)", bp->comps[b->from_comp].name, b->from_port,
	         bp->comps[b->to_comp].name, b->to_port, b->buffer_size);
}

static void
bindings_only_in(const acrt__blueprint *x, const acrt__blueprint *y, json_t *out)
{
	char a[300], b[300];
	for (size_t i = 0; i < x->n_bindings; i++) {
		binding_text(x, &x->bindings[i], a, sizeof a);
		bool found = false;
		for (size_t j = 0; j < y->n_bindings && !found; j++) {
			binding_text(y, &y->bindings[j], b, sizeof b);
			found = strcmp(a, b) == 0;
		}
		if (!found)
			json_array_append_new(out, json_string(a));
	}
}

/* {"added": [...], "removed": [...], "changed": {name: [what]}, "unchanged": N,
 * "bindings_added": [...], "bindings_removed": [...], "runtime": bool} */
static json_t *
diff(const acrt__blueprint *old, const acrt__blueprint *nu, const json_t *stamps)
{
	json_t *added = json_array(), *removed = json_array(), *changed = json_object();
	json_t *badd = json_array(), *brem = json_array();
	size_t same = 0;
	for (size_t i = 0; i < nu->n_comps; i++) {
		long j = acrt__blueprint_find(old, nu->comps[i].name);
		if (j < 0) {
			json_array_append_new(added, json_string(nu->comps[i].name));
			continue;
		}
		json_t *what =
		    comp_changes(&old->comps[j], &nu->comps[i],
		                 json_string_value(json_object_get(stamps, nu->comps[i].name)));
		if (json_array_size(what) > 0)
			json_object_set_new(changed, nu->comps[i].name, what);
		else {
			json_decref(what);
			same++;
		}
	}
	for (size_t i = 0; i < old->n_comps; i++)
		if (acrt__blueprint_find(nu, old->comps[i].name) < 0)
			json_array_append_new(removed, json_string(old->comps[i].name));
	bindings_only_in(nu, old, badd);
	bindings_only_in(old, nu, brem);
	bool runtime = !json_same(old->runtime, nu->runtime);
	return json_pack("{s:o,s:o,s:o,s:I,s:o,s:o,s:b}", "added", added, "removed", removed,
	                 "changed", changed, "unchanged", (json_int_t)same, "bindings_added", badd,
	                 "bindings_removed", brem, "runtime", runtime);
}

static bool
diff_empty(const json_t *d)
{
	return json_array_size(json_object_get(d, "added")) == 0 &&
	       json_array_size(json_object_get(d, "removed")) == 0 &&
	       json_object_size(json_object_get(d, "changed")) == 0 &&
	       json_array_size(json_object_get(d, "bindings_added")) == 0 &&
	       json_array_size(json_object_get(d, "bindings_removed")) == 0 &&
	       !json_is_true(json_object_get(d, "runtime"));
}

/* ---- Prepare, capture, apply ------------------------------------------------- */

/* build.lock against the new blueprint, as `acrt run` checks it. */
static int
lock_ok(acrt__reload_ctl *ctl, const acrt__blueprint *nb, char *why, size_t n)
{
	acrt__diag diag = {0};
	int st = acrt__lock_check(nb, &diag);
	int rc = 0;
	if (st != ACRT__LOCK_OK && st != ACRT__LOCK_MISSING) {
		if (ctl->opts->update_lock) {
			acrt__diag_free(&diag);
			if (acrt__lock_write(nb, &diag) != 0) {
				snprintf(why, n, "%s",
				         diag.n ? diag.lines[0] : "cannot rewrite build.lock");
				rc = -1;
			} else {
				acrt__log(ACRT_LOG_INFO, NULL, 0, NULL,
				          "reload: build.lock rewritten (--update-lock)");
			}
		} else {
			for (size_t i = 0; i < diag.n; i++)
				acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "reload: %s",
				          diag.lines[i]);
			snprintf(why, n, "build.lock does not match the new blueprint%s%s",
			         diag.n ? ": " : "", diag.n ? diag.lines[0] : "");
			rc = -1;
		}
	}
	acrt__diag_free(&diag);
	return rc;
}

/* A component of nb that needs an implementation (the Autocoder dialect),
 * refused without --stub as `acrt run` refuses it: 1 with why written, else 0. */
static int
needs_impl(const acrt__run_opts *opts, const acrt__blueprint *nb, char *why, size_t len)
{
	for (size_t i = 0; !opts->stub && i < nb->n_comps; i++)
		if (nb->comps[i].needs_impl) {
			snprintf(why, len,
			         "component '%s' (%s) needs an implementation: plug in a native "
			         "component (or run with --stub)",
			         nb->comps[i].name,
			         nb->comps[i].dialect_type ? nb->comps[i].dialect_type : "?");
			return 1;
		}
	return 0;
}

bool
acrt__reload_prepare(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	char why[512];
	ctl->requested = false;
	ctl->due = 0;
	if (atomic_load(&rt->stopping) || ctl->opts->path == NULL) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "reload (%s) ignored: %s", ctl->trigger,
		          ctl->opts->path == NULL ? "no blueprint path" : "the system is stopping");
		return false;
	}
	acrt__diag diag = {0};
	acrt__blueprint *nb = NULL;
	if (acrt__blueprint_load(ctl->opts->path, ctl->opts->deployment, &nb, &diag) != 0) {
		for (size_t i = 0; i < diag.n; i++)
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "reload: %s", diag.lines[i]);
		snprintf(why, sizeof why, "invalid blueprint: %s",
		         diag.n ? diag.lines[0] : "cannot be loaded");
		acrt__diag_free(&diag);
		goto failed;
	}
	acrt__diag_free(&diag);
	if (lock_ok(ctl, nb, why, sizeof why) != 0)
		goto failed;
	if (needs_impl(ctl->opts, nb, why, sizeof why) != 0)
		goto failed;
	if (acrt__ckpt_store_check(nb, why, sizeof why) != 0) /* another run's store */
		goto failed;
	json_t *d = diff(rt->bp, nb, ctl->stamps);
	if (d == NULL) {
		snprintf(why, sizeof why, "out of memory");
		goto failed;
	}
	if (diff_empty(d)) {
		acrt__log(ACRT_LOG_INFO, NULL, 0, NULL, "reload (%s): nothing changed",
		          ctl->trigger);
		json_decref(d);
		acrt__blueprint_free(nb);
		return false;
	}
	acrt__log(ACRT_LOG_INFO, NULL, 0, d,
	          "reload (%s): the blueprint changed; pausing the sources and draining to switch",
	          ctl->trigger);
	json_decref(ctl->changes);
	ctl->changes = d;
	acrt__blueprint_free(ctl->next); /* none is pending: a switch adopted it */
	ctl->next = nb;
	return true;
failed:
	acrt__blueprint_free(nb);
	acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
	          "reload (%s) failed, nothing changed, the system keeps running: %s", ctl->trigger,
	          why);
	record_failure(ctl, why);
	return false;
}

int
acrt__reload_capture(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	free_carry(ctl);
	size_t n = 0;
	for (size_t i = 0; i < rt->bp->n_comps; i++)
		n += (size_t)rt->comps[i].n_inst;
	ctl->carry = calloc(n ? n : 1, sizeof *ctl->carry);
	if (ctl->carry == NULL)
		return ACRT_ENOMEM;
	for (size_t i = 0; i < rt->bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; r < c->n_inst; r++) {
			acrt__blob *b = &ctl->carry[ctl->n_carry];
			if (!c->inst[r].set_up)
				continue;
			int rc = acrt__ck_build_part(&c->inst[r], b);
			if (rc != ACRT_OK)
				return rc;
			ctl->n_carry++; /* in memory only: never sealed (no checksum to check) */
		}
	}
	return ACRT_OK;
}

void
acrt__reload_apply(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	char name[160], why[160], stamp[64];
	json_decref(ctl->stamps);
	ctl->stamps = json_object();
	for (size_t i = 0; i < rt->bp->n_comps; i++) {
		const acrt__comp_spec *s = &rt->bp->comps[i];
		if (s->plugin_path == NULL)
			continue;
		plugin_stamp(s->plugin_path, stamp, sizeof stamp);
		json_object_set_new(ctl->stamps, s->name, json_string(stamp));
	}
	for (size_t i = 0; ctl->carry != NULL && i < rt->bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; r < c->n_inst; r++) {
			snprintf(name, sizeof name, "%s#%d", c->spec->name, r);
			for (size_t k = 0; k < ctl->n_carry; k++) {
				if (strcmp(ctl->carry[k].name, name) != 0)
					continue;
				if (acrt__ck_apply_payload(&c->inst[r],
				                           ctl->carry[k].data + ACRT__PART_HDR,
				                           ctl->carry[k].len - ACRT__PART_HDR, why,
				                           sizeof why) != ACRT_OK)
					acrt__log(ACRT_LOG_ERROR, c->spec->name, 0, NULL,
					          "reload: the state of %s cannot be handed over "
					          "(%s): it starts "
					          "empty",
					          name, why);
				break;
			}
		}
	}
}

/* Frees every adopted blueprint but keep: the generations that borrowed them
 * have ended (joined, cleaned up, unwired), and no service holds them. */
static void
release_unused(acrt__reload_ctl *ctl, const acrt__blueprint *keep)
{
	size_t n = 0;
	for (size_t i = 0; i < ctl->n_owned; i++) {
		if (ctl->owned[i] == keep || ctl->owned[i] == ctl->prev)
			ctl->owned[n++] = ctl->owned[i];
		else
			acrt__blueprint_free(ctl->owned[i]);
	}
	ctl->n_owned = n;
}

void
acrt__reload_committed(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	if (ctl->prev != NULL) { /* else the first generation, or a rollback */
		record_success(ctl, "switch", "the new system runs");
		ctl->prev = NULL;
		free_carry(ctl);
	}
	release_unused(ctl, rt->bp);
}

acrt__blueprint *
acrt__reload_adopt(acrt__reload_ctl *ctl)
{
	acrt__blueprint *bp = ctl->next;
	acrt__blueprint **o = realloc(ctl->owned, (ctl->n_owned + 1) * sizeof *o);
	ctl->next = NULL;
	if (o == NULL) {
		acrt__blueprint_free(bp);
		return NULL;
	}
	ctl->owned = o;
	o[ctl->n_owned++] = bp;
	return bp;
}

int
acrt__reload_in_place(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	char why[512] = "";
	int r = acrt__swap_in_place(rt, ctl->next, ctl->changes, why, sizeof why);
	if (r == 0)
		return 0;
	/* The new values moved into rt->bp; ctl->next holds what they replaced,
	 * no longer in use (swap.c). */
	acrt__blueprint_free(ctl->next);
	ctl->next = NULL;
	if (r == 1) {
		record_success(ctl, "in place",
		               "the changed components were replaced, the rest kept running");
		return 1;
	}
	acrt__log(ACRT_LOG_ERROR, NULL, 0, ctl->changes,
	          "reload (%s) failed: %s; the components keep their previous config", ctl->trigger,
	          why);
	record_failure(ctl, why);
	json_decref(ctl->changes);
	ctl->changes = NULL;
	return 1;
}

void
acrt__reload_failed(acrt__runtime *rt, const char *why)
{
	acrt__reload_ctl *ctl = rt->reload;
	acrt__log(ACRT_LOG_ERROR, NULL, 0, ctl->changes,
	          "reload (%s) failed: %s; setting the previous system up again with its state",
	          ctl->trigger, why);
	record_failure(ctl, why);
	json_decref(ctl->changes);
	ctl->changes = NULL;
}

/* ---- --watch -------------------------------------------------------------- */

static int
watch_file(json_t *watched, int fd, const char *path)
{
	char *a = strdup(path), *b = strdup(path);
	int rc = -1;
	if (a == NULL || b == NULL)
		goto out;
	if (inotify_add_watch(fd, dirname(a), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0)
		goto out;
	json_object_set_new(watched, basename(b), json_true());
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

int
acrt__reload_watch(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	const acrt__blueprint *bp = rt->bp;
	if (ctl->watch_fd < 0 && (ctl->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -1;
	if (ctl->watched == NULL && (ctl->watched = json_object()) == NULL)
		return -1;
	char *dep = bp->deploy_path ? acrt__strdup(bp->deploy_path)
	                            : acrt__path_join(bp->dir, "deployment.yaml");
	int rc = watch_file(ctl->watched, ctl->watch_fd, bp->arch_path) |
	         (dep != NULL ? watch_file(ctl->watched, ctl->watch_fd, dep) : -1);
	acrt__free(dep);
	for (size_t i = 0; i < bp->n_comps; i++)
		if (bp->comps[i].plugin_path != NULL)
			rc |= watch_file(ctl->watched, ctl->watch_fd, bp->comps[i].plugin_path);
	return rc;
}

void
acrt__reload_watch_read(acrt__runtime *rt)
{
	acrt__reload_ctl *ctl = rt->reload;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	if (ctl->watch_fd < 0)
		return;
	while ((n = read(ctl->watch_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->len > 0 && json_object_get(ctl->watched, ev->name) != NULL) {
				ctl->due = acrt__mono_ns() + WATCH_DEBOUNCE_NS;
				snprintf(ctl->trigger, sizeof ctl->trigger, "watch");
			}
			p += sizeof *ev + ev->len;
		}
	}
}

/* ---- Reporting -------------------------------------------------------------- */

json_t *
acrt__reload_json(const acrt__runtime *rt)
{
	const acrt__reload_ctl *ctl = rt->reload;
	if (ctl == NULL)
		return json_null();
	json_t *last = json_null();
	if (ctl->last_wall_ns != 0)
		last = json_pack("{s:b,s:I,s:s,s:O?}", "ok", ctl->last_ok, "time_unix_ns",
		                 (json_int_t)ctl->last_wall_ns, "error", ctl->last_error, "changes",
		                 ctl->last_changes);
	return json_pack("{s:I,s:I,s:b,s:o}", "succeeded", (json_int_t)ctl->n_ok, "failed",
	                 (json_int_t)ctl->n_failed, "watching", ctl->watch_fd >= 0, "last", last);
}

void
acrt__reload_metrics(const acrt__runtime *rt, acrt__strbuf *sb)
{
	const acrt__reload_ctl *ctl = rt->reload;
	if (ctl == NULL)
		return;
	acrt__strbuf_printf(sb,
	                    "# HELP acrt_reloads_total Hot reloads by outcome.\n"
	                    "# TYPE acrt_reloads_total counter\n"
	                    "acrt_reloads_total{result=\"succeeded\"} %" PRIu64 "\n"
	                    "acrt_reloads_total{result=\"failed\"} %" PRIu64 "\n",
	                    ctl->n_ok, ctl->n_failed);
}
