/*
 * zmq_pipeline.c - the baseline for bench/run.sh: the same source -> transform
 * -> sink pipeline as the native acrt benchmark, built from three threads
 * wired by ZeroMQ inproc PUSH/PULL sockets in one context.
 *
 *   source     sends N 8-byte messages holding 0, 1, ..., N-1
 *   transform  receives each one and sends a new message holding the value doubled
 *   sink       receives N messages, counts and sums them
 *
 * Blocking zmq_send/zmq_recv, ZMQ_SNDHWM/ZMQ_RCVHWM 1000 on every socket (the
 * libzmq default, set explicitly). Sockets are created, bound and connected on
 * the main thread and then handed to their threads (thread creation is a full
 * barrier, which is what ZeroMQ asks for when a socket migrates).
 *
 * Usage: bench_zmq_pipeline [N]   (default 20000000)
 * Prints one JSON line: {"n":..,"seconds":..,"events_per_s":..,"sum":..,"ok":true}
 * and exits 0 when the sink saw N events with the expected sum, else 1.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

#define HWM 1000

typedef struct stage {
	void *in;  /* PULL socket or NULL */
	void *out; /* PUSH socket or NULL */
	uint64_t n;
	uint64_t count; /* sink only */
	uint64_t sum;   /* sink only */
	int err;
} stage;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
source_main(void *arg)
{
	stage *st = arg;

	for (uint64_t i = 0; i < st->n; i++) {
		if (zmq_send(st->out, &i, sizeof(i), 0) != (int)sizeof(i)) {
			st->err = 1;
			break;
		}
	}
	return NULL;
}

static void *
transform_main(void *arg)
{
	stage *st = arg;
	uint64_t v;

	for (uint64_t i = 0; i < st->n; i++) {
		if (zmq_recv(st->in, &v, sizeof(v), 0) != (int)sizeof(v)) {
			st->err = 1;
			break;
		}
		v *= 2;
		if (zmq_send(st->out, &v, sizeof(v), 0) != (int)sizeof(v)) {
			st->err = 1;
			break;
		}
	}
	return NULL;
}

static void *
sink_main(void *arg)
{
	stage *st = arg;
	uint64_t v;

	for (uint64_t i = 0; i < st->n; i++) {
		if (zmq_recv(st->in, &v, sizeof(v), 0) != (int)sizeof(v)) {
			st->err = 1;
			break;
		}
		st->count++;
		st->sum += v;
	}
	return NULL;
}

static void *
make_socket(void *zctx, int type)
{
	int hwm = HWM, linger = 0;
	void *s = zmq_socket(zctx, type);

	if (s == NULL)
		return NULL;
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	return s;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ULL;
	void *zctx = zmq_ctx_new();
	stage src = {.n = n}, xf = {.n = n}, snk = {.n = n};
	pthread_t t[3];
	int rc = 1;

	if (zctx == NULL)
		return 1;
	src.out = make_socket(zctx, ZMQ_PUSH);
	xf.in = make_socket(zctx, ZMQ_PULL);
	xf.out = make_socket(zctx, ZMQ_PUSH);
	snk.in = make_socket(zctx, ZMQ_PULL);
	if (!src.out || !xf.in || !xf.out || !snk.in)
		goto out;
	if (zmq_bind(snk.in, "inproc://b") != 0 || zmq_bind(xf.in, "inproc://a") != 0 ||
	    zmq_connect(xf.out, "inproc://b") != 0 || zmq_connect(src.out, "inproc://a") != 0) {
		fprintf(stderr, "zmq bind/connect: %s\n", zmq_strerror(zmq_errno()));
		goto out;
	}

	double t0 = now_s();
	pthread_create(&t[2], NULL, sink_main, &snk);
	pthread_create(&t[1], NULL, transform_main, &xf);
	pthread_create(&t[0], NULL, source_main, &src);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	double dt = now_s() - t0;

	/* sum of 2*i for i < n */
	uint64_t want = n == 0 ? 0 : n * (n - 1);
	int ok = !src.err && !xf.err && !snk.err && snk.count == n && snk.sum == want;
	printf("{\"n\":%" PRIu64 ",\"seconds\":%.6f,\"events_per_s\":%.1f,\"count\":%" PRIu64
	       ",\"sum\":%" PRIu64 ",\"ok\":%s}\n",
	       n, dt, dt > 0 ? (double)n / dt : 0.0, snk.count, snk.sum, ok ? "true" : "false");
	rc = ok ? 0 : 1;
out:
	if (src.out)
		zmq_close(src.out);
	if (xf.in)
		zmq_close(xf.in);
	if (xf.out)
		zmq_close(xf.out);
	if (snk.in)
		zmq_close(snk.in);
	zmq_ctx_term(zctx);
	return rc;
}
