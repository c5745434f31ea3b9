/*
 * wire.h - the one wire encoding of an event between nodes (docs/MULTINODE.md,
 * "The wire encoding"). Every network transport carries each event as one
 * opaque, binary-safe record in this format; the broker sees bytes only.
 *
 * Version 1, all integers little-endian, no padding, no alignment:
 *
 *   offset  size  field
 *   0       4     magic "ACRW"
 *   4       1     version: 1
 *   5       1     kind: 0 data event, 1 end-of-stream marker, 2 sequence
 *                 record
 *   6       2     flags: 0 (a reader rejects bits it does not know)
 *   8       8     event id (u64); for an end marker, the producer instance index
 *   16      8     event time, ns since the Unix epoch (i64)
 *   24      16    trace id (W3C trace-context bytes)
 *   40      8     span id
 *   48      4     C: content type length (u32), then C bytes (no NUL; 0: none)
 *   ..      4     H: header count (u32), then H times:
 *                   4 key length K (u32), K bytes, 4 value length V (u32), V bytes
 *   ..      4     P: payload length (u32), then P bytes, exactly as the event
 *                 holds them (the exact JSON text is kept: never re-serialised)
 *   end           nothing follows: trailing bytes are an error
 *
 * Framing: a message of a transport (a Redis stream entry's field "e") holds
 * one or more records, each preceded by its length (u32, little-endian): the
 * sending side packs up to 64 events per message, so the broker handles one
 * entry per 64 events. An end-of-stream marker travels alone in its message.
 *
 * A sequence record (kind 2) opens a message of data events: its event id
 * field holds the sequence number of the message's first event (the next
 * ones count up by one), its time field the sending side's epoch (u64), and
 * nothing else (no type, headers or payload). The receiving side drops an
 * event whose (epoch, sequence) it has already handed out: a resend after a
 * lost answer, or the replay of a producing node resumed from a checkpoint
 * (docs/MULTINODE.md, "Exactly-once across nodes").
 *
 * Keys, values and the content type hold no NUL (the event API forbids them);
 * the payload may hold any byte. A reader refuses another magic or version,
 * unknown flags, a truncated record and lengths past the record.
 *
 * Threads: pure functions, any thread. Nothing blocks.
 */
#ifndef ACRT_WIRE_H
#define ACRT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "acrt/acrt.h"
#include "core/strbuf.h"

#define ACRT__WIRE_VERSION 1
#define ACRT__WIRE_FIXED 48 /* bytes before the content type length */

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
/* The epoch and first sequence of a record acrt__wire_decode found to be a
 * sequence record. */
void acrt__wire_seq(const void *rec, uint64_t *epoch, uint64_t *first);

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
