#!/usr/bin/env python3
"""json_fidelity.py - corpus generator and checker of test_json_fidelity.sh (issue 19,
"Real JSON, exact and fast").

  json_fidelity.py gen DIR [BIG_LINE_BYTES]
      writes into DIR (the big line has ~BIG_LINE_BYTES, default 50 MB):
        corpus.jsonl  valid JSON-object lines (big integers, long decimals, exponents,
                      -0, escapes, surrogate pairs, raw UTF-8, CRLF line ends, inner
                      whitespace, 1024-deep nesting, one ~50 MB line) with invalid lines
                      and blank lines mixed in; each valid line is {"id": K, ...} with K
                      its 1-based line number in the file
        values.jsonl  valid non-object JSON texts (numbers, a string, arrays, literals)
        mixed.jsonl   valid and invalid lines alternating
        meta.json     what every line of the three files is (kind, description, CRLF)
  json_fidelity.py selftest DIR [BIG_LINE_BYTES]
      checks the checker: the outputs of a correct runtime pass, near misses fail
  json_fidelity.py check DIR RUNS
      checks every acrt run listed in RUNS, one per line, tab-separated:
        NAME INPUT KIND LOGCHECK RC RUNDIR ERRFILE
      INPUT: corpus | values | mixed (the file the run's Source read);
      KIND: identical | transform | jq_dot | jq_arith (what the output must be);
      LOGCHECK: 1 to also check the invalid-line warnings of the Source `src`;
      RC: acrt's exit status; RUNDIR holds out.jsonl (port output) and one
      <port>.jsonl per other bound port (error, rejected, default), which must stay empty;
      ERRFILE: acrt's stderr (JSON log lines).
      Prints one line per run (ok / FAIL with the first mismatches: input line,
      component, expected vs got) and a summary; exits 1 if any run failed.

The byte-level expectations are in the shell test's header; this file is the oracle.
"""
import collections
import decimal
import json
import os
import re
import sys

sys.setrecursionlimit(20000)  # 1024-deep values through json.loads and the comparisons

MAX_SHOWN = int(os.environ.get("JSON_FIDELITY_SHOW", "5"))  # mismatches shown per run
BIG_LINE_BYTES = 50 * 1000 * 1000
DEPTH_OK = 1024  # nesting levels accepted
DEPTH_BAD = 1025  # refused

# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------


def _deep_object(k):
    # 1024 levels in all: the object, then 1023 arrays.
    n = DEPTH_OK - 1
    return ('{"id":%d,"v":%s%s}' % (k, "[" * n, "]" * n)).encode("ascii")


def _big_line(k):
    # One object of ~50 MB: a long string mixing ASCII, every escape, \u0000 and raw
    # UTF-8, then a small array of numbers. Built from one 1000-byte unit. (Characters
    # beyond the BMP are left to the short lines: they would make every Python copy of
    # this string 4 bytes a character, and the checker's memory ~1 GB.)
    unit = (r'abc \"quoted\" back\\slash \/ \b\f\n\r\t \u0000 \u00e9 \u20ac \u00E9 '
            'é € ')
    unit_b = unit.encode("utf-8")
    unit_b += b"x" * (1000 - len(unit_b) % 1000)
    reps = max(1, BIG_LINE_BYTES // len(unit_b))
    head = b'{"id":%d,"v":"' % k
    tail = b'","n":[35.5,1e-5,12345678901234567891,-0.000]}'
    return head + unit_b * reps + tail


def corpus_lines():
    """The main corpus: a list of (kind, builder, description, crlf). builder(K) gives
    the line's bytes (without terminator); K is the line's 1-based number."""
    L = []

    def valid(desc, text, crlf=False):
        if callable(text):
            L.append(("valid", text, desc, crlf))
        else:
            L.append(("valid", lambda k, t=text: (t % k).encode("utf-8"), desc, crlf))

    def num(desc, raw, crlf=False):
        valid(desc, '{"id":%d,"v":' + raw + '}', crlf)

    def invalid(desc, raw, crlf=False):
        L.append(("invalid", lambda k, b=raw: b, desc, crlf))

    def blank(raw=b"", crlf=False):
        L.append(("blank", lambda k, b=raw: b, "blank line", crlf))

    num("big integer 12345678901234567890", "12345678901234567890")
    num("big integer -98765432109876543210123", "-98765432109876543210123")
    invalid("trailing comma {\"a\":1,}", b'{"a":1,}')
    num("2^64 = 18446744073709551616", "18446744073709551616", crlf=True)
    num("2^63 = 9223372036854775808", "9223372036854775808")
    num("2^63-1 = 9223372036854775807", "9223372036854775807")
    num("-2^63 = -9223372036854775808", "-9223372036854775808")
    invalid("leading zero {\"a\":01}", b'{"a":01}')
    num("decimal 35.376", "35.376")
    num("decimal 0.1", "0.1", crlf=True)
    num("decimal 0.10000000000000000001", "0.10000000000000000001")
    num("decimal 3.141592653589793238462643383279", "3.141592653589793238462643383279")
    invalid("missing comma [1 2]", b"[1 2]")
    blank()
    num("exponent 1E2", "1E2")
    num("exponent 1e-7", "1e-7")
    num("exponent 1.5e300", "1.5e300")
    num("exponent 2.5E+10", "2.5E+10", crlf=True)
    invalid("raw control character in a string", b'{"a":"\x01"}')
    num("exponent 1e400 (beyond double)", "1e400")
    num("exponent -1e400 (beyond double)", "-1e400")
    num("exponent 1e-400 (below double)", "1e-400")
    invalid("invalid UTF-8 byte \\xff", b'{"a":"\xff"}')
    num("-0.0", "-0.0")
    num("-0", "-0")
    num("0", "0", crlf=True)
    num("trailing-zero decimal 29.410", "29.410")
    invalid("a lone }", b"}")
    blank(crlf=True)  # "\r\n" alone is blank too
    valid("string with \\u0000", r'{"id":%d,"v":"a\u0000b"}')
    valid("escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20ac",
          r'{"id":%d,"v":"\"\\\/\b\f\n\r\t\u00e9\u20ac"}')
    invalid("123 followed by a NUL byte", b"123\x00")
    valid("surrogate pair \\ud83d\\ude00", r'{"id":%d,"v":"\ud83d\ude00"}', crlf=True)
    valid("raw UTF-8 é € 😀", '{"id":%d,"v":"é€😀"}')
    valid("upper-case hex escapes \\u00E9\\u20AC\\uD83D\\uDE00",
          r'{"id":%d,"v":"\u00E9\u20AC\uD83D\uDE00"}')
    valid("mixed \\u0000, escapes and raw UTF-8", r'{"id":%d,"v":"x\u0000y\ud83d\ude00é\u0001"}')
    invalid("trailing garbage {\"a\":1} x", b'{"a":1} x')
    valid("whitespace inside the line", '{ "id" : %d , "v" : [ 1 , 2 ] }')
    valid("tabs and spaces inside the line", '{\t"id":%d,\t"w" :\t{ "a" : 1.50 } ,"v":"s" }',
          crlf=True)
    invalid("nul", b"nul")
    valid("tag in place, gone in the middle, numbers in an array",
          '{"id":%d,"tag":"old","v":35.376,"gone":true,"w":[1.0,2.50,-0,1e2]}')
    valid("gone holds an object, v a string",
          '{"id":%d,"gone":{"nested":[1,2,3]},"v":"keep","z2":null}')
    valid("tag last", '{"id":%d,"v":false,"tag":7}')
    invalid("unterminated string", b'{"a":"abc')
    valid("no v, no tag", '{"id":%d,"other":0.5}', crlf=True)
    valid("nested object with big integer and escape",
          r'{"id":%d,"v":{"x":1.10,"y":{"z":"\u00e9"},"big":12345678901234567890},"gone":null}')
    valid("literals and empty containers", '{"id":%d,"v":[true,false,null,{},[],""]}')
    invalid("NaN", b'{"a":NaN}')
    valid("raw UTF-8 in a key", '{"id":%d,"clé":"valeur","v":"€"}')
    valid("1024 levels of nesting (object + 1023 arrays)", _deep_object)
    invalid("Infinity", b'{"a":Infinity}', crlf=True)
    invalid("1025 levels of nesting ([[[...]]])", b"[" * DEPTH_BAD + b"]" * DEPTH_BAD)
    blank()
    valid("the big line (%.1f MB): a long string with escapes, \\u0000, UTF-8"
          % (BIG_LINE_BYTES / 1e6), _big_line)
    num("decimal 7.25 after the big line", "7.25")
    valid("a number and a string side by side",
          '{"id":%d,"v":-98765432109876543210123,"s":"\\u20ac","gone":[]}', crlf=True)
    return L


def values_lines():
    """Valid JSON texts that are not objects, for the passthrough runs."""
    return [
        ("valid", b"42", "bare number 42", False),
        ("valid", b"12345678901234567890", "bare big integer", False),
        ("valid", b"1e400", "bare 1e400", True),
        ("valid", b"-0.0", "bare -0.0", False),
        ("valid", r'"a string \u00e9 é \ud83d\ude00 \u0000 \/"'.encode("utf-8"), "bare string",
         False),
        ("valid", b"[1, 2.50, \"x\", null, 3.141592653589793238462643383279]",
         "array with inner whitespace", False),
        ("valid", b"true", "bare true", False),
        ("valid", b"null", "bare null", True),
        ("valid", b"[" * DEPTH_OK + b"]" * DEPTH_OK, "1024 levels of arrays", False),
    ]


def mixed_lines():
    """Valid and invalid lines alternating (pipeline 5)."""
    bad = [
        ("trailing comma", b'{"a":1,}'),
        ("leading zero", b'{"a":01}'),
        ("missing comma", b"[1 2]"),
        ("raw control character", b'{"a":"\x01"}'),
        ("invalid UTF-8 \\xff", b'{"a":"\xff"}'),
        ("a lone }", b"}"),
        ("123 then NUL", b"123\x00"),
        ("trailing garbage", b'{"a":1} x'),
        ("nul", b"nul"),
        ("unterminated string", b'{"a":"abc'),
        ("NaN", b'{"a":NaN}'),
        ("Infinity", b'{"a":Infinity}'),
        ("1025 levels of nesting", b"[" * DEPTH_BAD + b"]" * DEPTH_BAD),
    ]
    L = []
    for i, (desc, raw) in enumerate(bad):
        # A run of valid lines before each invalid one: 13 runs of 150 lines
        # cross the Source's batches (1,024 lines), so invalid lines are met
        # both on its checker thread and in the drained tail.
        for j in range(150):
            L.append(("valid", lambda k: b'{"id":%d,"ok":true}' % k, "valid neighbour",
                      i == 3 and j == 149))
        L.append(("invalid", lambda k, b=raw: b, desc, i == 5))
    L.append(("valid", lambda k: b'{"id":%d,"ok":"last"}' % k, "valid neighbour", False))
    return L


def _strict_check(kind, data, desc, where):
    """The generator's own sanity check: Python must agree on valid / invalid."""
    err = None
    try:
        text = data.decode("utf-8")
        v = json.loads(text, parse_constant=_no_constant)
        if _depth(v) > DEPTH_OK:
            err = "too deep"
    except (ValueError, UnicodeDecodeError) as e:
        err = str(e)
    if kind == "valid" and err is not None:
        raise SystemExit("generator bug: %s (%s) is not valid JSON: %s" % (where, desc, err))
    if kind == "invalid" and err is None:
        raise SystemExit("generator bug: %s (%s) is valid JSON" % (where, desc))


def _no_constant(name):
    raise ValueError("not JSON: %s" % name)


def _depth(v):
    d = 0
    stack = [(v, 1)]
    while stack:
        x, n = stack.pop()
        if isinstance(x, (list, dict)):
            d = max(d, n)
            stack.extend((y, n + 1) for y in (x.values() if isinstance(x, dict) else x))
    return d


def _distinct_doubles(data, where):
    """Within one valid line, no two numbers have the same double (nor one of the doubles
    jq_arith computes): a runtime that maps a jq output number back to the input text by
    its double must then find exactly one text."""
    texts = []
    json.loads(data.decode("utf-8"), parse_int=lambda s: texts.append(s) or 0,
               parse_float=lambda s: texts.append(s) or 0.0)
    seen = {0.1 + 0.2: "0.1+0.2", 1 / 3: "1/3", 300.0: "100*3"}
    for t in texts:
        d = float(t)
        if d in seen:
            raise SystemExit("generator bug: %s: numbers %s and %s have the same double"
                             % (where, seen[d], t))
        seen[d] = t


def generate(d):
    meta = {}
    for name, lines in (("corpus", corpus_lines()), ("values", values_lines()),
                        ("mixed", mixed_lines())):
        entries = []
        with open(os.path.join(d, name + ".jsonl"), "wb") as f:
            for k, (kind, b, desc, crlf) in enumerate(lines, 1):
                data = b(k) if callable(b) else b
                where = "%s line %d" % (name, k)
                if len(data) < 1000000:  # the big line is known good; skip the slow checks
                    if kind != "blank":
                        _strict_check(kind, data, desc, where)
                    if kind == "valid" and name != "mixed":  # no jq arithmetic runs on mixed
                        _distinct_doubles(data, where)
                f.write(data)
                f.write(b"\r\n" if crlf else b"\n")
                entries.append({"line": k, "kind": kind, "desc": desc, "crlf": crlf})
        meta[name] = entries
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    c = collections.Counter(e["kind"] for e in meta["corpus"])
    print("json_fidelity: corpus.jsonl %d lines (%d valid, %d invalid, %d blank), "
          "values.jsonl %d, mixed.jsonl %d" % (len(meta["corpus"]), c["valid"], c["invalid"],
                                               c["blank"], len(meta["values"]), len(meta["mixed"])))


# ---------------------------------------------------------------------------
# Raw JSON text: tokens, top-level members, numbers with their text
# ---------------------------------------------------------------------------

TOKEN = re.compile(rb'[ \t\r\n]+|"[^"\\]*(?:\\.[^"\\]*)*"'
                   rb'|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?'
                   rb'|true|false|null|[{}\[\],:]', re.S)
WS = b" \t\r\n"


def tokens(text):
    """The tokens of a JSON text (bytes) as (start, end), whitespace runs included."""
    pos, n, out = 0, len(text), []
    while pos < n:
        m = TOKEN.match(text, pos)
        if m is None:
            raise ValueError("cannot tokenize at offset %d: %r" % (pos, text[pos:pos + 30]))
        out.append((m.start(), m.end()))
        pos = m.end()
    return out


def minify(text):
    return b"".join(text[s:e] for s, e in tokens(text) if text[s] not in WS)


def members(text):
    """The members of a JSON object text (bytes): ([(key, raw value bytes)], compact)
    where compact says there is no whitespace outside the member values."""
    mems, compact = [], True
    state, depth, key, vstart = "start", 0, None, 0
    for s, e in tokens(text):
        c = text[s:s + 1]
        if c in (b" ", b"\t", b"\r", b"\n"):
            if state != "in_value":
                compact = False
            continue
        if state == "start":
            if c != b"{":
                raise ValueError("not an object")
            state = "key_or_end"
        elif state in ("key_or_end", "key"):
            if c == b"}" and state == "key_or_end":
                state = "end"
            elif c == b'"':
                key, state = json.loads(text[s:e]), "colon"
            else:
                raise ValueError("expected a key at offset %d" % s)
        elif state == "colon":
            state = "value"
        elif state == "value":
            vstart = s
            if c in (b"{", b"["):
                depth, state = 1, "in_value"
            else:
                mems.append((key, text[s:e]))
                state = "comma_or_end"
        elif state == "in_value":
            if c in (b"{", b"["):
                depth += 1
            elif c in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    mems.append((key, text[vstart:e]))
                    state = "comma_or_end"
        elif state == "comma_or_end":
            state = "key" if c == b"," else "end"
        elif state == "end":
            raise ValueError("data after the object at offset %d" % s)
    return mems, compact


class Num:
    """A JSON number with its text."""
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t

    def val(self):
        return decimal.Decimal(self.t)

    def __repr__(self):
        return self.t


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def parse(text):
    """JSON text -> Python values with every number as Num (its text kept)."""
    return json.loads(text, parse_int=Num, parse_float=Num, parse_constant=_no_constant,
                      object_pairs_hook=_pairs)


def short(v, n=70):
    s = repr(v) if not isinstance(v, (bytes, str)) else repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def show(v):
    if isinstance(v, Num):
        return v.t
    if isinstance(v, (dict, list)):
        return type(v).__name__ + " " + short(v, 50)
    return short(v)


def diff(a, b, path, out, texts):
    """Appends to out where b differs from the expected a: numbers by exact decimal
    value (and by text when texts), strings by code points, types strictly."""
    if len(out) >= 3:
        return
    p = path or "."
    if isinstance(a, Num):
        if not isinstance(b, Num):
            out.append("%s: expected the number %s, got %s" % (p, a.t, show(b)))
        elif a.val() != b.val():
            out.append("%s: value changed: expected %s, got %s" % (p, a.t, b.t))
        elif texts and a.t != b.t:
            out.append("%s: number text changed: expected %s, got %s" % (p, a.t, b.t))
    elif isinstance(a, dict):
        if not isinstance(b, dict):
            out.append("%s: expected an object, got %s" % (p, show(b)))
            return
        if set(a) != set(b):
            out.append("%s: keys: expected %s, got %s" % (p, list(a), list(b)))
            return
        for k in a:
            diff(a[k], b[k], "%s.%s" % (path, k), out, texts)
    elif isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            out.append("%s: expected %s, got %s" % (p, show(a), show(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), out, texts)
    elif type(a) is not type(b) or a != b:
        if isinstance(a, str) and isinstance(b, str):
            i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            out.append("%s: string differs at code point %d (lengths %d, %d): expected %s, got %s"
                       % (p, i, len(a), len(b), short(a[max(0, i - 10):i + 20]),
                          short(b[max(0, i - 10):i + 20])))
        else:
            out.append("%s: expected %s, got %s" % (p, show(a), show(b)))


# ---------------------------------------------------------------------------
# The checks of one run
# ---------------------------------------------------------------------------

ID_RE = re.compile(rb'^\{\s*"id"\s*:\s*(\d+)\s*[,}]')
LINE_RE = re.compile(r"\bline (\d+)\b")


def read_lines(path):
    """A file's lines split on LF only (a CR stays): (lines, problem)."""
    if not os.path.exists(path):
        return [], "missing"
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return [], None
    prob = None if data.endswith(b"\n") else "the last line is not terminated by LF"
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines, prob


def log_records(path):
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict):
                    recs.append(r)
    return recs


def find_key(v, key):
    """The values of `key` anywhere in a JSON value."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k == key:
                yield x
            yield from find_key(x, key)
    elif isinstance(v, list):
        for x in v:
            yield from find_key(x, key)


class Input:
    def __init__(self, d, name, meta):
        with open(os.path.join(d, name + ".jsonl"), "rb") as f:
            data = f.read()
        raw = data.split(b"\n")
        if raw[-1] == b"":
            raw.pop()
        self.name = name
        self.entries = meta[name]
        assert len(raw) == len(self.entries), "meta.json does not match %s.jsonl" % name
        self.text = {}  # line -> bytes without the CR of a CRLF line
        for e, b in zip(self.entries, raw):
            if e["crlf"]:
                assert b.endswith(b"\r")
                b = b[:-1]
            self.text[e["line"]] = b
        self.valid = [e for e in self.entries if e["kind"] == "valid"]
        self.invalid = [e for e in self.entries if e["kind"] == "invalid"]
        self.by_line = {e["line"]: e for e in self.entries}
        self.objects = name != "values"

    def label(self, e):
        return "%s line %d (%s%s)" % (self.name, e["line"], e["desc"],
                                      ", CRLF" if e["crlf"] else "")


def first_byte_diff(want, got):
    i = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), min(len(want), len(got)))
    lo = max(0, i - 24)
    return ("bytes differ at offset %d (lengths %d, %d): expected %s, got %s"
            % (i, len(want), len(got), short(want[lo:i + 40], 90), short(got[lo:i + 40], 90)))


def compare_identical(inp, e, got):
    want = inp.text[e["line"]]
    if got == want:
        return []
    if got == want + b"\r":
        return ["the CR of the CRLF line end was kept in the event"]
    if len(want) < 200 and len(got) < 200:
        return ["expected %r, got %r" % (want, got)]
    return [first_byte_diff(want, got)]


def compare_transform(inp, e, got):
    """set {tag: x}, rename {v: value}, drop [gone]: field order, compact output, raw
    text of every untouched value (byte-identical, or its minified form when the input
    had whitespace inside it), and values by Decimal / code points."""
    text = inp.text[e["line"]]
    probs = []
    want = []
    for k, raw in members(text)[0]:
        if k != "gone":
            want.append(("value" if k == "v" else k, raw, k == "tag"))
    if not any(k == "tag" for k, _, _ in want):
        want.append(("tag", b'"x"', True))
    try:
        out_mems, compact = members(got)
        got_v = parse(got)
    except (ValueError, UnicodeDecodeError) as x:
        return ["output is not one JSON object (%s): %s" % (x, short(got, 120))]
    if not compact:
        probs.append("not compact: whitespace between the members: %s" % short(got, 120))
    wkeys, gkeys = [k for k, _, _ in want], [k for k, _ in out_mems]
    if wkeys != gkeys:
        probs.append("fields: expected %s, got %s" % (wkeys, gkeys))
    gmap = dict(out_mems)
    in_v = None
    for k, raw, is_set in want:
        if k not in gmap:
            continue
        g = gmap[k]
        if is_set:
            if g != b'"x"':
                probs.append('field %s: expected "x" (set), got %s' % (k, short(g)))
            continue
        if g == raw or g == minify(raw):
            continue
        if len(raw) > 200 or len(g) > 200:
            probs.append("field %s: raw text changed: %s" % (k, first_byte_diff(raw, g)))
        else:
            probs.append("field %s: raw text changed: expected %s, got %s"
                         % (k, short(raw), short(g)))
        # and by value (Decimal numbers, code points): is it at least the same value?
        if in_v is None:
            in_v = parse(text)
        vd = []
        diff(in_v["v" if k == "value" else k], got_v.get(k), "." + k, vd, texts=False)
        probs += ["by value: " + x for x in vd]
    return probs


def compare_jq(inp, e, got, extra=None):
    """jq output: equal to the input by value (Decimal numbers, code points), every
    number with its input text; the fields of `extra` computed, printed as given."""
    try:
        gtext = got.decode("utf-8")
        got_v = parse(gtext)
    except (ValueError, UnicodeDecodeError) as x:
        return ["output is not JSON (%s): %s" % (x, short(got, 120))]
    want_v = parse(inp.text[e["line"]].decode("utf-8"))
    probs = []
    if extra:
        try:
            gm = {k: v.decode("utf-8") for k, v in members(got)[0]}
        except ValueError as x:
            return ["output is not a JSON object (%s): %s" % (x, short(got, 120))]
        for k, v in extra.items():
            if k not in gm:
                probs.append("computed .%s is missing" % k)
            elif gm[k] != v.t:
                probs.append("computed .%s printed as %s, expected %s (the shortest text that "
                             "reads back to the same double)" % (k, gm[k], v.t))
            got_v.pop(k, None)
    vd = []
    diff(want_v, got_v, "", vd, texts=True)
    return probs + vd


ARITH = {"x": Num("0.30000000000000004"), "y": Num("0.3333333333333333"), "z": Num("300")}


def which_invalid(inp, b):
    """The invalid input line an output event came from, if any: (entry, note)."""
    for x in inp.invalid:
        t = inp.text[x["line"]]
        if b == t:
            return x, ""
        if b and t.startswith(b) and t[len(b):len(b) + 1] == b"\0":
            return x, " (cut at its NUL byte)"
    return None, ""


def src_warnings(recs):
    """{line: [msg]} of the Source's warnings naming `line N`."""
    named = collections.defaultdict(list)
    for r in recs:
        if r.get("component") == "src" and r.get("level") in ("warn", "warning"):
            m = LINE_RE.search(str(r.get("msg", "")))
            if m:
                named[int(m.group(1))].append(r.get("msg"))
    return named


def check_run(d, inputs, spec):
    name, inp_name, kind, logcheck, rc, rundir, errfile = spec
    inp = inputs[inp_name]
    problems = []  # (sort key: input line, 0 for the whole run; message)
    recs = log_records(errfile)
    named = src_warnings(recs)
    missing = set()

    def gone(e, extra=""):
        k = e["line"]
        missing.add(k)
        if named.get(k):
            w = "refused by the source: %s" % short(named[k][0], 140)
        elif k in side:
            w = "sent to port %s of mid" % side[k]
        else:
            w = "lost (no warning names it)"
        problems.append((k, "%s: not in the output%s: %s" % (inp.label(e), extra, w)))

    def accepted(x, note, where):
        problems.append((x["line"], "%s: accepted, should be refused; it came out %s%s"
                         % (inp.label(x), where, note)))

    # Invalid lines are skipped by the source: lost input, exit 3 (docs/CLI.md).
    want_rc = "3" if inp.invalid else "0"
    if rc != want_rc:
        errs = [r for r in recs if r.get("level") == "error"]
        problems.append((0, "acrt exited %s, expected %s%s" % (
            rc, want_rc, (": " + short(errs[-1].get("msg"), 160)) if errs else "")))

    out, prob = read_lines(os.path.join(rundir, "out.jsonl"))
    if prob:
        problems.append((0, "out.jsonl: %s" % prob))

    # events on the other bound ports of mid (error, rejected, default)
    side = {}
    for fn in sorted(os.listdir(rundir)):
        if not fn.endswith(".jsonl") or fn == "out.jsonl":
            continue
        port = fn[:-6]
        for i, b in enumerate(read_lines(os.path.join(rundir, fn))[0], 1):
            m = ID_RE.match(b[:64])
            x, note = which_invalid(inp, b)
            if x is not None:
                accepted(x, note, "on port %s" % port)
            elif m and inp.objects:
                side[int(m.group(1))] = port
            else:
                problems.append((0, "port %s got event %d: %s" % (port, i, short(b, 100))))

    compare = {"identical": compare_identical, "transform": compare_transform,
               "jq_dot": compare_jq,
               "jq_arith": lambda i, e, g: compare_jq(i, e, g, ARITH)}[kind]
    checked = 0

    def cmp(e, b):
        nonlocal checked
        checked += 1
        for p in compare(inp, e, b)[:3]:
            problems.append((e["line"], "%s: %s" % (inp.label(e), p)))

    if inp.objects:  # match output lines to input lines by their id
        pos, order = {}, []
        for i, b in enumerate(out, 1):
            m = ID_RE.match(b[:64])
            k = int(m.group(1)) if m else None
            if k is not None and k in inp.by_line and inp.by_line[k]["kind"] == "valid" \
                    and k not in pos:
                pos[k] = i
                order.append(k)
                continue
            x, note = which_invalid(inp, b)
            if x is not None:
                accepted(x, note, "as output line %d" % i)
            elif k is not None and k in pos:
                problems.append((k, "%s line %d: came out twice (output lines %d and %d)"
                                 % (inp.name, k, pos[k], i)))
            else:
                problems.append((0, "output line %d is no input line: %s" % (i, short(b, 100))))
        for e in inp.valid:
            if e["line"] in pos:
                cmp(e, out[pos[e["line"]] - 1])
            else:
                gone(e)
        if order != sorted(order):
            bad = next(i for i in range(1, len(order)) if order[i] < order[i - 1])
            problems.append((order[bad], "out of order: line %d came after line %d"
                             % (order[bad], order[bad - 1])))
    else:  # no ids: by position, leaving out the lines the source refused
        rest = []
        for b in out:
            x, note = which_invalid(inp, b)
            if x is not None:
                accepted(x, note, "in the output")
            else:
                rest.append(b)
        want = inp.valid
        if len(rest) != len(want):
            for e in want:
                if named.get(e["line"]):
                    gone(e)
            want = [e for e in want if not named.get(e["line"])]
        for e, b in zip(want, rest):
            cmp(e, b)
        for e in want[len(rest):]:
            gone(e, " (%d lines out of %d)" % (len(out), len(inp.valid)))
        for b in rest[len(want):]:
            problems.append((0, "extra output line: %s" % short(b, 100)))

    if len(out) != len(inp.valid):
        problems.append((0, "%d output lines, expected %d (one per valid input line)"
                         % (len(out), len(inp.valid))))

    if logcheck == "1":
        problems += check_log(inp, recs, named, missing)
    problems.sort(key=lambda p: p[0])
    return checked, [m for _, m in problems]


def check_log(inp, recs, named, missing):
    """B: each invalid line is refused with one warning of the source naming `line N`;
    no other line is (a refused valid line already reported missing is not repeated)."""
    probs = []
    for e in inp.invalid:
        got = named.get(e["line"], [])
        if not got:
            probs.append((e["line"], "%s: no warning of src mentions 'line %d' (lines named: %s)"
                          % (inp.label(e), e["line"], sorted(named)[:12])))
        elif len(got) > 1:
            probs.append((e["line"], "%s: %d warnings mention it, expected 1"
                          % (inp.label(e), len(got))))
    for line, msgs in named.items():
        e = inp.by_line.get(line)
        if e is not None and e["kind"] == "invalid":
            continue
        if e is not None and line in missing:
            continue
        what = inp.label(e) if e else "%s line %d" % (inp.name, line)
        probs.append((line, "%s: warned about, but it is %s: %s"
                      % (what, "a %s line" % e["kind"] if e else "not in the file",
                         short(msgs[0], 140))))
    n_warn = sum(len(m) for m in named.values())
    if n_warn != len(inp.invalid):
        probs.append((0, "%d line warnings of src, expected %d (one per invalid line)"
                      % (n_warn, len(inp.invalid))))
    fin = [r for r in recs if "finished" in str(r.get("msg", ""))]
    if not fin:
        probs.append((0, "no 'system ... finished' log line"))
    else:
        counts = list(find_key(fin[-1], "invalid_lines"))
        if counts and counts[0] != len(inp.invalid):
            probs.append((0, "the final log line says invalid_lines %r, expected %d"
                          % (counts[0], len(inp.invalid))))
    return probs


def check(d, runs_file):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    inputs = {}
    runs = []
    with open(runs_file) as f:
        for line in f:
            if line.strip():
                runs.append(line.rstrip("\n").split("\t"))
    failed, lines = 0, 0
    for spec in runs:
        inp_name = spec[1]
        if inp_name not in inputs:
            inputs[inp_name] = Input(d, inp_name, meta)
        try:
            checked, probs = check_run(d, inputs, spec)
        except Exception as x:  # a harness bug must be loud too
            checked, probs = 0, ["checker error: %s: %s" % (type(x).__name__, x)]
        lines += checked
        label = "%s (%s, %s)" % (spec[0], spec[1], spec[2])
        if probs:
            failed += 1
            print("FAIL %s: %d problem(s)" % (label, len(probs)))
            for p in probs[:MAX_SHOWN]:
                print("     " + p)
            if len(probs) > MAX_SHOWN:
                print("     ... and %d more" % (len(probs) - MAX_SHOWN))
        else:
            print("ok   %s: %d lines" % (label, checked))
    print("json_fidelity: checked %d lines, %d pipelines: %d passed, %d failed"
          % (lines, len(runs), len(runs) - failed, failed))
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# Self-test of the oracle: the outputs a correct runtime writes must pass, and
# some near misses must fail (run by hand: json_fidelity.py selftest DIR)
# ---------------------------------------------------------------------------


def dump(v):
    """Compact JSON with every number's text kept (strings re-escaped, as jq does)."""
    if isinstance(v, Num):
        return v.t
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump(x)
                              for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def perfect(inp, kind, e):
    text = inp.text[e["line"]]
    if kind == "identical":
        return text
    if kind == "transform":
        mems = [(("value" if k == "v" else k), (b'"x"' if k == "tag" else minify(raw)))
                for k, raw in members(text)[0] if k != "gone"]
        if not any(k == "tag" for k, _ in mems):
            mems.append(("tag", b'"x"'))
        return b"{" + b",".join(json.dumps(k, ensure_ascii=False).encode("utf-8") + b":" + r
                                for k, r in mems) + b"}"
    v = parse(text)
    if kind == "jq_arith":
        v.update(ARITH)
    return dump(v).encode("utf-8")


def selftest(d):
    generate(d)
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    inputs = {n: Input(d, n, meta) for n in ("corpus", "values", "mixed")}
    runs = [("plain", "corpus", "identical"), ("plain_values", "values", "identical"),
            ("xf_edit", "corpus", "transform"), ("jq_dot", "corpus", "jq_dot"),
            ("jq_dot_values", "values", "jq_dot"), ("jq_arith", "corpus", "jq_arith"),
            ("mixed", "mixed", "identical")]

    def write(name, inp_name, kind, mutate=None):
        inp = inputs[inp_name]
        rd = os.path.join(d, "st_" + name)
        os.makedirs(rd, exist_ok=True)
        lines = [perfect(inp, kind, e) for e in inp.valid]
        log = ['{"level":"warn","component":"src","msg":"line %d is not valid JSON; skipped"}'
               % e["line"] for e in inp.invalid]
        log.append('{"level":"info","msg":"system \'fidelity\' finished","errors":0}')
        if mutate:
            lines, log = mutate(inp, lines, log)
        with open(os.path.join(rd, "out.jsonl"), "wb") as f:
            f.write(b"".join(b + b"\n" for b in lines))
        with open(os.path.join(rd, "error.jsonl"), "wb"):
            pass
        with open(rd + ".err", "w") as f:
            f.write("\n".join(log) + "\n")
        return [name, inp_name, kind, "1" if kind == "identical" else "0", "0", rd, rd + ".err"]

    def sub(old, new):
        def m(inp, lines, log):
            return [b.replace(old, new) for b in lines], log
        return m

    def drop_warning(inp, lines, log):
        return lines, log[1:]

    def keep_cr(inp, lines, log):
        crlf = [i for i, e in enumerate(inp.valid) if e["crlf"]]
        lines[crlf[0]] += b"\r"
        return lines, log

    def swap(inp, lines, log):
        lines[0], lines[1] = lines[1], lines[0]
        return lines, log

    def accept_invalid(inp, lines, log):
        return lines + [inp.text[inp.invalid[-1]["line"]]], log

    good = [write(*r) for r in runs]
    bad = [  # (run, what the checker must say)
        (write("m_value", "corpus", "identical", sub(b"29.410", b"29.41")), "29.410"),
        (write("m_cr", "corpus", "identical", keep_cr), "CR"),
        (write("m_order", "corpus", "identical", swap), "out of order"),
        (write("m_warn", "corpus", "identical", drop_warning), "no warning"),
        (write("m_accept", "mixed", "identical", accept_invalid), "accepted"),
        (write("m_xf_order", "corpus", "transform",
               sub(b'"value":35.376,"w"', b'"w":[1.0,2.50,-0,1e2],"value":35.376,"x"')),
         "fields"),
        (write("m_xf_text", "corpus", "transform", sub(b"1.50", b"1.5")), "raw text"),
        (write("m_big", "corpus", "identical", sub(b'"n":[35.5,', b'"n":[35.50,')), "big line"),
        (write("m_xf_big", "corpus", "transform", sub(b"\\/ ", b"/ ")), "big line"),
        (write("m_jq_big_str", "corpus", "jq_dot", sub(b"quoted", b"quotet")), "big line"),
        (write("m_jq_big", "corpus", "jq_dot",
               sub(b"12345678901234567890", b"12345678901234567000")), "value changed"),
        (write("m_jq_text", "corpus", "jq_dot", sub(b"1E2", b"100")), "number text"),
        (write("m_jq_nul", "corpus", "jq_dot", sub(b"a\\u0000b", b"ab")), "string differs"),
        (write("m_arith", "corpus", "jq_arith",
               sub(b"0.3333333333333333", b"0.33333333333333331")), "shortest"),
    ]
    rf = os.path.join(d, "st_runs.tsv")
    with open(rf, "w") as f:
        for r in good:
            f.write("\t".join(r) + "\n")
    fails = 0
    if check(d, rf) != 0:
        print("selftest: the outputs of a correct runtime do not pass")
        fails += 1
    for r, needle in bad:
        checked, probs = check_run(d, inputs, r)
        if not any(needle in p for p in probs):
            print("selftest: %s was not caught (wanted %r): %s" % (r[0], needle, probs[:3]))
            fails += 1
        else:
            print("selftest: %s caught: %s" % (r[0], next(p for p in probs if needle in p)[:150]))
    print("selftest: %s" % ("FAIL" if fails else "ok"))
    return 1 if fails else 0


def main(argv):
    global BIG_LINE_BYTES
    if len(argv) in (3, 4) and argv[1] in ("gen", "selftest"):
        if len(argv) == 4:
            BIG_LINE_BYTES = int(argv[3])
        if argv[1] == "selftest":
            return selftest(argv[2])
        generate(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
