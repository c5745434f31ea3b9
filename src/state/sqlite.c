/*
 * sqlite.c - the sqlite_snapshot checkpoint adapter (adapter.h): every
 * checkpoint of a system in one SQLite file, so that nothing needs a server.
 *
 * On disk (PRAGMA user_version = 1; journal_mode = WAL, synchronous = FULL):
 *
 *   checkpoints(id INTEGER PRIMARY KEY, wall_ns INTEGER NOT NULL)
 *   parts(ckpt_id INTEGER NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,
 *         PRIMARY KEY (ckpt_id, name))
 *
 * A checkpoint is its checkpoints row plus one parts row per part; data is
 * the part's bytes as given (part.c framed them). put() writes them in one
 * BEGIN IMMEDIATE ... COMMIT and rolls back on any failure, so a reader sees
 * all of a checkpoint or none of it, across crashes too. list() reads
 * length(data), which SQLite answers from the record header without loading
 * the blob. A file written by a newer schema version is refused.
 *
 * The file is created with mode 0600 (the WAL and shm files inherit it) and
 * its parent directories with 0700. The connection is used by one thread at
 * a time (adapter.h), hence SQLITE_OPEN_NOMUTEX; other processes opening the
 * same file wait up to timeout_ms (busy_timeout) for the write lock. Only one
 * run writes checkpoints into a file: the runtime holds "<path>.lock"
 * (lock_path, core/filelock.h) while it has the store open; `acrt
 * checkpoints` reads without it.
 *
 * Errors: SQLITE_BUSY/LOCKED -> ACRT_ETIMEDOUT, SQLITE_NOMEM -> ACRT_ENOMEM,
 * anything else -> ACRT_ERR, each with SQLite's message and the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common.h"
#include "state/adapter.h"

#define SCHEMA_VERSION 1

typedef struct sqlite_adapter {
	acrt__state_adapter base;
	sqlite3 *db;
	char *path;
	/* Prepared once at open (SQLITE_PREPARE_PERSISTENT), reset after each use. */
	sqlite3_stmt *ins_ckpt, *ins_part, *list, *get, *del_parts, *del_ckpt;
} sqlite_adapter;

static const char SCHEMA[] =
    "CREATE TABLE checkpoints(id INTEGER PRIMARY KEY, wall_ns INTEGER NOT NULL);"
    "CREATE TABLE parts(ckpt_id INTEGER NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (ckpt_id, name));"
    "PRAGMA user_version = 1;";

static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ACRT_ETIMEDOUT;
	case SQLITE_NOMEM:
		return ACRT_ENOMEM;
	default:
		return ACRT_ERR;
	}
}

/* The failure of the last call on the connection, as "sqlite PATH: what: msg". */
static int
fail_db(sqlite_adapter *s, int rc, const char *what, char *err, size_t errlen)
{
	return acrt__state_fail(err, errlen, map_rc(rc), "sqlite %s: %s: %s", s->path, what,
	                        sqlite3_errmsg(s->db));
}

/* Ends the transaction a function began: COMMIT when ret is ACRT_OK (a
 * failed commit becomes the result), else ROLLBACK, keeping the first error
 * (a ROLLBACK fails only when SQLite already rolled back by itself). */
static int
end_tx(sqlite_adapter *s, int ret, char *err, size_t errlen)
{
	if (ret == ACRT_OK) {
		int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return ACRT_OK;
		ret = fail_db(s, rc, "commit", err, errlen);
	}
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* mkdir -p of the directory holding path, new directories with mode 0700. */
static int
make_parent(const char *path, char *err, size_t errlen)
{
	int rc = ACRT_OK;
	char *dir = acrt__strdup(path);
	if (dir == NULL)
		return acrt__state_fail(err, errlen, ACRT_ENOMEM, "sqlite: out of memory");
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = acrt__state_fail(err, errlen, ACRT_ERR, "sqlite: mkdir %s: %s", dir,
			                      strerror(errno));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
out:
	acrt__free(dir);
	return rc;
}

/* Creates the file with mode 0600 unless it exists: SQLite would use 0644. */
static int
create_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return acrt__state_fail(err, errlen, ACRT_ERR, "sqlite: open %s: %s", path,
		                        strerror(errno));
	if (close(fd) != 0)
		return acrt__state_fail(err, errlen, ACRT_ERR, "sqlite: close %s: %s", path,
		                        strerror(errno));
	return ACRT_OK;
}

/* Runs one statement returning at most one integer or text row. */
static int
pragma_text(sqlite_adapter *s, const char *sql, char *buf, size_t buflen)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(buf, buflen, "%s", t != NULL ? (const char *)t : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		buf[0] = '\0';
		rc = SQLITE_OK;
	}
	int frc = sqlite3_finalize(st);
	return rc != SQLITE_OK ? rc : frc;
}

/* WAL mode, then the schema: created when user_version is 0, checked otherwise. */
static int
init_schema(sqlite_adapter *s, char *err, size_t errlen)
{
	char v[32];
	int rc = pragma_text(s, "PRAGMA journal_mode=WAL", v, sizeof v);
	if (rc != SQLITE_OK)
		return fail_db(s, rc, "journal_mode", err, errlen);
	if (strcmp(v, "wal") != 0)
		return acrt__state_fail(err, errlen, ACRT_ERR,
		                        "sqlite %s: journal_mode is %s, not wal", s->path, v);
	rc = sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_db(s, rc, "synchronous", err, errlen);

	/* IMMEDIATE: two processes opening a new file must not both create it. */
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_db(s, rc, "begin", err, errlen);
	int ret = ACRT_OK;
	rc = pragma_text(s, "PRAGMA user_version", v, sizeof v);
	if (rc != SQLITE_OK) {
		ret = fail_db(s, rc, "user_version", err, errlen);
		goto end;
	}
	int version = atoi(v);
	if (version == 0) {
		rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = fail_db(s, rc, "create schema", err, errlen);
			goto end;
		}
	} else if (version != SCHEMA_VERSION) {
		ret = acrt__state_fail(err, errlen, ACRT_EINVAL,
		                       "sqlite %s: schema version %d, this acrt reads %d", s->path,
		                       version, SCHEMA_VERSION);
		goto end;
	}
end:
	return end_tx(s, ret, err, errlen);
}

static int
prepare_all(sqlite_adapter *s, char *err, size_t errlen)
{
	const struct {
		sqlite3_stmt **st;
		const char *sql;
	} stmts[] = {
	    {&s->ins_ckpt, "INSERT INTO checkpoints(id, wall_ns) VALUES (?1, ?2)"},
	    {&s->ins_part, "INSERT INTO parts(ckpt_id, name, data) VALUES (?1, ?2, ?3)"},
	    {&s->list, "SELECT c.id, c.wall_ns, p.name, length(p.data) FROM checkpoints AS c"
	               " LEFT JOIN parts AS p ON p.ckpt_id = c.id ORDER BY c.id DESC, p.name"},
	    {&s->get, "SELECT c.wall_ns, p.name, p.data FROM checkpoints AS c"
	              " LEFT JOIN parts AS p ON p.ckpt_id = c.id WHERE c.id = ?1 ORDER BY p.name"},
	    {&s->del_parts, "DELETE FROM parts WHERE ckpt_id = ?1"},
	    {&s->del_ckpt, "DELETE FROM checkpoints WHERE id = ?1"},
	};
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            stmts[i].st, NULL);
		if (rc != SQLITE_OK)
			return fail_db(s, rc, "prepare", err, errlen);
	}
	return ACRT_OK;
}

static void
sqlite_close(acrt__state_adapter *a)
{
	sqlite_adapter *s = (sqlite_adapter *)a;
	if (s == NULL)
		return;
	sqlite3_stmt *all[] = {s->ins_ckpt, s->ins_part,  s->list,
	                       s->get,      s->del_parts, s->del_ckpt};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		sqlite3_finalize(all[i]); /* NULL is a no-op */
	/* Every statement is finalized, so this cannot fail with SQLITE_BUSY; the
	 * last connection checkpoints the WAL into the file and removes it. */
	sqlite3_close(s->db);
	acrt__free(s->path);
	acrt__free(s);
}

static int
sqlite_open(const acrt__state_cfg *cfg, acrt__state_adapter **out, char *err, size_t errlen)
{
	if (cfg == NULL || cfg->path == NULL || cfg->path[0] == '\0')
		return acrt__state_fail(err, errlen, ACRT_EINVAL, "sqlite: no path");
	int rc = make_parent(cfg->path, err, errlen);
	if (rc != ACRT_OK)
		return rc;
	if ((rc = create_file(cfg->path, err, errlen)) != ACRT_OK)
		return rc;

	sqlite_adapter *s = acrt__calloc(1, sizeof *s);
	if (s == NULL || (s->path = acrt__strdup(cfg->path)) == NULL) {
		acrt__free(s);
		return acrt__state_fail(err, errlen, ACRT_ENOMEM, "sqlite: out of memory");
	}
	s->base.ops = &acrt__sqlite_ops;
	/* Allocates a handle even on failure: sqlite_close releases it. */
	int src =
	    sqlite3_open_v2(cfg->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = s->db != NULL
		         ? fail_db(s, src, "open", err, errlen)
		         : acrt__state_fail(err, errlen, ACRT_ENOMEM, "sqlite: out of memory");
		goto fail;
	}
	src = sqlite3_busy_timeout(s->db, cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000);
	if (src != SQLITE_OK) {
		rc = fail_db(s, src, "busy_timeout", err, errlen);
		goto fail;
	}
	if ((rc = init_schema(s, err, errlen)) != ACRT_OK)
		goto fail;
	if ((rc = prepare_all(s, err, errlen)) != ACRT_OK)
		goto fail;
	*out = &s->base;
	return ACRT_OK;
fail:
	sqlite_close(&s->base);
	return rc;
}

/* Steps a statement that returns no rows, then resets it and drops its
 * bindings (they may point into the caller's buffers). */
static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	/* reset repeats step's error, clear_bindings cannot fail. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
insert_parts(sqlite_adapter *s, const acrt__ckpt *ck)
{
	for (size_t i = 0; i < ck->n_parts; i++) {
		const acrt__blob *p = &ck->parts[i];
		/* A NULL blob pointer would bind SQL NULL: empty parts bind "". */
		const void *data = p->data != NULL ? (const void *)p->data : "";
		int rc = sqlite3_bind_int64(s->ins_part, 1, (sqlite3_int64)ck->id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(s->ins_part, 2, p->name, -1, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_blob64(s->ins_part, 3, data, p->len, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = step_done(s->ins_part);
		else
			sqlite3_clear_bindings(s->ins_part);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int
sqlite_put(acrt__state_adapter *a, const acrt__ckpt *ck, char *err, size_t errlen)
{
	sqlite_adapter *s = (sqlite_adapter *)a;
	int ret = acrt__ckpt_check(ck, err, errlen);
	if (ret != ACRT_OK)
		return ret;
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_db(s, rc, "begin", err, errlen);

	rc = sqlite3_bind_int64(s->ins_ckpt, 1, (sqlite3_int64)ck->id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s->ins_ckpt, 2, ck->wall_ns);
	if (rc == SQLITE_OK)
		rc = step_done(s->ins_ckpt);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		ret = acrt__state_fail(err, errlen, ACRT_EINVAL, "checkpoint %llu exists",
		                       (unsigned long long)ck->id);
		goto end;
	}
	if (rc != SQLITE_OK) {
		ret = fail_db(s, rc, "insert checkpoint", err, errlen);
		goto end;
	}
	rc = insert_parts(s, ck);
	if (rc != SQLITE_OK) {
		ret = fail_db(s, rc, "insert part", err, errlen);
		goto end;
	}
end:
	return end_tx(s, ret, err, errlen);
}

/* Appends the current row's part (columns name, then data or length) to ck. */
static int
add_row_part(sqlite3_stmt *st, int col, bool with_data, acrt__ckpt *ck)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return ACRT_OK; /* LEFT JOIN: a checkpoint without parts */
	const unsigned char *name = sqlite3_column_text(st, col);
	if (name == NULL)
		return ACRT_ENOMEM;
	size_t nlen = (size_t)sqlite3_column_bytes(st, col);
	if (!with_data)
		return acrt__ckpt_add_part(ck, (const char *)name, nlen, NULL,
		                           (size_t)sqlite3_column_int64(st, col + 1));
	const void *data = sqlite3_column_blob(st, col + 1);
	size_t len = (size_t)sqlite3_column_bytes(st, col + 1);
	if (data == NULL && len > 0)
		return ACRT_ENOMEM;
	return acrt__ckpt_add_part(ck, (const char *)name, nlen, data != NULL ? data : "", len);
}

static int
sqlite_list(acrt__state_adapter *a, acrt__ckpt **out, size_t *n, char *err, size_t errlen)
{
	sqlite_adapter *s = (sqlite_adapter *)a;
	acrt__ckpt *v = NULL;
	size_t cnt = 0, cap = 0;
	int ret = ACRT_OK, rc;
	while ((rc = sqlite3_step(s->list)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(s->list, 0);
		if (cnt == 0 || v[cnt - 1].id != id) {
			if (cnt == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				/* Plain realloc: the caller frees list() results with
				 * free() (adapter.h). */
				acrt__ckpt *nv = realloc(v, ncap * sizeof *nv);
				if (nv == NULL)
					goto nomem;
				v = nv;
				cap = ncap;
			}
			v[cnt++] =
			    (acrt__ckpt){.id = id, .wall_ns = sqlite3_column_int64(s->list, 1)};
		}
		if (add_row_part(s->list, 2, false, &v[cnt - 1]) != ACRT_OK)
			goto nomem;
	}
	if (rc != SQLITE_DONE) {
		ret = fail_db(s, rc, "list", err, errlen);
		goto fail;
	}
	sqlite3_reset(s->list);
	*out = v;
	*n = cnt;
	return ACRT_OK;
nomem:
	ret = acrt__state_fail(err, errlen, ACRT_ENOMEM, "sqlite: out of memory");
fail:
	sqlite3_reset(s->list);
	for (size_t i = 0; i < cnt; i++)
		acrt__ckpt_clear(&v[i]);
	free(v);
	return ret;
}

static int
sqlite_get(acrt__state_adapter *a, uint64_t id, acrt__ckpt *out, char *err, size_t errlen)
{
	sqlite_adapter *s = (sqlite_adapter *)a;
	acrt__ckpt ck = {.id = id};
	bool found = false;
	int ret = ACRT_OK, rc;
	if (id > INT64_MAX)
		goto absent;
	rc = sqlite3_bind_int64(s->get, 1, (sqlite3_int64)id);
	if (rc != SQLITE_OK) {
		ret = fail_db(s, rc, "get", err, errlen);
		goto fail;
	}
	while ((rc = sqlite3_step(s->get)) == SQLITE_ROW) {
		found = true;
		ck.wall_ns = sqlite3_column_int64(s->get, 0);
		if (add_row_part(s->get, 1, true, &ck) != ACRT_OK) {
			ret = acrt__state_fail(err, errlen, ACRT_ENOMEM, "sqlite: out of memory");
			goto fail;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = fail_db(s, rc, "get", err, errlen);
		goto fail;
	}
	sqlite3_reset(s->get);
	if (!found)
		goto absent;
	*out = ck;
	return ACRT_OK;
absent:
	return acrt__state_missing(err, errlen, id);
fail:
	sqlite3_reset(s->get);
	acrt__ckpt_clear(&ck);
	return ret;
}

static int
sqlite_del(acrt__state_adapter *a, uint64_t id, char *err, size_t errlen)
{
	sqlite_adapter *s = (sqlite_adapter *)a;
	if (id > INT64_MAX)
		return acrt__state_missing(err, errlen, id);
	int ret = ACRT_OK;
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_db(s, rc, "begin", err, errlen);
	rc = sqlite3_bind_int64(s->del_parts, 1, (sqlite3_int64)id);
	if (rc == SQLITE_OK)
		rc = step_done(s->del_parts);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s->del_ckpt, 1, (sqlite3_int64)id);
	if (rc == SQLITE_OK)
		rc = step_done(s->del_ckpt);
	if (rc != SQLITE_OK) {
		ret = fail_db(s, rc, "delete", err, errlen);
		goto end;
	}
	if (sqlite3_changes(s->db) == 0) {
		ret = acrt__state_missing(err, errlen, id);
		goto end;
	}
end:
	return end_tx(s, ret, err, errlen);
}

/* "<path>.lock" beside the database: one writing process per file. */
static char *
sqlite_lock_path(const acrt__state_cfg *cfg)
{
	size_t n = strlen(cfg->path) + sizeof ".lock";
	char *p = acrt__malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s.lock", cfg->path);
	return p;
}

const acrt__state_ops acrt__sqlite_ops = {
    .name = "sqlite_snapshot",
    .persistent = true,
    .open = sqlite_open,
    .put = sqlite_put,
    .list = sqlite_list,
    .get = sqlite_get,
    .del = sqlite_del,
    .close = sqlite_close,
    .lock_path = sqlite_lock_path,
};
