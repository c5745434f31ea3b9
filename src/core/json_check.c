/*
 * json_check.c - acrt__json_check (json.h): is a line one valid JSON text?
 *
 * The file/stdin Source asks this of every line, and a line that passes is
 * emitted as its bytes: nothing of its values is needed there. simdjson's DOM
 * parser (json_simd.cc) answers it, but builds a tape on the way: it converts
 * every number and copies every string, which was over a third of a file ->
 * file passthrough's CPU. So the question is first put to a validator that
 * only reads (valid_fast below): one pass over the bytes, the RFC 8259
 * grammar, numbers checked by their grammar alone (any size, any precision),
 * strings scanned 16 bytes at a time (SSE2) for a quote, a backslash, a
 * control character or a non-ASCII byte, escapes and UTF-8 checked where they
 * occur (well-formed UTF-8 as Unicode's table 3-7 defines it; a \u escape of
 * a lone surrogate refused), nesting up to ACRT__JSON_MAX_DEPTH.
 *
 * It only ever accepts. Whatever it does not accept (an invalid line, or one
 * deeper than the limit) goes to simdjson's check, which gives the verdict
 * and the reason exactly as before. Its one risk is accepting a text that
 * simdjson refuses: tests/unit/test_json_check.c compares the two on a
 * corpus and on 200,000 random mutations of it, and fails on any
 * disagreement. This is the one place acrt reads JSON grammar itself:
 * simdjson has no check-only mode, and its tape cost 42% of a passthrough's
 * CPU (docs/JSON.md).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/json.h"

typedef const unsigned char *cur;

static inline cur
skip_ws(cur s, cur e)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static cur
digits(cur s, cur e)
{
	while (s < e && is_digit(*s))
		s++;
	return s;
}

/* A number from s: its end, or NULL when its grammar is wrong. */
static cur
number(cur s, cur e)
{
	if (*s == '-')
		s++;
	if (s == e)
		return NULL;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		s = digits(s + 1, e);
	else
		return NULL;
	if (s < e && *s == '.') {
		s++;
		if (s == e || !is_digit(*s))
			return NULL;
		s = digits(s + 1, e);
	}
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < e && (*s == '+' || *s == '-'))
			s++;
		if (s == e || !is_digit(*s))
			return NULL;
		s = digits(s + 1, e);
	}
	return s;
}

/* Four hex digits at s (s + 4 <= e checked by the caller). */
static bool
hex4(cur s, unsigned *v)
{
	unsigned x = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return false;
		x = x << 4 | d;
	}
	*v = x;
	return true;
}

/* An escape, s just after its backslash: its end, or NULL. */
static cur
escape(cur s, cur e)
{
	if (s == e)
		return NULL;
	switch (*s) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return s + 1;
	case 'u':
		break;
	default:
		return NULL;
	}
	unsigned cp, lo;
	if (e - s < 5 || !hex4(s + 1, &cp))
		return NULL;
	s += 5;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return NULL; /* a low surrogate first */
	if (cp < 0xD800 || cp > 0xDBFF)
		return s;
	/* A high surrogate: a low one must follow at once. */
	if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) || lo < 0xDC00 ||
	    lo > 0xDFFF)
		return NULL;
	return s + 6;
}

static inline bool
cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* One UTF-8 sequence of two to four bytes at s (*s >= 0x80): its end, or
 * NULL when it is not well-formed (Unicode 15, table 3-7: no overlong form,
 * no surrogate, nothing past U+10FFFF). */
static cur
utf8(cur s, cur e)
{
	unsigned char c = s[0];
	if (c >= 0xC2 && c <= 0xDF)
		return e - s >= 2 && cont(s[1]) ? s + 2 : NULL;
	if (c >= 0xE0 && c <= 0xEF) {
		if (e - s < 3 || !cont(s[1]) || !cont(s[2]))
			return NULL;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
			return NULL;
		return s + 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (e - s < 4 || !cont(s[1]) || !cont(s[2]) || !cont(s[3]))
			return NULL;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
			return NULL;
		return s + 4;
	}
	return NULL;
}

/* A string, s just after its opening quote: the end of its closing quote, or
 * NULL. The plain run of bytes (printable ASCII other than `"` and `\`) is
 * skipped 16 bytes at a time where SSE2 is there. */
static cur
string(cur s, cur e)
{
	for (;;) {
#ifdef __SSE2__
		const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
		              sp = _mm_set1_epi8(0x20);
		while (e - s >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
			/* signed: bytes >= 0x80 are negative, so below 0x20 too */
			__m128i m =
			    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
			                 _mm_cmplt_epi8(v, sp));
			unsigned mask = (unsigned)_mm_movemask_epi8(m);
			if (mask != 0) {
				s += __builtin_ctz(mask);
				goto special;
			}
			s += 16;
		}
#endif
		while (s < e && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
			s++;
		if (s == e)
			return NULL;
#ifdef __SSE2__
	special:
#endif
		if (*s == '"')
			return s + 1;
		if (*s == '\\')
			s = escape(s + 1, e);
		else if (*s < 0x20)
			return NULL;
		else
			s = utf8(s, e);
		if (s == NULL)
			return NULL;
	}
}

/* 1 when p[0..len) is one valid JSON text; 0 when it is not, or when it is
 * nested deeper than the limit (the caller asks simdjson then). */
static int
valid_fast(const char *p, size_t len)
{
	cur s = (cur)p, e = s + len;
	bool in_object[ACRT__JSON_MAX_DEPTH]; /* per open level: object (else array) */
	size_t depth = 0;
	s = skip_ws(s, e);
value:
	if (s == e)
		return 0;
	switch (*s) {
	case '{':
	case '[':
		if (depth == ACRT__JSON_MAX_DEPTH)
			return 0;
		in_object[depth++] = *s == '{';
		s = skip_ws(s + 1, e);
		if (s < e && *s == (in_object[depth - 1] ? '}' : ']')) {
			depth--;
			s++;
			goto after_value;
		}
		if (in_object[depth - 1])
			goto key;
		goto value;
	case '"':
		s = string(s + 1, e);
		break;
	case 't':
		s = e - s >= 4 && memcmp(s, "true", 4) == 0 ? s + 4 : NULL;
		break;
	case 'f':
		s = e - s >= 5 && memcmp(s, "false", 5) == 0 ? s + 5 : NULL;
		break;
	case 'n':
		s = e - s >= 4 && memcmp(s, "null", 4) == 0 ? s + 4 : NULL;
		break;
	default:
		s = *s == '-' || is_digit(*s) ? number(s, e) : NULL;
		break;
	}
	if (s == NULL)
		return 0;
after_value:
	s = skip_ws(s, e);
	if (depth == 0)
		return s == e;
	if (s == e)
		return 0;
	if (*s == ',') {
		s = skip_ws(s + 1, e);
		if (in_object[depth - 1])
			goto key;
		goto value;
	}
	if (*s == (in_object[depth - 1] ? '}' : ']')) {
		depth--;
		s++;
		goto after_value;
	}
	return 0;
key:
	if (s == e || *s != '"' || (s = string(s + 1, e)) == NULL)
		return 0;
	s = skip_ws(s, e);
	if (s == e || *s != ':')
		return 0;
	s = skip_ws(s + 1, e);
	goto value;
}

int
acrt__json_valid_fast(const char *p, size_t len)
{
	return valid_fast(p, len);
}

int
acrt__json_check(const char *p, size_t len, size_t cap, char *err, size_t errlen)
{
	if (valid_fast(p, len))
		return 0;
	return acrt__json_check_simd(p, len, cap, err, errlen);
}
