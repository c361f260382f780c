"""Where in a TOML text each key (and each array element) is defined.

`tomllib` gives plain dicts without positions, and pydantic reports a problem as a path such
as `("topics", "weather", "lines", 2)`. Modders need a line number, so this module scans the
text once and maps every path it can see to the 1-based line that defines it:

- `[a.b]` headers and `[[a]]` array-of-tables entries (`("a", 0)`, `("a", 1)`, …),
- keys, bare, quoted and dotted (`a.b = 1` defines `("a",)` and `("a", "b")`),
- the elements of (multi-line, nested) arrays and the keys of inline tables,
- while skipping strings (all four kinds, multi-line ones included) and comments.

It is deliberately tolerant: it never raises on any input (the loader calls it on broken
files too), it always terminates, and on text it does not understand it skips to the next
line. The result is only a position hint; `tomllib` stays the authority on what is valid.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PathPart = str | int
Path = tuple[PathPart, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_MAX_DEPTH = 64


@dataclass(frozen=True)
class KeyLines:
    """The result of `scan`: path → line, plus hints for syntax errors.

    `lines` keeps the first line a path was seen on. `redefined` lists paths defined a second
    time (with that second line). `unclosed` is the line where a string, array or inline table
    that never closed was opened (tomllib reports those "at end of document").
    """

    lines: Mapping[Path, int] = field(default_factory=dict)
    redefined: Mapping[Path, int] = field(default_factory=dict)
    unclosed: int | None = None

    def line_of(self, loc: Sequence[PathPart], *, default: int = 1) -> int:
        """The line of the longest prefix of `loc` that the text defines.

        A missing key therefore points at its table's header (or the line that first
        mentioned the table), and a key of the root table that is missing points at
        `default`.
        """
        path = tuple(loc)
        while path:
            line = self.lines.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return default


def scan(text: str) -> KeyLines:
    """Map every key path defined in `text` to its line. Never raises."""
    scanner = _Scanner(text)
    try:
        scanner.document()
    except RecursionError:  # pragma: no cover - depth is bounded; belt and braces
        pass
    return KeyLines(dict(scanner.lines), dict(scanner.redefined), scanner.unclosed)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.newlines = [k for k, c in enumerate(text) if c == "\n"]
        self.lines: dict[Path, int] = {}
        self.redefined: dict[Path, int] = {}
        self.unclosed: int | None = None
        self.aot: dict[Path, int] = {}  # array-of-tables path → index of its last entry
        self.table: Path = ()

    # -- low level -------------------------------------------------------------------------

    @property
    def line(self) -> int:
        """The 1-based line of the current position (so moving `i` never miscounts)."""
        return bisect_left(self.newlines, self.i) + 1

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def advance(self, k: int = 1) -> None:
        self.i = min(self.i + k, self.n)

    def skip_ws(self) -> None:
        while self.i < self.n and self.s[self.i] in " \t":
            self.i += 1

    def skip_to_eol(self) -> None:
        j = self.s.find("\n", self.i)
        self.i = self.n if j < 0 else j

    def skip_ws_comments_newlines(self) -> None:
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "\n":
                self.advance()
            elif c == "#":
                self.skip_to_eol()
            else:
                return

    def record(self, path: Path, line: int) -> None:
        if path in self.lines:
            self.redefined.setdefault(path, line)
        else:
            self.lines[path] = line

    def mention(self, path: Path, line: int) -> None:
        """A table made implicitly (by a dotted key or header); the first mention wins."""
        self.lines.setdefault(path, line)

    def resolve(self, path: Path) -> Path:
        """Insert array-of-tables indices: after `[[a]]` twice, `a.b` means `a[1].b`."""
        out: list[PathPart] = []
        for part in path:
            out.append(part)
            index = self.aot.get(tuple(out))
            if index is not None:
                out.append(index)
        return tuple(out)

    # -- grammar ---------------------------------------------------------------------------

    def document(self) -> None:
        while self.i < self.n:
            start = self.i
            self.skip_ws_comments_newlines()
            if self.i >= self.n:
                return
            if self.peek() == "[":
                self.header()
            else:
                self.keyval(self.table, depth=0)
            self.skip_ws()
            if self.peek() == "#":
                self.skip_to_eol()
            if self.i < self.n and self.peek() not in "\r\n":
                self.skip_to_eol()  # junk after a statement: tomllib will complain
            if self.i == start:  # never loop without progress
                self.advance()

    def header(self) -> None:
        line = self.line
        is_aot = self.peek(1) == "["
        self.advance(2 if is_aot else 1)
        self.skip_ws()
        keys = self.key()
        self.skip_ws()
        if not keys:
            self.skip_to_eol()
            return
        if is_aot:
            parent = self.resolve(tuple(keys[:-1]))
            base = (*parent, keys[-1])
            for k in range(1, len(parent) + 1):
                self.mention(parent[:k], line)
            self.mention(base, line)
            index = self.aot.get(base, -1) + 1
            self.aot[base] = index
            self.table = (*base, index)
            self.record(self.table, line)
            if self.peek() == "]" and self.peek(1) == "]":
                self.advance(2)
        else:
            self.table = self.resolve(tuple(keys))
            for k in range(1, len(self.table)):
                self.mention(self.table[:k], line)
            self.record(self.table, line)
            if self.peek() == "]":
                self.advance()

    def key(self) -> list[str]:
        """A dotted key; an empty list when there is none here."""
        parts: list[str] = []
        while self.i < self.n:
            c = self.peek()
            if c == '"':
                parts.append(self.basic_string_key())
            elif c == "'":
                parts.append(self.literal_string_key())
            elif c in _BARE:
                j = self.i
                while j < self.n and self.s[j] in _BARE:
                    j += 1
                parts.append(self.s[self.i : j])
                self.i = j
            else:
                break
            self.skip_ws()
            if self.peek() != ".":
                break
            self.advance()
            self.skip_ws()
        return parts

    def basic_string_key(self) -> str:
        self.advance()  # opening quote
        out: list[str] = []
        while self.i < self.n:
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\n":
                return "".join(out)  # unterminated on this line
            if c == "\\" and self.i + 1 < self.n:
                e = self.s[self.i + 1]
                if e in ("u", "U"):
                    width = 4 if e == "u" else 8
                    digits = self.s[self.i + 2 : self.i + 2 + width]
                    try:
                        out.append(chr(int(digits, 16)))
                    except (ValueError, OverflowError):
                        out.append(digits)
                    self.i += 2 + width
                    continue
                out.append(_ESCAPES.get(e, e))
                self.i += 2
                continue
            out.append(c)
            self.i += 1
        return "".join(out)

    def literal_string_key(self) -> str:
        self.advance()
        j = self.i
        while j < self.n and self.s[j] not in "'\n":
            j += 1
        value = self.s[self.i : j]
        self.i = j + 1 if j < self.n and self.s[j] == "'" else j
        return value

    def keyval(self, table: Path, depth: int) -> None:
        line = self.line
        keys = self.key()
        if not keys:
            self.skip_to_eol()
            return
        path = table
        for k in keys[:-1]:
            path = (*path, k)
            self.mention(path, line)
        path = (*path, keys[-1])
        self.record(path, line)
        self.skip_ws()
        if self.peek() != "=":
            return
        self.advance()
        self.skip_ws()
        self.value(path, depth)

    def value(self, path: Path, depth: int) -> None:
        c = self.peek()
        if depth > _MAX_DEPTH:
            self.skip_to_eol()
        elif c == "[":
            self.array(path, depth + 1)
        elif c == "{":
            self.inline_table(path, depth + 1)
        elif c == '"' or c == "'":
            self.string()
        else:
            while self.i < self.n and self.s[self.i] not in ",]}#\r\n":
                self.i += 1

    def string(self) -> None:
        q = self.peek()
        opened = self.line
        if self.peek(1) == q and self.peek(2) == q:
            self.advance(3)
            close = q * 3
            j = self.i
            while True:
                k = self.s.find(close, j)
                if k < 0:
                    self.advance(self.n - self.i)
                    self.unclosed = self.unclosed or opened
                    return
                if q == '"' and _escaped(self.s, k):
                    j = k + 1
                    continue
                break
            end = k + 3
            while end < self.n and self.s[end] == q and end - k < 5:  # up to 2 quotes of content
                end += 1
            self.advance(end - self.i)
            return
        self.advance()
        while self.i < self.n:
            c = self.s[self.i]
            if c == "\n":
                self.unclosed = self.unclosed or opened
                return
            if c == "\\" and q == '"':
                if self.peek(1) in ("\n", ""):
                    break  # a line-ending backslash does not continue a one-line string
                self.i += 2
                continue
            self.i += 1
            if c == q:
                return
        self.unclosed = self.unclosed or opened

    def array(self, path: Path, depth: int) -> None:
        opened = self.line
        self.advance()  # [
        index = 0
        while True:
            self.skip_ws_comments_newlines()
            c = self.peek()
            if c == "":
                self.unclosed = self.unclosed or opened
                return
            if c == "]":
                self.advance()
                return
            if c == ",":
                self.advance()
                continue
            if c in "}=":  # not TOML; leave it to tomllib
                self.unclosed = self.unclosed or opened
                self.advance()
                continue
            element = (*path, index)
            self.record(element, self.line)
            start = self.i
            self.value(element, depth)
            index += 1
            if self.i == start:
                self.advance()

    def inline_table(self, path: Path, depth: int) -> None:
        opened = self.line
        self.advance()  # {
        while True:
            self.skip_ws_comments_newlines()
            c = self.peek()
            if c == "":
                self.unclosed = self.unclosed or opened
                return
            if c == "}":
                self.advance()
                return
            if c == ",":
                self.advance()
                continue
            start = self.i
            if c in _BARE or c in "\"'":
                self.keyval(path, depth)
            if self.i == start:
                self.advance()


def _escaped(s: str, k: int) -> bool:
    """Whether the character at `k` is escaped by an odd run of backslashes before it."""
    run = 0
    j = k - 1
    while j >= 0 and s[j] == "\\":
        run += 1
        j -= 1
    return run % 2 == 1


__all__ = ["KeyLines", "Path", "PathPart", "scan"]
