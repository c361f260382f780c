"""The golden msgpack vectors (engine_bindings/vectors/) played through msgpack-python.

The GDScript tests (godot_addon/tests/net/test_msgpack.gd) read the very same files, so a
vector that passes here and there means both ends of the wire agree on every byte.
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import msgpack
import pytest

VECTORS = Path(__file__).resolve().parents[2] / "engine_bindings" / "vectors"


def _load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_vectors"] = module
    spec.loader.exec_module(module)
    return module


class Unsupported(Exception):
    """Raised by the ext hook: ext types are not part of the protocol."""


def _reject_ext(code: int, data: bytes) -> Any:
    raise Unsupported(f"ext type {code}")


def unpack(data: bytes) -> Any:
    """Decode strictly, as every binding's decoder must (str as str, bin as bytes), refusing
    ext types. (The sidecar reads a refused but readable frame far enough to answer it:
    `as_request`, tests/protocol/test_codec.py.)"""
    return msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=_reject_ext)


def to_python(tagged: dict[str, Any]) -> Any:
    """Turn a tagged JSON value (README.md, "Values") into the Python value msgpack gives."""
    assert len(tagged) == 1, tagged
    ((tag, v),) = tagged.items()
    if tag == "nil":
        return None
    if tag == "bool":
        assert isinstance(v, bool)
        return v
    if tag == "int":
        return int(v)
    if tag == "float64":
        return struct.unpack(">d", bytes.fromhex(v))[0]
    if tag == "float32":
        return struct.unpack(">f", bytes.fromhex(v))[0]
    if tag == "str":
        return v
    if tag == "bin":
        return bytes.fromhex(v)
    if tag == "array":
        return [to_python(x) for x in v]
    if tag == "map":
        return {to_python(k): to_python(x) for k, x in v}
    raise AssertionError(f"unknown tag {tag}")


def same(got: Any, want: Any, path: str = "$") -> None:
    """Strict equality: types must match (True is not 1), floats compare by bits, map order
    is part of the value."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, float):
        assert struct.pack(">d", got) == struct.pack(">d", want), f"{path}: {got} != {want}"
    elif isinstance(want, list):
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{path}[{i}]")
    elif isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for k in want:
            same(got[k], want[k], f"{path}[{k!r}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def _cases() -> list[str]:
    index = json.loads((VECTORS / "index.json").read_text(encoding="utf-8"))
    names: list[str] = index["cases"]
    return names


def _case(name: str) -> tuple[bytes, dict[str, Any]]:
    data = (VECTORS / f"{name}.msgpack").read_bytes()
    doc: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return data, doc


ALL = _cases()
VALID = [n for n in ALL if _case(n)[1]["expect"] == "value"]
INVALID = [n for n in ALL if _case(n)[1]["expect"] == "error"]

# msgpack-python's exception for each error class of the vectors.
EXPECTED_EXCEPTION: dict[str, type[BaseException] | tuple[type[BaseException], ...]] = {
    "empty": ValueError,
    "truncated": ValueError,
    "invalid": msgpack.FormatError,
    "unsupported": (Unsupported, TypeError),
    "bad_utf8": UnicodeDecodeError,
    "trailing_bytes": msgpack.ExtraData,
    "too_deep": msgpack.StackError,
}


def test_files_match_the_table() -> None:
    """The committed files are exactly what make_vectors.py writes (no hand edits, no
    stale or missing files)."""
    maker = _load_maker()
    want: dict[str, bytes] = maker.render()
    on_disk = {p.relative_to(VECTORS).as_posix() for p in VECTORS.rglob("*")
               if p.suffix in {".json", ".msgpack"}}
    assert on_disk == set(want)
    for name, data in want.items():
        assert (VECTORS / name).read_bytes() == data, name


def test_every_format_and_width_is_covered() -> None:
    formats = {_case(n)[1]["format"] for n in VALID}
    needed = {
        "nil", "false", "true", "positive fixint", "negative fixint",
        "uint 8", "uint 16", "uint 32", "uint 64", "int 8", "int 16", "int 32", "int 64",
        "float 32", "float 64", "fixstr", "str 8", "str 16", "str 32", "bin 8", "bin 16",
        "bin 32", "fixarray", "array 16", "array 32", "fixmap", "map 16", "map 32",
        "request envelope", "ok reply envelope", "error reply envelope", "event envelope",
    }  # fmt: skip
    assert needed <= formats, needed - formats
    errors = {_case(n)[1]["error"] for n in INVALID}
    assert errors == set(EXPECTED_EXCEPTION)


@pytest.mark.parametrize("name", VALID)
def test_valid_vector_decodes(name: str) -> None:
    data, doc = _case(name)
    same(unpack(data), to_python(doc["value"]))


@pytest.mark.parametrize("name", [n for n in VALID if _case(n)[1]["canonical"]])
def test_canonical_vector_encodes_to_the_same_bytes(name: str) -> None:
    data, doc = _case(name)
    assert msgpack.packb(to_python(doc["value"]), use_bin_type=True) == data


@pytest.mark.parametrize("name", INVALID)
def test_invalid_vector_is_refused(name: str) -> None:
    data, doc = _case(name)
    with pytest.raises(EXPECTED_EXCEPTION[doc["error"]]):
        unpack(data)


READABLE_ERRORS = {"unsupported", "bad_utf8"}
"""Error classes whose bytes are one complete msgpack value (PROTOCOL.md §3: answered)."""


@pytest.mark.parametrize("name", INVALID)
def test_as_request_follows_the_error_class(name: str) -> None:
    """Readable frames are answered with `bad_request` (and say with which id); the rest
    are not msgpack values at all and are dropped."""
    _, doc = _case(name)
    if doc["error"] in READABLE_ERRORS:
        assert doc["as_request"] == "bad_request"
        assert isinstance(doc["reply_id"], int)
    else:
        assert doc["as_request"] == "dropped"
        assert "reply_id" not in doc


def test_int64_overflow_vectors_are_above_int64() -> None:
    """The flag is right: exactly the values above 2^63-1 carry it."""
    for name in VALID:
        data, doc = _case(name)
        flagged = bool(doc.get("int64_overflow"))
        value = unpack(data)
        assert flagged == (isinstance(value, int) and not isinstance(value, bool)
                           and value > 2**63 - 1), name


def test_float_vectors_are_exact() -> None:
    """float 32 vectors widen exactly; -0.0 keeps its sign (bits, not ==)."""
    data, _ = _case("float64_m0")
    value = unpack(data)
    assert value == 0.0 and math.copysign(1.0, value) == -1.0
    data, _ = _case("float32_1_5")
    assert unpack(data) == 1.5
