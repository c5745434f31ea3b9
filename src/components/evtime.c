/*
 * evtime.c - an event's own time from a field's value (see evtime.h for the
 * formats and the time model). Numbers are read from their text, digit by
 * digit, so that "ts":1733300000.123 is exactly 1733300000123 ms (through a
 * double it could come out as ...122.99999 and floor to the ms before).
 */
#include "components/evtime.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_DIGITS 40 /* significant digits kept; later ones only decide the floor */

static const char *const fmt_names[] = {"auto", "rfc3339", "epoch_s", "epoch_ms"};

int
acrt__tfmt_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s != NULL && strcmp(s, fmt_names[i]) == 0)
			return i;
	return -1;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
acrt__epoch_ms(const char *s, size_t n, int64_t unit_ms, int64_t *ms, const char **why)
{
	size_t i = 0, nstore = 0, ntotal = 0;
	unsigned char d[MAX_DIGITS];
	bool neg = false, tail = false; /* tail: a non-zero digit past d[] */
	long frac = 0, e = 0;
	*why = "not a JSON number";
#define ADD_DIGIT(c)                                                                               \
	do {                                                                                       \
		if (ntotal == 0 && (c) == '0')                                                     \
			break; /* leading zeros do not change the value */                         \
		if (nstore < MAX_DIGITS)                                                           \
			d[nstore++] = (unsigned char)((c) - '0');                                  \
		else if ((c) != '0')                                                               \
			tail = true;                                                               \
		ntotal++;                                                                          \
	} while (0)
	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	size_t int0 = i;
	for (; i < n && is_digit(s[i]); i++)
		ADD_DIGIT(s[i]);
	if (i == int0 || (s[int0] == '0' && i - int0 > 1))
		return -1; /* no digits, or a leading zero: not JSON */
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;
		for (; i < n && is_digit(s[i]); i++, frac++)
			ADD_DIGIT(s[i]);
		if (i == f0)
			return -1;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		size_t e0 = i;
		for (; i < n && is_digit(s[i]); i++)
			if (e < 100000)
				e = e * 10 + (s[i] - '0');
		if (i == e0)
			return -1;
		if (eneg)
			e = -e;
	}
#undef ADD_DIGIT
	if (i != n)
		return -1;
	if (ntotal == 0) {
		*ms = 0;
		return 0;
	}
	/* value in ms = D * 10^E, D = the significant digits, no leading zero */
	long E = e - frac + (unit_ms == 1000 ? 3 : 0);
	long k = (long)ntotal + E; /* digits before the point */
	*why = "out of range (years 0000 to 9999)";
	if (k > 16)
		return -1;
	int64_t v = 0;
	for (long j = 0; j < k; j++)
		v = v * 10 + ((size_t)j < nstore ? d[j] : 0);
	bool rem = tail;
	for (size_t j = k > 0 ? (size_t)k : 0; j < nstore; j++)
		rem = rem || d[j] != 0;
	v = neg ? -(v + (rem ? 1 : 0)) : v; /* floor */
	if (v < ACRT__TIME_MIN_MS || v > ACRT__TIME_MAX_MS)
		return -1;
	*ms = v;
	return 0;
}

/* Two digits at s, or -1. */
static int
dig2(const char *s)
{
	return is_digit(s[0]) && is_digit(s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

int
acrt__rfc3339_ms(const char *s, size_t n, int64_t *ms, const char **why)
{
	*why = "not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM))";
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	int y1 = dig2(s), y2 = dig2(s + 2), mo = dig2(s + 5), d = dig2(s + 8);
	int h = dig2(s + 11), mi = dig2(s + 14), sec = dig2(s + 17);
	if (y1 < 0 || y2 < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0)
		return -1;
	int y = y1 * 100 + y2;
	size_t i = 19;
	int64_t frac_ms = 0;
	if (s[i] == '.') {
		size_t f0 = ++i;
		for (; i < n && is_digit(s[i]); i++)
			if (i - f0 < 3)
				frac_ms = frac_ms * 10 + (s[i] - '0');
		if (i == f0)
			return -1;
		for (size_t k = i - f0; k < 3; k++)
			frac_ms *= 10;
	}
	int off = 0; /* minutes east of UTC */
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = dig2(s + i + 1), om = dig2(s + i + 4);
		if (oh < 0 || om < 0)
			return -1;
		if (oh > 23 || om > 59) {
			*why = "offset out of range";
			return -1;
		}
		off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		*why = "no time zone (Z or +HH:MM) at the end";
		return -1;
	}
	if (i != n) {
		*why = "trailing characters after the time zone";
		return -1;
	}
	if (mo < 1 || mo > 12) {
		*why = "month out of range";
		return -1;
	}
	if (d < 1 || d > days_in_month(y, mo)) {
		*why = "day out of range for its month";
		return -1;
	}
	if (h > 23 || mi > 59 || sec > 60) {
		*why = "hour, minute or second out of range";
		return -1;
	}
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60LL;
	t = t * 1000 + frac_ms;
	if (t < ACRT__TIME_MIN_MS || t > ACRT__TIME_MAX_MS) {
		*why = "out of range (years 0000 to 9999)";
		return -1;
	}
	*ms = t;
	return 0;
}

/* auto: seconds below 1e11, else ms. */
static int
epoch_auto(const char *s, size_t n, int64_t *ms, const char **why)
{
	int64_t v;
	if (acrt__epoch_ms(s, n, 1, &v, why) != 0)
		return -1;
	if (v > -100000000000LL && v < 100000000000LL)
		return acrt__epoch_ms(s, n, 1000, ms, why);
	*ms = v;
	return 0;
}

static int
from_string(const char *s, size_t n, acrt__tfmt fmt, int64_t *ms, const char **why)
{
	if (fmt == ACRT__TF_RFC3339)
		return acrt__rfc3339_ms(s, n, ms, why);
	if (fmt == ACRT__TF_EPOCH_S || fmt == ACRT__TF_EPOCH_MS)
		return acrt__epoch_ms(s, n, fmt == ACRT__TF_EPOCH_S ? 1000 : 1, ms, why);
	if (acrt__rfc3339_ms(s, n, ms, why) == 0)
		return 0;
	const char *why2;
	if (n > 0 && (is_digit(s[0]) || s[0] == '-') && memchr(s, ':', n) == NULL &&
	    epoch_auto(s, n, ms, &why2) == 0)
		return 0;
	return -1;
}

int
acrt__time_of_value(const acrt__jval *v, acrt__tfmt fmt, int64_t *ms, char *why, size_t len)
{
	const char *r = NULL;
	int rc = -1;
	switch (v->type) {
	case ACRT__J_ABSENT:
		snprintf(why, len, "missing");
		return -1;
	case ACRT__J_NUMBER:
		if (fmt == ACRT__TF_RFC3339)
			r = "a number, expected an RFC 3339 string";
		else if (fmt == ACRT__TF_AUTO)
			rc = fabs(v->num) >= 1e11
			         ? acrt__epoch_ms(v->raw, v->raw_len, 1, ms, &r)
			         : acrt__epoch_ms(v->raw, v->raw_len, 1000, ms, &r);
		else
			rc = acrt__epoch_ms(v->raw, v->raw_len, fmt == ACRT__TF_EPOCH_S ? 1000 : 1,
			                    ms, &r);
		break;
	case ACRT__J_STRING:
		if (memchr(v->raw, '\\', v->raw_len) == NULL) {
			rc = from_string(v->raw + 1, v->raw_len - 2, fmt, ms, &r);
		} else { /* escapes: read the string's value (rare) */
			json_t *j = acrt__jval_to_jansson(v);
			if (j == NULL) {
				snprintf(why, len, "out of memory");
				return -1;
			}
			rc = from_string(json_string_value(j), json_string_length(j), fmt, ms, &r);
			json_decref(j);
		}
		break;
	default:
		r = fmt == ACRT__TF_RFC3339 ? "not a string" : "not a string or a number";
		break;
	}
	if (rc == 0)
		return 0;
	int shown = v->raw_len > 64 ? 64 : (int)v->raw_len;
	snprintf(why, len, "%s: %.*s%s", r != NULL ? r : "invalid", shown, v->raw,
	         v->raw_len > 64 ? "..." : "");
	return -1;
}
