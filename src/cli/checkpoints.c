/*
 * checkpoints.c - `acrt checkpoints list|show|verify|delete`: inspects the
 * checkpoint store a blueprint's runtime.state names (docs/STATE.md), with
 * no running system needed (SQLite's WAL lets it read while a run writes).
 *
 *   acrt checkpoints list   [DIR] [--deployment F] [--json]
 *   acrt checkpoints show   ID [DIR] [--deployment F]
 *   acrt checkpoints verify [ID] [DIR] [--deployment F]   exit 1 on a problem
 *   acrt checkpoints delete ID [DIR] [--deployment F]
 *   acrt checkpoints create [DIR] [--url U] [--token-file F] [--no-wait]
 *
 * `create` asks a running system for a checkpoint now, through its API (the
 * write token), and waits until it is stored.
 *
 * verify checks what --resume checks (part.h): every part's header and
 * checksum, and its binding to the checkpoint: the manifest is this
 * checkpoint's (id) and this system's, and lists each part's digest. A
 * checkpoint the store lost the data of (redis: an index entry with no hash)
 * is a problem too; list shows it as DATA MISSING.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint/checkpoint.h"
#include "cli/apiclient.h"
#include "cli/cli.h"
#include "core/common.h"
#include "state/adapter.h"
#include "state/kv.h"
#include "state/part.h"

typedef struct ck_args {
	const char *verb, *dir, *deployment;
	uint64_t id; /* 0: none given */
	bool json;
} ck_args;

static int
parse_args(int argc, char **argv, ck_args *a)
{
	memset(a, 0, sizeof *a);
	if (argc < 1)
		return acrt__cli_usage_error("checkpoints: expected list, show, verify or delete");
	a->verb = argv[0];
	int d;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		char *end;
		if (strcmp(s, "--json") == 0) {
			a->json = true;
		} else if ((d = acrt__cli_deployment_opt("checkpoints", argc, argv, &i,
		                                         &a->deployment)) != 0) {
			if (d < 0)
				return 2;
		} else if (s[0] == '-') {
			return acrt__cli_usage_error("checkpoints: unknown option '%s'", s);
		} else if (a->id == 0 && s[0] >= '1' && s[0] <= '9' &&
		           (strtoull(s, &end, 10), *end == '\0')) {
			a->id = strtoull(s, NULL, 10);
		} else if (a->dir == NULL) {
			a->dir = s;
		} else {
			return acrt__cli_usage_error("checkpoints: unexpected argument '%s'", s);
		}
	}
	if (a->dir == NULL)
		a->dir = ".";
	return 0;
}

static void
fmt_time(int64_t wall_ns, char *out, size_t n)
{
	time_t t = (time_t)(wall_ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static size_t
total_bytes(const acrt__ckpt *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_parts; i++)
		n += c->parts[i].len;
	return n;
}

static int
cmd_list(const acrt__state_ops *ops, acrt__state_adapter *ad, const ck_args *a)
{
	acrt__ckpt *all = NULL;
	size_t n = 0;
	char err[256], when[32];
	if (ops->list(ad, &all, &n, err, sizeof err) != ACRT_OK) {
		fprintf(stderr, "acrt: checkpoints: %s\n", err);
		return 1;
	}
	json_t *arr = a->json ? json_array() : NULL;
	if (!a->json)
		printf("%-8s %-20s %6s %12s\n", "ID", "TIME", "PARTS", "BYTES");
	size_t lost = 0;
	for (size_t i = 0; i < n; i++) {
		fmt_time(all[i].wall_ns, when, sizeof when);
		if (all[i].lost != NULL) {
			/* Listed, never hidden: the store lost its data (adapter.h). */
			lost++;
			fprintf(stderr, "acrt: checkpoints: %s\n", all[i].lost);
			if (a->json)
				json_array_append_new(arr, json_pack("{s:I,s:n,s:I,s:I,s:s}", "id",
				                                     (json_int_t)all[i].id, "time",
				                                     "parts", (json_int_t)0,
				                                     "bytes", (json_int_t)0,
				                                     "data_missing", all[i].lost));
			else
				printf("%-8" PRIu64 " %-20s %6s %12s  DATA MISSING\n", all[i].id,
				       "-", "-", "-");
		} else if (a->json) {
			json_array_append_new(
			    arr, json_pack("{s:I,s:s,s:I,s:I}", "id", (json_int_t)all[i].id, "time",
			                   when, "parts", (json_int_t)all[i].n_parts, "bytes",
			                   (json_int_t)total_bytes(&all[i])));
		} else {
			printf("%-8" PRIu64 " %-20s %6zu %12zu\n", all[i].id, when, all[i].n_parts,
			       total_bytes(&all[i]));
		}
		acrt__ckpt_clear(&all[i]);
	}
	free(all);
	if (a->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
	if (lost > 0)
		fprintf(stderr,
		        "acrt: checkpoints: %zu of %zu checkpoints have their data missing from "
		        "the store (never restored; `acrt checkpoints verify` fails on them)\n",
		        lost, n);
	return 0;
}

static void
print_problem(void *arg, const char *part, const char *reason)
{
	const uint64_t *id = arg;
	printf("checkpoint %" PRIu64 ": part %s: %s\n", *id, part, reason);
}

/* Reads checkpoint id and verifies it, bound to system (the manifest's id,
 * system and part digests). Returns the problems (printed), or -1 when it
 * cannot be read. */
static long
verify_one(const acrt__state_ops *ops, acrt__state_adapter *ad, uint64_t id, const char *system,
           bool show)
{
	acrt__ckpt c = {0};
	char err[512], when[32], why[160];
	int format = 0;
	int rc = ops->get(ad, id, &c, err, sizeof err);
	if (rc == ACRT_EINVAL) { /* the store has it, unreadable: a problem of the checkpoint */
		printf("checkpoint %" PRIu64 ": %s\n", id, err);
		return 1;
	}
	if (rc != ACRT_OK) {
		fprintf(stderr, "acrt: checkpoint %" PRIu64 ": %s\n", id,
		        rc == ACRT_ENOENT ? "no such checkpoint" : err);
		return -1;
	}
	size_t bad = acrt__ckpt_verify_bound(&c, system, print_problem, &id, &format);
	if (show) {
		fmt_time(c.wall_ns, when, sizeof when);
		printf("checkpoint %" PRIu64 "  %s  %zu parts  %zu bytes  %s\n", c.id, when,
		       c.n_parts, total_bytes(&c), bad ? "CORRUPT" : "ok");
		printf("  %-32s %12s %10s %12s  %s\n", "PART", "BYTES", "KEYS", "OWN BYTES",
		       "CHECKSUM");
		for (size_t i = 0; i < c.n_parts; i++) {
			const acrt__blob *b = &c.parts[i];
			const unsigned char *p, *kv, *own;
			size_t n, kvlen = 0, ownlen = 0;
			long keys = -1;
			bool ok =
			    acrt__part_open(b->data, b->len, &p, &n, why, sizeof why) == ACRT_OK;
			if (ok && strcmp(b->name, ACRT__MANIFEST) != 0 &&
			    acrt__part_split(p, n, &kv, &kvlen, &own, &ownlen) == ACRT_OK &&
			    kvlen >= 8) {
				keys = (long)acrt__le_get(kv, 8);
			}
			char keybuf[24] = "-", ownbuf[24] = "-";
			if (keys >= 0) {
				snprintf(keybuf, sizeof keybuf, "%ld", keys);
				snprintf(ownbuf, sizeof ownbuf, "%zu", ownlen);
			}
			printf("  %-32s %12zu %10s %12s  %s\n", b->name, b->len, keybuf, ownbuf,
			       ok ? "ok" : why);
		}
	} else if (bad == 0 && format < ACRT__MANIFEST_FORMAT) {
		printf("checkpoint %" PRIu64 ": ok (%zu parts; manifest format %d from an older "
		       "acrt: no part digests to check)\n",
		       id, c.n_parts, format);
	} else if (bad == 0) {
		printf("checkpoint %" PRIu64 ": ok (%zu parts)\n", id, c.n_parts);
	}
	acrt__ckpt_clear(&c);
	return (long)bad;
}

static int
cmd_verify(const acrt__state_ops *ops, acrt__state_adapter *ad, const ck_args *a,
           const char *system)
{
	if (a->id != 0) {
		long r = verify_one(ops, ad, a->id, system, false);
		return r == 0 ? 0 : 1;
	}
	acrt__ckpt *all = NULL;
	size_t n = 0;
	char err[256];
	if (ops->list(ad, &all, &n, err, sizeof err) != ACRT_OK) {
		fprintf(stderr, "acrt: checkpoints: %s\n", err);
		return 1;
	}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (verify_one(ops, ad, all[i].id, system, false) != 0)
			bad++;
		acrt__ckpt_clear(&all[i]);
	}
	free(all);
	if (n == 0)
		printf("no checkpoints\n");
	else if (bad > 0)
		fprintf(stderr,
		        "acrt: checkpoints verify: %zu of %zu checkpoints cannot be restored\n",
		        bad, n);
	return bad > 0 ? 1 : 0;
}

/* The id of the newest stored checkpoint in a GET /api/v1/checkpoints. */
static int64_t
newest(const json_t *j)
{
	const json_t *list = json_object_get(j, "checkpoints");
	return json_integer_value(json_object_get(json_array_get(list, 0), "id"));
}

static int
cmd_create(int argc, char **argv)
{
	acrt__apiclient c = {.cmd = "checkpoints create"};
	const char *dir = ".";
	bool wait = true;
	char err[512];
	long status;
	int rc = 1;
	for (int i = 1; i < argc; i++) {
		int r = acrt__apiclient_option(&c, argc, argv, &i);
		if (r == 2)
			return 2;
		if (r == 1)
			continue;
		if (strcmp(argv[i], "--no-wait") == 0)
			wait = false;
		else if (argv[i][0] == '-')
			return acrt__cli_usage_error("checkpoints create: unknown option '%s'",
			                             argv[i]);
		else
			dir = argv[i];
	}
	if ((rc = acrt__apiclient_locate(&c, dir, true)) != 0)
		goto out;
	rc = 1;
	json_t *r =
	    acrt__apiclient_request_json(&c, true, "/api/v1/checkpoints", &status, err, sizeof err);
	if (r == NULL) {
		fprintf(stderr, "acrt: checkpoints create: %s%s\n", err,
		        status == 409 ? " (the system has no runtime.state)" : "");
		goto out;
	}
	int64_t after = json_integer_value(json_object_get(r, "after"));
	json_decref(r);
	if (!wait) {
		printf("checkpoint requested (its id will be above %lld)\n", (long long)after);
		rc = 0;
		goto out;
	}
	for (int k = 0; k < 300; k++) { /* 30 s */
		json_t *j =
		    acrt__apiclient_get_json(&c, "/api/v1/checkpoints", &status, err, sizeof err);
		if (j != NULL && newest(j) > after) {
			json_t *ck = json_array_get(json_object_get(j, "checkpoints"), 0);
			printf("checkpoint %lld stored (%lld bytes, %.3f s)\n",
			       (long long)newest(j),
			       (long long)json_integer_value(json_object_get(ck, "bytes")),
			       json_real_value(json_object_get(ck, "seconds")));
			json_decref(j);
			rc = 0;
			goto out;
		}
		json_decref(j);
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
	fprintf(stderr, "acrt: checkpoints create: no checkpoint was stored within 30 s (see the "
	                "system's log: a store error, or a barrier that could not align)\n");
out:
	acrt__apiclient_free(&c);
	return rc;
}

int
acrt__cmd_checkpoints(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "create") == 0)
		return cmd_create(argc, argv);
	ck_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	bool needs_id = strcmp(a.verb, "show") == 0 || strcmp(a.verb, "delete") == 0;
	if (strcmp(a.verb, "list") != 0 && strcmp(a.verb, "verify") != 0 && !needs_id)
		return acrt__cli_usage_error(
		    "checkpoints: unknown action '%s' (list, show, verify, "
		    "delete, create)",
		    a.verb);
	if (needs_id && a.id == 0)
		return acrt__cli_usage_error("checkpoints %s: needs a checkpoint id", a.verb);
	acrt__blueprint *bp = acrt__cli_load(a.dir, a.deployment);
	if (bp == NULL)
		return 2;
	if (!bp->state.on) {
		fprintf(stderr, "acrt: checkpoints: %s has no runtime.state in its deployment\n",
		        a.dir);
		acrt__blueprint_free(bp);
		return 2;
	}
	acrt__state_adapter *ad = NULL;
	const acrt__state_ops *ops = NULL;
	char err[256] = "";
	if (acrt__state_open_bp(bp, &ad, &ops, err, sizeof err) != ACRT_OK) {
		fprintf(stderr, "acrt: checkpoints: cannot open the store: %s\n", err);
		acrt__blueprint_free(bp);
		return 1;
	}
	if (!ops->persistent)
		fprintf(stderr,
		        "acrt: checkpoints: %s keeps checkpoints in the running process "
		        "only; see GET /api/v1/checkpoints\n",
		        ops->name);
	if (strcmp(a.verb, "list") == 0) {
		rc = cmd_list(ops, ad, &a);
	} else if (strcmp(a.verb, "show") == 0) {
		long r = verify_one(ops, ad, a.id, acrt__ckpt_store_system(bp), true);
		rc = r == 0 ? 0 : 1;
	} else if (strcmp(a.verb, "verify") == 0) {
		rc = cmd_verify(ops, ad, &a, acrt__ckpt_store_system(bp));
	} else {
		rc = ops->del(ad, a.id, err, sizeof err);
		if (rc == ACRT_OK)
			printf("checkpoint %" PRIu64 " deleted\n", a.id);
		else
			fprintf(stderr, "acrt: checkpoint %" PRIu64 ": %s\n", a.id,
			        rc == ACRT_ENOENT ? "no such checkpoint" : err);
		rc = rc == ACRT_OK ? 0 : 1;
	}
	ops->close(ad);
	acrt__blueprint_free(bp);
	return rc;
}
