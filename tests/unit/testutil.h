/*
 * testutil.h - helpers shared by the unit tests: deadlines instead of sleeps,
 * and counting this process's threads.
 */
#ifndef ACRT_TESTUTIL_H
#define ACRT_TESTUTIL_H

#include <dirent.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/common.h"

#define MS (1000000LL)

/* Polls cond (an expression) until true or timeout_ms; evaluates to its value. */
#define WAIT_FOR(cond, timeout_ms)                                                                 \
	({                                                                                         \
		int64_t dl_ = acrt__mono_ns() + (int64_t)(timeout_ms)*MS;                          \
		bool ok_;                                                                          \
		while (!(ok_ = (cond)) && acrt__mono_ns() < dl_)                                   \
			sched_yield();                                                             \
		ok_;                                                                               \
	})

static inline int
count_threads(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	if (d == NULL)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif /* ACRT_TESTUTIL_H */
