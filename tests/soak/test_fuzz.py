"""Protocol fuzz over the real socket (issue 10, finding 5): a real `parley serve` subprocess,
a raw ZeroMQ DEALER with PLAIN credentials, frames drawn by hypothesis.

What is drawn: request envelopes for every op in `sidecar.protocol.ops.OPS` with args built
from each op's own JSON schema (so a new op is fuzzed without touching this file), either
valid in shape or broken on purpose; envelopes with odd ids, ops and fields; every msgpack
type (nil, bool, ints of every width, float 32/64, str, invalid UTF-8, bin, ext, timestamps,
arrays, maps with non-str keys, duplicate keys); nesting around the codec's depth limit;
strings near and over the field limits and frames near the 256 KiB frame limit; truncated
frames, trailing bytes and garbage.

What must hold (PROTOCOL.md §3): the server never dies and still answers `server.info`;
every readable frame gets exactly one reply, with its id (or 0), and a typed error code,
never `internal`; unreadable frames get none; and the store is unchanged: every request
that could change it is rejected by construction (`Frame.must_fail`), and the SQLite
file's rows are compared before and after.

Each frame's expected outcome comes from how it was built (this file's own encoder and
oracle), never from the sidecar's codec. Bounded in `make test`; 10^5 frames under
`make soak`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import msgpack
import msgpack.fallback
import psutil
import pytest
import soak_scale
import zmq
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from parley_client import Client, Sidecar
from sidecar.errors import ErrorCode
from sidecar.protocol import ops as P
from sidecar.protocol.codec import MAX_DEPTH, MAX_FRAME_BYTES
from sidecar.store.db import DB_FILENAME

FRAMES = soak_scale.scale(2_000, 100_000)
BATCH = 20
"""Frames per hypothesis example: sent together, then every expected reply is awaited."""
REPLY_WAIT_S = 30.0
"""How long a batch waits for its replies before they count as missing (a generous bound on
a loaded 2-core machine; the test never asserts on time). The run stops at the first batch
that waits this long, so a server that loses replies fails in one wait, not in hundreds."""

TYPED_CODES = {c.value for c in ErrorCode} - {ErrorCode.INTERNAL.value}
READ_ONLY_OPS = {
    "server.info",
    "persona.list",
    "conversation.history",
    "goal.status",
    "stats.costs",
    "request.cancel",
    "actions.list",
    "actions.pending",
    "actions.register",  # run-time registrations live in memory only, until the sidecar stops
    "memory.list",
    "conversation.list",
    "history.search",
    "save.list",
    "world.get",
    "archive.restore",  # of the ended (never archived) conversation or an unknown one: nothing to restore
}
"""Ops that may succeed during the fuzz: they change nothing stored."""
UNBREAKABLE_OPS = {"world.set"}
"""Ops whose args the broken strategy cannot break for sure: a world fact's value is any
scalar (string, boolean, number), so a "wrong type" for one arm is a valid value of another."""
ALWAYS_WRITE_OPS = {"world.set", "world.clear", "save.create", "archive.run"}
"""Ops that change the store (or the saves) with any valid args, there being no id to make
them miss (`world.clear {}` clears every fact): fuzzed only with args broken on purpose, and
left out of the odd envelopes (whose args may happen to be valid, or absent)."""


# --- the value model: plain Python plus markers for what Python values cannot say -------------


@dataclass(frozen=True)
class Wide:
    """An int written in a wider format than needed (e.g. uint 64 holding 7)."""

    value: int
    fmt: str


@dataclass(frozen=True)
class F32:
    value: float


@dataclass(frozen=True)
class RawStr:
    """A str-family value with these exact bytes (maybe not UTF-8)."""

    data: bytes


@dataclass(frozen=True)
class Ext:
    code: int
    data: bytes


@dataclass(frozen=True)
class Pairs:
    """A map as ordered pairs: any keys (arrays, maps, duplicates)."""

    items: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class Verbatim:
    """Bytes emitted as they are, with what the oracle must know about them."""

    data: bytes
    depth: int
    problem: bool


@dataclass(frozen=True)
class FreshId:
    """The envelope's id: the runner puts a unique id here (in `fmt`, if given)."""

    fmt: str | None = None


_INT_FORMATS = {
    "uint8": (b"\xcc", ">B"),
    "uint16": (b"\xcd", ">H"),
    "uint32": (b"\xce", ">I"),
    "uint64": (b"\xcf", ">Q"),
    "int8": (b"\xd0", ">b"),
    "int16": (b"\xd1", ">h"),
    "int32": (b"\xd2", ">i"),
    "int64": (b"\xd3", ">q"),
}


def _fits(value: int, fmt: str) -> bool:
    try:
        struct.pack(_INT_FORMATS[fmt][1], value)
    except struct.error:
        return False
    return True


def encode(v: Any) -> bytes:
    """msgpack by hand (the spec's formats), independent of the library the sidecar uses."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return msgpack.packb(v)  # type: ignore[no-any-return]  # canonical ints: checked by the vectors
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        return _str_header(len(v.encode("utf-8"))) + v.encode("utf-8")
    if isinstance(v, bytes):
        return _header(len(v), None, (b"\xc4", ">B"), (b"\xc5", ">H"), (b"\xc6", ">I")) + v
    if isinstance(v, list):
        return _header(len(v), 0x90, None, (b"\xdc", ">H"), (b"\xdd", ">I")) + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        return encode(Pairs(tuple(v.items())))
    if isinstance(v, Pairs):
        body = b"".join(encode(k) + encode(x) for k, x in v.items)
        return _header(len(v.items), 0x80, None, (b"\xde", ">H"), (b"\xdf", ">I")) + body
    if isinstance(v, Wide):
        tag, fmt = _INT_FORMATS[v.fmt]
        return tag + struct.pack(fmt, v.value)
    if isinstance(v, F32):
        return b"\xca" + struct.pack(">f", v.value)
    if isinstance(v, RawStr):
        return _str_header(len(v.data)) + v.data
    if isinstance(v, Ext):
        fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}.get(len(v.data))
        code = struct.pack(">b", v.code)
        if fixed is not None:
            return bytes([fixed]) + code + v.data
        return _header(len(v.data), None, (b"\xc7", ">B"), (b"\xc8", ">H"), (b"\xc9", ">I")) + code + v.data
    if isinstance(v, Verbatim):
        return v.data
    raise TypeError(f"cannot encode {type(v).__name__}")


def _str_header(n: int) -> bytes:
    return _header(n, 0xA0, (b"\xd9", ">B"), (b"\xda", ">H"), (b"\xdb", ">I"), fix_max=31)


def _header(
    n: int,
    fix: int | None,
    w8: tuple[bytes, str] | None,
    w16: tuple[bytes, str],
    w32: tuple[bytes, str],
    *,
    fix_max: int = 15,
) -> bytes:
    if fix is not None and n <= fix_max:
        return bytes([fix | n])
    if w8 is not None and n <= 0xFF:
        return w8[0] + struct.pack(w8[1], n)
    if n <= 0xFFFF:
        return w16[0] + struct.pack(w16[1], n)
    return w32[0] + struct.pack(w32[1], n)


# --- the oracle: what the sidecar must make of a value, from how it was built ------------------


def _children(v: Any) -> Iterator[Any]:
    if isinstance(v, list):
        yield from v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield x
    elif isinstance(v, Pairs):
        for k, x in v.items:
            yield k
            yield x


def depth_of(v: Any) -> int:
    """Nesting of arrays/maps, as msgpack's parser stack counts it (iterative)."""
    deepest = 0
    stack = [(v, 0)]
    while stack:
        node, above = stack.pop()
        if isinstance(node, Verbatim):
            deepest = max(deepest, above + node.depth)
        elif isinstance(node, list | dict | Pairs):
            deepest = max(deepest, above + 1)
            stack.extend((c, above + 1) for c in _children(node))
    return deepest


def _decodes_to_str(v: Any) -> bool:
    if isinstance(v, str):
        return True
    if isinstance(v, RawStr):
        return _is_utf8(v.data)
    return False


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def has_problem(v: Any) -> bool:
    """A value the protocol never uses: ext (timestamps too), a str that is not UTF-8, or a
    map key that is not a str (PROTOCOL.md §3)."""
    stack = [v]
    while stack:
        node = stack.pop()
        if isinstance(node, Ext):
            return True
        if isinstance(node, RawStr) and not _is_utf8(node.data):
            return True
        if isinstance(node, Verbatim) and node.problem:
            return True
        pairs = node.items if isinstance(node, Pairs) else tuple(node.items()) if isinstance(node, dict) else None
        if pairs is not None and any(not _decodes_to_str(k) for k, _ in pairs):
            return True
        stack.extend(_children(node))
    return False


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, Wide):
        return v.value
    return None


def _key_text(k: Any) -> str | None:
    if isinstance(k, str):
        return k
    if isinstance(k, RawStr) and _is_utf8(k.data):
        return k.data.decode("utf-8")
    return None


def reply_id_of(top: Any) -> int:
    """The id a reply must carry: the last `id` entry of the top-level map, if an int in
    0..2^53, else 0."""
    pairs = top.items if isinstance(top, Pairs) else tuple(top.items()) if isinstance(top, dict) else ()
    found = None
    for k, x in pairs:
        if _key_text(k) == "id":
            found = x
    n = _as_int(found)
    return n if n is not None and 0 <= n <= 2**53 else 0


# --- frames ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What hypothesis draws: a value (with FreshId slots at the top) and how to spoil it."""

    kind: str
    value: Any
    must_fail: bool = False
    """True when no correct server may accept it (so the store cannot change)."""
    spoil: str | None = None
    """None, "truncate" (cut at `cut`), "trailing" (append `extra`), "garbage" (`extra` alone)."""
    cut: int = 0
    extra: bytes = b""


@dataclass
class Frame:
    kind: str
    data: bytes
    readable: bool
    reply_id: int | None
    """The id of its one reply, or None for no reply."""
    problem: bool
    must_fail: bool
    op: str | None


def build(spec: Spec, ids: Iterator[int]) -> Frame:
    """Fills the FreshId slots, encodes, spoils, and says what the reply must be."""
    value = spec.value
    if isinstance(value, Pairs):
        value = Pairs(tuple((k, _fill(x, ids)) for k, x in value.items))
    op = _op_of(value)
    if spec.spoil == "garbage":
        return _garbage_frame(spec, ids)
    data = encode(value)
    readable = depth_of(value) <= MAX_DEPTH
    if spec.spoil == "truncate":
        data = data[: spec.cut % len(data)]  # a proper prefix of one value is never a value
        readable = False
    elif spec.spoil == "trailing":
        data += spec.extra or b"\xc0"
        readable = False
    if len(data) > MAX_FRAME_BYTES:  # would drop the connection (tested in tests/e2e): cut it
        data = data[:MAX_FRAME_BYTES]
        readable = False
    problem = readable and has_problem(value)
    return Frame(
        spec.kind,
        data,
        readable,
        reply_id_of(value) if readable else None,
        problem,
        spec.must_fail or problem or not readable,
        op,
    )


def _fill(x: Any, ids: Iterator[int]) -> Any:
    if isinstance(x, FreshId):
        n = next(ids)
        return Wide(n, x.fmt) if x.fmt and _fits(n, x.fmt) else n
    return x


def _op_of(value: Any) -> str | None:
    if not isinstance(value, Pairs):
        return None
    ops = [x for k, x in value.items if _key_text(k) == "op" and isinstance(x, str)]
    return ops[-1] if ops else None


def _garbage_frame(spec: Spec, ids: Iterator[int]) -> Frame:
    """Random bytes. Whether they are one value is asked of msgpack's pure-Python reader (not
    the C one the sidecar uses); what such bytes decode to is not predicted, so any readable
    garbage only needs one typed reply."""
    data = spec.extra
    unpacker = msgpack.fallback.Unpacker(raw=True)
    unpacker.feed(data)
    try:
        unpacker.skip()
        readable = bool(data) and unpacker.tell() == len(data)
    except Exception:  # not one value: dropped
        readable = False
    if readable and _may_carry_an_id(data):
        return Frame("garbage", b"\xc1", False, None, False, True, None)  # unpredictable: sent as a sure drop
    return Frame("garbage", data, readable, 0 if readable else None, False, True, None)


def _may_carry_an_id(data: bytes) -> bool:
    """Whether readable garbage is a map that may hold an `id` key (its reply id is then not
    0); read key by key with the pure-Python reader, values skipped."""
    if not (0x80 <= data[0] <= 0x8F or data[0] in (0xDE, 0xDF)):
        return False
    unpacker = msgpack.fallback.Unpacker(raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    unpacker.feed(data)
    try:
        for _ in range(unpacker.read_map_header()):
            if unpacker.unpack() == "id":
                return True
            unpacker.skip()
    except Exception:  # a key it cannot decode (e.g. a bad timestamp): cannot tell
        return True
    return False


# --- strategies --------------------------------------------------------------------------------

BOUNDARY_INTS = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53 - 1, 2**53, 2**53 + 1,
    2**63 - 1, 2**63, 2**64 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1,
    -(2**53), -(2**63),
]  # fmt: skip
INVALID_UTF8 = [
    b"\xff", b"\x80", b"\xc3\x28", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"\xe6\x97", b"ok\xfe", b"\xf0\x9f\xa6",
]  # fmt: skip

ints = st.one_of(st.sampled_from(BOUNDARY_INTS), st.integers(-(2**63), 2**64 - 1), st.integers(-40, 300))
wide_ints = st.sampled_from(list(_INT_FORMATS)).flatmap(
    lambda fmt: st.integers(-(2**63), 2**64 - 1).filter(lambda n, fmt=fmt: _fits(n, fmt)).map(lambda n: Wide(n, fmt))
)
floats = st.one_of(st.floats(), st.floats(width=32).map(F32), st.sampled_from([0.0, -0.0, math.inf, -math.inf, 1e308]))
texts = st.text(max_size=24)
bad_strs = st.one_of(
    st.sampled_from(INVALID_UTF8).map(RawStr),
    st.binary(min_size=1, max_size=12).map(RawStr),  # mostly invalid; the oracle decides
)
exts = st.one_of(
    st.builds(Ext, st.integers(-128, 127), st.binary(max_size=20)),
    st.sampled_from([1, 4, 8, 12, 3]).flatmap(lambda n: st.binary(min_size=n, max_size=n).map(lambda d: Ext(-1, d))),
)
timestamps = st.builds(
    lambda s, ns: Ext(-1, msgpack.Timestamp(s, ns).to_bytes()), st.integers(0, 2**34 - 1), st.integers(0, 999_999_999)
)
scalars = st.one_of(
    st.none(), st.booleans(), ints, wide_ints, floats, texts, bad_strs, st.binary(max_size=24), exts, timestamps
)
hashable_keys = st.one_of(texts, texts, ints, st.booleans(), st.none(), st.binary(max_size=8), bad_strs, floats)


def _maps(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    str_keyed = st.dictionaries(texts, children, max_size=5)
    any_keyed = st.lists(st.tuples(st.one_of(hashable_keys, children), children), max_size=5).map(
        lambda items: Pairs(tuple(items))
    )
    return st.one_of(str_keyed, any_keyed)


values = st.recursive(
    scalars, lambda children: st.one_of(st.lists(children, max_size=5), _maps(children)), max_leaves=12
)


def _pairs(items: list[tuple[Any, Any]]) -> Pairs:
    return Pairs(tuple(items))


def envelope(op: Any, args: Any, *, id_value: Any = None) -> Pairs:
    return _pairs([("id", FreshId() if id_value is None else id_value), ("op", op), ("args", args)])


# Identifiers: the live conversation and the real personas may only appear in requests that
# are invalid by construction; the ended conversation makes every op fail (or only read).
@dataclass(frozen=True)
class World:
    live: str
    ended: str
    personas: tuple[str, ...]


_UNKNOWN = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", max_size=12).map(lambda s: "zz_" + s)
"""A persona, goal or conversation id no world has (valid as a persona id)."""


def schema_strategy(schema: dict[str, Any], defs: dict[str, Any], name: str, ids: dict[str, Any]) -> Any:
    """Valid instances of the JSON-schema subset pydantic writes for args. A keyword not
    handled here fails loudly, so a new kind of field gets noticed."""
    if name in ids:
        return ids[name]
    if "$ref" in schema:
        return schema_strategy(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name, ids)
    arms = schema.get("anyOf", schema.get("oneOf"))  # oneOf: arms of different kinds here
    if arms is not None:
        return st.one_of([schema_strategy(s, defs, name, ids) for s in arms])
    known = {"type", "title", "description", "default", "minLength", "maxLength", "pattern", "minimum", "maximum",
             "properties", "required", "additionalProperties", "items", "maxItems", "minItems", "$defs",
             "enum", "uniqueItems"}  # fmt: skip
    unknown = set(schema) - known
    if unknown:
        raise NotImplementedError(f"fuzz: schema keywords {sorted(unknown)} at {name!r}")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return _object_strategy(schema, defs, ids)
    if kind == "string":
        lo, hi = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: lo <= len(s) <= hi)
        return st.text(min_size=lo, max_size=max(lo, hi))
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        item = schema_strategy(schema.get("items", {}), defs, name, ids)
        return st.lists(
            item,
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 4), 4),
            unique=bool(schema.get("uniqueItems", False)),
        )
    raise NotImplementedError(f"fuzz: schema type {kind!r} at {name!r}")


def _object_strategy(schema: dict[str, Any], defs: dict[str, Any], ids: dict[str, Any]) -> Any:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = {k: schema_strategy(s, defs, k, ids) for k, s in props.items()}

    @st.composite
    def draw(data: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in props:
            if k in required or data(st.booleans()):
                out[k] = data(fields[k])
        return out

    return draw()


def _json_kinds(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        return _json_kinds(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    arms = schema.get("anyOf", schema.get("oneOf"))
    if arms is not None:
        return set().union(*(_json_kinds(s, defs) for s in arms))
    return {schema.get("type", "any")}


_OF_KIND: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.one_of(ints, wide_ints),
    "number": floats,
    "string": texts,
    "bin": st.binary(max_size=8),
    "array": st.lists(scalars, max_size=3),
    "object": st.dictionaries(texts, scalars, max_size=3),
}
_ACCEPTS = {"null": {"null"}, "boolean": {"boolean"}, "integer": {"integer"}, "number": {"integer", "number"},
            "string": {"string"}, "array": {"array"}, "object": {"object"}}  # fmt: skip


def wrong_type(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value of a kind the field never accepts (strict models: no coercion)."""
    kinds = _json_kinds(schema, defs)
    if "any" in kinds:
        return st.nothing()
    accepted = set().union(*(_ACCEPTS[k] for k in kinds))
    return st.one_of([s for k, s in _OF_KIND.items() if k not in accepted])


def out_of_range(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value of the right kind that breaks a bound of the field (too long, too small…)."""
    options: list[st.SearchStrategy[Any]] = []
    for s in [schema, *schema.get("anyOf", schema.get("oneOf", []))]:
        s = defs.get(s.get("$ref", "").rsplit("/", 1)[-1], s)
        if s.get("type") == "string":
            if "maxLength" in s:
                n = s["maxLength"]
                options.append(st.builds(lambda c, k, n=n: c * (n + k), st.sampled_from("xé🦊"), st.integers(1, 3000)))
            if s.get("minLength", 0) >= 1:
                options.append(st.just(""))
            if "pattern" in s:
                options.append(st.sampled_from(["Bad Id!", "A", "1abc", "a-b", "a" * 33]))
            if "enum" in s:
                options.append(texts.filter(lambda t, allowed=frozenset(s["enum"]): t not in allowed))
        if s.get("type") == "integer":
            if "minimum" in s:
                options.append(st.integers(-(2**63), s["minimum"] - 1))
            if "maximum" in s:
                options.append(st.integers(s["maximum"] + 1, 2**64 - 1))
    if len(_json_kinds(schema, defs)) > 1:  # a union: a bound of one arm may be met by another
        return st.nothing()
    return st.one_of(options) if options else st.nothing()


def op_strategies(world: World) -> dict[str, tuple[Any, Any]]:
    """For every op: (valid-shaped args that cannot change the store: no such persona or
    conversation, or the ended one; args broken on purpose, which may name anything)."""
    safe_ids = {"conversation": st.one_of(st.just(world.ended), _UNKNOWN), "persona": _UNKNOWN}
    any_ids = {
        "conversation": st.sampled_from([world.live, world.ended]) | _UNKNOWN,
        "persona": st.sampled_from(world.personas) | _UNKNOWN,
    }
    out: dict[str, tuple[Any, Any]] = {}
    for op, spec in P.OPS.items():
        schema = spec.args.model_json_schema()
        defs = schema.get("$defs", {})
        out[op] = (schema_strategy(schema, defs, "", safe_ids), _broken_args(schema, defs, any_ids))
    return out


def _broken_args(schema: dict[str, Any], defs: dict[str, Any], ids: dict[str, Any]) -> Any:
    props: dict[str, Any] = schema.get("properties", {})
    base = schema_strategy(schema, defs, "", ids)
    required = sorted(schema.get("required", []))

    @st.composite
    def draw(data: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = dict(data(base))
        ways = ["extra"] + (["missing"] if required else []) + (["field"] if props else [])
        way = data(st.sampled_from(ways))
        if way == "extra":
            args[data(texts.filter(lambda k: k not in props))] = data(values)
            return args
        if way == "missing":
            args.pop(data(st.sampled_from(required)), None)
            return args
        name = data(st.sampled_from(sorted(props)))
        bad = st.one_of(wrong_type(props[name], defs), out_of_range(props[name], defs))
        args[name] = data(bad | st.just(Ext(7, b"\x00")))
        return args

    return draw()


def frame_specs(world: World) -> st.SearchStrategy[Spec]:
    """Every kind of frame, each kind a named strategy below."""
    per_op = op_strategies(world)
    harmless = st.sampled_from(sorted(set(per_op) - ALWAYS_WRITE_OPS))
    safe = harmless.flatmap(lambda op: per_op[op][0].map(lambda a, op=op: Spec("safe " + op, envelope(op, a))))
    breakable = st.sampled_from(sorted(set(per_op) - UNBREAKABLE_OPS))
    broken = breakable.flatmap(
        lambda op: per_op[op][1].map(lambda a, op=op: Spec("broken " + op, envelope(op, a), must_fail=True))
    )
    kinds = [broken, _odd_envelopes(harmless), _spoiled(safe), _deep_rejections(world), safe, _deep(), _huge(world)]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)  # one_of would favour its first branches


def _deep_rejections(world: World) -> st.SearchStrategy[Spec]:
    """Valid args that the handlers themselves refuse on the live conversation."""

    def choose(n: int) -> Spec:
        args = {"conversation": world.live, "option": n}
        return Spec("choose unoffered", envelope("conversation.choose", args), True)

    def goal(g: str) -> Spec:
        return Spec("goal unknown", envelope("goal.set", {"conversation": world.live, "goal": g}), True)

    clear = Spec("goal.clear none", envelope("goal.clear", {"conversation": world.live}), True)
    return st.one_of(st.integers(3, 31).map(choose), _UNKNOWN.map(goal), st.just(clear))


def _odd_envelopes(ops: st.SearchStrategy[str]) -> st.SearchStrategy[Spec]:
    """Envelopes with odd ids, ops, args and fields, and frames that are no map at all."""
    odd_ids = st.one_of(
        st.sampled_from(list(_INT_FORMATS)).map(FreshId),  # a usable id in a wide format
        st.sampled_from([-1, 2**53 + 1, 2**63, 2**64 - 1, -(2**63), True, False, None, 7.0, "7", b"7"]),
        values,
    )
    extra_fields = st.lists(st.tuples(st.one_of(texts, hashable_keys), values), min_size=1, max_size=3)
    return st.one_of(
        st.builds(lambda i, op, a: Spec("odd id", envelope(op, a, id_value=i)), odd_ids, ops, values),
        st.builds(lambda op, a: Spec("odd op", envelope(op, a)), st.one_of(values, texts, st.just("")), values),
        st.builds(lambda op, a: Spec("odd args", envelope(op, a)), ops, values),
        st.builds(
            lambda op, items: Spec("extra fields", _pairs([("id", FreshId()), ("op", op), ("args", {}), *items])),
            ops,
            extra_fields,
        ),
        st.builds(lambda op: Spec("no args", _pairs([("id", FreshId()), ("op", op)])), ops),
        st.builds(
            lambda op: Spec("duplicate id", _pairs([("id", FreshId()), ("op", op), ("args", {}), ("id", FreshId())])),
            ops,
        ),
        st.builds(lambda v: Spec("not a map", v), values),
    )


def _huge(world: World) -> st.SearchStrategy[Spec]:
    """Strings at and over the field limits; frames at and over the frame limit."""

    def text(c: str, n: int, live: bool) -> Spec:
        # The live conversation only for a line too long: a fitting one would be stored.
        cid = world.live if live and n > P.MAX_TEXT else world.ended
        return Spec("long text", envelope("conversation.say", {"conversation": cid, "text": c * n}), True)

    def ident(n: int, op: str) -> Spec:
        args = {"persona": "a" * n, "player": "p" * n} if op == "conversation.start" else {"conversation": "c" * n}
        return Spec("long id", envelope(op, args), True)

    def near_limit(n: int, c: str) -> Spec:
        return Spec("near frame limit", envelope("server.info", {"x": c * n}), True)

    lengths = st.sampled_from([P.MAX_TEXT - 1, P.MAX_TEXT, P.MAX_TEXT + 1, 4000]) | st.integers(1, 70_000)
    id_ops = st.sampled_from(["conversation.history", "goal.status", "conversation.start"])
    return st.one_of(
        st.builds(text, st.sampled_from("aé日🦊"), lengths, st.booleans()),
        st.builds(ident, st.sampled_from([P.MAX_ID - 1, P.MAX_ID, P.MAX_ID + 1, 1000, 100_000]), id_ops),
        st.builds(near_limit, st.integers(MAX_FRAME_BYTES - 4096, MAX_FRAME_BYTES + 64), st.sampled_from("xé")),
    )


def _deep() -> st.SearchStrategy[Spec]:
    """Arrays or maps nested around the codec's depth limit, something odd at the bottom."""

    def nest(d: int, as_map: bool, inner: Any) -> Spec:
        data = (b"\x81\xa1a" if as_map else b"\x91") * d + encode(inner)
        return Spec("deep", envelope("server.info", {"x": Verbatim(data, d, has_problem(inner))}), True)

    depths = st.sampled_from([10, 64, 65, 500]) | st.integers(MAX_DEPTH - 6, MAX_DEPTH + 3) | st.integers(1, 5000)
    return st.builds(nest, depths, st.booleans(), st.one_of(st.none(), exts, bad_strs, texts))


def _spoiled(safe: st.SearchStrategy[Spec]) -> st.SearchStrategy[Spec]:
    """Truncated frames, trailing bytes, garbage."""
    type_bytes = st.sampled_from([0xC1, 0xDB, 0xDD, 0xDF, 0xC6, 0xFF, 0x91, 0x81, 0xD4, 0xC7])
    garbage = st.one_of(st.binary(max_size=40), st.lists(type_bytes, max_size=12).map(bytes))
    return st.one_of(
        st.builds(lambda s, cut: Spec("truncated", s.value, spoil="truncate", cut=cut), safe, st.integers(0, 10_000)),
        st.builds(
            lambda s, x: Spec("trailing", s.value, spoil="trailing", extra=x), safe, st.binary(min_size=1, max_size=6)
        ),
        st.builds(lambda data: Spec("garbage", None, spoil="garbage", extra=data), garbage),
    )


# --- the runner --------------------------------------------------------------------------------


@dataclass
class Tally:
    frames: int = 0
    bytes: int = 0
    expected_drops: int = 0
    replies: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    events: int = 0
    stopped: bool = False
    problems: list[str] = field(default_factory=list)

    def fail(self, what: str, frame: Frame | None = None) -> None:
        if len(self.problems) < 20:
            where = f" [{frame.kind}, {frame.data[:80].hex()}{'…' if len(frame.data) > 80 else ''}]" if frame else ""
            self.problems.append(what + where)


class Wire:
    """A raw DEALER with PLAIN credentials: sends any bytes, reads every reply."""

    def __init__(self, endpoint: str, token: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.plain_username = b"parley"
        self.sock.plain_password = token.encode()
        self.sock.connect(endpoint)

    def send(self, data: bytes) -> None:
        self.sock.send(data)

    def recv(self, timeout_s: float) -> Any | None:
        if not self.sock.poll(int(timeout_s * 1000)):
            return None
        return msgpack.unpackb(self.sock.recv(), raw=False)

    def close(self) -> None:
        self.sock.close(linger=0)
        self.ctx.term()


def play(batch: list[Frame], wire: Wire, tally: Tally) -> None:
    """Sends a batch, then reads until every expected reply is in (or the wait runs out)."""
    waiting: Counter[int] = Counter()
    by_id: dict[int, Frame] = {}
    zero_frames: list[Frame] = []
    for frame in batch:
        wire.send(frame.data)
        tally.frames += 1
        tally.bytes += len(frame.data)
        tally.kinds[frame.kind.split(" ")[0]] += 1
        if frame.reply_id is None:
            tally.expected_drops += 1
            continue
        waiting[frame.reply_id] += 1
        if frame.reply_id == 0:
            zero_frames.append(frame)
        else:
            by_id[frame.reply_id] = frame
    deadline = time.monotonic() + REPLY_WAIT_S
    while +waiting:
        msg = wire.recv(max(0.0, deadline - time.monotonic()))
        if msg is None:
            for rid, n in (+waiting).items():
                tally.fail(f"no reply to id {rid} (x{n})", by_id.get(rid) or (zero_frames[0] if zero_frames else None))
            tally.stopped = True
            return
        check_reply(msg, waiting, by_id, zero_frames, tally)


def check_reply(msg: Any, waiting: Counter[int], by_id: dict[int, Frame], zeros: list[Frame], tally: Tally) -> None:
    if not isinstance(msg, dict) or not isinstance(msg.get("id"), int):
        tally.fail(f"a reply that is not an envelope: {msg!r:.200}")
        return
    if "event" in msg:
        tally.events += 1
        return
    rid = msg["id"]
    frame = by_id.get(rid) if rid else (zeros[0] if zeros else None)
    if waiting[rid] <= 0:
        tally.fail(f"unexpected reply (a second one, or to a dropped frame): {msg!r:.300}", frame)
        return
    waiting[rid] -= 1
    if msg.get("ok") is True:
        tally.replies["ok"] += 1
        if frame is not None and (frame.must_fail or frame.op not in READ_ONLY_OPS) and rid:
            tally.fail(f"accepted a request that must fail ({frame.op}): {msg!r:.300}", frame)
        return
    error = msg.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    tally.replies[str(code)] += 1
    if code not in TYPED_CODES:
        tally.fail(f"error code {code!r} (not a typed code): {msg!r:.300}", frame)
    elif frame is not None and frame.problem and rid and code != "bad_request":
        tally.fail(f"a value outside the protocol got {code}, not bad_request: {msg!r:.300}", frame)
    if not (isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]):
        tally.fail(f"an error without a message: {msg!r:.300}", frame)


def dump_store(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: what "the store is unchanged" compares."""
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def _store_changes(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> int:
    changed = 0
    for table in set(before) | set(after):
        old, new = Counter(map(repr, before.get(table, []))), Counter(map(repr, after.get(table, [])))
        changed += sum(((old - new) + (new - old)).values())
    return changed


async def _make_world(sidecar: Sidecar) -> World:
    async with Client(sidecar.endpoint, sidecar.token) as c:
        personas = tuple(p["id"] for p in (await c.call("persona.list"))["personas"])
        live = (await c.call("conversation.start", {"persona": personas[0], "player": "fuzz", "seed": 1}))[
            "conversation"
        ]
        await c.call("conversation.say", {"conversation": live, "text": "Hello, any news?"})
        ended = (await c.call("conversation.start", {"persona": personas[-1], "player": "fuzz", "seed": 2}))[
            "conversation"
        ]
        await c.call("conversation.end", {"conversation": ended})
    return World(str(live), str(ended), personas)


def _rss_mib(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


def fuzz(world: World, sidecar: Sidecar, wire: Wire, tally: Tally) -> None:
    """FRAMES frames in batches of BATCH, drawn by hypothesis; stops early if the server dies
    or a batch's replies do not come."""
    ids = itertools.count(2**40)  # far from the small ints the odd-id strategies favour

    @settings(
        max_examples=max(1, FRAMES // BATCH),
        database=None,
        deadline=None,
        derandomize=not soak_scale.soak(),  # make test: the same frames every run
        phases=[Phase.generate],  # anomalies are collected per frame, not shrunk
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    @given(st.lists(frame_specs(world), min_size=BATCH, max_size=BATCH))
    def run(specs: list[Spec]) -> None:
        if not tally.stopped and sidecar.proc is not None and sidecar.proc.poll() is None:
            play([build(s, ids) for s in specs], wire, tally)

    run()


def final_server_info(wire: Wire, tally: Tally) -> Any:
    """The server still answers after the run; any reply still in the socket is a stray."""
    wire.send(msgpack.packb({"id": 1, "op": "server.info", "args": {}}))
    info = wire.recv(REPLY_WAIT_S)
    while isinstance(info, dict) and info.get("id") != 1:
        tally.fail(f"unexpected reply after the run: {info!r:.300}")
        info = wire.recv(REPLY_WAIT_S)
    return info


def test_protocol_fuzz(sidecar: Sidecar, data_dir: Path, report: Callable[[str, object], None], world: World) -> None:
    assert sidecar.proc is not None
    db = data_dir / DB_FILENAME
    before = dump_store(db)
    assert before.get("messages"), "the world has stored lines to protect"
    rss_before = _rss_mib(sidecar.proc.pid)
    tally = Tally()
    started = time.monotonic()
    wire = Wire(sidecar.endpoint, sidecar.token)
    try:
        fuzz(world, sidecar, wire, tally)
        elapsed = time.monotonic() - started
        alive = sidecar.proc.poll() is None
        info = final_server_info(wire, tally) if alive else None
    finally:
        wire.close()
    after = dump_store(db)
    changes = _store_changes(before, after)
    internal = tally.replies.get(ErrorCode.INTERNAL.value, 0)

    report("fuzz frames", tally.frames)
    report("fuzz bytes", tally.bytes)
    report("fuzz frames by kind", dict(sorted(tally.kinds.items())))
    report("fuzz replies by code", dict(sorted(tally.replies.items())))
    report("fuzz drops (unreadable frames: no reply expected, no stray reply seen)", tally.expected_drops)
    report("fuzz events", tally.events)
    report("fuzz crashes", 0 if alive else 1)
    report("fuzz internal errors", internal)
    report("fuzz store changes (rows)", changes)
    report("fuzz anomalies", len(tally.problems))
    report("fuzz frames/s", round(tally.frames / elapsed, 1) if elapsed else "n/a")
    report("fuzz RSS MiB before/after", f"{rss_before:.1f} / {_rss_mib(sidecar.proc.pid) if alive else math.nan:.1f}")

    assert alive, f"the sidecar died: {sidecar.stderr_text()[-3000:]}"
    assert isinstance(info, dict) and info.get("ok") is True and info["result"]["protocol"] == 1, info
    assert not tally.problems, "\n".join(tally.problems)
    assert internal == 0
    assert changes == 0, {
        t: (before.get(t), after.get(t)) for t in before.keys() | after.keys() if before.get(t) != after.get(t)
    }
    assert tally.frames >= FRAMES - BATCH


@pytest.fixture
def world(sidecar: Sidecar) -> World:
    """The state the fuzz runs against, made through the ordinary client."""
    return asyncio.run(_make_world(sidecar))
