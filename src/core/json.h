/*
 * json.h - exact JSON text: validation, lazy lookups, top-level fields and a
 * full walk over the raw bytes of an event, and the writer that prints JSON
 * without altering what it was given (docs/ARCHITECTURE.md, "Events").
 *
 * An event's JSON payload is kept as the text it arrived as. Nothing here
 * builds a tree unless asked to: a lookup reads only as far as the value it
 * wants, so a Filter on `.status` pays for a scan of the top level and one
 * number, not for a parse of the whole event. A line at the Source is
 * validated (RFC 8259, UTF-8 included) by a pass that only reads
 * (json_check.c), with simdjson's DOM parser behind it for the texts it does
 * not accept. Reading is simdjson's (json_simd.cc, a small C++ shim): its
 * On-Demand parser serves lookups,
 * fields and walks. Numbers are handed out as their exact text (and the
 * nearest double), so nothing is rounded unless a component computes.
 *
 * Limits: nesting up to ACRT__JSON_MAX_DEPTH arrays/objects (deeper texts are
 * refused with a clear error); a text up to 4 GiB.
 *
 * Buffers: simdjson reads up to ACRT__JSON_PADDING bytes past a text. `cap` is
 * how many bytes are readable from `p`; when cap < len + ACRT__JSON_PADDING
 * the text is first copied into a per-thread padded buffer (a memcpy).
 *
 * Threads: every function may be called from any thread at once (each thread
 * keeps its own parsers). Pointers handed to callbacks or returned in an
 * acrt__jval point into the caller's text (raw spans) or into the calling
 * thread's parser (unescaped strings): valid until the next call on this
 * thread. Nothing blocks.
 */
#ifndef ACRT_JSON_H
#define ACRT_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACRT__JSON_MAX_DEPTH 1024
#define ACRT__JSON_PADDING 64

typedef enum acrt__jtype {
	ACRT__J_ABSENT = 0, /* a lookup found nothing (jq reads it as null) */
	ACRT__J_NULL,
	ACRT__J_FALSE,
	ACRT__J_TRUE,
	ACRT__J_NUMBER,
	ACRT__J_STRING,
	ACRT__J_ARRAY,
	ACRT__J_OBJECT
} acrt__jtype;

/* One value of a text. raw/raw_len: its exact text (a string with its quotes
 * and escapes as written), without surrounding whitespace. Numbers also carry
 * the nearest double (±HUGE_VAL past the range, as strtod). */
typedef struct acrt__jval {
	acrt__jtype type;
	const char *raw;
	size_t raw_len;
	double num;
} acrt__jval;

/* Returns 0 when p[0..len) is one valid JSON text, else -1 with a one-line
 * reason in err (e.g. "nesting deeper than 1024", "trailing content after the
 * value"). */
int acrt__json_check(const char *p, size_t len, size_t cap, char *err, size_t errlen);
/* The two halves of acrt__json_check (json_check.c): a validator that only
 * reads (1: valid; 0: invalid, or deeper than the limit), and simdjson's DOM
 * parse (json_simd.cc), which acrt__json_check asks for every text the first
 * does not accept, for the verdict and the reason. Exposed for the tests. */
int acrt__json_valid_fast(const char *p, size_t len);
int acrt__json_check_simd(const char *p, size_t len, size_t cap, char *err, size_t errlen);

/* The value at a path of object keys from the root (nkeys 0: the root).
 * Returns 0 with *out set (type ACRT__J_ABSENT when a key is missing or an
 * intermediate is null, as jq reads `.a.b`); 1 when a step indexes something
 * that is not an object (jq would raise an error there); -1 when the text is
 * not valid JSON. When a key occurs twice the last one counts, as in jq. */
int acrt__json_lookup(const char *p, size_t len, size_t cap, const char *const *keys,
                      const size_t *klens, size_t nkeys, acrt__jval *out);

/* Calls fn for each field of the top-level object, in order: the key
 * (unescaped) and the value. fn returns 0 to go on; anything else stops and is
 * returned. Returns 0 at the end, 1 when the text is not an object, -1 when it
 * is not valid JSON. */
typedef int (*acrt__jfield_fn)(void *arg, const char *key, size_t klen, const acrt__jval *v);
int acrt__json_fields(const char *p, size_t len, size_t cap, acrt__jfield_fn fn, void *arg);

/* A full walk, depth first, in document order. Each callback returns 0 to go
 * on; anything else stops the walk and is returned. Strings and keys are
 * unescaped (may hold NUL bytes: use the length). */
typedef struct acrt__jvisit {
	int (*begin_object)(void *arg);
	int (*key)(void *arg, const char *k, size_t klen);
	int (*end_object)(void *arg);
	int (*begin_array)(void *arg);
	int (*end_array)(void *arg);
	int (*string)(void *arg, const char *s, size_t slen);
	int (*number)(void *arg, const char *raw, size_t rlen, double d);
	int (*literal)(void *arg, acrt__jtype t); /* null, false, true */
} acrt__jvisit;
/* Returns 0, a callback's non-zero value, or -1 when the text is not valid. */
int acrt__json_walk(const char *p, size_t len, size_t cap, const acrt__jvisit *v, void *arg);

/* ---- Writing (json_write.c) ----------------------------------------------- */

/* A growable output buffer (acrt__malloc'd; `ok` drops to 0 on out of
 * memory and every later append is ignored: check it once at the end). */
typedef struct acrt__jbuf {
	char *p;
	size_t len, cap;
	int ok;
} acrt__jbuf;

void acrt__jbuf_init(acrt__jbuf *b);
void acrt__jbuf_free(acrt__jbuf *b);
/* Hands the bytes over (the caller frees them with acrt__free), followed by a
 * NUL byte and ACRT__JSON_PADDING readable bytes; b is reset. NULL when an
 * append ran out of memory. */
char *acrt__jbuf_take(acrt__jbuf *b, size_t *len);
void acrt__jbuf_put(acrt__jbuf *b, const void *s, size_t n);
void acrt__jbuf_putc(acrt__jbuf *b, char c);
/* A JSON string literal for s[0..n) (quotes added): `"`, `\` and control
 * characters escaped (\b \f \n \r \t, else \u00XX), everything else, UTF-8
 * included, as is. */
void acrt__jbuf_string(acrt__jbuf *b, const char *s, size_t n);
/* A computed number: the shortest text that reads back to the same double
 * (as jq, Python and JavaScript print it: 0.1, 0.30000000000000004, 1e+300);
 * integers below 2^53 without a fraction. NaN prints as null and ±infinity as
 * ±1.7976931348623157e+308, as jq does. */
void acrt__jbuf_double(acrt__jbuf *b, double d);
/* Writes the decimal text of v into buf (at least 21 bytes), NUL-terminated;
 * returns its length. No printf: it runs once per failing event. */
size_t acrt__json_itoa(int64_t v, char *buf);
/* Writes the shortest form of d into buf[32]; returns its length. */
size_t acrt__json_dtoa(double d, char *buf);

/* Compact JSON of a jansson value (object keys in their order), reals printed
 * by acrt__jbuf_double, an integral one with ".0" so that it stays a real. Declared with an opaque
 * type so that this header needs no jansson. */
struct json_t;
void acrt__jbuf_jansson(acrt__jbuf *b, const struct json_t *v);

/* A jansson value for a JSON text, built by a walk: unlike jansson's own
 * parser it accepts every valid text (an integer past int64 becomes the
 * nearest real, a number past the double range ±DBL_MAX). NULL when the text
 * is not valid or on out of memory. */
struct json_t *acrt__json_to_jansson(const char *p, size_t len, size_t cap);
/* The jansson value of one value found by a lookup or a field walk (the same
 * reading as acrt__json_to_jansson). NULL on out of memory. */
struct json_t *acrt__jval_to_jansson(const acrt__jval *v);

#ifdef __cplusplus
}
#endif
#endif /* ACRT_JSON_H */
