/*
 * fuzz_http.c - libFuzzer target for the HTTP request handling acrt owns: the
 * APIEndpoint component (src/components/apiendpoint*.c: routes, methods,
 * bearer auth, body limits, JSON and schema checks) and the runtime's HTTP API
 * (src/observe/api.c: routes, read/write tokens, body refusals), both behind
 * libmicrohttpd as in `acrt run`.
 *
 * Once per process a small system (HTTP_ARCH, HTTP_DEPLOY) runs on a thread
 * of its own, in a temporary directory, on two free loopback ports. Each
 * input is one connection: its first byte picks the server (even: the
 * APIEndpoint, odd: the API), the rest is sent as raw bytes; then the
 * harness reads the answer (at most HTTP_WAIT_MS) and closes. The known
 * tokens (fuzz-ep-token, fuzz-read-token, fuzz-write-token) are in the seeds.
 * A server that stops accepting connections is a finding. docs/FUZZING.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "blueprint/blueprint.h"
#include "capability/chain.h"
#include "components/registry.h"
#include "core/log.h"
#include "fuzz_common.h"
#include "observe/services.h"
#include "runtime/runtime.h"

#define HTTP_WAIT_MS 300 /* the longest wait for an answer (a tap stream, a stalled request) */

#define HTTP_ARCH                                                                                  \
	"schema_version: \"1.0.0\"\n"                                                              \
	"schemas:\n"                                                                               \
	"  reading:\n"                                                                             \
	"    type: object\n"                                                                       \
	"    required: [id]\n"                                                                     \
	"    properties:\n"                                                                        \
	"      id: {type: string, pattern: \"^r[0-9]+$\"}\n"                                       \
	"      seq: {type: integer, maximum: 100}\n"                                               \
	"      tags: {type: array, items: {type: string}, maxItems: 3}\n"                          \
	"system:\n"                                                                                \
	"  name: fuzzhttp\n"                                                                       \
	"  components:\n"                                                                          \
	"    - name: http\n"                                                                       \
	"      type: APIEndpoint\n"                                                                \
	"      config:\n"                                                                          \
	"        listen: \"127.0.0.1:%d\"\n"                                                       \
	"        routes: [{path: /in}, {path: /in, method: PUT}, {path: /p, method: PATCH}]\n"     \
	"        auth: {token_file: ep.token}\n"                                                   \
	"        max_body_bytes: 2048\n"                                                           \
	"      outputs: [{name: output, schema: reading}]\n"                                       \
	"    - name: out\n"                                                                        \
	"      type: Sink\n"                                                                       \
	"      config: {sink: \"null\"}\n"                                                         \
	"  bindings:\n"                                                                            \
	"    - {from: http.output, to: out.input}\n"
#define HTTP_DEPLOY                                                                                \
	"schema_version: \"1.0.0\"\n"                                                              \
	"system_name: fuzzhttp\n"                                                                  \
	"runtime:\n"                                                                               \
	"  api:\n"                                                                                 \
	"    listen: \"127.0.0.1:%d\"\n"                                                           \
	"    auth: {read_token_file: read.token, write_token_file: write.token}\n"                 \
	"  logging: {level: error}\n"

static int ports[2]; /* the APIEndpoint's, the API's */
static acrt__blueprint *bp;
static acrt__run_opts opts;
static acrt__observe obs;

/* A port nobody listens on now (the kernel's choice). */
static int
free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &n) != 0)
		abort();
	close(s);
	return ntohs(a.sin_port);
}

static int
dial(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0)
		return s;
	if (s >= 0)
		close(s);
	return -1;
}

static void *
run_system(void *arg)
{
	(void)arg;
	int rc = acrt__runtime_run(bp, &opts);
	fprintf(stderr, "fuzz_http: the system ended (exit %d)\n", rc);
	return NULL;
}

static void
write_text(int slot, const char *name, const char *fmt, int port)
{
	char buf[4096];
	int n = snprintf(buf, sizeof buf, fmt, port);
	fuzz_write(slot, name, buf, (size_t)n);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	acrt__components_register();
	acrt__caps_register();
	ports[0] = free_port();
	do
		ports[1] = free_port();
	while (ports[1] == ports[0]);
	write_text(0, "architecture.yaml", HTTP_ARCH, ports[0]);
	write_text(1, "deployment.yaml", HTTP_DEPLOY, ports[1]);
	fuzz_write(2, "ep.token", "fuzz-ep-token\n", 14);
	fuzz_write(2, "read.token", "fuzz-read-token\n", 16);
	fuzz_write(2, "write.token", "fuzz-write-token\n", 17);
	static char ap[256], dp[256];
	snprintf(ap, sizeof ap, "%s/architecture.yaml", fuzz_dir());
	snprintf(dp, sizeof dp, "%s/deployment.yaml", fuzz_dir());
	acrt__diag diag = {0};
	if (acrt__blueprint_load(ap, dp, &bp, &diag) != 0) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		abort();
	}
	acrt__log_config(bp->log_level, bp->log_format);
	opts.quiet = true;
	opts.path = ap;
	opts.deployment = dp;
	acrt__observe_init(&obs, &opts, false);
	pthread_t t;
	if (pthread_create(&t, NULL, run_system, NULL) != 0)
		abort();
	pthread_detach(t);
	/* Up when both ports accept. */
	for (int i = 0; i < 2; i++) {
		int s = -1;
		for (int tries = 0; s < 0 && tries < 200; tries++) {
			s = dial(ports[i]);
			if (s < 0)
				usleep(50 * 1000);
		}
		if (s < 0) {
			fprintf(stderr, "fuzz_http: nothing listens on port %d\n", ports[i]);
			abort();
		}
		close(s);
	}
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int port = ports[data[0] & 1];
	int s = dial(port);
	FUZZ_ASSERT(s >= 0); /* the server still accepts connections */
	size_t off = 1;
	while (off < size) {
		ssize_t n = send(s, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server closed early: fine */
		off += (size_t)n;
	}
	/* The answer: until the server closes, or HTTP_WAIT_MS, or 20 ms
	 * without more bytes once some came (a kept-alive connection). When
	 * nothing came within 30 ms the request is taken as incomplete and our
	 * side is shut, so that the server closes it at once (shut at once,
	 * libmicrohttpd would often close a complete request unanswered). */
	char buf[4096];
	size_t got = 0;
	bool shut = false;
	int64_t start = now_ms(), end = start + HTTP_WAIT_MS;
	for (;;) {
		int64_t now = now_ms(), left = end - now;
		if (left <= 0)
			break;
		int wait = got > 0 ? 20 : shut ? (int)left : (int)(start + 30 - now);
		if (!shut && got == 0 && wait <= 0) {
			shutdown(s, SHUT_WR);
			shut = true;
			continue;
		}
		struct pollfd p = {.fd = s, .events = POLLIN};
		int r = poll(&p, 1, wait < (int)left ? wait : (int)left);
		if (r < 0)
			break;
		if (r == 0) {
			if (got > 0)
				break;
			continue;
		}
		ssize_t n = recv(s, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(s);
	return 0;
}
