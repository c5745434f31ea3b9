/*
 * api_config.c - what the HTTP API reads from the deployment: its bearer
 * tokens (files, or generated into <blueprint dir>/.acrt, .acrt/NODE for a node, with mode 0600 and
 * removed at stop), its TLS material and client-certificate check, and the
 * address file `acrt top` reads. Used by api.c only (api_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"
#include "core/log.h"
#include "core/secret.h"
#include "observe/api_int.h"

/* ---- Configuration ------------------------------------------------------- */

void
acrt__api_digest(const char *tok, size_t len, unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256((const unsigned char *)tok, len, out);
}

/* Reads a token file: its content without surrounding whitespace. */
static int
token_from_file(const char *path, api_token *t)
{
	char *tok = NULL;
	int rc = acrt__secret_file_read(path, API_TOKEN_MAX, &tok);
	if (rc == -1) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: cannot read token file %s: %s", path,
		          strerror(errno));
		return -1;
	}
	if (rc != 0) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "api: token file %s must hold one token (1 to %d bytes)", path,
		          API_TOKEN_MAX);
		return -1;
	}
	size_t len = strlen(tok);
	acrt__api_digest(tok, len, t->digest);
	explicit_bzero(tok, len);
	free(tok);
	return 0;
}

/* Generates a random token into <dir>/<name> (0600; dir 0700). A file that
 * cannot be written is a warning: the token then exists only in memory. */
static int
token_generate(acrt__api *api, const char *dir, const char *name, api_token *t)
{
	unsigned char raw[API_TOKEN_BYTES];
	size_t got = 0;
	while (got < sizeof raw) {
		ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: getrandom failed: %s",
			          strerror(errno));
			return -1;
		}
		got += (size_t)r;
	}
	char hex[2 * API_TOKEN_BYTES + 2];
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof raw);
	acrt__api_digest(hex, 2 * API_TOKEN_BYTES, t->digest);

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "api: cannot create %s (%s): the generated %s is not saved", dir,
		          strerror(errno), name);
		explicit_bzero(hex, sizeof hex);
		return 0;
	}
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "api: %s is not a directory of ours: the generated %s is not saved", dir,
		          name);
		explicit_bzero(hex, sizeof hex);
		return 0;
	}
	(void)chmod(dir, 0700);
	char *path = NULL;
	if ((api->token_dir == NULL && (api->token_dir = acrt__strdup(dir)) == NULL) ||
	    (path = acrt__path_join(dir, name)) == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: out of memory");
		explicit_bzero(hex, sizeof hex);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	hex[2 * API_TOKEN_BYTES] = '\n';
	hex[2 * API_TOKEN_BYTES + 1] = '\0';
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, hex, 2 * API_TOKEN_BYTES + 1) != 2 * API_TOKEN_BYTES + 1) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "api: cannot write %s (%s): the generated token is not saved", path,
		          strerror(errno));
		if (fd >= 0)
			close(fd);
		acrt__free(path); /* acrt__path_join's */
		explicit_bzero(hex, sizeof hex);
		return 0;
	}
	close(fd);
	t->generated = acrt__strdup(hex);
	explicit_bzero(hex, sizeof hex);
	if (t->generated == NULL) { /* the file could not be removed at stop */
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: out of memory");
		(void)unlink(path);
		acrt__free(path); /* acrt__path_join's */
		return -1;
	}
	t->generated_path = path;
	acrt__log(ACRT_LOG_INFO, NULL, 0, NULL, "api: generated a %s token into %s (mode 0600)",
	          strncmp(name, "read", 4) == 0 ? "read" : "write", path);
	return 0;
}

void
acrt__api_token_forget(api_token *t)
{
	if (t->generated_path != NULL) {
		/* Remove it unless another run has replaced it meanwhile. */
		char buf[2 * API_TOKEN_BYTES + 8];
		FILE *f = fopen(t->generated_path, "re");
		if (f != NULL) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[n] = '\0';
			if (t->generated != NULL && strcmp(buf, t->generated) == 0)
				(void)unlink(t->generated_path);
			explicit_bzero(buf, sizeof buf);
		}
	}
	acrt__free(t->generated_path); /* acrt__path_join's */
	if (t->generated != NULL) {
		explicit_bzero(t->generated, strlen(t->generated));
		acrt__free(t->generated);
	}
	memset(t, 0, sizeof *t);
}

int
acrt__api_load_tokens(acrt__api *api)
{
	const acrt__blueprint *bp = acrt__q_blueprint(api->rt);
	const char *paths[2] = {bp->api.read_token_file, bp->api.write_token_file};
	static const char *const files[2] = {"read.token", "write.token"};
	api_token *toks[2] = {&api->read, &api->write};
	char *gen_dir = acrt__blueprint_run_dir(bp); /* .acrt, or .acrt/NODE */
	if (gen_dir == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: out of memory");
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++)
		rc = paths[i] != NULL ? token_from_file(paths[i], toks[i])
		                      : token_generate(api, gen_dir, files[i], toks[i]);
	acrt__free(gen_dir);
	if (rc == 0 &&
	    CRYPTO_memcmp(api->read.digest, api->write.digest, SHA256_DIGEST_LENGTH) == 0)
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL,
		          "api: the read and write tokens are the same: read clients can write");
	return rc;
}

/* ---- TLS and the address file ------------------------------------------- */

/* Reads a whole PEM file into a NUL-terminated buffer; logs one line naming
 * the file on failure. */
static char *
read_pem(const char *key, const char *path)
{
	char *buf = NULL;
	FILE *f = fopen(path, "re");
	long len = -1;
	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && len < (1L << 24) &&
	    fseek(f, 0, SEEK_SET) == 0) {
		if ((buf = acrt__malloc((size_t)len + 1)) == NULL) {
			errno = ENOMEM;
		} else if (fread(buf, 1, (size_t)len, f) == (size_t)len) {
			buf[len] = '\0';
		} else {
			acrt__free(buf);
			buf = NULL;
		}
	}
	int err = errno;
	if (f != NULL)
		fclose(f);
	if (buf == NULL || len == 0 || strstr(buf, "-----BEGIN ") == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL, "api: cannot read the TLS %s file %s: %s",
		          key, path, buf == NULL && len != 0 ? strerror(err) : "not a PEM file");
		if (buf != NULL)
			explicit_bzero(buf, (size_t)len);
		acrt__free(buf);
		buf = NULL;
	}
	return buf;
}

/* runtime.api.tls: {cert, key, client_ca}, checked by the loader. 0 without
 * TLS or when loaded. */
int
acrt__api_load_tls(acrt__api *api)
{
	const acrt__blueprint *bp = acrt__q_blueprint(api->rt);
	if (bp->api.tls_cert == NULL)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "api: runtime.api.tls is set but libmicrohttpd was built without TLS");
		return -1;
	}
	if ((api->tls_cert = read_pem("cert", bp->api.tls_cert)) == NULL ||
	    (api->tls_key = read_pem("key", bp->api.tls_key)) == NULL)
		return -1;
	if (bp->api.tls_client_ca != NULL) {
		if ((api->tls_ca = read_pem("client_ca", bp->api.tls_client_ca)) == NULL)
			return -1;
		api->verify_client = true;
	}
	return 0;
}

/* With client_ca, GnuTLS asks the client for a certificate (libmicrohttpd
 * requests it, it does not require it): the peer is verified here. */
bool
acrt__api_client_verified(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return false;
	unsigned status = 1;
	if (gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status) !=
	    GNUTLS_E_SUCCESS)
		return false;
	return status == 0;
}

void
acrt__api_free_secret(char **p)
{
	if (*p != NULL)
		explicit_bzero(*p, strlen(*p));
	acrt__free(*p);
	*p = NULL;
}

/* Writes <blueprint dir>/.acrt/api.addr (0600): the base URL actually served,
 * for `acrt top`. A failure is a warning. */
void
acrt__api_addr_write(acrt__api *api, const char *url)
{
	char *dir = acrt__blueprint_run_dir(acrt__q_blueprint(api->rt)); /* .acrt[/NODE] */
	if (dir == NULL)
		return;
	struct stat st;
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || lstat(dir, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "api: cannot use %s: no api.addr written",
		          dir);
		acrt__free(dir);
		return;
	}
	if (api->token_dir == NULL)
		api->token_dir = acrt__strdup(dir); /* NULL: the directory stays at stop */
	char *path = acrt__path_join(dir, "api.addr");
	acrt__free(dir);
	size_t n = strlen(url) + 2;
	char *content = path != NULL ? acrt__malloc(n) : NULL;
	if (content == NULL) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "api: out of memory: no api.addr written");
		acrt__free(path);
		return;
	}
	snprintf(content, n, "%s\n", url);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, content, n - 1) != (ssize_t)(n - 1)) {
		acrt__log(ACRT_LOG_WARN, NULL, 0, NULL, "api: cannot write %s: %s", path,
		          strerror(errno));
		if (fd >= 0)
			close(fd);
		acrt__free(path);
		acrt__free(content);
		return;
	}
	close(fd);
	api->addr_path = path;
	api->addr_content = content;
}

/* Removes api.addr unless another run has replaced it meanwhile. */
void
acrt__api_addr_remove(acrt__api *api)
{
	if (api->addr_path != NULL) {
		char buf[160] = "";
		FILE *f = fopen(api->addr_path, "re");
		if (f != NULL) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[n] = '\0';
			if (strcmp(buf, api->addr_content) == 0)
				(void)unlink(api->addr_path);
		}
	}
	acrt__free(api->addr_path); /* acrt__path_join's */
	acrt__free(api->addr_content);
	api->addr_path = api->addr_content = NULL;
}
