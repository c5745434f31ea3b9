/*
 * bench_state.c - time to snapshot and to restore the managed state of one
 * instance holding 1 million keys (8-byte keys and values), step by step, the
 * way the runtime does it (src/checkpoint/checkpoint.c), against one adapter.
 * bench/bench.py runs it per adapter (issue 6's benchmark); it prints one JSON
 * object on stdout.
 *
 *   bench_state ADAPTER [PATH_OR_URL] [KEYS]
 *
 *   ADAPTER       sqlite_snapshot | redis_snapshot | inmem_ephemeral
 *                 (or sqlite | redis | inmem)
 *   PATH_OR_URL   the SQLite file (created; one checkpoint is added) or the
 *                 redis:// URL; ignored for inmem
 *   KEYS          default 1000000
 *
 * Steps timed (seconds, CLOCK_MONOTONIC):
 *   fill        KEYS puts into an empty map (what bench_stateful's setup pays)
 *   put_ns      one in-place overwrite, per key (the per-event state cost)
 *   dump        malloc of the part + kv dump into it: what the instance thread
 *               pays at each barrier (build_part); dump_warm is a second one
 *   seal        SHA-256 of the part (writer thread)
 *   put         manifest + adapter put of a checkpoint holding that part
 *               (writer thread); snapshot_s = dump + seal + put
 *   get         adapter get of the checkpoint (--resume, before setup)
 *   verify      acrt__ckpt_verify (checksums of every part, manifest)
 *   open        split the verified payload, as apply_checkpoint does (no second
 *               checksum)
 *   load        acrt__kv_load into an empty map (restore)
 *               restore_s = get + verify + open + load
 * The checkpoint is deleted from the store at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/adapter.h"
#include "state/kv.h"
#include "state/part.h"

#define PART_NAME "stateful#0"

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* build_part of checkpoint.c without the own snapshot: header room, u64 kv
 * length, the kv dump, u64 0. */
static unsigned char *
build_part(const acrt__kv *kv, size_t *len)
{
	size_t kvlen = acrt__kv_dump_size(kv);
	size_t n = ACRT__PART_HDR + 8 + kvlen + 8;
	unsigned char *buf = malloc(n);
	if (buf == NULL)
		return NULL;
	unsigned char *p = buf + ACRT__PART_HDR;
	put_u64(p, kvlen);
	acrt__kv_dump(kv, p + 8);
	put_u64(p + 8 + kvlen, 0);
	*len = n;
	return buf;
}

static void
on_problem(void *arg, const char *part, const char *reason)
{
	size_t *n = arg;
	if ((*n)++ == 0)
		fprintf(stderr, "bench_state: verify: part %s: %s\n", part, reason);
}

static int
die(const char *what, const char *err)
{
	fprintf(stderr, "bench_state: %s: %s\n", what, err);
	printf("{\"ok\":false,\"error\":\"%s\"}\n", what);
	return 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: bench_state ADAPTER [PATH_OR_URL] [KEYS]\n");
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "sqlite") == 0)
		name = "sqlite_snapshot";
	else if (strcmp(name, "redis") == 0)
		name = "redis_snapshot";
	else if (strcmp(name, "inmem") == 0)
		name = "inmem_ephemeral";
	const acrt__state_ops *ops = acrt__state_ops_find(name);
	if (ops == NULL) {
		fprintf(stderr, "bench_state: unknown adapter %s\n", argv[1]);
		return 2;
	}
	const char *where = argc > 2 ? argv[2] : "";
	uint64_t keys = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
	if (keys == 0) {
		fprintf(stderr, "bench_state: KEYS must be at least 1\n");
		return 2;
	}
	acrt__state_cfg cfg = {.adapter = name,
	                       .path = where,
	                       .redis_url = where,
	                       .system_name = "bench_state",
	                       .timeout_ms = 30000};
	char err[256] = "";
	acrt__state_adapter *ad = NULL;
	if (ops->open(&cfg, &ad, err, sizeof err) != ACRT_OK)
		return die("open", err);

	/* Fill, then overwrite every key once in place (as process() does). */
	acrt__kv *kv = acrt__kv_new();
	if (kv == NULL)
		return die("kv_new", "out of memory");
	double t0 = now_s();
	for (uint64_t k = 0; k < keys; k++)
		if (acrt__kv_put(kv, &k, 8, &k, 8) != ACRT_OK)
			return die("fill", "out of memory");
	double fill = now_s() - t0;
	t0 = now_s();
	for (uint64_t v = keys; v < 2 * keys; v++) {
		uint64_t k = v % keys;
		if (acrt__kv_put(kv, &k, 8, &v, 8) != ACRT_OK)
			return die("put", "failed");
	}
	double put_ns = (now_s() - t0) * 1e9 / (double)keys;

	/* Snapshot: instance thread (dump), writer thread (seal, manifest, put). */
	size_t len = 0;
	t0 = now_s();
	unsigned char *buf = build_part(kv, &len);
	double dump = now_s() - t0;
	if (buf == NULL)
		return die("dump", "out of memory");
	free(buf);
	t0 = now_s();
	buf = build_part(kv, &len);
	double dump_warm = now_s() - t0;
	if (buf == NULL)
		return die("dump", "out of memory");
	t0 = now_s();
	acrt__part_seal(buf, len - ACRT__PART_HDR);
	double seal = now_s() - t0;

	acrt__ckpt *all = NULL;
	size_t n_all = 0;
	if (ops->list(ad, &all, &n_all, err, sizeof err) != ACRT_OK)
		return die("list", err);
	uint64_t id = n_all > 0 ? all[0].id + 1 : 1;
	for (size_t i = 0; i < n_all; i++)
		acrt__ckpt_clear(&all[i]);
	free(all);
	acrt__ckpt ck = {.id = id, .wall_ns = (int64_t)time(NULL) * 1000000000};
	if (acrt__ckpt_add_part(&ck, PART_NAME, strlen(PART_NAME), NULL, 0) != ACRT_OK)
		return die("add_part", "out of memory");
	ck.parts[0].data = buf; /* hand the buffer over: no copy */
	ck.parts[0].len = len;
	acrt__blob *parts = realloc(ck.parts, 2 * sizeof *parts);
	if (parts == NULL)
		return die("manifest", "out of memory");
	ck.parts = parts;
	t0 = now_s();
	if (acrt__part_manifest("bench_state", &ck, &ck.parts[1]) != ACRT_OK)
		return die("manifest", "out of memory");
	ck.n_parts = 2;
	if (ops->put(ad, &ck, err, sizeof err) != ACRT_OK)
		return die("put", err);
	double put = now_s() - t0;
	acrt__ckpt_clear(&ck);

	/* Restore: get, verify, open the part, load it into an empty map. */
	acrt__ckpt got = {0};
	t0 = now_s();
	if (ops->get(ad, id, &got, err, sizeof err) != ACRT_OK)
		return die("get", err);
	double get = now_s() - t0;
	size_t problems = 0;
	t0 = now_s();
	acrt__ckpt_verify(&got, on_problem, &problems);
	double verify = now_s() - t0;
	if (problems != 0)
		return die("verify", "the checkpoint read back is not valid");
	const acrt__blob *b = acrt__ckpt_part(&got, PART_NAME);
	const unsigned char *payload, *kvb, *own;
	size_t plen, kvlen, ownlen;
	t0 = now_s();
	if (b == NULL || b->len < ACRT__PART_HDR)
		return die("open", "part missing");
	payload = b->data + ACRT__PART_HDR;
	plen = b->len - ACRT__PART_HDR;
	if (acrt__part_split(payload, plen, &kvb, &kvlen, &own, &ownlen) != ACRT_OK)
		return die("open", "malformed payload");
	double open = now_s() - t0;
	acrt__kv *back = acrt__kv_new();
	if (back == NULL)
		return die("kv_new", "out of memory");
	t0 = now_s();
	if (acrt__kv_load(back, kvb, kvlen) != ACRT_OK)
		return die("load", "malformed");
	double load = now_s() - t0;

	/* The restored map equals the original. */
	if (acrt__kv_count(back) != keys)
		return die("check", "wrong key count after load");
	for (uint64_t k = 0; k < keys; k += keys / 97 + 1) {
		const void *val;
		size_t vlen;
		uint64_t v, want = k + keys;
		if (acrt__kv_get(back, &k, 8, &val, &vlen) != ACRT_OK || vlen != 8 ||
		    (memcpy(&v, val, 8), v != want))
			return die("check", "wrong value after load");
	}
	acrt__ckpt_clear(&got);
	if (ops->del(ad, id, err, sizeof err) != ACRT_OK)
		fprintf(stderr, "bench_state: delete checkpoint %" PRIu64 ": %s\n", id, err);
	ops->close(ad);
	acrt__kv_free(back);
	acrt__kv_free(kv);

	printf("{\"ok\":true,\"adapter\":\"%s\",\"keys\":%" PRIu64 ",\"part_bytes\":%zu,"
	       "\"fill_s\":%.6f,\"put_ns_per_key\":%.1f,\"dump_s\":%.6f,\"dump_warm_s\":%.6f,"
	       "\"dump_ns_per_key\":%.1f,\"seal_s\":%.6f,\"put_s\":%.6f,\"snapshot_s\":%.6f,"
	       "\"get_s\":%.6f,\"verify_s\":%.6f,\"open_s\":%.6f,\"load_s\":%.6f,"
	       "\"load_ns_per_key\":%.1f,\"restore_s\":%.6f}\n",
	       name, keys, len, fill, put_ns, dump, dump_warm, dump * 1e9 / (double)keys, seal, put,
	       dump + seal + put, get, verify, open, load, load * 1e9 / (double)keys,
	       get + verify + open + load);
	return 0;
}
