"""Reading one string field of a JSON object as its text arrives: the `line` of a structured
reply (`{"line": "...", "actions": [...]}`, sidecar/llm/tools.py), so a provider without
tool calls streams its words like any other instead of holding them until the JSON ends.

`FieldReader.feed(chunk)` returns the newly decoded text of the field's value (escapes
decoded: `\\n`, `\\"`, `\\u00e9`, surrogate pairs), in any chunking: the concatenation of
what it returns equals `json.loads(text)[key]` for a valid object whose key occurs once.
Only the top-level object is read, up to the field's closing quote; other values before it
(nested objects, arrays, strings holding braces) are skipped without being decoded. It does
not validate the whole document: the caller parses the finished text, and compares (a
duplicate key makes json.loads keep the last one; the reader streamed the first).

States it ends in: `complete` (the value's closing quote was read), `failed` (the text is
not an object with that key as a string: a control character in the string, a bad escape,
a non-object, a non-string value), or neither (the text stopped early).
"""

from __future__ import annotations

import re
from enum import Enum, auto

_WS = " \t\n\r"
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")
_PLAIN = re.compile(r'[^"\\\x00-\x1f]+')
"""Characters a JSON string holds as they are (no quote, backslash or control character)."""


class _S(Enum):
    START = auto()  # before the object's "{"
    KEY = auto()  # before a key, or the closing "}"
    COLON = auto()
    VALUE = auto()  # before a value
    TARGET = auto()  # inside the wanted string value
    SKIP = auto()  # inside another value
    AFTER = auto()  # after a value: "," or "}"
    DONE = auto()
    FAILED = auto()


class _Str:
    """A JSON string's body, decoded incrementally (after its opening quote)."""

    def __init__(self) -> None:
        self.escape = ""  # "" outside an escape; else "\\" and what followed so far
        self.high = ""  # a high surrogate held until we know whether a low one follows
        self.closed = False
        self.bad = False

    def feed(self, ch: str) -> str:
        """The decoded text `ch` completes ("" when it only continues an escape)."""
        if self.escape:
            return self._escaped(ch)
        if ch == "\\":
            self.escape = "\\"
            return ""
        out, self.high = self.high, ""
        if ch == '"':
            self.closed = True
            return out
        if ch < " ":
            self.bad = True  # json.loads (strict) refuses a raw control character
            return ""
        return out + ch

    def _escaped(self, ch: str) -> str:
        self.escape += ch
        if len(self.escape) == 2:
            if ch == "u":
                return ""
            self.escape = ""
            simple = _SIMPLE_ESCAPES.get(ch)
            if simple is None:
                self.bad = True
                return ""
            out, self.high = self.high, ""
            return out + simple
        if ch not in _HEX:
            self.bad = True
            return ""
        if len(self.escape) < 6:
            return ""
        code = int(self.escape[2:], 16)
        self.escape = ""
        if self.high and 0xDC00 <= code <= 0xDFFF:
            pair = 0x10000 + ((ord(self.high) - 0xD800) << 10) + (code - 0xDC00)
            self.high = ""
            return chr(pair)
        out = self.high
        self.high = ""
        if 0xD800 <= code <= 0xDBFF:
            self.high = chr(code)
            return out
        return out + chr(code)


class FieldReader:
    def __init__(self, key: str = "line") -> None:
        self.key = key
        self._state = _S.START
        self._str: _Str | None = None
        self._reading_key = False
        self._key_text: list[str] = []
        self._found = False
        self._opened = False
        # Skipping a value: nesting depth, inside a string, after a backslash in one.
        self._depth = 0
        self._in_string = False
        self._escaped = False

    @property
    def complete(self) -> bool:
        """The wanted value was read to its closing quote."""
        return self._found and self._state not in (_S.TARGET, _S.FAILED)

    @property
    def failed(self) -> bool:
        return self._state is _S.FAILED

    @property
    def started(self) -> bool:
        """The text began as a JSON object (its first non-space character is "{")."""
        return self._opened

    def feed(self, chunk: str) -> str:
        out: list[str] = []
        i, n = 0, len(chunk)
        while i < n and self._state not in (_S.DONE, _S.FAILED):
            s = self._str
            if self._state is _S.TARGET and s is not None and not s.escape and not s.high:
                # A run of plain characters of the line is copied as one slice.
                m = _PLAIN.match(chunk, i)
                if m is not None:
                    out.append(m.group())
                    i = m.end()
                    continue
            out.append(self._step(chunk[i]))
            i += 1
        return "".join(out)

    def _fail(self) -> str:
        self._state = _S.FAILED
        return ""

    def _step(self, ch: str) -> str:
        s = self._state
        if self._str is not None:
            return self._string(ch)
        if s is _S.START:
            if ch in _WS:
                return ""
            if ch != "{":
                return self._fail()
            self._opened = True
            self._state = _S.KEY
            return ""
        if s is _S.KEY:
            if ch in _WS:
                return ""
            if ch == "}":
                self._state = _S.DONE
                return ""
            if ch != '"':
                return self._fail()
            self._str, self._reading_key, self._key_text = _Str(), True, []
            return ""
        if s is _S.COLON:
            if ch in _WS:
                return ""
            if ch != ":":
                return self._fail()
            self._state = _S.VALUE
            return ""
        if s is _S.VALUE:
            if ch in _WS:
                return ""
            wanted = "".join(self._key_text) == self.key and not self._found
            if wanted:
                if ch != '"':
                    return self._fail()  # the line is not a string: not the reply asked for
                self._found = True
                self._state = _S.TARGET
                self._str, self._reading_key = _Str(), False
                return ""
            self._state = _S.SKIP
            self._depth, self._in_string, self._escaped = 0, False, False
            return self._skip(ch)
        if s is _S.SKIP:
            return self._skip(ch)
        if s is _S.AFTER:
            if ch in _WS:
                return ""
            if ch == ",":
                self._state = _S.KEY
            elif ch == "}":
                self._state = _S.DONE
            else:
                return self._fail()
            return ""
        return ""

    def _string(self, ch: str) -> str:
        assert self._str is not None
        text = self._str.feed(ch)
        if self._str.bad:
            self._str = None
            return self._fail()
        closed = self._str.closed
        if closed:
            self._str = None
        if self._reading_key:
            self._key_text.append(text)
            if closed:
                self._state = _S.COLON
            return ""
        if closed:
            self._state = _S.DONE  # the rest of the object is the caller's to parse
        return text

    def _skip(self, ch: str) -> str:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif ch == "\\":
                self._escaped = True
            elif ch == '"':
                self._in_string = False
                if self._depth == 0:
                    self._state = _S.AFTER
            return ""
        if ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            if self._depth == 0:
                # The end of a scalar value at the object's own level ("n": 5}).
                self._state = _S.AFTER
                return self._step(ch)
            self._depth -= 1
            if self._depth == 0:
                self._state = _S.AFTER
        elif ch == "," and self._depth == 0:
            self._state = _S.AFTER
            return self._step(ch)
        return ""


__all__ = ["FieldReader"]
