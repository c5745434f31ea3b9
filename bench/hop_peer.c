/*
 * hop_peer.c - the plain-client peer of the cross-node benchmark rows
 * (bench/hop.py): the same hand-offs as acrt's nats and redis transports,
 * written straight against nats.c and hiredis, with nothing else around them.
 *
 *   hop_peer nats URL STREAM produce FILE   publish FILE's lines, 64 per message,
 *                                           asynchronously (js_PublishAsync), then
 *                                           wait for every acknowledgement
 *                                           (HOP_SYNC=1: js_Publish, one at a time)
 *   hop_peer nats URL STREAM consume N      fetch (256 messages at most) and ack
 *                                           each message until N lines arrived
 *   hop_peer redis HOST:PORT KEY produce FILE  XADD 64 lines per entry, 16 entries
 *                                           per round trip (pipelined)
 *   hop_peer redis HOST:PORT KEY consume N  XREADGROUP COUNT 1024 BLOCK, then
 *                                           XACK + XDEL of what was read
 *
 * Knobs of the nats peer, to measure what each of acrt's choices costs the
 * broker (bench/hop.py passes the environment through; the benchmark's rows
 * set none): HOP_MSGID=1 gives each message a Nats-Msg-Id header (the
 * broker's duplicate map), HOP_EXPECT=1 ExpectLastSeq (the next sequence),
 * HOP_PAD=N adds N bytes to every line (a larger record), HOP_FETCH=N fetches
 * N messages at a time (256), HOP_WINDOW=N waits for the acknowledgements of
 * every N messages before publishing more (unlimited), HOP_PER_MSG=N packs N
 * lines per message (64).
 *
 * The nats stream (work queue, file storage) and the redis group are created by
 * the consumer, which must start first. A line is one event; the consumer only
 * counts them. Exit 0 when all were handed over, 1 on any error.
 */
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_MSG 64
#define PIPE 16

static char **lines;
static size_t *lens, nlines;

static int
load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (nlines == have) {
			have = have ? have * 2 : 4096;
			lines = realloc(lines, have * sizeof *lines);
			lens = realloc(lens, have * sizeof *lens);
			if (lines == NULL || lens == NULL)
				return -1;
		}
		lines[nlines] = malloc((size_t)n);
		if (lines[nlines] == NULL)
			return -1;
		memcpy(lines[nlines], line, (size_t)n);
		lens[nlines++] = (size_t)n;
	}
	free(line);
	fclose(f);
	return 0;
}

static size_t pad; /* HOP_PAD */

/* Lines [i, i + k) into buf (each with pad bytes more); returns the length. */
static size_t
pack(char *buf, size_t i, size_t k)
{
	size_t len = 0;
	for (size_t j = i; j < i + k; j++) {
		memset(buf + len, ' ', pad);
		len += pad;
		memcpy(buf + len, lines[j], lens[j]);
		len += lens[j];
	}
	return len;
}

static long
knob(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v != NULL && *v != '\0' ? atol(v) : dflt;
}

static size_t
count_lines(const char *p, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

static int
nats_main(const char *url, const char *stream, const char *what, const char *arg)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	char subject[128];
	snprintf(subject, sizeof subject, "%s.data", stream);
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK ||
	    natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
		fprintf(stderr, "hop_peer: cannot connect to %s\n", url);
		return 1;
	}
	if (strcmp(what, "produce") == 0) {
		if (load(arg) != 0)
			return 1;
		pad = (size_t)knob("HOP_PAD", 0);
		char *buf = malloc(1 << 20);
		bool async = getenv("HOP_SYNC") == NULL;
		bool msgid = knob("HOP_MSGID", 0) != 0, expect = knob("HOP_EXPECT", 0) != 0;
		uint64_t seq = 0;
		long window = knob("HOP_WINDOW", 0);
		size_t per = (size_t)knob("HOP_PER_MSG", PER_MSG);
		for (size_t i = 0; i < nlines; i += per) {
			size_t k = nlines - i < per ? nlines - i : per;
			size_t len = pack(buf, i, k);
			jsErrCode jerr = 0;
			char id[48];
			jsPubOptions po;
			jsPubOptions_Init(&po);
			if (msgid) {
				snprintf(id, sizeof id, "0123456789abcdef-%zu", i / per);
				po.MsgId = id;
			}
			po.ExpectLastSeq = expect ? seq : 0;
			seq++;
			natsStatus s =
			    async ? js_PublishAsync(js, subject, buf, (int)len, &po)
			          : js_Publish(NULL, js, subject, buf, (int)len, &po, &jerr);
			if (s != NATS_OK) {
				fprintf(stderr, "hop_peer: publish failed (%d)\n", (int)jerr);
				return 1;
			}
			if (async && window > 0 && seq % (uint64_t)window == 0 &&
			    js_PublishAsyncComplete(js, NULL) != NATS_OK)
				return 1;
		}
		if (async && js_PublishAsyncComplete(js, NULL) != NATS_OK)
			return 1;
		free(buf);
	} else {
		long want = atol(arg), got = 0;
		jsStreamConfig sc;
		jsStreamConfig_Init(&sc);
		const char *subs[1] = {subject};
		sc.Name = stream;
		sc.Subjects = subs;
		sc.SubjectsLen = 1;
		sc.Retention = js_WorkQueuePolicy;
		sc.Storage = js_FileStorage;
		int fetch = (int)knob("HOP_FETCH", 256);
		jsErrCode jerr = 0;
		if (js_AddStream(NULL, js, &sc, NULL, &jerr) != NATS_OK) {
			fprintf(stderr, "hop_peer: cannot create the stream (%d)\n", (int)jerr);
			return 1;
		}
		natsSubscription *sub = NULL;
		if (js_PullSubscribe(&sub, js, subject, "peer", NULL, NULL, &jerr) != NATS_OK)
			return 1;
		printf("ready\n");
		fflush(stdout);
		while (got < want) {
			natsMsgList list = {0};
			natsStatus s = natsSubscription_Fetch(&list, sub, fetch, 1000, &jerr);
			if (s == NATS_TIMEOUT)
				continue;
			if (s != NATS_OK)
				return 1;
			for (int i = 0; i < list.Count; i++) {
				got +=
				    (long)count_lines(natsMsg_GetData(list.Msgs[i]),
				                      (size_t)natsMsg_GetDataLength(list.Msgs[i]));
				natsMsg_Ack(list.Msgs[i], NULL);
			}
			natsMsgList_Destroy(&list);
		}
		natsConnection_Flush(nc);
		natsSubscription_Destroy(sub);
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

static int
redis_main(const char *hostport, const char *key, const char *what, const char *arg)
{
	char host[128];
	snprintf(host, sizeof host, "%s", hostport);
	char *colon = strchr(host, ':');
	int port = colon ? atoi(colon + 1) : 6379;
	if (colon)
		*colon = '\0';
	redisContext *c = redisConnect(host, port);
	if (c == NULL || c->err) {
		fprintf(stderr, "hop_peer: cannot connect to %s\n", hostport);
		return 1;
	}
	if (strcmp(what, "produce") == 0) {
		if (load(arg) != 0)
			return 1;
		static char buf[PIPE][1 << 16];
		for (size_t i = 0; i < nlines;) {
			int m = 0;
			for (; m < PIPE && i < nlines; m++) {
				size_t k = nlines - i < PER_MSG ? nlines - i : PER_MSG;
				size_t len = pack(buf[m], i, k);
				redisAppendCommand(c, "XADD %s * e %b", key, buf[m], len);
				i += k;
			}
			for (int j = 0; j < m; j++) {
				void *r = NULL;
				if (redisGetReply(c, &r) != REDIS_OK)
					return 1;
				freeReplyObject(r);
			}
		}
	} else {
		long want = atol(arg), got = 0;
		freeReplyObject(redisCommand(c, "DEL %s", key));
		freeReplyObject(redisCommand(c, "XGROUP CREATE %s g 0 MKSTREAM", key));
		printf("ready\n");
		fflush(stdout);
		while (got < want) {
			redisReply *r =
			    redisCommand(c,
			                 "XREADGROUP GROUP g peer COUNT 1024 BLOCK 1000 "
			                 "STREAMS %s >",
			                 key);
			if (r == NULL)
				return 1;
			if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
				redisReply *es = r->element[0]->element[1];
				const char **argv = malloc((es->elements + 3) * sizeof *argv);
				argv[0] = "XACK";
				argv[1] = key;
				argv[2] = "g";
				for (size_t i = 0; i < es->elements; i++) {
					redisReply *v = es->element[i]->element[1]->element[1];
					got += (long)count_lines(v->str, v->len);
					argv[3 + i] = es->element[i]->element[0]->str;
				}
				redisAppendCommandArgv(c, (int)es->elements + 3, argv, NULL);
				argv[1] = "XDEL";
				argv[2] = key;
				redisAppendCommandArgv(c, (int)es->elements + 2, argv + 1, NULL);
				for (int j = 0; j < 2; j++) {
					void *x = NULL;
					if (redisGetReply(c, &x) != REDIS_OK)
						return 1;
					freeReplyObject(x);
				}
				free(argv);
			}
			freeReplyObject(r);
		}
	}
	redisFree(c);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: hop_peer nats|redis URL STREAM produce FILE | consume N\n");
		return 2;
	}
	if (strcmp(argv[1], "nats") == 0)
		return nats_main(argv[2], argv[3], argv[4], argv[5]);
	return redis_main(argv[2], argv[3], argv[4], argv[5]);
}
