"""The sidecar's own frame codec against the shared golden vectors (engine_bindings/vectors),
and the one rule of PROTOCOL.md §3: which frames are dropped, which are answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgpack
import pytest

from sidecar.protocol.codec import MAX_DEPTH, FrameError, UnsupportedValue, pack, request_id, unpack

VECTORS = Path(__file__).resolve().parents[2] / "engine_bindings" / "vectors"
MUST_FAIL = sorted(p for p in VECTORS.glob("err_*.msgpack"))


def _meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return meta


DROPPED = [p for p in MUST_FAIL if _meta(p)["as_request"] == "dropped"]
ANSWERED = [p for p in MUST_FAIL if _meta(p)["as_request"] == "bad_request"]


def test_there_are_failure_vectors_of_both_kinds() -> None:
    assert len(DROPPED) >= 10
    assert len(ANSWERED) >= 10
    assert len(DROPPED) + len(ANSWERED) == len(MUST_FAIL)


@pytest.mark.parametrize("path", DROPPED, ids=lambda p: p.stem)
def test_every_unreadable_vector_is_a_frame_error(path: Path) -> None:
    with pytest.raises(FrameError):
        unpack(path.read_bytes())


@pytest.mark.parametrize("path", ANSWERED, ids=lambda p: p.stem)
def test_every_readable_refused_vector_is_a_bad_request_with_its_id(path: Path) -> None:
    with pytest.raises(UnsupportedValue) as caught:
        unpack(path.read_bytes())
    assert caught.value.message.startswith(caught.value.details["errors"][0]["field"] + ": ")
    assert caught.value.request_id == _meta(path)["reply_id"]
    # The reply itself must be sendable: nothing undecodable is echoed into it.
    pack({"message": caught.value.message, "details": caught.value.details})


def test_round_trip_of_an_envelope() -> None:
    env = {"id": 7, "op": "conversation.say", "args": {"conversation": "c_1", "text": "héllo ✓"}}
    assert unpack(pack(env)) == env


def test_the_issue_frame_names_its_field_and_keeps_its_id() -> None:
    frame = msgpack.packb({"id": 7, "op": "server.info", "args": {"x": msgpack.ExtType(5, b"ab")}})
    with pytest.raises(UnsupportedValue) as caught:
        unpack(frame)
    assert caught.value.request_id == 7
    assert caught.value.details == {
        "errors": [{"field": "args.x", "problem": "msgpack ext type 5: ext types are not part of the protocol"}]
    }


def test_a_bad_utf8_key_is_reported_at_its_map_without_echoing_it() -> None:
    frame = b"\x83\xa2id\x05\xa2op\xabserver.info\xa4args\x81\xa3a\xff\xfe\x01"
    with pytest.raises(UnsupportedValue) as caught:
        unpack(frame)
    assert caught.value.request_id == 5
    assert caught.value.details["errors"][0]["field"] == "args"
    assert "\udcff" not in caught.value.message


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ({"id": 5}, 5),
        ({"id": 2**53}, 2**53),
        ({"id": 2**53 + 1}, 0),
        ({"id": -1}, 0),
        ({"id": True}, 0),
        ({"id": 5.0}, 0),
        ({"id": "5"}, 0),
        ([5], 0),
        (None, 0),
    ],
)
def test_request_id_rule(raw: Any, want: int) -> None:
    assert request_id(raw) == want


def test_nesting_is_readable_to_max_depth_and_dropped_beyond() -> None:
    deep = b"\x91" * MAX_DEPTH + b"\xc0"
    value = unpack(deep)
    for _ in range(MAX_DEPTH):
        assert isinstance(value, list)
        value = value[0]
    assert value is None
    with pytest.raises(FrameError):
        unpack(b"\x91" + deep)


def test_a_problem_deep_down_is_found_without_recursion() -> None:
    deep = b"\x91" * (MAX_DEPTH - 1) + b"\xd4\x01\x02"
    with pytest.raises(UnsupportedValue) as caught:
        unpack(deep)
    assert caught.value.details["errors"][0]["field"] == ".".join(["0"] * (MAX_DEPTH - 1))


@pytest.mark.parametrize(
    ("frame", "field", "word"),
    [
        (msgpack.packb({"id": 3, "args": {b"k": 1}}), "args", "bin"),
        (msgpack.packb({"id": 3, "args": {"at": msgpack.Timestamp(2**40, 5)}}), "args.at", "timestamp"),  # ext 8
        (msgpack.packb({"id": 3, "args": [1, msgpack.Timestamp(1, 0)]}), "args.1", "timestamp"),  # fixext 4
        (b"\x82\xa2id\x03\xa4args\xc7\x04\xff\x00\x00\x00\x01", "args", "timestamp"),  # ext 8 holding 4 bytes
    ],
)
def test_what_the_strict_pass_lets_through_is_still_found(frame: bytes, field: str, word: str) -> None:
    with pytest.raises(UnsupportedValue) as caught:
        unpack(frame)
    assert caught.value.request_id == 3
    assert caught.value.details["errors"][0]["field"] == field
    assert word in caught.value.message


def test_plain_frames_with_the_marker_bytes_decode_unchanged() -> None:
    """0xff, 0xc4-0xc6 in ints, floats and UTF-8 text only make the codec look closer."""
    env = {"id": 255, "op": "conversation.say", "args": {"text": "Ąę ŀ Ɔ", "n": -1, "f": float("nan")}}
    got = unpack(pack(env))
    assert got["args"]["text"] == "Ąę ŀ Ɔ" and got["id"] == 255 and got["args"]["n"] == -1


def test_a_value_msgpack_cannot_decode_still_leaves_the_id_readable() -> None:
    """A timestamp of a length no timestamp has (ext -1, 1 byte) before and as a key."""
    bad_ts = b"\xd4\xff\x00"
    frame = b"\x84" + bad_ts + b"\x01" + b"\xa2id\x05" + b"\xa4args" + bad_ts + b"\xd9\x02id\x09"
    with pytest.raises(UnsupportedValue) as caught:
        unpack(frame)
    assert caught.value.request_id == 9  # the last "id", as in a dict, whatever its str format
    frame = b"\x82\xa2id" + bad_ts + b"\xa2op\xa1x"
    with pytest.raises(UnsupportedValue) as caught:
        unpack(frame)
    assert caught.value.request_id == 0
