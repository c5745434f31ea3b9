/*
 * wire.c - encodes and decodes the wire record of an event (the format is
 * documented field by field in wire.h and docs/MULTINODE.md). The encoder
 * copies the payload bytes as they are; the decoder builds a sealed event
 * carrying the same id, time, trace and span ids, content type and headers.
 */
#include "transport/wire.h"

#include <stdbool.h>
#include <string.h>

#include "core/common.h"
#include "core/event.h"
#include "core/transport.h"

static const char magic[4] = {'A', 'C', 'R', 'W'};

static void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* A length-prefixed byte string. */
static int
put_bytes(acrt__strbuf *out, const void *s, size_t n)
{
	unsigned char len[4];
	if (n > UINT32_MAX)
		return -1;
	put_u32(len, (uint32_t)n);
	if (acrt__strbuf_add(out, (const char *)len, 4) != 0)
		return -1;
	return n > 0 ? acrt__strbuf_add(out, s, n) : 0;
}

static int
put_fixed(acrt__strbuf *out, int kind, uint64_t id, int64_t time_ns, const uint8_t *trace,
          const uint8_t *span)
{
	unsigned char h[ACRT__WIRE_FIXED] = {0};
	memcpy(h, magic, 4);
	h[4] = ACRT__WIRE_VERSION;
	h[5] = (unsigned char)kind;
	put_u64(h + 8, id);
	put_u64(h + 16, (uint64_t)time_ns);
	if (trace != NULL)
		memcpy(h + 24, trace, 16);
	if (span != NULL)
		memcpy(h + 40, span, 8);
	return acrt__strbuf_add(out, (const char *)h, sizeof h);
}

int
acrt__wire_encode(acrt_event *ev, acrt__strbuf *out)
{
	size_t plen = 0;
	const void *payload = acrt_event_data(ev, &plen);
	if (payload == NULL && plen > 0)
		return -1;
	const char *ct = acrt_event_content_type(ev);
	if (put_fixed(out, ACRT__WIRE_DATA, ev->id, ev->time_ns, ev->trace_id, ev->span_id) != 0 ||
	    put_bytes(out, ct, ct != NULL ? strlen(ct) : 0) != 0)
		return -1;
	unsigned char n[4];
	put_u32(n, ev->n_headers);
	if (acrt__strbuf_add(out, (const char *)n, 4) != 0)
		return -1;
	for (uint32_t i = 0; i < ev->n_headers; i++)
		if (put_bytes(out, ev->headers[i].key, strlen(ev->headers[i].key)) != 0 ||
		    put_bytes(out, ev->headers[i].value, strlen(ev->headers[i].value)) != 0)
			return -1;
	return put_bytes(out, payload, plen);
}

/* A record with the fixed part only (an end marker, a sequence record). */
static int
encode_bare(int kind, uint64_t id, int64_t time_ns, acrt__strbuf *out)
{
	static const unsigned char zero[12] = {0}; /* no type, no headers, no payload */
	if (put_fixed(out, kind, id, time_ns, NULL, NULL) != 0)
		return -1;
	return acrt__strbuf_add(out, (const char *)zero, sizeof zero);
}

int
acrt__wire_encode_eos(uint32_t producer, acrt__strbuf *out)
{
	return encode_bare(ACRT__WIRE_EOS, producer, 0, out);
}

/* Appends a frame whose record is ev's (ev != NULL) or a bare one of kind,
 * id and time, patching its length. */
static int
frame(acrt__strbuf *out, acrt_event *ev, int kind, uint64_t id, int64_t time_ns)
{
	static const char zero[4] = {0};
	size_t at = out->len;
	if (acrt__strbuf_add(out, zero, 4) != 0)
		return -1;
	int rc = ev == NULL ? encode_bare(kind, id, time_ns, out) : acrt__wire_encode(ev, out);
	if (rc != 0 || out->oom || out->len - at - 4 > UINT32_MAX)
		return -1;
	put_u32((unsigned char *)out->p + at, (uint32_t)(out->len - at - 4));
	return 0;
}

int
acrt__wire_frame(acrt_event *ev, acrt__strbuf *out)
{
	return frame(out, ev, ACRT__WIRE_DATA, 0, 0);
}

int
acrt__wire_frame_eos(uint32_t producer, acrt__strbuf *out)
{
	return frame(out, NULL, ACRT__WIRE_EOS, producer, 0);
}

int
acrt__wire_frame_seq(uint64_t epoch, uint64_t first, acrt__strbuf *out)
{
	return frame(out, NULL, ACRT__WIRE_SEQ, first, (int64_t)epoch);
}

void
acrt__wire_seq(const void *rec, uint64_t *epoch, uint64_t *first)
{
	const unsigned char *p = rec;
	*first = get_u64(p + 8);
	*epoch = get_u64(p + 16);
}

void
acrt__wire_hop_put(unsigned char *out, int side, uint64_t epoch, uint64_t seq)
{
	out[0] = 1;
	out[1] = (unsigned char)side;
	put_u64(out + 2, epoch);
	put_u64(out + 10, seq);
}

int
acrt__wire_hop_get(const unsigned char *p, size_t n, int side, uint64_t *epoch, uint64_t *seq)
{
	if (n != ACRT__HOP_PART || p[0] != 1 || p[1] != side)
		return -1;
	*epoch = get_u64(p + 2);
	*seq = get_u64(p + 10);
	return 0;
}

int
acrt__wire_next(const void *msg, size_t len, size_t *off, const void **rec, size_t *rlen)
{
	const unsigned char *p = msg;
	if (*off == len)
		return 0;
	if (*off > len || len - *off < 4)
		return -1;
	uint32_t n = get_u32(p + *off);
	if (n > len - *off - 4)
		return -1;
	*rec = p + *off + 4;
	*rlen = n;
	*off += 4 + (size_t)n;
	return 1;
}

/* A reading position over one record. */
typedef struct rd {
	const unsigned char *p;
	size_t left;
} rd;

/* A length-prefixed string: *s points into the record, *n its length. */
static bool
get_bytes(rd *r, const unsigned char **s, uint32_t *n)
{
	if (r->left < 4)
		return false;
	*n = get_u32(r->p);
	r->p += 4;
	r->left -= 4;
	if (*n > r->left)
		return false;
	*s = r->p;
	r->p += *n;
	r->left -= *n;
	return true;
}

/* A NUL-terminated copy (acrt__malloc) of a string that must hold no NUL. */
static char *
dup_text(const unsigned char *s, uint32_t n, bool *bad)
{
	if (memchr(s, '\0', n) != NULL) {
		*bad = true;
		return NULL;
	}
	char *d = acrt__malloc((size_t)n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Decodes the headers of r into ev. 0, -1 malformed, -2 out of memory. */
static int
get_headers(rd *r, acrt_event *ev, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *k, *v;
		uint32_t kn, vn;
		if (!get_bytes(r, &k, &kn) || !get_bytes(r, &v, &vn))
			return -1;
		bool bad = false;
		char *ks = dup_text(k, kn, &bad), *vs = bad ? NULL : dup_text(v, vn, &bad);
		int rc = bad ? -1 : (ks == NULL || vs == NULL) ? -2 : 0;
		if (rc == 0 && acrt_event_set_header(ev, ks, vs) != ACRT_OK)
			rc = -2;
		acrt__free(ks);
		acrt__free(vs);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
acrt__wire_decode(const void *rec, size_t len, int *kind, acrt_event **out, uint32_t *producer,
                  const char **why)
{
	rd r = {.p = rec, .left = len};
	if (len < ACRT__WIRE_FIXED + 12 || memcmp(r.p, magic, 4) != 0) {
		*why = "not an acrt wire record";
		return -1;
	}
	if (r.p[4] != ACRT__WIRE_VERSION || r.p[6] != 0 || r.p[7] != 0) {
		*why = "an unknown wire version or flags";
		return -1;
	}
	int k = r.p[5];
	uint64_t id = get_u64(r.p + 8);
	int64_t time_ns = (int64_t)get_u64(r.p + 16);
	const unsigned char *fixed = r.p;
	r.p += ACRT__WIRE_FIXED;
	r.left -= ACRT__WIRE_FIXED;
	const unsigned char *ct, *payload, *hp;
	uint32_t ctn, hn, pn;
	if (!get_bytes(&r, &ct, &ctn) || r.left < 4) {
		*why = "a truncated record";
		return -1;
	}
	hn = get_u32(r.p);
	r.p += 4;
	r.left -= 4;
	hp = r.p;
	if (k == ACRT__WIRE_EOS || k == ACRT__WIRE_SEQ) {
		if (ctn != 0 || hn != 0 || r.left != 4 || get_u32(r.p) != 0 ||
		    (k == ACRT__WIRE_EOS && id > UINT32_MAX)) {
			*why = k == ACRT__WIRE_EOS ? "a malformed end-of-stream marker"
			                           : "a malformed sequence record";
			return -1;
		}
		*kind = k;
		*producer = k == ACRT__WIRE_EOS ? (uint32_t)id : 0;
		*out = NULL;
		return 0;
	}
	if (k != ACRT__WIRE_DATA) {
		*why = "an unknown record kind";
		return -1;
	}
	/* Skip the headers to find the payload, then build the event. */
	for (uint32_t i = 0; i < hn; i++) {
		const unsigned char *s;
		uint32_t n;
		if (!get_bytes(&r, &s, &n) || !get_bytes(&r, &s, &n)) {
			*why = "a truncated header";
			return -1;
		}
	}
	if (!get_bytes(&r, &payload, &pn) || r.left != 0) {
		*why = "a truncated payload or trailing bytes";
		return -1;
	}
	bool bad = false;
	char *ctype = ctn > 0 ? dup_text(ct, ctn, &bad) : NULL;
	if (bad || (ctn > 0 && ctype == NULL)) {
		*why = bad ? "a NUL in the content type" : "out of memory";
		return bad ? -1 : -2;
	}
	acrt_event *ev = acrt__event_new_bytes(NULL, payload, pn, ctype);
	acrt__free(ctype);
	if (ev == NULL) {
		*why = "out of memory";
		return -2;
	}
	ev->id = id;
	ev->time_ns = time_ns;
	memcpy(ev->trace_id, fixed + 24, 16);
	memcpy(ev->span_id, fixed + 40, 8);
	rd h = {.p = hp, .left = (size_t)(payload - 4 - hp)};
	int rc = get_headers(&h, ev, hn);
	if (rc != 0) {
		*why = rc == -1 ? "a NUL in a header" : "out of memory";
		acrt_event_unref(ev);
		return rc;
	}
	acrt__event_seal(ev);
	*kind = k;
	*out = ev;
	return 0;
}
