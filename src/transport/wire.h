/*
 * wire.h - the one wire encoding of an event between nodes (docs/MULTINODE.md,
 * "The wire encoding"). Every network transport carries each event as one
 * opaque, binary-safe record in this format; the broker sees bytes only.
 *
 * Version 2, integers little-endian, no padding, no alignment:
 *
 *   offset  size  field
 *   0       4     magic "ACRW"
 *   4       1     version: 2
 *   5       1     kind: 0 data event, 1 end-of-stream marker, 2 sequence
 *                 record
 *   6       1     flags: which fields follow (a reader refuses bits it does
 *                 not know, and on a marker or sequence record any but ID
 *                 and TIME):
 *                   0x01 ID, 0x02 TIME, 0x04 TRACE, 0x20 HEADERS,
 *                   0x18 the content type's code: 0 application/octet-stream
 *                   (what an event without one reports), 1 application/json,
 *                   2 text/plain, 3 another, written out below
 *   7       ..    then, in this order, each only when its flag is set:
 *           v     ID: event id (varint); an end marker's producer instance
 *                 index; a sequence record's first sequence
 *           8     TIME: event time, ns since the Unix epoch (i64); a
 *                 sequence record's epoch (u64)
 *           24    TRACE: trace id (16 bytes), span id (8 bytes)
 *           v+C   content type code 3: length C (varint, > 0), C bytes
 *           v+..  HEADERS: count H (varint, > 0), then H times: key length
 *                 K (varint), K bytes, value length V (varint), V bytes
 *           v+P   a data record only: payload length P (varint), then P
 *                 bytes, exactly as the event holds them (the exact JSON
 *                 text is kept: never re-serialised)
 *   end           nothing follows: trailing bytes are an error
 *
 * A field that is absent reads as zero (id, time, trace context), so the
 * encoder leaves out what is zero and every value round-trips. A varint is
 * LEB128: 7 bits a byte, low first, the high bit set on every byte but the
 * last (at most 10 bytes; lengths and counts at most 32 bits). A data event
 * costs 7 bytes, its id (1 to 10), time (8), trace context (24) and payload
 * length (1 to 5) over its payload: about 45 bytes, where version 1 took 80.
 *
 * Version 1 (earlier builds; still read, never written): magic, version 1,
 * kind, flags (u16, 0), id (u64), time (i64), trace id (16), span id (8), then
 * content type, header count (u32) with each key and value, and payload, each
 * length a u32.
 *
 * Framing: a message of a transport (a Redis stream entry's field "e", a
 * NATS message) holds one or more records, each preceded by its length (u32,
 * little-endian): the sending side packs up to 64 events per message, so the
 * broker handles one entry per 64 events. An end-of-stream marker travels
 * alone in its message.
 *
 * A sequence record (kind 2) opens a message of data events: its ID is the
 * sequence number of the message's first event (the next ones count up by
 * one), its TIME the sending side's epoch, and nothing else. The receiving
 * side drops an event whose (epoch, sequence) it has already handed out: a
 * resend after a lost answer, or the replay of a producing node resumed from
 * a checkpoint (docs/MULTINODE.md, "Exactly-once across nodes").
 *
 * Keys, values and the content type hold no NUL (the event API forbids them);
 * the payload may hold any byte. A reader refuses another magic or version,
 * an unknown kind or flag, a truncated record, lengths past the record,
 * trailing bytes, and a NUL in a key, a value or the content type.
 *
 * Threads: pure functions, any thread. Nothing blocks.
 */
#ifndef ACRT_WIRE_H
#define ACRT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "core/strbuf.h"

#define ACRT__WIRE_VERSION 2 /* written; version 1 is still read */

/* Version 2 flags (above). */
#define ACRT__WIRE_F_ID 0x01u
#define ACRT__WIRE_F_TIME 0x02u
#define ACRT__WIRE_F_TRACE 0x04u
#define ACRT__WIRE_CT_MASK 0x18u
#define ACRT__WIRE_CT_SHIFT 3
#define ACRT__WIRE_CT_OTHER 3u
#define ACRT__WIRE_F_HEADERS 0x20u
#define ACRT__WIRE_F_ALL 0x3fu

enum { ACRT__WIRE_DATA = 0, ACRT__WIRE_EOS = 1, ACRT__WIRE_SEQ = 2 };

/* Appends the record of data event ev to out (ev is only read; its JSON is
 * serialised if it has no bytes yet). 0, or -1 when out of memory. */
int acrt__wire_encode(acrt_event *ev, acrt__strbuf *out);

/* Appends an end-of-stream marker of producer instance `producer`. 0 or -1. */
int acrt__wire_encode_eos(uint32_t producer, acrt__strbuf *out);

/* Appends a frame: ev's record preceded by its u32 length. 0 or -1. */
int acrt__wire_frame(acrt_event *ev, acrt__strbuf *out);
/* Appends the frame of an end marker of instance `producer`. 0 or -1. */
int acrt__wire_frame_eos(uint32_t producer, acrt__strbuf *out);
/* Appends the frame of a sequence record: the message's first event has
 * sequence `first` of the sending side's `epoch`. 0 or -1. */
int acrt__wire_frame_seq(uint64_t epoch, uint64_t first, acrt__strbuf *out);
/* The epoch and first sequence of rec[0..len), a record acrt__wire_decode
 * found to be a sequence record (0 and 0 otherwise). */
void acrt__wire_seq(const void *rec, size_t len, uint64_t *epoch, uint64_t *first);

/* A network transport's part of a checkpoint (ACRT__HOP_PART bytes,
 * transport.h): version 1, the side (1 sending, 2 receiving), the epoch and
 * the sequence (u64 each). acrt__wire_hop_get: 0, or -1 when malformed or of
 * the other side. */
void acrt__wire_hop_put(unsigned char *out, int side, uint64_t epoch, uint64_t seq);
int acrt__wire_hop_get(const unsigned char *p, size_t n, int side, uint64_t *epoch, uint64_t *seq);

/* The next frame of msg[0..len) at *off: its record in *rec, *rlen; advances
 * *off. 1, 0 at the end, -1 when the framing is broken. */
int acrt__wire_next(const void *msg, size_t len, size_t *off, const void **rec, size_t *rlen);

/* Decodes one record. For a data record: *kind = DATA and *out is a new sealed
 * event (the caller's reference). For an end marker: *kind = EOS, *producer set
 * and *out NULL. Returns 0, -1 when the record is malformed (*why says how),
 * -2 when out of memory. Nothing is written to the out-parameters on failure. */
int acrt__wire_decode(const void *rec, size_t len, int *kind, acrt_event **out, uint32_t *producer,
                      const char **why);

#endif /* ACRT_WIRE_H */
