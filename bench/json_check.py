#!/usr/bin/env python3
"""json_check.py - exact value checks for the bench's JSON rows (issue 19).

    json_check.py job|passthrough|aggregate IN OUT [--strings]

Compares OUT (JSON lines written by acrt or a peer) with the exact expectation
computed here from IN (the access log), prints the result as one JSON object
and exits 0 when they agree, 1 otherwise. bench.py imports the same functions.

Values, not bytes: every line is parsed with json.loads(parse_float=Decimal),
so 29.410 and 29.41 are the same value but 29.41 and 29.409999999999997 are
not, key order does not matter, true is not 1, and an object with a key twice
is not valid.

  job          expected: the lines where .status >= 500 (jq's ordering of
               types), with "env": "prod" set, latency renamed to duration_ms
               and ua dropped; compared line by line, in order
  passthrough  expected: IN itself, line by line (lines equal as bytes are
               equal; only the others are parsed)
  aggregate    expected: per value of .path, the count and the exact average
               of .latency; each OUT line must have key, latency_count (exact)
               and latency_avg (relative error <= 1e-9); other fields (acrt's
               window_start, window_end) are ignored; line order is free
  seconds      expected: the number of lines per second of .ts (epoch seconds,
               floored exactly from the number's text); each OUT line must have
               window_start = the second in ms (and window_end one second later
               when present) and the count in ts_count (acrt) or count (jq);
               lines in ascending window_start, each second once
  --strings    syslog-ng: every value of OUT is a string ("status":"503");
               a number is right when its string is that number ("93.694000")

When lines differ in order only, `same_multiset` says so (still a failure).
"""
import decimal
import hashlib
import itertools
import json
import sys
from decimal import Decimal

D = decimal.Context(prec=100)  # exact enough for averages; normalize() keeps every digit
INVALID = object()  # a line that is not JSON
SHOW = 300  # characters of a line kept in a mismatch record


def _no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("duplicate key")
    return d


_DEC = json.JSONDecoder(parse_float=Decimal, object_pairs_hook=_no_duplicates)


def parse(raw):
    """Exact: numbers with a fraction or exponent become Decimal; an object with
    a key twice is invalid (ValueError)."""
    return _DEC.decode(raw.decode("utf-8") if isinstance(raw, bytes) else raw)


def is_num(v):
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def same_exact(a, b):
    """JSON value equality: numbers by exact value, bool and null are not numbers."""
    ta = type(a)
    if ta is dict:
        return type(b) is dict and len(a) == len(b) and all(
            k in b and same_exact(v, b[k]) for k, v in a.items())
    if ta is list:
        return type(b) is list and len(a) == len(b) and all(map(same_exact, a, b))
    if ta is str:
        return type(b) is str and a == b
    if a is None or ta is bool:
        return a is b
    return is_num(b) and a == b


def num_of_string(s):
    try:
        d = Decimal(s)
    except (decimal.InvalidOperation, ValueError, TypeError):
        return None
    return d if d.is_finite() else None


def same_strings(got, exp):
    """syslog-ng's view: got holds strings where exp holds numbers (or anything)."""
    if type(exp) is dict:
        return type(got) is dict and len(got) == len(exp) and all(
            k in got and same_strings(got[k], v) for k, v in exp.items())
    if type(exp) is list:
        return type(got) is list and len(got) == len(exp) and all(map(same_strings, got, exp))
    if is_num(exp):
        if is_num(got):
            return got == exp
        return isinstance(got, str) and num_of_string(got) == exp
    if type(exp) is bool:
        return got is exp or got == ("true" if exp else "false")
    if exp is None:
        return got is None or got == ""
    return got == exp


def num_text(d):
    d = Decimal(d)
    if d == 0:
        return "0"
    return str(d.normalize(D))


def to_text(v, canonical=False, strings=False):
    """JSON text of a parsed value, Decimal numbers verbatim. canonical: sorted
    keys and normalized numbers (equal values, equal texts); strings: every
    scalar as a string, numeric strings normalized (syslog-ng)."""
    if type(v) is dict:
        items = sorted(v.items()) if canonical else v.items()
        return "{" + ",".join(json.dumps(k) + ":" + to_text(x, canonical, strings)
                              for k, x in items) + "}"
    if type(v) is list:
        return "[" + ",".join(to_text(x, canonical, strings) for x in v) + "]"
    if strings:
        if is_num(v):
            return json.dumps(num_text(v))
        if isinstance(v, str):
            d = num_of_string(v)
            return json.dumps(num_text(d) if d is not None else v)
        return json.dumps("" if v is None else json.dumps(v))
    if is_num(v):
        return num_text(v) if canonical else str(v)
    return json.dumps(v)


def _num_marker(d):
    """json.dumps' default= for Decimal: integral values as ints (500.0 is 500),
    others as a marker object holding the normalized digits."""
    if d.is_finite() and d == d.to_integral_value() and d.adjusted() < 64:
        return int(d)
    return {"\u0000num": num_text(d) if d.is_finite() else str(d)}


def canonical(v, strings=False):
    """A text equal for equal values (the multiset key)."""
    if strings:
        return to_text(v, canonical=True, strings=True)
    return _CANON.encode(v)


_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_num_marker)


def show_raw(raw):
    s = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return s if len(s) <= SHOW else s[:SHOW] + "..."


# ---- expectations ---------------------------------------------------------------

def jq_ge_500(v):
    """jq's `. >= 500`: null < false < true < numbers < strings < arrays < objects."""
    if is_num(v):
        return v >= 500
    return isinstance(v, (str, list, dict))


def job_transform(o):
    """set {env: prod}, rename {latency: duration_ms}, drop [ua] (acrt's order)."""
    o = dict(o)
    o["env"] = "prod"
    if "latency" in o:
        o["duration_ms"] = o.pop("latency")
    o.pop("ua", None)
    return o


def expectations(in_path, job=True, aggregate=True, seconds=True):
    """One exact pass over IN: {"lines", "bytes", "job": [values], "groups": {..},
    "seconds": {second: lines}}."""
    out = {"lines": 0, "bytes": 0, "job": [] if job else None, "groups": {} if aggregate else None,
           "seconds": {} if seconds else None}
    groups = out["groups"]
    with open(in_path, "rb") as f:
        for raw in f:
            out["lines"] += 1
            out["bytes"] += len(raw)
            o = parse(raw)
            if job and isinstance(o, dict) and jq_ge_500(o.get("status")):
                out["job"].append(job_transform(o))
            if aggregate and isinstance(o, dict):
                key = o.get("path")
                k = to_text(key, canonical=True)
                g = groups.get(k)
                if g is None:
                    g = groups[k] = [key, 0, Decimal(0), 0]  # key, count, sum, numbers
                lat = o.get("latency")
                if lat is not None:
                    g[1] += 1
                if is_num(lat):
                    g[2] = D.add(g[2], Decimal(lat))
                    g[3] += 1
            if seconds and isinstance(o, dict) and is_num(o.get("ts")):
                sec = int(Decimal(o["ts"]).to_integral_value(rounding=decimal.ROUND_FLOOR))
                out["seconds"][sec] = out["seconds"].get(sec, 0) + 1
    return out


# ---- checks ---------------------------------------------------------------------

def check_lines(out_path, expected, strings=False, cap=200_000):
    """OUT against an iterable of (text or None, value or None): line i must equal
    text i as bytes, or parse to a value equal to value i (parsed from the text
    when None)."""
    same = same_strings if strings else same_exact
    res = {"ok": False, "lines": 0, "expected_lines": 0, "mismatches": 0, "missing": 0,
           "extra": 0, "invalid": 0, "unterminated": False, "first": []}
    got_bag, exp_bag = [], []
    capped = False

    def note(i, raw, exp_text):
        if len(res["first"]) < 3:
            res["first"].append({"line": i, "got": None if raw is None else show_raw(raw),
                                 "expected": None if exp_text is None else show_raw(exp_text)})

    with open(out_path, "rb") as f:
        for i, (raw, exp) in enumerate(itertools.zip_longest(f, expected), 1):
            got = None
            if raw is not None:
                res["lines"] += 1
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                else:
                    res["unterminated"] = True
            if exp is not None:
                res["expected_lines"] += 1
                text, value = exp
                if raw is not None and text is not None and raw == text:
                    continue
                if value is None:
                    value = parse(text)
            if raw is not None:
                try:
                    got = parse(raw)
                except ValueError:
                    got = INVALID
                    res["invalid"] += 1
            if raw is not None and exp is not None:
                if got is not INVALID and same(got, value):
                    continue
                res["mismatches"] += 1
            elif raw is None:
                res["missing"] += 1
            else:
                res["extra"] += 1
            note(i, raw, None if exp is None else text if text is not None else to_text(value))
            if len(got_bag) + len(exp_bag) >= 2 * cap:
                capped = True
            if not capped:
                if raw is not None:
                    got_bag.append("\x00" + show_raw(raw) if got is INVALID else
                                   canonical(got, strings))
                if exp is not None:
                    exp_bag.append(canonical(value, strings))
    bad = res["mismatches"] + res["missing"] + res["extra"]
    res["ok"] = bad == 0 and not res["unterminated"]
    if bad and not capped:
        got_bag.sort()
        exp_bag.sort()
        res["same_multiset"] = got_bag == exp_bag
    else:
        res["same_multiset"] = None if bad else True
    res["summary"] = summary_lines(res, strings)
    return res


def summary_lines(res, strings=False):
    n = "{:,}".format
    if res["ok"]:
        return "%s lines, %s" % (n(res["lines"]), "values equal as strings" if strings
                                 else "values exact")
    parts = []
    if res["lines"] != res["expected_lines"]:
        parts.append("%s lines, expected %s" % (n(res["lines"]), n(res["expected_lines"])))
    if res["mismatches"]:
        parts.append("%s of %s lines differ" % (n(res["mismatches"]), n(res["expected_lines"])))
    if res["invalid"]:
        parts.append("%s not JSON (or with a key twice)" % n(res["invalid"]))
    if res["unterminated"]:
        parts.append("last line not terminated")
    if res.get("same_multiset") and res["mismatches"] + res["missing"] + res["extra"]:
        parts.append("the same values in another order")
    if res["first"]:
        f = res["first"][0]
        parts.append("first at line %d" % f["line"])
    return "; ".join(parts)


def check_passthrough(out_path, in_path, strings=False):
    with open(in_path, "rb") as f:
        return check_lines(out_path, ((raw.rstrip(b"\n"), None) for raw in f), strings)


def check_job(out_path, expected_values, strings=False):
    return check_lines(out_path, ((None, v) for v in expected_values), strings)


def check_copy(out_path, in_path):
    """cat's output in a row whose job it does not do: a byte copy of IN."""
    same = file_digest(out_path) == file_digest(in_path)
    size = file_size(out_path)
    return {"ok": same, "bytes": size, "summary": "byte copy of the input" if same else
            "not a byte copy of the input (%s bytes)" % "{:,}".format(size)}


def check_aggregate(out_path, groups, rel=Decimal("1e-9")):
    res = {"ok": False, "lines": 0, "expected_lines": len(groups), "mismatches": 0,
           "missing": 0, "extra": 0, "duplicates": 0, "invalid": 0, "max_rel_err": 0.0,
           "first": []}
    seen = set()
    worst = Decimal(0)

    def note(i, raw, why):
        if len(res["first"]) < 3:
            res["first"].append({"line": i, "got": show_raw(raw), "why": why})

    with open(out_path, "rb") as f:
        for i, raw in enumerate(f, 1):
            res["lines"] += 1
            raw = raw.rstrip(b"\n")
            try:
                o = parse(raw)
            except ValueError:
                res["invalid"] += 1
                note(i, raw, "not JSON")
                continue
            if type(o) is not dict or "key" not in o:
                res["invalid"] += 1
                note(i, raw, "not an object with a key")
                continue
            k = to_text(o["key"], canonical=True)
            if k in seen:
                res["duplicates"] += 1
                note(i, raw, "key seen before")
                continue
            seen.add(k)
            g = groups.get(k)
            if g is None:
                res["extra"] += 1
                note(i, raw, "no such group")
                continue
            _, count, total, nums = g
            want_avg = D.divide(total, nums) if nums else None
            cnt, avg = o.get("latency_count"), o.get("latency_avg")
            why = None
            if not is_num(cnt) or cnt != count:
                why = "latency_count %s, expected %d" % (to_text(cnt), count)
            elif want_avg is None:
                if avg is not None:
                    why = "latency_avg %s, expected null" % to_text(avg)
            elif not is_num(avg):
                why = "latency_avg %s, expected %s" % (to_text(avg), num_text(want_avg))
            else:
                err = abs(D.subtract(Decimal(avg), want_avg))
                err = D.divide(err, abs(want_avg)) if want_avg else err
                worst = max(worst, err)
                if err > rel:
                    why = "latency_avg %s, expected %s (relative error %.3g)" % (
                        to_text(avg), num_text(want_avg), float(err))
            if why:
                res["mismatches"] += 1
                note(i, raw, why)
    res["missing"] = len(groups) - (len(seen) - res["extra"])
    res["max_rel_err"] = float(worst)
    bad = res["mismatches"] + res["missing"] + res["extra"] + res["duplicates"] + res["invalid"]
    res["ok"] = bad == 0
    n = "{:,}".format
    if res["ok"]:
        res["summary"] = "%s groups, counts exact, avg within %.0e (max %.1e)" % (
            n(res["lines"]), float(rel), res["max_rel_err"])
    else:
        parts = ["%s %s" % (n(res[k]), k) for k in ("mismatches", "missing", "extra",
                                                     "duplicates", "invalid") if res[k]]
        res["summary"] = "%s groups, expected %s: %s" % (n(res["lines"]), n(len(groups)),
                                                         ", ".join(parts))
    return res


def check_seconds(out_path, seconds):
    """Per-second counts (event-time windows of 1 s) against {second: count}."""
    want = sorted(seconds.items())
    res = {"ok": False, "lines": 0, "expected_lines": len(want), "mismatches": 0, "first": []}
    with open(out_path, "rb") as f:
        for i, raw in enumerate(f, 1):
            res["lines"] += 1
            why = None
            try:
                o = parse(raw.rstrip(b"\n"))
            except ValueError:
                o, why = None, "not JSON"
            if why is None and type(o) is not dict:
                why = "not an object"
            elif why is None:
                cnt = o.get("ts_count", o.get("count"))
                exp = want[i - 1] if i <= len(want) else None
                if exp is None:
                    why = "extra line"
                elif o.get("window_start") != exp[0] * 1000 or cnt != exp[1] or \
                        o.get("window_end", (exp[0] + 1) * 1000) != (exp[0] + 1) * 1000:
                    why = "expected second %d (window_start %d) with %d lines" % (
                        exp[0], exp[0] * 1000, exp[1])
            if why:
                res["mismatches"] += 1
                if len(res["first"]) < 3:
                    res["first"].append({"line": i, "got": show_raw(raw.rstrip(b"\n")), "why": why})
    res["ok"] = res["mismatches"] == 0 and res["lines"] == len(want)
    n = "{:,}".format
    res["summary"] = ("%s seconds, counts and bounds exact" % n(res["lines"]) if res["ok"] else
                      "%s lines, expected %s; %s differ" % (n(res["lines"]), n(len(want)),
                                                            n(res["mismatches"])))
    return res


def file_size(path):
    with open(path, "rb") as f:
        return f.seek(0, 2)


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def main():
    args = [a for a in sys.argv[1:] if a != "--strings"]
    strings = "--strings" in sys.argv[1:]
    if len(args) != 3 or args[0] not in ("job", "passthrough", "aggregate"):
        sys.exit(__doc__.split("\n\n")[1])
    mode, in_path, out_path = args
    if mode == "passthrough":
        res = check_passthrough(out_path, in_path, strings)
    else:
        exp = expectations(in_path, job=mode == "job", aggregate=mode == "aggregate")
        res = (check_job(out_path, exp["job"], strings) if mode == "job"
               else check_aggregate(out_path, exp["groups"]))
    print(json.dumps(res, indent=2))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
