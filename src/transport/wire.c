/*
 * wire.c - encodes and decodes the wire record of an event (the format is
 * documented field by field in wire.h and docs/MULTINODE.md). The encoder
 * writes version 2 (a flags byte says which fields are present, lengths are
 * varints) and copies the payload bytes as they are; the decoder reads
 * versions 2 and 1 into one set of fields and builds a sealed event carrying
 * the same id, time, trace and span ids, content type and headers.
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

/* Appends v as a LEB128 varint (7 bits a byte, low first). 0 or -1. */
/* Writes v as a LEB128 varint at p; returns its length (1 to 10). */
static size_t
varint_at(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			p[n] |= 0x80;
		n++;
	} while (v != 0);
	return n;
}

static int
put_varint(acrt__strbuf *out, uint64_t v)
{
	unsigned char b[10];
	return acrt__strbuf_add(out, (const char *)b, varint_at(b, v));
}

/* A varint-length-prefixed byte string. */
static int
put_vbytes(acrt__strbuf *out, const void *s, size_t n)
{
	if (n > UINT32_MAX || put_varint(out, n) != 0)
		return -1;
	return n > 0 ? acrt__strbuf_add(out, s, n) : 0;
}

/* The content types with a code of their own (flags bits 3-4); code 0 is
 * application/octet-stream, what an event without one reports. */
static const char *const ct_known[] = {"application/octet-stream", "application/json",
                                       "text/plain"};

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* The opening of a version-2 record: magic, version, kind, flags. */
static int
put_head(acrt__strbuf *out, int kind, unsigned flags)
{
	unsigned char h[7];
	memcpy(h, magic, 4);
	h[4] = ACRT__WIRE_VERSION;
	h[5] = (unsigned char)kind;
	h[6] = (unsigned char)flags;
	return acrt__strbuf_add(out, (const char *)h, sizeof h);
}

int
acrt__wire_encode(acrt_event *ev, acrt__strbuf *out)
{
	size_t plen = 0;
	const void *payload = acrt_event_data(ev, &plen);
	if ((payload == NULL && plen > 0) || plen > UINT32_MAX)
		return -1;
	const char *ct = acrt_event_content_type(ev);
	unsigned flags = 0, code = ACRT__WIRE_CT_OTHER;
	for (unsigned i = 0; ct != NULL && i < ACRT__ARRAY_LEN(ct_known); i++)
		if (ct == ct_known[i] || strcmp(ct, ct_known[i]) == 0)
			code = i;
	if (ct == NULL)
		code = 0;
	bool trace = !all_zero(ev->trace_id, 16) || !all_zero(ev->span_id, 8);
	flags |= ev->id != 0 ? ACRT__WIRE_F_ID : 0;
	flags |= ev->time_ns != 0 ? ACRT__WIRE_F_TIME : 0;
	flags |= trace ? ACRT__WIRE_F_TRACE : 0;
	flags |= code << ACRT__WIRE_CT_SHIFT;
	flags |= ev->n_headers > 0 ? ACRT__WIRE_F_HEADERS : 0;
	/* The fixed fields in one append (and the payload length with them when
	 * nothing of variable length comes between): a JSON event is two. */
	unsigned char h[7 + 10 + 8 + 24 + 5];
	size_t n = 7;
	memcpy(h, magic, 4);
	h[4] = ACRT__WIRE_VERSION;
	h[5] = ACRT__WIRE_DATA;
	h[6] = (unsigned char)flags;
	if (flags & ACRT__WIRE_F_ID)
		n += varint_at(h + n, ev->id);
	if (flags & ACRT__WIRE_F_TIME) {
		put_u64(h + n, (uint64_t)ev->time_ns);
		n += 8;
	}
	if (trace) {
		memcpy(h + n, ev->trace_id, 16);
		memcpy(h + n + 16, ev->span_id, 8);
		n += 24;
	}
	bool plain = code != ACRT__WIRE_CT_OTHER && ev->n_headers == 0;
	if (plain)
		n += varint_at(h + n, plen);
	if (acrt__strbuf_add(out, (const char *)h, n) != 0)
		return -1;
	if (!plain) {
		if ((code == ACRT__WIRE_CT_OTHER && put_vbytes(out, ct, strlen(ct)) != 0) ||
		    (ev->n_headers > 0 && put_varint(out, ev->n_headers) != 0))
			return -1;
		for (uint32_t i = 0; i < ev->n_headers; i++)
			if (put_vbytes(out, ev->headers[i].key, strlen(ev->headers[i].key)) != 0 ||
			    put_vbytes(out, ev->headers[i].value, strlen(ev->headers[i].value)) !=
			        0)
				return -1;
		if (put_varint(out, plen) != 0)
			return -1;
	}
	return plen > 0 ? acrt__strbuf_add(out, payload, plen) : 0;
}

/* A record of an id and a time only (an end marker, a sequence record). */
static int
encode_bare(int kind, uint64_t id, int64_t time_ns, acrt__strbuf *out)
{
	unsigned flags = (id != 0 ? ACRT__WIRE_F_ID : 0) | (time_ns != 0 ? ACRT__WIRE_F_TIME : 0);
	unsigned char t[8];
	put_u64(t, (uint64_t)time_ns);
	if (put_head(out, kind, flags) != 0 ||
	    ((flags & ACRT__WIRE_F_ID) && put_varint(out, id) != 0) ||
	    ((flags & ACRT__WIRE_F_TIME) && acrt__strbuf_add(out, (const char *)t, 8) != 0))
		return -1;
	return 0;
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

static bool
get_raw(rd *r, const unsigned char **s, size_t n)
{
	if (r->left < n)
		return false;
	*s = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

/* A u32 length (version 1) or a varint (version 2): at most 32 bits. */
static bool
get_len(rd *r, int version, uint32_t *n)
{
	const unsigned char *b;
	if (version == 1) {
		if (!get_raw(r, &b, 4))
			return false;
		*n = get_u32(b);
		return true;
	}
	uint64_t v = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		if (!get_raw(r, &b, 1))
			return false;
		v |= (uint64_t)(*b & 0x7f) << shift;
		if ((*b & 0x80) == 0)
			break;
		if (shift == 28)
			return false; /* a sixth byte */
	}
	if (v > UINT32_MAX)
		return false;
	*n = (uint32_t)v;
	return true;
}

/* A varint of up to 64 bits; false when truncated or too long. */
static bool
get_varint(rd *r, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		const unsigned char *b;
		if (!get_raw(r, &b, 1) || (shift == 63 && (*b & 0x7e) != 0))
			return false;
		v |= (uint64_t)(*b & 0x7f) << shift;
		if ((*b & 0x80) == 0) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* A length-prefixed string: *s points into the record, *n its length. */
static bool
get_bytes(rd *r, int version, const unsigned char **s, uint32_t *n)
{
	return get_len(r, version, n) && get_raw(r, s, *n);
}

/* What a record holds, pointing into it (either version). */
typedef struct fields {
	int version, kind;
	uint64_t id;
	int64_t time_ns;
	const unsigned char *trace; /* 24 bytes: trace id, span id; NULL: zeros */
	const unsigned char *ct;    /* NULL: none (or ct_code's) */
	uint32_t ctn;
	const char *ct_code;     /* version 2: a known type */
	const unsigned char *hp; /* the headers */
	uint32_t hn;
	size_t hlen;
	const unsigned char *payload;
	uint32_t pn;
} fields;

/* Version 1: the fixed part, content type, headers, payload. */
static int
parse_v1(rd *r, fields *f, const char **why)
{
	const unsigned char *fixed;
	if (!get_raw(r, &fixed, 48)) {
		*why = "a truncated record";
		return -1;
	}
	if (fixed[6] != 0 || fixed[7] != 0) {
		*why = "unknown wire flags";
		return -1;
	}
	f->id = get_u64(fixed + 8);
	f->time_ns = (int64_t)get_u64(fixed + 16);
	f->trace = fixed + 24;
	if (!get_bytes(r, 1, &f->ct, &f->ctn) || !get_len(r, 1, &f->hn)) {
		*why = "a truncated record";
		return -1;
	}
	if (f->ctn == 0)
		f->ct = NULL;
	f->hp = r->p;
	return 0;
}

/* Version 2: flags say which fields follow (wire.h). */
static int
parse_v2(rd *r, fields *f, const char **why)
{
	const unsigned char *b;
	if (!get_raw(r, &b, 7)) {
		*why = "a truncated record";
		return -1;
	}
	unsigned flags = b[6];
	bool data = f->kind == ACRT__WIRE_DATA;
	unsigned allowed = data ? ACRT__WIRE_F_ALL : ACRT__WIRE_F_ID | ACRT__WIRE_F_TIME;
	if ((flags & ~allowed) != 0) {
		*why = data ? "unknown wire flags" : "a malformed end-of-stream or sequence record";
		return -1;
	}
	if ((flags & ACRT__WIRE_F_ID) && !get_varint(r, &f->id))
		goto truncated;
	if (flags & ACRT__WIRE_F_TIME) {
		if (!get_raw(r, &b, 8))
			goto truncated;
		f->time_ns = (int64_t)get_u64(b);
	}
	if ((flags & ACRT__WIRE_F_TRACE) && !get_raw(r, &f->trace, 24))
		goto truncated;
	unsigned code = (flags & ACRT__WIRE_CT_MASK) >> ACRT__WIRE_CT_SHIFT;
	if (code == ACRT__WIRE_CT_OTHER) {
		if (!get_bytes(r, 2, &f->ct, &f->ctn))
			goto truncated;
		if (f->ctn == 0) {
			*why = "an empty content type";
			return -1;
		}
	} else if (code > 0) {
		f->ct_code = ct_known[code];
	}
	if ((flags & ACRT__WIRE_F_HEADERS) && (!get_len(r, 2, &f->hn) || f->hn == 0))
		goto truncated;
	f->hp = r->p;
	return 0;
truncated:
	*why = "a truncated record";
	return -1;
}

/* Parses a record of either version into f. 0, or -1 (*why). */
static int
parse(const void *rec, size_t len, fields *f, const char **why)
{
	rd r = {.p = rec, .left = len};
	memset(f, 0, sizeof *f);
	if (len < 6 || memcmp(r.p, magic, 4) != 0) {
		*why = "not an acrt wire record";
		return -1;
	}
	f->version = r.p[4];
	f->kind = r.p[5];
	if (f->version != 1 && f->version != ACRT__WIRE_VERSION) {
		*why = "an unknown wire version";
		return -1;
	}
	if (f->kind != ACRT__WIRE_DATA && f->kind != ACRT__WIRE_EOS && f->kind != ACRT__WIRE_SEQ) {
		*why = "an unknown record kind";
		return -1;
	}
	int rc = f->version == 1 ? parse_v1(&r, f, why) : parse_v2(&r, f, why);
	if (rc != 0)
		return -1;
	if (f->kind != ACRT__WIRE_DATA) { /* v1 keeps empty fields and a payload length */
		const unsigned char *z;
		bool ok = f->ct == NULL && f->hn == 0 &&
		          (f->version != 1 || (get_raw(&r, &z, 4) && get_u32(z) == 0)) &&
		          r.left == 0 && (f->kind != ACRT__WIRE_EOS || f->id <= UINT32_MAX);
		if (!ok) {
			*why = f->kind == ACRT__WIRE_EOS ? "a malformed end-of-stream marker"
			                                 : "a malformed sequence record";
			return -1;
		}
		return 0;
	}
	/* Skip the headers to find the payload. */
	for (uint32_t i = 0; i < f->hn; i++) {
		const unsigned char *s;
		uint32_t n;
		if (!get_bytes(&r, f->version, &s, &n) || !get_bytes(&r, f->version, &s, &n)) {
			*why = "a truncated header";
			return -1;
		}
	}
	f->hlen = (size_t)(r.p - f->hp);
	if (!get_bytes(&r, f->version, &f->payload, &f->pn) || r.left != 0) {
		*why = "a truncated payload or trailing bytes";
		return -1;
	}
	return 0;
}

void
acrt__wire_seq(const void *rec, size_t len, uint64_t *epoch, uint64_t *first)
{
	fields f;
	const char *why = NULL;
	if (parse(rec, len, &f, &why) != 0 || f.kind != ACRT__WIRE_SEQ) {
		*epoch = *first = 0;
		return;
	}
	*first = f.id;
	*epoch = (uint64_t)f.time_ns;
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

/* Decodes the headers of f into ev. 0, -1 malformed, -2 out of memory. */
static int
get_headers(const fields *f, acrt_event *ev)
{
	rd r = {.p = f->hp, .left = f->hlen};
	for (uint32_t i = 0; i < f->hn; i++) {
		const unsigned char *k, *v;
		uint32_t kn, vn;
		if (!get_bytes(&r, f->version, &k, &kn) || !get_bytes(&r, f->version, &v, &vn))
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
	fields f;
	if (parse(rec, len, &f, why) != 0)
		return -1;
	if (f.kind != ACRT__WIRE_DATA) {
		*kind = f.kind;
		*producer = f.kind == ACRT__WIRE_EOS ? (uint32_t)f.id : 0;
		*out = NULL;
		return 0;
	}
	bool bad = false;
	char *ctype = f.ct != NULL ? dup_text(f.ct, f.ctn, &bad) : NULL;
	if (bad || (f.ct != NULL && ctype == NULL)) {
		*why = bad ? "a NUL in the content type" : "out of memory";
		return bad ? -1 : -2;
	}
	acrt_event *ev =
	    acrt__event_new_bytes(NULL, f.payload, f.pn, ctype != NULL ? ctype : f.ct_code);
	acrt__free(ctype);
	if (ev == NULL) {
		*why = "out of memory";
		return -2;
	}
	ev->id = f.id;
	ev->time_ns = f.time_ns;
	if (f.trace != NULL) {
		memcpy(ev->trace_id, f.trace, 16);
		memcpy(ev->span_id, f.trace + 16, 8);
	} else {
		memset(ev->trace_id, 0, 16);
		memset(ev->span_id, 0, 8);
	}
	int rc = get_headers(&f, ev);
	if (rc != 0) {
		*why = rc == -1 ? "a NUL in a header" : "out of memory";
		acrt_event_unref(ev);
		return rc;
	}
	acrt__event_seal(ev);
	*kind = f.kind;
	*out = ev;
	return 0;
}
