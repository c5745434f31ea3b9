/*
 * wiring.c - turns a validated blueprint into components, instances and the
 * transports between them. One transport per binding (after fan-out lists are
 * expanded), so each binding has its own capacity and, later, its own barrier
 * alignment. The transport's producer count is the source component's replica
 * count: the stream ends when the last replica closes it.
 *
 * A blueprint narrowed to one node (`acrt run --node`, blueprint/nodes.c)
 * holds only that node's components and the bindings among them; its
 * bindings to other nodes follow them in bp->bindings (bp->nodes.n_remote).
 * Those go through the network transport of runtime.transport, `nats` or
 * `redis` (src/transport/nats.h, redis.h): this node creates its side of
 * each, the sending side feeding the producer's output port or the receiving
 * side feeding the consumer's inbox. A binding to or from a component on
 * several nodes (scale-out) has one such side per node at its other end (a
 * lane each), the sending ones behind a dealer (transport/lanes.h). With
 * checkpoints, each side's position
 * is part of this node's checkpoints (checkpoint/recovery.c enables them):
 * docs/MULTINODE.md, "Exactly-once across nodes".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/builtin.h"
#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "runtime/runtime.h"
#include "state/kv.h"
#include "transport/lanes.h"
#include "transport/local.h"
#include "transport/nats.h"
#include "transport/redis.h"

static long
port_of(const acrt__port_spec *ports, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ports[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int
resolve_desc(acrt__comp *c, char *err, size_t errlen)
{
	const acrt__comp_spec *s = c->spec;
	if (s->desc != NULL) { /* a test endpoint of `acrt test` (runtime/testpoint.h) */
		c->desc = s->desc;
		return 0;
	}
	if (s->plugin_path != NULL)
		return acrt__plugin_open(s->plugin_path, s->plugin_symbol, &c->plugin, &c->desc,
		                         err, errlen);
	const acrt__builtin *b = acrt__builtin_find(s->type);
	if (b == NULL || b->desc == NULL) {
		snprintf(err, errlen, "type '%s' is not available in this release",
		         s->type ? s->type : "?");
		return -1;
	}
	c->desc = b->desc;
	return acrt__desc_check(c->desc, s->type, err, errlen);
}

static int64_t
cap_now(void *arg)
{
	(void)arg;
	return acrt__fast_mono_ns(); /* a timeout reads it twice per event */
}

static int
cap_sleep_until(void *arg, int64_t deadline)
{
	return acrt_sleep_until(arg, deadline);
}

/* dead_letter's send: no before_send hook sees it (capability/chain.h). */
static int
cap_emit_raw(void *arg, const char *port, acrt_event *ev)
{
	return acrt__ctx_emit_raw(arg, port, ev);
}

static const char *
cap_fail_reason(void *arg)
{
	const acrt_ctx *ctx = arg;
	return ctx->err;
}

/* 0, -1 when out of memory, -2 after reporting a capability that cannot be
 * built. */
static int
init_instances(acrt__runtime *rt, acrt__comp *c)
{
	const acrt__comp_spec *s = c->spec;
	c->n_inst = s->replicas > 0 ? s->replicas : 1;
	c->inst = acrt__calloc((size_t)c->n_inst, sizeof *c->inst);
	if (c->inst == NULL)
		return -1;
	for (int r = 0; r < c->n_inst; r++) {
		acrt_ctx *ctx = &c->inst[r];
		ctx->rt = rt;
		ctx->comp = c;
		ctx->replica = r;
		if (acrt__lograte_init(&ctx->lograte) != 0)
			return -1;
		ctx->outbox = acrt__calloc(s->n_outputs ? s->n_outputs : 1, sizeof *ctx->outbox);
		if (ctx->outbox == NULL)
			return -1;
		ctx->cap_clock = (acrt__cap_clock){.now = cap_now,
		                                   .sleep_until = cap_sleep_until,
		                                   .arg = ctx,
		                                   .emit_raw = cap_emit_raw,
		                                   .fail_reason = cap_fail_reason};
		char err[512];
		if (acrt__chain_build(s, &ctx->cap_clock, &ctx->chain, err, sizeof err) != 0) {
			fprintf(stderr, "acrt: %s:%d:%d: component '%s': %s\n", s->mark.file,
			        s->mark.line, s->mark.col, s->name, err);
			return -2; /* reported: not out of memory */
		}
		if (c->n_inst == 1)
			snprintf(ctx->thread_name, sizeof ctx->thread_name, "%s", s->name);
		else
			snprintf(ctx->thread_name, sizeof ctx->thread_name, "%.*s#%d",
			         r < 10 ? 13 : 12, s->name, r);
	}
	return 0;
}

/*
 * Operator chaining (as Flink does it): a binding is fused into a direct call
 * when it is the only binding of its output port, the only binding into its
 * target, both sides have the same replica count, the target is not a source,
 * and the binding is not part of an allowed cycle. The target then has no
 * thread and no stream in between: emit calls its process on the upstream's
 * thread, which keeps the event in that core's cache. `runtime.chaining:
 * false` turns it off (each component then runs on its own thread).
 *
 * One exception: a built-in Source reading JSON lines (a file, stdin) is
 * never chained to its consumer. Reading and checking every line is half the
 * work of a typical log pipeline, so it gets its own thread and the rest of
 * the pipeline the other core (1M access-log lines through Filter ->
 * Transformer -> file: 1.8 s on one thread, 1.2 s on two).
 *
 * Nor is a Sink posting to HTTP (`sink: http`) chained to its producer: it
 * waits on the network, which its own thread does while the producer goes on,
 * and it holds a batch until max_ms with its loop's timer (acrt__ctx_wake_at),
 * which a chained instance does not have.
 */
static bool
reads_lines(const acrt__comp *c)
{
	return c->spec->type != NULL && strcmp(c->spec->type, "Source") == 0 &&
	       json_object_get(c->spec->config, "source") != NULL;
}

bool
acrt__spec_wants_timer(const acrt__comp_spec *s)
{
	if (s->type == NULL)
		return false;
	if (strcmp(s->type, "Aggregator") == 0) /* idle inputs release the watermark */
		return json_integer_value(json_object_get(s->config, "idle_timeout_ms")) > 0;
	const char *k = json_string_value(json_object_get(s->config, "sink"));
	return strcmp(s->type, "Sink") == 0 && k != NULL && /* an http sink holds a batch */
	       strcmp(k, "http") == 0;                      /* until max_ms, on the network */
}

static bool
chainable(const acrt__runtime *rt, const acrt__binding_spec *b)
{
	const acrt__blueprint *bp = rt->bp;
	const acrt__comp *from = &rt->comps[b->from_comp], *to = &rt->comps[b->to_comp];
	if (!bp->chaining || b->allow_cycle || b->from_comp == b->to_comp || reads_lines(from))
		return false;
	if (to->batching.enabled || acrt__spec_wants_timer(to->spec)) /* its own loop and timer */
		return false;
	if (from->spec->replicas != to->spec->replicas || to->desc->run != NULL ||
	    to->desc->process == NULL)
		return false;
	size_t same_port = 0, into_target = 0;
	for (size_t i = 0; i < bp->n_bindings; i++) {
		const acrt__binding_spec *o = &bp->bindings[i];
		if (o->from_comp == b->from_comp && strcmp(o->from_port, b->from_port) == 0)
			same_port++;
		if (o->to_comp == b->to_comp)
			into_target++;
	}
	return same_port == 1 && into_target == 1;
}

/* Logs a bad batching setting of component c and returns -1. */
static int batching_error(const acrt__comp *c, const char *fmt, ...) ACRT_PRINTF(2, 3);

static int
batching_error(const acrt__comp *c, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	acrt__log(ACRT_LOG_ERROR, c->spec->name, 0, NULL, "%s:%d:%d: component '%s': batching: %s",
	          c->spec->mark.file, c->spec->mark.line, c->spec->mark.col, c->spec->name, msg);
	return -1;
}

/* The batching of component c: checked and resolved by the loader; what the
 * descriptor allows is checked again here because a plugin's descriptor is
 * read anew when the system is wired (the same check `acrt validate` runs). */
static int
resolve_batching(acrt__comp *c)
{
	const char *why =
	    acrt__batch_effective(&c->spec->batch, c->desc, c->spec->n_inputs, &c->batching);
	return why != NULL ? batching_error(c, "%s", why) : 0;
}

static int
init_batches(acrt__comp *c)
{
	if (!c->batching.enabled)
		return 0;
	for (int r = 0; r < c->n_inst; r++) {
		acrt_ctx *ctx = &c->inst[r];
		ctx->batches = acrt__calloc(c->spec->n_inputs, sizeof *ctx->batches);
		if (ctx->batches == NULL)
			return -1;
		for (size_t p = 0; p < c->spec->n_inputs; p++) {
			ctx->batches[p].evs =
			    acrt__calloc(c->batching.max_items, sizeof *ctx->batches[p].evs);
			if (ctx->batches[p].evs == NULL)
				return -1;
		}
	}
	return 0;
}

static int
wire_binding(acrt__runtime *rt, const acrt__binding_spec *b)
{
	acrt__comp *from = &rt->comps[b->from_comp];
	acrt__comp *to = &rt->comps[b->to_comp];
	long op = port_of(from->spec->outputs, from->spec->n_outputs, b->from_port);
	long ip = port_of(to->spec->inputs, to->spec->n_inputs, b->to_port);
	if (op < 0 || ip < 0 || !to->has_inbox)
		return -1; /* the validator guarantees this cannot happen */
	if (chainable(rt, b)) {
		from->outs[op].chained = to;
		from->outs[op].chained_port = to->spec->inputs[ip].name;
		to->chained = true;
		acrt__log(ACRT_LOG_DEBUG, NULL, 0, NULL, "chained %s.%s -> %s.%s (one thread)",
		          from->spec->name, b->from_port, to->spec->name, b->to_port);
		return 0;
	}

	char name[256];
	snprintf(name, sizeof name, "%s.%s->%s.%s", from->spec->name, b->from_port, to->spec->name,
	         b->to_port);
	acrt__transport *t = acrt__stream_new(name, b->buffer_size, (unsigned)from->spec->replicas,
	                                      (unsigned)to->n_inst, &to->inbox.wq);
	if (t == NULL)
		return -1;
	rt->transports[rt->n_transports++] = t;

	acrt__outport *o = &from->outs[op];
	acrt__transport **tg = acrt__realloc(o->targets, (o->n_targets + 1) * sizeof *tg);
	if (tg == NULL)
		return -1;
	o->targets = tg;
	o->targets[o->n_targets++] = t;
	return acrt__inbox_add(&to->inbox, t, (size_t)ip);
}

/* A binding between this node and another that cannot be carried: none
 * without a transport, and with checkpoints none from a producer with
 * several replicas on this node (their interleaving would give a resumed
 * run's events other sequence numbers). 0, or -1 after an error log naming
 * the binding. */
static int
refuse_remote(const acrt__blueprint *bp, const acrt__binding_spec *b)
{
	const acrt__comp_spec *fs = &bp->comps[b->from_comp];
	const char *why = bp->transport.kind == NULL
	                      ? "no runtime.transport (nats or redis) carries it"
	                  : bp->state.on && b->from_comp < bp->n_comps && fs->replicas > 1
	                      ? "with checkpoints (runtime.state), a component sending to another "
	                        "node runs one replica per node (exactly-once across nodes numbers "
	                        "its events in order)"
	                      : NULL;
	if (why == NULL)
		return 0;
	acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
	          "binding %s.%s -> %s.%s crosses nodes ('%s' -> '%s'): %s", fs->name, b->from_port,
	          bp->comps[b->to_comp].name, b->to_port,
	          acrt__blueprint_comp_node(bp, b->from_comp),
	          acrt__blueprint_comp_node(bp, b->to_comp), why);
	return -1;
}

/* Lane (from -> to) of binding `name`: the name and the broker key of its
 * stream. A binding between components on one node each has one lane, named
 * as the binding; one to or from a component on several nodes has a lane per
 * pair of nodes, named "NAME[from->to]" (docs/MULTINODE.md, "Scale-out"). */
static void
lane_names(const acrt__blueprint *bp, const char *name, bool spread, size_t from, size_t to,
           char *lname, size_t nlen, char *key, size_t klen)
{
	if (spread)
		snprintf(lname, nlen, "%s[%s->%s]", name, bp->nodes.names[from],
		         bp->nodes.names[to]);
	else
		snprintf(lname, nlen, "%s", name);
	snprintf(key, klen, "acrt:%s:bind:%s", bp->name, lname);
}

/* Opens one side of lane (from -> to) of remote binding b, into
 * rt->transports. NULL after a log. */
static acrt__transport *
open_lane(acrt__runtime *rt, const acrt__binding_spec *b, const char *name, size_t from, size_t to)
{
	const acrt__blueprint *bp = rt->bp;
	const acrt__comp_spec *fs = &bp->comps[b->from_comp], *ts = &bp->comps[b->to_comp];
	uint64_t fm = acrt__blueprint_comp_nodes(bp, b->from_comp);
	uint64_t tm = acrt__blueprint_comp_nodes(bp, b->to_comp);
	bool producer = b->from_comp < bp->n_comps;
	bool spread = (fm & (fm - 1)) != 0 || (tm & (tm - 1)) != 0;
	char lname[400], key[600], err[400];
	lane_names(bp, name, spread, from, to, lname, sizeof lname, key, sizeof key);
	acrt__comp *here = &rt->comps[producer ? b->from_comp : b->to_comp];
	acrt__hop h = {.name = lname,
	               .url = bp->transport.url,
	               .user = bp->transport.user,
	               .password_file = bp->transport.password_file,
	               .token_file = bp->transport.token_file,
	               .creds_file = bp->transport.creds_file,
	               .tls = bp->transport.tls,
	               .tls_ca_file = bp->transport.tls_ca_file,
	               .tls_cert_file = bp->transport.tls_cert_file,
	               .tls_key_file = bp->transport.tls_key_file,
	               .key = key,
	               .group = ts->name,
	               .capacity = b->buffer_size,
	               .producers = fs->replicas > 0 ? (unsigned)fs->replicas : 1,
	               .consumers = ts->replicas > 0 ? (unsigned)ts->replicas : 1,
	               .rx = producer ? NULL : &here->inbox.wq,
	               .stopping = &rt->stopping};
	bool nats = strcmp(bp->transport.kind, "nats") == 0;
	acrt__transport *t = nats ? (producer ? acrt__nats_tx_new(&h, err, sizeof err)
	                                      : acrt__nats_rx_new(&h, err, sizeof err))
	                          : (producer ? acrt__redis_tx_new(&h, err, sizeof err)
	                                      : acrt__redis_rx_new(&h, err, sizeof err));
	if (t == NULL) {
		acrt__log(ACRT_LOG_ERROR, NULL, 0, NULL,
		          "binding %s crosses nodes: cannot open its %s transport: %s", lname,
		          bp->transport.kind, err);
		return NULL;
	}
	rt->transports[rt->n_transports++] = t;
	return t;
}

/* The lanes this node has of remote binding b: one per node of the other end. */
static size_t
lanes_of(const acrt__blueprint *bp, const acrt__binding_spec *b)
{
	bool producer = b->from_comp < bp->n_comps;
	uint64_t other = acrt__blueprint_comp_nodes(bp, producer ? b->to_comp : b->from_comp);
	return (size_t)__builtin_popcountll(other);
}

/* This node's side of remote binding b (nats or redis): the sending side
 * when the producer runs here, else the receiving side; one per lane, and
 * a dealer over the sending sides when the consumer is on several nodes.
 * 0, or -1 after a log. */
static int
wire_remote(acrt__runtime *rt, const acrt__binding_spec *b)
{
	const acrt__blueprint *bp = rt->bp;
	const acrt__comp_spec *fs = &bp->comps[b->from_comp], *ts = &bp->comps[b->to_comp];
	bool producer = b->from_comp < bp->n_comps;
	char name[256];
	snprintf(name, sizeof name, "%s.%s->%s.%s", fs->name, b->from_port, ts->name, b->to_port);
	acrt__comp *here = &rt->comps[producer ? b->from_comp : b->to_comp];
	long p = producer ? port_of(fs->outputs, fs->n_outputs, b->from_port)
	                  : port_of(ts->inputs, ts->n_inputs, b->to_port);
	if (p < 0 || (!producer && !here->has_inbox))
		return -1; /* the validator guarantees this cannot happen */
	size_t self = acrt__blueprint_node_index(bp), n = 0;
	uint64_t other = acrt__blueprint_comp_nodes(bp, producer ? b->to_comp : b->from_comp);
	acrt__transport *lane[64];
	for (size_t k = 0; k < bp->nodes.n; k++) {
		if (!(other & (UINT64_C(1) << k)))
			continue;
		acrt__transport *t =
		    open_lane(rt, b, name, producer ? self : k, producer ? k : self);
		if (t == NULL)
			return -1;
		if (!producer && acrt__inbox_add(&here->inbox, t, (size_t)p) != 0)
			return -1;
		lane[n++] = t;
	}
	if (!producer)
		return 0;
	acrt__transport *t = lane[0];
	if (n > 1) {
		if ((t = acrt__lanes_new(name, lane, n)) == NULL)
			return -1;
		rt->dealers[rt->n_dealers++] = t;
	}
	acrt__outport *o = &here->outs[p];
	acrt__transport **tg = acrt__realloc(o->targets, (o->n_targets + 1) * sizeof *tg);
	if (tg == NULL)
		return -1;
	o->targets = tg;
	o->targets[o->n_targets++] = t;
	return 0;
}

int
acrt__runtime_wire(acrt__runtime *rt, const acrt__blueprint *bp)
{
	char err[512];
	rt->bp = bp;
	size_t n_remote = bp->nodes.n_remote;
	for (size_t i = bp->n_bindings; i < bp->n_bindings + n_remote; i++)
		if (refuse_remote(bp, &bp->bindings[i]) != 0)
			return -1;
	size_t n_lanes = 0;
	for (size_t i = bp->n_bindings; i < bp->n_bindings + n_remote; i++)
		n_lanes += lanes_of(bp, &bp->bindings[i]);
	rt->comps = acrt__calloc(bp->n_comps ? bp->n_comps : 1, sizeof *rt->comps);
	rt->transports = acrt__calloc(bp->n_bindings + n_lanes ? bp->n_bindings + n_lanes : 1,
	                              sizeof *rt->transports);
	rt->dealers = acrt__calloc(n_remote ? n_remote : 1, sizeof *rt->dealers);
	if (rt->comps == NULL || rt->transports == NULL || rt->dealers == NULL)
		goto nomem;

	for (size_t i = 0; i < bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		c->spec = &bp->comps[i];
		c->stuck_after_ns = acrt__stuck_limit_ns(c->spec);
		if (resolve_desc(c, err, sizeof err) != 0) {
			fprintf(stderr, "acrt: %s:%d:%d: component '%s': %s\n", c->spec->mark.file,
			        c->spec->mark.line, c->spec->mark.col, c->spec->name, err);
			return -1;
		}
		c->counters = json_object();
		c->outs =
		    acrt__calloc(c->spec->n_outputs ? c->spec->n_outputs : 1, sizeof *c->outs);
		if (c->counters == NULL || c->outs == NULL)
			goto nomem;
		for (size_t p = 0; p < c->spec->n_outputs; p++)
			c->outs[p].name = c->spec->outputs[p].name;
		if (c->spec->n_inputs > 0) {
			if (acrt__inbox_init(&c->inbox) != 0)
				goto nomem;
			c->has_inbox = true;
		}
		int r = init_instances(rt, c);
		if (r == -2)
			return -1;
		if (r != 0)
			goto nomem;
		if (resolve_batching(c) != 0)
			return -1;
		if (init_batches(c) != 0)
			goto nomem;
	}
	for (size_t i = 0; i < bp->n_bindings; i++)
		if (wire_binding(rt, &bp->bindings[i]) != 0)
			goto nomem;
	for (size_t i = bp->n_bindings; i < bp->n_bindings + n_remote; i++)
		if (wire_remote(rt, &bp->bindings[i]) != 0)
			return -1; /* reported */
	for (size_t i = 0; i < bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; c->has_inbox && r < c->n_inst; r++) {
			if (acrt__inbox_cursor_init(&c->inst[r].cursor, &c->inbox, (unsigned)r) !=
			    0)
				goto nomem;
			c->inst[r].cursor.interrupt = &c->inst[r].pause_req; /* hot reload */
		}
	}
	return 0;
nomem:
	fprintf(stderr, "acrt: out of memory while wiring the system\n");
	return -1;
}

void
acrt__runtime_unwire(acrt__runtime *rt)
{
	for (size_t i = 0; i < rt->n_dealers; i++)
		rt->dealers[i]->ops->destroy(rt->dealers[i]);
	acrt__free(rt->dealers);
	rt->dealers = NULL;
	rt->n_dealers = 0;
	if (rt->comps == NULL) { /* wiring failed at its first allocation */
		acrt__free(rt->transports);
		rt->transports = NULL;
		rt->n_transports = 0;
		return;
	}
	for (size_t i = 0; i < rt->n_transports; i++)
		rt->transports[i]->ops->destroy(rt->transports[i]);
	for (size_t i = 0; i < rt->bp->n_comps; i++) {
		acrt__comp *c = &rt->comps[i];
		for (int r = 0; c->inst != NULL && r < c->n_inst; r++) {
			for (size_t p = 0; c->inst[r].batches != NULL && p < c->spec->n_inputs; p++)
				acrt__free(c->inst[r].batches[p].evs);
			acrt__free(c->inst[r].batches);
			/* events emitted and never sent (a failure or a cancel ended the
			 * instance before its flush): in_flight counted them discarded */
			for (size_t p = 0; c->inst[r].outbox != NULL && p < c->spec->n_outputs; p++)
				for (size_t k = 0; k < c->inst[r].outbox[p].n; k++)
					acrt_event_unref(c->inst[r].outbox[p].evs[k]);
			acrt__free(c->inst[r].outbox);
			acrt__chain_free(c->inst[r].chain);
			acrt__inbox_cursor_free(&c->inst[r].cursor);
			acrt__kv_free(c->inst[r].kv);
			free(c->inst[r].restore_buf);
			acrt__lograte_destroy(&c->inst[r].lograte); /* zeroed if never set up */
		}
		acrt__free(c->inst);
		for (size_t p = 0; c->outs != NULL && p < c->spec->n_outputs; p++)
			acrt__free(c->outs[p].targets);
		acrt__free(c->outs);
		if (c->has_inbox)
			acrt__inbox_destroy(&c->inbox);
		json_decref(c->counters);
		acrt__plugin_close(c->plugin);
	}
	acrt__free(rt->comps);
	acrt__free(rt->transports);
	rt->comps = NULL;
	rt->transports = NULL; /* a reload wires the next generation into rt */
	rt->n_transports = 0;
}
