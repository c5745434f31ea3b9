/*
 * pg_sink.h - writing events into a PostgreSQL table with libpq: the Sink's
 * `sink: postgres` and the Store's `backend: postgres` (sink.c and store.c
 * dispatch to it; pg_sink.c says how).
 *
 * One per instance, used by that instance's callbacks only (its own thread;
 * setup, restore and cleanup on the threads acrt.h names): no locking.
 */
#ifndef ACRT_PG_SINK_H
#define ACRT_PG_SINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "acrt/acrt.h"

/* The keys `postgres` adds to a props table (the Sink's, the Store's; the
 * Store has its own `key`, the Sink takes `max_items` from the http sink's). */
#define ACRT__PG_PROPS                                                                             \
	{"dsn",                                                                                    \
	 ACRT_PROP_STRING,                                                                         \
	 0,                                                                                        \
	 0,                                                                                        \
	 0,                                                                                        \
	 NULL,                                                                                     \
	 "postgres: libpq connection string or postgresql:// URI (write \"${VAR}\": never "        \
	 "logged)"},                                                                               \
	    {"dsn_file",                                                                           \
	     ACRT_PROP_STRING,                                                                     \
	     0,                                                                                    \
	     0,                                                                                    \
	     0,                                                                                    \
	     NULL,                                                                                 \
	     "postgres: file holding the dsn (no group or other access; relative to the "          \
	     "blueprint)"},                                                                        \
	{                                                                                          \
		"table", ACRT_PROP_STRING, 0, 0, 0, NULL,                                          \
		    "postgres: the table (created when missing: key text primary key, event "      \
		    "jsonb; without key: id bigserial, event jsonb)"                               \
	}
#define ACRT__PG_SINK_PROPS                                                                        \
	ACRT__PG_PROPS,                                                                            \
	{                                                                                          \
		"key", ACRT_PROP_STRING, 0, 0, 0, NULL,                                            \
		    "postgres: field whose value is the row's key (upsert); absent: insert"        \
	}

typedef struct acrt__pg acrt__pg;

/* Checks the postgres keys of a Sink's config (store: a Store's). */
int acrt__pg_check(const json_t *config, bool store, const char **key, char *msg, size_t len);
/* Connects and creates the table when missing; ACRT_OK with *out set, or the
 * failure (acrt_fail). store: the Store's backend (no positions kept, but
 * for `crud: true`'s transactions: pg_crud.c). */
int acrt__pg_setup(acrt_ctx *ctx, bool store, acrt__pg **out);
int acrt__pg_process(acrt_ctx *ctx, acrt__pg *p, acrt_event *ev);
/* Input paused or ended: commits the open batch. */
int acrt__pg_flush(acrt_ctx *ctx, acrt__pg *p);
/* The Store at a checkpoint barrier: commits what is open (the replies of
 * `crud: true` go at the next process or idle). */
int acrt__pg_barrier(acrt_ctx *ctx, acrt__pg *p);
/* Checkpoint barrier: commit, then the position (acrt.h snapshot/restore). */
int acrt__pg_snapshot(acrt_ctx *ctx, acrt__pg *p, void **buf, size_t *len);
int acrt__pg_restore(acrt_ctx *ctx, acrt__pg *p, const void *buf, size_t len);
/* Frees it; uncommitted events are counted unwritten. NULL is fine. */
void acrt__pg_cleanup(acrt_ctx *ctx, acrt__pg *p);

#endif /* ACRT_PG_SINK_H */
