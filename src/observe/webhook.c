/*
 * webhook.c - delivery of alert notifications to `runtime.alert_webhook` in
 * the Alertmanager v2 JSON shape, with libcurl, from a thread of its own
 * (`acrt-webhook`) fed by a bounded queue: when the queue is full the oldest
 * payload is dropped and counted, and each batch is retried with exponential
 * backoff. Neither the pipeline nor the supervising thread ever waits on the
 * network. Started only when a webhook is configured; joined at stop.
 */
#include "observe/webhook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/log.h"
#include "core/waitq.h"

#define QUEUE_CAP 256              /* webhook payloads waiting */
#define SEND_ATTEMPTS 5            /* per batch: 100 ms, 200, 400, 800 between */
#define BACKOFF_MIN_NS 100000000LL /* 100 ms */
#define BACKOFF_MAX_NS 5000000000LL

struct acrt__webhook {
	char *url;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	json_t *q[QUEUE_CAP]; /* ring of alert objects */
	size_t head, n;
	uint64_t dropped; /* since last reported */
	bool stop;
};

void
acrt__webhook_push(acrt__webhook *wh, json_t *alert)
{
	pthread_mutex_lock(&wh->mu);
	if (wh->n == QUEUE_CAP) { /* drop the oldest */
		json_decref(wh->q[wh->head]);
		wh->head = (wh->head + 1) % QUEUE_CAP;
		wh->n--;
		wh->dropped++;
	}
	wh->q[(wh->head + wh->n) % QUEUE_CAP] = alert;
	wh->n++;
	pthread_cond_signal(&wh->cv);
	pthread_mutex_unlock(&wh->mu);
}

static size_t
discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

/* One POST; returns the HTTP status (2xx = delivered), or -1 with *err set. */
static long
wh_post(CURL *h, const char *url, const char *body, bool final, const char **err)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, final ? 2000L : 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "acrt/" ACRT_VERSION_STRING);
	CURLcode rc = curl_easy_perform(h);
	long code = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	else
		*err = curl_easy_strerror(rc);
	curl_slist_free_all(hdr);
	return code;
}

/* Delivers one batch with retries; gives up early once stopping. */
static void
wh_deliver(acrt__webhook *wh, CURL *h, json_t *batch)
{
	/* Our allocator, not jansson's (the runtime replaces it); curl only reads it. */
	size_t blen = json_dumpb(batch, NULL, 0, JSON_COMPACT);
	char *body = blen > 0 ? acrt__malloc(blen + 1) : NULL;
	if (body == NULL) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "alert webhook: out of memory, %zu alert(s) dropped",
		          json_array_size(batch));
		return;
	}
	json_dumpb(batch, body, blen, JSON_COMPACT);
	body[blen] = '\0';
	int64_t backoff = BACKOFF_MIN_NS;
	for (int attempt = 1;; attempt++) {
		pthread_mutex_lock(&wh->mu);
		bool final = wh->stop;
		pthread_mutex_unlock(&wh->mu);
		const char *err = NULL;
		long code = wh_post(h, wh->url, body, final, &err);
		if (code >= 200 && code < 300)
			break;
		char why[128];
		if (code >= 0)
			snprintf(why, sizeof why, "HTTP %ld", code);
		else
			snprintf(why, sizeof why, "%s", err ? err : "error");
		if (attempt >= SEND_ATTEMPTS || final) {
			json_t *x = json_pack("{s:s,s:i,s:I}", "error", why, "attempts", attempt,
			                      "alerts", (json_int_t)json_array_size(batch));
			acrt__log(ACRT_LOG_WARN, NULL, 0, x,
			          "alert webhook: delivery failed after %d attempt(s): %s; dropped",
			          attempt, why);
			json_decref(x);
			break;
		}
		acrt__log(ACRT_LOG_DEBUG, NULL, 0, NULL,
		          "alert webhook: attempt %d failed (%s); retrying in %lld ms", attempt,
		          why, (long long)(backoff / 1000000));
		int64_t until = acrt__mono_ns() + backoff;
		pthread_mutex_lock(&wh->mu);
		while (!wh->stop && acrt__mono_ns() < until)
			acrt__cond_wait_until(&wh->cv, &wh->mu, until);
		pthread_mutex_unlock(&wh->mu);
		backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
	}
	acrt__free(body);
}

static void *
wh_main(void *arg)
{
	acrt__webhook *wh = arg;
	CURL *h = curl_easy_init();
	pthread_mutex_lock(&wh->mu);
	for (;;) {
		while (wh->n == 0 && !wh->stop)
			pthread_cond_wait(&wh->cv, &wh->mu);
		if (wh->n == 0)
			break; /* stopping, nothing left */
		json_t *batch = json_array();
		while (wh->n > 0) {
			json_array_append_new(batch, wh->q[wh->head]);
			wh->head = (wh->head + 1) % QUEUE_CAP;
			wh->n--;
		}
		uint64_t dropped = wh->dropped;
		wh->dropped = 0;
		pthread_mutex_unlock(&wh->mu);
		if (dropped > 0)
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
			          "alert webhook: queue full, %llu alert(s) dropped",
			          (unsigned long long)dropped);
		if (h != NULL)
			wh_deliver(wh, h, batch);
		json_decref(batch);
		pthread_mutex_lock(&wh->mu);
	}
	pthread_mutex_unlock(&wh->mu);
	if (h != NULL)
		curl_easy_cleanup(h);
	return NULL;
}

acrt__webhook *
acrt__webhook_start(const char *url)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "alert webhook: libcurl failed to start");
		return NULL;
	}
	acrt__webhook *wh = acrt__calloc(1, sizeof *wh);
	if (wh == NULL || (wh->url = acrt__strdup(url)) == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "alert webhook: out of memory");
		acrt__free(wh);
		curl_global_cleanup();
		return NULL;
	}
	pthread_mutex_init(&wh->mu, NULL);
	acrt__cond_init_mono(&wh->cv);
	if (pthread_create(&wh->th, NULL, wh_main, wh) != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "alert webhook: cannot start its thread");
		pthread_cond_destroy(&wh->cv);
		pthread_mutex_destroy(&wh->mu);
		acrt__free(wh->url);
		acrt__free(wh);
		curl_global_cleanup();
		return NULL;
	}
	pthread_setname_np(wh->th, "acrt-webhook");
	return wh;
}

void
acrt__webhook_stop(acrt__webhook *wh)
{
	if (wh == NULL)
		return;
	pthread_mutex_lock(&wh->mu);
	wh->stop = true;
	pthread_cond_broadcast(&wh->cv);
	pthread_mutex_unlock(&wh->mu);
	pthread_join(wh->th, NULL);
	for (size_t i = 0; i < wh->n; i++)
		json_decref(wh->q[(wh->head + i) % QUEUE_CAP]);
	pthread_cond_destroy(&wh->cv);
	pthread_mutex_destroy(&wh->mu);
	acrt__free(wh->url);
	acrt__free(wh);
	curl_global_cleanup();
}
