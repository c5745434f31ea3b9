/*
 * ckpt_int.h - what checkpoint.c (coordinator, barriers), ckpt_writer.c (the
 * writer thread) and recovery.c (opening the store, --resume, restore) share: the coordinator's
 * state and the part helpers. Private to src/checkpoint/ and src/reload/ (which captures and
 * applies state across a reload).
 */
#ifndef ACRT_CKPT_INT_H
#define ACRT_CKPT_INT_H

#include <pthread.h>

#include "checkpoint/checkpoint.h"
#include "core/filelock.h"
#include "runtime/runtime.h" /* the instances and streams it snapshots */
#include "state/adapter.h"

#define RECENT 16 /* completed checkpoints remembered for the API */

typedef struct ckpt_rec {
	uint64_t id;
	int64_t wall_ns;
	size_t bytes, parts;
	double seconds; /* from trigger to stored */
} ckpt_rec;

typedef struct queued {
	acrt__ckpt ck;
	int64_t started; /* monotonic, when triggered */
	struct queued *next;
} queued;

struct acrt__ckpt_rt {
	acrt__runtime *rt;
	const acrt__state_ops *ops;
	acrt__state_adapter *ad;
	acrt__state_cfg cfg;
	char *path;               /* owned copy for cfg.path */
	acrt__filelock *lock;     /* one writing process per store (recovery.c); NULL: none */
	acrt__state_lease *lease; /* the same kept in the store (redis); NULL: none */
	int64_t lease_due;        /* monotonic: the writer refreshes it then (mu) */
	int64_t interval_ns, timeout_ns;
	unsigned retain;
	size_t n_slots; /* instances */

	_Atomic uint64_t trigger; /* newest barrier sources must inject */
	_Atomic uint64_t aborted; /* barriers up to this id are abandoned */
	_Atomic int64_t deadline; /* alignment deadline of the open checkpoint */

	pthread_mutex_t mu;
	pthread_cond_t cv; /* the writer waits here */
	uint64_t last_id;  /* highest id handed out (also from the store) */
	uint64_t cur;      /* the open checkpoint, 0 = none */
	int64_t cur_started, cur_wall;
	bool cur_failed;   /* an instance could not snapshot: abort at the next tick */
	acrt__blob *slots; /* n_slots parts of the open checkpoint */
	size_t got;
	acrt__blob *finals; /* n_slots: final parts of ended instances */
	bool requested;
	int64_t next_due;
	int wake_fd;        /* eventfd: a transport asked for a checkpoint (nudge) */
	acrt__ck_link link; /* what the network transports are given (ck_start) */
	queued *q_head, **q_tail;
	bool stop;
	pthread_t writer;
	bool writer_up;
	/* statistics */
	uint64_t n_done, n_failed, n_aborted;
	uint64_t n_lost;               /* stored checkpoints found with their data gone */
	uint64_t lost_ids[RECENT * 2]; /* ring of those already logged (not twice) */
	ckpt_rec recent[RECENT];       /* ring, newest at (n_done - 1) % RECENT */
	char last_error[256];
};

/* Part helpers (checkpoint.c). build_part runs on the instance's thread (or
 * the runtime's, once the instance has ended): managed state and own snapshot,
 * unsealed, with room for the header. */
void acrt__ck_blob_free(acrt__blob *b);
int acrt__ck_blob_copy(acrt__blob *dst, const acrt__blob *src);
int acrt__ck_build_part(acrt_ctx *ctx, acrt__blob *out);
/* Loads an instance payload (a part without its header, already checked or
 * made by this process) into an instance: managed state now, own bytes for
 * restore. ACRT_OK, or ACRT_EINVAL with a reason in why (recovery.c). */
int acrt__ck_apply_payload(acrt_ctx *ctx, const unsigned char *p, size_t n, char *why,
                           size_t whylen);
/* Logs and counts each checkpoint of a list() whose data the store lost
 * (acrt__ckpt.lost), once per id. Runtime thread before the writer starts,
 * then the writer; takes ck->mu (ckpt_writer.c). */
void acrt__ck_note_lost(acrt__ckpt_rt *ck, const acrt__ckpt *all, size_t n);
/* Coordinator, with ck->mu held (checkpoint.c). */
bool acrt__ck_open_locked(acrt__ckpt_rt *ck, int64_t now);
void acrt__ck_abort_locked(acrt__ckpt_rt *ck, const char *why);
/* The writer thread (ckpt_writer.c). */
void *acrt__ck_writer_main(void *arg);
/* A network transport asks for a checkpoint soon (acrt__ck_link.nudge; arg
 * is the runtime). Any thread; never blocks. */
void acrt__ck_nudge(void *arg);
/* Lets the store's lock go at the end of a generation, or hands it to the
 * next one when this one quiesced for a reload (recovery.c). */
void acrt__ck_unclaim(acrt__ckpt_rt *ck);
/* Takes the store's lock unless held or not needed (ACRT__FLOCK_TAKEN; h->pid
 * != 0 when a run that did not end cleanly left it). HELD or ERROR: err says
 * so in one phrase naming the store and the lock. Runtime thread before the
 * writer starts, then the writer (recovery.c). */
int acrt__ck_claim(acrt__ckpt_rt *ck, acrt__lock_holder *h, char *err, size_t errlen);
/* Extends the lease (ops->lease_refresh) when one is held: ACRT_OK, or
 * ACRT__LEASE_HELD when another run took it (err says who), or another error
 * (the store could not be asked). Writer thread (recovery.c). */
int acrt__ck_refresh(acrt__ckpt_rt *ck, char *err, size_t errlen);

#endif /* ACRT_CKPT_INT_H */
