/*
 * summary.c - adds up what each generation of a run did with its events
 * (summary.h): the figures of the last log line and of the exit status.
 */
#include "runtime/summary.h"

#include "runtime/runtime.h"

static uint64_t
load(const acrt__counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* by_component[name][key] += n, when n is not zero. */
static int
add_to(json_t *by, const char *name, const char *key, uint64_t n)
{
	if (n == 0)
		return 0;
	json_t *o = json_object_get(by, name);
	if (o == NULL && (json_object_set_new(by, name, json_object()) != 0 ||
	                  (o = json_object_get(by, name)) == NULL))
		return -1;
	json_int_t was = json_integer_value(json_object_get(o, key));
	return json_object_set_new(o, key, json_integer(was + (json_int_t)n));
}

/* A component at the end of the pipeline: none of its outputs is bound (a
 * Sink, a Store whose `error` port goes nowhere). */
static bool
terminal(const acrt__comp *c)
{
	for (size_t i = 0; i < c->spec->n_outputs; i++)
		if (c->outs[i].n_targets > 0 || c->outs[i].chained != NULL)
			return false;
	return true;
}

int
acrt__totals_add(acrt__run_totals *t, struct acrt__runtime *rt, uint64_t discarded)
{
	int rc = 0;
	if (t->by_component == NULL && (t->by_component = json_object()) == NULL)
		rc = -1;
	for (size_t k = 0; k < rt->bp->n_comps; k++) {
		acrt__comp *c = &rt->comps[k];
		uint64_t failed = 0, dl = 0, skipped = 0, unwritten = 0;
		bool sink = terminal(c);
		for (int r = 0; r < c->n_inst; r++) {
			acrt_ctx *ctx = &c->inst[r];
			if (sink)
				t->sink_events += load(&ctx->events_in);
			if (c->spec->n_inputs == 0)
				t->source_events += load(&ctx->events_out);
			failed += load(&ctx->errors) - load(&ctx->hook_errors);
			dl += load(&ctx->dead_lettered);
			skipped += load(&ctx->skipped);
			unwritten += load(&ctx->unwritten);
			t->discarded += load(&ctx->discarded);
		}
		t->failed += failed;
		t->dead_lettered += dl;
		t->failed_lost += failed > dl ? failed - dl : 0;
		t->skipped_input += skipped;
		t->unwritten += unwritten;
		if (t->by_component == NULL)
			continue;
		const char *name = c->spec->name;
		if (add_to(t->by_component, name, "failed", failed) != 0 ||
		    add_to(t->by_component, name, "dead_lettered", dl) != 0 ||
		    add_to(t->by_component, name, "skipped_input", skipped) != 0 ||
		    add_to(t->by_component, name, "unwritten", unwritten) != 0)
			rc = -1;
	}
	t->discarded += discarded;
	t->generations++;
	return rc;
}

uint64_t
acrt__totals_lost(const acrt__run_totals *t)
{
	return t->failed_lost + t->skipped_input + t->unwritten + t->discarded;
}

json_t *
acrt__totals_json(const acrt__run_totals *t, double seconds)
{
	json_t *o = json_pack(
	    "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:f}", "source_events",
	    (json_int_t)t->source_events, "sink_events", (json_int_t)t->sink_events, "failed",
	    (json_int_t)t->failed, "dead_lettered", (json_int_t)t->dead_lettered, "skipped_input",
	    (json_int_t)t->skipped_input, "unwritten", (json_int_t)t->unwritten, "discarded",
	    (json_int_t)t->discarded, "lost", (json_int_t)acrt__totals_lost(t), "generations",
	    t->generations, "seconds", seconds);
	if (o != NULL && t->by_component != NULL && json_object_size(t->by_component) > 0)
		json_object_set(o, "by_component", t->by_component);
	return o;
}

void
acrt__totals_free(acrt__run_totals *t)
{
	json_decref(t->by_component);
	t->by_component = NULL;
}
