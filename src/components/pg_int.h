/*
 * pg_int.h - private to the PostgreSQL writers: pg_sink.c (the batches of
 * `sink: postgres` and of the Store's keyed upserts) and pg_crud.c (the
 * Store's CRUD and generated ids with `backend: postgres`). The connection,
 * its messages and its retry are shared; each file says what it does with
 * them.
 *
 * One per instance, used by that instance's callbacks only: no locking.
 */
#ifndef ACRT_PG_INT_H
#define ACRT_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "components/pg_sink.h"
#include "components/writeretry.h"
#include "core/json.h"

typedef struct acrt__pg_crud acrt__pg_crud;

struct acrt__pg {
	PGconn *conn;
	char *dsn;      /* wiped when freed */
	char *password; /* the dsn's, to cut out of messages; NULL: none */
	char *what;     /* "postgres table NAME", for messages */
	char *table;    /* the table as written */
	char *ins_sql;  /* COPY ... FROM STDIN */
	char *ups_sql;  /* upsert: INSERT ... SELECT ... ON CONFLICT */
	char *one_sql;  /* crud: one row's upsert, $1 the key, $2 the event's text */
	const char *key;
	bool keyed;  /* the table is (key text PRIMARY KEY, event jsonb): key, or crud */
	bool track;  /* positions in acrt_positions: the Sink's, and crud's transactions */
	bool staged; /* COPY into acrt_stage, then INSERT ... SELECT (upsert, typed columns) */
	size_t max_items;
	acrt__jbuf buf; /* the open batch as COPY text */
	size_t n;       /* its events */
	bool holds_current;
	uint64_t epoch, pos; /* the run's epoch; the input position of the next event */
	uint64_t skip_below; /* --resume: positions the table already holds */
	char err[512];       /* the last libpq message, password cut out */
	acrt__wretry retry;
	acrt__pg_crud *crud; /* the Store's `crud: true` (pg_crud.c); NULL otherwise */
};

/* libpq's message m on one line, with the password cut out, into p->err. */
const char *acrt__pg_msg(acrt__pg *p, const char *m);
/* Runs one statement; 0, or -1 with p->err set. */
int acrt__pg_exec(acrt__pg *p, const char *sql);
/* Stores (epoch, pos) as this instance's row of acrt_positions, inside the
 * open transaction; 0, or -1 with p->err set. */
int acrt__pg_put_position(acrt_ctx *ctx, acrt__pg *p);
/* After a failure: a new connection and its session, then whether the lost
 * transaction had committed after all (the stored position is at least
 * p->pos). 1: it had; 0: write it again; -1: no connection yet (p->err). */
int acrt__pg_reconnect(acrt_ctx *ctx, acrt__pg *p);
/* Whether JSON text holds the escape \u0000, which jsonb refuses. */
bool acrt__pg_has_nul(const char *d, size_t len);

/* pg_crud.c: the Store's `crud: true` with `backend: postgres`. */
/* At the end of acrt__pg_setup: the sequence of generated ids, the
 * statements. ACRT_OK or the failure (acrt_fail). */
int acrt__pg_crud_setup(acrt_ctx *ctx, acrt__pg *p);
/* One event: a request (an `action`), or a record stored by key or id. */
int acrt__pg_crud_process(acrt_ctx *ctx, acrt__pg *p, acrt_event *ev);
/* Commits the open transaction; then, when emit, sends the replies that
 * waited for it (not from a snapshot: they go at the next process or idle). */
int acrt__pg_crud_commit(acrt_ctx *ctx, acrt__pg *p, bool emit);
/* Frees it: uncommitted events are counted unwritten. */
void acrt__pg_crud_free(acrt_ctx *ctx, acrt__pg *p);

#endif /* ACRT_PG_INT_H */
