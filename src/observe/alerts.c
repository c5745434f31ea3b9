/*
 * alerts.c - see alerts.h and docs/ALERTS.md.
 *
 * Evaluation runs on the supervising thread (acrt__alerts_tick from
 * supervise()). It reads the values /metrics would serve (acrt__metrics_text,
 * parsed line by line: one series per line), so every metric and label
 * metrics.c knows can be alerted on. State per (rule, series) lives in a
 * list guarded by g_mu, which GET /api/v1/alerts also takes.
 *
 * Notifications go to the webhook sender (webhook.c), a thread of its own
 * with a bounded queue: the supervising thread only enqueues.
 */
#include "observe/alerts.h"
#include "blueprint/alert_rule.h"

#include "observe/api.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "core/log.h"
#include "observe/metrics.h"
#include "observe/webhook.h"

#define EVAL_NS 1000000000LL    /* evaluation period */
#define RESEND_NS 60000000000LL /* a firing alert is re-sent every minute */
#define HISTORY_MAX 100         /* transitions kept for GET /api/v1/alerts */

typedef struct rule {
	char *name, *metric, *severity;
	acrt__alert_op op;
	double threshold, for_s;
	bool rate;
} rule;

enum { ST_INACTIVE, ST_PENDING, ST_FIRING };
static const char *const state_names[] = {"inactive", "pending", "firing"};

typedef struct series {
	struct series *next;
	size_t rule;
	char *labels;     /* as in the exposition: `{k="v",...}` or "" */
	json_t *lab_json; /* parsed labels */
	bool seen;        /* present in this evaluation */
	bool has_prev;    /* rate: the previous sample */
	double prev;
	int64_t prev_ns;
	int state;
	double value;
	int64_t since_ns;      /* monotonic: entered pending */
	char active_since[40]; /* RFC 3339, entered pending */
	char starts_at[40];    /* RFC 3339, began firing */
	int64_t last_sent_ns;  /* webhook */
} series;

struct acrt__alerts {
	acrt__runtime *rt;
	rule *rules;
	size_t n_rules;
	series *list;
	int64_t next_ns;
	char *generator_url;
	acrt__webhook *wh;
	bool stopping; /* the final resolutions of acrt__alerts_stop */
	/* The last HISTORY_MAX transitions, oldest first, under g_mu: {time,
	 * name, from, state, severity, labels, value} (the console shows them). */
	json_t *history;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static acrt__alerts *g_current; /* the running system's, under g_mu */

/* ---- Rules ---------------------------------------------------------------- */

/* The default rules (docs/ALERTS.md); a user rule of the same name replaces
 * one, and `enabled: false` removes it. */
static const acrt__alert_rule defaults[] = {
    {"component_failed", true, "acrt_component_up", "critical", ACRT__ALERT_EQ, 0, 0, false},
    {"stream_saturated", true, "acrt_stream_fill_ratio", "warning", ACRT__ALERT_GT, 0.9, 10, false},
    {"error_rate", true, "acrt_component_errors_total", "critical", ACRT__ALERT_GT, 5, 30, true},
    {"component_stuck", true, "acrt_component_stuck", "critical", ACRT__ALERT_EQ, 1, 0, false},
    {"sink_write_blocked", true, "acrt_component_write_blocked", "critical", ACRT__ALERT_EQ, 1, 0,
     false},
    /* bindings between nodes: series present only on a node with remote bindings */
    {"broker_disconnected", true, "acrt_remote_connected", "critical", ACRT__ALERT_EQ, 0, 10,
     false},
    {"remote_backlog_high", true, "acrt_remote_backlog_ratio", "warning", ACRT__ALERT_GT, 0.9, 30,
     false},
    /* checkpoints: series present only with runtime.state */
    {"checkpoint_aborted", true, "acrt_checkpoints_aborted_total", "warning", ACRT__ALERT_GT, 0, 0,
     true},
    {"checkpoint_store_failing", true, "acrt_checkpoints_failed_total", "warning", ACRT__ALERT_GT,
     0, 0, true},
};

static void
rule_free(rule *r)
{
	acrt__free(r->name);
	acrt__free(r->metric);
	acrt__free(r->severity);
}

/* One `runtime.alerts` entry, read by the loader, into *r. */
static int
rule_copy(const acrt__alert_rule *p, rule *r)
{
	memset(r, 0, sizeof *r);
	r->name = acrt__strdup(p->name);
	if (!p->enabled)
		return r->name != NULL ? 0 : -1;
	r->metric = acrt__strdup(p->metric);
	r->severity = acrt__strdup(p->severity);
	r->op = p->op;
	r->threshold = p->threshold;
	r->for_s = p->for_s;
	r->rate = p->rate;
	if (r->name == NULL || r->metric == NULL || r->severity == NULL) {
		rule_free(r);
		return -1;
	}
	return 0;
}

static long
rule_find(const acrt__alerts *al, const char *name)
{
	for (size_t i = 0; i < al->n_rules; i++)
		if (strcmp(al->rules[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int
rules_load(acrt__alerts *al, const acrt__blueprint *bp)
{
	size_t n_def = sizeof defaults / sizeof *defaults;
	al->rules = acrt__calloc(bp->n_alert_rules + n_def, sizeof *al->rules);
	if (al->rules == NULL)
		return -1;
	for (size_t i = 0; i < n_def; i++) {
		if (rule_copy(&defaults[i], &al->rules[al->n_rules]) != 0)
			return -1;
		al->n_rules++;
	}
	for (size_t i = 0; i < bp->n_alert_rules; i++) {
		const acrt__alert_rule *p = &bp->alert_rules[i];
		rule r;
		if (rule_copy(p, &r) != 0)
			return -1;
		long k = rule_find(al, r.name);
		if (k >= 0) { /* overrides (or, disabled, removes) the earlier rule */
			rule_free(&al->rules[k]);
			memmove(&al->rules[k], &al->rules[k + 1],
			        (al->n_rules - (size_t)k - 1) * sizeof *al->rules);
			al->n_rules--;
		}
		if (p->enabled)
			al->rules[al->n_rules++] = r;
		else
			rule_free(&r);
	}
	return 0;
}

/* ---- Helpers -------------------------------------------------------------- */

static bool
compare(acrt__alert_op op, double v, double t)
{
	switch (op) {
	case ACRT__ALERT_GT:
		return v > t;
	case ACRT__ALERT_GE:
		return v >= t;
	case ACRT__ALERT_LT:
		return v < t;
	case ACRT__ALERT_LE:
		return v <= t;
	case ACRT__ALERT_EQ:
		return v == t;
	case ACRT__ALERT_NE:
		return v != t;
	}
	return false;
}

/* `{k="v",...}` (exposition escapes \\ \" \n) -> {"k": "v", ...}. */
static json_t *
labels_parse(const char *s)
{
	json_t *o = json_object();
	if (*s != '{')
		return o;
	s++;
	while (*s && *s != '}') {
		const char *eq = strchr(s, '=');
		if (eq == NULL || eq[1] != '"')
			break;
		char key[128];
		snprintf(key, sizeof key, "%.*s", (int)(eq - s), s);
		const char *p = eq + 2;
		char val[512];
		size_t n = 0;
		for (; *p && *p != '"'; p++) {
			char c = *p;
			if (c == '\\' && p[1]) {
				p++;
				c = *p == 'n' ? '\n' : *p;
			}
			if (n + 1 < sizeof val)
				val[n++] = c;
		}
		val[n] = '\0';
		json_object_set_new(o, key, json_string(val));
		if (*p == '"')
			p++;
		if (*p == ',')
			p++;
		s = p;
	}
	return o;
}

static series *
series_get(acrt__alerts *al, size_t ri, const char *labels, size_t llen)
{
	for (series *s = al->list; s; s = s->next)
		if (s->rule == ri && strlen(s->labels) == llen &&
		    memcmp(s->labels, labels, llen) == 0)
			return s;
	series *s = acrt__calloc(1, sizeof *s);
	char *lab = acrt__malloc(llen + 1);
	if (s == NULL || lab == NULL) {
		acrt__free(s);
		acrt__free(lab);
		return NULL;
	}
	memcpy(lab, labels, llen);
	lab[llen] = '\0';
	s->rule = ri;
	s->labels = lab;
	s->lab_json = labels_parse(s->labels);
	s->next = al->list;
	al->list = s;
	return s;
}

/* ---- Transitions ---------------------------------------------------------- */

static void
summary(const acrt__alerts *al, const series *s, char *buf, size_t n)
{
	const rule *r = &al->rules[s->rule];
	int k = snprintf(buf, n, "%s%s%s%s = %g%s %s %g", r->rate ? "rate(" : "", r->metric,
	                 s->labels, r->rate ? ")" : "", s->value, r->rate ? "/s" : "",
	                 acrt__alert_op_names[r->op], r->threshold);
	if (r->for_s > 0 && k > 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, " for %g s", r->for_s);
}

static void
send_alert(acrt__alerts *al, series *s, bool resolved, int64_t now)
{
	if (al->wh == NULL)
		return;
	const rule *r = &al->rules[s->rule];
	json_t *labels = json_deep_copy(s->lab_json);
	json_object_set_new(labels, "alertname", json_string(r->name));
	json_object_set_new(labels, "severity", json_string(r->severity));
	json_object_set_new(labels, "system", json_string(acrt__q_blueprint(al->rt)->name));
	char sum[600];
	summary(al, s, sum, sizeof sum);
	json_t *a = json_pack("{s:o,s:{s:s},s:s,s:s}", "labels", labels, "annotations", "summary",
	                      sum, "startsAt", s->starts_at, "generatorURL", al->generator_url);
	if (a == NULL)
		return;
	if (resolved) {
		char ends[40];
		acrt__log_time_rfc3339(ends, sizeof ends);
		json_object_set_new(a, "endsAt", json_string(ends));
	}
	s->last_sent_ns = now;
	acrt__webhook_push(al->wh, a);
}

static void
log_transition(acrt__alerts *al, series *s, const char *to)
{
	const rule *r = &al->rules[s->rule];
	const char *comp = json_string_value(json_object_get(s->lab_json, "component"));
	json_t *x =
	    json_pack("{s:s,s:s,s:s,s:s,s:O,s:f,s:s,s:f,s:f}", "alert", r->name, "state", to,
	              "from", state_names[s->state], "severity", r->severity, "labels", s->lab_json,
	              "value", isfinite(s->value) ? s->value : 0.0, "op",
	              acrt__alert_op_names[r->op], "threshold", r->threshold, "for_s", r->for_s);
	if (x != NULL)
		json_object_set_new(x, "metric", json_string(r->metric));
	if (x != NULL && al->stopping)
		json_object_set_new(x, "reason",
		                    json_string(s->state == ST_FIRING
		                                    ? "the system stopped while the condition held"
		                                    : "the system stopped"));
	char sum[600], when[40];
	summary(al, s, sum, sizeof sum);
	acrt__log_time_rfc3339(when, sizeof when);
	if (al->history != NULL) {
		if (json_array_size(al->history) >= HISTORY_MAX)
			json_array_remove(al->history, 0);
		json_array_append_new(
		    al->history,
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:f,s:s}", "time", when, "name", r->name,
		              "from", state_names[s->state], "state", to, "severity", r->severity,
		              "labels", s->lab_json, "value", isfinite(s->value) ? s->value : 0.0,
		              "summary", sum));
	}
	acrt__log(strcmp(to, "firing") == 0 ? ACRT_LOG_WARN : ACRT_LOG_INFO, comp, 0, x,
	          "alert '%s' %s: %s", r->name, to, sum);
	json_decref(x);
}

static void
to_firing(acrt__alerts *al, series *s, int64_t now)
{
	log_transition(al, s, "firing");
	s->state = ST_FIRING;
	acrt__log_time_rfc3339(s->starts_at, sizeof s->starts_at);
	send_alert(al, s, false, now);
}

/* Condition false (or the series is gone). */
static void
to_inactive(acrt__alerts *al, series *s, int64_t now)
{
	if (s->state == ST_FIRING) {
		/* At stop a series still firing held its condition at the last
		 * evaluation: it ends with the system, it was not resolved. The
		 * receiver still gets endsAt, so the alert does not hang there. */
		log_transition(al, s, al->stopping ? "ended" : "resolved");
		send_alert(al, s, true, now);
	} else if (s->state == ST_PENDING) {
		log_transition(al, s, "inactive");
	}
	s->state = ST_INACTIVE;
}

static void
observe(acrt__alerts *al, series *s, bool cond, int64_t now)
{
	const rule *r = &al->rules[s->rule];
	if (!cond) {
		to_inactive(al, s, now);
		return;
	}
	if (s->state == ST_INACTIVE) {
		s->since_ns = now;
		acrt__log_time_rfc3339(s->active_since, sizeof s->active_since);
		if (r->for_s <= 0) {
			to_firing(al, s, now);
			return;
		}
		log_transition(al, s, "pending");
		s->state = ST_PENDING;
	}
	if (s->state == ST_PENDING && (double)(now - s->since_ns) >= r->for_s * 1e9)
		to_firing(al, s, now);
	else if (s->state == ST_FIRING && al->wh != NULL && now - s->last_sent_ns >= RESEND_NS)
		send_alert(al, s, false, now);
}

/* ---- Evaluation ----------------------------------------------------------- */

static void
evaluate(acrt__alerts *al, int64_t now)
{
	size_t len = 0;
	char *text = acrt__metrics_text(al->rt, &len);
	if (text == NULL)
		return;
	for (series *s = al->list; s; s = s->next)
		s->seen = false;
	for (char *line = text; line < text + len;) {
		char *eol = memchr(line, '\n', (size_t)(text + len - line));
		if (eol == NULL)
			eol = text + len;
		*eol = '\0';
		char *cur = line;
		line = eol + 1;
		if (*cur == '#' || *cur == '\0')
			continue;
		size_t nlen = strcspn(cur, "{ ");
		const char *lab = cur + nlen;
		size_t llen = 0;
		if (*lab == '{') { /* to the closing brace, outside quotes */
			bool q = false;
			for (llen = 1; lab[llen]; llen++) {
				if (q && lab[llen] == '\\' && lab[llen + 1])
					llen++;
				else if (lab[llen] == '"')
					q = !q;
				else if (!q && lab[llen] == '}') {
					llen++;
					break;
				}
			}
		}
		char *end;
		double x = strtod(lab + llen, &end);
		if (end == lab + llen)
			continue;
		for (size_t ri = 0; ri < al->n_rules; ri++) {
			const rule *r = &al->rules[ri];
			if (strlen(r->metric) != nlen || memcmp(r->metric, cur, nlen) != 0)
				continue;
			series *s = series_get(al, ri, lab, llen);
			if (s == NULL)
				continue;
			s->seen = true;
			double v = x;
			if (r->rate) { /* counters start at 0 when the system starts */
				if (!s->has_prev) {
					s->prev = 0;
					s->prev_ns = acrt__q_started_ns(al->rt);
					s->has_prev = true;
				}
				if (now <= s->prev_ns)
					continue;
				v = (x >= s->prev ? x - s->prev : x) /
				    ((double)(now - s->prev_ns) / 1e9);
				s->prev = x;
				s->prev_ns = now;
			}
			s->value = v;
			observe(al, s, compare(r->op, v, r->threshold), now);
		}
	}
	free(text);
	/* Series that are gone resolve; inactive ones are forgotten unless a rate
	 * needs their last sample. */
	for (series **pp = &al->list; *pp;) {
		series *s = *pp;
		if (!s->seen)
			to_inactive(al, s, now);
		if (s->state == ST_INACTIVE && (!s->seen || !al->rules[s->rule].rate)) {
			*pp = s->next;
			json_decref(s->lab_json);
			acrt__free(s->labels);
			acrt__free(s);
		} else {
			pp = &s->next;
		}
	}
}

/* ---- Public --------------------------------------------------------------- */

int
acrt__alerts_start(acrt__runtime *rt, acrt__alerts **out)
{
	*out = NULL;
	acrt__alerts *al = acrt__calloc(1, sizeof *al);
	if (al == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "alerting: out of memory");
		return -1;
	}
	al->rt = rt;
	const acrt__blueprint *bp = acrt__q_blueprint(rt);
	if ((al->history = json_array()) == NULL || rules_load(al, bp) != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "alerting: out of memory");
		acrt__alerts_stop(al);
		return -1;
	}
	const char *listen = bp->api.listen != NULL ? bp->api.listen : ACRT__API_DEFAULT_LISTEN;
	if (asprintf(&al->generator_url, "http://%s%s/api/v1/alerts",
	             listen[0] == ':' ? "localhost" : "", listen) < 0)
		al->generator_url = NULL;
	if (bp->alert_webhook != NULL) {
		al->wh = acrt__webhook_start(bp->alert_webhook);
		if (al->wh == NULL) {
			acrt__alerts_stop(al);
			return -1;
		}
	}
	if (al->n_rules == 0 && al->wh == NULL) { /* nothing to do: no tick */
		acrt__alerts_stop(al);
		return 0;
	}
	al->next_ns = acrt__mono_ns() + EVAL_NS;
	json_t *x = json_pack("{s:i,s:b}", "alert_rules", (int)al->n_rules, "alert_webhook",
	                      al->wh != NULL);
	acrt__log(ACRT_LOG_DEBUG, NULL, 0, x, "alerting: %zu rule(s)%s", al->n_rules,
	          al->wh ? ", webhook configured" : "");
	json_decref(x);
	pthread_mutex_lock(&g_mu);
	g_current = al;
	pthread_mutex_unlock(&g_mu);
	*out = al;
	return 0;
}

int64_t
acrt__alerts_next_ns(const acrt__alerts *al)
{
	return al != NULL && al->n_rules > 0 ? al->next_ns : ACRT__FOREVER;
}

void
acrt__alerts_tick(acrt__alerts *al, int64_t now)
{
	if (al == NULL || al->n_rules == 0 || now < al->next_ns)
		return;
	pthread_mutex_lock(&g_mu);
	evaluate(al, now);
	pthread_mutex_unlock(&g_mu);
	al->next_ns += EVAL_NS;
	if (al->next_ns <= now) /* fell behind: no burst of catch-up evaluations */
		al->next_ns = now + EVAL_NS;
}

void
acrt__alerts_stop(acrt__alerts *al)
{
	if (al == NULL)
		return;
	pthread_mutex_lock(&g_mu);
	if (g_current == al)
		g_current = NULL;
	int64_t now = acrt__mono_ns();
	if (al->n_rules > 0) /* a last look: e.g. a component that failed and stopped the run */
		evaluate(al, now);
	al->stopping = true;
	while (al->list != NULL) { /* the system stops: what is active ends */
		series *s = al->list;
		al->list = s->next;
		to_inactive(al, s, now);
		json_decref(s->lab_json);
		acrt__free(s->labels);
		acrt__free(s);
	}
	pthread_mutex_unlock(&g_mu);
	acrt__webhook_stop(al->wh);
	for (size_t i = 0; i < al->n_rules; i++)
		rule_free(&al->rules[i]);
	acrt__free(al->rules);
	json_decref(al->history);
	free(al->generator_url); /* asprintf's */
	acrt__free(al);
}

json_t *
acrt__alerts_api_json(const acrt__runtime *rt)
{
	json_t *list = json_array();
	pthread_mutex_lock(&g_mu);
	acrt__alerts *al = g_current;
	for (series *s = al != NULL && al->rt == rt ? al->list : NULL; s; s = s->next) {
		if (s->state == ST_INACTIVE)
			continue;
		const rule *r = &al->rules[s->rule];
		json_t *a = json_pack("{s:s,s:O,s:s,s:s,s:s,s:f,s:s,s:s,s:f,s:f}", "name", r->name,
		                      "labels", s->lab_json, "state", state_names[s->state],
		                      "severity", r->severity, "active_since", s->active_since,
		                      "value", isfinite(s->value) ? s->value : 0.0, "metric",
		                      r->metric, "op", acrt__alert_op_names[r->op], "threshold",
		                      r->threshold, "for_s", r->for_s);
		if (a != NULL && s->state == ST_FIRING)
			json_object_set_new(a, "firing_since", json_string(s->starts_at));
		json_array_append_new(list, a);
	}
	json_t *history = al != NULL && al->rt == rt && al->history != NULL
	                      ? json_deep_copy(al->history)
	                      : json_array();
	pthread_mutex_unlock(&g_mu);
	return json_pack("{s:o,s:o}", "alerts", list, "history", history);
}
