/*
 * enrich.c - see enrich.h. Resources come from libproc2 (procps 4): the pids
 * API for this process (RSS, CPU ticks, threads), the misc API for the load
 * average, the meminfo API for the available memory. libproc2 has no item for
 * the open descriptors: /proc/self/fd is counted.
 */
#include "core/enrich.h"

#include <dirent.h>
#include <libproc2/meminfo.h>
#include <libproc2/misc.h>
#include <libproc2/pids.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "core/event.h"

static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pids_info *pids;       /* under snap_mu */
static struct meminfo_info *meminfo; /* under snap_mu */
static acrt__resource_snapshot cached = {-1, -1, -1, -1, -1, -1, -1};
static int64_t cached_ns; /* monotonic, 0 = none */
static unsigned long long prev_tics;
static int64_t prev_tics_ns;
static atomic_bool pids_wanted; /* an error off the main thread wants fresh pids figures */

static enum pids_item items[] = {PIDS_VM_RSS, PIDS_TICS_ALL, PIDS_NLWP, PIDS_UTILIZATION};
enum { I_RSS, I_TICS, I_NLWP, I_UTIL };

static long
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* not the directory stream itself */
}

/* This process's RSS, threads and CPU through libproc2's pids API. Only ever
 * on the main (supervising) thread: readproc keeps its read buffers in
 * thread-local storage, which would be lost (256 KiB) with every other thread
 * that used it. Under snap_mu. */
static void
read_pids(int64_t now)
{
	if (pids == NULL && procps_pids_new(&pids, items, (int)(sizeof items / sizeof *items)) < 0)
		pids = NULL;
	if (pids == NULL)
		return;
	unsigned self = (unsigned)getpid();
	struct pids_fetch *f = procps_pids_select(pids, &self, 1, PIDS_SELECT_PID);
	if (f == NULL || f->counts == NULL || f->counts->total < 1)
		return;
	struct pids_stack *st = f->stacks[0];
	cached.rss_bytes = (double)PIDS_VAL(I_RSS, ul_int, st, pids) * 1024.0;
	cached.threads = PIDS_VAL(I_NLWP, s_int, st, pids);
	unsigned long long tics = PIDS_VAL(I_TICS, ull_int, st, pids);
	long hz = sysconf(_SC_CLK_TCK);
	cached.cpu_seconds = (double)tics / (double)(hz > 0 ? hz : 100);
	if (prev_tics_ns != 0 && now > prev_tics_ns && tics >= prev_tics)
		cached.cpu_percent = 100.0 * (double)(tics - prev_tics) /
		                     (double)(hz > 0 ? hz : 100) /
		                     ((double)(now - prev_tics_ns) / 1e9);
	else
		cached.cpu_percent = PIDS_VAL(I_UTIL, real, st, pids);
	prev_tics = tics;
	prev_tics_ns = now;
}

/* The figures any thread may read (no thread-local state). Under snap_mu. */
static void
read_host(void)
{
	double av1, av5, av15;
	cached.load1 = procps_loadavg(&av1, &av5, &av15) == 0 ? av1 : -1;
	if (meminfo == NULL && procps_meminfo_new(&meminfo) < 0)
		meminfo = NULL;
	struct meminfo_result *r =
	    meminfo != NULL ? procps_meminfo_get(meminfo, MEMINFO_MEM_AVAILABLE) : NULL;
	cached.mem_available_bytes = r != NULL ? (double)r->result.ul_int * 1024.0 : -1;
	cached.open_fds = count_fds();
}

static bool
on_main_thread(void)
{
	return gettid() == getpid();
}

void
acrt__enrich_snapshot(acrt__resource_snapshot *out)
{
	int64_t now = acrt__mono_ns();
	pthread_mutex_lock(&snap_mu);
	if (cached_ns == 0 || now - cached_ns >= ACRT__ENRICH_CACHE_NS) {
		read_host();
		if (on_main_thread())
			read_pids(now);
		else
			atomic_store_explicit(&pids_wanted, true, memory_order_relaxed);
		cached_ns = now;
	}
	*out = cached;
	pthread_mutex_unlock(&snap_mu);
}

void
acrt__enrich_tick(void)
{
	/* prev_tics_ns: written only on the main thread (read_pids) */
	if ((prev_tics_ns != 0 && !atomic_load_explicit(&pids_wanted, memory_order_relaxed)) ||
	    !on_main_thread())
		return;
	atomic_store_explicit(&pids_wanted, false, memory_order_relaxed);
	pthread_mutex_lock(&snap_mu);
	read_pids(acrt__mono_ns());
	pthread_mutex_unlock(&snap_mu);
}

const char *
acrt__enrich_class(int rc, const char *capability)
{
	const char *cap = capability != NULL && strcmp(capability, "-") != 0 ? capability : NULL;
	if (cap != NULL && strcmp(cap, "schema_validator") == 0)
		return "schema";
	if (rc == ACRT_ENOMEM || rc == ACRT_ETIMEDOUT ||
	    (cap != NULL && (strcmp(cap, "timeout") == 0 || strcmp(cap, "rate_limit") == 0)))
		return "resource";
	if (rc == ACRT_ERETRYABLE || rc == ACRT_ECLOSED ||
	    (cap != NULL && (strcmp(cap, "circuit_breaker") == 0 || strcmp(cap, "retry") == 0)))
		return "dependency";
	return "execution";
}

json_t *
acrt__enrich_error(json_t *extra, int rc, const char *capability, const acrt_event *ev, int attempt,
                   bool resources)
{
	if (extra == NULL && (extra = json_object()) == NULL)
		return NULL;
	json_object_set_new(extra, "error_class", json_string(acrt__enrich_class(rc, capability)));
	if (json_object_get(extra, "capability") == NULL)
		json_object_set_new(extra, "capability",
		                    json_string(capability ? capability : "-"));
	if (ev != NULL) {
		char hex[33];
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", ev->trace_id[i]);
		json_object_set_new(extra, "trace_id", json_string(hex));
	}
	json_object_set_new(extra, "attempt", json_integer(attempt));
	if (!resources)
		return extra;
	acrt__resource_snapshot s;
	acrt__enrich_snapshot(&s);
	json_object_set_new(extra, "rss_bytes", json_integer((json_int_t)s.rss_bytes));
	json_object_set_new(extra, "cpu_percent", json_real(s.cpu_percent));
	json_object_set_new(extra, "threads", json_integer(s.threads));
	json_object_set_new(extra, "open_fds", json_integer(s.open_fds));
	json_object_set_new(extra, "load1", json_real(s.load1));
	json_object_set_new(extra, "mem_available_bytes",
	                    json_integer((json_int_t)s.mem_available_bytes));
	return extra;
}

void
acrt__enrich_release(void)
{
	pthread_mutex_lock(&snap_mu);
	if (pids != NULL)
		procps_pids_unref(&pids);
	if (meminfo != NULL)
		procps_meminfo_unref(&meminfo);
	pids = NULL;
	meminfo = NULL;
	cached_ns = prev_tics_ns = 0;
	cached = (acrt__resource_snapshot){-1, -1, -1, -1, -1, -1, -1};
	atomic_store(&pids_wanted, false);
	pthread_mutex_unlock(&snap_mu);
}
