#!/usr/bin/env python3
"""Prints the public API shape of a uniffi-generated Swift file, one declaration a line.

Used by scripts/swift-check.sh to compare the generated Swift bindings against the
committed snapshot ios/api-shape.txt. A line is `<Enclosing type>: <declaration>` for
members and `<declaration>` for top-level items; enum cases are listed under their enum.
uniffi's own plumbing (FfiConverter*, uniffi*, NoHandle, RustBuffer, ...) is left out, so
the snapshot changes when the exported API changes, not when uniffi's internals do.

Usage: swift_api_shape.py FILE.swift [FILE.swift ...]  (the files of one Swift module)
"""
import re
import sys

PLUMBING = re.compile(
    r"FfiConverter|uniffi|NoHandle|RustBuffer|ForeignBytes|RustCallStatus|UniffiInternalError"
)
DECL = re.compile(
    r"\b(?:public|open)\s+(?:(?:static|class|convenience|required|final|override)\s+)*"
    r"(?:func|init|protocol|enum|class|struct|var|let|typealias)\b"
)
TYPE_DECL = re.compile(r"\b(?:protocol|enum|class|struct|extension)\s+(\w+)")
CASE = re.compile(r"\bcase\s+([A-Za-z_]\w*)")
REQUIREMENT = re.compile(r"\b(?:(?:static|mutating)\s+)*(?:func|init|var)\b")


def strip(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', src)
    src = re.sub(r"//[^\n]*", " ", src)
    # `public \nenum X` -> `public enum X`
    src = re.sub(r"\b(public|open)[ \t]*\n\s*", r"\1 ", src)
    return src


def norm(text: str) -> str:
    """One declaration on one line, with uniform spacing."""
    text = " ".join(text.split())
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    text = re.sub(r"\)(async|throws)", r") \1", text)
    return text


def header_end(src: str, start: int) -> int:
    """Index of the `{` or newline that ends the declaration header starting at `start`."""
    depth = 0
    i = start
    while i < len(src):
        c = src[i]
        if c in "([<":
            depth += 1
        elif c in ")]>" and not (c == ">" and src[i - 1] == "-"):
            depth -= 1
        elif depth <= 0 and (c == "{" or c == "\n"):
            # a newline inside an unfinished signature (`->` or `,` pending) continues it
            tail = src[start:i].rstrip()
            if c == "\n" and (tail.endswith("->") or tail.endswith(",")):
                i += 1
                continue
            return i
        i += 1
    return i


def shape(src: str) -> list[str]:
    src = strip(src)
    out = []
    # stack of (name, brace depth at which its body opened, kind of a public type or "")
    stack: list[tuple[str, int, str]] = []
    depth = 0
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "{":
            depth += 1
            i += 1
            continue
        if c == "}":
            depth -= 1
            while stack and stack[-1][1] > depth:
                stack.pop()
            i += 1
            continue
        m = DECL.match(src, i) if (c in "po" and (i == 0 or not src[i - 1].isalnum())) else None
        t = TYPE_DECL.match(src, i) if (c in "pecs" and (i == 0 or not src[i - 1].isalnum())) else None
        cm = CASE.match(src, i) if (c == "c" and (i == 0 or not src[i - 1].isalnum())) else None
        in_body = bool(stack) and stack[-1][1] == depth
        rq = (
            REQUIREMENT.match(src, i)
            if in_body and stack[-1][2] == "protocol" and (i == 0 or not src[i - 1].isalnum())
            else None
        )
        if rq and not m:
            end = header_end(src, i)
            out.append(f"{stack[-1][0]}: " + norm(src[i:end]))
            i = end
            continue
        if m or t:
            end = header_end(src, i)
            header = norm(src[i:end])
            tm = TYPE_DECL.search(header)
            owner = stack[-1][0] if stack else ""
            plumbing = PLUMBING.search(header) or PLUMBING.search(owner)
            if m and not plumbing:
                out.append(f"{owner}: {header}" if owner else header)
            if tm and end < n and src[end] == "{":
                km = re.search(r"\b(enum|protocol)\b", header)
                kind = km.group(1) if (m and km and not plumbing) else ""
                name = tm.group(1)
                stack.append((name if not plumbing else "uniffi:" + name, depth + 1, kind))
            i = end
            continue
        if cm and in_body and stack[-1][2] == "enum":
            end = header_end(src, i)
            out.append(f"{stack[-1][0]}: " + norm(src[i:end]))
            i = end
            continue
        i += 1
    return sorted(set(out))


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    lines = set()
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            lines.update(shape(f.read()))
    for line in sorted(lines):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
