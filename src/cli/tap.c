/*
 * tap.c - `acrt tap COMPONENT[.PORT] [DIR|FILE] [--limit N] [--rate N]`:
 * prints a live sample of the events passing one port of a running system,
 * one JSON object per line on stdout (docs/CLI.md). It reads the streamed
 * `GET /api/v1/tap` of the system's HTTP API (docs/API.md) with the *write*
 * token, since the lines carry payloads; the server does the sampling (limit
 * and rate), this side prints what arrives and stops at --limit, at the end
 * of the stream, on SIGINT/SIGTERM, or when stdout is closed.
 *
 * The address and the token come from the shared API client (apiclient.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/apiclient.h"
#include "cli/cli.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

typedef struct tap_out {
	unsigned long long limit, n; /* --limit (0: none), lines printed */
	int werr;                    /* errno of a failed write to stdout */
} tap_out;

static int
on_line(const char *line, size_t len, void *ud)
{
	tap_out *t = ud;
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF || fflush(stdout) != 0) {
		t->werr = errno;
		return errno == EPIPE ? 1 : -1; /* a closed pipe (| head) is a normal end */
	}
	t->n++;
	return t->limit != 0 && t->n >= t->limit ? 1 : 0;
}

/* Appends "&key=escaped(value)" to q. 0, or -1 when it does not fit. */
static int
add_param(CURL *h, char *q, size_t n, const char *key, const char *value)
{
	char *esc = curl_easy_escape(h, value, 0);
	if (esc == NULL)
		return -1;
	size_t used = strlen(q);
	int w = snprintf(q + used, n - used, "%s%s=%s", used ? "&" : "", key, esc);
	curl_free(esc);
	return w < 0 || (size_t)w >= n - used ? -1 : 0;
}

int
acrt__cmd_tap(int argc, char **argv)
{
	const char *target = NULL, *path = ".", *limit_s = NULL, *rate_s = NULL;
	acrt__apiclient o = {.cmd = "tap"};
	tap_out out = {0};
	bool have_path = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int used = acrt__apiclient_option(&o, argc, argv, &i);
		if (used == 2)
			return 2;
		if (used == 1)
			continue;
		if (strcmp(a, "--limit") == 0 || strcmp(a, "--rate") == 0) {
			if (i + 1 >= argc)
				return acrt__cli_usage_error("tap: %s needs a value", a);
			const char *val = argv[++i];
			char *end;
			errno = 0;
			if (a[2] == 'l') {
				unsigned long long v = strtoull(val, &end, 10);
				if (errno != 0 || *end != '\0' || val[0] < '0' || val[0] > '9' ||
				    v < 1 || v > 1000000000000ULL)
					return acrt__cli_usage_error("tap: --limit takes a count "
					                             "of events, 1 to 1e12 ('%s')",
					                             val);
				out.limit = v;
				limit_s = val;
			} else {
				double v = strtod(val, &end);
				if (errno != 0 || *end != '\0' || !(v > 0 && v <= 1e6))
					return acrt__cli_usage_error(
					    "tap: --rate takes events per "
					    "second, above 0, at most 1e6 ('%s')",
					    val);
				rate_s = val;
			}
		} else if (a[0] == '-' && a[1] != '\0') {
			return acrt__cli_usage_error("tap: unknown option '%s'", a);
		} else if (target == NULL) {
			target = a;
		} else if (!have_path) {
			path = a;
			have_path = true;
		} else {
			return acrt__cli_usage_error("tap: one port of one system at a time ('%s')",
			                             a);
		}
	}
	if (target == NULL || target[0] == '\0' || target[0] == '.')
		return acrt__cli_usage_error(
		    "tap: which component? (acrt tap COMPONENT[.PORT] [DIR])");
	char comp[256];
	const char *dot = strchr(target, '.');
	size_t cl = dot != NULL ? (size_t)(dot - target) : strlen(target);
	if (cl >= sizeof comp || (dot != NULL && dot[1] == '\0'))
		return acrt__cli_usage_error("tap: '%s' is not COMPONENT[.PORT]", target);
	memcpy(comp, target, cl);
	comp[cl] = '\0';

	int rc = acrt__apiclient_locate(&o, path, true);
	if (rc != 0) {
		acrt__apiclient_free(&o);
		return rc;
	}
	char query[900] = "";
	if (add_param(o.h, query, sizeof query, "component", comp) != 0 ||
	    (dot != NULL && add_param(o.h, query, sizeof query, "port", dot + 1) != 0) ||
	    (limit_s != NULL && add_param(o.h, query, sizeof query, "limit", limit_s) != 0) ||
	    (rate_s != NULL && add_param(o.h, query, sizeof query, "rate", rate_s) != 0)) {
		acrt__apiclient_free(&o);
		return acrt__cli_usage_error("tap: '%s' is too long", target);
	}
	char req[1000];
	snprintf(req, sizeof req, "/api/v1/tap?%s", query);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal; /* no SA_RESTART: the wait is cut short */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout shows as EPIPE */

	char err[768] = "";
	long status = 0;
	rc = acrt__apiclient_stream(&o, req, on_line, &out, &stop_flag, &status, err, sizeof err);
	if (rc == 1) {
		fprintf(stderr, "acrt: tap: %s%s\n", err,
		        status == 403 ? " (tapping shows payloads: give it the write token, "
		                        "runtime.api.auth.write_token_file or .acrt/write.token)"
		                      : "");
		/* An unknown component or port, or a bad query: the user's to fix. */
		rc = status == 404 || status == 400 ? 2 : 1;
	} else if (rc < 0) {
		fprintf(stderr, "acrt: tap: cannot write to stdout: %s\n", strerror(out.werr));
		rc = 1;
	} else if (!stop_flag && out.werr == 0 && (out.limit == 0 || out.n < out.limit)) {
		fprintf(stderr,
		        "acrt: tap: the stream ended after %llu event(s): '%s' finished, or the "
		        "system stopped or was reloaded\n",
		        out.n, comp);
	}
	acrt__apiclient_free(&o);
	return rc;
}
