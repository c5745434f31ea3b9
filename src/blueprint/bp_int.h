/*
 * bp_int.h - private to the files of src/blueprint/: the YAML node tree that keeps
 * positions, diagnostics helpers, typed access to nodes, and the loader's
 * working state shared by the stages (arch, deploy, config, bindings, graph).
 *
 * Stages run in that order on one thread. Each stage reports every error it
 * finds through acrt__err() and goes on where it safely can, so that one run
 * of `acrt validate` shows as many problems as possible.
 */
#ifndef ACRT_BP_INT_H
#define ACRT_BP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "blueprint/blueprint.h"
#include "core/builtin.h"

/* Most error lines kept in one acrt__diag; one more line says there were more. */
#define ACRT__DIAG_MAX 50
/* Most notes kept in one acrt__diag; one more line says there were more. */
#define ACRT__NOTE_MAX 200

/* ---- YAML nodes (yaml.c) ------------------------------------------------- */

typedef enum acrt__ykind {
	ACRT__Y_NULL = 0,
	ACRT__Y_BOOL,
	ACRT__Y_INT,
	ACRT__Y_FLOAT,
	ACRT__Y_STR,
	ACRT__Y_MAP,
	ACRT__Y_SEQ
} acrt__ykind;

/* One node. A tree: aliases are copied, so every node has one owner. */
typedef struct acrt__ynode {
	acrt__ykind kind;
	acrt__mark mark;            /* where the node starts */
	char *text;                 /* scalars: text after ${VAR} expansion */
	char *source;               /* scalars with a ${VAR}: the text as written, else NULL */
	int64_t i;                  /* ACRT__Y_INT */
	double f;                   /* ACRT__Y_FLOAT */
	bool b;                     /* ACRT__Y_BOOL */
	bool plain;                 /* scalars: written without quotes (typed) */
	struct acrt__ynode **keys;  /* ACRT__Y_MAP: key scalars, parallel to items */
	struct acrt__ynode **items; /* ACRT__Y_MAP values, ACRT__Y_SEQ items */
	size_t n;
} acrt__ynode;

/* Parses the first document of `file`; marks point at `file`, which must
 * outlive the tree. 0, or -1 with errors appended to d. */
int acrt__yaml_load(const char *file, acrt__ynode **out, acrt__diag *d);
void acrt__ynode_free(acrt__ynode *n);
/* Value / key node for `key` in a mapping (NULL if absent or not a mapping). */
const acrt__ynode *acrt__ynode_get(const acrt__ynode *map, const char *key);
const acrt__ynode *acrt__ynode_key(const acrt__ynode *map, const char *key);
/* What an error message may quote for scalar n whose value is `value`: the
 * text as written when it came from ${VAR} (so a secret in the environment is
 * never echoed: `${SINK}`), else the value. n may be NULL. */
const char *acrt__ynode_show(const acrt__ynode *n, const char *value);
/* The node as JSON (new reference), NULL on out of memory. */
json_t *acrt__ynode_json(const acrt__ynode *n);
/* "string 'abc'", "integer 5", "a mapping", ... for messages. */
void acrt__ynode_describe(const acrt__ynode *n, char *buf, size_t len);
void acrt__json_describe(const json_t *v, char *buf, size_t len);

/* ---- Diagnostics (diag.c) ------------------------------------------------ */

/* Memory: every block the blueprint module allocates, and every block it hands
 * out (the acrt__blueprint and all it owns, the YAML tree, diagnostic lines,
 * build.lock paths and text), comes from acrt__malloc and friends, so that
 * tests/unit/test_faultsim.c can fail each allocation. Only memory a library
 * or another folder allocates stays on plain malloc (realpath's result,
 * acrt__plugin_parse_ref's strings, acrt__strbuf's buffer): it is freed with
 * free() where it is used, or copied. */

/* Formatted text from acrt__malloc, NULL when out of memory. */
char *acrt__bp_printf(const char *fmt, ...) ACRT_PRINTF(1, 2);
/* The first n bytes of s (fewer when it ends before), NUL-terminated, from
 * acrt__malloc; NULL when out of memory. */
char *acrt__bp_strndup(const char *s, size_t n);
/* Appends a line (from acrt__malloc; d owns it from now on, or it is freed).
 * 0, or -1 when out of memory. */
int acrt__diag_push(acrt__diag *d, char *line);

/* Appends "file:line:col: message" (newlines flattened). Always returns -1. */
int acrt__diag_add(acrt__diag *d, const acrt__mark *m, const char *fmt, ...) ACRT_PRINTF(3, 4);
/* Appends the note "file:line:col: note: message" to d->notes (newlines
 * flattened). 0, or -1 when out of memory (nothing appended). */
int acrt__diag_note(acrt__diag *d, const acrt__mark *m, const char *fmt, ...) ACRT_PRINTF(3, 4);
/* The candidate closest to word by edit distance, if close enough, else NULL.
 * cands is NULL-terminated when n is (size_t)-1. */
const char *acrt__suggest(const char *word, const char *const *cands, size_t n);
/* Writes " (did you mean 'x'?)" or "" into buf. */
void acrt__hint(char *buf, size_t len, const char *word, const char *const *cands, size_t n);
/* ^[a-z][a-z0-9_]*$ */
bool acrt__name_ok(const char *s);
/* ^[a-z]([a-z0-9_-]*[a-z0-9_])?$: system and component names, which
 * the Autocoder dialect writes with hyphens (docs/AUTOCODER.md). */
bool acrt__name_dash_ok(const char *s);

/* ---- Loader state --------------------------------------------------------- */

typedef struct acrt__comp_aux {
	const acrt__ynode *node;         /* the component's mapping */
	const acrt__ynode *config;       /* its config value node, or NULL */
	const acrt__ynode *ovr_config;   /* component_overrides.NAME.config, or NULL */
	const acrt__ynode *impl;         /* the implementation value node, or NULL */
	const acrt__builtin *bi;         /* built-in type, or NULL for plugins */
	const acrt__ynode *ovr_replicas; /* component_overrides.NAME.replicas, or NULL */
	bool broken;                     /* type or ports unknown: skip dependent checks */
	/* The Autocoder dialect's types (dialect_types.c): */
	const char *const *dflt_in; /* the original's default ports, or NULL: the type's */
	const char *const *dflt_out;
	bool fill_ports;         /* `ports` becomes the output ports once they are known */
	bool ports_filled;       /* ... and acrt wrote it (bindings may add to it) */
	bool fill_output;        /* an APIEndpoint's `output`: its first output port */
	bool ovr_merged;         /* ovr_config merged by acrt__override_premerge */
	bool fill_routes;        /* a Controller router: routes to the output ports */
	char router_default[64]; /* ... and its default_output */
	acrt__builtin bi_copy;   /* bi without config_out_ports (generated routes) */
} acrt__comp_aux;

typedef struct acrt__bpload {
	acrt__blueprint *bp;
	acrt__diag *diag;
	size_t errors; /* errors reported by this load */
	acrt__ynode *arch, *deploy;
	const acrt__ynode *bindings; /* system.bindings, or NULL */
	acrt__comp_aux *aux;         /* parallel to bp->comps */
	acrt__batch_spec batch_dflt; /* runtime.batching over the defaults */
	/* The blueprint is written in the Autocoder dialect (docs/AUTOCODER.md,
	 * "Read as the original's"): a note was reported, or a form only the
	 * original has is used (a hyphenated name, components at the top level,
	 * a dialect binding shape, ADR-031 ports). Then an unbound input port,
	 * a port only bindings name and a schema name defined nowhere are notes,
	 * as the original reads them, instead of errors. */
	bool dialect;
	/* Port schemas that name no definition, decided by acrt__dialect_labels
	 * once L->dialect is known: each node's text is the name. */
	struct acrt__label {
		const acrt__ynode *name; /* the schema: value */
		const char *port;        /* the port's name (in the YAML tree) */
	} * labels;
	size_t n_labels;
	/* Ports whose schema is written as a name (defined or a label): the
	 * original checks that a binding's two ends name the same one. */
	struct acrt__schema_ref {
		size_t comp;
		bool out;
		const char *port;        /* in the YAML tree */
		const acrt__ynode *name; /* the schema name's node */
	} * schema_refs;
	size_t n_schema_refs;
} acrt__bpload;

/* Reports an error at node `at` (or 1:1 of the architecture if NULL). -1. */
int acrt__err(acrt__bpload *L, const acrt__ynode *at, const char *fmt, ...) ACRT_PRINTF(3, 4);

/* ---- Typed access with diagnostics (check.c) ------------------------------
 * The getters return 1 when the key is present and valid (out written), 0 when
 * absent (or null), -1 after reporting a bad value. */
int acrt__check_keys(acrt__bpload *L, const acrt__ynode *map, const char *const *allowed,
                     const char *where);
int acrt__get_str(acrt__bpload *L, const acrt__ynode *map, const char *key, const char **out);
/* Any scalar, as text (for versions and descriptions). */
int acrt__get_text(acrt__bpload *L, const acrt__ynode *map, const char *key, const char **out);
int acrt__get_int(acrt__bpload *L, const acrt__ynode *map, const char *key, int64_t min,
                  int64_t *out);
int acrt__get_bool(acrt__bpload *L, const acrt__ynode *map, const char *key, bool *out);
/* A mapping value (out is the node). */
int acrt__get_map(acrt__bpload *L, const acrt__ynode *map, const char *key,
                  const acrt__ynode **out);
/* Reports "KEY: expected WHAT, got ..." at n. -1. */
int acrt__err_type(acrt__bpload *L, const acrt__ynode *n, const char *key, const char *what);

/* ---- The Autocoder dialect (dialect.c, docs/AUTOCODER.md) ------------------ */

typedef enum acrt__dialect_place {
	ACRT__AT_TOP,
	ACRT__AT_SYSTEM,
	ACRT__AT_COMPONENT,
	ACRT__AT_PORT,
	ACRT__AT_BINDING,
	/* deployment.yaml (deploy.c) */
	ACRT__AT_DEPLOY,
	ACRT__AT_RUNTIME,
	ACRT__AT_TIMEOUTS,
	ACRT__AT_LOGGING,
	ACRT__AT_OVERRIDE
} acrt__dialect_place;

/* Reports a note at node `at` (1:1 of the architecture if NULL). 0, or -1
 * after reporting out of memory as an error. */
int acrt__note(acrt__bpload *L, const acrt__ynode *at, const char *fmt, ...) ACRT_PRINTF(3, 4);
/* acrt__check_keys, where a key the dialect has at `place` and acrt does not
 * execute is a note (one per occurrence) instead of an error; the hints of
 * unknown keys come from both sets. 0, or -1 after reporting. */
int acrt__dialect_keys(acrt__bpload *L, const acrt__ynode *map, const char *const *allowed,
                       acrt__dialect_place place, const char *where);

/* The original's component types (dialect_types.c). Whether `type` is a type
 * name of the original that acrt has no built-in of (EventSource, Model, ...);
 * acrt__dialect_type_names (blueprint.h) lists them. */
bool acrt__dialect_type_known(const char *type);
/* Component idx once its type and config are read, before its ports: a type
 * of the original (or acrt's type with a config in the original's form)
 * becomes the built-in that does its job, with notes; one whose logic was
 * generated code is marked needs_impl. 0, or -1 after reporting. */
int acrt__dialect_map(acrt__bpload *L, size_t idx);
/* Once its ports are known: the `ports` or routes that name them. 0 or -1. */
int acrt__dialect_fill(acrt__bpload *L, size_t idx);
/* Output port `port` of component idx was just created because a binding
 * names it (bindings.c): a Controller router gets a rule's route to it, a
 * component whose `ports` acrt wrote sends on it too, acrt's Transformer
 * without config becomes a Passthrough on every output, as the original's
 * passes items on. 1 when it sends there now, 2 when it became a
 * Passthrough, 0 when it sends nothing there, -1 after reporting. */
int acrt__dialect_port_created(acrt__bpload *L, size_t idx, const char *port);
/* ADR-031 `ports: {NAME: {semantic_class, direction, data_schema: {id,
 * version}}}` of component idx: each port joins its inputs or outputs (those
 * of inputs:/outputs: win), *in / *out set when it declared one of that
 * direction (the type's defaults are then not added). 0, or -1 after
 * reporting. */
int acrt__dialect_ports(acrt__bpload *L, size_t idx, bool *in, bool *out);
/* An ADR-031 port's direction: 0 input, 1 output, -1 unknown (from
 * `direction`, else a semantic_class ending in _in / _out). */
int acrt__adr_direction(const acrt__ynode *port);
/* arch.c: a port's schema node (a name, a label, a JSON string, a mapping or
 * a boolean) for port `port`: 1 with *out, 0 without a schema, -1 after
 * reporting. */
int acrt__port_schema(acrt__bpload *L, const acrt__ynode *n, const acrt__ynode *port, json_t **out);
/* dialect.c: remembers that port `port` (an output when out) of component
 * comp names its schema with node n, when n is a name. 0, or -1 after
 * reporting out of memory. */
int acrt__schema_ref_add(acrt__bpload *L, size_t comp, bool out, const char *port,
                         const acrt__ynode *n);
/* dialect.c: in a blueprint read as the original's, a note when binding b's
 * two ends name different schemas and b has no transformation (the original
 * refuses it). 0 or -1. */
int acrt__schema_refs_check(acrt__bpload *L, const acrt__ynode *b, size_t from, const char *fp,
                            size_t to, const char *tp);
/* arch.c: appends a port; -1 when out of memory (nothing reported). */
int acrt__add_port(acrt__port_spec **ports, size_t *n, const char *name, json_t *schema,
                   acrt__mark m);
/* dialect_types.c, shared with dialect_api.c: the note of a mapping ("type
 * 'T'WHAT: runs as the built-in TO CONFIG"), a note per config key not in
 * `used`, and the switch to built-in `to` with config cfg (stolen). 0 or -1. */
int acrt__dialect_mapped_note(acrt__bpload *L, size_t idx, const char *what, const char *to,
                              const json_t *cfg);
int acrt__dialect_unused_keys(acrt__bpload *L, const acrt__comp_aux *a, const json_t *config,
                              const char *type, const char *const *used);
int acrt__dialect_become(acrt__bpload *L, size_t idx, const char *to, json_t *cfg);
/* dialect_api.c: an APIEndpoint in the original's form (port, endpoints)
 * becomes acrt's; once its ports are known, its `output`. 0 or -1. */
int acrt__dialect_api(acrt__bpload *L, size_t idx);
int acrt__dialect_api_fill(acrt__bpload *L, size_t idx);
/* bindings.c: sets L->dialect when a binding has a shape or key only the
 * dialect has. */
void acrt__bindings_dialect(acrt__bpload *L);
/* After the architecture and deployment, before the bindings: the port
 * schemas that name no definition (L->labels) are the original's opaque
 * labels, a note each, when L->dialect; else errors with a hint. 0 or -1. */
int acrt__dialect_labels(acrt__bpload *L);

/* ---- Stages ---------------------------------------------------------------- */

int acrt__arch_parse(acrt__bpload *L);   /* arch.c: system, components, schemas */
int acrt__deploy_parse(acrt__bpload *L); /* deploy.c: runtime, overrides */
/* deploy.c: component idx's component_overrides config merged over its own
 * while arch.c reads it, before the dialect maps its type. 0 or -1. */
int acrt__override_premerge(acrt__bpload *L, size_t idx);
int acrt__config_check(acrt__bpload *L);   /* config.c: configs vs props, plugins */
int acrt__bindings_parse(acrt__bpload *L); /* bindings.c: all shapes, ports, inputs */
int acrt__graph_check(acrt__bpload *L);    /* graph.c: cycles */
int acrt__caps_check(acrt__bpload *L);     /* rules.c: capability values */

/* rules.c: reads a batching mapping over *b: component comp's `batching:`
 * (which may hold `enabled`), or runtime.batching when comp is NULL. 0, or -1
 * after reporting. */
int acrt__batching_read(acrt__bpload *L, const acrt__ynode *m, const char *comp,
                        acrt__batch_spec *b);
/* rules.c: a component's batching and its type's rules, with its descriptor
 * (NULL when it could not be read). Called by config.c. */
int acrt__comp_rules(acrt__bpload *L, size_t idx, const acrt_component_desc *d);
int acrt__graph_topo(acrt__blueprint *bp); /* graph.c: bp->topo; -1 on out of memory */

/* nodes.c (docs/MULTINODE.md): `nodes:` and runtime.transport into bp->nodes
 * and bp->transport (run by deploy.c, once the components are known); then,
 * once the bindings are, that a transport is set when one crosses nodes.
 * acrt__nodes_free releases both (and restores a narrowed bp's counts, so
 * that the free that follows sees every component and binding). */
int acrt__nodes_parse(acrt__bpload *L);
int acrt__nodes_check(acrt__bpload *L);
/* Components on several nodes (spread.c): each can be spread, and each of
 * its bindings joins it to components on the same nodes or on nodes apart.
 * 0, or -1 after reporting. */
int acrt__nodes_check_spread(acrt__bpload *L);
void acrt__nodes_free(acrt__blueprint *bp);

/* ---- Which plugins may be opened (plugins.c; docs/SECURITY.md) ------------- */

/* The realpath'd directories plugins may be loaded from. */
typedef struct acrt__plugin_allow {
	char **dirs; /* from acrt__malloc, each and the array */
	size_t n;
	bool readable; /* false: the deployment could not be read, so open nothing */
} acrt__plugin_allow;

/* A plugin's PATH made absolute against the blueprint's directory ("./" and
 * relative paths alike). From acrt__malloc; NULL when out of memory. */
char *acrt__bp_plugin_path(const acrt__blueprint *bp, const char *path);
/* Fills *a from runtime.plugin_dirs (else the blueprint directory), the
 * installed plugin directory and $ACRT_PLUGIN_DIRS. 0, or -1 after reporting
 * (what could be read is kept). Free with acrt__plugin_allow_free. */
int acrt__plugin_allow_read(acrt__bpload *L, acrt__plugin_allow *a);
void acrt__plugin_allow_free(acrt__plugin_allow *a);
/* 0 when `path` (absolute) resolves, with realpath(), to a file under one of
 * a's directories; else -1 after reporting at `at` as "KEY: ...". Opens
 * nothing. */
int acrt__plugin_allowed(acrt__bpload *L, const acrt__plugin_allow *a, const acrt__ynode *at,
                         const char *key, const char *path);
/* Component idx's capability plugins: each allowed (above), then opened to
 * check its ABI and closed. 0, or -1 after reporting. */
int acrt__cap_plugins_check(acrt__bpload *L, const acrt__plugin_allow *a, size_t idx);

#endif /* ACRT_BP_INT_H */
