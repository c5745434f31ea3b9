/*
 * pool.h - a small-object allocator with per-thread magazine caches
 * (Bonwick's magazines over size classes), for events and for jansson's JSON
 * values (installed with json_set_alloc_funcs by acrt__pool_install_json).
 *
 * Why: in a pipeline, one thread allocates (the source) and another frees (the
 * sink). glibc's malloc handles that with arena locks and cross-thread free
 * lists; here blocks go back in magazines of 64, one depot lock per 64 frees.
 *
 * Any thread may free what any other allocated. Blocks carry a 16-byte header
 * (size class), so acrt__pool_free needs no size. Requests above the largest
 * class go to malloc. Sanitizer builds map everything to malloc so that ASan
 * and TSan see every block.
 */
#ifndef ACRT_POOL_H
#define ACRT_POOL_H

#include <stddef.h>

/* The largest request served from the size classes (larger: malloc). */
#define ACRT__POOL_MAX_BLOCK 496

void *acrt__pool_alloc(size_t n);
void acrt__pool_free(void *p);
/* Gives this thread's cached blocks back to the depot; call before a thread
 * that allocated or freed exits (task groups do it for their threads). */
void acrt__pool_thread_flush(void);
/* Makes jansson allocate through the pool (once, before any JSON is made). */
void acrt__pool_install_json(void);
/* Call before dropping a reference to a JSON tree another thread may share:
 * tells TSan builds what the acquire fence in jansson's free hook orders
 * (pool.c says why). Nothing in other builds. */
#ifdef __SANITIZE_THREAD__
void acrt__pool_json_drop(void);
#else
static inline void
acrt__pool_json_drop(void)
{
}
#endif

#endif /* ACRT_POOL_H */
