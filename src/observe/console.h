/*
 * console.h - the web console (docs/CONSOLE.md): static pages served by the
 * HTTP API at /ui, and the JSON the pages read that the other routes do not
 * give (the system's graph, a component's config).
 *
 * The pages (the files of ui/, built into the binary by cmake/embed_ui.cmake
 * as the table acrt__ui_files) carry no data: they are served without a token, with a
 * Content-Security-Policy that lets them load only themselves and talk only
 * to this origin. Every figure they show comes from the authenticated API
 * with the token the user typed, which the page keeps in the tab's memory.
 *
 * Threads: everything here runs on the supervising thread (the API's).
 */
#ifndef ACRT_CONSOLE_H
#define ACRT_CONSOLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/query.h"

struct MHD_Connection;

/* One embedded file: its URL path ("/ui/app.js"), Content-Type, bytes. */
typedef struct acrt__ui_file {
	const char *path;
	const char *type;
	const unsigned char *data;
	size_t len;
} acrt__ui_file;

/* The generated table (build/generated/ui_files.c), ended by a NULL path. */
extern const acrt__ui_file acrt__ui_files[];

/* Whether url is the console's (/ui, or under /ui/): served without a token. */
bool acrt__console_is_ui(const char *url);
/* Serves a console URL: the file (GET, HEAD; /ui and /ui/ are index.html),
 * 404 for an unknown one, 405 for another method. Returns MHD_YES or MHD_NO,
 * like an access handler. */
int acrt__console_serve(struct MHD_Connection *c, const char *url, const char *method);

/* GET /api/v1/graph (read token): the system's components (type, node,
 * ports, replicas, chained) and bindings (from, to, ports, buffer size, the
 * stream's name in /api/v1/system, or null when chained or on another node),
 * every node's components included when the system runs on several. */
json_t *acrt__console_graph(acrt__runtime *rt);
/* GET /api/v1/components/{name}/config (write token: a config may hold a
 * value from ${VAR}, a secret): {name, type, config, capabilities, batching},
 * or NULL when there is no such component. */
json_t *acrt__console_config(acrt__runtime *rt, const char *name);

#endif /* ACRT_CONSOLE_H */
