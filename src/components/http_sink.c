/*
 * http_sink.c - `sink: http`: the Sink POSTs its events in batches to `url`
 * with libcurl (docs/COMPONENTS.md, "Sink: http").
 *
 * Batches. Each event's bytes go into the open batch as they are (JSON text is
 * kept exact, docs/JSON.md): one per line (`format: ndjson`, the default) or
 * as the elements of one JSON array (`format: json_array`). A batch is sent
 * when the input position reaches a multiple of `max_items` (so a replay cuts
 * where the first run did), when the next event would take its body past
 * `max_bytes` (an event larger than that goes alone), `max_ms` after its first
 * event (when the input pauses, the idle hook asks the loop to wake it then:
 * acrt__ctx_wake_at; the Sink is never chained, wiring.c), at the end of the
 * input and at a checkpoint barrier. Sending runs on the instance's thread and returns only once
 * the batch is delivered (a 2xx) or rejected (another 4xx): while the receiver is down or busy the
 * input waits, and the pipeline backpressures.
 *
 * Retries. A 5xx, 429, 408 or a network error (refused, reset, timed out) is
 * retried for ever, with exponential backoff from `retry_initial_ms` to
 * `retry_max_ms` and jitter (a random wait in [b/2, b]), or after the
 * response's Retry-After (seconds or an HTTP date, libcurl parses both) when
 * that is longer, capped at `retry_max_ms`. The first failure of a spell is
 * logged, then one line every 5 s with the count; the runtime shows the spell
 * (acrt_component_write_errors_total, acrt_component_write_blocked and the
 * built-in `sink_write_blocked` alert), as for a file sink's failing write.
 * Only a cancel (the drain's deadline, a second signal) ends the retries: the
 * batch is then counted unwritten (the run's summary, exit 3); with
 * `on_write_error: fail` the system stops once they have failed for
 * `write_error_timeout_ms` (exit 1), as for a file.
 *
 * Rejections. Another 4xx (or a 1xx/3xx) will not pass by retrying: each
 * event of the batch goes to the `dead_letter` port when the component has the
 * dead_letter capability, with the capability's headers (acrt-error ...) plus
 * acrt-http-status, acrt-http-body (the first 1 KiB of the response) and
 * acrt-idempotency-key; without it the events are counted unwritten and one
 * ERROR line names the status and body. Either way counters count it.
 *
 * Idempotency. Every request carries `Idempotency-Key:
 * NAME-REPLICA-EPOCH-FIRST-COUNT`: the component and replica, an epoch drawn at
 * random when a run starts fresh (so that two runs never share keys), the
 * position in the instance's input of the batch's first event and the batch's
 * event count. Retries resend the same bytes with the same key. A checkpoint
 * barrier sends the open batch and waits until everything before it is
 * delivered, then snapshots the epoch and the position; `--resume` restores
 * both, and the replayed input re-forms the batches cut by size at the same
 * positions with the same keys. A batch cut by max_ms, or by a barrier whose
 * checkpoint was not stored before a crash, may be cut elsewhere on replay: it
 * then carries another key (at-least-once; the key's positions let a receiver
 * deduplicate per event).
 *
 * The token of `token_file` is read once at setup (refused when the file is
 * open to its group or others), sent only in the Authorization header and never
 * logged; URLs are logged without their user-info.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "components/builtins.h"
#include "components/epochpos.h"
#include "components/http_sink.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "core/log.h"
#include "core/secret.h"
#include "runtime/ctx_query.h"

#define RESP_MAX 1024                   /* response bytes kept for logs and dead letters */
#define TOKEN_MAX 4096                  /* longest bearer token */
#define LOG_EVERY_NS (5 * 1000000000LL) /* a failing spell: one line per 5 s */

struct acrt__http_sink {
	CURL *curl;
	struct curl_slist *hdrs; /* Content-Type, the config's, Authorization */
	struct curl_slist *last; /* its last node: the key's node hangs there per request */
	char *url;
	char *shown; /* url without user-info, for logs */
	bool array;  /* format: json_array */
	size_t max_items, max_bytes;
	int64_t max_ns, retry_min_ns, retry_max_ns;
	bool give_up;       /* on_write_error: fail */
	bool holds_current; /* the open batch ends with the event process was given */
	int64_t give_up_ns; /* write_error_timeout_ms */
	/* The open batch: its body, its events (references, for dead letters),
	 * the position of its first event and when it opened. */
	acrt__jbuf body;
	acrt_event **evs;
	size_t n, cap;
	uint64_t first;
	int64_t opened_ns;
	/* Identity: the run's epoch and the input position of the next event. */
	uint64_t epoch, pos;
	uint64_t rng; /* xorshift64 state, for the jitter */
	/* The last response's first bytes (NUL-terminated). */
	char resp[RESP_MAX + 1];
	size_t resp_len;
	/* A failing spell (0: none), its last log line and failures since. */
	int64_t failing_ns, logged_ns;
	uint64_t unlogged;
	int64_t rejected_logged_ns;
	uint64_t rejected_unlogged;
};

/* ---- Config check --------------------------------------------------------- */

static bool
header_name_ok(const char *k)
{
	if (*k == '\0')
		return false;
	for (const char *p = k; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 127 || strchr("()<>@,;:\\\"/[]?={}", *p) != NULL)
			return false;
	return true;
}

int
acrt__http_sink_check(const json_t *config, const char **key, char *msg, size_t len)
{
	const char *url = json_string_value(json_object_get(config, "url"));
	if (url == NULL ||
	    (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)) {
		*key = url == NULL ? "sink" : "url";
		snprintf(msg, len, "'sink: http' needs 'url' (http://... or https://...)");
		return -1;
	}
	const char *fmt = json_string_value(json_object_get(config, "format"));
	if (fmt != NULL && strcmp(fmt, "ndjson") != 0 && strcmp(fmt, "json_array") != 0) {
		*key = "format";
		snprintf(msg, len, "'sink: http' takes 'format: ndjson' or 'format: json_array'");
		return -1;
	}
	bool token = json_object_get(config, "token_file") != NULL;
	if (json_object_get(config, "path") != NULL) {
		*key = "path";
		snprintf(msg, len, "'path' is for 'sink: file'");
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(config, "headers"), k, v)
	{
		*key = "headers";
		if (!header_name_ok(k)) {
			snprintf(msg, len, "header name '%s' is not an HTTP token", k);
			return -1;
		}
		const char *s = json_string_value(v);
		if (s == NULL || strpbrk(s, "\r\n") != NULL) {
			snprintf(msg, len, "header '%s' must be a string on one line", k);
			return -1;
		}
		static const char *const own[] = {"Idempotency-Key", "Content-Type",
		                                  "Content-Length", NULL};
		for (size_t i = 0; own[i] != NULL; i++)
			if (strcasecmp(k, own[i]) == 0) {
				snprintf(msg, len, "header '%s' is set by the sink", k);
				return -1;
			}
		if (token && strcasecmp(k, "Authorization") == 0) {
			snprintf(msg, len, "'Authorization' and 'token_file' both set it");
			return -1;
		}
	}
	return 0;
}

/* ---- Setup ---------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	acrt__http_sink *h = arg;
	size_t n = size * nmemb, room = RESP_MAX - h->resp_len;
	size_t k = n < room ? n : room;
	memcpy(h->resp + h->resp_len, p, k);
	h->resp_len += k;
	h->resp[h->resp_len] = '\0';
	return n;
}

/* The URL without "user:password@", for logs. */
static char *
url_shown(const char *url)
{
	const char *s = strstr(url, "://");
	char *out = acrt__strdup(url);
	if (out == NULL || s == NULL)
		return out;
	s += 3;
	const char *end = s + strcspn(s, "/?#");
	const char *at = memchr(s, '@', (size_t)(end - s));
	if (at != NULL)
		memmove(out + (s - url), at + 1, strlen(at + 1) + 1);
	return out;
}

static int
add_header(acrt__http_sink *h, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *line = acrt__malloc(n);
	if (line == NULL)
		return -1;
	snprintf(line, n, "%s: %s", name, value);
	struct curl_slist *l = curl_slist_append(h->hdrs, line);
	explicit_bzero(line, n); /* may be the token */
	acrt__free(line);
	if (l == NULL)
		return -1;
	h->hdrs = l;
	return 0;
}

/* Reads the bearer token of `token_file` into an Authorization header. */
static int
load_token(acrt_ctx *ctx, acrt__http_sink *h)
{
	if (json_object_get(acrt_config(ctx), "token_file") == NULL)
		return ACRT_OK;
	char *path = acrt__config_path(ctx, "token_file");
	if (path == NULL)
		return acrt_fail(ctx, "out of memory");
	unsigned mode = 0;
	char *tok = NULL;
	int rc = ACRT_ERR;
	int pr = acrt__secret_file_private(path, &mode);
	if (pr < 0) {
		acrt_fail(ctx, "cannot read token file %s: %s", path, strerror(errno));
		goto out;
	}
	if (pr > 0) {
		acrt_fail(ctx,
		          "token file %s is open to its group or others (mode %03o): chmod 600 it",
		          path, mode);
		goto out;
	}
	int r = acrt__secret_file_read(path, TOKEN_MAX, &tok);
	if (r != 0) {
		acrt_fail(ctx, "token file %s: %s", path,
		          r == -1 ? strerror(errno) : "must hold one token (1 to 4096 bytes)");
		goto out;
	}
	size_t tl = strlen(tok);
	char *val = acrt__malloc(tl + 8);
	if (val == NULL) {
		acrt_fail(ctx, "out of memory");
		goto out;
	}
	memcpy(val, "Bearer ", 7);
	memcpy(val + 7, tok, tl + 1);
	int ar = add_header(h, "Authorization", val);
	explicit_bzero(val, tl + 8);
	acrt__free(val);
	rc = ar == 0 ? ACRT_OK : acrt_fail(ctx, "out of memory");
out:
	if (tok != NULL) {
		explicit_bzero(tok, strlen(tok));
		free(tok); /* acrt__secret_file_read's */
	}
	acrt__free(path);
	return rc;
}

static int
setup_curl(acrt_ctx *ctx, acrt__http_sink *h)
{
	if ((h->curl = curl_easy_init()) == NULL)
		return acrt_fail(ctx, "libcurl failed to start");
	if (add_header(h, "Content-Type", h->array ? "application/json" : "application/x-ndjson") !=
	        0 ||
	    add_header(h, "Expect", "") != 0) /* no 100-continue round trip */
		return acrt_fail(ctx, "out of memory");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(acrt_config(ctx), "headers"), k, v)
	{
		if (add_header(h, k, json_string_value(v)) != 0)
			return acrt_fail(ctx, "out of memory");
	}
	int rc = load_token(ctx, h);
	if (rc != ACRT_OK)
		return rc;
	for (h->last = h->hdrs; h->last->next != NULL; h->last = h->last->next)
		;
	CURL *c = h->curl;
	CURLcode cr;
	if ((cr = curl_easy_setopt(c, CURLOPT_URL, h->url)) != CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_POST, 1L)) != CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs)) != CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                           (long)acrt_config_int(ctx, "connect_timeout_ms", 5000))) !=
	        CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	                           (long)acrt_config_int(ctx, "request_timeout_ms", 30000))) !=
	        CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_WRITEDATA, h)) != CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_USERAGENT, "acrt/" ACRT_VERSION_STRING)) !=
	        CURLE_OK ||
	    (cr = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK)
		return acrt_fail(ctx, "libcurl: %s", curl_easy_strerror(cr));
	if (json_object_get(acrt_config(ctx), "ca_file") != NULL) {
		char *ca = acrt__config_path(ctx, "ca_file");
		if (ca == NULL)
			return acrt_fail(ctx, "out of memory");
		cr = curl_easy_setopt(c, CURLOPT_CAINFO, ca); /* libcurl copies it */
		acrt__free(ca);
		if (cr != CURLE_OK)
			return acrt_fail(ctx, "ca_file: %s", curl_easy_strerror(cr));
	}
	return ACRT_OK;
}

int
acrt__http_sink_setup(acrt_ctx *ctx, acrt__http_sink **out)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return acrt_fail(ctx, "libcurl failed to start");
	acrt__http_sink *h = acrt__calloc(1, sizeof *h);
	if (h == NULL) {
		curl_global_cleanup();
		return acrt_fail(ctx, "out of memory");
	}
	acrt__jbuf_init(&h->body);
	int rc = ACRT_ERR;
	h->array = strcmp(acrt_config_string(ctx, "format", "ndjson"), "json_array") == 0;
	h->max_items = (size_t)acrt_config_int(ctx, "max_items", 500);
	h->max_bytes = (size_t)acrt_config_int(ctx, "max_bytes", 1 << 20);
	h->max_ns = acrt_config_int(ctx, "max_ms", 1000) * 1000000LL;
	h->retry_min_ns = acrt_config_int(ctx, "retry_initial_ms", 100) * 1000000LL;
	h->retry_max_ns = acrt_config_int(ctx, "retry_max_ms", 30000) * 1000000LL;
	h->give_up = strcmp(acrt_config_string(ctx, "on_write_error", "retry"), "fail") == 0;
	h->give_up_ns = acrt_config_int(ctx, "write_error_timeout_ms", 30000) * 1000000LL;
	if (h->retry_max_ns < h->retry_min_ns)
		h->retry_max_ns = h->retry_min_ns;
	if ((h->url = acrt__strdup(acrt_config_string(ctx, "url", ""))) == NULL ||
	    (h->shown = url_shown(h->url)) == NULL) {
		rc = acrt_fail(ctx, "out of memory");
		goto fail;
	}
	if (getrandom(&h->epoch, sizeof h->epoch, 0) != (ssize_t)sizeof h->epoch ||
	    getrandom(&h->rng, sizeof h->rng, 0) != (ssize_t)sizeof h->rng) {
		rc = acrt_fail(ctx, "getrandom: %s", strerror(errno));
		goto fail;
	}
	h->rng |= 1; /* xorshift needs a non-zero state */
	if ((rc = setup_curl(ctx, h)) != ACRT_OK)
		goto fail;
	*out = h;
	return ACRT_OK;
fail:
	acrt__http_sink_cleanup(ctx, h);
	return rc;
}

/* ---- Sending -------------------------------------------------------------- */

/* Drops the open batch's events (delivered, rejected or given up). */
static void
batch_clear(acrt__http_sink *h)
{
	for (size_t i = 0; i < h->n; i++)
		acrt_event_unref(h->evs[i]);
	h->n = 0;
	h->body.len = 0;
	h->body.ok = 1;
}

/* One POST of the batch. Returns the HTTP status, or 0 with *why set for a
 * failure without one (refused, timed out); *retry_after_s from the response. */
static long
post(acrt__http_sink *h, const char *key_hdr, long *retry_after_s, const char **why)
{
	struct curl_slist node = {(char *)key_hdr, NULL};
	h->last->next = &node; /* the fixed headers, then this batch's key */
	h->resp_len = 0;
	h->resp[0] = '\0';
	CURLcode rc = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, h->body.p);
	if (rc == CURLE_OK)
		rc =
		    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body.len);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h->curl);
	h->last->next = NULL;
	long code = 0;
	curl_off_t ra = 0;
	*retry_after_s = 0;
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code == 0) {
		*why = rc != CURLE_OK ? curl_easy_strerror(rc) : "no HTTP status";
		return 0;
	}
	if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		*retry_after_s = ra > 86400 ? 86400 : (long)ra;
	return code;
}

/* The wait before attempt k+1 (k >= 1 failures so far). */
static int64_t
backoff_ns(acrt__http_sink *h, int k, long retry_after_s)
{
	int64_t b = h->retry_min_ns;
	for (int i = 1; i < k && b < h->retry_max_ns; i++)
		b *= 2;
	if (b > h->retry_max_ns)
		b = h->retry_max_ns;
	h->rng ^= h->rng << 13; /* xorshift64 */
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	int64_t w = b / 2 + (int64_t)(h->rng % (uint64_t)(b / 2 + 1));
	int64_t ra = (int64_t)retry_after_s * 1000000000LL;
	if (ra > w)
		w = ra < h->retry_max_ns ? ra : h->retry_max_ns;
	return w;
}

/* A retryable failure: counts it, shows the spell, logs it rate-limited. */
static void
note_failure(acrt_ctx *ctx, acrt__http_sink *h, long code, const char *why, const char *key,
             int64_t wait_ns)
{
	int64_t now = acrt__mono_ns();
	acrt_count(ctx, "http_retries", 1);
	acrt_count(ctx,
	           code == 0     ? "http_network_errors"
	           : code == 429 ? "http_429"
	                         : "http_5xx",
	           1);
	acrt__ctx_write_state(ctx, true);
	char what[64];
	if (code != 0)
		snprintf(what, sizeof what, "HTTP %ld", code);
	if (h->failing_ns == 0) {
		h->failing_ns = now;
		h->logged_ns = now;
		h->unlogged = 0;
		acrt_log(ctx, ACRT_LOG_WARN,
		         "POST %s failed: %s; retrying batch %s (%zu events) in %lld ms, its input "
		         "waits",
		         h->shown, code != 0 ? what : why, key, h->n,
		         (long long)(wait_ns / 1000000));
	} else if (now - h->logged_ns >= LOG_EVERY_NS) {
		acrt_log(ctx, ACRT_LOG_WARN,
		         "POST %s still failing after %lld ms: %s; %" PRIu64
		         " more failed attempts; retrying in %lld ms",
		         h->shown, (long long)((now - h->failing_ns) / 1000000),
		         code != 0 ? what : why, h->unlogged + 1, (long long)(wait_ns / 1000000));
		h->logged_ns = now;
		h->unlogged = 0;
	} else {
		h->unlogged++;
	}
}

static void
spell_over(acrt_ctx *ctx, acrt__http_sink *h)
{
	if (h->failing_ns == 0)
		return;
	acrt_log(ctx, ACRT_LOG_INFO, "POST %s goes through again after %lld ms", h->shown,
	         (long long)((acrt__mono_ns() - h->failing_ns) / 1000000));
	h->failing_ns = 0;
	acrt__ctx_write_state(ctx, false);
}

/* One event of a rejected batch as a dead letter (dead_letter.c's headers),
 * or NULL on out of memory. */
static acrt_event *
letter(acrt_ctx *ctx, acrt__http_sink *h, acrt_event *ev, long code, const char *key,
       const char *why)
{
	size_t len;
	const void *d = acrt_event_data(ev, &len);
	acrt_event *dl =
	    d != NULL ? acrt_event_new(ctx, d, len, acrt_event_content_type(ev)) : NULL;
	if (dl == NULL)
		return NULL;
	char num[32], at[40];
	int r = ACRT_OK;
	for (uint32_t i = 0; i < ev->n_headers && r == ACRT_OK; i++)
		r = acrt_event_set_header(dl, ev->headers[i].key, ev->headers[i].value);
	const struct {
		const char *k, *v;
	} add[] = {{"acrt-error", why},
	           {"acrt-error-code", acrt_strerror(ACRT_ERR)},
	           {"acrt-component", acrt_name(ctx)},
	           {"acrt-capability", "component"},
	           {"acrt-http-body", h->resp},
	           {"acrt-idempotency-key", key}};
	for (size_t i = 0; i < sizeof add / sizeof add[0] && r == ACRT_OK; i++)
		r = acrt_event_set_header(dl, add[i].k, add[i].v);
	snprintf(num, sizeof num, "%ld", code);
	if (r == ACRT_OK)
		r = acrt_event_set_header(dl, "acrt-http-status", num);
	snprintf(num, sizeof num, "%" PRIu64, acrt_event_id(ev));
	if (r == ACRT_OK)
		r = acrt_event_set_header(dl, "acrt-original-event-id", num);
	acrt__log_time_rfc3339(at, sizeof at);
	if (r == ACRT_OK)
		r = acrt_event_set_header(dl, "acrt-failed-at", at);
	if (r != ACRT_OK) {
		acrt_event_unref(dl);
		return NULL;
	}
	return dl;
}

/* The receiver refused the batch (a 4xx but 408/429, or a 1xx/3xx): its
 * events go to the dead letter port, or are counted unwritten. */
static int
rejected(acrt_ctx *ctx, acrt__http_sink *h, long code, const char *key)
{
	char why[RESP_MAX + 128];
	/* The body as one line of text for headers and logs. */
	for (size_t i = 0; i < h->resp_len; i++)
		if (h->resp[i] == '\r' || h->resp[i] == '\n' || h->resp[i] == '\0')
			h->resp[i] = ' ';
	snprintf(why, sizeof why, "POST %s: HTTP %ld: %s", h->shown, code, h->resp);
	acrt_count(ctx, "http_rejected_batches", 1);
	acrt_count(ctx, "http_rejected_events", h->n);
	size_t lost = 0, i = 0;
	int rc = ACRT_OK;
	for (; i < h->n && rc == ACRT_OK; i++) {
		acrt_event *dl = letter(ctx, h, h->evs[i], code, key, why);
		if (dl == NULL) {
			lost++;
			continue;
		}
		int er = acrt_emit(ctx, "dead_letter", dl);
		if (er == ACRT_OK && acrt__ctx_output_bound(ctx, "dead_letter"))
			acrt__ctx_diverted(ctx);
		else if (er == ACRT_OK || er == ACRT_ENOENT)
			lost++; /* no dead letter (or not bound): dropped */
		else
			rc = er; /* cancelled: this one and the rest are not sent */
	}
	if (rc != ACRT_OK)
		lost += h->n - i + 1;
	if (lost > 0)
		acrt__ctx_unwritten(ctx, lost);
	/* One line per 5 s at most (a receiver refusing everything). */
	int64_t now = acrt__mono_ns();
	if (h->rejected_logged_ns != 0 && now - h->rejected_logged_ns < LOG_EVERY_NS) {
		h->rejected_unlogged++;
	} else if (lost > 0) {
		acrt_log(ctx, ACRT_LOG_ERROR,
		         "%s; batch %s: %zu event(s) not delivered (no dead letter); %" PRIu64
		         " rejected batch(es) before it not logged",
		         why, key, lost, h->rejected_unlogged);
		h->rejected_logged_ns = now;
		h->rejected_unlogged = 0;
	} else {
		acrt_log(ctx, ACRT_LOG_WARN,
		         "%s; batch %s: %zu event(s) to the dead letter; %" PRIu64
		         " rejected batch(es) before it not logged",
		         why, key, h->n, h->rejected_unlogged);
		h->rejected_logged_ns = now;
		h->rejected_unlogged = 0;
	}
	return rc;
}

/* Sends the open batch until it is delivered or rejected. ACRT_OK, or
 * ACRT_ECANCELED (its events counted unwritten), or ACRT_EFATAL. */
static int
send_batch(acrt_ctx *ctx, acrt__http_sink *h)
{
	if (h->n == 0)
		return ACRT_OK;
	if (h->array)
		acrt__jbuf_putc(&h->body, ']');
	if (!h->body.ok) {
		acrt__ctx_unwritten(ctx, h->n);
		batch_clear(h);
		return acrt_fail(ctx, "out of memory");
	}
	char key[256], key_hdr[300];
	snprintf(key, sizeof key, "%s-%d-%016" PRIx64 "-%" PRIu64 "-%zu", acrt_name(ctx),
	         acrt_replica(ctx), h->epoch, h->first, h->n);
	snprintf(key_hdr, sizeof key_hdr, "Idempotency-Key: %s", key);
	int rc = ACRT_OK;
	for (int k = 1;; k++) {
		long ra = 0;
		const char *why = NULL;
		long code = post(h, key_hdr, &ra, &why);
		if (code >= 200 && code < 300) {
			spell_over(ctx, h);
			acrt_count(ctx, "http_batches", 1);
			acrt_count(ctx, "http_events", h->n);
			break;
		}
		if (code != 0 && code != 408 && code != 429 && code < 500) {
			spell_over(ctx, h); /* the receiver answers */
			rc = rejected(ctx, h, code, key);
			break;
		}
		int64_t wait = backoff_ns(h, k, ra);
		note_failure(ctx, h, code, why, key, wait);
		if (h->give_up && acrt__mono_ns() - h->failing_ns >= h->give_up_ns) {
			/* The runtime counts the event being processed as failed. */
			acrt__ctx_unwritten(ctx, h->n - (h->holds_current ? 1 : 0));
			acrt_fail(ctx,
			          "POST %s failing for %lld ms (on_write_error: fail): batch %s "
			          "(%zu events) not delivered",
			          h->shown,
			          (long long)((acrt__mono_ns() - h->failing_ns) / 1000000), key,
			          h->n);
			rc = ACRT_EFATAL;
			break;
		}
		if (acrt__ctx_pause_until(ctx, acrt__mono_ns() + wait) != ACRT_OK) {
			acrt__ctx_unwritten(ctx, h->n);
			acrt_log(ctx, ACRT_LOG_WARN,
			         "cancelled while retrying: batch %s (%zu events) not delivered",
			         key, h->n);
			rc = ACRT_ECANCELED;
			break;
		}
	}
	batch_clear(h);
	return rc;
}

/* ---- The Sink's hooks ----------------------------------------------------- */

int
acrt__http_sink_process(acrt_ctx *ctx, acrt__http_sink *h, acrt_event *ev)
{
	uint64_t at = h->pos++;
	size_t len;
	const char *d = acrt_event_data(ev, &len);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	const char *ct = acrt_event_content_type(ev);
	if (ct != NULL && strstr(ct, "json") == NULL)
		return acrt_fail(ctx, "the event is %s, not JSON: an http sink sends JSON", ct);
	int rc;
	if (h->n > 0 && h->body.len + len + 2 > h->max_bytes &&
	    (rc = send_batch(ctx, h)) != ACRT_OK)
		return rc;
	if (h->n == h->cap) {
		size_t nc = h->cap == 0 ? 64 : h->cap * 2;
		acrt_event **ne = acrt__realloc(h->evs, nc * sizeof *ne);
		if (ne == NULL)
			return acrt_fail(ctx, "out of memory");
		h->evs = ne;
		h->cap = nc;
	}
	int64_t now = acrt__mono_ns();
	if (h->n == 0) {
		h->first = at;
		h->opened_ns = now;
	}
	if (h->array)
		acrt__jbuf_putc(&h->body, h->n == 0 ? '[' : ',');
	acrt__jbuf_put(&h->body, d, len);
	if (!h->array)
		acrt__jbuf_putc(&h->body, '\n');
	h->evs[h->n++] = acrt_event_ref(ev);
	h->holds_current = true;
	/* Size cuts fall on multiples of max_items in the input, so that a replay
	 * from any checkpoint cuts (and keys) its batches as the first run did. */
	if (h->pos % h->max_items == 0 || h->body.len >= h->max_bytes ||
	    now - h->opened_ns >= h->max_ns)
		rc = send_batch(ctx, h);
	else
		rc = ACRT_OK;
	h->holds_current = false;
	return rc;
}

int
acrt__http_sink_idle(acrt_ctx *ctx, acrt__http_sink *h)
{
	if (h->n == 0)
		return ACRT_OK;
	int64_t due = h->opened_ns + h->max_ns;
	if (acrt__mono_ns() < due && acrt__ctx_wake_at(ctx, due))
		return ACRT_OK; /* held until max_ms, unless input comes first */
	return send_batch(ctx, h);
}

int
acrt__http_sink_flush(acrt_ctx *ctx, acrt__http_sink *h)
{
	return send_batch(ctx, h);
}

/* Snapshot: 1 byte version, the epoch and the position (8 bytes each, little
 * endian), taken once everything before the barrier is delivered. */
int
acrt__http_sink_snapshot(acrt_ctx *ctx, acrt__http_sink *h, void **buf, size_t *len)
{
	int rc = send_batch(ctx, h);
	return rc != ACRT_OK ? rc : acrt__epochpos_snapshot(ctx, h->epoch, h->pos, buf, len);
}

int
acrt__http_sink_restore(acrt_ctx *ctx, acrt__http_sink *h, const void *buf, size_t len)
{
	return acrt__epochpos_restore(ctx, "an http sink", buf, len, &h->epoch, &h->pos);
}

void
acrt__http_sink_cleanup(acrt_ctx *ctx, acrt__http_sink *h)
{
	if (h == NULL)
		return;
	if (h->n > 0) { /* normally empty: finish sent it; cancelled otherwise */
		acrt__ctx_unwritten(ctx, h->n);
		batch_clear(h);
	}
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdrs);
	acrt__jbuf_free(&h->body);
	acrt__free(h->evs);
	acrt__free(h->url);
	acrt__free(h->shown);
	acrt__free(h);
	curl_global_cleanup();
}
