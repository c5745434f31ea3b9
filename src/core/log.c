/*
 * log.c - see log.h. Records are built with jansson (correct escaping for
 * free) in JSON mode and with snprintf in text mode.
 *
 * The journal: when stderr is systemd's journal stream (JOURNAL_STREAM holds
 * stderr's "device:inode", systemd.exec(5)), each line, JSON or text, starts
 * with its syslog priority, "<3>" for an error (sd-daemon.h's SD_ERR, ...):
 * journald strips it and files the line with that PRIORITY.
 */
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_min = ACRT_LOG_INFO;
static int log_json = -1; /* -1: not decided yet (auto) */
static bool status_shown; /* protected by log_mu */

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* sd-daemon.h's SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR, by level. */
static const char *const journal_prio[] = {"<7>", "<6>", "<4>", "<3>"};
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool to_journal; /* written once, under journal_once */

static void
journal_detect(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;
	to_journal = js != NULL && sscanf(js, "%llu:%llu%c", &dev, &ino, &end) == 2 &&
	             fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	             (unsigned long long)st.st_ino == ino;
}

void
acrt__log_config(int min_level, acrt__log_format fmt)
{
	pthread_mutex_lock(&log_mu);
	log_min = min_level;
	log_json = fmt == ACRT__LOG_FORMAT_JSON ? 1 : fmt == ACRT__LOG_FORMAT_TEXT ? 0 : -1;
	pthread_mutex_unlock(&log_mu);
}

bool
acrt__log_enabled(int level)
{
	return level >= log_min;
}

bool
acrt__log_is_json(void)
{
	if (log_json < 0)
		log_json = isatty(STDERR_FILENO) ? 0 : 1;
	return log_json == 1;
}

void
acrt__log_time_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void
write_all(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* prefix then compact JSON text, in a buffer from malloc (not from jansson's
 * allocator). */
static char *
dump_plain(const json_t *j, const char *prefix)
{
	size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(9));
	if (n == 0)
		return NULL;
	size_t p = strlen(prefix);
	char *out = malloc(p + n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, prefix, p);
	json_dumpb(j, out + p, n, JSON_COMPACT | JSON_REAL_PRECISION(9));
	out[p + n] = '\0';
	return out;
}

static char *
format_json(const char *prefix, int level, const char *component, uint64_t event_id,
            const json_t *extra, const char *msg)
{
	char ts[40];
	acrt__log_time_rfc3339(ts, sizeof ts);
	json_t *rec = json_object();
	if (rec == NULL)
		return NULL;
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_set_new(rec, "level", json_string(level_names[level]));
	if (component != NULL)
		json_object_set_new(rec, "component", json_string(component));
	if (event_id != 0)
		json_object_set_new(rec, "event_id", json_integer((json_int_t)event_id));
	json_object_set_new(rec, "msg", json_string(msg));
	if (extra != NULL && json_is_object(extra))
		json_object_update(rec, (json_t *)extra);
	char *out = dump_plain(rec, prefix);
	json_decref(rec);
	return out;
}

static char *
format_text(const char *prefix, int level, const char *component, uint64_t event_id,
            const json_t *extra, const char *msg)
{
	char ts[40], head[256];
	acrt__log_time_rfc3339(ts, sizeof ts);
	int k = snprintf(head, sizeof head, "%s%s %-5s", prefix, ts, level_names[level]);
	if (component != NULL)
		k += snprintf(head + k, sizeof head - (size_t)k, " [%s]", component);
	if (event_id != 0 && (size_t)k < sizeof head)
		snprintf(head + k, sizeof head - (size_t)k, " event=%llu",
		         (unsigned long long)event_id);
	char *tail = NULL;
	if (extra != NULL && json_object_size(extra) > 0)
		tail = dump_plain(extra, "");
	char *out = NULL;
	if (asprintf(&out, "%s %s%s%s", head, msg, tail ? " " : "", tail ? tail : "") < 0)
		out = NULL;
	free(tail);
	return out;
}

void
acrt__logv(int level, const char *component, uint64_t event_id, const json_t *extra,
           const char *fmt, va_list ap)
{
	if (level < ACRT_LOG_DEBUG || level > ACRT_LOG_ERROR || level < log_min)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	bool json = acrt__log_is_json();
	(void)pthread_once(&journal_once, journal_detect);
	const char *prefix = to_journal ? journal_prio[level] : "";
	char *line = json ? format_json(prefix, level, component, event_id, extra, msg)
	                  : format_text(prefix, level, component, event_id, extra, msg);
	if (line == NULL)
		return;
	pthread_mutex_lock(&log_mu);
	if (status_shown)
		write_all("\r\033[K", 4);
	size_t n = strlen(line);
	line[n] = '\n'; /* both formatters leave room: replace NUL, write n+1 */
	write_all(line, n + 1);
	status_shown = false;
	pthread_mutex_unlock(&log_mu);
	free(line);
}

void
acrt__log(int level, const char *component, uint64_t event_id, const json_t *extra, const char *fmt,
          ...)
{
	va_list ap;
	va_start(ap, fmt);
	acrt__logv(level, component, event_id, extra, fmt, ap);
	va_end(ap);
}

void
acrt__log_status(const char *line)
{
	if (!isatty(STDERR_FILENO))
		return;
	pthread_mutex_lock(&log_mu);
	write_all("\r\033[K", 4);
	if (line != NULL)
		write_all(line, strlen(line));
	status_shown = line != NULL;
	pthread_mutex_unlock(&log_mu);
}
