/*
 * store_crud.c - the Store's generated ids and the original Autocoder's CRUD
 * (store.c; docs/COMPONENTS.md "Store", docs/AUTOCODER.md).
 *
 * Generated ids: "1", "2", ... per Store instance. In managed state the next
 * one is kept under a reserved key, NUL followed by "next_id" (8 bytes,
 * little-endian), which no record's key can be: those are JSON texts. With a
 * SQLite `path` the next id is one past the largest all-digit key at setup.
 *
 * CRUD (`crud: true`, managed state only): an event whose object has an
 * `action` field is a request, answered with one event on `output`, in the
 * original's shapes:
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

/* The state key of id: the id as a JSON string. */
static size_t
id_key(const char *id, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "\"%s\"", id);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
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

static int
reply(acrt_ctx *ctx, json_t *r)
{
	if (r == NULL)
		return acrt_fail(ctx, "out of memory");
	/* The HTTP status an APIEndpoint with reply answers with (the request id
	 * and trace id are inherited from the request: core/event.c): 201 for a
	 * create (the only success with a top-level id), 404, 400 for an error. */
	const char *st = json_string_value(json_object_get(r, "status"));
	const char *http = st == NULL || strcmp(st, "error") == 0 ? "400"
	                   : strcmp(st, "not_found") == 0         ? "404"
	                   : json_object_get(r, "id") != NULL     ? "201"
	                                                          : "200";
	acrt_event *ev = acrt_event_new_json(ctx, r);
	if (ev == NULL)
		return acrt_fail(ctx, "out of memory");
	if (acrt_event_set_header(ev, ACRT_HTTP_STATUS_HEADER, http) != ACRT_OK) {
		acrt_event_unref(ev);
		return acrt_fail(ctx, "out of memory");
	}
	int rc = acrt_emit(ctx, "output", ev);
	return rc == ACRT_ENOENT ? ACRT_OK : rc; /* `output` may be undeclared */
}

static int
put_record(acrt_ctx *ctx, const char *k, size_t klen, const json_t *rec)
{
	char *t = json_dumps(rec, JSON_COMPACT);
	if (t == NULL)
		return ACRT_ENOMEM;
	int rc = acrt_state_put(ctx, k, klen, t, strlen(t));
	void (*jfree)(void *);
	json_get_alloc_funcs(NULL, &jfree); /* jansson's memory is not malloc's */
	jfree(t);
	return rc;
}

static json_t *
get_record(acrt_ctx *ctx, const char *k, size_t klen)
{
	const void *v;
	size_t vlen;
	if (acrt_state_get(ctx, k, klen, &v, &vlen) != ACRT_OK)
		return NULL;
	return json_loadb(v, vlen, 0, NULL);
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
do_list(acrt_ctx *ctx)
{
	listing l = {json_array(), false};
	if (l.recs == NULL || acrt_state_iter(ctx, collect, &l) != ACRT_OK || l.oom) {
		json_decref(l.recs);
		return acrt_fail(ctx, "out of memory");
	}
	size_t n = json_array_size(l.recs);
	json_t **v = acrt__calloc(n ? n : 1, sizeof *v);
	json_t *sorted = json_array();
	if (v == NULL || sorted == NULL) {
		acrt__free(v);
		json_decref(sorted);
		json_decref(l.recs);
		return acrt_fail(ctx, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(l.recs, i);
	if (n > 1)
		qsort(v, n, sizeof *v, id_cmp);
	bool oom = false;
	for (size_t i = 0; i < n && !oom; i++)
		oom = json_array_append(sorted, v[i]) != 0;
	acrt__free(v);
	json_decref(l.recs);
	if (oom) {
		json_decref(sorted);
		return acrt_fail(ctx, "out of memory");
	}
	return reply(ctx, json_pack("{s:s,s:o}", "status", "success", "data", sorted));
}

static json_t *
not_found(const char *action, const char *id)
{
	return json_pack("{s:s,s:s,s:s}", "status", "not_found", "action", action, "id", id);
}

int
acrt__store_crud(acrt_ctx *ctx, acrt_event *ev)
{
	const json_t *req = acrt_event_json(ev);
	const char *action = json_string_value(json_object_get(req, "action"));
	if (action == NULL)
		return reply(ctx, json_pack("{s:s,s:s}", "status", "error", "message",
		                            "Invalid request format"));
	if (strcmp(action, "list") == 0)
		return do_list(ctx);
	char idbuf[64], kbuf[72];
	const json_t *data = json_object_get(req, "data");
	if (strcmp(action, "create") == 0) {
		int64_t n;
		if (data == NULL)
			return reply(ctx, json_pack("{s:s,s:s}", "status", "error", "message",
			                            "create needs 'data'"));
		if (acrt__store_take_id(ctx, &n) != ACRT_OK)
			return acrt_fail(ctx, "out of memory (state)");
		snprintf(idbuf, sizeof idbuf, "%lld", (long long)n);
		size_t klen = id_key(idbuf, kbuf, sizeof kbuf);
		json_t *rec = json_pack("{s:s,s:O}", "id", idbuf, "data", data);
		if (rec == NULL || put_record(ctx, kbuf, klen, rec) != ACRT_OK) {
			json_decref(rec);
			return acrt_fail(ctx, "out of memory (state)");
		}
		return reply(
		    ctx, json_pack("{s:s,s:s,s:o}", "status", "success", "id", idbuf, "data", rec));
	}
	bool get = strcmp(action, "get") == 0, upd = strcmp(action, "update") == 0,
	     del = strcmp(action, "delete") == 0;
	if (!get && !upd && !del) {
		char msg[160];
		snprintf(msg, sizeof msg, "Unknown action: %.100s", action);
		return reply(ctx, json_pack("{s:s,s:s}", "status", "error", "message", msg));
	}
	const char *id = req_id(req, idbuf, sizeof idbuf);
	size_t klen = id ? id_key(id, kbuf, sizeof kbuf) : 0;
	if (klen == 0)
		return reply(ctx, json_pack("{s:s,s:s}", "status", "error", "message",
		                            "Invalid request format"));
	json_t *rec = get_record(ctx, kbuf, klen);
	if (rec == NULL)
		return reply(ctx, not_found(action, id));
	if (del) {
		json_decref(rec);
		(void)acrt_state_del(ctx, kbuf, klen);
		return reply(ctx, json_pack("{s:s}", "status", "success"));
	}
	if (upd) {
		json_t *d = json_object_get(rec, "data");
		if (!json_is_object(d) || !json_is_object(data) ||
		    json_object_update(d, (json_t *)data) < 0 ||
		    put_record(ctx, kbuf, klen, rec) != ACRT_OK) {
			bool bad = !json_is_object(d) || !json_is_object(data);
			json_decref(rec);
			if (bad)
				return reply(ctx,
				             json_pack("{s:s,s:s}", "status", "error", "message",
				                       "update needs 'data' (a mapping)"));
			return acrt_fail(ctx, "out of memory (state)");
		}
	}
	return reply(ctx, json_pack("{s:s,s:o}", "status", "success", "data", rec));
}
