/*
 * test.c - `acrt test [DIR|FILE] [-t PATH]... [-v]`: the unit tests of a
 * blueprint (docs/TESTING.md). Reads every test file (the .yaml files of DIR/tests by
 * default) and checks it against the blueprint first: a bad file exits 2 with
 * file:line:col messages before anything runs. Then each test, in file
 * order: the blueprint is loaded again, cut down to the components the test
 * names (blueprint/testfile.h), fed and captured by the test endpoints
 * (runtime/testpoint.h), and run by the ordinary runtime until end of
 * stream; what each captured port received is compared with what the test
 * expects (testjson.h). One line per test; a failure prints, per port and
 * per event, what was expected and what came, and the run exits 1.
 */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blueprint/testfile.h"
#include "cli/cli.h"
#include "cli/testjson.h"
#include "components/jq.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/json.h"
#include "core/log.h"
#include "runtime/runtime.h"
#include "runtime/testpoint.h"

#define DIFF_LINES 8   /* field differences shown per event */
#define EVENT_LINES 10 /* differing events shown per port */

const char acrt__test_help[] =
    "acrt test [DIR|FILE] [-t FILE|DIR]... [--verbose]\n"
    "\n"
    "Runs the unit tests of the blueprint in DIR (default: the current directory;\n"
    "or FILE, an architecture.yaml): every test file DIR/tests/*.yaml (or the\n"
    "files and directories given with -t). A test names a component or a\n"
    "sub-graph, the events fed to its inputs and the events expected on its\n"
    "outputs, exact (JSON by value, numbers exactly) or as jq conditions. Each\n"
    "runs in this process on the real components (built-ins, plugins,\n"
    "capabilities, schemas), without the system's other components, until end\n"
    "of stream (or its timeout_ms). The format: docs/TESTING.md.\n"
    "\n"
    "  -t, --tests P   a test file, or a directory of them (repeatable)\n"
    "  -v, --verbose   the runtime's log at the blueprint's level (else warnings)\n"
    "\n"
    "Prints one line per test (PASS or FAIL, with a difference per port and\n"
    "per event). Exit: 0 all passed, 1 a test failed, 2 usage, an invalid\n"
    "blueprint or a bad test file (file:line:column: message).\n";

typedef struct test_opts {
	const char *dir;
	bool verbose;
	char **files; /* test files, in order */
	size_t n_files;
} test_opts;

/* ---- Finding the files ---------------------------------------------------------- */

static int
add_file(test_opts *o, const char *path)
{
	char **f = acrt__realloc(o->files, (o->n_files + 1) * sizeof *f);
	if (f == NULL)
		return -1;
	o->files = f;
	if ((o->files[o->n_files] = acrt__strdup(path)) == NULL)
		return -1;
	o->n_files++;
	return 0;
}

/* PATH: a test file, or a directory whose *.yaml and *.yml files are. 0, -1
 * out of memory, 1 when there is no such file. */
static int
add_path(test_opts *o, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 1;
	if (!S_ISDIR(st.st_mode))
		return add_file(o, path);
	char pat[4096];
	glob_t g;
	memset(&g, 0, sizeof g);
	snprintf(pat, sizeof pat, "%.4000s/*.yaml", path);
	int r = glob(pat, 0, NULL, &g);
	snprintf(pat, sizeof pat, "%.4000s/*.yml", path);
	if (r == 0 || r == GLOB_NOMATCH)
		r = glob(pat, r == 0 ? GLOB_APPEND : 0, NULL, &g);
	int rc = r == 0 || r == GLOB_NOMATCH ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
		rc = add_file(o, g.gl_pathv[i]);
	globfree(&g);
	return rc;
}

/* ---- Reading and checking them ------------------------------------------------- */

static void
print_diag(acrt__diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s\n", d->lines[i]);
	acrt__diag_free(d);
}

/* Loads every file and checks it against the blueprint. 0, or 2 after
 * printing every error. */
static int
load_files(const test_opts *o, acrt__test_file **files)
{
	acrt__blueprint *bp = acrt__cli_load(o->dir, NULL);
	if (bp == NULL)
		return 2;
	int rc = 0;
	for (size_t i = 0; i < o->n_files; i++) {
		acrt__diag d = {0};
		bool bad = acrt__testfile_load(o->files[i], &files[i], &d) != 0;
		if (files[i] != NULL && acrt__testfile_check(files[i], bp, acrt__jq_check, &d) != 0)
			bad = true;
		if (bad)
			rc = 2;
		if (bad && d.n == 0)
			fprintf(stderr, "%s: invalid test file\n", o->files[i]);
		print_diag(&d);
	}
	acrt__blueprint_free(bp);
	return rc;
}

/* ---- Comparing ------------------------------------------------------------------ */

typedef struct verdict {
	bool failed;
	bool header; /* the FAIL line is printed */
	const acrt__test_case *tc;
	const char *file;
} verdict;

static void
fail_header(verdict *v)
{
	if (v->header)
		return;
	v->header = true;
	v->failed = true;
	printf("FAIL %s:%d:%d: %s\n", v->file, v->tc->mark.line, v->tc->mark.col, v->tc->name);
}

/* The compiled condition of the item compared last: an item is compared with
 * every event of its port in turn (order: any), and libjq's compile takes
 * milliseconds. Main thread only; jq_forget frees it. */
static const acrt__test_item *jq_item;
static acrt__jq *jq_prog;

static void
jq_forget(void)
{
	acrt__jq_free(jq_prog);
	jq_prog = NULL;
	jq_item = NULL;
}

static acrt__jq *
jq_for(const acrt__test_item *e, char *err, size_t errlen)
{
	if (jq_item == e && jq_prog != NULL)
		return jq_prog;
	jq_forget();
	if ((jq_prog = acrt__jq_compile(e->jq, err, errlen)) != NULL)
		jq_item = e;
	return jq_prog;
}

/* Whether got event text g meets expected item e; *why says why not (a jq
 * error) when it cannot tell. */
static bool
meets(const acrt__test_item *e, const char *g, size_t glen, char *why, size_t whylen)
{
	why[0] = '\0';
	if (e->jq != NULL) {
		char err[256];
		acrt__jq *q = jq_for(e, err, sizeof err);
		if (q == NULL) {
			snprintf(why, whylen, "jq: %s", err);
			return false;
		}
		int r = acrt__jq_test_jv(q, acrt__jq_parse(g, glen, glen + 1 + ACRT__JSON_PADDING),
		                         err, sizeof err);
		if (r < 0)
			snprintf(why, whylen, "jq: %s", err);
		return r == 1;
	}
	bool oom1 = false, oom2 = false;
	acrt__tjson *a = acrt__tjson_parse(e->json, e->len, e->len + 1 + ACRT__JSON_PADDING, &oom1);
	acrt__tjson *b = acrt__tjson_parse(g, glen, glen + 1 + ACRT__JSON_PADDING, &oom2);
	bool eq = a != NULL && b != NULL &&
	          (e->contains ? acrt__tjson_contains(a, b) : acrt__tjson_equal(a, b));
	if (b == NULL && !oom2)
		snprintf(why, whylen, "the event is not valid JSON");
	else if (oom1 || oom2)
		snprintf(why, whylen, "out of memory");
	acrt__tjson_free(a);
	acrt__tjson_free(b);
	return eq;
}

static void
print_event(const char *label, const char *text, size_t len)
{
	if (len > 200)
		printf("      %s %.197s...\n", label, text);
	else
		printf("      %s %.*s\n", label, (int)len, text);
}

/* What item e expects. */
static void
print_item(const acrt__test_item *e)
{
	if (e->jq != NULL)
		printf("      expected an event where %s\n", e->jq);
	else if (e->contains)
		print_event("expected an event holding", e->json, e->len);
	else
		print_event("expected", e->json, e->len);
}

/* Prints why got event g does not meet expected item e. */
static void
explain(const acrt__test_item *e, const char *g, size_t glen, const char *why)
{
	print_item(e);
	print_event("got     ", g, glen);
	if (why[0] != '\0') {
		printf("      (%s)\n", why);
		return;
	}
	if (e->jq != NULL)
		return;
	bool oom;
	acrt__tjson *a = acrt__tjson_parse(e->json, e->len, e->len + 1 + ACRT__JSON_PADDING, &oom);
	acrt__tjson *b = acrt__tjson_parse(g, glen, glen + 1 + ACRT__JSON_PADDING, &oom);
	if (a != NULL && b != NULL)
		acrt__tjson_diff(stdout, a, b, e->contains, "        ", DIFF_LINES);
	acrt__tjson_free(a);
	acrt__tjson_free(b);
}

static void
item_label(const acrt__test_item *e, char *buf, size_t len)
{
	snprintf(buf, len, "(line %d)", e->mark.line);
}

/* In order: event i against item i. */
static void
check_strict(verdict *v, const acrt__test_port *p, const acrt__test_got_port *g)
{
	size_t ng = g ? g->n : 0, n = p->n > ng ? p->n : ng, shown = 0;
	bool counted = false;
	for (size_t i = 0; i < n; i++) {
		char why[300], lbl[32];
		if (i < p->n && i < ng &&
		    meets(&p->items[i], g->texts[i], g->lens[i], why, sizeof why))
			continue;
		fail_header(v);
		if (!counted && p->n != ng) {
			printf("  %s.%s: expected %zu event(s), got %zu\n", p->comp, p->port, p->n,
			       ng);
			counted = true;
		}
		if (shown++ == EVENT_LINES) {
			printf("  %s.%s: more events differ (the first %d are shown)\n", p->comp,
			       p->port, EVENT_LINES);
			return;
		}
		if (i >= ng) {
			item_label(&p->items[i], lbl, sizeof lbl);
			printf("  %s.%s event %zu %s: missing\n", p->comp, p->port, i + 1, lbl);
			print_item(&p->items[i]);
		} else if (i >= p->n) {
			printf("  %s.%s event %zu: not expected\n", p->comp, p->port, i + 1);
			print_event("got     ", g->texts[i], g->lens[i]);
		} else {
			item_label(&p->items[i], lbl, sizeof lbl);
			printf("  %s.%s event %zu %s:\n", p->comp, p->port, i + 1, lbl);
			explain(&p->items[i], g->texts[i], g->lens[i], why);
		}
	}
}

/* Kuhn's augmenting path: item i takes an event, maybe moving another's. */
static bool
augment(size_t i, const bool *ok, size_t ng, size_t *owner, bool *seen)
{
	for (size_t j = 0; j < ng; j++) {
		if (!ok[i * ng + j] || seen[j])
			continue;
		seen[j] = true;
		if (owner[j] == SIZE_MAX || augment(owner[j], ok, ng, owner, seen)) {
			owner[j] = i;
			return true;
		}
	}
	return false;
}

/* order: any: the most items matched to distinct events; the rest reported. */
static int
check_any(verdict *v, const acrt__test_port *p, const acrt__test_got_port *g)
{
	size_t ng = g ? g->n : 0, ne = p->n;
	bool *ok = acrt__calloc(ne > 0 && ng > 0 ? ne * ng : 1, sizeof *ok);
	size_t *owner = acrt__malloc((ng ? ng : 1) * sizeof *owner);
	bool *seen = acrt__malloc(ng ? ng : 1), *matched = acrt__calloc(ne ? ne : 1, 1);
	int rc = -1;
	if (!ok || !owner || !seen || !matched)
		goto cleanup;
	for (size_t i = 0; i < ne; i++)
		for (size_t j = 0; j < ng; j++) {
			char why[300];
			ok[i * ng + j] =
			    meets(&p->items[i], g->texts[j], g->lens[j], why, sizeof why);
		}
	for (size_t j = 0; j < ng; j++)
		owner[j] = SIZE_MAX;
	for (size_t i = 0; i < ne; i++) {
		memset(seen, 0, ng ? ng : 1);
		matched[i] = augment(i, ok, ng, owner, seen);
	}
	bool bad = ne != ng;
	for (size_t i = 0; i < ne; i++)
		bad = bad || !matched[i];
	if (bad) {
		fail_header(v);
		if (ne != ng)
			printf("  %s.%s (in any order): expected %zu event(s), got %zu\n", p->comp,
			       p->port, ne, ng);
		else
			printf("  %s.%s (in any order):\n", p->comp, p->port);
		size_t shown = 0;
		for (size_t i = 0; i < ne && shown < EVENT_LINES; i++) {
			char lbl[32];
			if (matched[i])
				continue;
			shown++;
			item_label(&p->items[i], lbl, sizeof lbl);
			printf("    expected event %zu %s: matched by no event\n", i + 1, lbl);
			print_item(&p->items[i]);
		}
		for (size_t j = 0; j < ng && shown < EVENT_LINES; j++)
			if (owner[j] == SIZE_MAX) {
				shown++;
				printf("    event %zu: not expected\n", j + 1);
				print_event("got     ", g->texts[j], g->lens[j]);
			}
		if (shown == EVENT_LINES)
			printf("  %s.%s: the first %d differences are shown\n", p->comp, p->port,
			       EVENT_LINES);
	}
	rc = 0;
cleanup:
	acrt__free(ok);
	acrt__free(owner);
	acrt__free(seen);
	acrt__free(matched);
	return rc;
}

/* ---- Running one test ----------------------------------------------------------- */

static const acrt__test_got_port *
got_port(const acrt__test_got *got, const char *comp, const char *port)
{
	size_t cl = strlen(comp);
	for (size_t i = 0; i < got->n; i++) {
		const char *name = got->ports[i].port;
		if (!strncmp(name, comp, cl) && name[cl] == '.' && !strcmp(name + cl + 1, port))
			return &got->ports[i];
	}
	return NULL;
}

/* The feed, in the test's order; port names from acrt__malloc. */
static int
make_feed(const acrt__test_case *tc, acrt__test_feed_ev **out, size_t *n, char ***names)
{
	size_t total = 0;
	for (size_t i = 0; i < tc->n_inputs; i++)
		total += tc->inputs[i].n;
	acrt__test_feed_ev *evs = acrt__calloc(total ? total : 1, sizeof *evs);
	char **nm = acrt__calloc(tc->n_inputs ? tc->n_inputs : 1, sizeof *nm);
	if (evs == NULL || nm == NULL)
		goto nomem;
	size_t k = 0;
	for (size_t i = 0; i < tc->n_inputs; i++) {
		const acrt__test_port *p = &tc->inputs[i];
		size_t len = strlen(p->comp) + strlen(p->port) + 2;
		if ((nm[i] = acrt__malloc(len)) == NULL)
			goto nomem;
		snprintf(nm[i], len, "%s.%s", p->comp, p->port);
		for (size_t j = 0; j < p->n; j++)
			evs[k++] = (acrt__test_feed_ev){nm[i], p->items[j].json, p->items[j].len};
	}
	*out = evs;
	*n = total;
	*names = nm;
	return 0;
nomem:
	acrt__free(evs);
	for (size_t i = 0; nm != NULL && i < tc->n_inputs; i++)
		acrt__free(nm[i]);
	acrt__free(nm);
	return -1;
}

/* The test's deadline, a service of the supervising loop (runtime/service.h):
 * past timeout_ms the run is stopped as SIGTERM would stop it (sources end,
 * the rest drains), so that a source that never ends fails its test instead
 * of hanging `acrt test`. */
typedef struct deadline {
	int64_t at;
	struct acrt__runtime *rt;
	bool fired;
} deadline;

static int
deadline_start(void *arg, struct acrt__runtime *rt)
{
	((deadline *)arg)->rt = rt;
	return 0;
}

static int64_t
deadline_next(void *arg, int64_t now)
{
	(void)now;
	const deadline *d = arg;
	return d->fired ? ACRT__FOREVER : d->at;
}

static void
deadline_tick(void *arg, int64_t now)
{
	deadline *d = arg;
	if (d->fired || now < d->at || d->rt == NULL)
		return;
	d->fired = true;
	acrt__runtime_stop(d->rt);
}

/* Runs test tc. 0 passed, 1 failed, 2 could not run (printed). */
static int
run_case(const test_opts *o, const char *file, const acrt__test_case *tc)
{
	acrt__blueprint *bp = NULL;
	acrt__test_feed_ev *evs = NULL;
	char **names = NULL;
	acrt__test_feed feed = {0};
	acrt__test_got got = {0};
	verdict v = {.tc = tc, .file = file};
	int rc = 2;
	char err[256];
	acrt__diag d = {0};
	if (acrt__blueprint_load(o->dir, NULL, &bp, &d) != 0) {
		print_diag(&d);
		goto out;
	}
	acrt__diag_free(&d);
	if (o->verbose)
		acrt__log_config(bp->log_level, bp->log_format);
	if (make_feed(tc, &evs, &feed.n, &names) != 0)
		goto nomem;
	feed.evs = evs;
	if (acrt__blueprint_test_cut(bp, tc->comps, tc->n_comps, &acrt__test_feeder_desc, &feed,
	                             &acrt__test_capture_desc, &got, err, sizeof err) != 0) {
		fprintf(stderr, "acrt: test '%s': %s\n", tc->name, err);
		goto out;
	}
	for (size_t c = 0; c < bp->n_comps; c++) {
		const acrt__comp_spec *cs = &bp->comps[c];
		if (cs->desc != &acrt__test_capture_desc)
			continue;
		if ((got.ports = acrt__calloc(cs->n_inputs, sizeof *got.ports)) == NULL)
			goto nomem;
		for (size_t i = 0; i < cs->n_inputs; i++)
			got.ports[got.n++].port = cs->inputs[i].name;
	}
	deadline dl = {.at = acrt__mono_ns() + tc->timeout_ms * 1000000};
	acrt__service svc = {.name = "the test's deadline",
	                     .arg = &dl,
	                     .start = deadline_start,
	                     .next_ns = deadline_next,
	                     .tick = deadline_tick};
	acrt__run_opts opts = {.quiet = true, .services = &svc, .n_services = 1};
	int run = acrt__runtime_run(bp, &opts);
	if (opts.abandoned) { /* a setup hung: it may still use everything */
		fail_header(&v);
		printf("  a component's setup did not return within startup_timeout_ms\n");
		fflush(stdout);
		_exit(1);
	}
	if (dl.fired) {
		fail_header(&v);
		printf("  the run did not end within timeout_ms=%lld: stopped (a source that "
		       "never ends?)\n",
		       (long long)tc->timeout_ms);
	}
	if (run == ACRT__EXIT_FAILED) {
		fail_header(&v);
		printf("  the run failed (exit 1): see the log above\n");
	}
	size_t n_out = 0;
	for (size_t i = 0; i < got.n; i++)
		n_out += got.ports[i].n;
	for (size_t i = 0; i < tc->n_expect; i++) {
		const acrt__test_port *p = &tc->expect[i];
		const acrt__test_got_port *g = got_port(&got, p->comp, p->port);
		if (tc->any_order ? check_any(&v, p, g) != 0 : (check_strict(&v, p, g), false))
			goto nomem;
	}
	if (!v.failed)
		printf("PASS %s:%d:%d: %s (%zu in, %zu out)\n", file, tc->mark.line, tc->mark.col,
		       tc->name, feed.n, n_out);
	rc = v.failed ? 1 : 0;
	goto out;
nomem:
	fprintf(stderr, "acrt: test '%s': out of memory\n", tc->name);
	rc = 2;
out:
	fflush(stdout);
	jq_forget();
	acrt__test_got_clear(&got);
	acrt__free(got.ports);
	acrt__blueprint_free(bp);
	acrt__free(evs);
	for (size_t i = 0; names != NULL && i < tc->n_inputs; i++)
		acrt__free(names[i]);
	acrt__free(names);
	return rc;
}

/* ---- The command -------------------------------------------------------------- */

static int
parse_args(int argc, char **argv, test_opts *o)
{
	char **paths = NULL;
	size_t np = 0;
	int rc = 0;
	for (int i = 0; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--tests")) {
			if (i + 1 >= argc) {
				rc = acrt__cli_usage_error("test: %s needs a file or directory", a);
				break;
			}
			char **p = acrt__realloc(paths, (np + 1) * sizeof *p);
			if (p == NULL) {
				rc = 1;
				break;
			}
			paths = p;
			paths[np++] = argv[++i];
		} else if (a[0] == '-') {
			rc = acrt__cli_usage_error("test: unknown option '%s'", a);
		} else if (o->dir != NULL) {
			rc = acrt__cli_usage_error("test: one blueprint at a time ('%s' and '%s')",
			                           o->dir, a);
		} else {
			o->dir = a;
		}
	}
	if (o->dir == NULL)
		o->dir = ".";
	char dflt[4096];
	struct stat st;
	const char *slash = strrchr(o->dir, '/');
	if (stat(o->dir, &st) == 0 && !S_ISDIR(st.st_mode)) /* architecture.yaml: beside it */
		snprintf(dflt, sizeof dflt, "%.*s%s", slash ? (int)(slash - o->dir + 1) : 0, o->dir,
		         "tests");
	else if (strcmp(o->dir, ".") == 0)
		snprintf(dflt, sizeof dflt, "tests"); /* names as short as they can be */
	else
		snprintf(dflt, sizeof dflt, "%.4000s/tests", o->dir);
	for (size_t i = 0; rc == 0 && i < (np ? np : 1); i++) {
		const char *p = np ? paths[i] : dflt;
		int r = add_path(o, p);
		if (r < 0)
			rc = 1;
		else if (r > 0)
			rc = acrt__cli_usage_error("test: no test file or directory '%s'", p);
	}
	if (rc == 0 && o->n_files == 0)
		rc = acrt__cli_usage_error("test: no test files (*.yaml) in %s",
		                           np ? "the paths given" : dflt);
	acrt__free(paths);
	return rc;
}

int
acrt__cmd_test(int argc, char **argv)
{
	test_opts o = {0};
	acrt__test_file **files = NULL;
	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		goto out;
	if ((files = acrt__calloc(o.n_files, sizeof *files)) == NULL) {
		rc = 1;
		goto out;
	}
	if ((rc = load_files(&o, files)) != 0)
		goto out;
	if (!o.verbose) /* the test's lines, not the runtime's start and end */
		acrt__log_config(ACRT_LOG_WARN, ACRT__LOG_FORMAT_TEXT);
	size_t passed = 0, failed = 0, broken = 0;
	for (size_t i = 0; i < o.n_files; i++)
		for (size_t k = 0; k < files[i]->n; k++) {
			int r = run_case(&o, o.files[i], &files[i]->cases[k]);
			passed += r == 0;
			failed += r == 1;
			broken += r == 2;
		}
	printf("%zu test(s): %zu passed, %zu failed%s\n", passed + failed + broken, passed,
	       failed + broken, broken ? " (some could not run)" : "");
	rc = broken ? 2 : failed ? 1 : 0;
out:
	for (size_t i = 0; files != NULL && i < o.n_files; i++)
		acrt__testfile_free(files[i]);
	acrt__free(files);
	for (size_t i = 0; i < o.n_files; i++)
		acrt__free(o.files[i]);
	acrt__free(o.files);
	return rc;
}
