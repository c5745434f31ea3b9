/*
 * store.c - the built-in Store: a keyed upsert of every event, by the value of
 * its `key` field; the last event of each key wins.
 *
 * Without `path`, into the instance's managed keyed state (acrt_state_*), so
 * the runtime's checkpoints capture it and --resume restores it: entry key =
 * the key value's text (acrt__key_of_value: distinct JSON values are distinct
 * keys), entry value = the event's JSON bytes. Only the key field is read
 * from the event's text; the stored value is the text as it came.
 *
 * With `path`, into a SQLite database at that path (relative to the blueprint;
 * parent directories are created): table `store(key TEXT PRIMARY KEY, value
 * TEXT)`, value = the event's JSON text, key = the key value's text when it is
 * a string, else its compact JSON (so the string "1" and the number 1 are the
 * same row there). WAL, synchronous=NORMAL; upserts are grouped into
 * transactions committed every STORE_TX_MAX events, whenever the instance goes
 * idle, when the input ends and at cleanup. An upsert is idempotent, so a
 * replay after --resume converges to the same rows; the database itself is
 * not part of the checkpoints.
 *
 * A write the database refuses for a reason that may pass (SQLITE_FULL,
 * IOERR, BUSY, LOCKED, NOMEM: a full disk) loses nothing: the Store holds a
 * reference to every event of the open transaction, and retries the whole
 * transaction (rollback, begin, the upserts again, commit) with the Sink's
 * backoff and `on_write_error` (writeretry.h), its input waiting. Giving up
 * (on_write_error: fail, a cancel) counts the transaction's events as
 * unwritten in the run's summary.
 *
 * Without `key`, each event is stored under a generated id ("1", "2", ...;
 * store_crud.c). With `crud: true` (managed state or postgres, not SQLite),
 * an event with an `action` field is one of the original Autocoder's CRUD
 * requests, answered on `output` (store_crud.c); the others are stored by
 * `key` when the event has it, else under a generated id.
 *
 * With `backend: postgres`, into a PostgreSQL table (pg_sink.c, shared with
 * `sink: postgres`; this file only dispatches to it): upserts by `key`, in
 * batches, each one transaction; with `crud: true`, row by row in an open
 * transaction whose replies wait for its commit (pg_crud.c). A checkpoint
 * barrier commits first (the snapshot hook, which adds no bytes), as do the
 * idle and finish hooks, so a checkpoint covers only committed rows; the same
 * holds for the SQLite transaction.
 *
 * An event that is not a JSON object, or whose key field is absent or null,
 * fails: it goes to port `error` (dropped when unbound), is logged and counted
 * (counter `missing_key` or `invalid_events`). At cleanup the Store logs how
 * many keys it holds.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "components/builtins.h"
#include "components/pg_sink.h"
#include "components/store_int.h"
#include "components/writeretry.h"
#include "core/common.h"
#include "core/event.h"
#include "core/json.h"
#include "runtime/ctx_query.h"

#define STORE_TX_MAX 4096

static const char *const store_backends[] = {"postgres", NULL};

static const acrt_prop store_props[] = {
    {"key", ACRT_PROP_STRING, 0, 0, 0, NULL,
     "field whose value is the key of the upsert (absent: a generated id, 1, 2, ...)"},
    {"crud", ACRT_PROP_BOOL, 0, 0, 0, NULL,
     "events with an `action` field are the original Autocoder's CRUD requests, answered "
     "on output (managed state or backend: postgres; not with path)"},
    {"path", ACRT_PROP_STRING, 0, 0, 0, NULL,
     "SQLite database (relative to the blueprint); absent: managed state"},
    {"backend", ACRT_PROP_STRING, 0, 0, 0, store_backends,
     "postgres: rows of a PostgreSQL table (absent: managed state, or SQLite with path)"},
    ACRT__PG_PROPS,
    ACRT__WRETRY_PROPS,
    {NULL, ACRT_PROP_END, 0, 0, 0, NULL, NULL},
};

int
acrt__store_check(const json_t *config, const char **key, char *msg, size_t len)
{
	if (json_object_get(config, "backend") != NULL)
		return acrt__pg_check(config, true, key, msg, len);
	static const char *const pg_only[] = {"dsn", "dsn_file", "table", NULL};
	for (size_t i = 0; pg_only[i] != NULL; i++)
		if (json_object_get(config, pg_only[i]) != NULL) {
			*key = pg_only[i];
			snprintf(msg, len, "'%s' is for 'backend: postgres'", pg_only[i]);
			return -1;
		}
	const json_t *k = json_object_get(config, "key");
	if (k != NULL && json_string_length(k) == 0) {
		*key = "key";
		snprintf(msg, len, "expected a field name (a non-empty string)");
		return -1;
	}
	const json_t *p = json_object_get(config, "path");
	if (p != NULL && json_string_length(p) == 0) {
		*key = "path";
		snprintf(msg, len, "expected a file path (a non-empty string)");
		return -1;
	}
	if (p != NULL && json_is_true(json_object_get(config, "crud"))) {
		*key = "crud";
		snprintf(msg, len,
		         "'crud: true' keeps its records in managed state: remove 'path'");
		return -1;
	}
	return 0;
}

/* An event upserted in the open transaction, kept until it commits. */
typedef struct held {
	acrt_event *ev;
	char *key; /* its key text (acrt__malloc'd) */
	size_t klen;
} held;

typedef struct store {
	const char *key;      /* the key field, borrowed from the config; NULL: generated ids */
	bool crud;            /* `crud: true` (store_crud.c) */
	int64_t next_id;      /* SQLite mode, generated ids: the next one */
	char *path;           /* SQLite mode: the database file; NULL: managed state */
	sqlite3 *db;          /* SQLite mode */
	sqlite3_stmt *upsert; /* INSERT ... ON CONFLICT DO UPDATE */
	bool in_tx;           /* a transaction is open */
	held *tx;             /* its events: STORE_TX_MAX slots */
	size_t n_tx;
	acrt__wretry retry; /* on_write_error */
	acrt__pg *pg;       /* backend: postgres (pg_sink.c); none of the above is used */
} store;

/* ---- SQLite ------------------------------------------------------------------- */

static int
sql_fail(acrt_ctx *ctx, store *s, const char *what)
{
	return acrt_fail(ctx, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Errors a retry may cure: a full disk, I/O, another writer, memory. */
static bool
sql_curable(int rc)
{
	int primary = rc & 0xff;
	return primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_BUSY ||
	       primary == SQLITE_LOCKED || primary == SQLITE_NOMEM;
}

static void
tx_release(store *s)
{
	for (size_t i = 0; i < s->n_tx; i++) {
		acrt_event_unref(s->tx[i].ev);
		acrt__free(s->tx[i].key);
	}
	s->n_tx = 0;
}

static int
step_upsert(store *s, const char *k, size_t klen, acrt_event *ev)
{
	size_t vlen;
	const char *v = acrt_event_data(ev, &vlen);
	if (v == NULL)
		return SQLITE_NOMEM;
	/* SQLITE_STATIC: the statement is stepped and reset before k and v go */
	int rc = sqlite3_bind_text64(s->upsert, 1, k, klen, SQLITE_STATIC, SQLITE_UTF8);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text64(s->upsert, 2, v, vlen, SQLITE_STATIC, SQLITE_UTF8);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s->upsert);
	(void)sqlite3_reset(s->upsert);
	(void)sqlite3_clear_bindings(s->upsert);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The whole open transaction again: rollback, begin, every held upsert,
 * commit; as often as on_write_error allows. `cur` is the event being
 * processed (NULL from idle and cleanup): when giving up it is failed by the
 * runtime, so it is not also counted unwritten (except on a cancel). */
static int
sql_replay(acrt_ctx *ctx, store *s, int rc, acrt_event *cur)
{
	for (;;) {
		int r = acrt__wretry_failed(&s->retry, ctx, s->path, sqlite3_errstr(rc),
		                            sql_curable(rc));
		if (r != ACRT_OK) {
			size_t lost = s->n_tx;
			if (r != ACRT_ECANCELED && lost > 0 && cur != NULL &&
			    s->tx[lost - 1].ev == cur)
				lost--;
			if (lost > 0) {
				acrt__ctx_unwritten(ctx, lost);
				acrt_log(ctx, ACRT_LOG_ERROR, "%zu event(s) not written to '%s'",
				         lost, s->path);
			}
			if (!sqlite3_get_autocommit(s->db))
				(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			s->in_tx = false;
			tx_release(s);
			return r;
		}
		if (!sqlite3_get_autocommit(s->db))
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
		for (size_t i = 0; rc == SQLITE_OK && i < s->n_tx; i++)
			rc = step_upsert(s, s->tx[i].key, s->tx[i].klen, s->tx[i].ev);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			acrt__wretry_ok(&s->retry, ctx, s->path);
			s->in_tx = false;
			tx_release(s);
			return ACRT_OK;
		}
	}
}

static int
sql_commit(acrt_ctx *ctx, store *s, acrt_event *cur)
{
	if (!s->in_tx)
		return ACRT_OK;
	int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_replay(ctx, s, rc, cur);
	s->in_tx = false;
	tx_release(s);
	return ACRT_OK;
}

static int
sql_upsert(acrt_ctx *ctx, store *s, const json_t *kv, acrt_event *ev)
{
	char kbuf[ACRT__KEY_INLINE];
	char *kheap = NULL;
	size_t klen;
	const char *k;
	if (json_is_string(kv)) {
		k = json_string_value(kv);
		klen = json_string_length(kv);
	} else if ((k = acrt__key_encode(kv, kbuf, sizeof kbuf, &kheap, &klen)) == NULL) {
		return acrt_fail(ctx, "out of memory");
	}
	int rc = SQLITE_OK;
	if (!s->in_tx) {
		if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) == SQLITE_OK)
			s->in_tx = true;
		else if (!sql_curable(rc)) {
			acrt__free(kheap);
			return sql_fail(ctx, s, "begin");
		}
	}
	if (rc == SQLITE_OK)
		rc = step_upsert(s, k, klen, ev);
	if (rc != SQLITE_OK && !sql_curable(rc)) { /* this event only (e.g. too big) */
		acrt__free(kheap);
		return acrt_fail(ctx, "%s: upsert: %s", s->path, sqlite3_errstr(rc));
	}
	/* Held until it commits: a failed commit replays the transaction. */
	held *h = &s->tx[s->n_tx];
	h->key = acrt__malloc(klen + 1);
	if (h->key == NULL) {
		acrt__free(kheap);
		return acrt_fail(ctx, "out of memory");
	}
	memcpy(h->key, k, klen);
	h->key[klen] = '\0';
	h->klen = klen;
	h->ev = acrt_event_ref(ev);
	s->n_tx++;
	acrt__free(kheap);
	if (rc != SQLITE_OK) {
		s->in_tx = true;
		return sql_replay(ctx, s, rc, ev);
	}
	return s->n_tx >= STORE_TX_MAX ? sql_commit(ctx, s, ev) : ACRT_OK;
}

static int
sql_open(acrt_ctx *ctx, store *s)
{
	static const char schema[] = "PRAGMA journal_mode=WAL;"
	                             "PRAGMA synchronous=NORMAL;"
	                             "CREATE TABLE IF NOT EXISTS store(key TEXT PRIMARY KEY, "
	                             "value TEXT);";
	static const char upsert[] = "INSERT INTO store(key, value) VALUES(?1, ?2) "
	                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
	if ((s->path = acrt__config_path(ctx, "path")) == NULL)
		return acrt_fail(ctx, "out of memory");
	if (acrt__mkdirs_for(s->path, 0755) != 0)
		return acrt_fail(ctx, "cannot create the directory of '%s': %s", s->path,
		                 strerror(errno));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK)
		return s->db != NULL ? sql_fail(ctx, s, "open")
		                     : acrt_fail(ctx, "%s: open: out of memory", s->path);
	if (sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(ctx, s, "create table");
	if (sqlite3_prepare_v2(s->db, upsert, -1, &s->upsert, NULL) != SQLITE_OK)
		return sql_fail(ctx, s, "prepare");
	return ACRT_OK;
}

/* The number of keys in the table, or -1. */
static long long
sql_count(store *s)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM store", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	return n;
}

/* Generated ids with a database: one past its largest all-digit key. */
static int
sql_next_id(acrt_ctx *ctx, store *s)
{
	sqlite3_stmt *st = NULL;
	static const char q[] = "SELECT max(CAST(key AS INTEGER)) FROM store "
	                        "WHERE key GLOB '[1-9]*' AND key NOT GLOB '*[^0-9]*'";
	int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		s->next_id = sqlite3_column_int64(st, 0) + 1, rc = SQLITE_OK;
	(void)sqlite3_finalize(st);
	return rc == SQLITE_OK ? ACRT_OK : sql_fail(ctx, s, "read the largest id");
}

/* ---- The component ----------------------------------------------------------- */

/* A keyless event: stored under the next generated id. */
static int
store_generated(acrt_ctx *ctx, store *s, acrt_event *ev, const char *text, size_t tlen)
{
	int64_t id;
	char k[32];
	if (s->db != NULL) {
		id = s->next_id++;
		snprintf(k, sizeof k, "%lld", (long long)id);
		json_t *kj = json_string(k);
		if (kj == NULL)
			return acrt_fail(ctx, "out of memory");
		int rc = sql_upsert(ctx, s, kj, ev);
		json_decref(kj);
		return rc;
	}
	if (acrt__store_take_id(ctx, &id) != ACRT_OK)
		return acrt_fail(ctx, "out of memory (state)");
	int n = snprintf(k, sizeof k, "\"%lld\"", (long long)id);
	if (acrt_state_put(ctx, k, (size_t)n, text, tlen) != ACRT_OK)
		return acrt_fail(ctx, "out of memory (state)");
	return ACRT_OK;
}

static void
store_free(store *s)
{
	if (s == NULL)
		return;
	tx_release(s);
	acrt__free(s->tx);
	(void)sqlite3_finalize(s->upsert);
	(void)sqlite3_close(s->db);
	acrt__free(s->path);
	acrt__free(s);
}

static int
store_setup(acrt_ctx *ctx, void **self)
{
	store *s = acrt__calloc(1, sizeof *s);
	if (s == NULL)
		return acrt_fail(ctx, "out of memory");
	s->key = acrt_config_string(ctx, "key", NULL);
	s->crud = acrt_config_bool(ctx, "crud", 0);
	acrt__wretry_init(&s->retry, ctx);
	if (acrt_config_string(ctx, "backend", NULL) != NULL) { /* postgres */
		int rc = acrt__pg_setup(ctx, true, &s->pg);
		if (rc != ACRT_OK) {
			store_free(s);
			return rc;
		}
	} else if (acrt_config_string(ctx, "path", NULL) != NULL) {
		s->tx = acrt__calloc(STORE_TX_MAX, sizeof *s->tx);
		int rc = s->tx != NULL ? sql_open(ctx, s) : acrt_fail(ctx, "out of memory");
		if (rc == ACRT_OK && s->key == NULL)
			rc = sql_next_id(ctx, s);
		if (rc != ACRT_OK) {
			store_free(s);
			return rc;
		}
	} else if (acrt__store_records(ctx) > 0) {
		acrt_log(ctx, ACRT_LOG_INFO, "resumed with %zu key(s)", acrt__store_records(ctx));
	}
	*self = s;
	return ACRT_OK;
}

static int
store_process(acrt_ctx *ctx, void *self, const char *port, acrt_event *ev)
{
	store *s = self;
	(void)port;
	if (s->pg != NULL)
		return acrt__pg_process(ctx, s->pg, ev);
	size_t tlen, tcap;
	const char *text = acrt__event_text(ev, &tlen, &tcap);
	if (text == NULL)
		return acrt_fail(ctx, "out of memory");
	/* Only the key is read from the text; the value stored is the text. */
	acrt__jval kv = {.type = ACRT__J_ABSENT};
	static const char *const action[] = {"action"};
	static const size_t action_len[] = {6};
	const char *const *path = s->key != NULL ? &s->key : action;
	size_t kl = s->key != NULL ? strlen(s->key) : 6;
	int lr = acrt__json_lookup(text, tlen, tcap, path, &kl, 1, &kv);
	if (lr == 0 && s->crud) {
		acrt__jval av;
		if (acrt__json_lookup(text, tlen, tcap, action, action_len, 1, &av) == 0 &&
		    av.type != ACRT__J_ABSENT)
			return acrt__store_crud(ctx, ev);
	}
	if (lr != 0)
		return acrt__fail_event(ctx, ev, "invalid_events", "%s",
		                        lr < 0 ? "payload is not valid JSON"
		                               : "payload is not a JSON object");
	if (s->key == NULL || (s->crud && (kv.type == ACRT__J_ABSENT || kv.type == ACRT__J_NULL)))
		return store_generated(ctx, s, ev, text, tlen);
	if (kv.type == ACRT__J_ABSENT || kv.type == ACRT__J_NULL)
		return acrt__fail_event(ctx, ev, "missing_key",
		                        "no key: field '%s' is absent or null", s->key);
	if (s->db != NULL) {
		json_t *kj = acrt__jval_to_jansson(&kv);
		if (kj == NULL)
			return acrt_fail(ctx, "out of memory");
		int rc = sql_upsert(ctx, s, kj, ev);
		json_decref(kj);
		return rc;
	}

	char kbuf[ACRT__KEY_INLINE];
	char *kheap = NULL;
	size_t klen;
	const char *k = acrt__key_of_value(&kv, kbuf, sizeof kbuf, &kheap, &klen);
	const void *v = k != NULL ? text : NULL;
	size_t vlen = tlen;
	int rc = ACRT_OK;
	if (v == NULL || acrt_state_put(ctx, k, klen, v, vlen) != ACRT_OK)
		rc = acrt_fail(ctx, "out of memory");
	acrt__free(kheap);
	return rc;
}

/* Nothing waiting: commit, so that readers of the database see every event
 * that reached the Store. */
static int
store_idle(acrt_ctx *ctx, void *self)
{
	store *s = self;
	if (s->pg != NULL)
		return acrt__pg_flush(ctx, s->pg);
	return s->db != NULL ? sql_commit(ctx, s, NULL) : ACRT_OK;
}

/* A checkpoint barrier: what is open commits before it (no bytes of its
 * own: managed state is the runtime's). */
static int
store_snapshot(acrt_ctx *ctx, void *self, void **buf, size_t *len)
{
	store *s = self;
	*buf = NULL;
	*len = 0;
	if (s->pg != NULL)
		return acrt__pg_barrier(ctx, s->pg);
	return s->db != NULL ? sql_commit(ctx, s, NULL) : ACRT_OK;
}

static void
store_cleanup(acrt_ctx *ctx, void *self)
{
	store *s = self;
	if (s == NULL)
		return;
	if (s->pg != NULL) {
		acrt__pg_cleanup(ctx, s->pg); /* counts what it could not write */
		s->pg = NULL;
	} else if (s->db != NULL) {
		acrt__wretry_no_more(&s->retry); /* nothing would stop a retry here */
		(void)sql_commit(ctx, s, NULL);  /* counts and logs what it could not write */
		acrt_log(ctx, ACRT_LOG_INFO, "store holds %lld key(s) in %s", sql_count(s),
		         s->path);
	} else {
		acrt_log(ctx, ACRT_LOG_INFO, "store holds %zu key(s) in managed state",
		         acrt__store_records(ctx));
	}
	store_free(s);
}

const acrt_component_desc acrt__store_desc = {
    .abi_version = ACRT_ABI_VERSION,
    .struct_size = sizeof(acrt_component_desc),
    .name = "Store",
    .props = store_props,
    .setup = store_setup,
    .process = store_process,
    .snapshot = store_snapshot,
    .cleanup = store_cleanup,
    .idle = store_idle,
    .finish = store_idle,
};
