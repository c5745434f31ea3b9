/*
 * pg_crud.c - the Store's `crud: true` with `backend: postgres`: the original
 * Autocoder's CRUD requests (store_crud.c writes the requests and replies
 * once, over acrt__crud_ops) and generated ids, on rows of a PostgreSQL table
 * (docs/COMPONENTS.md "Store"; the connection and its retry are pg_sink.c's).
 *
 * Rows. The table is (key text PRIMARY KEY, event jsonb), as the keyed Store's:
 * a record {"id": ID, "data": ...} is the row of key ID; an event without
 * `action` is the row of its `key` field's value, else of a generated id. A
 * table declared beforehand with more columns gets them filled from the
 * stored JSON's fields (jsonb_populate_record), as for upserts.
 *
 * Generated ids come from a sequence of the table's own, TABLE_acrt_ids,
 * created when missing and, at setup, moved past the largest all-digit key
 * the table holds (a table filled before the sequence existed). nextval() is
 * not transactional: an id once drawn is never drawn again, not after a
 * rollback, a lost connection, a kill -9 or a --resume; ids may skip numbers
 * (those of transactions that did not commit), never repeat.
 *
 * Transactions. Every event runs its statements in the instance's open
 * transaction on its one connection, so a request reads what the requests
 * before it wrote, committed or not. The transaction commits when the input
 * pauses (idle), every `max_items` events (1000), at the end of the input and
 * at a checkpoint barrier (the Store's snapshot), so a checkpoint covers only
 * committed rows. A reply is held until its transaction has committed, then
 * sent (by the commit on the instance's thread, or at its next process or
 * idle when the commit was a barrier's): an answered request is in the table,
 * whatever happens next, and no client sees an id or a record that a crash
 * could take back. Each transaction also stores its number (p->pos, per run's
 * epoch) in acrt_positions, so that after a lost connection the Store knows
 * whether a COMMIT that got no answer went through.
 *
 * Failures. A lost connection (or a failure that may pass: serialization,
 * deadlock, the server shutting down or out of resources) loses nothing: the
 * events of the open transaction are held, and with the Sink's backoff
 * (writeretry.h: one log line per attempt, the input waiting, the pipeline
 * backpressured) the connection is reset and the transaction run again from
 * its events (new replies; a create draws a new id) and committed, unless the
 * stored number says it had committed. Another error the server reports (a
 * table of another shape, permissions) stops the system, as for the Sink.
 * Giving up (on_write_error: fail, a cancel) counts the open transaction's
 * events unwritten; their requests get no reply (the endpoint answers 504).
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "components/pg_int.h"
#include "components/store_int.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "runtime/ctx_query.h"

/* An event of a transaction, held until its reply is sent. */
typedef struct pending {
	acrt_event *req;   /* the event (a reference) */
	acrt_event *reply; /* its reply (a request's), or NULL */
} pending;

struct acrt__pg_crud {
	char *seq; /* the sequence, quoted */
	char *get_sql, *lock_sql, *del_sql, *list_sql;
	/* [0, done): committed, replies not sent yet; [done, n): the open
	 * transaction's. */
	pending *v;
	size_t done, n, cap;
	bool open;    /* a transaction has begun (its number is p->pos) */
	bool curable; /* the last failure may pass with a retry */
};

/* ---- Statements ------------------------------------------------------------- */

/* A failed statement: p->err, and whether a retry may cure it (the
 * connection, SQLSTATE classes 08, 40, 53, 57P). ACRT_ERETRYABLE. */
static int
stmt_fail(acrt__pg *p, PGresult *r)
{
	const char *st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	(void)acrt__pg_msg(p, r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
	p->crud->curable = PQstatus(p->conn) != CONNECTION_OK || st == NULL ||
	                   strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 ||
	                   strncmp(st, "53", 2) == 0 || strncmp(st, "57P", 3) == 0;
	PQclear(r);
	return ACRT_ERETRYABLE;
}

/* Runs sql with n text parameters: its result when its status is want, else
 * NULL (stmt_fail has run). */
static PGresult *
run(acrt__pg *p, const char *sql, int n, const char *const *args, ExecStatusType want)
{
	PGresult *r = PQexecParams(p->conn, sql, n, NULL, args, NULL, NULL, 0);
	if (PQresultStatus(r) == want)
		return r;
	(void)stmt_fail(p, r);
	return NULL;
}

/* One plain statement (BEGIN); 0, or -1 with the failure noted. */
static int
run_plain(acrt__pg *p, const char *sql)
{
	PGresult *r = run(p, sql, 0, NULL, PGRES_COMMAND_OK);
	PQclear(r);
	return r != NULL ? 0 : -1;
}

/* COMMIT, which must answer COMMIT (an aborted transaction answers ROLLBACK):
 * 0, or -1 with the failure noted. */
static int
run_commit(acrt__pg *p)
{
	PGresult *r = run(p, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
	if (r == NULL)
		return -1;
	bool ok = strcmp(PQcmdStatus(r), "COMMIT") == 0;
	PQclear(r);
	if (!ok) {
		snprintf(p->err, sizeof p->err, "the transaction was rolled back");
		p->crud->curable = true;
	}
	return ok ? 0 : -1;
}

/* A row's upsert: key, and the event's JSON text (len bytes). */
static int
put_row(acrt__pg *p, const char *key, const char *text, size_t len)
{
	char *t = acrt__malloc(len + 1); /* libpq reads text parameters to their NUL */
	if (t == NULL) {
		snprintf(p->err, sizeof p->err, "out of memory");
		p->crud->curable = true;
		return ACRT_ERETRYABLE;
	}
	memcpy(t, text, len);
	t[len] = '\0';
	const char *args[] = {key, t};
	PGresult *r = run(p, p->one_sql, 2, args, PGRES_COMMAND_OK);
	acrt__free(t);
	PQclear(r);
	return r != NULL ? ACRT_OK : ACRT_ERETRYABLE;
}

/* ---- The records, for store_crud.c ------------------------------------------ */

static int
db_get(void *b, acrt_ctx *ctx, const char *id, bool for_update, json_t **rec)
{
	acrt__pg *p = b;
	const char *args[] = {id};
	PGresult *r =
	    run(p, for_update ? p->crud->lock_sql : p->crud->get_sql, 1, args, PGRES_TUPLES_OK);
	if (r == NULL)
		return ACRT_ERETRYABLE;
	int rc = ACRT_ENOENT;
	if (PQntuples(r) > 0) {
		json_error_t e;
		*rec = json_loads(PQgetvalue(r, 0, 0), 0, &e);
		rc = *rec != NULL ? ACRT_OK
		                  : acrt_fail(ctx, "%s: the row of '%s' cannot be read: %s",
		                              p->what, id, e.text);
	}
	PQclear(r);
	return rc;
}

static int
db_put(void *b, acrt_ctx *ctx, const char *id, const json_t *rec)
{
	acrt__pg *p = b;
	char *t = json_dumps(rec, JSON_COMPACT);
	if (t == NULL)
		return acrt_fail(ctx, "out of memory");
	int rc = put_row(p, id, t, strlen(t));
	void (*jfree)(void *);
	json_get_alloc_funcs(NULL, &jfree); /* jansson's memory is not malloc's */
	jfree(t);
	return rc;
}

static int
db_del(void *b, acrt_ctx *ctx, const char *id)
{
	acrt__pg *p = b;
	(void)ctx;
	const char *args[] = {id};
	PGresult *r = run(p, p->crud->del_sql, 1, args, PGRES_COMMAND_OK);
	if (r == NULL)
		return ACRT_ERETRYABLE;
	int rc = strcmp(PQcmdTuples(r), "0") == 0 ? ACRT_ENOENT : ACRT_OK;
	PQclear(r);
	return rc;
}

static int
db_list(void *b, acrt_ctx *ctx, json_t *recs)
{
	acrt__pg *p = b;
	PGresult *r = run(p, p->crud->list_sql, 0, NULL, PGRES_TUPLES_OK);
	if (r == NULL)
		return ACRT_ERETRYABLE;
	int rc = ACRT_OK;
	for (int i = 0; i < PQntuples(r) && rc == ACRT_OK; i++) {
		json_t *rec = json_loads(PQgetvalue(r, i, 0), 0, NULL);
		if (rec != NULL && json_array_append_new(recs, rec) != 0) /* steals rec */
			rc = acrt_fail(ctx, "out of memory");
	}
	PQclear(r);
	return rc;
}

static int
db_take_id(void *b, acrt_ctx *ctx, int64_t *id)
{
	acrt__pg *p = b;
	(void)ctx;
	const char *args[] = {p->crud->seq};
	PGresult *r = run(p, "SELECT nextval($1::regclass)", 1, args, PGRES_TUPLES_OK);
	if (r == NULL)
		return ACRT_ERETRYABLE;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return ACRT_OK;
}

static const acrt__crud_ops db_ops = {db_get, db_put, db_del, db_list, db_take_id};

/* ---- Events ----------------------------------------------------------------- */

/* A plain event's row key (the key field's value: a string as it is, another
 * value as compact JSON) into *out (acrt__malloc'd). */
static int
key_text(acrt_ctx *ctx, const acrt__jval *kv, char **out)
{
	json_t *j = acrt__jval_to_jansson(kv);
	if (j == NULL)
		return acrt_fail(ctx, "out of memory");
	char kbuf[ACRT__KEY_INLINE];
	char *heap = NULL;
	size_t kl = json_string_length(j);
	const char *k = json_is_string(j) ? json_string_value(j)
	                                  : acrt__key_encode(j, kbuf, sizeof kbuf, &heap, &kl);
	char *t = k != NULL ? acrt__malloc(kl + 1) : NULL;
	if (t != NULL) {
		memcpy(t, k, kl);
		t[kl] = '\0';
	}
	acrt__free(heap);
	json_decref(j);
	if (t == NULL)
		return acrt_fail(ctx, "out of memory");
	*out = t;
	return ACRT_OK;
}

/* Whether the event's text holds NUL or the escape \u0000 (jsonb refuses
 * both). */
static bool
holds_nul(const char *d, size_t len)
{
	return memchr(d, '\0', len) != NULL || acrt__pg_has_nul(d, len);
}

/* A new event: ACRT_OK when it can be run, else failed alone (port `error`,
 * counted): not a JSON object, or an event to store holding \u0000 (a
 * request holding it is answered with an error instead). */
static int
check_event(acrt_ctx *ctx, acrt_event *ev)
{
	size_t len, cap;
	const char *d = acrt__event_text(ev, &len, &cap);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	static const char *const action[] = {"action"};
	static const size_t action_len[] = {6};
	acrt__jval av = {.type = ACRT__J_ABSENT};
	int lr = acrt__json_lookup(d, len, cap, action, action_len, 1, &av);
	if (lr != 0)
		return acrt__fail_event(ctx, ev, "invalid_events", "%s",
		                        lr < 0 ? "payload is not valid JSON"
		                               : "payload is not a JSON object");
	if (av.type == ACRT__J_ABSENT && holds_nul(d, len))
		return acrt__fail_event(
		    ctx, ev, "invalid_events",
		    "the event holds \\u0000, which PostgreSQL's jsonb cannot store");
	return ACRT_OK;
}

/* Runs one event (checked by check_event) in the open transaction, again
 * after a failure too. ACRT_OK (e->reply set for a request), ACRT_ERETRYABLE
 * (the database: p->err), or the event's own failure. */
static int
run_one(acrt_ctx *ctx, acrt__pg *p, pending *e)
{
	acrt_event *ev = e->req;
	size_t len, cap;
	const char *d = acrt__event_text(ev, &len, &cap);
	if (d == NULL)
		return acrt_fail(ctx, "out of memory");
	static const char *const action[] = {"action"};
	static const size_t action_len[] = {6};
	acrt__jval av = {.type = ACRT__J_ABSENT}, kv = {.type = ACRT__J_ABSENT};
	(void)acrt__json_lookup(d, len, cap, action, action_len, 1, &av);
	if (av.type != ACRT__J_ABSENT) {
		if (holds_nul(d, len)) {
			json_t *r = json_pack("{s:s,s:s}", "status", "error", "message",
			                      "the request holds \\u0000, which PostgreSQL's jsonb "
			                      "cannot store");
			acrt_event *re = r != NULL ? acrt__event_new_json(ev, r) : NULL;
			if (re == NULL ||
			    acrt_event_set_header(re, ACRT_HTTP_STATUS_HEADER, "400") != ACRT_OK) {
				acrt_event_unref(re);
				return acrt_fail(ctx, "out of memory");
			}
			e->reply = re;
			return ACRT_OK;
		}
		return acrt__crud_request(ctx, ev, &db_ops, p, &e->reply);
	}
	if (p->key != NULL) {
		size_t kl = strlen(p->key);
		(void)acrt__json_lookup(d, len, cap, &p->key, &kl, 1, &kv);
	}
	char *key = NULL;
	char idbuf[32];
	int rc = ACRT_OK;
	if (kv.type != ACRT__J_ABSENT && kv.type != ACRT__J_NULL) {
		rc = key_text(ctx, &kv, &key);
	} else {
		int64_t id;
		if ((rc = db_take_id(p, ctx, &id)) == ACRT_OK) {
			snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
			key = idbuf;
		}
	}
	if (rc == ACRT_OK)
		rc = put_row(p, key, d, len);
	if (key != idbuf)
		acrt__free(key);
	return rc;
}

/* Sends the replies of committed transactions and lets their events go. */
static int
send_done(acrt_ctx *ctx, acrt__pg_crud *c)
{
	int rc = ACRT_OK;
	for (size_t i = 0; i < c->done; i++) {
		if (c->v[i].reply != NULL) {
			int r = acrt_emit(ctx, "output", c->v[i].reply); /* takes it */
			if (r != ACRT_OK && r != ACRT_ENOENT && rc == ACRT_OK)
				rc = r; /* ENOENT: `output` may be undeclared */
		}
		acrt_event_unref(c->v[i].req);
	}
	memmove(c->v, c->v + c->done, (c->n - c->done) * sizeof *c->v);
	c->n -= c->done;
	c->done = 0;
	return rc;
}

/* Lets the open transaction's events go, their replies unsent. */
static void
drop_open(acrt__pg_crud *c)
{
	for (size_t i = c->done; i < c->n; i++) {
		acrt_event_unref(c->v[i].reply);
		acrt_event_unref(c->v[i].req);
	}
	c->n = c->done;
	c->open = false;
}

static void
committed(acrt_ctx *ctx, acrt__pg *p)
{
	acrt__pg_crud *c = p->crud;
	acrt__wretry_ok(&p->retry, ctx, p->what);
	acrt_count(ctx, "pg_batches", 1);
	acrt_count(ctx, "pg_rows", c->n - c->done);
	c->done = c->n;
	c->open = false;
}

/* The open transaction once more on a new connection: BEGIN, every event's
 * statements (new replies), its number, COMMIT. 0, or -1 (the failure
 * noted). An event failing on its own now (it did not the first time: out of
 * memory, a row another program wrote) goes without a reply: its request
 * times out. */
static int
redo(acrt_ctx *ctx, acrt__pg *p)
{
	acrt__pg_crud *c = p->crud;
	for (size_t i = c->done; i < c->n; i++) {
		acrt_event_unref(c->v[i].reply);
		c->v[i].reply = NULL;
	}
	if (run_plain(p, "BEGIN") != 0)
		return -1;
	for (size_t i = c->done; i < c->n; i++) {
		int rc = run_one(ctx, p, &c->v[i]);
		if (rc == ACRT_ERETRYABLE)
			return -1;
		if (rc != ACRT_OK) /* its own failure (memory, an unreadable row): no reply */
			acrt_log(ctx, ACRT_LOG_WARN, "%s: an event run again failed: %s", p->what,
			         acrt_strerror(rc));
	}
	if (acrt__pg_put_position(ctx, p) != 0) {
		c->curable = PQstatus(p->conn) != CONNECTION_OK;
		return -1;
	}
	return run_commit(p);
}

/* The open transaction failed (p->err, c->curable): retried with backoff
 * until it commits, or given up (its events counted unwritten; cur, the
 * event being processed, is counted failed by the runtime instead). */
static int
replay(acrt_ctx *ctx, acrt__pg *p, acrt_event *cur, bool emit)
{
	acrt__pg_crud *c = p->crud;
	for (;;) {
		int r = acrt__wretry_failed(&p->retry, ctx, p->what, p->err, c->curable);
		if (r != ACRT_OK) {
			size_t n = c->n - c->done;
			size_t lost = n;
			if (r != ACRT_ECANCELED && n > 0 && cur != NULL &&
			    c->v[c->n - 1].req == cur)
				lost--;
			if (lost > 0)
				acrt__ctx_unwritten(ctx, lost);
			if (n > 0)
				acrt_log(ctx, ACRT_LOG_ERROR, "%zu event(s) not written to %s", n,
				         p->what);
			drop_open(c);
			if (PQstatus(p->conn) == CONNECTION_OK)
				(void)acrt__pg_exec(p, "ROLLBACK");
			return r;
		}
		int k = acrt__pg_reconnect(ctx, p);
		if (k < 0) {
			c->curable = true;
			continue;
		}
		if (k == 0 && redo(ctx, p) != 0)
			continue;
		committed(ctx, p);
		return emit ? send_done(ctx, c) : ACRT_OK;
	}
}

/* Commits the open transaction (cur: the event being processed, when it is
 * in it), then sends the replies when emit. */
static int
commit_open(acrt_ctx *ctx, acrt__pg *p, bool emit, acrt_event *cur)
{
	acrt__pg_crud *c = p->crud;
	if (c->open) {
		if (acrt__pg_put_position(ctx, p) != 0) {
			c->curable = PQstatus(p->conn) != CONNECTION_OK;
			return replay(ctx, p, cur, emit);
		}
		if (run_commit(p) != 0)
			return replay(ctx, p, cur, emit);
		committed(ctx, p);
	}
	return emit && c->done > 0 ? send_done(ctx, c) : ACRT_OK;
}

int
acrt__pg_crud_commit(acrt_ctx *ctx, acrt__pg *p, bool emit)
{
	return commit_open(ctx, p, emit, NULL);
}

int
acrt__pg_crud_process(acrt_ctx *ctx, acrt__pg *p, acrt_event *ev)
{
	acrt__pg_crud *c = p->crud;
	int rc = c->done > 0 ? send_done(ctx, c) : ACRT_OK; /* after a barrier's commit */
	if (rc != ACRT_OK)
		return rc;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		pending *v = acrt__realloc(c->v, cap * sizeof *v);
		if (v == NULL)
			return acrt_fail(ctx, "out of memory");
		c->v = v;
		c->cap = cap;
	}
	if ((rc = check_event(ctx, ev)) != ACRT_OK)
		return rc;
	pending *e = &c->v[c->n];
	e->req = ev;
	e->reply = NULL;
	if (!c->open) {
		p->pos++; /* the new transaction's number */
		c->open = true;
		rc = run_plain(p, "BEGIN") == 0 ? ACRT_OK : ACRT_ERETRYABLE;
	}
	if (rc == ACRT_OK)
		rc = run_one(ctx, p, e);
	if (rc != ACRT_OK && rc != ACRT_ERETRYABLE) { /* this event alone */
		acrt_event_unref(e->reply);
		return rc;
	}
	e->req = acrt_event_ref(ev);
	c->n++;
	if (rc == ACRT_ERETRYABLE)
		return replay(ctx, p, ev, true);
	return c->n - c->done >= p->max_items ? commit_open(ctx, p, true, ev) : ACRT_OK;
}

/* ---- Setup ------------------------------------------------------------------ */

static char *
sql_of(const char *fmt, const char *qt)
{
	size_t n = strlen(fmt) + strlen(qt) + 1;
	char *s = acrt__malloc(n);
	if (s != NULL)
		snprintf(s, n, fmt, qt);
	return s;
}

int
acrt__pg_crud_setup(acrt_ctx *ctx, acrt__pg *p)
{
	acrt__pg_crud *c = acrt__calloc(1, sizeof *c);
	if (c == NULL)
		return acrt_fail(ctx, "out of memory");
	p->crud = c;
	size_t tl = strlen(p->table);
	char *seqname = acrt__malloc(tl + sizeof "_acrt_ids");
	if (seqname == NULL)
		return acrt_fail(ctx, "out of memory");
	snprintf(seqname, tl + sizeof "_acrt_ids", "%s_acrt_ids", p->table);
	char *qt = PQescapeIdentifier(p->conn, p->table, tl);
	char *qs = PQescapeIdentifier(p->conn, seqname, strlen(seqname));
	acrt__free(seqname);
	char *create = NULL, *catchup = NULL;
	int rc = ACRT_OK;
	if (qt == NULL || qs == NULL) {
		rc = acrt_fail(ctx, "%s: %s", p->what, acrt__pg_msg(p, PQerrorMessage(p->conn)));
		goto out;
	}
	c->seq = acrt__strdup(qs);
	c->get_sql = sql_of("SELECT event::text FROM %s WHERE key = $1", qt);
	c->lock_sql = sql_of("SELECT event::text FROM %s WHERE key = $1 FOR UPDATE", qt);
	c->del_sql = sql_of("DELETE FROM %s WHERE key = $1", qt);
	c->list_sql = sql_of("SELECT event::text FROM %s", qt);
	create = sql_of("CREATE SEQUENCE IF NOT EXISTS %s", qs);
	/* nextval must pass the largest all-digit key: setval when it would not */
	size_t cn = 2 * strlen(qt) + strlen(qs) + 256;
	if ((catchup = acrt__malloc(cn)) != NULL)
		snprintf(catchup, cn,
		         "SELECT setval($1::regclass, x.m) FROM (SELECT max(key::bigint) AS m FROM "
		         "%s WHERE key ~ '^[1-9][0-9]{0,17}$') x, %s s WHERE x.m > s.last_value OR "
		         "(x.m = s.last_value AND NOT s.is_called)",
		         qt, qs);
	if (c->seq == NULL || c->get_sql == NULL || c->lock_sql == NULL || c->del_sql == NULL ||
	    c->list_sql == NULL || create == NULL || catchup == NULL) {
		rc = acrt_fail(ctx, "out of memory");
		goto out;
	}
	const char *args[] = {c->seq};
	PGresult *r = NULL;
	if (acrt__pg_exec(p, create) != 0 ||
	    (r = run(p, catchup, 1, args, PGRES_TUPLES_OK)) == NULL)
		rc = acrt_fail(ctx, "%s: cannot create the sequence of ids: %s", p->what, p->err);
	PQclear(r);
out:
	PQfreemem(qt);
	PQfreemem(qs);
	acrt__free(create);
	acrt__free(catchup);
	return rc;
}

void
acrt__pg_crud_free(acrt_ctx *ctx, acrt__pg *p)
{
	acrt__pg_crud *c = p->crud;
	if (c == NULL)
		return;
	if (c->n > c->done) /* normally none: idle or finish committed them; cancelled */
		acrt__ctx_unwritten(ctx, c->n - c->done);
	drop_open(c);
	for (size_t i = 0; i < c->n; i++) { /* committed, replies not sent */
		acrt_event_unref(c->v[i].reply);
		acrt_event_unref(c->v[i].req);
	}
	acrt__free(c->v);
	acrt__free(c->seq);
	acrt__free(c->get_sql);
	acrt__free(c->lock_sql);
	acrt__free(c->del_sql);
	acrt__free(c->list_sql);
	acrt__free(c);
	p->crud = NULL;
}
