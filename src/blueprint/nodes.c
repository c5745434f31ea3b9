/*
 * nodes.c - placement (docs/MULTINODE.md): `nodes:` in deployment.yaml names
 * the nodes of a system and the components each runs; `runtime.transport`
 * names the messaging system (NATS JetStream or Redis Streams) that is to
 * carry the bindings between nodes, with its URL and credentials.
 *
 * Parsed once, here, into bp->nodes and bp->transport:
 *
 *   acrt__nodes_parse   (deploy.c, after the components are known) every
 *                       component on at least one node, names valid, the
 *                       transport's kind, URL, credential files and TLS files
 *   acrt__nodes_check   (load.c, after the bindings are known) a transport is
 *                       set when a binding crosses nodes; a component on
 *                       several nodes (scale-out) can be spread (spread.c)
 *
 * A component on several nodes runs its replicas on each of them and shares
 * its inputs between them (docs/MULTINODE.md, "Scale-out"). The two ends of
 * a binding then run on the same nodes (the binding is local on each) or on
 * nodes apart (it crosses, one broker stream per pair of nodes: a lane).
 *
 * Secrets never sit in the deployment: a password or token in the URL must
 * come from ${VAR}, the others from files (token_file, password_file,
 * creds_file), which are checked to be readable but never read here. A URL
 * from ${VAR} is quoted in messages as written (acrt__ynode_show), not
 * expanded.
 *
 * `acrt run --node NAME` then picks a node (acrt__blueprint_node_pick: its
 * store name and run directory) and narrows the blueprint to it
 * (acrt__blueprint_node_narrow): its components first, then the bindings
 * inside the node, then those to other nodes (kept for the transports),
 * then the rest, so that everything below the CLI sees only the node.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blueprint/bp_int.h"
#include "core/common.h"

#define NO_NODE SIZE_MAX
#define MAX_NODES 64 /* a component's nodes are a bit set (bp->nodes.on_comp) */

static const char *const node_keys[] = {"components", NULL};
/* password and token are known keys so that they get their own message. */
static const char *const tr_keys[] = {"kind",       "url",        "user", "password_file",
                                      "token_file", "creds_file", "tls",  "password",
                                      "token",      NULL};
static const char *const tls_keys[] = {"ca_file", "cert_file", "key_file", NULL};
static const char *const kinds[] = {"nats", "redis", NULL};

/* ---- nodes: -------------------------------------------------------------- */

/* Places the components listed by node k (value v). */
static int
parse_node(acrt__bpload *L, size_t k, const acrt__ynode *key, const acrt__ynode *v)
{
	acrt__blueprint *bp = L->bp;
	char where[160];
	int rc = 0;
	if (v->kind != ACRT__Y_MAP)
		return acrt__err_type(L, v, key->text, "a mapping {components: [...]}");
	snprintf(where, sizeof where, "in nodes.%s", key->text);
	rc = acrt__check_keys(L, v, node_keys, where);
	const acrt__ynode *cs = acrt__ynode_get(v, "components");
	if (cs == NULL || cs->kind == ACRT__Y_NULL)
		return acrt__err(L, v, "nodes.%s: missing required key 'components'", key->text);
	if (cs->kind != ACRT__Y_SEQ)
		return acrt__err_type(L, cs, "components", "a list of component names");
	if (cs->n == 0)
		return acrt__err(L, cs,
		                 "nodes.%s.components: empty: a node runs at least one "
		                 "component",
		                 key->text);
	for (size_t i = 0; i < cs->n; i++) {
		const acrt__ynode *it = cs->items[i];
		if (it->kind != ACRT__Y_STR) {
			rc = acrt__err_type(L, it, "components", "a component name");
			continue;
		}
		long c = acrt__blueprint_find(bp, it->text);
		if (c < 0) {
			const char *names[256];
			size_t m = 0;
			char hint[128];
			for (size_t j = 0; j < bp->n_comps && m < 256; j++)
				if (bp->comps[j].name)
					names[m++] = bp->comps[j].name;
			acrt__hint(hint, sizeof hint, it->text, names, m);
			rc = acrt__err(L, it, "nodes.%s: unknown component '%s'%s", key->text,
			               it->text, hint);
		} else if (bp->nodes.on_comp[c] & (UINT64_C(1) << k)) {
			rc = acrt__err(L, it, "nodes.%s: component '%s' is listed twice", key->text,
			               it->text);
		} else {
			bp->nodes.on_comp[c] |= UINT64_C(1) << k; /* scale-out: acrt__nodes_check */
			if (bp->nodes.of_comp[c] == NO_NODE)
				bp->nodes.of_comp[c] = k;
		}
	}
	return rc;
}

static int
parse_nodes(acrt__bpload *L, const acrt__ynode *key, const acrt__ynode *m)
{
	acrt__blueprint *bp = L->bp;
	int rc = 0;
	if (m->kind != ACRT__Y_MAP)
		return acrt__err_type(L, m, "nodes",
		                      "a mapping of node names to {components: [...]}");
	if (m->n == 0)
		return acrt__err(L, m, "nodes: expected at least one node");
	if (m->n > MAX_NODES)
		return acrt__err(L, m, "nodes: %zu nodes; a system has at most %d", m->n,
		                 MAX_NODES);
	bp->nodes.names = acrt__calloc(m->n, sizeof *bp->nodes.names);
	bp->nodes.of_comp = acrt__calloc(bp->n_comps ? bp->n_comps : 1, sizeof(size_t));
	bp->nodes.on_comp = acrt__calloc(bp->n_comps ? bp->n_comps : 1, sizeof(uint64_t));
	if (!bp->nodes.names || !bp->nodes.of_comp || !bp->nodes.on_comp)
		return acrt__err(L, m, "out of memory");
	for (size_t c = 0; c < bp->n_comps; c++)
		bp->nodes.of_comp[c] = NO_NODE;
	for (size_t k = 0; k < m->n; k++) {
		const char *name = m->keys[k]->text;
		if ((bp->nodes.names[k] = acrt__strdup(name)) == NULL)
			return acrt__err(L, m, "out of memory");
		bp->nodes.n = k + 1;
		if (!acrt__name_ok(name))
			rc = acrt__err(L, m->keys[k],
			               "nodes: '%s' is not a valid node name (a lowercase letter, "
			               "then lowercase letters, digits or _)",
			               name);
		if (parse_node(L, k, m->keys[k], m->items[k]) < 0)
			rc = -1;
	}
	for (size_t c = 0; c < bp->n_comps; c++)
		if (bp->comps[c].name && bp->nodes.of_comp[c] == NO_NODE)
			rc = acrt__err(
			    L, key,
			    "nodes: component '%s' is on no node: every component runs on "
			    "a node",
			    bp->comps[c].name);
	return rc;
}

/* ---- runtime.transport ----------------------------------------------------- */

/* Just after the ${...} that starts at p, or p when none does. */
static const char *
var_end(const char *p, const char *end)
{
	if (end - p < 2 || p[0] != '$' || p[1] != '{')
		return p;
	const char *rb = memchr(p, '}', (size_t)(end - p));
	return rb ? rb + 1 : end;
}

/* The first of chars in [p, end) outside every ${...}, or NULL. */
static const char *
find_out(const char *p, const char *end, const char *chars)
{
	while (p < end) {
		const char *v = var_end(p, end);
		if (v != p) {
			p = v;
		} else if (strchr(chars, *p) != NULL) {
			return p;
		} else {
			p++;
		}
	}
	return NULL;
}

/* One written URL [u, end) (as in the file, ${VAR} unexpanded) keeps its
 * secrets out of the file: its password (or a NATS token: userinfo without
 * ':') is one ${VAR} without a default, and no default holds credentials. */
static bool
written_ok(const char *u, const char *end, bool nats)
{
	for (const char *p = u; p < end; p++) { /* ${X:-nats://u:pw@h}: written */
		const char *v = var_end(p, end);
		if (v != p && memchr(p, '@', (size_t)(v - p)) != NULL)
			return false;
		p = v != p ? v - 1 : p;
	}
	const char *s = u;
	while ((s = find_out(s, end, ":")) != NULL && (end - s < 3 || strncmp(s, "://", 3) != 0))
		s++;
	if (s == NULL)
		return true; /* the scheme comes from ${VAR}: all of it does */
	s += 3;
	const char *auth_end = find_out(s, end, "/"), *at = NULL;
	if (auth_end == NULL)
		auth_end = end;
	for (const char *q = s; (q = find_out(q, auth_end, "@")) != NULL; q++)
		at = q;
	if (at == NULL)
		return true;
	const char *colon = find_out(s, at, ":");
	if (colon == NULL && !nats) /* redis://user@host: a name, no password */
		return true;
	const char *sec = colon ? colon + 1 : s;
	if (sec == at)
		return true;
	return var_end(sec, at) == at && at - sec > 3 &&
	       memchr(sec, ':', (size_t)(at - sec)) == NULL;
}

/* Every URL of the written text (NATS: a comma-separated list). */
static bool
url_secrets_from_env(const char *written, bool nats)
{
	const char *end = written + strlen(written);
	for (const char *seg = written; seg != NULL;) {
		const char *comma = nats ? find_out(seg, end, ",") : NULL;
		if (!written_ok(seg, comma ? comma : end, nats))
			return false;
		seg = comma ? comma + 1 : NULL;
	}
	return true;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* Checks one expanded URL; *creds says whether it carries userinfo. NULL,
 * or why it is not a URL of that kind. */
static const char *
url_one(const char *u, size_t n, bool nats, bool *creds, bool *tls)
{
	static const char *const schemes[2][2] = {{"redis://", "rediss://"}, {"nats://", "tls://"}};
	const char *p = NULL;
	for (int i = 0; i < 2 && p == NULL; i++) {
		size_t sl = strlen(schemes[nats][i]);
		if (n >= sl && !strncmp(u, schemes[nats][i], sl)) {
			p = u + sl;
			*tls = *tls || i == 1;
		}
	}
	if (p == NULL)
		return nats ? "is not a nats:// or tls:// URL"
		            : "is not a redis:// or rediss:// URL";
	const char *end = u + n, *slash = memchr(p, '/', (size_t)(end - p));
	const char *auth_end = slash ? slash : end;
	const char *at = NULL;
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		*creds = true;
		p = at + 1;
	}
	if (*p == '[') { /* [IPv6] */
		const char *rb = memchr(p, ']', (size_t)(auth_end - p));
		if (rb == NULL || rb == p + 1)
			return "has a bad [IPv6] host";
		for (const char *q = p + 1; q < rb; q++)
			if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
			      (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
				return "has a bad [IPv6] host";
		p = rb + 1;
	} else {
		const char *h = p;
		while (p < auth_end && host_char(*p))
			p++;
		if (p == h)
			return "has no host";
	}
	if (p < auth_end && *p == ':') {
		long port = 0;
		const char *d = ++p;
		while (p < auth_end && *p >= '0' && *p <= '9' && port <= 65535)
			port = port * 10 + (*p++ - '0');
		if (p == d || p != auth_end || port < 1 || port > 65535)
			return "has a bad port (1 to 65535)";
	}
	if (p != auth_end)
		return "has a bad host";
	if (slash == NULL || slash + 1 == end)
		return NULL;
	if (nats)
		return "has a path: a NATS URL is scheme://[credentials@]host[:port]";
	for (p = slash + 1; p < end; p++) /* redis: /DB */
		if (*p < '0' || *p > '9')
			return "has a bad database number (redis://host:port/DB)";
	return NULL;
}

/* runtime.transport.url against the kind. */
static int
check_url(acrt__bpload *L, const acrt__ynode *n, bool nats, bool *creds)
{
	acrt__blueprint *bp = L->bp;
	const char *u = n->text, *shown = acrt__ynode_show(n, n->text);
	if (*u == '\0')
		return acrt__err(L, n, "runtime.transport.url: expected a URL, got ''");
	for (const char *seg = u; seg != NULL;) {
		const char *comma = nats ? strchr(seg, ',') : NULL;
		size_t len = comma ? (size_t)(comma - seg) : strlen(seg);
		const char *why = url_one(seg, len, nats, creds, &bp->transport.tls);
		if (why != NULL)
			return acrt__err(L, n, "runtime.transport.url: '%s' %s%s", shown, why,
			                 nats ? " (several servers: comma-separated)" : "");
		seg = comma ? comma + 1 : NULL;
	}
	if (!url_secrets_from_env(n->source ? n->source : n->text, nats))
		return acrt__err(L, n,
		                 "runtime.transport.url: a password or token is written in the "
		                 "URL: take it from the environment (%s://${VAR}@host, with no "
		                 "default) or use %s",
		                 nats ? "nats" : "redis",
		                 nats ? "token_file or password_file" : "password_file");
	if ((bp->transport.url = acrt__strdup(u)) == NULL)
		return acrt__err(L, n, "out of memory");
	return 0;
}

/* A file under key of map, when present: *out its absolute path, which must
 * be readable now (`acrt run` will read it; its content may be a secret and
 * is not read here). 1 set, 0 absent, -1 after reporting. */
static int
file_key(acrt__bpload *L, const acrt__ynode *map, const char *key, const char *where, char **out)
{
	const char *s;
	int r = acrt__get_str(L, map, key, &s);
	const acrt__ynode *at = acrt__ynode_get(map, key);
	if (r != 1)
		return r;
	if (*s == '\0')
		return acrt__err(L, at, "%s.%s: expected a path, got ''", where, key);
	if ((*out = acrt__path_join(L->bp->dir, s)) == NULL)
		return acrt__err(L, at, "out of memory");
	if (access(*out, R_OK) != 0)
		return acrt__err(L, at, "%s.%s: cannot read %s: %s", where, key, *out,
		                 strerror(errno));
	return 1;
}

static int
parse_tls(acrt__bpload *L, const acrt__ynode *t)
{
	acrt__blueprint *bp = L->bp;
	static const char *const where = "runtime.transport.tls";
	int rc = acrt__check_keys(L, t, tls_keys, "in runtime.transport.tls");
	int ca = file_key(L, t, "ca_file", where, &bp->transport.tls_ca_file);
	int cert = file_key(L, t, "cert_file", where, &bp->transport.tls_cert_file);
	int key = file_key(L, t, "key_file", where, &bp->transport.tls_key_file);
	if (ca < 0 || cert < 0 || key < 0)
		rc = -1;
	else if ((cert == 1) != (key == 1))
		rc = acrt__err(L, t,
		               "%s: cert_file and key_file go together (a client "
		               "certificate and its key)",
		               where);
	bp->transport.tls = true;
	return rc;
}

/* The rules between the credential keys, once each is read. */
static int
check_auth(acrt__bpload *L, const acrt__ynode *m, bool nats, bool url_creds)
{
	acrt__blueprint *bp = L->bp;
	const char *user = bp->transport.user;
	bool pw = bp->transport.password_file != NULL, tok = bp->transport.token_file != NULL;
	bool creds = bp->transport.creds_file != NULL;
	if (!nats && tok)
		return acrt__err(L, acrt__ynode_get(m, "token_file"),
		                 "runtime.transport.token_file: redis has no tokens: use "
		                 "password_file (and user for an ACL user)");
	if (!nats && creds)
		return acrt__err(L, acrt__ynode_get(m, "creds_file"),
		                 "runtime.transport.creds_file: a NATS credentials file; redis "
		                 "uses password_file (and user)");
	if ((int)tok + (int)(user || pw) + (int)creds > 1)
		return acrt__err(L, m,
		                 "runtime.transport: token_file, user/password_file and "
		                 "creds_file are three ways to authenticate: choose one");
	if (user && !pw)
		return acrt__err(L, acrt__ynode_get(m, "user"),
		                 "runtime.transport.user: needs password_file");
	if (nats && pw && !user)
		return acrt__err(L, acrt__ynode_get(m, "password_file"),
		                 "runtime.transport.password_file: needs user");
	if (url_creds && (tok || pw || creds))
		return acrt__err(L, acrt__ynode_get(m, "url"),
		                 "runtime.transport.url: carries credentials and so does %s: "
		                 "choose one",
		                 tok  ? "token_file"
		                 : pw ? "password_file"
		                      : "creds_file");
	return 0;
}

static int
parse_transport(acrt__bpload *L, const acrt__ynode *m)
{
	acrt__blueprint *bp = L->bp;
	static const char *const where = "runtime.transport";
	const char *s;
	int r, rc = acrt__check_keys(L, m, tr_keys, "in runtime.transport");
	for (int i = 0; i < 2; i++) {
		const char *k = i ? "token" : "password";
		const acrt__ynode *at = acrt__ynode_key(m, k);
		if (at != NULL)
			rc = acrt__err(L, at,
			               "runtime.transport.%s: a secret is never written in the "
			               "deployment: use %s_file, or ${VAR} in url",
			               k, k);
	}
	r = acrt__get_str(L, m, "kind", &s);
	if (r == 0)
		return acrt__err(L, m, "%s: missing required key 'kind' (nats or redis)", where);
	if (r < 0)
		return -1;
	if (strcmp(s, "nats") != 0 && strcmp(s, "redis") != 0) {
		const acrt__ynode *at = acrt__ynode_get(m, "kind");
		const char *shown = acrt__ynode_show(at, s);
		char hint[128] = "";
		if (shown == s)
			acrt__hint(hint, sizeof hint, s, kinds, (size_t)-1);
		return acrt__err(L, at, "%s.kind: '%s' is not one of nats, redis%s", where, shown,
		                 hint);
	}
	if ((bp->transport.kind = acrt__strdup(s)) == NULL)
		return acrt__err(L, m, "out of memory");
	bool nats = s[0] == 'n', url_creds = false;
	const acrt__ynode *u = acrt__ynode_get(m, "url");
	if (u == NULL || u->kind == ACRT__Y_NULL)
		rc = acrt__err(L, m, "%s: missing required key 'url' (e.g. %s)", where,
		               nats ? "nats://127.0.0.1:4222" : "redis://127.0.0.1:6379");
	else if (u->kind != ACRT__Y_STR)
		rc = acrt__err_type(L, u, "runtime.transport.url", "a string");
	else if (check_url(L, u, nats, &url_creds) < 0)
		rc = -1;
	if ((r = acrt__get_str(L, m, "user", &s)) < 0)
		rc = -1;
	else if (r == 1 && *s == '\0')
		rc = acrt__err(L, acrt__ynode_get(m, "user"), "%s.user: expected a name, got ''",
		               where);
	else if (r == 1 && (bp->transport.user = acrt__strdup(s)) == NULL)
		return acrt__err(L, m, "out of memory");
	if (file_key(L, m, "token_file", where, &bp->transport.token_file) < 0 ||
	    file_key(L, m, "password_file", where, &bp->transport.password_file) < 0 ||
	    file_key(L, m, "creds_file", where, &bp->transport.creds_file) < 0)
		rc = -1;
	const acrt__ynode *t = NULL;
	if ((r = acrt__get_map(L, m, "tls", &t)) < 0)
		rc = -1;
	else if (r == 1 && parse_tls(L, t) < 0)
		rc = -1;
	if (rc == 0 && check_auth(L, m, nats, url_creds) < 0)
		rc = -1;
	return rc;
}

int
acrt__nodes_parse(acrt__bpload *L)
{
	const acrt__ynode *root = L->deploy;
	int rc = 0;
	if (root == NULL || root->kind != ACRT__Y_MAP)
		return 0;
	const acrt__ynode *key = acrt__ynode_key(root, "nodes"),
	                  *m = acrt__ynode_get(root, "nodes");
	if (m != NULL && m->kind != ACRT__Y_NULL && parse_nodes(L, key, m) < 0)
		rc = -1;
	const acrt__ynode *rt = acrt__ynode_get(root, "runtime");
	const acrt__ynode *t =
	    rt && rt->kind == ACRT__Y_MAP ? acrt__ynode_get(rt, "transport") : NULL;
	if (t != NULL && t->kind != ACRT__Y_NULL) {
		if (t->kind != ACRT__Y_MAP)
			rc = acrt__err_type(L, t, "runtime.transport", "a mapping {kind, url}");
		else if (parse_transport(L, t) < 0)
			rc = -1;
	}
	return rc;
}

int
acrt__nodes_check(acrt__bpload *L)
{
	const acrt__blueprint *bp = L->bp;
	const acrt__ynode *root = L->deploy, *rt = NULL;
	if (bp->nodes.n == 0 || root == NULL)
		return 0;
	int spread = acrt__nodes_check_spread(L);
	if (bp->transport.kind != NULL)
		return spread;
	rt = acrt__ynode_get(root, "runtime");
	if (rt && rt->kind == ACRT__Y_MAP && acrt__ynode_get(rt, "transport") != NULL)
		return spread; /* there, but wrong: reported already */
	size_t n = 0, first = 0;
	for (size_t i = 0; i < bp->n_bindings; i++)
		if (acrt__blueprint_crosses(bp, &bp->bindings[i]) && n++ == 0)
			first = i;
	if (n == 0)
		return spread;
	const acrt__binding_spec *b = &bp->bindings[first];
	char more[64] = "";
	if (n > 1)
		snprintf(more, sizeof more, " (and %zu more)", n - 1);
	return acrt__err(L, acrt__ynode_key(root, "nodes"),
	                 "runtime.transport: missing, and binding %s.%s -> %s.%s crosses nodes "
	                 "('%s' -> '%s')%s: set runtime.transport {kind: nats|redis, url: ...}",
	                 bp->comps[b->from_comp].name, b->from_port, bp->comps[b->to_comp].name,
	                 b->to_port, acrt__blueprint_comp_node(bp, b->from_comp),
	                 acrt__blueprint_comp_node(bp, b->to_comp), more);
}

void
acrt__nodes_free(acrt__blueprint *bp)
{
	if (bp->nodes.n_all_comps > 0) {
		bp->n_comps = bp->nodes.n_all_comps;
		bp->n_bindings = bp->nodes.n_all_bindings;
		bp->nodes.n_all_comps = bp->nodes.n_all_bindings = 0;
	}
	for (size_t i = 0; i < bp->nodes.n; i++)
		acrt__free(bp->nodes.names[i]);
	acrt__free(bp->nodes.names);
	acrt__free(bp->nodes.of_comp);
	acrt__free(bp->nodes.on_comp);
	bp->nodes.names = NULL;
	bp->nodes.of_comp = NULL;
	bp->nodes.on_comp = NULL;
	bp->nodes.n = 0;
	bp->nodes.self = NULL;
	char **own[] = {&bp->transport.kind,          &bp->transport.url,
	                &bp->transport.user,          &bp->transport.token_file,
	                &bp->transport.password_file, &bp->transport.creds_file,
	                &bp->transport.tls_ca_file,   &bp->transport.tls_cert_file,
	                &bp->transport.tls_key_file,  &bp->state.store_name};
	for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
		acrt__free(*own[i]);
		*own[i] = NULL;
	}
}

/* ---- Picking and narrowing to one node ------------------------------------- */

const char *
acrt__blueprint_comp_node(const acrt__blueprint *bp, size_t idx)
{
	size_t total = bp->nodes.n_all_comps ? bp->nodes.n_all_comps : bp->n_comps;
	if (bp->nodes.n == 0 || idx >= total || bp->nodes.of_comp[idx] >= bp->nodes.n)
		return NULL;
	return bp->nodes.names[bp->nodes.of_comp[idx]];
}

uint64_t
acrt__blueprint_comp_nodes(const acrt__blueprint *bp, size_t idx)
{
	size_t total = bp->nodes.n_all_comps ? bp->nodes.n_all_comps : bp->n_comps;
	return bp->nodes.n == 0 || idx >= total ? 0 : bp->nodes.on_comp[idx];
}

bool
acrt__blueprint_crosses(const acrt__blueprint *bp, const acrt__binding_spec *b)
{
	uint64_t a = acrt__blueprint_comp_nodes(bp, b->from_comp);
	uint64_t z = acrt__blueprint_comp_nodes(bp, b->to_comp);
	return a != 0 && z != 0 && a != z;
}

size_t
acrt__blueprint_node_index(const acrt__blueprint *bp)
{
	for (size_t k = 0; bp->nodes.self != NULL && k < bp->nodes.n; k++)
		if (bp->nodes.names[k] == bp->nodes.self)
			return k;
	return SIZE_MAX;
}

/* Whether component idx runs on the picked node. */
static bool
here(const acrt__blueprint *bp, size_t idx)
{
	size_t k = acrt__blueprint_node_index(bp);
	return k != SIZE_MAX && (acrt__blueprint_comp_nodes(bp, idx) & (UINT64_C(1) << k)) != 0;
}

int
acrt__blueprint_node_pick(acrt__blueprint *bp, const char *name, char *err, size_t errlen)
{
	if (bp->nodes.n == 0) {
		snprintf(err, errlen,
		         "--node %s: the deployment has no nodes: (without it, the whole system "
		         "runs in this process: leave --node out)",
		         name);
		return -1;
	}
	for (size_t k = 0; k < bp->nodes.n; k++) {
		if (strcmp(bp->nodes.names[k], name) != 0)
			continue;
		const char *sys = bp->name ? bp->name : "system";
		char *store = acrt__bp_printf("%s.%s", sys, name);
		if (store == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		acrt__free(bp->state.store_name);
		bp->state.store_name = store;
		bp->nodes.self = bp->nodes.names[k];
		return 0;
	}
	size_t off = (size_t)snprintf(err, errlen,
	                              "--node %s: no such node (the deployment's "
	                              "nodes: ",
	                              name);
	for (size_t k = 0; k < bp->nodes.n && off < errlen; k++)
		off += (size_t)snprintf(err + off, errlen - off, "%s%s", k ? ", " : "",
		                        bp->nodes.names[k]);
	if (off < errlen)
		snprintf(err + off, errlen - off, ")");
	return -1;
}

/* 0 the node's own, 1 between it and another node, 2 elsewhere. */
static int
binding_class(const acrt__blueprint *bp, const acrt__binding_spec *b)
{
	bool from = here(bp, b->from_comp), to = here(bp, b->to_comp);
	return from && to ? 0 : from || to ? 1 : 2;
}

int
acrt__blueprint_node_narrow(acrt__blueprint *bp)
{
	if (bp->nodes.self == NULL || bp->nodes.n_all_comps > 0)
		return 0;
	size_t nc = bp->n_comps, nb = bp->n_bindings, local = 0, own = 0, remote = 0, at = 0;
	size_t *newpos = acrt__malloc((nc ? nc : 1) * sizeof *newpos);
	size_t *of = acrt__malloc((nc ? nc : 1) * sizeof *of);
	uint64_t *on = acrt__malloc((nc ? nc : 1) * sizeof *on);
	acrt__comp_spec *comps = acrt__malloc((nc ? nc : 1) * sizeof *comps);
	acrt__binding_spec *binds = acrt__malloc((nb ? nb : 1) * sizeof *binds);
	int rc = -1;
	if (!newpos || !of || !on || !comps || !binds)
		goto cleanup;
	for (size_t i = 0; i < nc; i++)
		local += here(bp, i);
	for (int pass = 0; pass < 2; pass++) /* the node's components, then the others */
		for (size_t i = 0; i < nc; i++)
			if (here(bp, i) == (pass == 0)) {
				newpos[i] = at;
				comps[at] = bp->comps[i];
				on[at] = bp->nodes.on_comp[i];
				of[at++] = bp->nodes.of_comp[i];
			}
	at = 0;
	for (int cls = 0; cls < 3; cls++)
		for (size_t i = 0; i < nb; i++)
			if (binding_class(bp, &bp->bindings[i]) == cls) {
				binds[at] = bp->bindings[i];
				binds[at].from_comp = newpos[bp->bindings[i].from_comp];
				binds[at].to_comp = newpos[bp->bindings[i].to_comp];
				at++;
				own += cls == 0;
				remote += cls == 1;
			}
	memcpy(bp->comps, comps, nc * sizeof *comps);
	memcpy(bp->bindings, binds, nb * sizeof *binds);
	memcpy(bp->nodes.of_comp, of, nc * sizeof *of);
	memcpy(bp->nodes.on_comp, on, nc * sizeof *on);
	bp->nodes.n_all_comps = nc;
	bp->nodes.n_all_bindings = nb;
	bp->n_comps = local;
	bp->n_bindings = own;
	bp->nodes.n_remote = remote;
	acrt__free(bp->topo); /* the harness's order, over the node's components */
	bp->topo = NULL;
	if (acrt__graph_topo(bp) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	acrt__free(newpos);
	acrt__free(of);
	acrt__free(on);
	acrt__free(comps);
	acrt__free(binds);
	return rc;
}

char *
acrt__blueprint_run_dir(const acrt__blueprint *bp)
{
	if (bp->nodes.self == NULL)
		return acrt__path_join(bp->dir, ".acrt");
	return acrt__bp_printf("%s/.acrt/%s", bp->dir, bp->nodes.self);
}
