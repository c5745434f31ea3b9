#!/usr/bin/env python3
"""sites.py - lists the runtime error call sites that test_gate.sh checks
against tests/gate/messages.tsv (issue 11: "acrt validate is the single gate").

A site is an `acrt__log(ACRT_LOG_ERROR, ...)` call (and a `batching_error(c,
...)` call, wiring.c's wrapper of it) or an `acrt_fail(CTX, ...)` call (the
built-in components) in any folder of src/ but those of NOT_RUNTIME below
(src/harness, src/observe, src/state, src/capability, src/components, and
any folder their files move to), or a
capability's create() error: a call `F(err, errlen, ...)` in src/capability
with a string literal among its other arguments (snprintf(err, errlen, ...),
cfg_error(err, errlen, key, "what"), ...: the format, or the last literal). Each is keyed by the file's basename and the message's format
string (adjacent literals joined; a format that is not a literal is shown as
its expression in angle brackets, e.g. `<fmt>`), never by its line number, so
that moving code around does not change the key. Calls with the same key in
one file are one site.

Usage: sites.py SOURCE_DIR            prints "FILE<TAB>FORMAT<TAB>FIRST_LINE" rows
       sites.py SOURCE_DIR TABLE      compares the sites with the table; prints
                                      one "missing"/"stale" line per difference
                                      and exits 1 if there is any
"""
import glob
import os
import re
import sys

# Folders under src/ whose code is not the running system: the loader and
# validator itself, the command line, the shared core, the schema compiler.
# Every other folder is scanned, so that files moved into a new folder stay
# covered (they are keyed by basename).
NOT_RUNTIME = ("blueprint", "cli", "core", "schema")


def strip_comments(text):
    """Blanks out comments (keeping newlines and string literals)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_args(text, start):
    """The top-level arguments of the call whose '(' is at text[start]."""
    args, depth, cur, i = [], 0, [], start
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def format_key(expr):
    """A format argument as the key's text: its literals joined (macros such
    as PRIu64 kept as {PRIu64}), or <expr> when it holds no literal."""
    expr = " ".join(expr.split())
    if '"' not in expr:
        return "<%s>" % expr
    parts, pos = [], 0
    for m in LITERAL.finditer(expr):
        between = expr[pos:m.start()].strip()
        if between:
            parts.append("{%s}" % between)
        parts.append(m.group(1))
        pos = m.end()
    if expr[pos:].strip():
        parts.append("{%s}" % expr[pos:].strip())
    return "".join(parts).replace("\t", "\\t")


def sites(src):
    found = {}

    def scan(path, func, fmt_index, want_first=None):
        # func is a regex (a name); fmt_index None: see the capability case
        with open(path, encoding="utf-8", errors="replace") as f:
            text = strip_comments(f.read())
        for m in re.finditer(r"\b(%s)\s*\(" % func, text):
            args = call_args(text, m.end() - 1)
            if len(args) <= (2 if fmt_index is None else fmt_index):
                continue  # a declaration or a macro's parameter list
            if want_first is not None and args[0] != want_first:
                continue
            if args[0].startswith(("acrt_ctx", "const ", "char ", "acrt__comp")):
                continue  # a prototype or a definition
            if fmt_index is None:  # capability errors: F(err, errlen, ...)
                if args[:2] != ["err", "errlen"]:
                    continue
                if m.group(1) == "acrt__cap_cfg_error":
                    continue  # the wrapper under each cfg_error
                lits = [a for a in args[2:] if '"' in a]
                if not lits:
                    continue  # a wrapper passing a message on
                # snprintf's format comes first; cfg_error(err, errlen, key,
                # what)'s message last
                fmt = lits[0] if m.group(1).endswith("printf") else lits[-1]
            else:
                fmt = args[fmt_index]
            key = (os.path.basename(path), format_key(fmt))
            line = text.count("\n", 0, m.start()) + 1
            found.setdefault(key, "%s:%d" % (os.path.relpath(path, src), line))

    for d in sorted(glob.glob(os.path.join(src, "src", "*", ""))):
        name = os.path.basename(os.path.dirname(d))
        if name in NOT_RUNTIME:
            continue
        for path in sorted(glob.glob(os.path.join(d, "**", "*.c"), recursive=True)):
            scan(path, "acrt__log", 4, "ACRT_LOG_ERROR")
            scan(path, "batching_error", 1)
            scan(path, "acrt_fail", 1)
            if name == "capability":
                scan(path, r"[A-Za-z_]\w*", None)
    return found


def read_table(path):
    """messages.tsv: FILE<TAB>FORMAT<TAB>CLASS<TAB>DETAIL; '#' lines and blank
    lines are comments."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 4:
                print("%s:%d: expected 4 tab-separated columns, got %d" % (path, n, len(cols)))
                sys.exit(1)
            rows[(cols[0], cols[1])] = (cols[2], cols[3], n)
    return rows


def main():
    src = sys.argv[1]
    found = sites(src)
    if len(sys.argv) < 3:
        for (f, fmt), where in sorted(found.items()):
            print("%s\t%s\t%s" % (f, fmt, where))
        return 0
    table = read_table(sys.argv[2])
    bad = 0
    for key, where in sorted(found.items()):
        if key not in table:
            print("missing: %s: %s\t%s (not in the table: classify it)" % (where, key[0], key[1]))
            bad += 1
    for key, (_, _, n) in sorted(table.items(), key=lambda kv: kv[1][2]):
        if key not in found:
            print("stale: messages.tsv:%d: %s\t%s (no such call site any more)" % (n, key[0], key[1]))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
