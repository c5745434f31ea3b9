/*
 * top.c - `acrt top [DIR|FILE] [--once] [--interval MS]`: a live view of a
 * running system read from its HTTP API (docs/API.md): components with their
 * rates, streams with their fill, alerts.
 *
 * The address and the read token are found by the shared API client
 * (apiclient.h: --url, <blueprint dir>/.acrt/api.addr, runtime.api.listen;
 * --token-file, runtime.api.auth.read_token_file, .acrt/read.token).
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/apiclient.h"
#include "cli/cli.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_int_t
get_int(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v)
	       : json_is_real(v)  ? (json_int_t)json_real_value(v)
	                          : 0;
}

static const char *
get_str(const json_t *o, const char *k, const char *dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* The previous sample of a component, by name. */
static const json_t *
find_comp(const json_t *sys, const char *name)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(sys, "components"), i, c)
	{
		if (strcmp(get_str(c, "name", ""), name) == 0)
			return c;
	}
	return NULL;
}

static void
human(double v, char *out, size_t n)
{
	if (v >= 1e9)
		snprintf(out, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.1fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

/* One alert's fields, whatever the exact shape (name or labels.alertname). */
static void
print_alert(FILE *f, const json_t *a)
{
	const json_t *labels = json_object_get(a, "labels");
	const char *name = get_str(a, "name", get_str(labels, "alertname", "?"));
	const char *state = get_str(a, "state", get_str(a, "status", "?"));
	const char *sev = get_str(a, "severity", get_str(labels, "severity", ""));
	fprintf(f, "  %-24s %-9s %-9s", name, state, sev);
	const json_t *v = json_object_get(a, "value");
	if (json_is_number(v))
		fprintf(f, " value=%g", json_number_value(v));
	const char *subject = get_str(a, "component", get_str(labels, "component", NULL));
	if (subject == NULL)
		subject = get_str(a, "stream", get_str(labels, "stream", NULL));
	if (subject != NULL)
		fprintf(f, " %s", subject);
	fputc('\n', f);
}

static void
render(FILE *f, const acrt__apiclient *o, const json_t *prev, const json_t *cur, double dt,
       const json_t *alerts, bool tty)
{
	const char *bold = tty ? "\033[1m" : "", *off = tty ? "\033[0m" : "";
	const char *red = tty ? "\033[31m" : "", *yellow = tty ? "\033[33m" : "";
	fprintf(f, "%sacrt top%s  system %s  %s  %s  uptime %.0fs  (%s)\n", bold, off,
	        get_str(cur, "system", "?"), get_str(cur, "state", "?"),
	        json_is_true(json_object_get(cur, "ready")) ? "ready" : "not ready",
	        json_number_value(json_object_get(cur, "uptime_s")), o->base);
	const json_t *proc = json_object_get(cur, "process");
	char rss[32];
	human(json_number_value(json_object_get(proc, "resident_memory_bytes")), rss, sizeof rss);
	fprintf(f, "process: rss %sB, cpu %.1fs, threads %lld, fds %lld\n\n", rss,
	        json_number_value(json_object_get(proc, "cpu_seconds")),
	        (long long)get_int(proc, "threads"), (long long)get_int(proc, "open_fds"));

	fprintf(f, "%s%-24s %-12s %4s %-8s %12s %12s %10s %10s %8s%s\n", bold, "COMPONENT", "TYPE",
	        "REPL", "STATE", "IN", "OUT", "IN/s", "OUT/s", "ERRORS", off);
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(cur, "components"), i, c)
	{
		const char *name = get_str(c, "name", "?");
		const json_t *p = find_comp(prev, name);
		json_int_t in = get_int(c, "events_in"), out = get_int(c, "events_out");
		double rin = p && dt > 0 ? (double)(in - get_int(p, "events_in")) / dt : 0;
		double rout = p && dt > 0 ? (double)(out - get_int(p, "events_out")) / dt : 0;
		char sin[32], sout[32], srin[32], srout[32];
		human((double)in, sin, sizeof sin);
		human((double)out, sout, sizeof sout);
		human(rin < 0 ? 0 : rin, srin, sizeof srin);
		human(rout < 0 ? 0 : rout, srout, sizeof srout);
		const char *state = get_str(c, "state", "?");
		json_int_t errs = get_int(c, "errors");
		bool bad = strcmp(state, "failed") == 0 || !json_is_true(json_object_get(c, "up"));
		fprintf(f, "%-24s %-12s %4lld %s%-8s%s %12s %12s %10s %10s %s%8lld%s\n", name,
		        get_str(c, "type", "?"), (long long)get_int(c, "replicas"), bad ? red : "",
		        state, bad ? off : "", sin, sout, srin, srout, errs > 0 ? red : "",
		        (long long)errs, errs > 0 ? off : "");
	}

	const json_t *streams = json_object_get(cur, "streams");
	if (json_array_size(streams) > 0) {
		fprintf(f, "\n%s%-40s %10s %10s %6s%s\n", bold, "STREAM", "DEPTH", "CAPACITY",
		        "FILL", off);
		const json_t *s;
		json_array_foreach(streams, i, s)
		{
			double fill = json_number_value(json_object_get(s, "fill_ratio"));
			char bar[21];
			int k = (int)(fill * 20 + 0.5);
			for (int j = 0; j < 20; j++)
				bar[j] = j < k ? '#' : '.';
			bar[20] = '\0';
			fprintf(f, "%-40s %10lld %10lld %s%5.1f%%%s [%s]\n",
			        get_str(s, "name", "?"), (long long)get_int(s, "depth"),
			        (long long)get_int(s, "capacity"),
			        fill >= 0.9   ? red
			        : fill >= 0.5 ? yellow
			                      : "",
			        fill * 100, fill >= 0.5 ? off : "", bar);
		}
	}

	const json_t *list = json_object_get(alerts, "alerts");
	fprintf(f, "\n%sALERTS%s", bold, off);
	if (alerts == NULL) {
		fprintf(f, " (not served)\n");
	} else if (json_array_size(list) == 0) {
		fprintf(f, " none\n");
	} else {
		fputc('\n', f);
		const json_t *a;
		json_array_foreach(list, i, a) print_alert(f, a);
	}
}

int
acrt__cmd_top(int argc, char **argv)
{
	const char *path = ".";
	bool once = false;
	long interval = 1000;
	acrt__apiclient o = {.cmd = "top"};
	bool have_path = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int used = acrt__apiclient_option(&o, argc, argv, &i);
		if (used == 2)
			return 2;
		if (used == 1)
			continue;
		if (strcmp(a, "--once") == 0) {
			once = true;
		} else if (strcmp(a, "--interval") == 0) {
			if (i + 1 >= argc)
				return acrt__cli_usage_error("top: %s needs a value", a);
			const char *val = argv[++i];
			char *end;
			errno = 0;
			interval = strtol(val, &end, 10);
			if (errno != 0 || *end != '\0' || interval < 100 || interval > 3600000)
				return acrt__cli_usage_error(
				    "top: --interval takes milliseconds, 100 to 3600000 ('%s')",
				    val);
		} else if (a[0] == '-' && a[1] != '\0') {
			return acrt__cli_usage_error("top: unknown option '%s'", a);
		} else {
			if (have_path)
				return acrt__cli_usage_error("top: one system at a time ('%s')", a);
			path = a;
			have_path = true;
		}
	}

	int rc = acrt__apiclient_locate(&o, path, false);
	if (rc != 0) {
		acrt__apiclient_free(&o);
		return rc;
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	bool tty = !once && isatty(STDOUT_FILENO);
	char err[512] = "";
	long status = 0;
	json_t *prev = acrt__apiclient_get_json(&o, "/api/v1/system", &status, err, sizeof err);
	double t_prev = now_s();
	rc = 0;
	if (prev == NULL) {
		fprintf(stderr, "acrt: top: %s\n", err);
		rc = 1;
	}
	if (tty && rc == 0)
		fputs("\033[?25l", stdout); /* hide the cursor */
	while (rc == 0 && !stop_flag) {
		/* Sleep the interval in slices, to stop promptly on a signal. */
		double until = now_s() + (double)interval / 1000;
		while (!stop_flag && now_s() < until) {
			double left = until - now_s();
			struct timespec ts = {0, (long)((left < 0.05 ? left : 0.05) * 1e9)};
			if (ts.tv_nsec > 0)
				nanosleep(&ts, NULL);
		}
		if (stop_flag)
			break;
		json_t *cur =
		    acrt__apiclient_get_json(&o, "/api/v1/system", &status, err, sizeof err);
		double t_cur = now_s();
		if (cur == NULL) {
			if (once || !tty) {
				fprintf(stderr, "acrt: top: %s\n", err);
				rc = 1;
				break;
			}
			/* Live view: say so and keep trying (the system may come back). */
			printf("\033[H\033[2J%s\n(retrying every %ld ms; Ctrl-C quits)\n", err,
			       interval);
			fflush(stdout);
			continue;
		}
		char aerr[512];
		long ast = 0;
		json_t *alerts =
		    acrt__apiclient_get_json(&o, "/api/v1/alerts", &ast, aerr, sizeof aerr);
		if (tty)
			fputs("\033[H\033[2J", stdout);
		render(stdout, &o, prev, cur, t_cur - t_prev, alerts, tty);
		if (!tty && !once)
			fputc('\n', stdout);
		fflush(stdout);
		json_decref(alerts);
		json_decref(prev);
		prev = cur;
		t_prev = t_cur;
		if (once)
			break;
	}
	if (tty)
		fputs("\033[?25h", stdout);
	json_decref(prev);
	acrt__apiclient_free(&o);
	return rc;
}
