"""The size limits of persona files, and the cheap pre-scan that enforces them.

Persona files come from modders, and a mod may be careless or hostile. `tomllib` is
recursive (500 nested arrays raise `RecursionError`), converts numbers with `int()` (5,000
digits raise `ValueError`), and, like `locate.scan` and pydantic, takes time and memory in
proportion to what it is given. Before any of them sees a text, `first_excess` walks it once
with one regular expression (strings and comments skipped) and refuses the first thing that
goes past a limit below. So a hostile file costs a bounded amount of work and one problem,
and the parser is never handed anything deep enough to recurse out of the stack.

The limits are far beyond any real persona. The five sample NPCs (personas/*.toml) measure
at most: 21.6 KB, 334 lines, 40 tables, 107 keys, 343 array elements, nesting depth 7 (the
deepest the format uses: an action argument's `enum` values), a 631-character string and a
21-character bare key. The schema
(model.py) caps most fields well below these limits; these bound the work done before the
schema can speak, and what it leaves open (how many topics, opinions or relationships). They
are documented for modders in personas/README.md ("Size limits"), which a test keeps in step
with `Limits`.

The pre-scan is a guard, not a parser: on text it does not understand it stops and leaves
the verdict to `tomllib` (which the loader still wraps in a broad `except`, as a last line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one persona file, and one personas folder, may hold."""

    file_bytes: int = 256 * 1024
    """Bytes in one file (checked by `stat` before it is read)."""
    lines: int = 10_000
    depth: int = 16
    """How deep a value may sit: each part of a table header or dotted key, each array and
    each inline table is one level (`[topics.rain]` + `lines = [...]` + an element is 4)."""
    tables: int = 1_000
    """`[headers]`, `[[array tables]]` and `{ inline tables }` together."""
    keys: int = 5_000
    """`key = value` pairs, inline tables' included."""
    array_elements: int = 10_000
    """Elements of all arrays together."""
    string_chars: int = 10_000
    """Characters in one string (quoted keys too; the schema's longest field takes 8,000)."""
    word_chars: int = 256
    """Characters in one bare word: a number, date, `true`/`false` or unquoted key."""
    files: int = 1_000
    """`*.toml` files in one personas folder; those after the first (by name) are not read."""
    problems_per_file: int = 20
    """Problems reported for one file; the rest are counted in one last problem."""


LIMITS = Limits()


@dataclass(frozen=True)
class Excess:
    """The first thing in a text that goes past a limit: where, and what to tell the modder."""

    line: int
    message: str


_TOKEN = re.compile(
    r"""
      (?P<nl>(?:\#[^\n]*)?\n(?:[ \t\r]*(?:\#[^\n]*)?\n)*)  # newlines, blank and comment lines: one token
    | (?P<comment>\#[^\n]*)
    | (?P<mlstring>\"\"\"(?:[^"\\]+|\\[\s\S]?|"(?!""))*(?:"{3,5}|\Z)
                  |'''(?:[^']+|'(?!''))*(?:'{3,5}|\Z))
    | (?P<string>"(?:[^"\\\n]+|\\[^\n]?)*(?:"|(?=\n)|\Z)
                |'[^'\n]*(?:'|(?=\n)|\Z))
    | (?P<word>[A-Za-z0-9_+\-:]+(?:\.[A-Za-z0-9_+\-:]+)*)  # a dotted bare key, or a float or time
    | (?P<punct>[\[\]{}=,.])
    """,
    re.VERBOSE,
)


def first_excess(text: str, limits: Limits = LIMITS) -> Excess | None:
    """The first place where `text` goes past `limits`, or None if it stays inside them.

    Never raises and reads `text` once. It does not judge TOML syntax: where the text stops
    making sense (a stray `]`, `=` or `,`) it returns None and lets `tomllib` report the error,
    which then happens before anything deep or large is reached.
    """
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines > limits.lines:
        return Excess(limits.lines + 1, f"more than {limits.lines:,} lines; {_LIMIT_HINT}")
    return _Walk(text, limits).run()


_LIMIT_HINT = 'see "Size limits" in personas/README.md'


class _Walk:
    """One pass over the tokens, tracking just enough TOML to know each value's depth."""

    def __init__(self, text: str, limits: Limits) -> None:
        self.text = text
        self.limits = limits
        self.tables = 0
        self.keys = 0
        self.elements = 0
        # open arrays/inline tables: (kind, depth of the container itself)
        self.stack: list[tuple[str, int]] = []
        self.table_depth = 0  # depth of the table the last [header] opened
        self.expect_key = True
        self.key_parts = 0
        self.in_header = False  # between the [ and ] of a table header (its parts go to key_parts)
        self.after_value = False

    def line_at(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def excess(self, pos: int, message: str) -> Excess:
        return Excess(self.line_at(pos), f"{message}; {_LIMIT_HINT}")

    def container_depth(self) -> int:
        return self.stack[-1][1] if self.stack else self.table_depth

    def run(self) -> Excess | None:
        for m in _TOKEN.finditer(self.text):
            kind = m.lastgroup
            if kind == "nl":
                if not self.stack:
                    self.expect_key, self.key_parts, self.after_value = True, 0, False
                continue
            if kind == "comment":
                continue
            tok, pos = m.group(), m.start()
            found: Excess | None | bool
            if kind == "word":
                found = self.word(tok, pos)
            elif kind == "punct":
                found = self.punct(tok, pos)
            else:
                found = self.string(tok, pos)
            if found is not None:
                return found if isinstance(found, Excess) else None  # False: not TOML here (tomllib says so)
        return None

    # Each step returns an Excess to refuse, False when the text stops being TOML, None to go on.

    def part(self, pos: int, parts: int = 1) -> Excess | None:
        """One part of a key or header (`a`, `"b c"`), or a run of dotted bare ones."""
        self.key_parts += parts
        base = 0 if self.in_header else self.container_depth()
        if base + self.key_parts > self.limits.depth:
            return self.excess(pos, f"nested more than {self.limits.depth} levels deep")
        return None

    def value(self, pos: int) -> Excess | None:
        self.after_value = True
        if self.stack and self.stack[-1][0] == "[":
            self.elements += 1
            if self.elements > self.limits.array_elements:
                return self.excess(pos, f"more than {self.limits.array_elements:,} array elements")
        return None

    def string(self, tok: str, pos: int) -> Excess | None | bool:
        quotes = 3 if tok[:3] in ('"""', "'''") else 1
        if len(tok) - 2 * quotes > self.limits.string_chars:
            return self.excess(pos, f"a string of more than {self.limits.string_chars:,} characters")
        return self.part(pos) if self.expect_key or self.in_header else self.value(pos)

    def word(self, tok: str, pos: int) -> Excess | None | bool:
        in_key = self.expect_key or self.in_header
        if in_key:
            found = self.part(pos, tok.count(".") + 1)
            if found is not None:
                return found
        if len(tok) > self.limits.word_chars:
            longest = max(len(part) for part in tok.split(".")) if in_key else len(tok)
            if longest > self.limits.word_chars:
                return self.excess(
                    pos,
                    f"a number, date or bare key of {longest:,} characters "
                    f"(at most {self.limits.word_chars} outside quotes)",
                )
        if in_key or self.after_value:
            return None  # after a value: the rest of it, as in `1979-05-27 07:32:00`
        return self.value(pos)

    def punct(self, tok: str, pos: int) -> Excess | None | bool:
        if tok == ".":
            return None  # separates key parts, or sits inside a float or time
        if tok == "[":
            return self.open_bracket(pos)
        if tok == "{":
            return self.open_brace(pos)
        if tok in "]}":
            return self.close(tok, pos)
        if tok == "=":
            if not self.expect_key or self.in_header or not self.key_parts:
                return False
            self.keys += 1
            if self.keys > self.limits.keys:
                return self.excess(pos, f"more than {self.limits.keys:,} keys")
            self.expect_key = False
            self.after_value = False
            return None
        # ","
        if not self.stack or not self.after_value:
            return False
        self.after_value = False
        if self.stack[-1][0] == "{":
            self.expect_key, self.key_parts = True, 0
        return None

    def open_bracket(self, pos: int) -> Excess | None | bool:
        if self.in_header:
            return None if pos > 0 and self.text[pos - 1] == "[" else False  # the second [ of [[
        if not self.stack and self.expect_key and not self.key_parts:
            self.in_header = True
            self.key_parts = 0
            return self.count_table(pos)
        if self.expect_key:
            return False
        depth = self.value_depth()
        found = self.value(pos)
        if found is not None:
            return found
        if depth + 1 > self.limits.depth:
            return self.excess(pos, f"nested more than {self.limits.depth} levels deep")
        self.stack.append(("[", depth))
        self.after_value = False
        return None

    def open_brace(self, pos: int) -> Excess | None | bool:
        if self.expect_key or self.in_header:
            return False
        depth = self.value_depth()
        found = self.value(pos) or self.count_table(pos)
        if found is not None:
            return found
        self.stack.append(("{", depth))
        self.expect_key, self.key_parts, self.after_value = True, 0, False
        return None

    def value_depth(self) -> int:
        """The depth of a value starting here: in an array one below it, after a key below
        the key's last part."""
        if self.stack and self.stack[-1][0] == "[":
            return self.stack[-1][1] + 1
        return self.container_depth() + self.key_parts

    def count_table(self, pos: int) -> Excess | None:
        self.tables += 1
        if self.tables > self.limits.tables:
            return self.excess(pos, f"more than {self.limits.tables:,} tables ([headers] and {{ inline tables }})")
        return None

    def close(self, tok: str, pos: int) -> Excess | None | bool:
        if self.in_header and tok == "]":
            if not self.key_parts:
                return False
            array_of_tables = pos + 1 < len(self.text) and self.text[pos + 1] == "]"
            self.table_depth = self.key_parts + (1 if array_of_tables else 0)
            if self.table_depth > self.limits.depth:
                return self.excess(pos, f"nested more than {self.limits.depth} levels deep")
            self.in_header = False
            self.expect_key, self.key_parts = False, 0
            self.after_value = True  # only a newline may follow (the second ] is skipped)
            return None
        if not self.in_header and not self.stack and tok == "]" and self.text[pos - 1] == "]":
            return None  # the second ] of [[header]]
        want = "[" if tok == "]" else "{"
        if not self.stack or self.stack[-1][0] != want:
            return False
        if want == "{" and self.expect_key and self.key_parts:
            return False  # a key without a value
        self.stack.pop()
        self.expect_key, self.after_value = False, True
        if self.stack and self.stack[-1][0] == "{":
            self.key_parts = 0
        return None


__all__ = ["LIMITS", "Excess", "Limits", "first_excess"]
