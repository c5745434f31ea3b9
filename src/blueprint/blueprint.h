/*
 * blueprint.h - the validated, in-memory form of a blueprint (architecture.yaml)
 * and its deployment (deployment.yaml), as the harness consumes it.
 *
 * acrt__blueprint_load() parses the YAML with libyaml, expands ${VAR}, accepts
 * the original Python runtime's shapes, applies deployment defaults and
 * component_overrides, validates everything SPEC section 1 lists, and computes
 * a topological order. It runs on the caller's thread and does not block on
 * anything but file reads (and dlopen of plugins, to check their ABI and config).
 *
 * Ownership: the returned acrt__blueprint owns every string and json_t in it;
 * acrt__blueprint_free() releases all of it (NULL is accepted).
 */
#ifndef ACRT_BLUEPRINT_H
#define ACRT_BLUEPRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "blueprint/alert_rule.h"

#include "core/common.h" /* ACRT__MAX_REPLICAS */
#include "core/log.h"    /* acrt__log_format */

/* A position in a YAML file (1-based line and column). */
typedef struct acrt__mark {
	const char *file; /* points into acrt__blueprint's arch_path or deploy_path */
	int line, col;
} acrt__mark;

typedef struct acrt__port_spec {
	char *name;
	json_t *schema; /* resolved JSON Schema (inline or from schemas:), or NULL */
	acrt__mark mark;
} acrt__port_spec;

/* A component's `batching:` resolved against `runtime.batching` by the loader
 * (ADR-024, docs/BATCHING.md): each key is the component's, else the
 * deployment's, else the default. */
typedef struct acrt__batch_spec {
	bool enabled;     /* only by `enabled: true` on the component itself */
	bool fail_fast;   /* error_mode: fail_fast (else per_item) */
	size_t max_items; /* 1 .. 1000000 (64) */
	int64_t max_ns;   /* max_ms (5) in nanoseconds, 0 .. 86400000 ms */
} acrt__batch_spec;

typedef struct acrt__comp_spec {
	char *name;
	char *type;          /* built-in type name; NULL when plugin_path is set */
	char *plugin_path;   /* absolute path of the .so for `plugin:PATH#SYMBOL` */
	char *plugin_symbol; /* the descriptor's symbol */
	json_t *config;      /* object, never NULL; component_overrides merged in */
	acrt__port_spec *inputs;
	size_t n_inputs;
	acrt__port_spec *outputs;
	size_t n_outputs;
	json_t *capabilities;   /* raw mapping or NULL (read by capability/) */
	json_t *batching;       /* raw mapping or NULL (as written) */
	acrt__batch_spec batch; /* batching:, checked and resolved */
	json_t *state;          /* raw mapping or NULL (build.lock only) */
	int replicas;           /* >= 1 */
	acrt__mark mark;
	/* `acrt test` only (testcut.c): a test endpoint's descriptor, used instead
	 * of type or plugin, and what it reads or fills (runtime/testpoint.h).
	 * NULL for every component a blueprint names. */
	const acrt_component_desc *desc;
	void *test_arg;
	/* The Autocoder dialect (docs/AUTOCODER.md): the original's type name when
	 * `type` is the built-in that runs it instead, else NULL; needs_impl when
	 * its logic was the original's generated code (`type` is then a
	 * Passthrough stand-in, which `acrt run` starts only with --stub). */
	char *dialect_type;
	bool needs_impl;
} acrt__comp_spec;

/* One edge: fan-out lists in the YAML are expanded to one binding per target. */
typedef struct acrt__binding_spec {
	size_t from_comp, to_comp; /* indices into acrt__blueprint.comps */
	char *from_port, *to_port;
	size_t buffer_size; /* resolved: the binding's own, else the deployment default */
	bool allow_cycle;
	acrt__mark mark;
} acrt__binding_spec;

typedef struct acrt__blueprint {
	char *dir;         /* absolute directory of architecture.yaml */
	char *arch_path;   /* as given or found */
	char *deploy_path; /* NULL when there is no deployment file */
	char *name, *version, *description;

	acrt__comp_spec *comps;
	size_t n_comps;
	acrt__binding_spec *bindings;
	size_t n_bindings;
	json_t *schemas; /* object (possibly empty) */

	/* Deployment, every key defaulted. */
	size_t default_buffer;       /* runtime.buffers.default_size (1024) */
	int64_t startup_timeout_ms;  /* runtime.timeouts.startup_timeout_ms (30000) */
	int64_t shutdown_timeout_ms; /* runtime.timeouts.shutdown_timeout_ms (10000) */
	int log_level;               /* acrt_log_level, runtime.logging.level (info) */
	acrt__log_format log_format; /* runtime.logging.format (auto) */
	bool chaining;               /* runtime.chaining (true): fuse 1:1 bindings */
	/* runtime.state (docs/STATE.md): checkpoints run when the mapping is given. */
	struct {
		bool on;
		char *adapter;   /* sqlite_snapshot (default) | redis_snapshot | inmem_ephemeral */
		char *path;      /* sqlite: absolute; default <dir>/state/<system>.db */
		char *redis_url; /* redis: ${VAR}-expanded; default redis://127.0.0.1:6379 */
		double interval_s; /* checkpoint_interval_s (10); 0 = only on demand/shutdown */
		int64_t
		    align_timeout_ms; /* checkpoint_timeout_ms (10000): abort a barrier past it */
		int64_t retain;       /* newest complete checkpoints kept (5) */
		/* The name the store keys by: NULL for the system's name, else
		 * "<system>.<node>" once a node is picked (nodes.c): the default
		 * SQLite file and the Redis keys are then the node's own. */
		char *store_name;
	} state;
	/* runtime.api (docs/API.md); paths absolute (relative to dir). */
	struct {
		char *listen;             /* NULL: 127.0.0.1:9464, a free port when busy */
		char *read_token_file;    /* NULL: generated into <dir>/.acrt/read.token */
		char *write_token_file;   /* NULL: generated into <dir>/.acrt/write.token */
		char *tls_cert, *tls_key; /* both (HTTPS) or neither */
		char *tls_client_ca;      /* NULL: client certificates are not asked for */
	} api;
	/* nodes: and runtime.transport (nodes.c, docs/MULTINODE.md). Without
	 * `nodes:`, n is 0 and every component runs in the one process. */
	struct {
		char **names; /* n node names, in file order */
		size_t n;
		size_t *of_comp;   /* the (first) node of each component (parallel to comps) */
		uint64_t *on_comp; /* the nodes of each component, bit k for names[k]:
		                    * more than one for a component spread over
		                    * nodes (scale-out) */
		const char *self;  /* the node this process runs (acrt__blueprint_node_pick),
		                    * or NULL: the whole system */
		/* acrt__blueprint_node_narrow: comps and bindings then hold the node's
		 * own first (n_comps, n_bindings), then its n_remote bindings to other
		 * nodes (bindings[n_bindings ..]), then the rest; n_all_* count all of
		 * them (0 until narrowed). */
		size_t n_remote, n_all_comps, n_all_bindings;
	} nodes;
	/* runtime.transport: what carries the bindings between nodes. Paths are
	 * absolute; url is ${VAR}-expanded and may hold a secret: never logged. */
	struct {
		char *kind; /* "nats" | "redis"; NULL when runtime.transport is absent */
		char *url;
		char *user;
		char *token_file, *password_file, *creds_file;
		char *tls_ca_file, *tls_cert_file, *tls_key_file;
		bool tls; /* tls://, rediss:// or a tls: mapping */
	} transport;
	/* runtime.alerts (docs/ALERTS.md), in order; strings borrowed from
	 * `runtime`. `enabled: false` entries remove a default rule. */
	acrt__alert_rule *alert_rules;
	size_t n_alert_rules;
	char *alert_webhook; /* runtime.alert_webhook, NULL when unset or empty */
	/* The runtime mapping as written: a hot reload compares it to tell what
	 * changed. Everything in it is read above; nothing else reads it. */
	json_t *runtime;

	size_t *topo; /* n_comps indices: a topological order (allow_cycle edges ignored) */
} acrt__blueprint;

/* Diagnostics: one line per error, "file:line:col: message", and apart from
 * them the notes, "file:line:col: note: message": what the loader accepted
 * but does not execute (docs/AUTOCODER.md). Notes never fail a load. */
typedef struct acrt__diag {
	char **lines;
	size_t n;
	char **notes;
	size_t n_notes;
} acrt__diag;

void acrt__diag_free(acrt__diag *d);

/*
 * Loads and validates. `path` is a directory (holding architecture.yaml and
 * optionally deployment.yaml), or a YAML file (deployment.yaml beside it is used
 * when present and deploy_path is NULL). deploy_path, if not NULL, names the
 * deployment file explicitly. On success returns 0 and sets *out. On failure
 * returns -1, leaves *out untouched, and appends every error found to diag.
 */
int acrt__blueprint_load(const char *path, const char *deploy_path, acrt__blueprint **out,
                         acrt__diag *diag);
void acrt__blueprint_free(acrt__blueprint *bp);

/*
 * The batching a component with descriptor d and n_inputs input ports runs
 * with: spec, or batches of one event without waiting for a component that
 * has process_batch only. Returns NULL with *out written, or why batching
 * cannot run on it. The loader and the wiring both call it.
 */
const char *acrt__batch_effective(const acrt__batch_spec *spec, const acrt_component_desc *d,
                                  size_t n_inputs, acrt__batch_spec *out);

/* Why a component of built-in type `type` cannot run with `replicas`
 * instances, or NULL. The loader and the type's setup both call it. */
const char *acrt__type_replicas_misfit(const char *type, int replicas);
/* A type name of the original Autocoder language (docs/AUTOCODER.md): what
 * acrt runs it as (text for `acrt help TYPE`), with the original's default
 * ports in *in and *out (NULL-terminated; *out NULL: the built-in's). NULL
 * when `type` is not one (dialect_types.c). */
const char *acrt__dialect_type_help(const char *type, const char *const **in,
                                    const char *const **out);
/* The original's type names acrt has no built-in of (EventSource, Model,
 * ...): up to max into names; how many. */
size_t acrt__dialect_type_names(const char **names, size_t max);

/* Index of a component by name, or -1. */
long acrt__blueprint_find(const acrt__blueprint *bp, const char *name);

/*
 * Placement (nodes.c, docs/MULTINODE.md). The node component idx runs on (its
 * first, when it is on several), or NULL without `nodes:`. Whether binding b
 * crosses nodes (its two ends run on different nodes).
 */
const char *acrt__blueprint_comp_node(const acrt__blueprint *bp, size_t idx);
bool acrt__blueprint_crosses(const acrt__blueprint *bp, const acrt__binding_spec *b);
/* The nodes component idx runs on, bit k for bp->nodes.names[k] (0 without
 * `nodes:`); several for a component spread over nodes (scale-out). The
 * index of the picked node in bp->nodes.names, or SIZE_MAX. */
uint64_t acrt__blueprint_comp_nodes(const acrt__blueprint *bp, size_t idx);
size_t acrt__blueprint_node_index(const acrt__blueprint *bp);
/* Picks the node this process runs: bp->nodes.self, and the node's own
 * store name and run directory (below). Components are not touched yet, so
 * build.lock can still be checked against the whole system. 0, or -1 with a
 * one-line reason in err (no `nodes:`, an unknown node). */
int acrt__blueprint_node_pick(acrt__blueprint *bp, const char *name, char *err, size_t errlen);
/* Narrows a picked blueprint to its node: components, bindings and topo are
 * the node's from now on (see bp->nodes). 0, or -1 when out of memory (bp
 * may then only be freed). */
int acrt__blueprint_node_narrow(acrt__blueprint *bp);
/* The directory of a run's own files: <dir>/.acrt, or <dir>/.acrt/<node>
 * once a node is picked. From acrt__malloc; NULL when out of memory. */
char *acrt__blueprint_run_dir(const acrt__blueprint *bp);

/*
 * The check of a built-in capability's value that validation runs for each
 * entry of a component's `capabilities:` (plugin capabilities excepted): the
 * capability layer's acrt__cap_check (capability/chain.h), handed in from
 * above so that the blueprint never includes the capabilities. Returns 0, or
 * -1 with a one-line reason in err and the offending setting in key ("" when
 * the whole value is wrong).
 *
 * Registration: acrt__caps_register (capability/chain.h) sets it once, on the
 * main thread, before any other thread starts (cli/main.c, tests, benches);
 * it is read-only afterwards. Until it is set, a blueprint whose components
 * have built-in capabilities fails validation with an internal error, so that
 * capability values are never accepted unchecked.
 */
typedef int (*acrt__cap_check_fn)(const char *name, const json_t *config,
                                  const acrt__comp_spec *comp, char *key, size_t keylen, char *err,
                                  size_t errlen);
void acrt__blueprint_set_cap_check(acrt__cap_check_fn fn);

#endif /* ACRT_BLUEPRINT_H */
