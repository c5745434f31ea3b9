/*
 * load.c - the public entry points of the blueprint module: finds the files
 * (a directory holding architecture.yaml and an optional deployment.yaml, or
 * a YAML file with an optional deployment.yaml beside it, or an explicit
 * deployment path), sets every deployment default, then runs the stages in
 * order: arch -> deploy -> config -> bindings -> graph -> topo.
 *
 * Stages after a failed one still run when their input is usable, so that one
 * `acrt validate` reports as much as it can; the graph checks run only on a
 * blueprint that is otherwise valid, because a broken binding would make them
 * report echoes of the same mistake.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blueprint/bp_int.h"

static void
free_ports(acrt__port_spec *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		acrt__free(p[i].name);
		json_decref(p[i].schema);
	}
	acrt__free(p);
}

void
acrt__blueprint_free(acrt__blueprint *bp)
{
	if (!bp)
		return;
	acrt__nodes_free(bp); /* first: a node's blueprint gets its counts back */
	for (size_t i = 0; i < bp->n_comps; i++) {
		acrt__comp_spec *c = &bp->comps[i];
		acrt__free(c->name);
		acrt__free(c->type);
		acrt__free(c->dialect_type);
		acrt__free(c->plugin_path);
		acrt__free(c->plugin_symbol);
		json_decref(c->config);
		free_ports(c->inputs, c->n_inputs);
		free_ports(c->outputs, c->n_outputs);
		json_decref(c->capabilities);
		json_decref(c->batching);
		json_decref(c->state);
	}
	acrt__free(bp->comps);
	for (size_t i = 0; i < bp->n_bindings; i++) {
		acrt__free(bp->bindings[i].from_port);
		acrt__free(bp->bindings[i].to_port);
	}
	acrt__free(bp->bindings);
	json_decref(bp->schemas);
	json_decref(bp->runtime);
	acrt__free(bp->topo);
	acrt__free(bp->dir);
	acrt__free(bp->state.adapter);
	acrt__free(bp->state.path);
	acrt__free(bp->state.redis_url);
	acrt__free(bp->api.listen);
	acrt__free(bp->api.read_token_file);
	acrt__free(bp->api.write_token_file);
	acrt__free(bp->api.tls_cert);
	acrt__free(bp->api.tls_key);
	acrt__free(bp->api.tls_client_ca);
	acrt__free(bp->alert_rules);
	acrt__free(bp->alert_webhook);
	acrt__free(bp->arch_path);
	acrt__free(bp->deploy_path);
	acrt__free(bp->name);
	acrt__free(bp->version);
	acrt__free(bp->description);
	acrt__free(bp);
}

long
acrt__blueprint_find(const acrt__blueprint *bp, const char *name)
{
	if (!bp || !name)
		return -1;
	for (size_t i = 0; i < bp->n_comps; i++)
		if (bp->comps[i].name && !strcmp(bp->comps[i].name, name))
			return (long)i;
	return -1;
}

static bool
is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Fills arch_path, deploy_path and dir. -1 after reporting. */
static int
find_files(acrt__blueprint *bp, const char *path, const char *deploy_path, acrt__diag *diag)
{
	struct stat st;
	char *dir = NULL;
	acrt__mark m = {path, 1, 1};
	if (stat(path, &st) < 0)
		return acrt__diag_add(diag, &m, "cannot open '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		size_t len = strlen(path);
		while (len > 1 && path[len - 1] == '/')
			len--;
		if (!(bp->arch_path = acrt__bp_printf("%.*s/architecture.yaml", (int)len, path)) ||
		    !(dir = acrt__bp_strndup(path, len)))
			goto nomem;
	} else {
		const char *slash = strrchr(path, '/');
		if (!(bp->arch_path = acrt__strdup(path)))
			goto nomem;
		dir = slash ? acrt__bp_strndup(path, slash == path ? 1 : (size_t)(slash - path))
		            : acrt__strdup(".");
		if (!dir)
			goto nomem;
	}
	if (deploy_path) {
		if (!(bp->deploy_path = acrt__strdup(deploy_path)))
			goto nomem;
	} else {
		char *cand = acrt__bp_printf("%s/deployment.yaml", dir);
		if (!cand)
			goto nomem;
		char ra[PATH_MAX], rb[PATH_MAX];
		bool same = realpath(cand, ra) && realpath(bp->arch_path, rb) && !strcmp(ra, rb);
		if (is_file(cand) && !same)
			bp->deploy_path = cand;
		else
			acrt__free(cand);
	}
	char *real = realpath(dir, NULL); /* libc's malloc: copied */
	if (!real) {
		acrt__diag_add(diag, &m, "cannot open '%s': %s", dir, strerror(errno));
		acrt__free(dir);
		return -1;
	}
	bp->dir = acrt__strdup(real);
	free(real);
	if (!bp->dir)
		goto nomem;
	acrt__free(dir);
	return 0;
nomem:
	acrt__free(dir);
	return acrt__diag_add(diag, &m, "out of memory");
}

int
acrt__blueprint_load(const char *path, const char *deploy_path, acrt__blueprint **out,
                     acrt__diag *diag)
{
	acrt__bpload L = {0};
	acrt__blueprint *bp = acrt__calloc(1, sizeof *bp);
	acrt__diag scratch = {0};
	int rc = -1;
	if (!diag)
		diag = &scratch;
	if (!bp) {
		acrt__mark m = {path, 1, 1};
		acrt__diag_add(diag, &m, "out of memory");
		goto cleanup;
	}
	L.bp = bp;
	L.diag = diag;
	bp->default_buffer = 1024;
	bp->startup_timeout_ms = 30000;
	bp->shutdown_timeout_ms = 10000;
	bp->chaining = true;
	bp->state.interval_s = 10;
	bp->state.align_timeout_ms = 10000;
	bp->state.retain = 5;
	bp->log_level = ACRT_LOG_INFO;
	bp->log_format = ACRT__LOG_FORMAT_AUTO;
	L.batch_dflt = (acrt__batch_spec){.max_items = 64, .max_ns = 5 * 1000000LL};
	bp->schemas = json_object();
	bp->runtime = json_object();
	if (!bp->schemas || !bp->runtime) {
		acrt__mark m = {path, 1, 1};
		acrt__diag_add(diag, &m, "out of memory");
		goto cleanup;
	}
	if (find_files(bp, path ? path : ".", deploy_path, diag) < 0)
		goto cleanup;

	bool arch_ok = acrt__yaml_load(bp->arch_path, &L.arch, diag) == 0;
	bool deploy_ok = !bp->deploy_path || acrt__yaml_load(bp->deploy_path, &L.deploy, diag) == 0;
	if (!arch_ok)
		goto cleanup;
	if (acrt__arch_parse(&L) < 0 && !bp->comps)
		goto cleanup;
	if (deploy_ok)
		acrt__deploy_parse(&L);
	acrt__bindings_dialect(&L);
	acrt__dialect_labels(&L);
	acrt__config_check(&L);
	acrt__bindings_parse(&L);
	if (deploy_ok)
		acrt__nodes_check(&L); /* a transport when a binding crosses nodes */
	acrt__caps_check(&L);
	if (L.errors == 0 && deploy_ok)
		acrt__graph_check(&L);
	if (L.errors || !deploy_ok)
		goto cleanup;
	if (acrt__graph_topo(bp) < 0) {
		acrt__err(&L, NULL, "out of memory");
		goto cleanup;
	}
	*out = bp;
	bp = NULL;
	rc = 0;
cleanup:
	acrt__ynode_free(L.arch);
	acrt__ynode_free(L.deploy);
	acrt__free(L.aux);
	acrt__free(L.labels);
	acrt__free(L.schema_refs);
	acrt__blueprint_free(bp);
	acrt__diag_free(&scratch);
	return rc;
}
