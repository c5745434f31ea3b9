/*
 * plugins.c - which plugins a blueprint may load (docs/SECURITY.md, "The trust
 * model"). A shared object's constructors run the moment it is dlopened, with
 * acrt's environment and privileges, and before anything is validated, so a
 * `plugin:PATH#SYMBOL` (a component's implementation, a capability's key) is
 * checked before anything opens it:
 *
 *   1. PATH (made absolute against the blueprint directory) is resolved with
 *      realpath(): `..`, `.` and every symbolic link are gone;
 *   2. the result must lie under one of the allowed directories, themselves
 *      realpath'd: runtime.plugin_dirs of the deployment (default: the
 *      blueprint directory), the installed plugin directory LIBDIR/acrt (found
 *      from where the executable is, so a relocated install works), and each
 *      directory of $ACRT_PLUGIN_DIRS (colon-separated);
 *   3. only then is it dlopened, to check its ABI and read its property table
 *      (config.c; capability plugins below), and closed again.
 *
 * A refused plugin is never opened, by validate, graph, lock or run (they all
 * load the blueprint through this check first; a hot reload too). When the
 * deployment file exists but cannot be parsed, the allowlist is unknown and no
 * plugin is opened at all (the load fails on the deployment's errors anyway).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blueprint/bp_int.h"
#include "core/common.h"
#include "core/plugin.h"

/* Set by cmake/install.cmake from GNUInstallDirs: the executable's directory
 * and the plugin directory relative to it. */
#ifndef ACRT_INSTALL_BINDIR
#define ACRT_INSTALL_BINDIR "bin"
#endif
#ifndef ACRT_PLUGIN_DIR_FROM_BIN
#define ACRT_PLUGIN_DIR_FROM_BIN "../lib/acrt"
#endif

char *
acrt__bp_plugin_path(const acrt__blueprint *bp, const char *path)
{
	return acrt__path_join(bp->dir, strncmp(path, "./", 2) ? path : path + 2);
}

void
acrt__plugin_allow_free(acrt__plugin_allow *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		acrt__free(a->dirs[i]);
	acrt__free(a->dirs);
	a->dirs = NULL;
	a->n = 0;
}

/* Adds realpath(dir) when it is a directory. 1 added, 0 skipped because it does
 * not exist, -1 with errno (ENOTDIR when it is not a directory; ENOMEM). */
static int
allow_add(acrt__plugin_allow *a, const char *dir)
{
	struct stat st;
	char *real = realpath(dir, NULL); /* libc's malloc: copied */
	if (real == NULL)
		return errno == ENOENT ? 0 : -1;
	int rc = -1;
	if (stat(real, &st) != 0)
		goto cleanup;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto cleanup;
	}
	char **dirs = acrt__realloc(a->dirs, (a->n + 1) * sizeof *dirs);
	if (dirs == NULL)
		goto nomem;
	a->dirs = dirs;
	if ((a->dirs[a->n] = acrt__strdup(real)) == NULL)
		goto nomem;
	a->n++;
	rc = 1;
	goto cleanup;
nomem:
	errno = ENOMEM;
cleanup:
	free(real);
	return rc;
}

/* LIBDIR/acrt of the install this executable belongs to, when it runs from
 * its install's BINDIR (not from a build tree). 0 with out, or -1. */
static int
installed_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL || slash == exe)
		return -1;
	*slash = '\0';
	size_t el = strlen(exe), bl = strlen(ACRT_INSTALL_BINDIR);
	bool in_bindir = ACRT_INSTALL_BINDIR[0] == '/'
	                     ? strcmp(exe, ACRT_INSTALL_BINDIR) == 0
	                     : el > bl && exe[el - bl - 1] == '/' &&
	                           strcmp(exe + el - bl, ACRT_INSTALL_BINDIR) == 0;
	if (!in_bindir)
		return -1;
	int w = snprintf(out, len, "%s/%s", exe, ACRT_PLUGIN_DIR_FROM_BIN);
	return w > 0 && (size_t)w < len ? 0 : -1;
}

/* runtime.plugin_dirs: a list of directories (relative to the blueprint
 * directory). 1 read, 0 absent, -1 after reporting. */
static int
read_deployment(acrt__bpload *L, acrt__plugin_allow *a)
{
	const acrt__ynode *rt = acrt__ynode_get(L->deploy, "runtime");
	const acrt__ynode *list = rt ? acrt__ynode_get(rt, "plugin_dirs") : NULL;
	if (list == NULL || list->kind == ACRT__Y_NULL)
		return 0;
	if (list->kind != ACRT__Y_SEQ)
		return acrt__err_type(L, list, "runtime.plugin_dirs", "a list of directories");
	int rc = 1;
	for (size_t i = 0; i < list->n; i++) {
		const acrt__ynode *it = list->items[i];
		if (it->kind != ACRT__Y_STR || it->text[0] == '\0') {
			rc = acrt__err_type(L, it, "runtime.plugin_dirs", "a directory path");
			continue;
		}
		char *dir = acrt__path_join(L->bp->dir, it->text);
		if (dir == NULL)
			return acrt__err(L, it, "out of memory");
		/* One that does not exist allows nothing (an installed copy of the
		 * quickstart keeps its ../../build/examples). */
		if (allow_add(a, dir) < 0)
			rc = acrt__err(L, it, "runtime.plugin_dirs: '%s': %s",
			               acrt__ynode_show(it, dir), strerror(errno));
		acrt__free(dir);
	}
	return rc;
}

int
acrt__plugin_allow_read(acrt__bpload *L, acrt__plugin_allow *a)
{
	char inst[PATH_MAX];
	int rc = 0;
	a->readable = !(L->bp->deploy_path != NULL && L->deploy == NULL);
	if (!a->readable)
		return 0;
	int r = L->deploy ? read_deployment(L, a) : 0;
	if (r < 0)
		rc = -1;
	if (r == 0 && allow_add(a, L->bp->dir) < 0)
		rc = acrt__err(L, NULL, "out of memory");
	if (installed_dir(inst, sizeof inst) == 0 && allow_add(a, inst) < 0 && errno == ENOMEM)
		rc = acrt__err(L, NULL, "out of memory");
	const char *env = getenv("ACRT_PLUGIN_DIRS");
	while (env != NULL && *env != '\0') {
		const char *colon = strchr(env, ':');
		size_t len = colon ? (size_t)(colon - env) : strlen(env);
		if (len > 0 && len < sizeof inst) {
			memcpy(inst, env, len);
			inst[len] = '\0';
			if (allow_add(a, inst) < 0 && errno == ENOMEM)
				rc = acrt__err(L, NULL, "out of memory");
		}
		env = colon ? colon + 1 : NULL;
	}
	return rc;
}

int
acrt__plugin_allowed(acrt__bpload *L, const acrt__plugin_allow *a, const acrt__ynode *at,
                     const char *key, const char *path)
{
	char *real = realpath(path, NULL); /* libc's malloc */
	if (real == NULL)
		return acrt__err(L, at, "%s: cannot load plugin: %s: %s", key, path,
		                 strerror(errno));
	for (size_t i = 0; i < a->n; i++) {
		size_t dl = strlen(a->dirs[i]);
		if (strncmp(real, a->dirs[i], dl) == 0 && (real[dl] == '/' || dl == 1)) {
			free(real);
			return 0;
		}
	}
	char dirs[1024] = "";
	size_t used = 0;
	for (size_t i = 0; i < a->n && used < sizeof dirs; i++) {
		int w =
		    snprintf(dirs + used, sizeof dirs - used, "%s%s", i ? ", " : "", a->dirs[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	bool same = strcmp(real, path) == 0;
	acrt__err(L, at,
	          "%s: plugin outside the allowed plugin directories: %s%s%s%s (allowed: %s); "
	          "list its directory in runtime.plugin_dirs of the deployment, or move it "
	          "(docs/SECURITY.md)",
	          key, path, same ? "" : " (resolves to ", same ? "" : real, same ? "" : ")",
	          a->n ? dirs : "none");
	free(real);
	return -1;
}

int
acrt__cap_plugins_check(acrt__bpload *L, const acrt__plugin_allow *a, size_t idx)
{
	const acrt__ynode *m = acrt__ynode_get(L->aux[idx].node, "capabilities");
	int rc = 0;
	if (m == NULL || m->kind != ACRT__Y_MAP || !a->readable)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->keys[i]->text;
		char *path = NULL, *sym = NULL, *abs = NULL, err[512], what[600];
		acrt__plugin *so = NULL;
		const acrt_capability_desc *d = NULL;
		/* A malformed reference was reported by arch.c. */
		if (strncmp(k, "plugin:", 7) != 0 || acrt__plugin_parse_ref(k, &path, &sym) != 0)
			continue;
		snprintf(what, sizeof what, "capability '%s'", k);
		if ((abs = acrt__bp_plugin_path(L->bp, path)) == NULL)
			rc = acrt__err(L, m->keys[i], "out of memory");
		else if (acrt__plugin_allowed(L, a, m->keys[i], what, abs) < 0)
			rc = -1;
		else if (acrt__plugin_open_cap(abs, sym, &so, &d, err, sizeof err) != 0)
			rc = acrt__err(L, m->keys[i], "%s: %s", what, err);
		else
			acrt__plugin_close(so);
		acrt__free(abs);
		free(path); /* acrt__plugin_parse_ref's */
		free(sym);
	}
	return rc;
}
