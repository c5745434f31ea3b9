/*
 * deploy.c - reads deployment.yaml (SPEC section 2): buffers, timeouts,
 * logging, chaining and state into typed fields; batching's defaults into the
 * loader (rules.c resolves each component's); api (listen, auth, tls), alerts
 * and alert_webhook checked key by key and value by value as their subsystems
 * read them (observe/api*.c, alerts.c, through the same rule check), then kept
 * raw in bp->runtime for them; and component_overrides: config deep-merged
 * over the component's (arch.c merges it before the Autocoder dialect maps
 * the component's type, acrt__override_premerge, so that an override may use
 * the original's keys), replicas. Every unknown key is an error.
 * Defaults are set by load.c before this runs, so a missing file or key
 * simply leaves them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "blueprint/alert_rule.h"
#include "blueprint/bp_int.h"
#include "core/common.h"
#include "core/httpd.h"

static const char *const dep_keys[] = {"schema_version",      "system_name", "runtime",
                                       "component_overrides", "nodes",       NULL};
/* plugin_dirs is read by plugins.c, just before the plugins are opened;
 * transport (and the top-level nodes) by nodes.c. */
static const char *const rt_keys[] = {"buffers",  "timeouts",    "batching",      "state",
                                      "api",      "alerts",      "alert_webhook", "logging",
                                      "chaining", "plugin_dirs", "transport",     NULL};
static const char *const buf_keys[] = {"default_size", NULL};
static const char *const to_keys[] = {"startup_timeout_ms", "shutdown_timeout_ms", NULL};
static const char *const log_keys[] = {"level", "format", NULL};
static const char *const ovr_keys[] = {"config", "configuration", "replicas", NULL};
static const char *const state_keys[] = {
    "adapter", "redis_url", "path", "checkpoint_interval_s", "checkpoint_timeout_ms",
    "retain",  NULL};
static const char *const adapters[] = {"sqlite_snapshot", "redis_snapshot", "inmem_ephemeral",
                                       NULL};
static const char *const api_keys[] = {"listen", "auth", "tls", NULL};
static const char *const auth_keys[] = {"read_token_file", "write_token_file", NULL};
static const char *const tls_keys[] = {"cert", "key", "client_ca", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const formats[] = {"auto", "text", "json", NULL};

/* Objects merge key by key, recursively; anything else replaces. */
static int
deep_merge(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach(src, k, v)
	{
		json_t *d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v)) {
			if (deep_merge(d, v) < 0)
				return -1;
		} else if (json_object_set(dst, k, v) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
pick(acrt__bpload *L, const acrt__ynode *map, const char *key, const char *const *allowed, int *out)
{
	const char *s;
	int rc = acrt__get_str(L, map, key, &s);
	if (rc <= 0)
		return rc;
	for (int i = 0; allowed[i]; i++) {
		if (!strcmp(allowed[i], s)) {
			*out = i;
			return 1;
		}
	}
	for (int i = 0; allowed[i]; i++) { /* the original writes INFO, WARNING */
		if (!strcasecmp(allowed[i], s) ||
		    (!strcasecmp(s, "warning") && !strcmp(allowed[i], "warn"))) {
			*out = i;
			return acrt__note(L, acrt__ynode_get(map, key), "%s: '%s' read as '%s'",
			                  key, s, allowed[i]) < 0
			           ? -1
			           : 1;
		}
	}
	char hint[128] = "";
	const acrt__ynode *at = acrt__ynode_get(map, key);
	const char *shown = acrt__ynode_show(at, s); /* ${VAR}: named, not quoted */
	if (shown == s)
		acrt__hint(hint, sizeof hint, s, allowed, (size_t)-1);
	return acrt__err(L, at, "%s: '%s' is not one of %s%s", key, shown,
	                 !strcmp(key, "level") ? "debug, info, warn, error" : "json, text, auto",
	                 hint);
}

/* runtime.state into bp->state (defaults for what is absent). */
static int
parse_state(acrt__bpload *L, const acrt__ynode *m)
{
	acrt__blueprint *bp = L->bp;
	const char *s = NULL;
	int64_t v;
	int r, rc = acrt__check_keys(L, m, state_keys, "in runtime.state");
	bp->state.on = true;
	if ((r = acrt__get_str(L, m, "adapter", &s)) < 0) {
		rc = -1;
	} else if (r == 1) {
		size_t i = 0;
		while (adapters[i] && strcmp(adapters[i], s) != 0)
			i++;
		if (adapters[i] == NULL) {
			char hint[128] = "";
			const acrt__ynode *at = acrt__ynode_get(m, "adapter");
			const char *shown = acrt__ynode_show(at, s);
			if (shown == s)
				acrt__hint(hint, sizeof hint, s, adapters, (size_t)-1);
			rc = acrt__err(
			    L, at,
			    "adapter: '%s' is not one of sqlite_snapshot, redis_snapshot, "
			    "inmem_ephemeral%s",
			    shown, hint);
		} else if (!(bp->state.adapter = acrt__strdup(s))) {
			return acrt__err(L, m, "out of memory");
		}
	}
	if ((r = acrt__get_str(L, m, "path", &s)) < 0)
		rc = -1;
	else if (r == 1 && !(bp->state.path = acrt__path_join(bp->dir, s)))
		return acrt__err(L, m, "out of memory");
	if ((r = acrt__get_str(L, m, "redis_url", &s)) < 0)
		rc = -1;
	else if (r == 1 && strncmp(s, "redis://", 8) != 0)
		rc = acrt__err(L, acrt__ynode_get(m, "redis_url"),
		               "redis_url: expected redis://[:password@]host:port[/db]");
	else if (r == 1 && !(bp->state.redis_url = acrt__strdup(s)))
		return acrt__err(L, m, "out of memory");
	const acrt__ynode *iv = acrt__ynode_get(m, "checkpoint_interval_s");
	if (iv && iv->kind != ACRT__Y_NULL) {
		double d = iv->kind == ACRT__Y_INT ? (double)iv->i : iv->f;
		if (iv->kind != ACRT__Y_INT && iv->kind != ACRT__Y_FLOAT)
			rc = acrt__err_type(L, iv, "checkpoint_interval_s", "a number");
		else if (!(d >= 0 && d <= 86400))
			rc = acrt__err(L, iv, "checkpoint_interval_s must be between 0 and 86400");
		else
			bp->state.interval_s = d;
	}
	if ((r = acrt__get_int(L, m, "checkpoint_timeout_ms", 1, &v)) < 0)
		rc = -1;
	else if (r == 1)
		bp->state.align_timeout_ms = v;
	if ((r = acrt__get_int(L, m, "retain", 1, &v)) < 0)
		rc = -1;
	else if (r == 1)
		bp->state.retain = v;
	return rc;
}

/* A file (relative to the blueprint) under key of map, when present: *out is
 * its absolute path. The file must be readable now, as `acrt run` will read
 * it (its content is not read here: it may be a secret). */
static int
path_key(acrt__bpload *L, const acrt__ynode *map, const char *key, bool required, const char *where,
         char **out)
{
	const char *s;
	int r = acrt__get_str(L, map, key, &s);
	const acrt__ynode *at = acrt__ynode_get(map, key);
	if (r == 1 && *s == '\0')
		return acrt__err(L, at, "%s: expected a path, got ''", key);
	if (r == 0 && required)
		return acrt__err(L, map, "%s: missing required key '%s'", where, key);
	if (r != 1)
		return r < 0 ? -1 : 0;
	acrt__free(*out);
	if ((*out = acrt__path_join(L->bp->dir, s)) == NULL)
		return acrt__err(L, at, "out of memory");
	if (access(*out, R_OK) != 0)
		return acrt__err(L, at, "%s.%s: cannot read %s: %s", where, key, *out,
		                 strerror(errno));
	return 0;
}

/* runtime.api: {listen, auth: {read_token_file, write_token_file}, tls: {cert,
 * key, client_ca}} (docs/API.md). */
static int
parse_api(acrt__bpload *L, const acrt__ynode *m)
{
	const acrt__ynode *sub = NULL;
	const char *s;
	acrt__blueprint *bp = L->bp;
	int r, rc = acrt__check_keys(L, m, api_keys, "in runtime.api");
	if ((r = acrt__get_str(L, m, "listen", &s)) < 0) {
		rc = -1;
	} else if (r == 1) {
		char host[256], port[16];
		if (acrt__listen_split(s, host, sizeof host, port, sizeof port) != 0)
			rc = acrt__err(L, acrt__ynode_get(m, "listen"),
			               "listen: '%s' is not HOST:PORT (e.g. 127.0.0.1:9464, "
			               "[::1]:9464, :9464 for every interface)",
			               s);
		else if (acrt__free(bp->api.listen), (bp->api.listen = acrt__strdup(s)) == NULL)
			return acrt__err(L, m, "out of memory");
	}
	if ((r = acrt__get_map(L, m, "auth", &sub)) < 0) {
		rc = -1;
	} else if (r == 1) {
		if (acrt__check_keys(
		        L, sub, auth_keys,
		        "in runtime.api.auth (expected read_token_file, write_token_file)") < 0)
			rc = -1;
		char **auth_out[] = {&bp->api.read_token_file, &bp->api.write_token_file};
		for (size_t k = 0; auth_keys[k]; k++)
			if (path_key(L, sub, auth_keys[k], false, "runtime.api.auth", auth_out[k]) <
			    0)
				rc = -1;
	}
	sub = NULL;
	if ((r = acrt__get_map(L, m, "tls", &sub)) < 0) {
		rc = -1;
	} else if (r == 1) {
		if (acrt__check_keys(L, sub, tls_keys, "in runtime.api.tls") < 0)
			rc = -1;
		if (!acrt__http_tls_supported())
			rc = acrt__err(L, sub,
			               "runtime.api.tls: this build's libmicrohttpd has no TLS");
		char **tls_out[] = {&bp->api.tls_cert, &bp->api.tls_key, &bp->api.tls_client_ca};
		for (size_t k = 0; tls_keys[k]; k++)
			if (path_key(L, sub, tls_keys[k], strcmp(tls_keys[k], "client_ca") != 0,
			             "runtime.api.tls", tls_out[k]) < 0)
				rc = -1;
	}
	return rc;
}

/* runtime.alerts: a list of rules, each read once by alert_rule.c into
 * bp->alert_rules (its strings borrowed from bp->runtime, already built from
 * the same nodes); a bad one is reported at its YAML node. */
static int
parse_alerts(acrt__bpload *L, const acrt__ynode *al)
{
	acrt__blueprint *bp = L->bp;
	const json_t *rules = json_object_get(bp->runtime, "alerts");
	int rc = 0;
	if (al->kind != ACRT__Y_SEQ)
		return acrt__err_type(L, al, "alerts", "a list");
	if (al->n > 0 && (bp->alert_rules = acrt__calloc(al->n, sizeof *bp->alert_rules)) == NULL)
		return acrt__err(L, al, "out of memory");
	for (size_t i = 0; i < al->n; i++) {
		const acrt__ynode *it = al->items[i];
		char where[64], msg[256];
		const char *key = NULL;
		if (it->kind != ACRT__Y_MAP) {
			rc = acrt__err_type(L, it, "alert", "a mapping");
			continue;
		}
		snprintf(where, sizeof where, "in runtime.alerts[%zu]", i);
		if (acrt__check_keys(L, it, acrt__alert_rule_keys, where) < 0) {
			rc = -1;
			continue;
		}
		acrt__alert_rule *r = &bp->alert_rules[i];
		if (acrt__alert_rule_parse(json_array_get(rules, i), r, &key, msg, sizeof msg) !=
		    0) {
			const acrt__ynode *at = key ? acrt__ynode_get(it, key) : NULL;
			if (r->name && *r->name)
				rc = acrt__err(L, at ? at : it, "runtime.alerts[%zu] '%s': %s", i,
				               r->name, msg);
			else
				rc = acrt__err(L, at ? at : it, "runtime.alerts[%zu]: %s", i, msg);
		}
	}
	if (rc == 0)
		bp->n_alert_rules = al->n;
	return rc;
}

static int
parse_runtime(acrt__bpload *L, const acrt__ynode *rt)
{
	acrt__blueprint *bp = L->bp;
	const acrt__ynode *m = NULL;
	int64_t v;
	int rc = acrt__dialect_keys(L, rt, rt_keys, ACRT__AT_RUNTIME, "in runtime");

	int r = acrt__get_map(L, rt, "buffers", &m);
	if (r < 0)
		rc = -1;
	if (r == 1) {
		if (acrt__check_keys(L, m, buf_keys, "in runtime.buffers") < 0)
			rc = -1;
		if ((r = acrt__get_int(L, m, "default_size", 1, &v)) < 0)
			rc = -1;
		else if (r == 1)
			bp->default_buffer = (size_t)v;
	}
	m = NULL;
	r = acrt__get_map(L, rt, "timeouts", &m);
	if (r < 0)
		rc = -1;
	if (r == 1) {
		if (acrt__dialect_keys(L, m, to_keys, ACRT__AT_TIMEOUTS, "in runtime.timeouts") < 0)
			rc = -1;
		if ((r = acrt__get_int(L, m, "startup_timeout_ms", 1, &v)) < 0)
			rc = -1;
		else if (r == 1)
			bp->startup_timeout_ms = v;
		if ((r = acrt__get_int(L, m, "shutdown_timeout_ms", 1, &v)) < 0)
			rc = -1;
		else if (r == 1)
			bp->shutdown_timeout_ms = v;
	}
	m = NULL;
	r = acrt__get_map(L, rt, "logging", &m);
	if (r < 0)
		rc = -1;
	if (r == 1) {
		int i = 0;
		if (acrt__dialect_keys(L, m, log_keys, ACRT__AT_LOGGING, "in runtime.logging") < 0)
			rc = -1;
		if ((r = pick(L, m, "level", levels, &i)) < 0)
			rc = -1;
		else if (r == 1)
			bp->log_level = i; /* same order as acrt_log_level */
		if ((r = pick(L, m, "format", formats, &i)) < 0)
			rc = -1;
		else if (r == 1)
			bp->log_format = (acrt__log_format)i; /* same order as acrt__log_format */
	}
	bool chaining;
	if ((r = acrt__get_bool(L, rt, "chaining", &chaining)) < 0)
		rc = -1;
	else if (r == 1)
		bp->chaining = chaining;
	m = NULL;
	if ((r = acrt__get_map(L, rt, "state", &m)) < 0)
		rc = -1;
	else if (r == 1 && parse_state(L, m) < 0)
		rc = -1;
	m = NULL;
	if ((r = acrt__get_map(L, rt, "batching", &m)) < 0)
		rc = -1;
	else if (r == 1 && acrt__batching_read(L, m, NULL, &L->batch_dflt) < 0)
		rc = -1;
	m = NULL;
	if ((r = acrt__get_map(L, rt, "api", &m)) < 0)
		rc = -1;
	else if (r == 1 && parse_api(L, m) < 0)
		rc = -1;
	json_decref(bp->runtime); /* what the rules below borrow, and a reload compares */
	bp->runtime = acrt__ynode_json(rt);
	if (!bp->runtime)
		return acrt__err(L, rt, "out of memory");
	acrt__free(bp->alert_rules);
	bp->alert_rules = NULL;
	bp->n_alert_rules = 0;
	const acrt__ynode *al = acrt__ynode_get(rt, "alerts");
	if (al && al->kind != ACRT__Y_NULL && parse_alerts(L, al) < 0)
		rc = -1;
	const char *s;
	if ((r = acrt__get_str(L, rt, "alert_webhook", &s)) < 0)
		rc = -1;
	else if (r == 1 && *s && strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		rc = acrt__err(L, acrt__ynode_get(rt, "alert_webhook"),
		               "alert_webhook: '%s' is not an http:// or https:// URL", s);

	else if (r == 1 && *s &&
	         (acrt__free(bp->alert_webhook), bp->alert_webhook = acrt__strdup(s)) == NULL)
		return acrt__err(L, rt, "out of memory");
	return rc;
}

/* component_overrides' entry for component `name` (the mapping's value, or
 * the list item), or NULL. */
static const acrt__ynode *
override_of(const acrt__bpload *L, const char *name)
{
	const acrt__ynode *m = L->deploy && L->deploy->kind == ACRT__Y_MAP
	                           ? acrt__ynode_get(L->deploy, "component_overrides")
	                           : NULL;
	if (m && m->kind == ACRT__Y_MAP)
		return acrt__ynode_get(m, name);
	for (size_t i = 0; m && m->kind == ACRT__Y_SEQ && i < m->n; i++) {
		const acrt__ynode *it = m->items[i];
		const acrt__ynode *nm = acrt__ynode_get(it, "name");
		nm = nm ? nm : acrt__ynode_get(it, "component");
		if (nm && nm->kind == ACRT__Y_STR && !strcmp(nm->text, name))
			return it;
	}
	return NULL;
}

int
acrt__override_premerge(acrt__bpload *L, size_t idx)
{
	acrt__comp_spec *c = &L->bp->comps[idx];
	const acrt__ynode *o = override_of(L, c->name);
	const acrt__ynode *cfg = o && o->kind == ACRT__Y_MAP ? acrt__ynode_get(o, "config") : NULL;
	if (o && o->kind == ACRT__Y_MAP && !cfg)
		cfg = acrt__ynode_get(o, "configuration");
	if (!cfg || cfg->kind != ACRT__Y_MAP)
		return 0; /* none, or reported by parse_override */
	json_t *j = acrt__ynode_json(cfg);
	if (!j || deep_merge(c->config, j) < 0) {
		json_decref(j);
		return acrt__err(L, cfg, "out of memory");
	}
	json_decref(j);
	L->aux[idx].ovr_config = cfg;
	L->aux[idx].ovr_merged = true;
	return 0;
}

static int
parse_override(acrt__bpload *L, const acrt__ynode *key, const acrt__ynode *val)
{
	acrt__blueprint *bp = L->bp;
	long idx = acrt__blueprint_find(bp, key->text);
	char where[160];
	int rc = 0;
	int64_t v;
	if (idx < 0) {
		const char *names[256];
		size_t k = 0;
		for (size_t i = 0; i < bp->n_comps && k < 256; i++)
			if (bp->comps[i].name)
				names[k++] = bp->comps[i].name;
		char hint[128];
		acrt__hint(hint, sizeof hint, key->text, names, k);
		if (L->dialect) /* the original never checks override names */
			return acrt__note(L, key,
			                  "component_overrides: no component '%s': not used%s",
			                  key->text, hint);
		return acrt__err(L, key, "component_overrides: unknown component '%s'%s", key->text,
		                 hint);
	}
	if (val->kind == ACRT__Y_NULL)
		return 0;
	if (val->kind != ACRT__Y_MAP)
		return acrt__err_type(L, val, key->text, "a mapping");
	snprintf(where, sizeof where, "in component_overrides.%s", key->text);
	rc = acrt__dialect_keys(L, val, ovr_keys, ACRT__AT_OVERRIDE, where);
	acrt__comp_spec *c = &bp->comps[idx];
	const acrt__ynode *cfg = acrt__ynode_get(val, "config");
	const char *ck = "config";
	if (!cfg) {
		cfg = acrt__ynode_get(val, "configuration");
		ck = "configuration";
	}
	if (cfg && cfg->kind != ACRT__Y_NULL && !L->aux[idx].ovr_merged) {
		if (cfg->kind != ACRT__Y_MAP)
			return acrt__err_type(L, cfg, ck, "a mapping");
		json_t *j = acrt__ynode_json(cfg);
		if (!j || deep_merge(c->config, j) < 0) {
			json_decref(j);
			return acrt__err(L, cfg, "out of memory");
		}
		json_decref(j);
		L->aux[idx].ovr_config = cfg;
	}
	L->aux[idx].ovr_replicas = acrt__ynode_get(val, "replicas");
	int r = acrt__get_int(L, val, "replicas", 1, &v);
	if (r < 0)
		rc = -1;
	else if (r == 1 && v > ACRT__MAX_REPLICAS)
		rc = acrt__err(L, acrt__ynode_get(val, "replicas"), "replicas must be <= %d",
		               ACRT__MAX_REPLICAS);
	else if (r == 1)
		c->replicas = (int)v;
	return rc;
}

/* component_overrides as a list of {name | component, ...} (the form the
 * original's docs describe): each item is read as component_overrides.NAME
 * without its name key. */
static int
override_list(acrt__bpload *L, const acrt__ynode *list)
{
	int rc = 0;
	L->dialect = true;
	for (size_t i = 0; i < list->n; i++) {
		acrt__ynode *it = list->items[i];
		const char *nk = acrt__ynode_get(it, "name") ? "name" : "component";
		const acrt__ynode *nm = acrt__ynode_get(it, nk);
		if (it->kind != ACRT__Y_MAP) {
			rc = acrt__err_type(L, it, "component_overrides item", "a mapping");
			continue;
		}
		if (!nm || nm->kind != ACRT__Y_STR) {
			rc = nm ? acrt__err_type(L, nm, nk, "a component name")
			        : acrt__err(L, it,
			                    "component_overrides item: missing required key "
			                    "'name' (or 'component')");
			continue;
		}
		/* The item without its name key: a shallow view over its nodes. */
		acrt__ynode view = *it;
		acrt__ynode *keys[64], *items[64];
		view.keys = keys;
		view.items = items;
		view.n = 0;
		for (size_t j = 0; j < it->n; j++) {
			if (!strcmp(it->keys[j]->text, nk))
				continue;
			if (view.n == 64) {
				rc = acrt__err(L, it->keys[j], "too many keys in one override");
				break;
			}
			keys[view.n] = it->keys[j];
			items[view.n++] = it->items[j];
		}
		if (view.n <= 64 && parse_override(L, nm, &view) < 0)
			rc = -1;
	}
	return rc;
}

int
acrt__deploy_parse(acrt__bpload *L)
{
	const acrt__ynode *root = L->deploy, *m = NULL;
	const char *s;
	int rc = 0, r;
	if (!root)
		return 0;
	if (root->kind == ACRT__Y_NULL)
		return 0;
	if (root->kind != ACRT__Y_MAP)
		return acrt__err_type(L, root, "deployment", "a mapping at the top level");
	if (acrt__dialect_keys(L, root, dep_keys, ACRT__AT_DEPLOY, "in the deployment") < 0)
		rc = -1;
	if (acrt__get_text(L, root, "schema_version", &s) == 1 && strncmp(s, "1.", 2) &&
	    strcmp(s, "1"))
		rc = acrt__err(L, acrt__ynode_get(root, "schema_version"),
		               "unsupported schema_version '%s' (this release reads 1.x)", s);
	r = acrt__get_str(L, root, "system_name", &s);
	if (r < 0)
		rc = -1;
	else if (r == 1 && L->bp->name && strcmp(s, L->bp->name))
		rc = acrt__err(L, acrt__ynode_get(root, "system_name"),
		               "system_name '%s' does not match system.name '%s'", s, L->bp->name);
	r = acrt__get_map(L, root, "runtime", &m);
	if (r < 0)
		rc = -1;
	else if (r == 1 && parse_runtime(L, m) < 0)
		rc = -1;
	m = acrt__ynode_get(root, "component_overrides");
	if (m && m->kind == ACRT__Y_SEQ) { /* the original's docs: a list */
		if (override_list(L, m) < 0)
			rc = -1;
	} else if ((r = acrt__get_map(L, root, "component_overrides", &m)) < 0) {
		rc = -1;
	} else {
		for (size_t i = 0; r == 1 && i < m->n; i++)
			if (parse_override(L, m->keys[i], m->items[i]) < 0)
				rc = -1;
	}
	if (acrt__nodes_parse(L) < 0) /* nodes: and runtime.transport */
		rc = -1;
	return rc;
}
