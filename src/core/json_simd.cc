/*
 * json_simd.cc - the reading half of json.h on simdjson (Debian's
 * libsimdjson-dev): validation with the DOM parser (acrt__json_check_simd:
 * the texts json_check.c's read-only pass does not accept, for the verdict and
 * the reason), lookups, top-level fields and walks with the On-Demand parser. The only C++ in acrt;
 * it throws nothing (simdjson is used through its error codes) and exposes plain C.
 *
 * Each thread keeps its own parsers and a padded scratch buffer (see json.h:
 * texts without ACRT__JSON_PADDING readable bytes after them are copied
 * there first), one set per nesting level: a call from inside another's
 * callback uses the next set and leaves the outer call's state alone.
 * Parsers that grew past 1 MiB for a large text are dropped at the next
 * call, so one 50 MB line does not pin 50 MB per thread.
 *
 * Numbers: simdjson's DOM refuses integers past 64 bits and numbers past the
 * double range (NUMBER_ERROR), which RFC 8259 allows. Those
 * lines are validated again by an On-Demand walk that reads every value and
 * checks each number's grammar itself, so every valid text is accepted and
 * its numbers are kept as written.
 */
#include <simdjson.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/json.h"

using namespace simdjson;
using ondemand::json_type;

namespace
{

constexpr size_t kBigText = 1u << 20;

struct tls_state {
	dom::parser *dom = nullptr;
	ondemand::parser *od = nullptr;
	char *scratch = nullptr;
	size_t scap = 0;
	bool big = false; /* the last text was large: drop the parsers next time */
	~tls_state()
	{
		delete dom;
		delete od;
		std::free(scratch);
	}
};

/* A call made from a callback of another (acrt__jval_to_jansson on a value
 * acrt__json_fields handed out, as the Aggregator does) must not reuse the
 * parsers the outer call is iterating with, nor the buffer its unescaped key
 * lives in: each nesting level has its own set. `tls` is the current call's. */
constexpr int kLevels = 4;
thread_local tls_state levels[kLevels];
thread_local int nesting;
thread_local tls_state *tls;

/* Entered first by every entry point (ok false past kLevels nested calls:
 * the call fails as if out of memory). */
struct level {
	tls_state *prev;
	bool ok;
	level() : prev(tls), ok(nesting < kLevels)
	{
		tls = ok ? &levels[nesting] : nullptr;
		nesting++;
	}
	~level()
	{
		nesting--;
		tls = prev;
	}
	level(const level &) = delete;
	level &operator=(const level &) = delete;
};

/* dom::parser / ondemand::parser with our depth limit (simdjson counts
 * nested arrays and objects, as we do). */
dom::parser *
dom_parser()
{
	if (tls->dom == nullptr)
		tls->dom = new (std::nothrow) dom::parser(SIMDJSON_MAXSIZE_BYTES);
	if (tls->dom != nullptr && tls->dom->max_depth() != ACRT__JSON_MAX_DEPTH &&
	    tls->dom->allocate(kBigText, ACRT__JSON_MAX_DEPTH) != SUCCESS)
		return nullptr;
	return tls->dom;
}

ondemand::parser *
od_parser()
{
	if (tls->od == nullptr)
		tls->od = new (std::nothrow) ondemand::parser(SIMDJSON_MAXSIZE_BYTES);
	if (tls->od != nullptr && tls->od->max_depth() != ACRT__JSON_MAX_DEPTH &&
	    tls->od->allocate(kBigText, ACRT__JSON_MAX_DEPTH) != SUCCESS)
		return nullptr;
	return tls->od;
}

/* After a large text, give the memory back, but only at the start of the
 * next call: what the last call handed out (unescaped keys) lives in the
 * parsers until then (json.h). Called first by every entry point. */
void
shrink(size_t len)
{
	bool was_big = tls->big;
	tls->big = len >= kBigText;
	if (!was_big)
		return;
	delete tls->dom;
	delete tls->od;
	tls->dom = nullptr;
	tls->od = nullptr;
	if (tls->scap > 2 * kBigText) {
		std::free(tls->scratch);
		tls->scratch = nullptr;
		tls->scap = 0;
	}
}

/* A padded view of the text: p itself, or a copy in the scratch buffer. */
struct padded {
	const char *b; /* the bytes to parse */
	size_t cap;    /* readable bytes from b */
	const char *orig;
};

bool
pad(const char *p, size_t len, size_t cap, padded *out)
{
	out->orig = p;
	if (cap >= len + SIMDJSON_PADDING) {
		out->b = p;
		out->cap = cap;
		return true;
	}
	size_t need = len + SIMDJSON_PADDING;
	if (tls->scap < need) {
		size_t n = need < 4096 ? 4096 : need;
		char *s = static_cast<char *>(std::realloc(tls->scratch, n));
		if (s == nullptr)
			return false;
		tls->scratch = s;
		tls->scap = n;
	}
	std::memcpy(tls->scratch, p, len);
	std::memset(tls->scratch + len, ' ', SIMDJSON_PADDING);
	out->b = tls->scratch;
	out->cap = need;
	return true;
}

/* A pointer into the padded copy, mapped back into the caller's text. */
inline const char *
back(const padded &pd, const char *q)
{
	return pd.orig + (q - pd.b);
}

inline bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view
trim(std::string_view s)
{
	size_t n = s.size();
	while (n > 0 && is_ws(s[n - 1]))
		n--;
	return s.substr(0, n);
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
bool
number_ok(std::string_view s)
{
	size_t i = 0, n = s.size();
	auto digit = [&](size_t k) { return k < n && s[k] >= '0' && s[k] <= '9'; };
	if (i < n && s[i] == '-')
		i++;
	if (!digit(i))
		return false;
	if (s[i] == '0')
		i++;
	else
		while (digit(i))
			i++;
	if (i < n && s[i] == '.') {
		if (!digit(++i))
			return false;
		while (digit(i))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!digit(i))
			return false;
		while (digit(i))
			i++;
	}
	return i == n;
}

const char *
reason(error_code e)
{
	switch (e) {
	case DEPTH_ERROR:
		return "nesting deeper than 1024 arrays/objects";
	case UTF8_ERROR:
		return "invalid UTF-8";
	case UNESCAPED_CHARS:
		return "unescaped control character in a string";
	case UNCLOSED_STRING:
		return "unterminated string";
	case STRING_ERROR:
		return "invalid string (bad escape or lone surrogate)";
	case T_ATOM_ERROR:
	case F_ATOM_ERROR:
	case N_ATOM_ERROR:
		return "invalid literal (expected true, false or null)";
	case NUMBER_ERROR:
		return "invalid number";
	case TRAILING_CONTENT:
		return "unexpected content after the value";
	case EMPTY:
		return "no value";
	case CAPACITY:
		return "text too large";
	case MEMALLOC:
		return "out of memory";
	case TAPE_ERROR:
	case INCOMPLETE_ARRAY_OR_OBJECT:
	case INCORRECT_TYPE:
		return "malformed (a missing or extra comma, colon, brace or bracket)";
	default:
		return error_message(e);
	}
}

/* ---- The walk (On-Demand) --------------------------------------------------- */

struct walker {
	const acrt__jvisit *vis;
	void *arg;
	int stop;       /* a callback's non-zero return */
	error_code err; /* why the text is invalid */
};

double
to_double(std::string_view raw)
{
	char small[64];
	char *b = small;
	if (raw.size() >= sizeof small) {
		b = static_cast<char *>(std::malloc(raw.size() + 1));
		if (b == nullptr)
			return NAN;
	}
	std::memcpy(b, raw.data(), raw.size());
	b[raw.size()] = '\0';
	double d = std::strtod(b, nullptr);
	if (b != small)
		std::free(b);
	return d;
}

/* A scalar's exact text, trimmed (a value's token, or a scalar document's). */
error_code
token(ondemand::value &v, std::string_view *raw)
{
	*raw = trim(v.raw_json_token());
	return SUCCESS;
}

error_code
token(ondemand::document &d, std::string_view *raw)
{
	error_code e = d.raw_json_token().get(*raw);
	*raw = trim(*raw);
	return e;
}

template <typename V> bool walk_scalar(walker &w, V &v, json_type t);

bool walk_value(walker &w, ondemand::value v, int depth);

bool
walk_object(walker &w, ondemand::object obj, int depth)
{
	if (depth > ACRT__JSON_MAX_DEPTH) {
		w.err = DEPTH_ERROR;
		return false;
	}
	if (w.vis->begin_object && (w.stop = w.vis->begin_object(w.arg)) != 0)
		return false;
	for (auto field : obj) {
		ondemand::field f;
		std::string_view k;
		if ((w.err = std::move(field).get(f)) != SUCCESS ||
		    (w.err = f.unescaped_key().get(k)) != SUCCESS)
			return false;
		if (w.vis->key && (w.stop = w.vis->key(w.arg, k.data(), k.size())) != 0)
			return false;
		if (!walk_value(w, f.value(), depth))
			return false;
	}
	if (w.vis->end_object && (w.stop = w.vis->end_object(w.arg)) != 0)
		return false;
	return true;
}

bool
walk_array(walker &w, ondemand::array arr, int depth)
{
	if (depth > ACRT__JSON_MAX_DEPTH) {
		w.err = DEPTH_ERROR;
		return false;
	}
	if (w.vis->begin_array && (w.stop = w.vis->begin_array(w.arg)) != 0)
		return false;
	for (auto item : arr) {
		ondemand::value iv;
		if ((w.err = std::move(item).get(iv)) != SUCCESS)
			return false;
		if (!walk_value(w, iv, depth))
			return false;
	}
	if (w.vis->end_array && (w.stop = w.vis->end_array(w.arg)) != 0)
		return false;
	return true;
}

/* Strings, numbers and literals, of a value or of a scalar document. */
template <typename V>
bool
walk_scalar(walker &w, V &v, json_type t)
{
	switch (t) {
	case json_type::string: {
		std::string_view s;
		if ((w.err = v.get_string().get(s)) != SUCCESS)
			return false;
		if (w.vis->string && (w.stop = w.vis->string(w.arg, s.data(), s.size())) != 0)
			return false;
		return true;
	}
	case json_type::number: {
		std::string_view raw;
		if ((w.err = token(v, &raw)) != SUCCESS)
			return false;
		if (!number_ok(raw)) {
			w.err = NUMBER_ERROR;
			return false;
		}
		double d;
		if (v.get_double().get(d) != SUCCESS)
			d = to_double(raw);
		if (w.vis->number &&
		    (w.stop = w.vis->number(w.arg, raw.data(), raw.size(), d)) != 0)
			return false;
		return true;
	}
	case json_type::boolean: {
		bool b;
		if ((w.err = v.get_bool().get(b)) != SUCCESS)
			return false;
		if (w.vis->literal &&
		    (w.stop = w.vis->literal(w.arg, b ? ACRT__J_TRUE : ACRT__J_FALSE)) != 0)
			return false;
		return true;
	}
	case json_type::null: {
		bool isnull = false;
		if ((w.err = v.is_null().get(isnull)) != SUCCESS)
			return false;
		if (!isnull) {
			w.err = N_ATOM_ERROR;
			return false;
		}
		if (w.vis->literal && (w.stop = w.vis->literal(w.arg, ACRT__J_NULL)) != 0)
			return false;
		return true;
	}
	default:
		w.err = TAPE_ERROR;
		return false;
	}
}

bool
walk_value(walker &w, ondemand::value v, int depth)
{
	json_type t;
	if ((w.err = v.type().get(t)) != SUCCESS)
		return false;
	if (t == json_type::object) {
		ondemand::object o;
		if ((w.err = v.get_object().get(o)) != SUCCESS)
			return false;
		return walk_object(w, o, depth + 1);
	}
	if (t == json_type::array) {
		ondemand::array a;
		if ((w.err = v.get_array().get(a)) != SUCCESS)
			return false;
		return walk_array(w, a, depth + 1);
	}
	return walk_scalar(w, v, t);
}

bool
all_ws(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!is_ws(*p))
			return false;
	return true;
}

/* Checks that nothing but whitespace follows the root value (On-Demand
 * does not look past the value it is asked for). */
error_code
check_end(ondemand::parser *od, const padded &pd, size_t len)
{
	ondemand::document doc;
	json_type t;
	std::string_view raw;
	error_code e = od->iterate(pd.b, len, pd.cap).get(doc);
	if (e == SUCCESS)
		e = doc.type().get(t);
	if (e != SUCCESS)
		return e;
	if (t == json_type::object) {
		ondemand::object o;
		if ((e = doc.get_object().get(o)) == SUCCESS)
			e = o.raw_json().get(raw);
	} else if (t == json_type::array) {
		ondemand::array a;
		if ((e = doc.get_array().get(a)) == SUCCESS)
			e = a.raw_json().get(raw);
	} else {
		e = token(doc, &raw);
	}
	if (e != SUCCESS)
		return e;
	return all_ws(raw.data() + raw.size(), pd.b + len) ? SUCCESS : TRAILING_CONTENT;
}

/* Walks a whole document; 0, a callback's value, or -1 (w.err says why).
 * `whole`: also refuse anything after the root value (validation). */
int
walk_doc(const padded &pd, size_t len, walker &w, bool whole)
{
	/* simdjson 3.0's On-Demand copies a root true/false with what follows
	 * it into a 6-byte buffer, so `true` and a few spaces is refused: the
	 * text ends at its last byte that is not whitespace. */
	while (len > 0 && is_ws(pd.b[len - 1]))
		len--;
	ondemand::parser *od = od_parser();
	if (od == nullptr) {
		w.err = MEMALLOC;
		return -1;
	}
	if (whole && (w.err = check_end(od, pd, len)) != SUCCESS)
		return -1;
	ondemand::document doc;
	if ((w.err = od->iterate(pd.b, len, pd.cap).get(doc)) != SUCCESS)
		return -1;
	json_type t;
	if ((w.err = doc.type().get(t)) != SUCCESS)
		return -1;
	bool ok;
	if (t == json_type::object) {
		ondemand::object o;
		ok = (w.err = doc.get_object().get(o)) == SUCCESS && walk_object(w, o, 1);
	} else if (t == json_type::array) {
		ondemand::array a;
		ok = (w.err = doc.get_array().get(a)) == SUCCESS && walk_array(w, a, 1);
	} else {
		ok = walk_scalar(w, doc, t);
	}
	if (!ok)
		return w.stop != 0 ? w.stop : -1;
	return 0;
}

/* ---- Lookups ---------------------------------------------------------------- */

/* Describes one value from its exact text (trimmed). */
void
describe(std::string_view raw, const char *orig, acrt__jval *out)
{
	out->raw = orig;
	out->raw_len = raw.size();
	out->num = 0;
	switch (raw.empty() ? 0 : raw[0]) {
	case '{':
		out->type = ACRT__J_OBJECT;
		break;
	case '[':
		out->type = ACRT__J_ARRAY;
		break;
	case '"':
		out->type = ACRT__J_STRING;
		break;
	case 't':
		out->type = ACRT__J_TRUE;
		break;
	case 'f':
		out->type = ACRT__J_FALSE;
		break;
	case 'n':
		out->type = ACRT__J_NULL;
		break;
	default:
		out->type = ACRT__J_NUMBER;
		out->num = to_double(raw);
		break;
	}
}

/* The exact text of a field's value (consumed for objects and arrays). */
error_code
value_text(ondemand::value v, std::string_view *raw)
{
	json_type t;
	error_code e = v.type().get(t);
	if (e != SUCCESS)
		return e;
	if (t == json_type::object) {
		ondemand::object o;
		if ((e = v.get_object().get(o)) != SUCCESS)
			return e;
		e = o.raw_json().get(*raw);
	} else if (t == json_type::array) {
		ondemand::array a;
		if ((e = v.get_array().get(a)) != SUCCESS)
			return e;
		e = a.raw_json().get(*raw);
	} else {
		*raw = v.raw_json_token();
	}
	if (e == SUCCESS)
		*raw = trim(*raw);
	return e;
}

/* Iterates the object text b[0..len) (readable to cap): fn(key, raw value)
 * per field. 0, fn's value, 1 not an object, -1 invalid. */
template <typename F>
int
each_field(const char *b, size_t len, size_t cap, F fn)
{
	ondemand::parser *od = od_parser();
	if (od == nullptr)
		return -1;
	ondemand::document doc;
	json_type t;
	if (od->iterate(b, len, cap).get(doc) != SUCCESS || doc.type().get(t) != SUCCESS)
		return -1;
	if (t != json_type::object)
		return 1;
	ondemand::object obj;
	if (doc.get_object().get(obj) != SUCCESS)
		return -1;
	for (auto field : obj) {
		ondemand::field f;
		std::string_view k, raw;
		if (std::move(field).get(f) != SUCCESS || f.unescaped_key().get(k) != SUCCESS ||
		    value_text(f.value(), &raw) != SUCCESS)
			return -1;
		int rc = fn(k, raw);
		if (rc != 0)
			return rc;
	}
	return 0;
}

std::string_view
root_text(const char *b, size_t len)
{
	size_t i = 0;
	while (i < len && is_ws(b[i]))
		i++;
	return trim(std::string_view(b + i, len - i));
}

} // namespace

extern "C" int
acrt__json_check_simd(const char *p, size_t len, size_t cap, char *err, size_t errlen)
{
	level lv;
	padded pd;
	error_code e = MEMALLOC;
	if (lv.ok)
		shrink(len);
	if (lv.ok && pad(p, len, cap, &pd)) {
		dom::parser *dp = dom_parser();
		dom::element el;
		e = dp == nullptr ? MEMALLOC : dp->parse(pd.b, len, false).get(el);
		if (e == NUMBER_ERROR) {
			/* Valid numbers simdjson's DOM will not hold: check exactly. */
			static const acrt__jvisit none = {};
			walker w = {&none, nullptr, 0, SUCCESS};
			e = walk_doc(pd, len, w, true) == 0 ? SUCCESS : w.err;
		}
	}
	if (e == SUCCESS)
		return 0;
	std::snprintf(err, errlen, "%s", reason(e));
	return -1;
}

extern "C" int
acrt__json_walk(const char *p, size_t len, size_t cap, const acrt__jvisit *v, void *arg)
{
	level lv;
	padded pd;
	if (!lv.ok)
		return -1;
	shrink(len);
	if (!pad(p, len, cap, &pd))
		return -1;
	walker w = {v, arg, 0, SUCCESS};
	return walk_doc(pd, len, w, false);
}

extern "C" int
acrt__json_fields(const char *p, size_t len, size_t cap, acrt__jfield_fn fn, void *arg)
{
	level lv;
	padded pd;
	if (!lv.ok)
		return -1;
	shrink(len);
	if (!pad(p, len, cap, &pd))
		return -1;
	int rc = each_field(pd.b, len, pd.cap, [&](std::string_view k, std::string_view raw) {
		acrt__jval v;
		describe(raw, back(pd, raw.data()), &v);
		return fn(arg, k.data(), k.size(), &v);
	});
	return rc;
}

extern "C" int
acrt__json_lookup(const char *p, size_t len, size_t cap, const char *const *keys,
                  const size_t *klens, size_t nkeys, acrt__jval *out)
{
	level lv;
	padded pd;
	if (!lv.ok)
		return -1;
	shrink(len);
	if (!pad(p, len, cap, &pd))
		return -1;
	/* The current value's text, inside the padded buffer: each step finds
	 * the last field of that name and narrows to its text. */
	std::string_view cur = root_text(pd.b, len);
	int rc = 0;
	for (size_t i = 0; i < nkeys; i++) {
		char c = cur.empty() ? 0 : cur[0];
		if (c == 'n') { /* null.key is null */
			cur = std::string_view();
			break;
		}
		if (c != '{') {
			rc = 1;
			break;
		}
		std::string_view found;
		bool hit = false;
		std::string_view want(keys[i], klens[i]);
		size_t room = pd.cap - static_cast<size_t>(cur.data() - pd.b);
		int r = each_field(cur.data(), cur.size(), room,
		                   [&](std::string_view k, std::string_view raw) {
			                   if (k == want) {
				                   found = raw;
				                   hit = true;
			                   }
			                   return 0;
		                   });
		if (r != 0) {
			rc = r < 0 ? -1 : 1;
			break;
		}
		if (!hit) {
			cur = std::string_view();
			break;
		}
		cur = found;
	}
	if (rc == 0) {
		if (cur.data() == nullptr) {
			out->type = ACRT__J_ABSENT;
			out->raw = nullptr;
			out->raw_len = 0;
			out->num = 0;
		} else {
			describe(cur, back(pd, cur.data()), out);
		}
	}
	return rc;
}
