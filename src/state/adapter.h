/*
 * adapter.h - where checkpoints are kept: one interface, three adapters
 * (runtime.state.adapter in deployment.yaml, docs/STATE.md):
 *
 *   sqlite_snapshot   one SQLite file (WAL), one transaction per checkpoint;
 *                     the default, so nothing needs a server (sqlite.c)
 *   redis_snapshot    hiredis, keys namespaced by system name; a checkpoint
 *                     becomes visible in one MULTI/EXEC (redis.c)
 *   inmem_ephemeral   process memory; lost at exit (inmem.c)
 *
 * A checkpoint is an id (1, 2, ... increasing), a wall-clock time and a set of
 * named parts (opaque blobs: part.c encodes them with a format version and a
 * checksum; adapters never look inside). put() is atomic: after it returns
 * ACRT_OK every part is visible, after a failure or a crash none is.
 *
 * Threads: an adapter handle is used by one thread at a time (the checkpoint
 * writer, or the CLI); adapters need no locking of their own. Calls may block
 * (disk, network) but never forever: the Redis adapter uses command timeouts.
 *
 * Errors: every call returns ACRT_OK or a negative acrt_err and, on failure,
 * writes a one-line reason into err[errlen] (never a secret: no password from
 * redis_url). A lost connection is retried on the next call (fail-soft: the
 * runtime counts the failure and tries again at the next interval).
 */
#ifndef ACRT_STATE_ADAPTER_H
#define ACRT_STATE_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"

typedef struct acrt__state_cfg {
	const char *adapter;     /* "sqlite_snapshot", "redis_snapshot", "inmem_ephemeral" */
	const char *path;        /* sqlite: absolute path of the database file */
	const char *redis_url;   /* redis: redis://[:password@]host:port[/db] */
	const char *system_name; /* namespace for keys (redis) */
	int timeout_ms;          /* per command / busy timeout; 0 = 2000 */
} acrt__state_cfg;

typedef struct acrt__blob {
	char *name;          /* part name, e.g. "agg#0" or "_manifest"; owned */
	unsigned char *data; /* owned; NULL in list() results */
	size_t len;
} acrt__blob;

typedef struct acrt__ckpt {
	uint64_t id;
	int64_t wall_ns; /* when it was taken, ns since the Unix epoch */
	acrt__blob *parts;
	size_t n_parts;
	/* list() only: non-NULL when the store's index names this checkpoint but
	 * its data is gone (redis: the hash behind an id of the sorted set was
	 * evicted, expired or deleted outside acrt): why, naming the keys
	 * (malloc'd; n_parts is 0). Such a checkpoint is corrupt: get() refuses
	 * it with ACRT_EINVAL. */
	char *lost;
} acrt__ckpt;

/* Frees what a ckpt owns (parts, names, data, lost), not the struct itself. */
void acrt__ckpt_clear(acrt__ckpt *ck);

typedef struct acrt__state_adapter acrt__state_adapter;
typedef struct acrt__state_lease acrt__state_lease;

enum { ACRT__LEASE_HELD = 1 }; /* lease_take/lease_refresh: another process has it */

typedef struct acrt__state_ops {
	const char *name;
	bool persistent; /* survives the process (not inmem) */
	/* Opens (creating the file/schema when absent). *out on success. */
	int (*open)(const acrt__state_cfg *cfg, acrt__state_adapter **out, char *err,
	            size_t errlen);
	/* Stores a whole checkpoint atomically. Borrows ck. An id that exists is
	 * ACRT_EINVAL. */
	int (*put)(acrt__state_adapter *a, const acrt__ckpt *ck, char *err, size_t errlen);
	/* Every checkpoint, newest (highest id) first, with part names and
	 * lengths but no data (parts[i].data == NULL), and those whose data is
	 * gone with `lost` set (never skipped silently). The caller frees with
	 * acrt__ckpt_clear on each and free(*out). */
	int (*list)(acrt__state_adapter *a, acrt__ckpt **out, size_t *n, char *err, size_t errlen);
	/* One checkpoint with its data into *out (caller clears). ACRT_ENOENT
	 * when there is none; ACRT_EINVAL when the store's index has it but its
	 * data is gone (err names the keys: list()'s `lost`), as opposed to a
	 * checkpoint deleted meanwhile (by retain), which is ACRT_ENOENT. */
	int (*get)(acrt__state_adapter *a, uint64_t id, acrt__ckpt *out, char *err, size_t errlen);
	/* Deletes one checkpoint, all parts at once. ACRT_ENOENT when absent. */
	int (*del)(acrt__state_adapter *a, uint64_t id, char *err, size_t errlen);
	void (*close)(acrt__state_adapter *a);
	/* Optional: the file whose exclusive lock (core/filelock.h) makes one
	 * process at a time write checkpoints into this store; the caller frees
	 * it with acrt__free (NULL: out of memory). NULL op: the store needs none
	 * (inmem: one per process) or keeps its lock in the store (redis:
	 * lease_take below).
	 * The runtime takes it before open() for a run; the CLI's read-only
	 * commands never do. */
	char *(*lock_path)(const acrt__state_cfg *cfg);
	/* Optional, for a store with no file to lock (redis): a lock kept in
	 * the store itself, a key with an expiry of lease_ttl_ms that names its
	 * holder. The runtime takes it instead of lock_path's; the CLI's
	 * read-only commands never do. Within one process a lease is shared:
	 * taking one this process holds counts one more holder (no round trip),
	 * and the last release gives it up. Any thread (a process-wide mutex).
	 *
	 * lease_take: ACRT_OK, *out holds it; ACRT__LEASE_HELD, another process
	 * holds it; otherwise the store could not be asked. err names the store
	 * and the lock (and, when HELD, the holder). On ACRT_OK err is "", or
	 * says that a killed run's lock was reclaimed (its holder, a process of
	 * this host, is gone: the runtime logs it).
	 * lease_refresh: extends the expiry when the lock is still ours (or
	 * takes it again when it expired meanwhile): ACRT_OK; ACRT__LEASE_HELD
	 * when another process took it since (err names it); otherwise the store
	 * could not be asked (err).
	 * lease_release: one holder less; the last deletes the lock when it is
	 * still ours. NULL is fine. */
	int (*lease_take)(const acrt__state_cfg *cfg, struct acrt__state_lease **out, char *err,
	                  size_t errlen);
	int (*lease_refresh)(struct acrt__state_lease *l, char *err, size_t errlen);
	void (*lease_release)(struct acrt__state_lease *l);
	int lease_ttl_ms;
} acrt__state_ops;

/* Every adapter starts with this. */
struct acrt__state_adapter {
	const acrt__state_ops *ops;
};

extern const acrt__state_ops acrt__sqlite_ops;
extern const acrt__state_ops acrt__redis_ops;
extern const acrt__state_ops acrt__inmem_ops;

/* The ops for an adapter name, or NULL. */
const acrt__state_ops *acrt__state_ops_find(const char *name);

/* ---- Shared by the adapters (adapter.c); not for their callers ---------- */

/* Writes the reason into err[errlen] (when errlen > 0) and returns rc. */
int acrt__state_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* ACRT_ENOENT, with "no checkpoint ID" in err. */
int acrt__state_missing(char *err, size_t errlen, uint64_t id);
/* What put() accepts, the same for every adapter: an id in 1..2^53 (Redis
 * scores are doubles), named parts with distinct names, data non-NULL unless
 * len is 0. Otherwise ACRT_EINVAL with the reason. */
int acrt__ckpt_check(const acrt__ckpt *ck, char *err, size_t errlen);
/* Appends a part, copying nlen bytes of name and, when data is non-NULL, len
 * bytes of data (data NULL: a list() entry with its length only). Memory is
 * from malloc, as acrt__ckpt_clear expects. ACRT_ENOMEM leaves ck unchanged. */
int acrt__ckpt_add_part(acrt__ckpt *ck, const char *name, size_t nlen, const void *data,
                        size_t len);

#endif /* ACRT_STATE_ADAPTER_H */
