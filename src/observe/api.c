/*
 * api.c - see api.h. Routes, auth and limits are described in docs/API.md.
 */
#include "observe/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"
#include "core/httpd.h"
#include "core/log.h"
#include "observe/alerts.h"
#include "observe/console.h" /* the web console at /ui */
#include "observe/metrics.h"
#include "observe/tap.h" /* acrt tap */

#include "checkpoint/checkpoint.h"
#include "observe/api_int.h"
#include "reload/reload.h"

/* ---- Requests ------------------------------------------------------------- */

typedef enum { AUTH_NONE, AUTH_READ, AUTH_WRITE } auth_level;

/* Constant time: digests of fixed length compared with CRYPTO_memcmp, both
 * tokens always checked. */
static auth_level
authenticate(acrt__api *api, struct MHD_Connection *c)
{
	unsigned char d[ACRT__BEARER_DIGEST];
	if (!acrt__bearer_digest(
	        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), d))
		return AUTH_NONE;
	int w = CRYPTO_memcmp(d, api->write.digest, sizeof d) == 0;
	int r = CRYPTO_memcmp(d, api->read.digest, sizeof d) == 0;
	return w ? AUTH_WRITE : r ? AUTH_READ : AUTH_NONE;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *ctype, const char *body, size_t len,
      enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free((void *)body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define JSON_TYPE "application/json"

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "{\"error\":\"%s\"}\n", msg);
	return reply(c, status, JSON_TYPE, buf, (size_t)n, MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	if (v == NULL)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	size_t n = strlen(s);
	s[n] = '\0';
	/* jansson's memory is not malloc's: MHD copies it. */
	struct MHD_Response *r = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_COPY);
	void (*jfree)(void *);
	json_malloc_t jmalloc;
	json_get_alloc_funcs(&jmalloc, &jfree);
	jfree(s);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_405(struct MHD_Connection *c, const char *allow)
{
	static const char body[] = "{\"error\":\"method not allowed\"}\n";
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

static bool
is_write_path(const char *url)
{
	return strcmp(url, "/api/v1/checkpoints") == 0 || strcmp(url, "/api/v1/reload") == 0;
}

static enum MHD_Result
serve_get(acrt__api *api, struct MHD_Connection *c, const char *url)
{
	acrt__runtime *rt = api->rt;
	if (strcmp(url, "/healthz") == 0)
		return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3,
		             MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/readyz") == 0) {
		bool ready;
		json_t *v = acrt__metrics_readiness(rt, &ready);
		return reply_json(c, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, v);
	}
	if (strcmp(url, "/metrics") == 0) {
		int64_t now = acrt__mono_ns();
		if (api->metrics == NULL || now - api->metrics_at >= METRICS_TTL_NS) {
			size_t len = 0;
			char *text = acrt__metrics_text(rt, &len);
			struct MHD_Response *r =
			    text != NULL
			        ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)
			        : NULL;
			if (r == NULL) {
				free(text);
				return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				                   "out of memory");
			}
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
			                        "text/plain; version=0.0.4; charset=utf-8");
			MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
			if (api->metrics != NULL)
				MHD_destroy_response(
				    api->metrics); /* freed once its sends finish */
			api->metrics = r;
			api->metrics_at = now;
		}
		return MHD_queue_response(c, MHD_HTTP_OK, api->metrics);
	}
	if (strcmp(url, "/api/v1/system") == 0)
		return reply_json(c, MHD_HTTP_OK, acrt__metrics_system(rt));
	if (strncmp(url, "/api/v1/components/", 19) == 0 && url[19] != '\0') {
		json_t *v = acrt__metrics_component(rt, url + 19);
		if (v == NULL)
			return reply_error(c, MHD_HTTP_NOT_FOUND, "no such component");
		return reply_json(c, MHD_HTTP_OK, v);
	}
	if (strcmp(url, "/api/v1/graph") == 0) /* console.c */
		return reply_json(c, MHD_HTTP_OK, acrt__console_graph(rt));
	if (strcmp(url, "/api/v1/alerts") == 0) /* alerts.c */
		return reply_json(c, MHD_HTTP_OK, acrt__alerts_api_json(rt));
	if (strcmp(url, "/api/v1/checkpoints") == 0) /* checkpoint.c */
		return reply_json(c, MHD_HTTP_OK, acrt__ckpt_json(rt));
	if (strcmp(url, "/api/v1/reload") == 0)
		return reply_405(c, "POST");
	return reply_error(c, MHD_HTTP_NOT_FOUND, "no such route");
}

/* GET /api/v1/components/{name}/config: a component's config (console.c).
 * Write token only: a config may hold a secret from ${VAR}. */
#define CONFIG_SUFFIX "/config"

static bool
config_path(const char *url)
{
	size_t n = strlen(url), sn = strlen(CONFIG_SUFFIX);
	return strncmp(url, "/api/v1/components/", 19) == 0 && n > 19 + sn &&
	       strcmp(url + n - sn, CONFIG_SUFFIX) == 0;
}

static enum MHD_Result
serve_config(acrt__api *api, struct MHD_Connection *c, const char *url, bool write)
{
	if (!write)
		return reply_error(c, MHD_HTTP_FORBIDDEN, "this route needs the write token");
	char name[256];
	size_t n = strlen(url) - 19 - strlen(CONFIG_SUFFIX);
	if (n >= sizeof name)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such component");
	memcpy(name, url + 19, n);
	name[n] = '\0';
	json_t *v = acrt__console_config(api->rt, name);
	if (v == NULL)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such component");
	return reply_json(c, MHD_HTTP_OK, v);
}

/* POST /api/v1/checkpoints: a checkpoint at the next tick of this thread.
 * 202 {"after": ID}: the new one's id will be greater than ID. */
static enum MHD_Result
post_checkpoint(acrt__api *api, struct MHD_Connection *c)
{
	int64_t last = acrt__ckpt_request(api->rt);
	if (last < 0)
		return reply_error(c, MHD_HTTP_CONFLICT,
		                   "checkpoints are off: runtime.state is not configured");
	return reply_json(c, MHD_HTTP_ACCEPTED,
	                  json_pack("{s:b,s:I}", "requested", 1, "after", (json_int_t)last));
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	acrt__api *api = cls;
	/* Every response is queued on the first call, before any body is read:
	 * no route takes a body yet, so a body is never buffered. */
	if (*con_cls != NULL) { /* body bytes after the response: discard */
		*upload_data_size = 0;
		return MHD_YES;
	}
	*con_cls = api;
	if (api->verify_client && !acrt__api_client_verified(c))
		return reply_error(
		    c, MHD_HTTP_FORBIDDEN,
		    "a client certificate signed by runtime.api.tls.client_ca is required");
	/* The console's static pages carry no data: no token (console.h). */
	if (acrt__console_is_ui(url))
		return acrt__console_serve(c, url, method) == MHD_YES ? MHD_YES : MHD_NO;
	auth_level who = authenticate(api, c);
	if (who == AUTH_NONE)
		return reply_error(c, MHD_HTTP_UNAUTHORIZED, "a valid bearer token is required");
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > API_MAX_BODY)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over 65536 bytes");
	/* No route takes a body, and a chunked one has no length to check
	 * against the limit before it is answered: refused (issue 17). */
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) !=
	    NULL)
		return reply_error(c, MHD_HTTP_LENGTH_REQUIRED,
		                   "the API takes no chunked request body (send Content-Length)");
	if (strcmp(url, ACRT__TAP_PATH) == 0) { /* acrt tap: shows payloads */
		if (who != AUTH_WRITE)
			return reply_error(c, MHD_HTTP_FORBIDDEN,
			                   "this route needs the write token");
		acrt__http_guard_exempt(c); /* a stream meant to last: no deadline */
		return acrt__tap_serve(api->rt, c, method) == MHD_YES ? MHD_YES : MHD_NO;
	}
	bool get =
	    strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (get && config_path(url))
		return serve_config(api, c, url, who == AUTH_WRITE);
	if (get)
		return serve_get(api, c, url);
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 && is_write_path(url)) {
		if (who != AUTH_WRITE)
			return reply_error(c, MHD_HTTP_FORBIDDEN,
			                   "this route needs the write token");
		if (strcmp(url, "/api/v1/checkpoints") == 0) /* a checkpoint now */
			return post_checkpoint(api, c);
		if (strcmp(url, "/api/v1/reload") == 0) { /* hot reload */
			acrt__reload_request(api->rt, "api");
			return reply_json(c, MHD_HTTP_ACCEPTED,
			                  json_pack("{s:b,s:s}", "requested", 1, "status",
			                            "GET /api/v1/system .reload"));
		}
		return reply_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not implemented in this release");
	}
	if (strcmp(url, "/api/v1/checkpoints") == 0)
		return reply_405(c, "GET, HEAD, POST");
	if (strcmp(url, "/api/v1/reload") == 0)
		return reply_405(c, "POST");
	return reply_405(c, "GET, HEAD");
}

/* A request ended: the next one on this connection gets a full deadline. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con_cls;
	(void)toe;
	acrt__http_guard_next(c);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	acrt__log(ACRT_LOG_DEBUG, NULL, 0, NULL, "api: libmicrohttpd: %s", buf);
}

/* ---- Start and stop --------------------------------------------------------- */

void
acrt__api_stop(acrt__api *api)
{
	if (api == NULL)
		return;
	if (api->d != NULL) {
		acrt__tap_shutdown(api->rt, api->d); /* no suspended stream may remain */
		MHD_stop_daemon(api->d);             /* closes the listening socket too */
	}
	acrt__http_guard_free(api->guard); /* every connection reported closed */
	acrt__tap_free(api->rt);
	if (api->metrics != NULL)
		MHD_destroy_response(api->metrics);
	acrt__api_free_secret(&api->tls_key);
	acrt__free(api->tls_cert);
	acrt__free(api->tls_ca);
	acrt__api_addr_remove(api);
	acrt__api_token_forget(&api->read);
	acrt__api_token_forget(&api->write);
	if (api->token_dir != NULL)
		(void)rmdir(api->token_dir); /* only when empty */
	acrt__free(api->token_dir);
	acrt__free(api);
}

int
acrt__api_start(acrt__runtime *rt, acrt__api **out)
{
	*out = NULL;
	const acrt__blueprint *bp = acrt__q_blueprint(rt);
	bool explicit_listen = bp->api.listen != NULL;
	const char *listen_s = explicit_listen ? bp->api.listen : ACRT__API_DEFAULT_LISTEN;
	char host[256], port[16];
	if (acrt__listen_split(listen_s, host, sizeof host, port, sizeof port) != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "api: runtime.api.listen '%s' is not HOST:PORT", listen_s);
		return -1;
	}

	acrt__api *api = acrt__calloc(1, sizeof *api);
	if (api == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: out of memory");
		return -1;
	}
	api->rt = rt;
	api->epoll_fd = -1;
	if (acrt__api_load_tokens(api) != 0 || acrt__api_load_tls(api) != 0) {
		acrt__api_stop(api);
		return -1;
	}

	struct sockaddr_storage bound;
	int fd = acrt__listen_bind(host, port, &bound);
	if (fd < 0 && !explicit_listen) {
		int err = errno;
		fd = acrt__listen_bind(host, "0", &bound);
		if (fd >= 0) {
			char addr[80];
			acrt__listen_format(&bound, addr, sizeof addr);
			acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
			          "api: cannot listen on the default %s (%s); using %s instead",
			          ACRT__API_DEFAULT_LISTEN, strerror(err), addr);
		}
	}
	if (fd < 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: cannot listen on %s: %s", listen_s,
		          strerror(errno));
		acrt__api_stop(api);
		return -1;
	}

	unsigned limit = acrt__http_connection_limit();
	api->guard = acrt__http_guard_new((int64_t)ACRT__HTTP_DEADLINE_S * 1000000000, NULL);
	if (api->guard == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: out of memory");
		close(fd);
		acrt__api_stop(api);
		return -1;
	}
	/* TLS (GnuTLS inside libmicrohttpd): the PEM buffers stay alive until stop. */
	struct MHD_OptionItem tls_opts[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, api->tls_key},
	    {api->tls_ca != NULL ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, api->tls_ca},
	    {MHD_OPTION_END, 0, NULL},
	};
	bool tls = api->tls_cert != NULL;
	if (!tls)
		tls_opts[0].option = MHD_OPTION_END;
	api->d = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
	        (tls ? MHD_USE_TLS : 0),
	    0, NULL, NULL, on_request, api, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_LISTEN_SOCKET,
	    fd, MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)ACRT__HTTP_PER_CLIENT_API, MHD_OPTION_NOTIFY_CONNECTION,
	    acrt__http_guard_notify, api->guard, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_log, NULL, MHD_OPTION_END);
	if (api->d == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: libmicrohttpd did not start%s",
		          tls ? " (are runtime.api.tls cert and key a valid PEM pair?)" : "");
		close(fd);
		acrt__api_stop(api);
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(api->d, MHD_DAEMON_INFO_EPOLL_FD);
	api->epoll_fd = di != NULL ? di->epoll_fd : -1;
	if (api->epoll_fd < 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: libmicrohttpd has no epoll fd");
		acrt__api_stop(api);
		return -1;
	}
	char addr[80], url[96];
	acrt__listen_format(&bound, addr, sizeof addr);
	snprintf(url, sizeof url, "%s://%s", tls ? "https" : "http", addr);
	json_t *extra = json_pack(
	    "{s:s,s:i,s:i,s:i,s:b,s:b}", "api_address", addr, "api_connection_limit", limit,
	    "api_client_connection_limit", ACRT__HTTP_PER_CLIENT_API, "api_request_deadline_s",
	    ACRT__HTTP_DEADLINE_S, "api_tls", tls, "api_client_certificates", api->verify_client);
	acrt__log(ACRT_LOG_INFO, NULL, 0, extra, "api listening on %s", url);
	json_decref(extra);
	acrt__api_addr_write(api, url);
	*out = api;
	return 0;
}

int
acrt__api_fd(const acrt__api *api)
{
	return api != NULL ? api->epoll_fd : -1;
}

int
acrt__api_timeout_ms(const acrt__api *api)
{
	if (api == NULL)
		return -1;
	MHD_UNSIGNED_LONG_LONG ms;
	int tap_ms = acrt__tap_timeout_ms(api->rt); /* a streaming tap needs a tick */
	int64_t guard_ns = acrt__http_guard_sweep(api->guard, acrt__mono_ns());
	int t = -1;
	if (MHD_get_timeout(api->d, &ms) == MHD_YES)
		t = ms > 60000 ? 60000 : (int)ms;
	if (guard_ns != ACRT__FOREVER) { /* the next request deadline, rounded up */
		int64_t g = guard_ns / 1000000 + 1;
		if (t < 0 || g < t)
			t = g > 60000 ? 60000 : (int)g;
	}
	return tap_ms >= 0 && (t < 0 || tap_ms < t) ? tap_ms : t;
}

/* Reports the connections cut at their deadline, at most every 10 s. */
static void
log_expired(acrt__api *api, int64_t now)
{
	uint64_t n = acrt__http_guard_expired(api->guard);
	if (n == api->expired_logged || now - api->expired_log_at < 10000000000LL)
		return;
	json_t *extra = json_pack("{s:I}", "api_connections_timed_out", (json_int_t)n);
	acrt__log(ACRT_LOG_WARN, NULL, 0, extra,
	          "api: %llu connection(s) closed since the last report: no complete request "
	          "within %d s (slow or hostile clients)",
	          (unsigned long long)(n - api->expired_logged), ACRT__HTTP_DEADLINE_S);
	json_decref(extra);
	api->expired_logged = n;
	api->expired_log_at = now;
}

void
acrt__api_run(acrt__api *api)
{
	if (api == NULL)
		return;
	int64_t now = acrt__mono_ns();
	/* Late requests first: MHD_run then reads the end of their streams. */
	(void)acrt__http_guard_sweep(api->guard, now);
	log_expired(api, now);
	acrt__tap_service(api->rt); /* resume the tap streams with something to send */
	(void)MHD_run(api->d);
}
