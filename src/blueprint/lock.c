/*
 * lock.c - build.lock: compute, serialise (JSON, sorted keys, 2-space indent),
 * write atomically, and compare with a blueprint (see lock.h, docs/CLI.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acrt/version.h"
#include "blueprint/bp_int.h"
#include "blueprint/lock.h"
#include "core/plugin.h"
#include "core/strbuf.h"

#define LOCK_FORMAT 1

/* ---- Messages ------------------------------------------------------------------ */

static void lock_msg(acrt__diag *d, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lock_msg(acrt__diag *d, const char *file, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	acrt__diag_push(d, acrt__bp_printf("%s: %s", file, msg));
}

/* ---- Paths and hashes ---------------------------------------------------------- */

char *
acrt__lock_path(const acrt__blueprint *bp)
{
	return acrt__bp_printf("%s/%s", bp->dir, ACRT__LOCK_FILE);
}

/* A path as recorded in the lock: relative to the blueprint's directory when
 * it is inside it, absolute otherwise (from acrt__malloc). */
static char *
lock_relpath(const acrt__blueprint *bp, const char *path)
{
	char *abs = realpath(path, NULL);
	const char *p = abs ? abs : path;
	size_t n = strlen(bp->dir);
	char *out;
	if (strncmp(p, bp->dir, n) == 0 && p[n] == '/' && p[n + 1] != '\0')
		out = acrt__strdup(p + n + 1);
	else
		out = acrt__strdup(p);
	free(abs); /* realpath's */
	return out;
}

/* sha256 of a file's bytes, as 64 lowercase hex digits. 0 or -1 (errno set). */
static int
sha256_file(const char *path, char hex[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		errno = ENOMEM;
		goto out;
	}
	for (;;) {
		size_t n = fread(buf, 1, sizeof buf, f);
		if (n > 0 && EVP_DigestUpdate(ctx, buf, n) != 1) {
			errno = EIO;
			goto out;
		}
		if (n < sizeof buf) {
			if (ferror(f)) {
				errno = EIO;
				goto out;
			}
			break;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		errno = EIO;
		goto out;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return rc;
}

/* ---- Capability chains --------------------------------------------------------- */

static const struct {
	const char *name;
	int tier;
} tiers[] = {
    {"schema_validator", 10},
    {"rate_limit", 20},
    {"batching", 25},
    {"state", 30},
    {"retry", 40},
    {"circuit_breaker", 50},
    {"timeout", 55},
    {"dead_letter", 80},
    {"metrics", 90},
};

/* Tier of a capability without a built-in one (a plugin capability declares
 * it with `tier:` in its mapping). */
#define DEFAULT_TIER 70

typedef struct chain_link {
	const char *name;
	int tier;
} chain_link;

static int
chain_link_cmp(const void *a, const void *b)
{
	const chain_link *x = a, *y = b;
	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
tier_of(const char *name, const json_t *v)
{
	for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++)
		if (strcmp(tiers[i].name, name) == 0)
			return tiers[i].tier;
	if (strncmp(name, "plugin:", 7) == 0) { /* a plugin declares its tier */
		char *path = NULL, *sym = NULL, err[256];
		acrt__plugin *so = NULL;
		const acrt_capability_desc *d = NULL;
		int tier = DEFAULT_TIER;
		if (acrt__plugin_parse_ref(name, &path, &sym) == 0 &&
		    acrt__plugin_open_cap(path, sym, &so, &d, err, sizeof err) == 0) {
			tier = d->tier;
			acrt__plugin_close(so);
		}
		free(path); /* acrt__plugin_parse_ref's */
		free(sym);
		return tier;
	}
	json_t *t = json_is_object(v) ? json_object_get(v, "tier") : NULL;
	return json_is_integer(t) ? (int)json_integer_value(t) : DEFAULT_TIER;
}

/* A capability entry is on unless it is `false` or says `enabled: false`. */
static int
cap_enabled(const json_t *v)
{
	if (json_is_false(v))
		return 0;
	if (json_is_object(v) && json_is_false(json_object_get(v, "enabled")))
		return 0;
	return 1;
}

/* batching: and state: are on only with `enabled: true`. */
static int
flag_enabled(const json_t *v)
{
	return json_is_object(v) && json_is_true(json_object_get(v, "enabled"));
}

json_t *
acrt__lock_chain(const acrt__comp_spec *c)
{
	size_t cap = 3 + (json_is_object(c->capabilities) ? json_object_size(c->capabilities) : 0);
	chain_link *l = acrt__calloc(cap, sizeof *l);
	size_t n = 0;
	if (!l)
		return NULL;
	if (json_is_object(c->capabilities)) {
		const char *k;
		json_t *v;
		json_object_foreach(c->capabilities, k, v)
		{
			if (cap_enabled(v) && strcmp(k, "metrics") != 0)
				l[n++] = (chain_link){k, tier_of(k, v)};
		}
	}
	if (flag_enabled(c->batching))
		l[n++] = (chain_link){"batching", tier_of("batching", NULL)};
	if (flag_enabled(c->state))
		l[n++] = (chain_link){"state", tier_of("state", NULL)};
	l[n++] = (chain_link){"metrics", tier_of("metrics", NULL)};
	qsort(l, n, sizeof *l, chain_link_cmp);
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(l[i].name)) != 0) {
			json_decref(a);
			a = NULL;
		}
	acrt__free(l);
	return a;
}

/* ---- The model ----------------------------------------------------------------- */

/* {"path": REL, "sha256": HEX} for a file, or NULL (diag appended). */
static json_t *
file_entry(const acrt__blueprint *bp, const char *path, acrt__diag *diag)
{
	char hex[65];
	if (sha256_file(path, hex) != 0) {
		lock_msg(diag, path, "cannot read: %s", strerror(errno));
		return NULL;
	}
	char *rel = lock_relpath(bp, path);
	json_t *o = rel ? json_pack("{s:s, s:s}", "path", rel, "sha256", hex) : NULL;
	acrt__free(rel);
	if (!o)
		lock_msg(diag, path, "out of memory");
	return o;
}

static json_t *
lock_model(const acrt__blueprint *bp, acrt__diag *diag)
{
	json_t *m = json_object(), *plugins = json_object(), *comps = json_object();
	json_t *arch = NULL, *dep = NULL;
	int ok = m && plugins && comps;
	if (ok) {
		arch = file_entry(bp, bp->arch_path, diag);
		ok = arch != NULL;
	}
	if (ok && bp->deploy_path) {
		dep = file_entry(bp, bp->deploy_path, diag);
		ok = dep != NULL;
	}
	for (size_t i = 0; ok && i < bp->n_comps; i++) {
		const acrt__comp_spec *c = &bp->comps[i];
		json_t *chain = acrt__lock_chain(c);
		ok = chain && json_object_set_new(comps, c->name, chain) == 0;
		if (ok && c->plugin_path) {
			char hex[65];
			if (sha256_file(c->plugin_path, hex) != 0) {
				lock_msg(diag, c->plugin_path,
				         "cannot read plugin of component '%s': %s", c->name,
				         strerror(errno));
				ok = 0;
				break;
			}
			char *rel = lock_relpath(bp, c->plugin_path);
			ok = rel && json_object_set_new(plugins, rel, json_string(hex)) == 0;
			acrt__free(rel);
		}
		const char *key;
		json_t *v;
		json_object_foreach(c->capabilities, key, v)
		{ /* capability plugins are pinned like component plugins */
			char *path = NULL, *sym = NULL, hex[65];
			if (!ok || strncmp(key, "plugin:", 7) != 0 ||
			    acrt__plugin_parse_ref(key, &path, &sym) != 0)
				continue;
			if (sha256_file(path, hex) != 0) {
				lock_msg(diag, path, "cannot read capability plugin of '%s': %s",
				         c->name, strerror(errno));
				ok = 0;
			} else {
				char *rel = lock_relpath(bp, path);
				ok =
				    rel && json_object_set_new(plugins, rel, json_string(hex)) == 0;
				acrt__free(rel);
			}
			free(path); /* acrt__plugin_parse_ref's */
			free(sym);
		}
	}
	if (ok) {
		json_object_set_new(m, "lock_format", json_integer(LOCK_FORMAT));
		json_object_set_new(m, "acrt_version", json_string(ACRT_VERSION_STRING));
		json_object_set_new(m, "architecture", arch);
		json_object_set_new(m, "deployment", dep ? dep : json_null());
		json_object_set_new(m, "plugins", plugins);
		json_object_set_new(m, "components", comps);
		return m;
	}
	if (diag->n == 0)
		lock_msg(diag, bp->dir, "out of memory computing build.lock");
	json_decref(arch);
	json_decref(dep);
	json_decref(plugins);
	json_decref(comps);
	json_decref(m);
	return NULL;
}

/* ---- Serialisation ------------------------------------------------------------- */

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted (from acrt__malloc; NULL when out of memory). */
static const char **
sorted_keys(const json_t *o, size_t *n)
{
	const char **keys = acrt__calloc(json_object_size(o) + 1, sizeof *keys);
	const char *k;
	json_t *v;
	*n = 0;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)o, k, v)
	{
		(void)v;
		keys[(*n)++] = k;
	}
	qsort(keys, *n, sizeof *keys, key_cmp);
	return keys;
}

/* `"key": value` with the value on one line (sorted keys, ", " and ": "). */
static int
render_pair(acrt__strbuf *b, const char *indent, const char *key, const json_t *v)
{
	const size_t flags = JSON_SORT_KEYS | JSON_ENCODE_ANY;
	json_t *k = json_string(key);
	int rc = k ? 0 : -1;
	rc |= acrt__strbuf_json_cb(indent, strlen(indent), b);
	rc |= k ? json_dump_callback(k, acrt__strbuf_json_cb, b, flags) : 0;
	json_decref(k);
	rc |= acrt__strbuf_json_cb(": ", 2, b);
	return rc | json_dump_callback(v, acrt__strbuf_json_cb, b, flags);
}

/* Top-level keys sorted, one per line; the entries of "components" and
 * "plugins" one per line too; every other value on one line. */
static int
render(const json_t *m, acrt__strbuf *b)
{
	size_t n = 0;
	const char **keys = sorted_keys(m, &n);
	int rc = keys ? 0 : -1;
	rc |= acrt__strbuf_json_cb("{\n", 2, b);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *v = json_object_get(m, keys[i]);
		if (json_is_object(v) && json_object_size(v) > 0 &&
		    (strcmp(keys[i], "components") == 0 || strcmp(keys[i], "plugins") == 0)) {
			/* `"components": {` then one `"name": [...]` per line */
			size_t sn = 0;
			const char **sk = sorted_keys(v, &sn);
			json_t *k = json_string(keys[i]);
			rc |= sk && k ? 0 : -1;
			rc |= acrt__strbuf_json_cb("  ", 2, b);
			rc |=
			    k ? json_dump_callback(k, acrt__strbuf_json_cb, b, JSON_ENCODE_ANY) : 0;
			rc |= acrt__strbuf_json_cb(": {\n", 4, b);
			for (size_t x = 0; rc == 0 && x < sn; x++) {
				rc |= render_pair(b, "    ", sk[x], json_object_get(v, sk[x]));
				rc |= x + 1 < sn ? acrt__strbuf_json_cb(",\n", 2, b)
				                 : acrt__strbuf_json_cb("\n", 1, b);
			}
			rc |= acrt__strbuf_json_cb("  }", 3, b);
			json_decref(k);
			acrt__free(sk);
		} else {
			rc |= render_pair(b, "  ", keys[i], v);
		}
		rc |= i + 1 < n ? acrt__strbuf_json_cb(",\n", 2, b)
		                : acrt__strbuf_json_cb("\n", 1, b);
	}
	rc |= acrt__strbuf_json_cb("}\n", 2, b);
	acrt__free(keys);
	return rc ? -1 : 0;
}

char *
acrt__lock_render(const acrt__blueprint *bp, acrt__diag *diag)
{
	json_t *m = lock_model(bp, diag);
	if (!m)
		return NULL;
	acrt__strbuf b = {0};
	int rc = render(m, &b);
	json_decref(m);
	/* The strbuf is plain malloc (core/strbuf.h): the text is handed out as a
	 * copy from acrt__malloc. */
	char *text = rc == 0 ? acrt__strdup(b.p) : NULL;
	free(b.p);
	if (text == NULL)
		lock_msg(diag, bp->dir, "out of memory rendering build.lock");
	return text;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
acrt__lock_write(const acrt__blueprint *bp, acrt__diag *diag)
{
	char *text = acrt__lock_render(bp, diag);
	char *path = acrt__lock_path(bp), *tmp = NULL;
	int fd = -1, rc = -1;
	if (!text)
		goto out;
	if (!path || (tmp = acrt__bp_printf("%s/.%s.XXXXXX", bp->dir, ACRT__LOCK_FILE)) == NULL) {
		lock_msg(diag, bp->dir, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		lock_msg(diag, path, "cannot create a temporary file in %s: %s", bp->dir,
		         strerror(errno));
		acrt__free(tmp);
		tmp = NULL;
		goto out;
	}
	if (write_all(fd, text, strlen(text)) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		lock_msg(diag, path, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		lock_msg(diag, path, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		lock_msg(diag, path, "cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	acrt__free(tmp);
	tmp = NULL;
	int dfd = open(bp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		lock_msg(diag, path, "cannot sync directory %s: %s", bp->dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		acrt__free(tmp);
	}
	acrt__free(path);
	acrt__free(text);
	return rc;
}

/* ---- Comparison ---------------------------------------------------------------- */

static const char *
str_or(const json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* The first 12 hex digits of a hash, for messages. */
static void
short_hash(const json_t *v, char out[16])
{
	snprintf(out, 16, "%.12s", str_or(v, "?"));
}

/* "[a, b, c]" (an acrt__strbuf's: plain malloc, free() it). */
static char *
chain_str(const json_t *a)
{
	acrt__strbuf b = {0};
	acrt__strbuf_json_cb("[", 1, &b);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		const char *s = str_or(v, "?");
		if (i > 0)
			acrt__strbuf_json_cb(", ", 2, &b);
		acrt__strbuf_json_cb(s, strlen(s), &b);
	}
	acrt__strbuf_json_cb("]", 1, &b);
	return b.p;
}

static void
cmp_file(acrt__diag *d, const char *lp, const char *what, const json_t *old, const json_t *cur)
{
	const char *name = str_or(json_object_get(cur ? cur : old, "path"), what);
	if (json_is_object(old) && !json_is_object(cur)) {
		lock_msg(d, lp, "%s removed (it is locked)", name);
	} else if (!json_is_object(old) && json_is_object(cur)) {
		lock_msg(d, lp, "%s added (the lock has no %s file)", name, what);
	} else if (json_is_object(old)) {
		json_t *a = json_object_get(old, "sha256"), *b = json_object_get(cur, "sha256");
		if (!json_equal(a, b)) {
			char x[16], y[16];
			short_hash(a, x);
			short_hash(b, y);
			lock_msg(d, lp, "%s changed (sha256 %s... -> %s...)", name, x, y);
		}
	}
}

int
acrt__lock_check(const acrt__blueprint *bp, acrt__diag *diag)
{
	char *lp = acrt__lock_path(bp);
	if (!lp) {
		lock_msg(diag, bp->dir, "out of memory");
		return ACRT__LOCK_ERROR;
	}
	if (access(lp, F_OK) != 0 && errno == ENOENT) {
		acrt__free(lp);
		return ACRT__LOCK_MISSING;
	}
	json_error_t jerr;
	json_t *old = json_load_file(lp, 0, &jerr), *cur = NULL;
	int rc = ACRT__LOCK_ERROR;
	if (!old) {
		lock_msg(diag, lp, "cannot read: %s (line %d)", jerr.text, jerr.line);
		goto out;
	}
	if (!json_is_object(old) ||
	    json_integer_value(json_object_get(old, "lock_format")) != LOCK_FORMAT) {
		lock_msg(diag, lp, "not a build.lock of format %d", LOCK_FORMAT);
		goto out;
	}
	cur = lock_model(bp, diag);
	if (!cur)
		goto out;
	size_t before = diag->n;

	const char *ov = str_or(json_object_get(old, "acrt_version"), "?");
	if (strcmp(ov, ACRT_VERSION_STRING) != 0)
		lock_msg(diag, lp, "runtime version changed (%s -> %s)", ov, ACRT_VERSION_STRING);
	cmp_file(diag, lp, "architecture", json_object_get(old, "architecture"),
	         json_object_get(cur, "architecture"));
	cmp_file(diag, lp, "deployment", json_object_get(old, "deployment"),
	         json_object_get(cur, "deployment"));

	json_t *op = json_object_get(old, "plugins"), *cp = json_object_get(cur, "plugins");
	const char *k;
	json_t *v;
	json_object_foreach(op, k, v)
	{
		json_t *w = json_object_get(cp, k);
		if (!w) {
			lock_msg(diag, lp, "plugin %s removed (it is locked)", k);
		} else if (!json_equal(v, w)) {
			char x[16], y[16];
			short_hash(v, x);
			short_hash(w, y);
			lock_msg(diag, lp, "plugin %s changed (sha256 %s... -> %s...)", k, x, y);
		}
	}
	json_object_foreach(cp, k, v)
	{
		if (!json_object_get(op, k))
			lock_msg(diag, lp, "plugin %s added (the lock has none)", k);
	}

	json_t *oc = json_object_get(old, "components"), *cc = json_object_get(cur, "components");
	json_object_foreach(oc, k, v)
	{
		json_t *w = json_object_get(cc, k);
		if (!w) {
			lock_msg(diag, lp, "component '%s' removed (it is locked)", k);
		} else if (!json_equal(v, w)) {
			char *x = chain_str(v), *y = chain_str(w);
			lock_msg(diag, lp, "component '%s' chain changed: %s -> %s", k, x ? x : "?",
			         y ? y : "?");
			free(x); /* chain_str's strbuf */
			free(y);
		}
	}
	json_object_foreach(cc, k, v)
	{
		if (!json_object_get(oc, k))
			lock_msg(diag, lp, "component '%s' added (the lock has none)", k);
	}
	rc = diag->n > before ? ACRT__LOCK_DRIFT : ACRT__LOCK_OK;
out:
	json_decref(old);
	json_decref(cur);
	acrt__free(lp);
	return rc;
}
