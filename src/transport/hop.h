/*
 * hop.h - what a network transport (redis.h, nats.h) is given for one binding
 * between two nodes: its names, the broker's URL and credentials as the
 * deployment's runtime.transport holds them, its bound and its replica
 * counts. Everything is borrowed from the caller for the duration of the
 * *_new call; the transport copies what it keeps.
 */
#ifndef ACRT_TRANSPORT_HOP_H
#define ACRT_TRANSPORT_HOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/waitq.h"

/* How a network transport waits: after a failure (a connection refused, a
 * request that fails), 50 ms doubling to 2 s; while the broker's bound is
 * full, polling for room, 0.2 ms doubling to 10 ms. */
#define ACRT__HOP_BACKOFF_FIRST_NS 50000000LL
#define ACRT__HOP_BACKOFF_MAX_NS 2000000000LL
#define ACRT__HOP_POLL_FIRST_NS 200000LL
#define ACRT__HOP_POLL_MAX_NS 10000000LL
/* How old a side's last look at its claim may be before it writes or reads
 * again (fencing, docs/MULTINODE.md): a process stopped longer looks first. */
#define ACRT__HOP_FENCE_CHECK_NS 200000000LL

/* The next wait of such a doubling: `first` after 0, then twice the last,
 * up to `max` (ns). */
static inline int64_t
acrt__hop_next_wait(int64_t last, int64_t first, int64_t max)
{
	return last == 0 ? first : last > max / 2 ? max : last * 2;
}

typedef struct acrt__hop {
	const char *name;          /* "from.port->to.port", for logs */
	const char *url;           /* the broker's URL(s); may hold a secret: never logged */
	const char *user;          /* NULL, or the user (with password_file) */
	const char *password_file; /* NULL, or a file holding the password */
	const char *token_file;    /* NATS: NULL, or a file holding the token */
	const char *creds_file;    /* NATS: NULL, or a credentials (JWT + NKey) file */
	bool tls;                  /* tls://, rediss:// or a tls: mapping */
	const char *tls_ca_file, *tls_cert_file, *tls_key_file; /* NULL: none */
	const char *key; /* the binding's broker name: acrt:<system>:bind:<from.port>-><to.port> */
	const char *group;  /* the consuming component (consumer group, durable) */
	size_t capacity;    /* the binding's buffer_size: the broker-side bound */
	unsigned producers; /* producer instances (their end markers end it) */
	unsigned consumers; /* receiving replicas (1..64) */
	acrt__waitq *rx;    /* the consumer inbox's waitq (receiving side) */
	/* Receiving side: the runtime's graceful-stop flag (SIGTERM), or NULL.
	 * Once set, nothing more is read; what is local is handed out, processed
	 * and acknowledged, then the consumers see EOS: the node drains, and the
	 * rest stays in the broker for its next run. */
	const _Atomic bool *stopping;
} acrt__hop;

#endif /* ACRT_TRANSPORT_HOP_H */
