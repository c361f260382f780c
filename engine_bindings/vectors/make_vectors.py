"""Writes the golden msgpack vectors: one NAME.msgpack byte file and one NAME.json per case.

The bytes are written by hand from the MessagePack specification (msgpack/spec.md,
"Formats"), with `struct`, never by a msgpack library: the vectors must be able to catch a
library (ours in GDScript, or msgpack-python) that gets a format wrong. The JSON encoding of
the expected values is described in README.md beside this file.

Run `python engine_bindings/vectors/make_vectors.py` after editing CASES; the test
tests/bindings/test_vectors.py fails when the files on disk differ from this table.
"""

from __future__ import annotations

import json
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPEC = "https://github.com/msgpack/msgpack/blob/master/spec.md"


# --- the tagged JSON value model (README.md, "Values") ------------------------------------


def nil() -> dict[str, Any]:
    return {"nil": None}


def boolean(v: bool) -> dict[str, Any]:
    return {"bool": v}


def integer(v: int) -> dict[str, Any]:
    return {"int": str(v)}


def f64(v: float) -> dict[str, Any]:
    return {"float64": struct.pack(">d", v).hex()}


def f32(v: float) -> dict[str, Any]:
    return {"float32": struct.pack(">f", v).hex()}


def string(v: str) -> dict[str, Any]:
    return {"str": v}


def binary(v: bytes) -> dict[str, Any]:
    return {"bin": v.hex()}


def array(*items: dict[str, Any]) -> dict[str, Any]:
    return {"array": list(items)}


def mapping(*pairs: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return {"map": [[k, v] for k, v in pairs]}


def smap(**fields: dict[str, Any]) -> dict[str, Any]:
    """A map with string keys in the given order (all protocol maps look like this)."""
    return mapping(*((string(k), v) for k, v in fields.items()))


# --- hand encoders for the few spots where writing bytes inline would be unreadable -------


def enc_str(s: str) -> bytes:
    raw = s.encode("utf-8")
    n = len(raw)
    if n <= 31:
        return bytes([0xA0 | n]) + raw
    if n <= 0xFF:
        return b"\xd9" + struct.pack(">B", n) + raw
    if n <= 0xFFFF:
        return b"\xda" + struct.pack(">H", n) + raw
    return b"\xdb" + struct.pack(">I", n) + raw


def enc_uint(n: int) -> bytes:
    if n <= 0x7F:
        return bytes([n])
    if n <= 0xFF:
        return b"\xcc" + struct.pack(">B", n)
    if n <= 0xFFFF:
        return b"\xcd" + struct.pack(">H", n)
    if n <= 0xFFFFFFFF:
        return b"\xce" + struct.pack(">I", n)
    return b"\xcf" + struct.pack(">Q", n)


def enc_fixmap(n: int) -> bytes:
    assert n <= 15
    return bytes([0x80 | n])


def enc_fixarray(n: int) -> bytes:
    assert n <= 15
    return bytes([0x90 | n])


@dataclass(frozen=True)
class Case:
    name: str
    format: str
    data: bytes
    description: str
    value: dict[str, Any] | None = None
    canonical: bool = True
    error: str | None = None
    int64_overflow: bool = False
    reply_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": self.format,
            "description": self.description,
            "spec": SPEC,
        }
        if self.error is not None:
            out["expect"] = "error"
            out["error"] = self.error
            # What the sidecar does with these bytes as a request (PROTOCOL.md §3).
            if self.reply_id is None:
                out["as_request"] = "dropped"
            else:
                out["as_request"] = "bad_request"
                out["reply_id"] = self.reply_id
        else:
            out["expect"] = "value"
            out["value"] = self.value
            out["canonical"] = self.canonical
            if self.int64_overflow:
                out["int64_overflow"] = True
        out.update(self.extra)
        return out


def ok(name: str, fmt: str, data: bytes, value: dict[str, Any], why: str, *,
       canonical: bool = True, int64_overflow: bool = False) -> Case:
    return Case(name, fmt, data, why, value=value, canonical=canonical,
                int64_overflow=int64_overflow)


def bad(name: str, fmt: str, data: bytes, error: str, why: str) -> Case:
    """Bytes that are not one complete msgpack value: refused, and dropped as a request."""
    return Case(name, fmt, data, why, error=error)


def readable(name: str, fmt: str, data: bytes, error: str, why: str, *, reply_id: int = 0) -> Case:
    """One complete msgpack value holding what the protocol never uses: a decoder refuses
    it; the sidecar answers it as a request with one `bad_request` carrying `reply_id`."""
    return Case(name, fmt, data, why, error=error, reply_id=reply_id)


ASCII_31 = "abcdefghijklmnopqrstuvwxyz01234"
S32 = "x" * 32
S255 = "y" * 255
S256 = "z" * 256
S65536 = ("0123456789abcdef" * 4096)
B256 = bytes(range(256))
B65536 = bytes(i & 0xFF for i in range(65536))
FIFTEEN = [integer(i) for i in range(15)]
SIXTEEN = [integer(i) for i in range(16)]


def _history_line(speaker: str, name: str, text: str, at: float) -> tuple[bytes, dict[str, Any]]:
    data = (enc_fixmap(4) + enc_str("speaker") + enc_str(speaker) + enc_str("name")
            + enc_str(name) + enc_str("text") + enc_str(text) + enc_str("at") + b"\xcb"
            + struct.pack(">d", at))
    return data, smap(speaker=string(speaker), name=string(name), text=string(text), at=f64(at))


def envelope_cases() -> list[Case]:
    """The protocol's own frames (engine_bindings/PROTOCOL.md): each is canonical, so an
    encoder that writes these maps with the keys in this order must produce these bytes."""
    cases: list[Case] = []

    args = (enc_fixmap(3) + enc_str("conversation") + enc_str("c-0001") + enc_str("text")
            + enc_str("Hello there! Any news from the mill?") + enc_str("stream") + b"\xc3")
    data = enc_fixmap(3) + enc_str("id") + b"\x01" + enc_str("op") + enc_str(
        "conversation.say") + enc_str("args") + args
    value = smap(id=integer(1), op=string("conversation.say"), args=smap(
        conversation=string("c-0001"), text=string("Hello there! Any news from the mill?"),
        stream=boolean(True)))
    cases.append(ok("envelope_request", "request envelope", data, value,
                    "a conversation.say request {id, op, args}"))

    big_id = 2**53
    data = enc_fixmap(3) + enc_str("id") + enc_uint(big_id) + enc_str("op") + enc_str(
        "persona.list") + enc_str("args") + enc_fixmap(0)
    value = smap(id=integer(big_id), op=string("persona.list"), args=mapping())
    cases.append(ok("envelope_request_big_id", "request envelope", data, value,
                    "request id 2^53 (the protocol's largest id), written as uint 64"))

    line = (enc_fixmap(3) + enc_str("speaker") + enc_str("mira") + enc_str("name")
            + enc_str("Mira") + enc_str("text") + enc_str("Well met, traveller. Bread's warm."))
    option = (enc_fixmap(2) + enc_str("text") + enc_str("Ask about the mill") + enc_str(
        "intent") + enc_str("ask"))
    affinity = (enc_fixmap(3) + enc_str("value") + enc_uint(52) + enc_str("delta") + b"\x02"
                + enc_str("reason") + enc_str("friendly greeting"))
    result = (enc_fixmap(5) + enc_str("line") + line + enc_str("options") + enc_fixarray(1)
              + option + enc_str("sentiment") + enc_str("positive") + enc_str("affinity")
              + affinity + enc_str("provider") + enc_str("embedded"))
    data = (enc_fixmap(3) + enc_str("id") + b"\x01" + enc_str("ok") + b"\xc3"
            + enc_str("result") + result)
    value = smap(id=integer(1), ok=boolean(True), result=smap(
        line=smap(speaker=string("mira"), name=string("Mira"),
                  text=string("Well met, traveller. Bread's warm.")),
        options=array(smap(text=string("Ask about the mill"), intent=string("ask"))),
        sentiment=string("positive"),
        affinity=smap(value=integer(52), delta=integer(2), reason=string("friendly greeting")),
        provider=string("embedded")))
    cases.append(ok("envelope_reply_ok", "ok reply envelope", data, value,
                    "a conversation.say reply {id, ok: true, result}"))

    affinity_neg = (enc_fixmap(3) + enc_str("value") + enc_uint(40) + enc_str("delta")
                    + b"\xfb" + enc_str("reason") + enc_str("rude"))
    data = (enc_fixmap(3) + enc_str("id") + enc_uint(300) + enc_str("ok") + b"\xc3"
            + enc_str("result") + enc_fixmap(1) + enc_str("affinity") + affinity_neg)
    value = smap(id=integer(300), ok=boolean(True), result=smap(affinity=smap(
        value=integer(40), delta=integer(-5), reason=string("rude"))))
    cases.append(ok("envelope_reply_negative_delta", "ok reply envelope", data, value,
                    "an affinity delta of -5 (negative fixint) and an id of 300 (uint 16)"))

    l1, v1 = _history_line("mira", "Mira", "Morning!", 1767225600.25)
    l2, v2 = _history_line("player", "Ada", "Hello, Mira.", 1767225601.5)
    data = (enc_fixmap(3) + enc_str("id") + b"\x09" + enc_str("ok") + b"\xc3" + enc_str(
        "result") + enc_fixmap(1) + enc_str("lines") + enc_fixarray(2) + l1 + l2)
    value = smap(id=integer(9), ok=boolean(True), result=smap(lines=array(v1, v2)))
    cases.append(ok("envelope_reply_history", "ok reply envelope", data, value,
                    "a conversation.history reply: lines with float 64 timestamps"))

    details = enc_fixmap(1) + enc_str("persona") + enc_str("zed")
    err = (enc_fixmap(3) + enc_str("code") + enc_str("persona_not_found") + enc_str("message")
           + enc_str("no persona with id 'zed'") + enc_str("details") + details)
    data = (enc_fixmap(3) + enc_str("id") + b"\x07" + enc_str("ok") + b"\xc2" + enc_str("error")
            + err)
    value = smap(id=integer(7), ok=boolean(False), error=smap(
        code=string("persona_not_found"), message=string("no persona with id 'zed'"),
        details=smap(persona=string("zed"))))
    cases.append(ok("envelope_reply_error", "error reply envelope", data, value,
                    "an error reply {id, ok: false, error: {code, message, details}}"))

    data = (enc_fixmap(3) + enc_str("id") + b"\x01" + enc_str("event") + enc_str("line.delta")
            + enc_str("data") + enc_fixmap(1) + enc_str("text") + enc_str("Well met, "))
    value = smap(id=integer(1), event=string("line.delta"), data=smap(text=string("Well met, ")))
    cases.append(ok("envelope_event", "event envelope", data, value,
                    "a streamed-text event {id, event, data}"))

    npc = (enc_fixmap(3) + enc_str("speaker") + enc_str("brom") + enc_str("name") + enc_str(
        "Brom") + enc_str("text") + enc_str("Don't listen to her — the mill's cursed. 🦊"))
    data = (enc_fixmap(3) + enc_str("id") + b"\x04" + enc_str("event") + enc_str("npc.line")
            + enc_str("data") + enc_fixmap(1) + enc_str("line") + npc)
    value = smap(id=integer(4), event=string("npc.line"), data=smap(line=smap(
        speaker=string("brom"), name=string("Brom"),
        text=string("Don't listen to her — the mill's cursed. 🦊"))))
    cases.append(ok("envelope_event_npc_line", "event envelope", data, value,
                    "an extra NPC line in a group scene, with multi-byte UTF-8"))
    return cases


def value_cases() -> list[Case]:
    c: list[Case] = [
        ok("nil", "nil", b"\xc0", nil(), "nil"),
        ok("false", "false", b"\xc2", boolean(False), "false"),
        ok("true", "true", b"\xc3", boolean(True), "true"),
        ok("pos_fixint_0", "positive fixint", b"\x00", integer(0), "0"),
        ok("pos_fixint_127", "positive fixint", b"\x7f", integer(127), "largest positive fixint"),
        ok("neg_fixint_m1", "negative fixint", b"\xff", integer(-1), "-1"),
        ok("neg_fixint_m32", "negative fixint", b"\xe0", integer(-32),
           "smallest negative fixint"),
        ok("uint8_128", "uint 8", b"\xcc\x80", integer(128), "smallest uint 8"),
        ok("uint8_255", "uint 8", b"\xcc\xff", integer(255), "largest uint 8"),
        ok("uint16_256", "uint 16", b"\xcd\x01\x00", integer(256), "smallest uint 16"),
        ok("uint16_65535", "uint 16", b"\xcd\xff\xff", integer(65535), "largest uint 16"),
        ok("uint32_65536", "uint 32", b"\xce\x00\x01\x00\x00", integer(65536),
           "smallest uint 32"),
        ok("uint32_max", "uint 32", b"\xce\xff\xff\xff\xff", integer(2**32 - 1),
           "largest uint 32"),
        ok("uint64_2p32", "uint 64", b"\xcf" + struct.pack(">Q", 2**32), integer(2**32),
           "smallest uint 64"),
        ok("uint64_2p53p1", "uint 64", b"\xcf" + struct.pack(">Q", 2**53 + 1),
           integer(2**53 + 1), "2^53+1: not exact as a double, must stay an exact int"),
        ok("uint64_int64_max", "uint 64", b"\xcf" + struct.pack(">Q", 2**63 - 1),
           integer(2**63 - 1), "2^63-1: the largest GDScript int"),
        ok("uint64_2p63", "uint 64", b"\xcf" + struct.pack(">Q", 2**63), integer(2**63),
           "2^63: beyond a signed 64-bit int", int64_overflow=True),
        ok("uint64_max", "uint 64", b"\xcf" + b"\xff" * 8, integer(2**64 - 1),
           "2^64-1: beyond a signed 64-bit int", int64_overflow=True),
        ok("int8_m33", "int 8", b"\xd0\xdf", integer(-33), "largest int 8 a serializer uses"),
        ok("int8_m128", "int 8", b"\xd0\x80", integer(-128), "smallest int 8"),
        ok("int16_m129", "int 16", b"\xd1\xff\x7f", integer(-129), "largest int 16 used"),
        ok("int16_m32768", "int 16", b"\xd1\x80\x00", integer(-32768), "smallest int 16"),
        ok("int32_m32769", "int 32", b"\xd2\xff\xff\x7f\xff", integer(-32769),
           "largest int 32 used"),
        ok("int32_min", "int 32", b"\xd2\x80\x00\x00\x00", integer(-(2**31)),
           "smallest int 32"),
        ok("int64_m2p31m1", "int 64", b"\xd3" + struct.pack(">q", -(2**31) - 1),
           integer(-(2**31) - 1), "largest int 64 used"),
        ok("int64_min", "int 64", b"\xd3\x80" + b"\x00" * 7, integer(-(2**63)),
           "smallest int 64"),
        ok("int64_m2p53m1", "int 64", b"\xd3" + struct.pack(">q", -(2**53) - 1),
           integer(-(2**53) - 1), "-(2^53)-1: not exact as a double"),
        ok("uint32_holding_1", "uint 32", b"\xce\x00\x00\x00\x01", integer(1),
           "a small value in a wide format: readers must accept it", canonical=False),
        ok("int8_holding_5", "int 8", b"\xd0\x05", integer(5),
           "a positive value in a signed format", canonical=False),
        ok("int64_holding_m1", "int 64", b"\xd3" + b"\xff" * 8, integer(-1),
           "-1 in the widest signed format", canonical=False),
        ok("uint64_holding_0", "uint 64", b"\xcf" + b"\x00" * 8, integer(0),
           "0 in uint 64", canonical=False),
        ok("float32_1_5", "float 32", b"\xca" + struct.pack(">f", 1.5), f32(1.5),
           "float 32; encoders write floats as float 64, so not canonical", canonical=False),
        ok("float32_m0", "float 32", b"\xca\x80\x00\x00\x00", f32(-0.0), "float 32 -0.0",
           canonical=False),
        ok("float32_inf", "float 32", b"\xca\x7f\x80\x00\x00", f32(float("inf")),
           "float 32 +infinity", canonical=False),
        ok("float32_tiny", "float 32", b"\xca\x00\x00\x00\x01", f32(1.401298464324817e-45),
           "smallest float 32 subnormal", canonical=False),
        ok("float64_1_5", "float 64", b"\xcb" + struct.pack(">d", 1.5), f64(1.5), "1.5"),
        ok("float64_m0", "float 64", b"\xcb\x80" + b"\x00" * 7, f64(-0.0), "-0.0"),
        ok("float64_inf", "float 64", b"\xcb\x7f\xf0" + b"\x00" * 6, f64(float("inf")),
           "+infinity"),
        ok("float64_minf", "float 64", b"\xcb\xff\xf0" + b"\x00" * 6, f64(float("-inf")),
           "-infinity"),
        ok("float64_mpi", "float 64", b"\xcb" + struct.pack(">d", -3.141592653589793),
           f64(-3.141592653589793), "-pi"),
        ok("float64_1e308", "float 64", b"\xcb" + struct.pack(">d", 1e308), f64(1e308),
           "near the largest double"),
        ok("float64_0_1", "float 64", b"\xcb" + struct.pack(">d", 0.1), f64(0.1),
           "0.1 (not exact in binary: compare bits)"),
        ok("fixstr_empty", "fixstr", b"\xa0", string(""), "empty string"),
        ok("fixstr_hello", "fixstr", b"\xa5hello", string("hello"), "ascii"),
        ok("fixstr_31", "fixstr", enc_str(ASCII_31), string(ASCII_31), "longest fixstr"),
        ok("fixstr_utf8_2byte", "fixstr", enc_str("héllo wörld"), string("héllo wörld"),
           "2-byte UTF-8: the length counts bytes, not characters"),
        ok("fixstr_utf8_3byte", "fixstr", enc_str("日本語"), string("日本語"), "3-byte UTF-8"),
        ok("fixstr_utf8_4byte", "fixstr", enc_str("fox 🦊!"), string("fox 🦊!"),
           "4-byte UTF-8 (outside the BMP)"),
        ok("fixstr_nul", "fixstr", b"\xa3a\x00b", string("a\x00b"),
           "an embedded U+0000 is valid UTF-8 and must survive"),
        ok("str8_32", "str 8", enc_str(S32), string(S32), "shortest str 8"),
        ok("str8_255", "str 8", enc_str(S255), string(S255), "longest str 8"),
        ok("str16_256", "str 16", enc_str(S256), string(S256), "shortest str 16"),
        ok("str16_utf8", "str 16", enc_str("ü" * 200), string("ü" * 200),
           "200 characters, 400 bytes: str 16 by byte count"),
        ok("str32_65536", "str 32", enc_str(S65536), string(S65536), "shortest str 32"),
        ok("str8_holding_a", "str 8", b"\xd9\x01a", string("a"),
           "a short string in str 8", canonical=False),
        ok("str32_holding_hi", "str 32", b"\xdb\x00\x00\x00\x02hi", string("hi"),
           "a short string in str 32", canonical=False),
        ok("bin8_empty", "bin 8", b"\xc4\x00", binary(b""), "empty bin"),
        ok("bin8_bytes", "bin 8", b"\xc4\x04\x00\xff\x10\x80", binary(b"\x00\xff\x10\x80"),
           "bytes that are not UTF-8 stay bytes"),
        ok("bin16_256", "bin 16", b"\xc5\x01\x00" + B256, binary(B256), "shortest bin 16"),
        ok("bin32_65536", "bin 32", b"\xc6\x00\x01\x00\x00" + B65536, binary(B65536),
           "shortest bin 32"),
        ok("fixarray_empty", "fixarray", b"\x90", array(), "empty array"),
        ok("fixarray_mixed", "fixarray", b"\x94\x01\xa1a\xc0\xc3",
           array(integer(1), string("a"), nil(), boolean(True)), "mixed items"),
        ok("fixarray_15", "fixarray", b"\x9f" + bytes(range(15)), array(*FIFTEEN),
           "longest fixarray"),
        ok("array16_16", "array 16", b"\xdc\x00\x10" + bytes(range(16)), array(*SIXTEEN),
           "shortest array 16"),
        ok("array16_holding_1", "array 16", b"\xdc\x00\x01\x07", array(integer(7)),
           "one item in array 16", canonical=False),
        ok("array32_holding_3", "array 32", b"\xdd\x00\x00\x00\x03\x01\x02\x03",
           array(integer(1), integer(2), integer(3)), "array 32 (3 items)", canonical=False),
        ok("fixmap_empty", "fixmap", b"\x80", mapping(), "empty map"),
        ok("fixmap_one", "fixmap", b"\x81\xa1a\x01", smap(a=integer(1)), "one entry"),
        ok("fixmap_15", "fixmap",
           b"\x8f" + b"".join(enc_str(f"k{i:02d}") + bytes([i]) for i in range(15)),
           smap(**{f"k{i:02d}": integer(i) for i in range(15)}), "longest fixmap"),
        ok("map16_16", "map 16",
           b"\xde\x00\x10" + b"".join(enc_str(f"k{i:02d}") + bytes([i]) for i in range(16)),
           smap(**{f"k{i:02d}": integer(i) for i in range(16)}), "shortest map 16"),
        ok("map16_holding_1", "map 16", b"\xde\x00\x01\xa1k\xc2", smap(k=boolean(False)),
           "one entry in map 16", canonical=False),
        ok("map32_holding_2", "map 32", b"\xdf\x00\x00\x00\x02\xa1a\x01\xa1b\x02",
           smap(a=integer(1), b=integer(2)), "map 32 (2 entries)", canonical=False),
        ok("map_int_keys", "fixmap", b"\x82\x01\xa3one\xfe\xa9minus two",
           mapping((integer(1), string("one")), (integer(-2), string("minus two"))),
           "non-string keys (ints): allowed by msgpack; the protocol itself uses str keys"),
        ok("nested", "fixmap", b"\x81\xa1a\x92\x01\x81\xa1b\x92\xc3\xc0",
           smap(a=array(integer(1), smap(b=array(boolean(True), nil())))),
           "map in array in map"),
        ok("nested_64", "fixarray", b"\x91" * 64 + b"\xc0",
           _nest(64), "64 levels of arrays: the deepest every binding must accept"),
    ]
    return c


def _nest(depth: int) -> dict[str, Any]:
    v: dict[str, Any] = nil()
    for _ in range(depth):
        v = array(v)
    return v


def error_cases() -> list[Case]:
    t = "truncated"
    return [
        bad("err_empty", "none", b"", "empty", "no bytes at all"),
        bad("err_never_used_c1", "never used", b"\xc1", "invalid", "0xc1 is never used"),
        bad("err_trunc_uint8", "uint 8", b"\xcc", t, "uint 8 without its byte"),
        bad("err_trunc_uint16", "uint 16", b"\xcd\x01", t, "uint 16 with one byte"),
        bad("err_trunc_uint32", "uint 32", b"\xce\x00\x01\x00", t, "uint 32 with 3 bytes"),
        bad("err_trunc_uint64", "uint 64", b"\xcf\x00\x00\x00\x00", t, "uint 64 with 4 bytes"),
        bad("err_trunc_int8", "int 8", b"\xd0", t, "int 8 without its byte"),
        bad("err_trunc_int16", "int 16", b"\xd1\xff", t, "int 16 with one byte"),
        bad("err_trunc_int32", "int 32", b"\xd2\xff\xff", t, "int 32 with 2 bytes"),
        bad("err_trunc_int64", "int 64", b"\xd3\xff\xff\xff\xff\xff\xff\xff", t,
            "int 64 with 7 bytes"),
        bad("err_trunc_float32", "float 32", b"\xca\x3f\xc0", t, "float 32 with 2 bytes"),
        bad("err_trunc_float64", "float 64", b"\xcb\x3f\xf8\x00\x00", t,
            "float 64 with 4 bytes"),
        bad("err_trunc_fixstr", "fixstr", b"\xa5he", t, "fixstr of 5 with 2 bytes"),
        bad("err_trunc_str8_len", "str 8", b"\xd9", t, "str 8 without its length"),
        bad("err_trunc_str8", "str 8", b"\xd9\x20abc", t, "str 8 of 32 with 3 bytes"),
        bad("err_trunc_str16_len", "str 16", b"\xda\x00", t, "str 16 with half a length"),
        bad("err_trunc_str32", "str 32", b"\xdb\x00\x00\x01\x00a", t,
            "str 32 of 256 with 1 byte"),
        bad("err_trunc_str32_huge", "str 32", b"\xdb\xff\xff\xff\xffab", t,
            "str 32 claiming 4 GiB: must fail at once, without allocating it"),
        bad("err_trunc_bin8", "bin 8", b"\xc4\x05\x01", t, "bin 8 of 5 with 1 byte"),
        bad("err_trunc_bin16", "bin 16", b"\xc5\x01", t, "bin 16 with half a length"),
        bad("err_trunc_bin32_huge", "bin 32", b"\xc6\xff\xff\xff\xff", t,
            "bin 32 claiming 4 GiB with no bytes"),
        bad("err_trunc_fixarray", "fixarray", b"\x93\x01\x02", t, "fixarray of 3 with 2"),
        bad("err_trunc_array16", "array 16", b"\xdc\x00\x05\xc0", t, "array 16 of 5 with 1"),
        bad("err_trunc_array32_huge", "array 32", b"\xdd\xff\xff\xff\xff\xc0", t,
            "array 32 claiming 2^32-1 items: must fail at once, not loop"),
        bad("err_trunc_fixmap_value", "fixmap", b"\x81\xa1a", t, "map key without a value"),
        bad("err_trunc_map16", "map 16", b"\xde\x00\x02\xa1a\x01", t, "map 16 of 2 with 1"),
        bad("err_trunc_map32_huge", "map 32", b"\xdf\xff\xff\xff\xff", t,
            "map 32 claiming 2^32-1 entries"),
        bad("err_trunc_nested", "fixarray", b"\x91\x92\x01", t, "an inner array cut short"),
        bad("err_trunc_envelope", "fixmap",
            enc_fixmap(3) + enc_str("id") + b"\x01" + enc_str("op") + b"\xb0conversation",
            t, "a request cut in the middle of the op string"),
        readable("err_utf8_bad_continuation", "fixstr", b"\xa2\xc3\x28", "bad_utf8",
                 "0xc3 followed by a non-continuation byte"),
        readable("err_utf8_overlong", "fixstr", b"\xa2\xc0\xaf", "bad_utf8",
                 "overlong encoding of '/'"),
        readable("err_utf8_overlong3", "fixstr", b"\xa3\xe0\x80\xaf", "bad_utf8",
                 "3-byte overlong encoding"),
        readable("err_utf8_surrogate", "fixstr", b"\xa3\xed\xa0\x80", "bad_utf8",
                 "a UTF-16 surrogate (U+D800) encoded in UTF-8"),
        readable("err_utf8_above_max", "fixstr", b"\xa4\xf4\x90\x80\x80", "bad_utf8",
                 "a code point above U+10FFFF"),
        readable("err_utf8_ff", "fixstr", b"\xa1\xff", "bad_utf8", "0xff never appears in UTF-8"),
        readable("err_utf8_cut", "fixstr", b"\xa2\xe6\x97", "bad_utf8",
                 "a 3-byte sequence cut after 2 bytes by the string's own length"),
        readable("err_utf8_lone_continuation", "fixstr", b"\xa1\x80", "bad_utf8",
                 "a continuation byte with no lead byte"),
        readable("err_ext_fixext1", "fixext 1", b"\xd4\x01\x02", "unsupported",
                 "ext types are not part of the protocol"),
        readable("err_ext8", "ext 8", b"\xc7\x01\x05\xaa", "unsupported",
                 "ext types are not part of the protocol"),
        readable("err_ext_in_request", "request envelope",
                 enc_fixmap(3) + enc_str("id") + b"\x07" + enc_str("op") + enc_str("server.info")
                 + enc_str("args") + enc_fixmap(1) + enc_str("x") + b"\xd5\x05ab", "unsupported",
                 "a request whose args hold an ext value (fixext 2, type 5): answered with "
                 "bad_request and its id", reply_id=7),
        readable("err_utf8_in_request", "request envelope",
                 enc_fixmap(3) + enc_str("id") + b"\x07" + enc_str("op") + enc_str("conversation.say")
                 + enc_str("args") + enc_fixmap(2) + enc_str("conversation") + enc_str("c_1")
                 + enc_str("text") + b"\xa2\xc3\x28", "bad_utf8",
                 "a request whose text is not UTF-8: answered with bad_request and its id",
                 reply_id=7),
        bad("err_trailing", "nil", b"\xc0\xc0", "trailing_bytes",
            "one frame holds exactly one value"),
        bad("err_trailing_map", "fixmap", b"\x80\x00", "trailing_bytes",
            "a map followed by a stray byte"),
        bad("err_too_deep", "fixarray", b"\x91" * 2000 + b"\xc0", "too_deep",
            "2000 nested arrays: every binding must refuse without exhausting its stack"),
        readable("err_map_key_array", "fixmap", b"\x81\x90\x01", "unsupported",
                 "an array as a map key"),
        readable("err_map_key_map", "fixmap", b"\x81\x80\x01", "unsupported", "a map as a map key"),
    ]


CASES: list[Case] = value_cases() + envelope_cases() + error_cases()


def _json_text(doc: dict[str, Any]) -> str:
    """One top-level field per line, each value compact: readable in a diff, yet small."""
    lines = [
        f" {json.dumps(k)}: {json.dumps(doc[k], ensure_ascii=False, separators=(',', ':'))}"
        for k in sorted(doc)
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def zmtp_handshake() -> dict[str, Any]:
    """What a ZMTP 3.1 PLAIN DEALER client sends (rfc 23, rfc 24, rfc 37), as hex. Both the
    addon's zmtp.gd and the raw Python client in tests/bindings must produce these bytes."""
    user, password = b"parley", b"0123456789abcdef"
    greeting = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"PLAIN".ljust(20, b"\x00")
                + b"\x00" + b"\x00" * 31)
    hello_body = b"\x05HELLO" + bytes([len(user)]) + user + bytes([len(password)]) + password
    meta = b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
    initiate_body = b"\x08INITIATE" + meta
    long_body = bytes(range(256)) + bytes(44)
    ping_body = b"\x04PING" + struct.pack(">H", 100) + b"ctx42"  # TTL 10 s (tenths)
    pong_body = b"\x04PONG" + b"ctx42"
    return {
        "description": "client side of the ZMTP 3.1 PLAIN handshake and of message framing",
        "spec": ["https://rfc.zeromq.org/spec/23/", "https://rfc.zeromq.org/spec/24/",
                 "https://rfc.zeromq.org/spec/37/"],
        "username": user.decode(),
        "password": password.decode(),
        "greeting": greeting.hex(),
        "hello": (bytes([0x04, len(hello_body)]) + hello_body).hex(),
        "initiate": (bytes([0x04, len(initiate_body)]) + initiate_body).hex(),
        "short_message_body": "80",
        "short_message": "000180",
        "long_message_body": long_body.hex(),
        "long_message": (b"\x02" + struct.pack(">Q", len(long_body)) + long_body).hex(),
        "more_frame_body": "c0",
        "more_frame": "0101c0",
        "ping_from_peer": (bytes([0x04, len(ping_body)]) + ping_body).hex(),
        "pong_reply": (bytes([0x04, len(pong_body)]) + pong_body).hex(),
    }


def render() -> dict[str, bytes]:
    """File name -> exact bytes, for every vector file."""
    out: dict[str, bytes] = {"zmtp/handshake.json": _json_text(zmtp_handshake()).encode()}
    names: set[str] = set()
    for case in CASES:
        if case.name in names:
            raise ValueError(f"duplicate vector name {case.name}")
        names.add(case.name)
        out[f"{case.name}.msgpack"] = case.data
        out[f"{case.name}.json"] = _json_text(case.to_json()).encode("utf-8")
    index = {"cases": sorted(names)}
    out["index.json"] = (json.dumps(index, indent=1) + "\n").encode("utf-8")
    return out


def main() -> int:
    files = render()
    for old in HERE.glob("*.msgpack"):
        if old.name not in files:
            old.unlink()
    for old in HERE.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, data in files.items():
        (HERE / name).parent.mkdir(exist_ok=True)
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files)} files to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
