/*
 * apiclient.c - see apiclient.h. Used on the CLI's only thread.
 */
#include "cli/apiclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/common.h"
#include "core/secret.h"
#include "observe/api.h"

#define API_TOKEN_MAX 4096
#define ERRBODY_MAX 4096 /* bytes of a non-200 body kept for its message */

/* A small file's content without surrounding whitespace, or NULL. */
static char *
read_trimmed(const char *path)
{
	char *out = NULL;
	return acrt__secret_file_read(path, API_TOKEN_MAX, &out) == 0 ? out : NULL;
}

/* ---- Options ----------------------------------------------------------------- */

int
acrt__apiclient_option(acrt__apiclient *c, int argc, char **argv, int *i)
{
	static const char *const names[] = {"--deployment", "--url", "--token-file", "--cacert",
	                                    "--cert",       "--key", "--node"};
	const char *a = argv[*i];
	const char *val = NULL;
	size_t k;
	for (k = 0; k < ACRT__ARRAY_LEN(names); k++) {
		size_t n = strlen(names[k]);
		if (strncmp(a, names[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
			val = a[n] == '=' ? a + n + 1 : NULL;
			break;
		}
	}
	if (k == ACRT__ARRAY_LEN(names))
		return 0;
	if (val == NULL) {
		if (*i + 1 >= argc)
			return acrt__cli_usage_error("%s: %s needs a value", c->cmd, names[k]);
		val = argv[++*i];
	}
	switch (k) {
	case 0:
		c->deployment = val;
		break;
	case 1:
		if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0)
			return acrt__cli_usage_error("%s: --url takes http://HOST:PORT or "
			                             "https://HOST:PORT ('%s')",
			                             c->cmd, val);
		c->url = val;
		break;
	case 2:
		c->token_file = val;
		break;
	case 3:
		c->cacert = val;
		break;
	case 4:
		c->cert = val;
		break;
	case 5:
		c->key = val;
		break;
	default:
		c->node = val;
		break;
	}
	return 1;
}

/* ---- Where ------------------------------------------------------------------- */

/* The base URL from --url, api.addr or the deployment (bp may be NULL only
 * with --url). NULL when out of memory. */
static char *
find_base(const acrt__apiclient *c, const acrt__blueprint *bp)
{
	if (c->url != NULL) {
		char *u = strdup(c->url);
		size_t n = u != NULL ? strlen(u) : 0;
		while (n > 0 && u[n - 1] == '/')
			u[--n] = '\0';
		return u;
	}
	bool https = bp->api.tls_cert != NULL;

	char *dir = acrt__blueprint_run_dir(bp); /* .acrt, or .acrt/NODE with --node */
	char *addr_file = dir != NULL ? acrt__path_join(dir, "api.addr") : NULL;
	char *url = addr_file != NULL ? read_trimmed(addr_file) : NULL;
	acrt__free(addr_file);
	acrt__free(dir);
	if (url != NULL && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		free(url);
		url = NULL;
	}
	if (url == NULL) {
		const char *listen =
		    bp->api.listen != NULL ? bp->api.listen : ACRT__API_DEFAULT_LISTEN;
		size_t n = strlen(listen) + 16;
		url = malloc(n);
		if (url == NULL)
			return NULL;
		/* ":PORT" (every interface) and wildcard hosts: ask the loopback. */
		const char *host_end = strrchr(listen, ':');
		const char *port = host_end != NULL ? host_end + 1 : ACRT__API_DEFAULT_PORT;
		size_t hl = host_end != NULL ? (size_t)(host_end - listen) : strlen(listen);
		if (hl == 0 || (hl == 7 && strncmp(listen, "0.0.0.0", 7) == 0))
			snprintf(url, n, "%s://127.0.0.1:%s", https ? "https" : "http", port);
		else if (hl == 4 && strncmp(listen, "[::]", 4) == 0)
			snprintf(url, n, "%s://[::1]:%s", https ? "https" : "http", port);
		else
			snprintf(url, n, "%s://%s", https ? "https" : "http", listen);
		return url;
	}
	/* api.addr holds the bound address; wildcards are reached on loopback. */
	char *w = strstr(url, "://0.0.0.0:");
	if (w != NULL) {
		size_t n = strlen(url) + 8;
		char *fixed = malloc(n);
		if (fixed != NULL)
			snprintf(fixed, n, "%.*s://127.0.0.1:%s", (int)(w - url), url, w + 11);
		free(url);
		url = fixed;
	}
	return url;
}

/* Reads the token into c->auth. 0, or 1 after printing why. */
static int
find_token(acrt__apiclient *c, const acrt__blueprint *bp, bool write)
{
	const char *scope = write ? "write" : "read";
	char *tok_path;
	if (c->token_file != NULL) {
		tok_path = acrt__strdup(c->token_file);
	} else {
		const char *f = write ? bp->api.write_token_file : bp->api.read_token_file;
		char *dir = f != NULL ? NULL : acrt__blueprint_run_dir(bp);
		tok_path = f != NULL ? acrt__strdup(f)
		           : dir != NULL
		               ? acrt__path_join(dir, write ? "write.token" : "read.token")
		               : NULL;
		acrt__free(dir);
	}
	if (tok_path == NULL)
		return 1;
	char *tok = read_trimmed(tok_path);
	if (tok == NULL) {
		fprintf(stderr,
		        "acrt: %s: cannot read the %s token %s: is the system at %s running?\n",
		        c->cmd, c->token_file != NULL ? "given" : scope, tok_path, c->base);
		acrt__free(tok_path);
		return 1;
	}
	acrt__free(tok_path);
	size_t n = strlen(tok) + 32;
	c->auth = malloc(n);
	if (c->auth != NULL)
		snprintf(c->auth, n, "Authorization: Bearer %s", tok);
	explicit_bzero(tok, strlen(tok));
	free(tok);
	return c->auth != NULL ? 0 : 1;
}

int
acrt__apiclient_locate(acrt__apiclient *c, const char *path, bool write)
{
	acrt__blueprint *bp = NULL;
	if (c->url == NULL || c->token_file == NULL) {
		bp = acrt__cli_load(path, c->deployment);
		if (bp == NULL)
			return 2;
		char err[512];
		if (c->node != NULL &&
		    acrt__blueprint_node_pick(bp, c->node, err, sizeof err) != 0) {
			fprintf(stderr, "acrt: %s: %s\n", c->cmd, err);
			acrt__blueprint_free(bp);
			return 2;
		}
	}
	int rc = 1;
	c->base = find_base(c, bp);
	if (c->base == NULL)
		goto out;
	if (find_token(c, bp, write) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "acrt: %s: libcurl did not initialise\n", c->cmd);
		goto out;
	}
	c->h = curl_easy_init();
	if (c->h == NULL) {
		fprintf(stderr, "acrt: %s: libcurl did not initialise\n", c->cmd);
		curl_global_cleanup();
		goto out;
	}
	rc = 0;
out:
	acrt__blueprint_free(bp);
	return rc;
}

void
acrt__apiclient_free(acrt__apiclient *c)
{
	if (c->h != NULL) {
		curl_easy_cleanup(c->h);
		curl_global_cleanup();
		c->h = NULL;
	}
	free(c->base);
	c->base = NULL;
	if (c->auth != NULL)
		explicit_bzero(c->auth, strlen(c->auth));
	free(c->auth);
	c->auth = NULL;
}

/* ---- Requests ---------------------------------------------------------------- */

typedef struct buf {
	char *p;
	size_t n;
} buf;

static int
buf_add(buf *b, const char *p, size_t n)
{
	char *q = realloc(b->p, b->n + n + 1);
	if (q == NULL)
		return -1;
	memcpy(q + b->n, p, n);
	b->n += n;
	q[b->n] = '\0';
	b->p = q;
	return 0;
}

static size_t
on_data(char *p, size_t sz, size_t nm, void *ud)
{
	return buf_add(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

/* The options every request shares. The header list is the caller's. */
static void
prepare(acrt__apiclient *c, const char *url, struct curl_slist *hdr, char *cerr)
{
	curl_easy_reset(c->h);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, cerr);
	if (c->cacert != NULL)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, c->cacert);
	if (c->cert != NULL)
		curl_easy_setopt(c->h, CURLOPT_SSLCERT, c->cert);
	if (c->key != NULL)
		curl_easy_setopt(c->h, CURLOPT_SSLKEY, c->key);
}

json_t *
acrt__apiclient_get_json(acrt__apiclient *c, const char *path, long *status, char *err, size_t errn)
{
	return acrt__apiclient_request_json(c, false, path, status, err, errn);
}

json_t *
acrt__apiclient_request_json(acrt__apiclient *c, bool post, const char *path, long *status,
                             char *err, size_t errn)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", c->base, path);
	buf b = {0};
	struct curl_slist *hdr = curl_slist_append(NULL, c->auth);
	char cerr[CURL_ERROR_SIZE] = "";
	prepare(c, url, hdr, cerr);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 3000L);
	if (post) { /* an empty body */
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c->h);
	curl_slist_free_all(hdr);
	*status = 0;
	json_t *v = NULL;
	if (rc != CURLE_OK) {
		snprintf(err, errn, "cannot reach the API at %s: %s", c->base,
		         cerr[0] ? cerr : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
		if (*status != 200 && *status != 202) {
			snprintf(err, errn, "the API at %s answered %ld to %s", c->base, *status,
			         path);
		} else {
			v = json_loadb(b.p ? b.p : "", b.n, 0, NULL);
			if (v == NULL)
				snprintf(err, errn, "the API at %s sent malformed JSON for %s",
				         c->base, path);
		}
	}
	free(b.p);
	return v;
}

typedef struct stream_state {
	acrt__apiclient *c;
	acrt__apiclient_line_fn fn;
	void *ud;
	volatile sig_atomic_t *stop;
	buf line;    /* a partial line of a 200 response */
	buf errbody; /* the start of another response */
	long status;
	int fn_rc; /* what stopped the transfer from our side: 1 or -1 */
	bool got;  /* bytes of a 200 response arrived */
} stream_state;

static size_t
on_stream(char *p, size_t sz, size_t nm, void *ud)
{
	stream_state *st = ud;
	size_t n = sz * nm;
	if (st->status == 0)
		curl_easy_getinfo(st->c->h, CURLINFO_RESPONSE_CODE, &st->status);
	if (st->status != 200) {
		size_t keep = st->errbody.n < ERRBODY_MAX ? ERRBODY_MAX - st->errbody.n : 0;
		return buf_add(&st->errbody, p, n < keep ? n : keep) == 0 ? n : 0;
	}
	st->got = true;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (buf_add(&st->line, p + start, i - start) != 0)
			return 0;
		start = i + 1;
		size_t len = st->line.n;
		st->line.n = 0;
		if (len == 0)
			continue;
		int r = st->fn(st->line.p, len, st->ud);
		if (r != 0) {
			st->fn_rc = r;
			return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
		}
	}
	return buf_add(&st->line, p + start, n - start) == 0 ? n : 0;
}

static int
on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	const stream_state *st = ud;
	return *st->stop ? 1 : 0;
}

/* The "error" member of a JSON error body, or the body itself. */
static void
error_message(const buf *b, char *out, size_t n)
{
	json_t *v = b->p != NULL ? json_loadb(b->p, b->n, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(v, "error"));
	if (m != NULL) {
		snprintf(out, n, "%s", m);
	} else {
		size_t len = b->n;
		while (len > 0 && (b->p[len - 1] == '\n' || b->p[len - 1] == '\r'))
			len--;
		snprintf(out, n, "%.*s", (int)(len < 200 ? len : 200), b->p != NULL ? b->p : "");
	}
	json_decref(v);
}

int
acrt__apiclient_stream(acrt__apiclient *c, const char *path, acrt__apiclient_line_fn fn, void *ud,
                       volatile sig_atomic_t *stop, long *status, char *err, size_t errn)
{
	char url[1024];
	if ((size_t)snprintf(url, sizeof url, "%s%s", c->base, path) >= sizeof url) {
		snprintf(err, errn, "the request is too long");
		return 1;
	}
	stream_state st = {.c = c, .fn = fn, .ud = ud, .stop = stop};
	struct curl_slist *hdr = curl_slist_append(NULL, c->auth);
	char cerr[CURL_ERROR_SIZE] = "";
	prepare(c, url, hdr, cerr);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(c->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->h, CURLOPT_XFERINFODATA, &st);
	CURLcode rc = curl_easy_perform(c->h);
	curl_slist_free_all(hdr);
	if (st.status == 0)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st.status);
	*status = st.status;
	int ret = 0;
	if (st.fn_rc != 0) {
		ret = st.fn_rc > 0 ? 0 : -1;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && *stop) {
		ret = 0;
	} else if (rc != CURLE_OK && st.status == 0) {
		snprintf(err, errn, "cannot reach the API at %s: %s", c->base,
		         cerr[0] ? cerr : curl_easy_strerror(rc));
		ret = 1;
	} else if (st.status != 200) {
		char msg[256];
		error_message(&st.errbody, msg, sizeof msg);
		snprintf(err, errn, "the API at %s answered %ld: %s", c->base, st.status, msg);
		ret = 1;
	} else if (rc != CURLE_OK) {
		snprintf(err, errn, "the stream from the API at %s broke: %s", c->base,
		         cerr[0] ? cerr : curl_easy_strerror(rc));
		ret = 1;
	} else if (st.line.n > 0) { /* a last line without its newline */
		st.line.p[st.line.n] = '\0';
		ret = fn(st.line.p, st.line.n, ud) < 0 ? -1 : 0;
	}
	free(st.line.p);
	free(st.errbody.p);
	return ret;
}
