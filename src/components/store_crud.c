/*
 * store_crud.c - the Store's generated ids and the original Autocoder's CRUD
 * (store.c; docs/COMPONENTS.md "Store", docs/AUTOCODER.md).
 *
 * Generated ids: "1", "2", ... per Store instance. In managed state the next
 * one is kept under a reserved key, NUL followed by "next_id" (8 bytes,
 * little-endian), which no record's key can be: those are JSON texts. With a
 * SQLite `path` the next id is one past the largest all-digit key at setup;
 * with `backend: postgres`, a sequence (pg_crud.c).
 *
 * CRUD (`crud: true`; managed state here, a PostgreSQL table in pg_crud.c,
 * both through acrt__crud_ops: the requests and replies are written once,
 * below): an event whose object has an `action` field is a request, answered
 * with one event on `output`, in the original's shapes:
 *   create {data}      stores {"id": ID, "data": data} under a new id:
 *                      {"status": "success", "id": ID, "data": RECORD}
 *   get {id}           {"status": "success", "data": RECORD}
 *   update {id, data}  merges data into the record's data (top-level keys):
 *                      {"status": "success", "data": RECORD}
 *   delete {id}        {"status": "success"}
 *   list               {"status": "success", "data": [RECORD, ...]} by id
 *   an unknown id      {"status": "not_found", "action": A, "id": ID}
 *   anything else      {"status": "error", "message": ...}
 * An id is a string; a number given as an id names the same record ("1").
 * A record is stored as its JSON text under the key "ID" (the id as a JSON
 * string, as acrt__key_of_value writes a string key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components/builtins.h"
#include "components/store_int.h"
#include "core/common.h"
#include "core/event.h"

static const char next_key[] = "\0next_id";
#define NEXT_KEY_LEN (sizeof next_key - 1)

bool
acrt__store_reserved(const void *key, size_t klen)
{
	return klen == NEXT_KEY_LEN && memcmp(key, next_key, klen) == 0;
}

size_t
acrt__store_records(acrt_ctx *ctx)
{
	const void *v;
	size_t vlen, n = acrt_state_count(ctx);
	return n > 0 && acrt_state_get(ctx, next_key, NEXT_KEY_LEN, &v, &vlen) == ACRT_OK ? n - 1
	                                                                                  : n;
}

int64_t
acrt__store_peek_id(acrt_ctx *ctx)
{
	const void *v;
	size_t vlen;
	uint64_t n = 0;
	if (acrt_state_get(ctx, next_key, NEXT_KEY_LEN, &v, &vlen) == ACRT_OK && vlen == 8)
		n = acrt__le_get(v, 8);
	return n > 0 ? (int64_t)n : 1;
}

int
acrt__store_take_id(acrt_ctx *ctx, int64_t *id)
{
	int64_t n = acrt__store_peek_id(ctx);
	unsigned char b[8];
	acrt__le_put(b, (uint64_t)n + 1, 8);
	if (acrt_state_put(ctx, next_key, NEXT_KEY_LEN, b, sizeof b) != ACRT_OK)
		return ACRT_ENOMEM;
	*id = n;
	return ACRT_OK;
}

/* The request's id as text ("1" for 1 or "1"); NULL when absent or not an
 * id. */
static const char *
req_id(const json_t *req, char *buf, size_t cap)
{
	const json_t *id = json_object_get(req, "id");
	if (json_is_string(id) && json_string_length(id) > 0 && json_string_length(id) < cap - 2 &&
	    strpbrk(json_string_value(id), "\"\\") == NULL)
		return json_string_value(id);
	if (json_is_integer(id)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(id));
		return buf;
	}
	return NULL;
}

/* The reply, derived from the request (its request id, trace id and time:
 * core/event.c), with the HTTP status an APIEndpoint with reply answers
 * with: 201 for a create (the only success with a top-level id), 404, 400 for
 * an error. Steals r. */
static int
reply(acrt_ctx *ctx, acrt_event *req, json_t *r, acrt_event **out)
{
	if (r == NULL)
		return acrt_fail(ctx, "out of memory");
	const char *st = json_string_value(json_object_get(r, "status"));
	const char *http = st == NULL || strcmp(st, "error") == 0 ? "400"
	                   : strcmp(st, "not_found") == 0         ? "404"
	                   : json_object_get(r, "id") != NULL     ? "201"
	                                                          : "200";
	acrt_event *ev = acrt__event_new_json(req, r);
	if (ev == NULL)
		return acrt_fail(ctx, "out of memory");
	if (acrt_event_set_header(ev, ACRT_HTTP_STATUS_HEADER, http) != ACRT_OK) {
		acrt_event_unref(ev);
		return acrt_fail(ctx, "out of memory");
	}
	*out = ev;
	return ACRT_OK;
}

static int
error_reply(acrt_ctx *ctx, acrt_event *req, const char *msg, acrt_event **out)
{
	return reply(ctx, req, json_pack("{s:s,s:s}", "status", "error", "message", msg), out);
}

/* Ids compare as numbers when both are digits, else as text. */
static int
id_cmp(const void *x, const void *y)
{
	const char *a = json_string_value(json_object_get(*(json_t *const *)x, "id"));
	const char *b = json_string_value(json_object_get(*(json_t *const *)y, "id"));
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
	if (a[la] == '\0' && b[lb] == '\0' && la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static int
do_list(acrt_ctx *ctx, acrt_event *req, const acrt__crud_ops *ops, void *b, acrt_event **out)
{
	json_t *recs = json_array();
	if (recs == NULL)
		return acrt_fail(ctx, "out of memory");
	int rc = ops->list(b, ctx, recs);
	if (rc != ACRT_OK) {
		json_decref(recs);
		return rc;
	}
	size_t n = json_array_size(recs);
	json_t **v = acrt__calloc(n ? n : 1, sizeof *v);
	json_t *sorted = json_array();
	bool oom = v == NULL || sorted == NULL;
	for (size_t i = 0; i < n && !oom; i++)
		v[i] = json_array_get(recs, i);
	if (!oom && n > 1)
		qsort(v, n, sizeof *v, id_cmp);
	for (size_t i = 0; i < n && !oom; i++)
		oom = json_array_append(sorted, v[i]) != 0;
	acrt__free(v);
	json_decref(recs);
	if (oom) {
		json_decref(sorted);
		return acrt_fail(ctx, "out of memory");
	}
	return reply(ctx, req, json_pack("{s:s,s:o}", "status", "success", "data", sorted), out);
}

static json_t *
not_found(const char *action, const char *id)
{
	return json_pack("{s:s,s:s,s:s}", "status", "not_found", "action", action, "id", id);
}

int
acrt__crud_request(acrt_ctx *ctx, acrt_event *ev, const acrt__crud_ops *ops, void *b,
                   acrt_event **out)
{
	const json_t *req = acrt_event_json(ev);
	const char *action = json_string_value(json_object_get(req, "action"));
	if (action == NULL)
		return error_reply(ctx, ev, "Invalid request format", out);
	if (strcmp(action, "list") == 0)
		return do_list(ctx, ev, ops, b, out);
	char idbuf[64];
	const json_t *data = json_object_get(req, "data");
	if (strcmp(action, "create") == 0) {
		int64_t n;
		if (data == NULL)
			return error_reply(ctx, ev, "create needs 'data'", out);
		int rc = ops->take_id(b, ctx, &n);
		if (rc != ACRT_OK)
			return rc;
		snprintf(idbuf, sizeof idbuf, "%lld", (long long)n);
		json_t *rec = json_pack("{s:s,s:O}", "id", idbuf, "data", data);
		if (rec == NULL)
			return acrt_fail(ctx, "out of memory");
		if ((rc = ops->put(b, ctx, idbuf, rec)) != ACRT_OK) {
			json_decref(rec);
			return rc;
		}
		return reply(
		    ctx, ev,
		    json_pack("{s:s,s:s,s:o}", "status", "success", "id", idbuf, "data", rec), out);
	}
	bool get = strcmp(action, "get") == 0, upd = strcmp(action, "update") == 0,
	     del = strcmp(action, "delete") == 0;
	if (!get && !upd && !del) {
		char msg[160];
		snprintf(msg, sizeof msg, "Unknown action: %.100s", action);
		return error_reply(ctx, ev, msg, out);
	}
	const char *id = req_id(req, idbuf, sizeof idbuf);
	if (id == NULL)
		return error_reply(ctx, ev, "Invalid request format", out);
	if (del) {
		int rc = ops->del(b, ctx, id);
		if (rc == ACRT_ENOENT)
			return reply(ctx, ev, not_found(action, id), out);
		return rc != ACRT_OK ? rc
		                     : reply(ctx, ev, json_pack("{s:s}", "status", "success"), out);
	}
	json_t *rec = NULL;
	int rc = ops->get(b, ctx, id, upd, &rec);
	if (rc == ACRT_ENOENT)
		return reply(ctx, ev, not_found(action, id), out);
	if (rc != ACRT_OK)
		return rc;
	if (upd) {
		json_t *d = json_object_get(rec, "data");
		if (!json_is_object(d) || !json_is_object(data)) {
			json_decref(rec);
			return error_reply(ctx, ev, "update needs 'data' (a mapping)", out);
		}
		if (json_object_update(d, (json_t *)data) < 0) {
			json_decref(rec);
			return acrt_fail(ctx, "out of memory");
		}
		if ((rc = ops->put(b, ctx, id, rec)) != ACRT_OK) {
			json_decref(rec);
			return rc;
		}
	}
	return reply(ctx, ev, json_pack("{s:s,s:o}", "status", "success", "data", rec), out);
}

/* ---- Managed state ------------------------------------------------------------ */

/* The state key of id: the id as a JSON string. */
static size_t
id_key(const char *id, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "\"%s\"", id);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int
st_get(void *b, acrt_ctx *ctx, const char *id, bool for_update, json_t **rec)
{
	(void)b, (void)for_update;
	char k[72];
	size_t klen = id_key(id, k, sizeof k);
	const void *v;
	size_t vlen;
	if (klen == 0 || acrt_state_get(ctx, k, klen, &v, &vlen) != ACRT_OK ||
	    (*rec = json_loadb(v, vlen, 0, NULL)) == NULL)
		return ACRT_ENOENT; /* a value that is not JSON is not a record */
	return ACRT_OK;
}

static int
st_put(void *b, acrt_ctx *ctx, const char *id, const json_t *rec)
{
	(void)b;
	char k[72];
	size_t klen = id_key(id, k, sizeof k);
	char *t = json_dumps(rec, JSON_COMPACT);
	int rc = klen > 0 && t != NULL ? acrt_state_put(ctx, k, klen, t, strlen(t)) : ACRT_ENOMEM;
	void (*jfree)(void *);
	json_get_alloc_funcs(NULL, &jfree); /* jansson's memory is not malloc's */
	if (t != NULL)
		jfree(t);
	return rc == ACRT_OK ? ACRT_OK : acrt_fail(ctx, "out of memory (state)");
}

static int
st_del(void *b, acrt_ctx *ctx, const char *id)
{
	(void)b;
	char k[72];
	size_t klen = id_key(id, k, sizeof k);
	return klen > 0 && acrt_state_del(ctx, k, klen) == ACRT_OK ? ACRT_OK : ACRT_ENOENT;
}

typedef struct listing {
	json_t *recs;
	bool oom;
} listing;

static int
collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	listing *l = arg;
	if (acrt__store_reserved(key, klen))
		return 0;
	json_t *r = json_loadb(val, vlen, 0, NULL);
	if (r == NULL)
		return 0;                           /* not JSON (not a record): left out */
	if (json_array_append_new(l->recs, r) != 0) /* steals r, even then */
		l->oom = true;
	return 0;
}

static int
st_list(void *b, acrt_ctx *ctx, json_t *recs)
{
	(void)b;
	listing l = {recs, false};
	if (acrt_state_iter(ctx, collect, &l) != ACRT_OK || l.oom)
		return acrt_fail(ctx, "out of memory");
	return ACRT_OK;
}

static int
st_take_id(void *b, acrt_ctx *ctx, int64_t *id)
{
	(void)b;
	return acrt__store_take_id(ctx, id) == ACRT_OK ? ACRT_OK
	                                               : acrt_fail(ctx, "out of memory (state)");
}

static const acrt__crud_ops state_ops = {st_get, st_put, st_del, st_list, st_take_id};

int
acrt__store_crud(acrt_ctx *ctx, acrt_event *ev)
{
	acrt_event *r = NULL;
	int rc = acrt__crud_request(ctx, ev, &state_ops, NULL, &r);
	if (rc != ACRT_OK)
		return rc;
	rc = acrt_emit(ctx, "output", r);
	return rc == ACRT_ENOENT ? ACRT_OK : rc; /* `output` may be undeclared */
}
