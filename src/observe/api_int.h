/*
 * api_int.h - private to api.c and api_config.c: the API's state and the
 * configuration helpers. Everything here runs on the supervising thread.
 */
#ifndef ACRT_API_INT_H
#define ACRT_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/httpd.h"
#include "observe/api.h"
#include "runtime/query.h"

#define API_MAX_BODY (64 * 1024) /* bytes; larger requests get 413 */
#define API_CONN_TIMEOUT_S 10    /* an idle or slow connection is closed after */
#define API_TOKEN_BYTES 32       /* random bytes of a generated token (64 hex) */
#define API_TOKEN_MAX 4096       /* longest token read from a file */

typedef struct api_token {
	unsigned char digest[SHA256_DIGEST_LENGTH]; /* compared, never the token */
	char *generated_path; /* the file we wrote (removed at stop), or NULL */
	char *generated;      /* its content, to check before removing it */
} api_token;

struct acrt__api {
	acrt__runtime *rt;
	struct MHD_Daemon *d;
	int epoll_fd;
	api_token read, write;
	char *token_dir;                   /* <blueprint dir>/.acrt when we created files in it */
	char *tls_cert, *tls_key, *tls_ca; /* PEM, alive while the daemon runs */
	bool verify_client;                /* tls.client_ca: check each peer */
	char *addr_path, *addr_content;    /* <dir>/.acrt/api.addr, removed at stop */
	/* /metrics, rendered at most every METRICS_TTL_NS and shared by the scrapes
	 * in between (MHD responses are refcounted): a scraper hammering the API
	 * cannot make the runtime read every counter and lock every stream for
	 * each request. Only the supervising thread touches these. */
	struct MHD_Response *metrics;
	int64_t metrics_at;
	/* The whole-request deadline (core/httpd.h), swept by acrt__api_run on
	 * this thread; freed after the daemon stopped. */
	acrt__http_guard *guard;
	uint64_t expired_logged; /* guard expiries already reported in the log */
	int64_t expired_log_at;  /* when that report was made */
};

#define METRICS_TTL_NS (100 * 1000000LL)

/* api_config.c */
void acrt__api_digest(const char *tok, size_t len, unsigned char out[SHA256_DIGEST_LENGTH]);
void acrt__api_token_forget(api_token *t);
int acrt__api_load_tokens(acrt__api *api);
int acrt__api_load_tls(acrt__api *api);
bool acrt__api_client_verified(struct MHD_Connection *c);
void acrt__api_free_secret(char **p);
void acrt__api_addr_write(acrt__api *api, const char *url);
void acrt__api_addr_remove(acrt__api *api);

#endif /* ACRT_API_INT_H */
