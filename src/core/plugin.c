/*
 * plugin.c - dlopen of `plugin:PATH#SYMBOL` and the ABI check of descriptors
 * (see plugin.h). The check reads abi_version and struct_size first, and only
 * then any other field, so a descriptor from a future or ancient ABI is
 * refused before it can be misread.
 */
#include "core/plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

struct acrt__plugin {
	void *handle;
};

int
acrt__plugin_parse_ref(const char *ref, char **path, char **symbol)
{
	static const char prefix[] = "plugin:";
	if (strncmp(ref, prefix, sizeof prefix - 1) != 0)
		return -1;
	const char *p = ref + sizeof prefix - 1;
	const char *hash = strrchr(p, '#');
	if (hash == NULL || hash == p || hash[1] == '\0')
		return -1;
	char *pa = strndup(p, (size_t)(hash - p));
	char *sy = strdup(hash + 1);
	if (pa == NULL || sy == NULL) {
		free(pa);
		free(sy);
		return -1;
	}
	*path = pa;
	*symbol = sy;
	return 0;
}

int
acrt__desc_check(const acrt_component_desc *d, const char *what, char *err, size_t errlen)
{
	uint32_t major = d->abi_version >> 16, minor = d->abi_version & 0xffff;
	if (major != ACRT_ABI_MAJOR || minor > ACRT_ABI_MINOR) {
		snprintf(err, errlen,
		         "%s: ABI version %u.%u is not supported by this runtime (ABI %d.%d); "
		         "rebuild the plugin against this acrt.h",
		         what, major, minor, ACRT_ABI_MAJOR, ACRT_ABI_MINOR);
		return -1;
	}
	if (d->struct_size < ACRT_DESC_MIN_SIZE) {
		snprintf(err, errlen,
		         "%s: ABI descriptor struct_size %u is smaller than the %zu bytes of ABI "
		         "%d.0",
		         what, d->struct_size, (size_t)ACRT_DESC_MIN_SIZE, ACRT_ABI_MAJOR);
		return -1;
	}
	if (d->process == NULL && d->process_batch == NULL && d->run == NULL) {
		snprintf(err, errlen, "%s: the descriptor has none of process, process_batch, run",
		         what);
		return -1;
	}
	return 0;
}

int
acrt__plugin_open(const char *path, const char *symbol, acrt__plugin **out,
                  const acrt_component_desc **desc, char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, errlen, "cannot load plugin: %s", dlerror());
		return -1;
	}
	dlerror();
	const acrt_component_desc *d = dlsym(h, symbol);
	if (d == NULL) {
		snprintf(err, errlen, "plugin '%s' has no symbol '%s'", path, symbol);
		goto fail;
	}
	char what[300];
	snprintf(what, sizeof what, "plugin symbol '%s'", symbol);
	if (acrt__desc_check(d, what, err, errlen) != 0)
		goto fail;
	acrt__plugin *p = acrt__malloc(sizeof *p);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->handle = h;
	*out = p;
	*desc = d;
	return 0;
fail:
	dlclose(h);
	return -1;
}

int
acrt__plugin_open_cap(const char *path, const char *symbol, acrt__plugin **out,
                      const acrt_capability_desc **desc, char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, errlen, "cannot load capability plugin: %s", dlerror());
		return -1;
	}
	const acrt_capability_desc *d = dlsym(h, symbol);
	uint32_t major = d != NULL ? d->abi_version >> 16 : 0;
	uint32_t minor = d != NULL ? d->abi_version & 0xffff : 0;
	if (d == NULL) {
		snprintf(err, errlen, "plugin '%s' has no symbol '%s'", path, symbol);
	} else if (major != ACRT_ABI_MAJOR || minor > ACRT_ABI_MINOR) {
		snprintf(err, errlen,
		         "capability '%s': ABI version %u.%u is not supported by this runtime "
		         "(ABI %d.%d)",
		         symbol, major, minor, ACRT_ABI_MAJOR, ACRT_ABI_MINOR);
	} else if (d->struct_size < ACRT_CAP_DESC_MIN_SIZE) {
		snprintf(err, errlen, "capability '%s': descriptor struct_size %u is too small",
		         symbol, d->struct_size);
	} else if ((*out = acrt__malloc(sizeof **out)) == NULL) {
		snprintf(err, errlen, "out of memory");
	} else {
		(*out)->handle = h;
		*desc = d;
		return 0;
	}
	dlclose(h);
	return -1;
}

void
acrt__plugin_close(acrt__plugin *p)
{
	if (p == NULL)
		return;
	dlclose(p->handle);
	acrt__free(p);
}
