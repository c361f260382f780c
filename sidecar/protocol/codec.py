"""msgpack framing: one ZeroMQ frame = one msgpack map (engine_bindings/PROTOCOL.md §3).

The one rule for what a frame is worth (§3 "Dropped or answered"):

- **unreadable** (`FrameError`, dropped and logged): the bytes are not exactly one complete
  msgpack value: empty, truncated, bytes left after the value, the never-used byte 0xc1,
  or arrays/maps nested deeper than `MAX_DEPTH`. Nothing in such bytes can be trusted, not
  even an `id` that happens to come first (a truncated frame's id may itself be cut).
- **readable but not protocol** (`UnsupportedValue`, a `bad_request` reply): one complete
  msgpack value holding something the protocol never uses: an ext value (timestamps
  included), a str that is not valid UTF-8, or a map key that is not a str. The reply
  carries the envelope's `id` when it can be read (`request_id`), else 0.
- everything else is returned as Python values, for the envelope and args models to judge.
"""

from __future__ import annotations

import re
from typing import Any

import msgpack

MAX_FRAME_BYTES = 256 * 1024
"""The socket's ZMQ_MAXMSGSIZE. libzmq drops the connection of a peer that sends a bigger
frame (the peer reconnects); the largest legal request (a 2,000-character line of 4-byte
UTF-8 plus envelope) is under 9 KiB, so this leaves room without letting a client make the
sidecar buffer megabytes."""

MAX_DEPTH = 1024
"""Deepest nesting of arrays/maps a readable frame may have: msgpack-python's own fixed
parser stack (it cannot be configured). Protocol frames nest fewer than 8 levels."""

MAX_ID = 2**53
"""Largest request id (PROTOCOL.md §3): every JSON number and every double holds it."""

_PATH_PART_CHARS = 64
"""A map key is cut to this many characters when it names a field in an error message."""

# Python's strict UTF-8 decoder never yields lone surrogates, and `surrogateescape` maps
# each byte it cannot decode to U+DC80..U+DCFF: such a character marks invalid UTF-8.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


class FrameError(ValueError):
    """The bytes are not one well-formed msgpack value: the frame is dropped and logged."""


class UnsupportedValue(ValueError):
    """A readable frame holds a value the protocol never uses: the server answers it with
    `bad_request` (`message`, `details`), carrying `request_id` (the envelope's id if
    usable, else 0)."""

    def __init__(self, request_id: int, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.request_id = request_id
        self.message = f"{field}: {problem}"
        self.details: dict[str, Any] = {"errors": [{"field": field, "problem": problem}]}


_PLAIN_SCALARS = frozenset({int, float, bool, type(None), bytes})


class _ContainerKey:
    """Stands in for an array or map used as a map key (Python cannot hash those), so the
    frame can still be read and the key reported as the problem."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]


def request_id(raw: Any) -> int:
    """The id a reply to the decoded frame `raw` carries: its `id` when that is an int
    (not a bool) in 0..2^53, else 0 (PROTOCOL.md §3)."""
    value = raw.get("id") if isinstance(raw, dict) else None
    return _usable_id(value)


def unpack(frame: bytes) -> Any:
    """Decode one frame.

    Raises FrameError for bytes that are not one complete msgpack value (dropped), and
    UnsupportedValue for a readable value the protocol does not use (answered).

    Plain frames (every well-behaved client's) take one strict pass in msgpack's C code;
    only a frame that pass refuses is read again, carefully, to tell which kind it is."""
    try:
        raw = msgpack.unpackb(frame, raw=False, strict_map_key=True, ext_hook=_refuse_ext)
    except Exception:  # not plain: the careful reading says whether it is dropped or answered
        return _read_carefully(frame)
    # What the strict pass lets through: timestamps (ext type -1 bypasses ext_hook; every
    # encoding of one holds the byte 0xff, which UTF-8 never does) and bin map keys (a bin
    # header is 0xc4-0xc6). Only a frame with such a byte needs the walk.
    if b"\xff" in frame or b"\xc4" in frame or b"\xc5" in frame or b"\xc6" in frame:
        problem = _first_problem(raw, check_strs=False)
        if problem is not None:
            raise UnsupportedValue(request_id(raw), *problem)
    return raw


class _NotPlain(Exception):
    """Raised inside the strict pass: the frame needs the careful reading."""


def _refuse_ext(code: int, data: bytes) -> Any:
    raise _NotPlain


def _read_carefully(frame: bytes) -> Any:
    """A frame the strict pass refused: FrameError if it is not one complete value, else
    UnsupportedValue naming the first value the protocol does not use."""
    _check_structure(frame)
    try:
        raw = msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=False,
            unicode_errors="surrogateescape",
            object_pairs_hook=_map_from_pairs,
        )
    except Exception as exc:  # well-formed, yet msgpack-python refuses a value (e.g. a bad timestamp)
        raise UnsupportedValue(_id_by_stream(frame), "(frame)", f"a value msgpack cannot decode ({exc})") from exc
    problem = _first_problem(raw)
    if problem is not None:
        raise UnsupportedValue(request_id(raw), *problem)
    return raw


def _check_structure(frame: bytes) -> None:
    """FrameError unless `frame` is exactly one complete msgpack value within MAX_DEPTH.

    `skip` walks the bytes without building anything (no UTF-8, ext or key checks), so only
    the structure decides whether a frame is dropped."""
    if not frame:
        raise FrameError("empty frame")
    unpacker = msgpack.Unpacker(max_buffer_size=MAX_FRAME_BYTES + 1)
    try:
        unpacker.feed(frame)
        unpacker.skip()
    except msgpack.OutOfData as exc:
        raise FrameError("truncated msgpack") from exc
    except msgpack.StackError as exc:
        raise FrameError(f"nested deeper than {MAX_DEPTH} levels") from exc
    except msgpack.FormatError as exc:
        raise FrameError(f"invalid msgpack ({exc or 'the never-used byte 0xc1'})") from exc
    except Exception as exc:  # msgpack raises a few other types on hostile input
        raise FrameError(f"{type(exc).__name__}: {exc}") from exc
    trailing = len(frame) - unpacker.tell()
    if trailing:
        raise FrameError(f"{trailing} bytes after the frame's value")


def _map_from_pairs(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in pairs:
        if isinstance(key, list):
            key = _ContainerKey("an array")
        elif isinstance(key, dict):
            key = _ContainerKey("a map")
        out[key] = value
    return out


def _first_problem(raw: Any, *, check_strs: bool = True) -> tuple[str, str] | None:
    """(field, problem) of a value the protocol never uses (scalars of a container before
    its nested containers). Iterative, so a frame nested MAX_DEPTH deep cannot exhaust
    Python's stack; a path is built only for containers, so long arrays stay cheap.
    `check_strs=False`: the strs were decoded strictly, so they are UTF-8 already."""
    skip = _PLAIN_SCALARS if check_strs else _PLAIN_SCALARS | {str}
    problem = _value_problem(raw)
    if problem is not None:
        return "(root)", problem
    stack: list[tuple[tuple[str, ...], Any]] = [((), raw)] if type(raw) in (dict, list) else []
    while stack:
        path, node = stack.pop()
        is_map = type(node) is dict
        for key, item in node.items() if is_map else enumerate(node):
            if is_map:
                key_problem = _key_problem(key)
                if key_problem is not None:
                    return _field(path), key_problem
            kind = type(item)
            if kind in skip:
                continue
            if kind is dict or kind is list:
                stack.append(((*path, _path_part(key)), item))
            else:
                problem = _value_problem(item)
                if problem is not None:
                    return _field((*path, _path_part(key))), problem
    return None


def _value_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return "a str that is not valid UTF-8" if _ESCAPED_BYTE.search(value) else None
    if isinstance(value, msgpack.Timestamp):
        return "a msgpack timestamp (ext type -1): ext types are not part of the protocol"
    if isinstance(value, msgpack.ExtType):
        return f"msgpack ext type {value.code}: ext types are not part of the protocol"
    return None


def _key_problem(key: Any) -> str | None:
    if isinstance(key, _ContainerKey):
        return f"{key.kind} as a map key: map keys are str"
    if not isinstance(key, str):
        inner = _value_problem(key)
        return inner or f"a map key of type {_wire_type(key)}: map keys are str"
    if _ESCAPED_BYTE.search(key):
        return "a map key that is not valid UTF-8"
    return None


def _wire_type(value: Any) -> str:
    if value is None:
        return "nil"
    return {bool: "bool", int: "int", float: "float", bytes: "bin"}.get(type(value), type(value).__name__)


def _path_part(key: Any) -> str:
    """A map key (a str, checked) or an array index, as one part of a field's name."""
    part = str(key)
    return part if len(part) <= _PATH_PART_CHARS else part[:_PATH_PART_CHARS] + "…"


def _field(path: tuple[str, ...]) -> str:
    return ".".join(path) or "(root)"


def _usable_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
        return value
    return 0


_ID_KEYS = frozenset({b"\xa2id", b"\xd9\x02id", b"\xda\x00\x02id", b"\xdb\x00\x00\x00\x02id"})
"""The key "id" in each str format: what `_id_by_stream` compares bytes with."""


def _id_by_stream(frame: bytes) -> int:
    """The usable id of a readable frame some value of which msgpack-python cannot decode.

    Walks the top-level map with `skip` (nothing decoded), compares each key's bytes with
    the key "id", and decodes only the last id's value: the same last-one-wins as a dict."""
    unpacker = msgpack.Unpacker(max_buffer_size=MAX_FRAME_BYTES + 1)
    unpacker.feed(frame)
    try:
        entries = unpacker.read_map_header()
    except Exception:  # not a map: no id
        return 0
    found: bytes | None = None
    for _ in range(entries):  # the structure was checked: skip cannot fail
        start = unpacker.tell()
        unpacker.skip()
        key = frame[start : unpacker.tell()]
        start = unpacker.tell()
        unpacker.skip()
        if key in _ID_KEYS:
            found = frame[start : unpacker.tell()]
    if found is None:
        return 0
    try:
        value = msgpack.unpackb(found)
    except Exception:  # the id itself is the value that cannot be decoded
        return 0
    return _usable_id(value)


__all__ = ["MAX_DEPTH", "MAX_FRAME_BYTES", "MAX_ID", "FrameError", "UnsupportedValue", "pack", "request_id", "unpack"]
