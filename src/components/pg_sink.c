/*
 * pg_sink.c - `sink: postgres` (the Sink) and `backend: postgres` (the Store):
 * events written into a PostgreSQL table with libpq (docs/COMPONENTS.md,
 * "Sink: postgres").
 *
 * Rows. With `key`, the table is `(key text PRIMARY KEY, event jsonb)` and an
 * event upserts the row of its key field's value (a string as it is, another
 * value as compact JSON, as the Store's SQLite rows): the last event of a key
 * wins. Without `key` (the Sink only), the table is `(id bigserial PRIMARY
 * KEY, event jsonb)` and every event is a new row. The table is created when
 * missing; an existing one needs those two columns (`key` and `event`, or
 * `event`). Events go in as their JSON text; jsonb keeps the value, not the
 * bytes (key order, whitespace and duplicate keys are normalised). An event
 * that is not valid JSON, has no key or holds \u0000 (jsonb refuses it)
 * fails (port `error`, counted). A table created beforehand with more
 * columns gets them filled from the event's fields of the same names
 * (jsonb_populate_record), through the staging table.
 *
 * Batches. Events are buffered as COPY text and written every `max_items`
 * events (1000), whenever the input pauses (the idle hook), at the end of the
 * input and at a checkpoint barrier, each batch in one transaction: BEGIN;
 * COPY into the table (insert) or into a temporary staging table followed by
 * one INSERT ... SELECT DISTINCT ON (key) ... ON CONFLICT DO UPDATE (upsert,
 * the batch's last event of each key) or INSERT ... SELECT (typed columns);
 * the position; COMMIT.
 *
 * Exactly once (the Sink). Each batch's transaction also stores, in table
 * `acrt_positions (tbl, component, replica)`, the run's epoch (drawn at random
 * by a fresh run, restored by --resume) and the input position after the
 * batch. A checkpoint barrier commits before its snapshot (epoch, position).
 * On --resume the Sink reads the stored position back: replayed events below
 * it were committed before the crash and are skipped, so an insert-only
 * table gets no duplicate rows and each key ends with the value of an
 * uninterrupted run. The Store's backend keeps no positions: a replayed
 * upsert is idempotent and converges (as its SQLite rows). Its `crud: true`
 * (pg_crud.c) writes row by row in a transaction of its own, and keeps each
 * transaction's number there instead. The Store commits its open batch at a
 * checkpoint barrier too (acrt__pg_barrier).
 *
 * A lost connection (the server stopped, a network error) loses nothing: the
 * batch is kept, the connection reset and the batch written again with the
 * Sink's backoff (writeretry.h: 50 ms doubling to 2 s, one log line per
 * attempt, acrt_component_write_blocked and the `sink_write_blocked` alert)
 * while the input waits and the pipeline backpressures. If the lost
 * transaction had in fact committed, the position read back after the reset
 * says so and the batch is not written twice (the Sink). Another error the
 * server reports (a table of another shape, permissions) stops the system.
 *
 * The dsn (`dsn`, normally "${VAR}", or `dsn_file`, refused when open to its
 * group or others) is never logged: messages name the table, and libpq's
 * messages have the password cut out should they quote it.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "components/builtins.h"
#include "components/epochpos.h"
#include "components/pg_int.h"
#include "components/pg_sink.h"
#include "components/writeretry.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "core/secret.h"
#include "runtime/ctx_query.h"

#define DSN_MAX 4096
#define COPY_CHUNK (1 << 20) /* bytes per PQputCopyData */

/* ---- Config check --------------------------------------------------------- */

int
acrt__pg_check(const json_t *config, bool store, const char **key, char *msg, size_t len)
{
	bool dsn = json_object_get(config, "dsn") != NULL,
	     file = json_object_get(config, "dsn_file") != NULL;
	const char *what = store ? "'backend: postgres'" : "'sink: postgres'";
	if (dsn == file) {
		*key = dsn ? "dsn_file" : (store ? "backend" : "sink");
		snprintf(msg, len,
		         dsn ? "%s takes 'dsn' or 'dsn_file', not both"
		             : "%s needs 'dsn' (\"${VAR}\") or 'dsn_file'",
		         what);
		return -1;
	}
	if (json_string_length(json_object_get(config, "table")) == 0) {
		*key = json_object_get(config, "table") != NULL ? "table"
		                                                : (store ? "backend" : "sink");
		snprintf(msg, len, "%s needs 'table' (a non-empty name)", what);
		return -1;
	}
	static const char *const sink_not[] = {"path",      "format",     "url",
	                                       "headers",   "token_file", "ca_file",
	                                       "max_bytes", "max_ms",     NULL};
	static const char *const store_not[] = {"path", NULL};
	const char *const *no = store ? store_not : sink_not;
	for (size_t i = 0; no[i] != NULL; i++)
		if (json_object_get(config, no[i]) != NULL) {
			*key = no[i];
			snprintf(msg, len, "'%s' is not for %s", no[i], what);
			return -1;
		}
	if (store && json_object_get(config, "key") == NULL &&
	    !json_is_true(json_object_get(config, "crud"))) {
		*key = "backend";
		snprintf(msg, len, "%s needs 'key' (or 'crud: true', which generates ids)", what);
		return -1;
	}
	return 0;
}

/* ---- Connection ----------------------------------------------------------- */

/* libpq's last message on one line, with the password cut out. */
const char *
acrt__pg_msg(acrt__pg *p, const char *m)
{
	snprintf(p->err, sizeof p->err, "%s", m != NULL && *m != '\0' ? m : "unknown error");
	for (char *c = p->err; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	size_t l = strlen(p->err);
	while (l > 0 && p->err[l - 1] == ' ')
		p->err[--l] = '\0';
	if (p->password != NULL && *p->password != '\0')
		for (char *at; (at = strstr(p->err, p->password)) != NULL;)
			memset(at, '*', strlen(p->password));
	return p->err;
}

static const char *
conn_msg(acrt__pg *p)
{
	return acrt__pg_msg(p, PQerrorMessage(p->conn));
}

/* Runs one statement; 0, or -1 with p->err set. */
int
acrt__pg_exec(acrt__pg *p, const char *sql)
{
	PGresult *r = PQexec(p->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rc != 0)
		(void)acrt__pg_msg(p,
		                   r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
	PQclear(r);
	return rc;
}

/* The session's tables: the target, the positions, the staging table. */
static int
prepare_session(acrt__pg *p, const char *qt)
{
	char sql[1024];
	if (p->keyed)
		snprintf(
		    sql, sizeof sql,
		    "CREATE TABLE IF NOT EXISTS %s (key text PRIMARY KEY, event jsonb NOT NULL)",
		    qt);
	else
		snprintf(sql, sizeof sql,
		         "CREATE TABLE IF NOT EXISTS %s (id bigserial PRIMARY KEY, event jsonb NOT "
		         "NULL)",
		         qt);
	if (acrt__pg_exec(p, "SET client_min_messages = warning") != 0 ||
	    acrt__pg_exec(p, "SET client_encoding = 'UTF8'") != 0 || acrt__pg_exec(p, sql) != 0)
		return -1;
	if (p->track &&
	    acrt__pg_exec(p, "CREATE TABLE IF NOT EXISTS acrt_positions (tbl text, component text, "
	                     "replica int, epoch bigint NOT NULL, pos bigint NOT NULL, "
	                     "PRIMARY KEY (tbl, component, replica))") != 0)
		return -1;
	if (p->staged &&
	    acrt__pg_exec(p,
	                  "CREATE TEMP TABLE IF NOT EXISTS acrt_stage (seq bigint, key text, event "
	                  "jsonb) ON COMMIT DELETE ROWS") != 0)
		return -1;
	return 0;
}

/* The stored position of this instance when its epoch is ours: *pos, 1; 0
 * when none is; -1 on error. */
static int
read_position(acrt_ctx *ctx, acrt__pg *p, uint64_t *pos)
{
	char rep[16], ep[32];
	snprintf(rep, sizeof rep, "%d", acrt_replica(ctx));
	snprintf(ep, sizeof ep, "%" PRId64, (int64_t)p->epoch);
	const char *args[] = {p->table, acrt_name(ctx), rep, ep};
	PGresult *r = PQexecParams(p->conn,
	                           "SELECT pos FROM acrt_positions WHERE tbl = $1 AND component = "
	                           "$2 AND replica = $3::int AND epoch = $4::bigint",
	                           4, NULL, args, NULL, NULL, 0);
	int rc = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		(void)acrt__pg_msg(p,
		                   r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
	else if (PQntuples(r) == 0)
		rc = 0;
	else {
		*pos = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		rc = 1;
	}
	PQclear(r);
	return rc;
}

/* Reads the dsn of `dsn` or `dsn_file` into p->dsn. */
static int
load_dsn(acrt_ctx *ctx, acrt__pg *p)
{
	const char *d = acrt_config_string(ctx, "dsn", NULL);
	if (d != NULL) {
		p->dsn = acrt__strdup(d);
		return p->dsn != NULL ? ACRT_OK : acrt_fail(ctx, "out of memory");
	}
	char *path = acrt__config_path(ctx, "dsn_file");
	if (path == NULL)
		return acrt_fail(ctx, "out of memory");
	unsigned mode = 0;
	int rc = ACRT_ERR;
	int pr = acrt__secret_file_private(path, &mode);
	if (pr < 0)
		acrt_fail(ctx, "cannot read dsn_file %s: %s", path, strerror(errno));
	else if (pr > 0)
		acrt_fail(ctx,
		          "dsn_file %s is open to its group or others (mode %03o): chmod 600 it",
		          path, mode);
	else {
		char *s = NULL;
		int r = acrt__secret_file_read(path, DSN_MAX, &s);
		if (r != 0)
			acrt_fail(ctx, "dsn_file %s: %s", path,
			          r == -1 ? strerror(errno)
			                  : "must hold one dsn (1 to 4096 bytes)");
		else if ((p->dsn = acrt__strdup(s)) == NULL)
			acrt_fail(ctx, "out of memory");
		else
			rc = ACRT_OK;
		if (s != NULL) {
			explicit_bzero(s, strlen(s));
			free(s); /* acrt__secret_file_read's */
		}
	}
	acrt__free(path);
	return rc;
}

/* Parses the dsn (libpq's message is not shown: it may quote the dsn) and
 * keeps its password to cut out of messages. */
static int
parse_dsn(acrt_ctx *ctx, acrt__pg *p)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(p->dsn, &perr);
	if (opts == NULL) {
		PQfreemem(perr);
		return acrt_fail(ctx,
		                 "%s: the dsn is not a libpq connection string (key=value ... or "
		                 "postgresql://...)",
		                 p->what);
	}
	int rc = ACRT_OK;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    (p->password = acrt__strdup(o->val)) == NULL)
			rc = acrt_fail(ctx, "out of memory");
	PQconninfoFree(opts);
	return rc;
}

/* The table's typed columns (all but id, key and event; not generated ones)
 * as three lists: `, "c"`, `, r."c"` and `, "c" = EXCLUDED."c"`. 0, or -1 with
 * p->err set. */
static int
typed_columns(acrt__pg *p, const char *qt, acrt__jbuf *cols, acrt__jbuf *sel, acrt__jbuf *upd)
{
	const char *args[] = {qt};
	PGresult *r = PQexecParams(p->conn,
	                           "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
	                           "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND "
	                           "attname NOT IN ('id', 'key', 'event') ORDER BY attnum",
	                           1, NULL, args, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		(void)acrt__pg_msg(p,
		                   r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
		PQclear(r);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *c = PQgetvalue(r, i, 0);
		char *q = PQescapeIdentifier(p->conn, c, strlen(c));
		if (q == NULL) {
			(void)conn_msg(p);
			rc = -1;
			break;
		}
		size_t ql = strlen(q);
		acrt__jbuf_put(cols, ", ", 2);
		acrt__jbuf_put(cols, q, ql);
		acrt__jbuf_put(sel, ", r.", 4);
		acrt__jbuf_put(sel, q, ql);
		acrt__jbuf_put(upd, ", ", 2);
		acrt__jbuf_put(upd, q, ql);
		acrt__jbuf_put(upd, " = EXCLUDED.", 12);
		acrt__jbuf_put(upd, q, ql);
		PQfreemem(q);
	}
	PQclear(r);
	return rc;
}

/* The SQL of a batch, with the table and its columns quoted by the server's
 * rules: COPY into the table (insert, no typed columns), or into acrt_stage
 * and then INSERT ... SELECT, the typed columns read from the event with
 * jsonb_populate_record. */
static int
build_sql(acrt_ctx *ctx, acrt__pg *p)
{
	char *qt = PQescapeIdentifier(p->conn, p->table, strlen(p->table));
	if (qt == NULL)
		return acrt_fail(ctx, "%s: %s", p->what, conn_msg(p));
	acrt__jbuf cols, sel, upd;
	acrt__jbuf_init(&cols);
	acrt__jbuf_init(&sel);
	acrt__jbuf_init(&upd);
	int rc = ACRT_OK;
	p->staged = p->key != NULL;
	if (prepare_session(p, qt) != 0 || typed_columns(p, qt, &cols, &sel, &upd) != 0) {
		rc = acrt_fail(ctx, "%s: cannot create the table: %s", p->what, p->err);
		goto out;
	}
	if (cols.len > 0 && !p->staged) {
		p->staged = true;
		if (prepare_session(p, qt) != 0) {
			rc = acrt_fail(ctx, "%s: cannot create the table: %s", p->what, p->err);
			goto out;
		}
	}
	acrt__jbuf_putc(&cols, '\0');
	acrt__jbuf_putc(&sel, '\0');
	acrt__jbuf_putc(&upd, '\0');
	if (!cols.ok || !sel.ok || !upd.ok) {
		rc = acrt_fail(ctx, "out of memory");
		goto out;
	}
	size_t n = 2 * strlen(qt) + cols.len + sel.len + upd.len + 512;
	p->ins_sql = acrt__malloc(n);
	p->ups_sql = acrt__malloc(n);
	p->one_sql = acrt__malloc(n);
	if (p->ins_sql == NULL || p->ups_sql == NULL || p->one_sql == NULL) {
		rc = acrt_fail(ctx, "out of memory");
		goto out;
	}
	if (p->key != NULL) {
		snprintf(p->ins_sql, n, "COPY acrt_stage (seq, key, event) FROM STDIN");
		snprintf(
		    p->ups_sql, n,
		    "INSERT INTO %s (key, event%s) SELECT DISTINCT ON (s.key) s.key, s.event%s "
		    "FROM acrt_stage s, jsonb_populate_record(NULL::%s, s.event) r ORDER BY "
		    "s.key, s.seq DESC ON CONFLICT (key) DO UPDATE SET event = EXCLUDED.event%s",
		    qt, cols.p, sel.p, qt, upd.p);
	} else if (p->staged) {
		snprintf(p->ins_sql, n, "COPY acrt_stage (seq, event) FROM STDIN");
		snprintf(p->ups_sql, n,
		         "INSERT INTO %s (event%s) SELECT s.event%s FROM acrt_stage s, "
		         "jsonb_populate_record(NULL::%s, s.event) r ORDER BY s.seq",
		         qt, cols.p, sel.p, qt);
	} else {
		snprintf(p->ins_sql, n, "COPY %s (event) FROM STDIN", qt);
		p->ups_sql[0] = '\0';
	}
	/* crud: one row at a time, inside its open transaction (pg_crud.c) */
	snprintf(p->one_sql, n,
	         "INSERT INTO %s (key, event%s) SELECT $1, s.e%s FROM (SELECT $2::jsonb AS e) s, "
	         "jsonb_populate_record(NULL::%s, s.e) r ON CONFLICT (key) DO UPDATE SET event = "
	         "EXCLUDED.event%s",
	         qt, cols.p, sel.p, qt, upd.p);
out:
	acrt__jbuf_free(&cols);
	acrt__jbuf_free(&sel);
	acrt__jbuf_free(&upd);
	PQfreemem(qt);
	return rc;
}

int
acrt__pg_setup(acrt_ctx *ctx, bool store, acrt__pg **out)
{
	acrt__pg *p = acrt__calloc(1, sizeof *p);
	if (p == NULL)
		return acrt_fail(ctx, "out of memory");
	acrt__jbuf_init(&p->buf);
	acrt__wretry_init(&p->retry, ctx);
	int rc = ACRT_ERR;
	p->key = acrt_config_string(ctx, "key", NULL);
	bool crud = store && acrt_config_bool(ctx, "crud", 0);
	p->keyed = p->key != NULL || crud;
	p->track = !store || crud;
	p->max_items = (size_t)acrt_config_int(ctx, "max_items", 1000);
	const char *t = acrt_config_string(ctx, "table", "");
	size_t wl = strlen(t) + 32;
	if ((p->table = acrt__strdup(t)) == NULL || (p->what = acrt__malloc(wl)) == NULL) {
		rc = acrt_fail(ctx, "out of memory");
		goto fail;
	}
	snprintf(p->what, wl, "postgres table %s", t);
	if (getrandom(&p->epoch, sizeof p->epoch, 0) != (ssize_t)sizeof p->epoch) {
		rc = acrt_fail(ctx, "getrandom: %s", strerror(errno));
		goto fail;
	}
	p->epoch &= INT64_MAX; /* a bigint */
	if ((rc = load_dsn(ctx, p)) != ACRT_OK || (rc = parse_dsn(ctx, p)) != ACRT_OK)
		goto fail;
	p->conn = PQconnectdb(p->dsn);
	if (p->conn == NULL) {
		rc = acrt_fail(ctx, "out of memory");
		goto fail;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		rc = acrt_fail(ctx, "%s: cannot connect: %s", p->what, conn_msg(p));
		goto fail;
	}
	if ((rc = build_sql(ctx, p)) != ACRT_OK ||
	    (crud && (rc = acrt__pg_crud_setup(ctx, p)) != ACRT_OK))
		goto fail;
	*out = p;
	return ACRT_OK;
fail:
	acrt__pg_cleanup(ctx, p);
	return rc;
}

/* ---- Batches -------------------------------------------------------------- */

/* One COPY text field: \, newline, CR and tab escaped. */
static void
copy_field(acrt__jbuf *b, const char *s, size_t n)
{
	const char *run = s;
	for (const char *c = s, *e = s + n; c < e; c++) {
		char esc = *c == '\\'   ? '\\'
		           : *c == '\n' ? 'n'
		           : *c == '\r' ? 'r'
		           : *c == '\t' ? 't'
		                        : 0;
		if (esc == 0)
			continue;
		acrt__jbuf_put(b, run, (size_t)(c - run));
		acrt__jbuf_putc(b, '\\');
		acrt__jbuf_putc(b, esc);
		run = c + 1;
	}
	acrt__jbuf_put(b, run, (size_t)(s + n - run));
}

int
acrt__pg_put_position(acrt_ctx *ctx, acrt__pg *p)
{
	char rep[16], ep[32], pos[32];
	snprintf(rep, sizeof rep, "%d", acrt_replica(ctx));
	snprintf(ep, sizeof ep, "%" PRId64, (int64_t)p->epoch);
	snprintf(pos, sizeof pos, "%" PRIu64, p->pos);
	const char *args[] = {p->table, acrt_name(ctx), rep, ep, pos};
	PGresult *r =
	    PQexecParams(p->conn,
	                 "INSERT INTO acrt_positions VALUES ($1, $2, $3::int, $4::bigint, "
	                 "$5::bigint) ON CONFLICT (tbl, component, replica) DO UPDATE SET "
	                 "epoch = EXCLUDED.epoch, pos = EXCLUDED.pos",
	                 5, NULL, args, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		(void)acrt__pg_msg(p,
		                   r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
	PQclear(r);
	return rc;
}

/* One try of the batch's transaction: 0, or -1 with p->err set (the
 * transaction rolled back or the connection lost). */
static int
write_tx(acrt_ctx *ctx, acrt__pg *p)
{
	if (acrt__pg_exec(p, "BEGIN") != 0)
		return -1;
	PGresult *r = PQexec(p->conn, p->ins_sql);
	bool in = PQresultStatus(r) == PGRES_COPY_IN;
	if (!in)
		(void)acrt__pg_msg(p,
		                   r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
	PQclear(r);
	if (!in)
		goto rollback;
	int ok = 1;
	for (size_t off = 0; ok && off < p->buf.len; off += COPY_CHUNK) {
		size_t k = p->buf.len - off < COPY_CHUNK ? p->buf.len - off : COPY_CHUNK;
		ok = PQputCopyData(p->conn, p->buf.p + off, (int)k) == 1;
	}
	if (PQputCopyEnd(p->conn, ok ? NULL : "aborted") != 1)
		ok = 0;
	bool copied = true;
	while ((r = PQgetResult(p->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			(void)acrt__pg_msg(p, PQresultErrorMessage(r));
			copied = false;
		}
		PQclear(r);
	}
	if (!ok)
		(void)conn_msg(p);
	if (!ok || !copied)
		goto rollback;
	if (p->ups_sql[0] != '\0' && acrt__pg_exec(p, p->ups_sql) != 0)
		goto rollback;
	if (p->track && acrt__pg_put_position(ctx, p) != 0)
		goto rollback;
	return acrt__pg_exec(p, "COMMIT");
rollback:
	if (PQstatus(p->conn) == CONNECTION_OK) {
		char keep[sizeof p->err];
		memcpy(keep, p->err, sizeof keep);
		(void)acrt__pg_exec(p, "ROLLBACK");
		memcpy(p->err, keep, sizeof keep);
	}
	return -1;
}

static void
batch_clear(acrt__pg *p)
{
	p->n = 0;
	p->buf.len = 0;
	p->buf.ok = 1;
}

/* After a lost connection: a new one, its session, and whether the lost
 * transaction had committed after all (the stored position covers it). 1:
 * it had; 0: write it again; -1: no connection yet. */
int
acrt__pg_reconnect(acrt_ctx *ctx, acrt__pg *p)
{
	PQreset(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		(void)conn_msg(p);
		return -1;
	}
	char *qt = PQescapeIdentifier(p->conn, p->table, strlen(p->table));
	int rc = qt != NULL && prepare_session(p, qt) == 0 ? 0 : -1;
	PQfreemem(qt);
	if (rc != 0)
		return -1;
	uint64_t at = 0;
	if (p->track && (rc = read_position(ctx, p, &at)) < 0)
		return -1;
	return rc == 1 && at >= p->pos ? 1 : 0;
}

/* Writes the open batch until it commits. ACRT_OK; otherwise its events are
 * counted unwritten and the code returned (ACRT_ECANCELED, ACRT_EFATAL). */
static int
send_batch(acrt_ctx *ctx, acrt__pg *p)
{
	if (p->n == 0)
		return ACRT_OK;
	if (!p->buf.ok) {
		acrt__ctx_unwritten(ctx, p->n);
		batch_clear(p);
		return acrt_fail(ctx, "out of memory");
	}
	int rc = ACRT_OK;
	int w = write_tx(ctx, p);
	while (w != 0) {
		bool lost = PQstatus(p->conn) != CONNECTION_OK;
		rc = acrt__wretry_failed(&p->retry, ctx, p->what, p->err, lost);
		if (rc != ACRT_OK) {
			/* The runtime counts the event being processed as failed. */
			uint64_t n = p->n - (p->holds_current && rc != ACRT_ECANCELED ? 1 : 0);
			if (n > 0)
				acrt__ctx_unwritten(ctx, n);
			acrt_log(ctx, ACRT_LOG_ERROR, "%zu event(s) not written to %s", p->n,
			         p->what);
			break;
		}
		int c = acrt__pg_reconnect(ctx, p);
		w = c < 0 ? -1 : c == 1 ? 0 : write_tx(ctx, p);
	}
	if (rc == ACRT_OK) {
		acrt__wretry_ok(&p->retry, ctx, p->what);
		acrt_count(ctx, "pg_batches", 1);
		acrt_count(ctx, "pg_rows", p->n);
	}
	batch_clear(p);
	return rc;
}

/* Whether JSON text holds the escape \u0000, which jsonb refuses (the whole
 * batch would fail): an odd run of backslashes before "u0000". */
bool
acrt__pg_has_nul(const char *d, size_t len)
{
	for (const char *e = d + len, *c = d; (c = memchr(c, 'u', (size_t)(e - c))) != NULL; c++) {
		if (e - c < 5 || memcmp(c, "u0000", 5) != 0)
			continue;
		size_t bs = 0;
		for (const char *b = c; b > d && b[-1] == '\\'; b--)
			bs++;
		if (bs % 2 == 1)
			return true;
	}
	return false;
}

/* The key's text: a string's value, another value's compact JSON. */
static int
key_field(acrt_ctx *ctx, acrt__pg *p, const acrt__jval *kv)
{
	if (kv->type == ACRT__J_STRING && memchr(kv->raw, '\\', kv->raw_len) == NULL) {
		copy_field(&p->buf, kv->raw + 1, kv->raw_len - 2);
		return ACRT_OK;
	}
	json_t *j = acrt__jval_to_jansson(kv);
	if (j == NULL)
		return acrt_fail(ctx, "out of memory");
	char kbuf[ACRT__KEY_INLINE];
	char *heap = NULL;
	size_t kl;
	const char *k = json_is_string(j) ? json_string_value(j)
	                                  : acrt__key_encode(j, kbuf, sizeof kbuf, &heap, &kl);
	if (json_is_string(j))
		kl = json_string_length(j);
	int rc = ACRT_OK;
	if (k == NULL || memchr(k, '\0', kl) != NULL)
		rc = k == NULL ? acrt_fail(ctx, "out of memory")
		               : acrt_fail(ctx, "the key holds a NUL character");
	else
		copy_field(&p->buf, k, kl);
	acrt__free(heap);
	json_decref(j);
	return rc;
}

int
acrt__pg_process(acrt_ctx *ctx, acrt__pg *p, acrt_event *ev)
{
	if (p->crud != NULL)
		return acrt__pg_crud_process(ctx, p, ev);
	uint64_t at = p->pos;
	if (at < p->skip_below) { /* committed before the crash: replayed */
		p->pos++;
		acrt_count(ctx, "pg_replayed_skipped", 1);
		return ACRT_OK;
	}
	size_t len, cap;
	const char *d = acrt__event_text(ev, &len, &cap);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	acrt__jval kv = {.type = ACRT__J_ABSENT};
	size_t kl = p->key != NULL ? strlen(p->key) : 0;
	int lr = acrt__json_lookup(d, len, cap, &p->key, &kl, p->key != NULL ? 1 : 0, &kv);
	p->pos++; /* a failed event keeps its place: a replay skips the same ones */
	if (lr < 0 || memchr(d, '\0', len) != NULL)
		return acrt__fail_event(ctx, ev, "invalid_events", "payload is not valid JSON");
	if (acrt__pg_has_nul(d, len))
		return acrt__fail_event(
		    ctx, ev, "invalid_events",
		    "the event holds \\u0000, which PostgreSQL's jsonb cannot store");
	if (p->key != NULL && lr != 0)
		return acrt__fail_event(ctx, ev, "invalid_events", "payload is not a JSON object");
	if (p->key != NULL && (kv.type == ACRT__J_ABSENT || kv.type == ACRT__J_NULL))
		return acrt__fail_event(ctx, ev, "missing_key",
		                        "no key: field '%s' is absent or null", p->key);
	size_t mark = p->buf.len;
	if (p->staged) {
		char seq[32];
		int sl = snprintf(seq, sizeof seq, "%zu\t", p->n);
		acrt__jbuf_put(&p->buf, seq, (size_t)sl);
	}
	if (p->key != NULL) {
		int rc = key_field(ctx, p, &kv);
		if (rc != ACRT_OK) {
			p->buf.len = mark;
			return rc;
		}
		acrt__jbuf_putc(&p->buf, '\t');
	}
	copy_field(&p->buf, d, len);
	acrt__jbuf_putc(&p->buf, '\n');
	p->n++;
	if (p->n < p->max_items)
		return ACRT_OK;
	p->holds_current = true;
	int rc = send_batch(ctx, p);
	p->holds_current = false;
	return rc;
}

int
acrt__pg_flush(acrt_ctx *ctx, acrt__pg *p)
{
	if (p->crud != NULL)
		return acrt__pg_crud_commit(ctx, p, true);
	return send_batch(ctx, p);
}

int
acrt__pg_barrier(acrt_ctx *ctx, acrt__pg *p)
{
	return p->crud != NULL ? acrt__pg_crud_commit(ctx, p, false) : send_batch(ctx, p);
}

/* Snapshot: 1 byte version, the epoch and the position (8 bytes each, little
 * endian), taken once everything before the barrier is committed. */
int
acrt__pg_snapshot(acrt_ctx *ctx, acrt__pg *p, void **buf, size_t *len)
{
	int rc = send_batch(ctx, p);
	return rc != ACRT_OK ? rc : acrt__epochpos_snapshot(ctx, p->epoch, p->pos, buf, len);
}

/* Restore: the epoch and position, then what the table holds past them. */
int
acrt__pg_restore(acrt_ctx *ctx, acrt__pg *p, const void *buf, size_t len)
{
	if (len == 0)
		return ACRT_OK;
	int rc = acrt__epochpos_restore(ctx, "a postgres sink", buf, len, &p->epoch, &p->pos);
	if (rc != ACRT_OK)
		return rc;
	uint64_t at = 0;
	int r = read_position(ctx, p, &at);
	if (r < 0)
		return acrt_fail(ctx, "%s: cannot read acrt_positions: %s", p->what, p->err);
	if (r == 1 && at > p->pos) {
		p->skip_below = at;
		acrt_log(ctx, ACRT_LOG_INFO,
		         "%s holds %" PRIu64
		         " event(s) past the checkpoint: their replay is skipped",
		         p->what, at - p->pos);
	}
	return ACRT_OK;
}

void
acrt__pg_cleanup(acrt_ctx *ctx, acrt__pg *p)
{
	if (p == NULL)
		return;
	acrt__pg_crud_free(ctx, p);
	if (p->n > 0) { /* normally empty: finish wrote it; cancelled otherwise */
		acrt__ctx_unwritten(ctx, p->n);
		batch_clear(p);
	}
	if (p->conn != NULL)
		PQfinish(p->conn);
	if (p->dsn != NULL) {
		explicit_bzero(p->dsn, strlen(p->dsn));
		acrt__free(p->dsn);
	}
	if (p->password != NULL) {
		explicit_bzero(p->password, strlen(p->password));
		acrt__free(p->password);
	}
	acrt__jbuf_free(&p->buf);
	acrt__free(p->what);
	acrt__free(p->table);
	acrt__free(p->ins_sql);
	acrt__free(p->ups_sql);
	acrt__free(p->one_sql);
	acrt__free(p);
}
