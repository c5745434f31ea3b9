/*
 * test_state_adapters.c - the three checkpoint adapters (src/state/) against
 * one suite: a put/list/get/del round trip with binary parts (NUL bytes, an
 * empty part), newest-first listing, duplicate and missing ids, invalid
 * checkpoints, a 20 MB part (with its timings printed). Then what only some
 * adapters promise: the SQLite file survives a reopen and has mode 0600; the
 * Redis keys have the documented layout, and the adapter recovers by itself
 * when its server is killed and restarted, never printing the password.
 *
 * The Redis group starts its own redis-server (no persistence) on a free
 * loopback port and waits for PING with a deadline; without redis-server the
 * group fails rather than skips (CI installs it).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "state/adapter.h"
#include "testutil.h"

#define BIG (20u << 20)
#define PASS "s3cret-Pa55word"

static char top[64]; /* this run's temporary directory */

typedef struct fixture {
	const acrt__state_ops *ops;
	acrt__state_cfg cfg;
	acrt__state_adapter *a;
	char path[256]; /* sqlite */
	char url[128];  /* redis */
} fixture;

/* ---- redis-server ------------------------------------------------------- */

typedef struct redis_srv {
	pid_t pid;
	int port;
	const char *pass; /* requirepass, or NULL */
} redis_srv;

static redis_srv group_srv;
static bool group_srv_up; /* its group setup worked */

static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A connection to the test server, authenticated; NULL when it does not answer. */
static redisContext *
redis_ctl(int port, const char *pass)
{
	struct timeval tv = {0, 200 * 1000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (c == NULL || c->err != 0 || redisSetTimeout(c, (struct timeval){5, 0}) != REDIS_OK)
		goto fail;
	if (pass != NULL) {
		redisReply *r = redisCommand(c, "AUTH %s", pass);
		bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (!ok)
			goto fail;
	}
	redisReply *r = redisCommand(c, "PING");
	bool pong = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
	freeReplyObject(r);
	if (pong)
		return c;
fail:
	redisFree(c);
	return NULL;
}

static void
print_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		print_error("  %s", line);
	fclose(f);
}

/* Starts redis-server on s->port (0: a free one) and waits until it answers
 * PING. False when it cannot be started (not installed, or the port taken). */
static bool
redis_start(redis_srv *s, int port)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		s->port = port != 0 ? port : free_port();
		char portstr[16], log[128];
		snprintf(portstr, sizeof portstr, "%d", s->port);
		snprintf(log, sizeof log, "%s/redis-%d.log", top, s->port);
		s->pid = fork();
		if (s->pid < 0)
			return false;
		if (s->pid == 0) {
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
			/* Without a password the argument list ends at the NULL. */
			execlp("redis-server", "redis-server", "--save", "", "--appendonly", "no",
			       "--bind", "127.0.0.1", "--port", portstr, "--dir", top, "--logfile",
			       log, s->pass != NULL ? "--requirepass" : NULL, s->pass,
			       (char *)NULL);
			_exit(127);
		}
		int64_t deadline = acrt__mono_ns() + 10000 * MS;
		int status;
		while (acrt__mono_ns() < deadline) {
			if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
				s->pid = 0;
				if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
					print_error("redis-server is not installed "
					            "(scripts/install-deps.sh)\n");
					return false;
				}
				break; /* the port was taken: try another */
			}
			redisContext *c = redis_ctl(s->port, s->pass);
			if (c != NULL) {
				redisFree(c);
				return true;
			}
			nanosleep(&(struct timespec){0, 5 * MS}, NULL); /* poll interval */
		}
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
		}
		print_error("redis-server on port %d did not start; its log:\n", s->port);
		print_file(log);
	}
	return false;
}

static void
redis_kill(redis_srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

/* One command on the test server; the reply, or NULL (the caller frees). */
static redisReply *
redis_cmd(const redis_srv *s, const char *fmt, ...)
{
	redisContext *c = redis_ctl(s->port, s->pass);
	if (c == NULL)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

/* ---- Fixtures ----------------------------------------------------------- */

static int
fixture_open(void **state, fixture *f)
{
	char err[256] = "";
	int rc = f->ops->open(&f->cfg, &f->a, err, sizeof err);
	if (rc != ACRT_OK) {
		print_error("open %s: %d %s\n", f->ops->name, rc, err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static fixture *
fixture_new(const acrt__state_ops *ops)
{
	fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return NULL;
	f->ops = ops;
	f->cfg.adapter = ops->name;
	f->cfg.system_name = "test";
	return f;
}

static int
setup_inmem(void **state)
{
	fixture *f = fixture_new(&acrt__inmem_ops);
	return f != NULL ? fixture_open(state, f) : -1;
}

static int
setup_sqlite(void **state)
{
	static int n;
	fixture *f = fixture_new(&acrt__sqlite_ops);
	if (f == NULL)
		return -1;
	/* Two levels that do not exist yet: open creates them. */
	snprintf(f->path, sizeof f->path, "%s/t%d/state/test.db", top, ++n);
	f->cfg.path = f->path;
	return fixture_open(state, f);
}

static int
setup_redis(void **state)
{
	redisReply *r = redis_cmd(&group_srv, "FLUSHALL");
	bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	fixture *f = ok ? fixture_new(&acrt__redis_ops) : NULL;
	if (f == NULL)
		return -1;
	snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", group_srv.port);
	f->cfg.redis_url = f->url;
	return fixture_open(state, f);
}

static int
teardown(void **state)
{
	fixture *f = *state;
	f->ops->close(f->a);
	free(f);
	return 0;
}

static int
redis_group_start(void **state)
{
	group_srv_up = redis_start(&group_srv, 0);
	return group_srv_up ? 0 : -1;
}

static int
redis_group_stop(void **state)
{
	redis_kill(&group_srv);
	return 0;
}

/* ---- Helpers ------------------------------------------------------------ */

#define PART(n, d, l)                                                                              \
	{                                                                                          \
		.name = (char *)(n), .data = (unsigned char *)(d), .len = (l)                      \
	}

static const unsigned char BIN[] = {0, 'a', 0, 0, 0xff, 'b', 0};

static void
put_ok(fixture *f, const acrt__ckpt *ck)
{
	char err[256] = "";
	int rc = f->ops->put(f->a, ck, err, sizeof err);
	if (rc != ACRT_OK)
		fail_msg("put %llu: %d %s", (unsigned long long)ck->id, rc, err);
}

static void
get_ok(fixture *f, uint64_t id, acrt__ckpt *out)
{
	char err[256] = "";
	int rc = f->ops->get(f->a, id, out, err, sizeof err);
	if (rc != ACRT_OK)
		fail_msg("get %llu: %d %s", (unsigned long long)id, rc, err);
}

static acrt__ckpt *
list_ok(fixture *f, size_t *n)
{
	char err[256] = "";
	acrt__ckpt *v = NULL;
	int rc = f->ops->list(f->a, &v, n, err, sizeof err);
	if (rc != ACRT_OK)
		fail_msg("list: %d %s", rc, err);
	return v;
}

static void
list_free(acrt__ckpt *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acrt__ckpt_clear(&v[i]);
	free(v);
}

static const acrt__blob *
part(const acrt__ckpt *ck, const char *name)
{
	for (size_t i = 0; i < ck->n_parts; i++)
		if (strcmp(ck->parts[i].name, name) == 0)
			return &ck->parts[i];
	fail_msg("checkpoint %llu has no part %s", (unsigned long long)ck->id, name);
	return NULL;
}

/* The part `name` of ck has exactly len bytes: data (get) or none (list). */
static void
assert_part(const acrt__ckpt *ck, const char *name, const void *data, size_t len, bool listed)
{
	const acrt__blob *p = part(ck, name);
	assert_int_equal(p->len, len);
	if (listed) {
		assert_null(p->data);
	} else {
		assert_non_null(p->data);
		if (len > 0)
			assert_memory_equal(p->data, data, len);
	}
}

/* ---- The suite every adapter runs --------------------------------------- */

static void
test_roundtrip(void **state)
{
	fixture *f = *state;
	const char manifest[] = "{\"version\":1}";
	acrt__blob parts[] = {PART("agg#0", BIN, sizeof BIN), PART("empty", NULL, 0),
	                      PART("_manifest", manifest, strlen(manifest))};
	acrt__ckpt ck = {.id = 1, .wall_ns = 1700000000123456789LL, .parts = parts, .n_parts = 3};
	put_ok(f, &ck);

	size_t n;
	acrt__ckpt *v = list_ok(f, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, 1);
	assert_int_equal(v[0].wall_ns, ck.wall_ns);
	assert_int_equal(v[0].n_parts, 3);
	assert_part(&v[0], "agg#0", BIN, sizeof BIN, true);
	assert_part(&v[0], "empty", NULL, 0, true);
	assert_part(&v[0], "_manifest", manifest, strlen(manifest), true);
	list_free(v, n);

	acrt__ckpt got;
	get_ok(f, 1, &got);
	assert_int_equal(got.id, 1);
	assert_int_equal(got.wall_ns, ck.wall_ns);
	assert_int_equal(got.n_parts, 3);
	assert_part(&got, "agg#0", BIN, sizeof BIN, false);
	assert_part(&got, "empty", NULL, 0, false);
	assert_part(&got, "_manifest", manifest, strlen(manifest), false);
	acrt__ckpt_clear(&got);
	assert_int_equal(got.n_parts, 0);

	char err[256] = "";
	assert_int_equal(f->ops->del(f->a, 1, err, sizeof err), ACRT_OK);
	v = list_ok(f, &n);
	assert_int_equal(n, 0);
	list_free(v, n);
	assert_int_equal(f->ops->get(f->a, 1, &got, err, sizeof err), ACRT_ENOENT);
}

static void
test_newest_first(void **state)
{
	fixture *f = *state;
	const uint64_t order[] = {3, 1, 4, 2};
	for (size_t i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "p%llu", (unsigned long long)order[i]);
		acrt__blob p = PART(name, BIN, order[i]); /* length = id */
		acrt__ckpt ck = {
		    .id = order[i], .wall_ns = (int64_t)order[i] * 1000, .parts = &p, .n_parts = 1};
		put_ok(f, &ck);
	}
	size_t n;
	acrt__ckpt *v = list_ok(f, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		uint64_t id = 4 - i;
		char name[16];
		snprintf(name, sizeof name, "p%llu", (unsigned long long)id);
		assert_int_equal(v[i].id, id);
		assert_int_equal(v[i].wall_ns, (int64_t)id * 1000);
		assert_int_equal(v[i].n_parts, 1);
		assert_part(&v[i], name, NULL, id, true);
	}
	list_free(v, n);
}

static void
test_duplicate_id(void **state)
{
	fixture *f = *state;
	acrt__blob a = PART("a", "first", 5), b = PART("b", "second", 6);
	acrt__ckpt ck = {.id = 5, .wall_ns = 1, .parts = &a, .n_parts = 1};
	put_ok(f, &ck);
	acrt__ckpt again = {.id = 5, .wall_ns = 2, .parts = &b, .n_parts = 1};
	char err[256] = "";
	assert_int_equal(f->ops->put(f->a, &again, err, sizeof err), ACRT_EINVAL);
	assert_non_null(strstr(err, "5"));

	acrt__ckpt got; /* the first one, untouched */
	get_ok(f, 5, &got);
	assert_int_equal(got.wall_ns, 1);
	assert_int_equal(got.n_parts, 1);
	assert_part(&got, "a", "first", 5, false);
	acrt__ckpt_clear(&got);
}

static void
test_missing(void **state)
{
	fixture *f = *state;
	char err[256] = "";
	acrt__ckpt got = {.id = 999};
	size_t n = 99;
	acrt__ckpt *v = list_ok(f, &n);
	assert_int_equal(n, 0);
	list_free(v, n);
	assert_int_equal(f->ops->get(f->a, 42, &got, err, sizeof err), ACRT_ENOENT);
	assert_int_equal(got.id, 999); /* out-parameters only on success */
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_int_equal(f->ops->del(f->a, 42, err, sizeof err), ACRT_ENOENT);
	assert_true(err[0] != '\0');

	/* A checkpoint without parts exists all the same. */
	acrt__ckpt empty = {.id = 7, .wall_ns = 70};
	put_ok(f, &empty);
	get_ok(f, 7, &got);
	assert_int_equal(got.n_parts, 0);
	assert_int_equal(got.wall_ns, 70);
	acrt__ckpt_clear(&got);
	assert_int_equal(f->ops->del(f->a, 7, err, sizeof err), ACRT_OK);
	assert_int_equal(f->ops->del(f->a, 7, err, sizeof err), ACRT_ENOENT);
}

static void
test_invalid(void **state)
{
	fixture *f = *state;
	char err[256] = "";
	acrt__blob twice[] = {PART("x", "1", 1), PART("x", "2", 1)};
	acrt__blob unnamed = PART(NULL, "1", 1), nodata = PART("y", NULL, 3);
	const acrt__ckpt bad[] = {
	    {.id = 0},
	    {.id = (UINT64_C(1) << 53) + 1},
	    {.id = 1, .parts = twice, .n_parts = 2},
	    {.id = 1, .parts = &unnamed, .n_parts = 1},
	    {.id = 1, .parts = &nodata, .n_parts = 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(f->ops->put(f->a, &bad[i], err, sizeof err), ACRT_EINVAL);
		assert_true(err[0] != '\0');
	}
	size_t n;
	acrt__ckpt *v = list_ok(f, &n);
	assert_int_equal(n, 0); /* nothing half-written */
	list_free(v, n);
}

static void
test_big_part(void **state)
{
	fixture *f = *state;
	unsigned char *big = malloc(BIG);
	assert_non_null(big);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < BIG; i++) { /* xorshift bytes, every 7th a NUL */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		big[i] = i % 7 == 0 ? 0 : (unsigned char)x;
	}
	acrt__blob parts[] = {PART("big", big, BIG), PART("small", BIN, sizeof BIN)};
	acrt__ckpt ck = {.id = 9, .wall_ns = 9, .parts = parts, .n_parts = 2};

	int64_t t0 = acrt__mono_ns();
	put_ok(f, &ck);
	int64_t t1 = acrt__mono_ns();
	size_t n;
	acrt__ckpt *v = list_ok(f, &n);
	int64_t t2 = acrt__mono_ns();
	acrt__ckpt got;
	get_ok(f, 9, &got);
	int64_t t3 = acrt__mono_ns();
	printf("# %s: 20 MB part: put %.1f ms, list %.1f ms, get %.1f ms\n", f->ops->name,
	       (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6);

	assert_int_equal(n, 1);
	assert_part(&v[0], "big", NULL, BIG, true);
	list_free(v, n);
	assert_part(&got, "big", big, BIG, false);
	assert_part(&got, "small", BIN, sizeof BIN, false);
	acrt__ckpt_clear(&got);
	free(big);
}

/* ---- SQLite only -------------------------------------------------------- */

static mode_t
mode_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static void
test_sqlite_reopen(void **state)
{
	fixture *f = *state;
	acrt__blob p = PART("agg#0", BIN, sizeof BIN);
	for (uint64_t id = 1; id <= 2; id++) {
		acrt__ckpt ck = {.id = id, .wall_ns = (int64_t)id, .parts = &p, .n_parts = 1};
		put_ok(f, &ck);
	}
	f->ops->close(f->a);
	f->a = NULL;
	char err[256] = "";
	int rc = f->ops->open(&f->cfg, &f->a, err, sizeof err);
	if (rc != ACRT_OK)
		fail_msg("reopen: %d %s", rc, err);

	size_t n;
	acrt__ckpt *v = list_ok(f, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, 2);
	assert_int_equal(v[1].id, 1);
	list_free(v, n);
	acrt__ckpt got;
	get_ok(f, 1, &got);
	assert_part(&got, "agg#0", BIN, sizeof BIN, false);
	acrt__ckpt_clear(&got);
}

static void
test_sqlite_file_mode(void **state)
{
	fixture *f = *state;
	acrt__ckpt ck = {.id = 1};
	put_ok(f, &ck);
	assert_int_equal(mode_of(f->path), 0600);
	char wal[300], dir[256];
	snprintf(wal, sizeof wal, "%s-wal", f->path); /* open while the handle is */
	assert_int_equal(mode_of(wal), 0600);
	snprintf(dir, sizeof dir, "%s", f->path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mode_of(dir), 0700);
}

/* ---- Redis only --------------------------------------------------------- */

static void
test_redis_layout(void **state)
{
	fixture *f = *state;
	acrt__blob p = PART("agg#0", BIN, sizeof BIN);
	acrt__ckpt ck = {.id = 7, .wall_ns = 123, .parts = &p, .n_parts = 1};
	put_ok(f, &ck);

	redisReply *r = redis_cmd(&group_srv, "ZRANGE acrt:test:ckpts 0 -1 WITHSCORES");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 2);
	assert_string_equal(r->element[0]->str, "7");
	assert_string_equal(r->element[1]->str, "7");
	freeReplyObject(r);
	r = redis_cmd(&group_srv, "HGET acrt:test:ckpt:7 wall_ns");
	assert_non_null(r);
	assert_string_equal(r->str, "123");
	freeReplyObject(r);
	r = redis_cmd(&group_srv, "HGET acrt:test:ckpt:7 p:agg#0");
	assert_non_null(r);
	assert_int_equal(r->len, sizeof BIN);
	assert_memory_equal(r->str, BIN, sizeof BIN);
	freeReplyObject(r);

	/* Another system on the same server sees none of it. */
	acrt__state_cfg other = f->cfg;
	other.system_name = "other";
	acrt__state_adapter *a2;
	char err[256] = "";
	assert_int_equal(f->ops->open(&other, &a2, err, sizeof err), ACRT_OK);
	acrt__ckpt *v;
	size_t n;
	assert_int_equal(f->ops->list(a2, &v, &n, err, sizeof err), ACRT_OK);
	assert_int_equal(n, 0);
	list_free(v, n);
	f->ops->close(a2);
}

/* err is non-empty and does not contain the password. */
static void
assert_clean_err(const char *err)
{
	assert_true(err[0] != '\0');
	if (strstr(err, PASS) != NULL)
		fail_msg("password in error: %s", err);
}

static void
test_redis_fail_soft(void **state)
{
	redis_srv s = {.pass = PASS};
	if (!redis_start(&s, 0))
		fail_msg("could not start redis-server");
	acrt__state_cfg cfg = {
	    .adapter = "redis_snapshot", .system_name = "soft", .timeout_ms = 500};
	char url[128], err[256] = "";
	snprintf(url, sizeof url, "redis://:%s@127.0.0.1:%d/3", PASS, s.port);
	cfg.redis_url = url;
	acrt__state_adapter *a = NULL;
	int rc = acrt__redis_ops.open(&cfg, &a, err, sizeof err);
	if (rc != ACRT_OK) {
		redis_kill(&s);
		fail_msg("open: %d %s", rc, err);
	}
	acrt__blob p = PART("agg#0", BIN, sizeof BIN);
	acrt__ckpt ck = {.id = 1, .wall_ns = 1, .parts = &p, .n_parts = 1};
	assert_int_equal(acrt__redis_ops.put(a, &ck, err, sizeof err), ACRT_OK);
	redisContext *c = redis_ctl(s.port, s.pass); /* in db 3, from the URL */
	assert_non_null(c);
	redisReply *r = redisCommand(c, "SELECT 3");
	freeReplyObject(r);
	r = redisCommand(c, "EXISTS acrt:soft:ckpt:1");
	assert_true(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
	freeReplyObject(r);
	redisFree(c);

	redis_kill(&s);
	ck.id = 2;
	err[0] = '\0';
	rc = acrt__redis_ops.put(a, &ck, err, sizeof err);
	assert_int_not_equal(rc, ACRT_OK);
	assert_clean_err(err);
	printf("# redis down, put: %d %s\n", rc, err);
	err[0] = '\0'; /* again: now the reconnect itself fails */
	rc = acrt__redis_ops.put(a, &ck, err, sizeof err);
	assert_int_not_equal(rc, ACRT_OK);
	assert_clean_err(err);
	printf("# redis still down, put: %d %s\n", rc, err);

	if (!redis_start(&s, s.port)) {
		acrt__redis_ops.close(a);
		fail_msg("could not restart redis-server on port %d", s.port);
	}
	err[0] = '\0';
	rc = acrt__redis_ops.put(a, &ck, err, sizeof err);
	if (rc != ACRT_OK) {
		acrt__redis_ops.close(a);
		redis_kill(&s);
		fail_msg("put after restart: %d %s", rc, err);
	}
	acrt__ckpt *v;
	size_t n;
	assert_int_equal(acrt__redis_ops.list(a, &v, &n, err, sizeof err), ACRT_OK);
	assert_int_equal(n, 1); /* the server kept nothing: only the new one */
	assert_int_equal(v[0].id, 2);
	list_free(v, n);
	acrt__redis_ops.close(a);
	redis_kill(&s);
}

static void
test_redis_urls(void **state)
{
	redis_srv s = {.pass = PASS};
	if (!redis_start(&s, 0))
		fail_msg("could not start redis-server");
	char url[160], err[256];
	acrt__state_cfg cfg = {
	    .adapter = "redis_snapshot", .system_name = "urls", .redis_url = url};
	acrt__state_adapter *a = NULL;

	/* user:password (the default ACL user), %-encoded, with a db. */
	snprintf(url, sizeof url, "redis://default:s3cret%%2DPa55word@127.0.0.1:%d/1", s.port);
	err[0] = '\0';
	int rc = acrt__redis_ops.open(&cfg, &a, err, sizeof err);
	if (rc != ACRT_OK) {
		redis_kill(&s);
		fail_msg("open user:password: %d %s", rc, err);
	}
	acrt__ckpt ck = {.id = 3};
	assert_int_equal(acrt__redis_ops.put(a, &ck, err, sizeof err), ACRT_OK);
	acrt__redis_ops.close(a);

	/* Wrong password: refused at open, and the message does not repeat it. */
	snprintf(url, sizeof url, "redis://:wrong-%s@127.0.0.1:%d", PASS, s.port);
	err[0] = '\0';
	assert_int_not_equal(acrt__redis_ops.open(&cfg, &a, err, sizeof err), ACRT_OK);
	assert_clean_err(err);
	printf("# wrong password: %s\n", err);

	const char *bad[] = {"http://127.0.0.1:6379",
	                     "redis://:" PASS "@127.0.0.1:port",
	                     "redis://:" PASS "@127.0.0.1:6379/db",
	                     "redis://:" PASS "@:6379",
	                     "redis://" PASS "@127.0.0.1:6379",
	                     NULL};
	for (size_t i = 0; bad[i] != NULL; i++) {
		cfg.redis_url = bad[i];
		err[0] = '\0';
		assert_int_equal(acrt__redis_ops.open(&cfg, &a, err, sizeof err), ACRT_EINVAL);
		assert_clean_err(err);
	}
	redis_kill(&s);
}

/* A fake server for test_redis_sigpipe: answers WATCH and EXISTS, then
 * closes. The client's socket is then in CLOSE_WAIT; its MULTI/EXEC with a
 * 20 MB part draws an RST, which makes the kernel raise SIGPIPE on the next
 * write(2) hiredis makes. */
static void *
fake_srv_run(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL);
	if (fd < 0)
		return NULL;
	char buf[4096];
	int crlf = 0; /* WATCH key and EXISTS key: 5 CRLFs each */
	while (crlf < 10) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			goto out;
		for (ssize_t i = 0; i + 1 < n; i++)
			crlf += buf[i] == '\r' && buf[i + 1] == '\n';
	}
	static const char replies[] = "+OK\r\n:0\r\n";
	/* Should it fall short, the client sees EOF: the put fails all the same. */
	ssize_t w = write(fd, replies, sizeof replies - 1);
	(void)w;
out:
	close(fd);
	return NULL;
}

static void
test_redis_sigpipe(void **state)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, fake_srv_run, &lfd), 0);

	char url[64], err[256] = "";
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", ntohs(sa.sin_port));
	acrt__state_cfg cfg = {
	    .adapter = "redis_snapshot", .system_name = "pipe", .redis_url = url};
	acrt__state_adapter *a = NULL;
	assert_int_equal(acrt__redis_ops.open(&cfg, &a, err, sizeof err), ACRT_OK);
	unsigned char *big = calloc(1, BIG);
	assert_non_null(big);
	acrt__blob p = PART("big", big, BIG);
	acrt__ckpt ck = {.id = 1, .parts = &p, .n_parts = 1};
	/* Without SIGPIPE blocked around the write, the process dies here. */
	assert_int_equal(acrt__redis_ops.put(a, &ck, err, sizeof err), ACRT_ERETRYABLE);
	printf("# server gone mid-put: %s\n", err);
	sigset_t pending;
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE)); /* none left behind */
	free(big);
	acrt__redis_ops.close(a);
	pthread_join(th, NULL);
	close(lfd);
}

/* A server that accepts connections (the kernel's backlog does) but never
 * answers: calls fail after timeout_ms instead of hanging. */
static void
test_redis_timeout(void **state)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(lfd, 4), 0);

	char url[64], err[256] = "";
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", ntohs(sa.sin_port));
	acrt__state_cfg cfg = {.adapter = "redis_snapshot",
	                       .system_name = "hung",
	                       .redis_url = url,
	                       .timeout_ms = 200};
	acrt__state_adapter *a = NULL;
	assert_int_equal(acrt__redis_ops.open(&cfg, &a, err, sizeof err), ACRT_OK);
	acrt__ckpt ck = {.id = 1};
	int64_t t0 = acrt__mono_ns();
	assert_int_equal(acrt__redis_ops.put(a, &ck, err, sizeof err), ACRT_ERETRYABLE);
	int64_t ms = (acrt__mono_ns() - t0) / MS;
	printf("# hung server, put: %s (%lld ms)\n", err, (long long)ms);
	assert_non_null(strstr(err, "within 200 ms"));
	assert_true(ms >= 150 && ms < 2000);
	acrt__redis_ops.close(a);
	close(lfd);
}

/* ---- Main ---------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

#define COMMON_TESTS(setup)                                                                        \
	cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),                          \
	    cmocka_unit_test_setup_teardown(test_newest_first, setup, teardown),                   \
	    cmocka_unit_test_setup_teardown(test_duplicate_id, setup, teardown),                   \
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_big_part, setup, teardown)

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(top, sizeof top, "%s/acrt-state-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest inmem[] = {COMMON_TESTS(setup_inmem)};
	const struct CMUnitTest sqlite[] = {
	    COMMON_TESTS(setup_sqlite),
	    cmocka_unit_test_setup_teardown(test_sqlite_reopen, setup_sqlite, teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_file_mode, setup_sqlite, teardown),
	};
	const struct CMUnitTest redis[] = {
	    COMMON_TESTS(setup_redis),
	    cmocka_unit_test_setup_teardown(test_redis_layout, setup_redis, teardown),
	    cmocka_unit_test(test_redis_fail_soft),
	    cmocka_unit_test(test_redis_urls),
	    cmocka_unit_test(test_redis_sigpipe),
	    cmocka_unit_test(test_redis_timeout),
	};
	int failed = cmocka_run_group_tests_name("inmem_ephemeral", inmem, NULL, NULL);
	failed += cmocka_run_group_tests_name("sqlite_snapshot", sqlite, NULL, NULL);
	/* A failed group setup (no redis-server) must fail the run, not skip it. */
	int rf = cmocka_run_group_tests_name("redis_snapshot", redis, redis_group_start,
	                                     redis_group_stop);
	failed += rf != 0 ? rf : !group_srv_up;
	if (nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s: %s\n", top, strerror(errno));
	return failed != 0;
}
