/*
 * metrics.c - see metrics.h.
 */
#include "observe/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "core/common.h"
#include "core/enrich.h"
#include "core/strbuf.h"
#include "reload/reload.h"

/* The text is built in an acrt__strbuf (plain malloc: MHD frees it). */

/* A label value, escaped as the text format wants (\\, \", \n). */
static void
sb_label(acrt__strbuf *b, const char *s)
{
	for (; *s && !b->oom; s++) {
		if (*s == '\\' || *s == '"')
			acrt__strbuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			acrt__strbuf_printf(b, "\\n");
		else
			acrt__strbuf_printf(b, "%c", *s);
	}
}

static void
sb_head(acrt__strbuf *b, const char *name, const char *type, const char *help)
{
	acrt__strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- Reading the runtime ------------------------------------------------- */

typedef struct comp_totals {
	uint64_t in, out, errors, write_errors;
	bool up;
	bool write_blocked;
	bool stuck;                         /* an instance is stuck in process */
	/* an instance's writes fail now */ /* every instance set up, none failed */
	int failed;                         /* instances that failed */
	int running;                        /* instances still in their process phase */
} comp_totals;

static void
comp_read(const acrt__runtime *rt, size_t k, comp_totals *t)
{
	memset(t, 0, sizeof *t);
	t->up = true;
	for (int r = 0; r < acrt__q_replicas(rt, k); r++) {
		acrt__q_inst in;
		acrt__q_instance(rt, k, r, &in);
		t->in += in.events_in;
		t->out += in.events_out;
		t->errors += in.errors;
		t->write_errors += in.write_errors;
		t->write_blocked |= in.write_blocked;
		t->stuck |= in.stuck_ns != 0;
		if (in.state == ACRT__INST_FAILED)
			t->failed++;
		else if (in.state == ACRT__INST_RUNNING)
			t->running++;
		if (!in.set_up || in.state == ACRT__INST_FAILED)
			t->up = false;
	}
}

static const char *
state_name(int st)
{
	return st == ACRT__INST_FAILED ? "failed" : st == ACRT__INST_ENDED ? "finished" : "running";
}

void
acrt__proc_read(acrt__proc_stats *out)
{
	/* libproc2 (Debian's procps library), through the error-enrichment snapshot:
	 * the API serves on the supervising thread, where it reads fresh figures. */
	acrt__resource_snapshot snap;
	acrt__enrich_snapshot(&snap);
	out->rss_bytes = snap.rss_bytes;
	out->cpu_seconds = snap.cpu_seconds;
	out->open_fds = snap.open_fds;
	out->threads = snap.threads;
}

/* ---- Prometheus text ----------------------------------------------------- */

typedef enum { C_IN, C_OUT, C_ERR, C_UP, C_WERR, C_WBLOCKED, C_STUCK, C_N } comp_metric;

/* The per-component families, in comp_metric's order. */
static const struct {
	const char *name, *type, *help;
} comp_family[C_N] = {
    {"acrt_component_events_in_total", "counter",
     "Events received by the component, summed over its replicas."},
    {"acrt_component_events_out_total", "counter",
     "Events emitted by the component, summed over its replicas."},
    {"acrt_component_errors_total", "counter",
     "Events the component failed to process, summed over its replicas."},
    {"acrt_component_up", "gauge",
     "1 when every instance of the component is set up and none has failed."},
    {"acrt_component_write_errors_total", "counter",
     "Write attempts of a sink that failed (it retries them: on_write_error)."},
    {"acrt_component_write_blocked", "gauge",
     "1 while a sink's writes fail and it retries; its input waits."},
    {"acrt_component_stuck", "gauge",
     "1 while an instance is stuck in process past its timeout (or 60 s)."},
};

static void
comp_series(acrt__strbuf *b, acrt__runtime *rt, const comp_totals *tot, comp_metric m)
{
	for (size_t k = 0; k < acrt__q_components(rt); k++) {
		acrt__strbuf_printf(b, "%s{component=\"", comp_family[m].name);
		sb_label(b, acrt__q_spec(rt, k)->name);
		const comp_totals *t = &tot[k];
		uint64_t v = m == C_IN         ? t->in
		             : m == C_OUT      ? t->out
		             : m == C_ERR      ? t->errors
		             : m == C_UP       ? (uint64_t)t->up
		             : m == C_WERR     ? t->write_errors
		             : m == C_WBLOCKED ? (uint64_t)t->write_blocked
		                               : (uint64_t)t->stuck;
		acrt__strbuf_printf(b, "\"} %llu\n", (unsigned long long)v);
	}
}

static void
cap_series(acrt__strbuf *b, acrt__runtime *rt)
{
	bool head = false;
	for (size_t k = 0; k < acrt__q_components(rt); k++) {
		for (int r = 0; r < acrt__q_replicas(rt, k); r++) {
			json_t *st = acrt__q_caps(rt, k, r);
			if (st == NULL)
				continue;
			const char *cap, *stat;
			json_t *o, *v;
			json_object_foreach(st, cap, o)
			{
				json_object_foreach(o, stat, v)
				{
					double x;
					if (json_is_number(v))
						x = json_number_value(v);
					else if (json_is_boolean(v))
						x = json_is_true(v) ? 1 : 0;
					else
						continue;
					if (!head) {
						sb_head(
						    b, "acrt_capability_stat", "gauge",
						    "A capability's counter or state, per instance "
						    "(stat names the field).");
						head = true;
					}
					acrt__strbuf_printf(b, "acrt_capability_stat{component=\"");
					sb_label(b, acrt__q_spec(rt, k)->name);
					acrt__strbuf_printf(b, "\",replica=\"%d\",capability=\"",
					                    r);
					sb_label(b, cap);
					acrt__strbuf_printf(b, "\",stat=\"");
					sb_label(b, stat);
					acrt__strbuf_printf(b, "\"} %.17g\n", x);
				}
			}
			json_decref(st);
		}
	}
}

/* acrt_component_processing_seconds: a histogram of sampled process() times
 * (1 event in ACRT__TIME_SAMPLE per instance), summed over replicas. */
static void
time_series(acrt__strbuf *b, acrt__runtime *rt)
{
	sb_head(b, "acrt_component_processing_seconds", "histogram",
	        "Time process() took, sampled: one event in 64 per instance.");
	for (size_t k = 0; k < acrt__q_components(rt); k++) {
		const char *name = acrt__q_spec(rt, k)->name;
		uint64_t cum = 0, count = 0, sum = 0;
		uint64_t bucket[ACRT__TIME_BUCKETS] = {0};
		for (int r = 0; r < acrt__q_replicas(rt, k); r++) {
			acrt__q_inst in;
			acrt__q_instance(rt, k, r, &in);
			for (int i = 0; i < ACRT__TIME_BUCKETS; i++)
				bucket[i] += in.time_bucket[i];
			count += in.time_count;
			sum += in.time_sum_ns;
		}
		for (int i = 0; i < ACRT__TIME_BUCKETS; i++) {
			cum += bucket[i];
			acrt__strbuf_printf(
			    b, "acrt_component_processing_seconds_bucket{component=\"");
			sb_label(b, name);
			if (i < ACRT__TIME_BUCKETS - 1)
				acrt__strbuf_printf(b, "\",le=\"%.9g\"} %llu\n",
				                    (double)acrt__time_bounds_ns[i] / 1e9,
				                    (unsigned long long)cum);
			else
				acrt__strbuf_printf(b, "\",le=\"+Inf\"} %llu\n",
				                    (unsigned long long)cum);
		}
		acrt__strbuf_printf(b, "acrt_component_processing_seconds_sum{component=\"");
		sb_label(b, name);
		acrt__strbuf_printf(b, "\"} %.9g\n", (double)sum / 1e9);
		acrt__strbuf_printf(b, "acrt_component_processing_seconds_count{component=\"");
		sb_label(b, name);
		acrt__strbuf_printf(b, "\"} %llu\n", (unsigned long long)count);
	}
}

/* The bindings between nodes (docs/MULTINODE.md, "Watching a hop"): one
 * series per remote stream, labelled with its side. */
static void
remote_series(acrt__strbuf *b, const acrt__q_stream_info *si, size_t nt)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"acrt_remote_connected", "gauge",
	     "1 while the broker connection of the binding is up."},
	    {"acrt_remote_in_flight_messages", "gauge",
	     "Messages published and not yet acknowledged by the broker (send), or handed to the "
	     "consumer and not yet acknowledged (receive)."},
	    {"acrt_remote_redelivered_total", "counter",
	     "Messages published again after a failure (send), or delivered again (receive)."},
	    {"acrt_remote_duplicates_total", "counter",
	     "Events dropped as already received: a resend, or the replay of a resumed producer "
	     "(receive)."},
	    {"acrt_remote_backlog_messages", "gauge",
	     "Messages waiting in the broker for this consumer, as last seen."},
	    {"acrt_remote_backlog_ratio", "gauge",
	     "The backlog divided by the broker-side bound (ceil(buffer_size / 64) messages)."},
	};
	size_t n_remote = 0;
	for (size_t i = 0; i < nt; i++)
		n_remote += si[i].stats.remote != 0;
	if (n_remote == 0)
		return;
	for (int m = 0; m < 6; m++) {
		sb_head(b, fam[m].name, fam[m].type, fam[m].help);
		for (size_t i = 0; i < nt; i++) {
			const acrt__transport_stats *ts = &si[i].stats;
			if (ts->remote == 0 || (m >= 3 && ts->remote != 2) ||
			    (m >= 4 && ts->backlog < 0))
				continue;
			double v = m == 0      ? (double)ts->connected
			           : m == 1    ? (double)ts->in_flight
			           : m == 2    ? (double)ts->redelivered
			           : m == 3    ? (double)ts->duplicates
			           : m == 4    ? (double)ts->backlog
			           : ts->bound ? (double)ts->backlog / (double)ts->bound
			                       : 0.0;
			acrt__strbuf_printf(b, "%s{stream=\"", fam[m].name);
			sb_label(b, si[i].name);
			acrt__strbuf_printf(b, "\",transport=\"%s\",side=\"%s\"} %.17g\n",
			                    si[i].kind, ts->remote == 1 ? "send" : "receive", v);
		}
	}
}

char *
acrt__metrics_text(acrt__runtime *rt, size_t *len)
{
	acrt__strbuf b = {0};
	size_t nc = acrt__q_components(rt);
	comp_totals *tot = acrt__calloc(nc ? nc : 1, sizeof *tot);
	if (tot == NULL)
		return NULL;
	for (size_t k = 0; k < nc; k++)
		comp_read(rt, k, &tot[k]);

	for (int m = 0; m < C_N; m++) {
		sb_head(&b, comp_family[m].name, comp_family[m].type, comp_family[m].help);
		comp_series(&b, rt, tot, (comp_metric)m);
	}
	acrt__free(tot);

	size_t nt = acrt__q_streams(rt);
	acrt__q_stream_info *si = acrt__calloc(nt ? nt : 1, sizeof *si);
	if (si == NULL) {
		free(b.p);
		return NULL;
	}
	for (size_t i = 0; i < nt; i++)
		acrt__q_stream(rt, i, &si[i]);
	static const char *const sname[] = {"acrt_stream_depth", "acrt_stream_capacity",
	                                    "acrt_stream_fill_ratio",
	                                    "acrt_stream_producer_blocked_seconds_total"};
	static const char *const stype[] = {"gauge", "gauge", "gauge", "counter"};
	static const char *const shelp[] = {
	    "Events waiting in the stream.", "Events the stream holds at most.",
	    "Depth divided by capacity.", "Time producers spent waiting for space in the stream."};
	for (int m = 0; m < 4; m++) {
		sb_head(&b, sname[m], stype[m], shelp[m]);
		for (size_t i = 0; i < nt; i++) {
			acrt__strbuf_printf(&b, "%s{stream=\"", sname[m]);
			sb_label(&b, si[i].name);
			const acrt__transport_stats *ts = &si[i].stats;
			double v =
			    m == 0   ? (double)ts->depth
			    : m == 1 ? (double)ts->capacity
			    : m == 2
			        ? (ts->capacity ? (double)ts->depth / (double)ts->capacity : 0.0)
			        : (double)ts->blocked_ns / 1e9;
			acrt__strbuf_printf(&b, "\"} %.17g\n", v);
		}
	}
	remote_series(&b, si, nt);
	acrt__free(si);

	time_series(&b, rt);
	cap_series(&b, rt);

	acrt__proc_stats ps;
	acrt__proc_read(&ps);
	if (ps.rss_bytes >= 0) {
		sb_head(&b, "acrt_process_resident_memory_bytes", "gauge", "Resident set size.");
		acrt__strbuf_printf(&b, "acrt_process_resident_memory_bytes %.17g\n", ps.rss_bytes);
	}
	if (ps.cpu_seconds >= 0) {
		sb_head(&b, "acrt_process_cpu_seconds_total", "counter",
		        "User and system CPU time of the process.");
		acrt__strbuf_printf(&b, "acrt_process_cpu_seconds_total %.17g\n", ps.cpu_seconds);
	}
	if (ps.open_fds >= 0) {
		sb_head(&b, "acrt_process_open_fds", "gauge", "Open file descriptors.");
		acrt__strbuf_printf(&b, "acrt_process_open_fds %ld\n", ps.open_fds);
	}
	if (ps.threads >= 0) {
		sb_head(&b, "acrt_process_threads", "gauge", "Threads of the process.");
		acrt__strbuf_printf(&b, "acrt_process_threads %ld\n", ps.threads);
	}
	acrt__ckpt_metrics(rt, &b);   /* checkpoints */
	acrt__reload_metrics(rt, &b); /* hot reloads */
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *
comp_json(acrt__runtime *rt, size_t k)
{
	comp_totals t;
	comp_read(rt, k, &t);
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	const acrt__comp_spec *s = acrt__q_spec(rt, k);
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "type", json_string(s->type ? s->type : "plugin"));
	json_object_set_new(o, "replicas", json_integer(acrt__q_replicas(rt, k)));
	json_object_set_new(o, "chained", json_boolean(acrt__q_chained(rt, k)));
	json_object_set_new(o, "setup", json_string(t.up || t.failed ? "done" : "pending"));
	json_object_set_new(o, "state",
	                    json_string(t.failed    ? "failed"
	                                : t.running ? "running"
	                                            : "finished"));
	json_object_set_new(o, "up", json_boolean(t.up));
	json_object_set_new(o, "events_in", json_integer((json_int_t)t.in));
	json_object_set_new(o, "events_out", json_integer((json_int_t)t.out));
	json_object_set_new(o, "errors", json_integer((json_int_t)t.errors));
	json_t *last_error = json_null();
	json_t *insts = json_array();
	for (int r = 0; r < acrt__q_replicas(rt, k); r++) {
		acrt__q_inst in;
		acrt__q_instance(rt, k, r, &in);
		json_t *i = json_pack("{s:i,s:s,s:b,s:I,s:I,s:I}", "replica", r, "state",
		                      state_name(in.state), "set_up", in.set_up, "events_in",
		                      (json_int_t)in.events_in, "events_out",
		                      (json_int_t)in.events_out, "errors", (json_int_t)in.errors);
		if (i == NULL)
			continue;
		if (in.state == ACRT__INST_FAILED) {
			json_object_set_new(i, "last_error", json_string(acrt_strerror(in.end_rc)));
			json_decref(last_error);
			last_error = json_string(acrt_strerror(in.end_rc));
		}
		json_t *caps = acrt__q_caps(rt, k, r);
		if (caps != NULL)
			json_object_set_new(i, "capabilities", caps);
		json_array_append_new(insts, i);
	}
	json_object_set_new(o, "last_error", last_error);
	json_object_set_new(o, "instances", insts);
	json_object_set_new(o, "counters", acrt__q_counters(rt, k));
	return o;
}

/* The sampled processing-time histogram of component k, summed over its
 * replicas: {bounds_s (upper bounds; the last bucket has none), buckets (not
 * cumulative), count, sum_s}. The console draws it (docs/CONSOLE.md). */
static json_t *
time_json(acrt__runtime *rt, size_t k)
{
	uint64_t bucket[ACRT__TIME_BUCKETS] = {0}, count = 0, sum = 0;
	for (int r = 0; r < acrt__q_replicas(rt, k); r++) {
		acrt__q_inst in;
		acrt__q_instance(rt, k, r, &in);
		for (int i = 0; i < ACRT__TIME_BUCKETS; i++)
			bucket[i] += in.time_bucket[i];
		count += in.time_count;
		sum += in.time_sum_ns;
	}
	json_t *bounds = json_array(), *buckets = json_array();
	for (int i = 0; bounds != NULL && buckets != NULL && i < ACRT__TIME_BUCKETS; i++) {
		if (i < ACRT__TIME_BUCKETS - 1)
			json_array_append_new(bounds,
			                      json_real((double)acrt__time_bounds_ns[i] / 1e9));
		json_array_append_new(buckets, json_integer((json_int_t)bucket[i]));
	}
	return json_pack("{s:o,s:o,s:I,s:f,s:i}", "bounds_s", bounds, "buckets", buckets, "count",
	                 (json_int_t)count, "sum_s", (double)sum / 1e9, "sample_one_in",
	                 ACRT__TIME_SAMPLE);
}

json_t *
acrt__metrics_component(acrt__runtime *rt, const char *name)
{
	long k = acrt__blueprint_find(acrt__q_blueprint(rt), name);
	if (k < 0)
		return NULL;
	json_t *o = comp_json(rt, (size_t)k);
	if (o != NULL)
		json_object_set_new(o, "processing_time", time_json(rt, (size_t)k));
	return o;
}

json_t *
acrt__metrics_readiness(acrt__runtime *rt, bool *ready)
{
	json_t *reasons = json_array();
	if (acrt__q_stopping(rt) || acrt__q_cancelled(rt))
		json_array_append_new(reasons,
		                      json_pack("{s:s}", "reason", "the system is stopping"));
	for (size_t k = 0; k < acrt__q_components(rt); k++) {
		const char *name = acrt__q_spec(rt, k)->name;
		for (int r = 0; r < acrt__q_replicas(rt, k); r++) {
			acrt__q_inst in;
			acrt__q_instance(rt, k, r, &in);
			if (!in.set_up)
				json_array_append_new(
				    reasons, json_pack("{s:s,s:i,s:s}", "component", name,
				                       "replica", r, "reason", "not set up"));
			else if (in.state == ACRT__INST_FAILED)
				json_array_append_new(reasons,
				                      json_pack("{s:s,s:i,s:s}", "component", name,
				                                "replica", r, "reason",
				                                acrt_strerror(in.end_rc)));
			else if (in.stuck_ns != 0)
				json_array_append_new(
				    reasons, json_pack("{s:s,s:i,s:s,s:f}", "component", name,
				                       "replica", r, "reason", "stuck in process",
				                       "stuck_s", (double)in.stuck_ns / 1e9));
		}
	}
	*ready = json_array_size(reasons) == 0;
	return json_pack("{s:b,s:o}", "ready", *ready, "reasons", reasons);
}

json_t *
acrt__metrics_system(acrt__runtime *rt)
{
	const acrt__blueprint *bp = acrt__q_blueprint(rt);
	bool ready;
	json_t *rd = acrt__metrics_readiness(rt, &ready);
	json_t *o = json_object();
	json_object_set_new(o, "system", json_string(bp->name));
	/* nodes: this process's node and the deployment's nodes (docs/MULTINODE.md) */
	json_object_set_new(o, "node", bp->nodes.self ? json_string(bp->nodes.self) : json_null());
	json_t *nodes = json_array();
	for (size_t i = 0; i < bp->nodes.n; i++)
		json_array_append_new(nodes, json_string(bp->nodes.names[i]));
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "version", bp->version ? json_string(bp->version) : json_null());
	json_object_set_new(o, "state", json_string(acrt__q_stopping(rt) ? "draining" : "running"));
	json_object_set_new(o, "ready", json_boolean(ready));
	json_object_set_new(o, "not_ready_reasons", json_incref(json_object_get(rd, "reasons")));
	json_decref(rd);
	json_object_set_new(o, "reload", acrt__reload_json(rt)); /* hot reloads */
	json_object_set_new(o, "uptime_s",
	                    json_real((double)(acrt__mono_ns() - acrt__q_started_ns(rt)) / 1e9));
	uint64_t in = 0, out = 0, err = 0;
	json_t *comps = json_array();
	for (size_t k = 0; k < bp->n_comps; k++) {
		const acrt__comp_spec *sp = acrt__q_spec(rt, bp->topo[k]);
		json_t *c = comp_json(rt, bp->topo[k]);
		if (c == NULL)
			continue;
		err += (uint64_t)json_integer_value(json_object_get(c, "errors"));
		if (sp->n_inputs == 0)
			out += (uint64_t)json_integer_value(json_object_get(c, "events_out"));
		if (sp->n_outputs == 0)
			in += (uint64_t)json_integer_value(json_object_get(c, "events_in"));
		json_array_append_new(comps, c);
	}
	json_object_set_new(o, "totals",
	                    json_pack("{s:I,s:I,s:I}", "source_events_out", (json_int_t)out,
	                              "sink_events_in", (json_int_t)in, "errors", (json_int_t)err));
	json_object_set_new(o, "components", comps);
	json_t *streams = json_array();
	for (size_t i = 0; i < acrt__q_streams(rt); i++) {
		acrt__q_stream_info si;
		acrt__q_stream(rt, i, &si);
		const acrt__transport_stats st = si.stats;
		json_t *so = json_pack(
		    "{s:s,s:s,s:I,s:I,s:f,s:I,s:I,s:f}", "name", si.name, "kind", si.kind, "depth",
		    (json_int_t)st.depth, "capacity", (json_int_t)st.capacity, "fill_ratio",
		    st.capacity ? (double)st.depth / (double)st.capacity : 0.0, "sent",
		    (json_int_t)st.sent, "received", (json_int_t)st.received, "producer_blocked_s",
		    (double)st.blocked_ns / 1e9);
		if (so != NULL && st.remote != 0) /* a binding to another node */
			json_object_set_new(
			    so, "remote",
			    json_pack("{s:s,s:b,s:I,s:I,s:o,s:I}", "side",
			              st.remote == 1 ? "send" : "receive", "connected",
			              st.connected, "in_flight_messages", (json_int_t)st.in_flight,
			              "redelivered_messages", (json_int_t)st.redelivered,
			              "backlog_messages",
			              st.backlog >= 0 ? json_integer(st.backlog) : json_null(),
			              "bound_messages", (json_int_t)st.bound));
		json_array_append_new(streams, so);
	}
	json_object_set_new(o, "streams", streams);
	acrt__proc_stats ps;
	acrt__proc_read(&ps);
	json_object_set_new(o, "process",
	                    json_pack("{s:f,s:f,s:I,s:I}", "resident_memory_bytes", ps.rss_bytes,
	                              "cpu_seconds", ps.cpu_seconds, "open_fds",
	                              (json_int_t)ps.open_fds, "threads", (json_int_t)ps.threads));
	return o;
}
