"""Bad input never kills the server, gets a typed error, and changes nothing stored."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
import zmq
import zmq.asyncio

from parley_client import Client, Sidecar
from sidecar.protocol.codec import MAX_FRAME_BYTES


async def _snapshot(client: Client, cid: str) -> tuple[Any, ...]:
    info = await client.call("server.info")
    hist = await client.call("conversation.history", {"conversation": cid})
    c = info["counts"]
    return (c["players"], c["conversations"], c["messages"], hist["lines"])


@pytest.fixture
async def conversation(client: Client) -> str:
    persona = (await client.call("persona.list"))["personas"][0]["id"]
    start = await client.call("conversation.start", {"persona": persona, "player": "ana"})
    return str(start["conversation"])


BAD_REQUESTS: list[tuple[Any, str]] = [
    ([1, 2, 3], "bad_request"),
    ("just a string", "bad_request"),
    ({"op": "server.info"}, "bad_request"),
    ({"id": "7", "op": "server.info", "args": {}}, "bad_request"),
    ({"id": -1, "op": "server.info", "args": {}}, "bad_request"),
    ({"id": True, "op": "server.info", "args": {}}, "bad_request"),
    ({"id": 1, "op": "server.info", "args": [], "x": 1}, "bad_request"),
    ({"id": 1, "op": "no.such.op", "args": {}}, "unknown_op"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "CID", "text": 5}}, "bad_request"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "CID"}}, "bad_request"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "CID", "text": "hi", "evil": 1}}, "bad_request"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "CID", "text": ""}}, "bad_request"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "CID", "text": "x" * 2001}}, "too_large"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "CID", "text": "é" * 2001}}, "too_large"),
    ({"id": 1, "op": "conversation.say", "args": {"conversation": "nope", "text": "hi"}}, "conversation_not_found"),
    ({"id": 1, "op": "conversation.history", "args": {"conversation": "CID", "limit": 0}}, "bad_request"),
    ({"id": 1, "op": "conversation.history", "args": {"conversation": "nope"}}, "conversation_not_found"),
    ({"id": 1, "op": "conversation.start", "args": {"persona": "nobody", "player": "ana"}}, "persona_not_found"),
    ({"id": 1, "op": "conversation.start", "args": {"persona": "Bad Id!", "player": "ana"}}, "bad_request"),
    ({"id": 1, "op": "conversation.start", "args": {"persona": "x", "player": "p" * 65}}, "too_large"),
    ({"id": 1, "op": "conversation.start", "args": {"persona": "x", "player": 12}}, "bad_request"),
]


def _fill(obj: Any, cid: str) -> Any:
    if isinstance(obj, dict):
        return {k: _fill(v, cid) for k, v in obj.items()}
    return cid if obj == "CID" else obj


@pytest.mark.parametrize(("request_obj", "code"), BAD_REQUESTS)
async def test_bad_request_gets_typed_error_and_changes_nothing(
    client: Client, conversation: str, request_obj: Any, code: str
) -> None:
    before = await _snapshot(client, conversation)
    await client.send_raw(msgpack.packb(_fill(request_obj, conversation), use_bin_type=True))
    async with asyncio.timeout(10):
        reply = await client.unmatched.get()
    assert reply["ok"] is False
    assert reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    expected_id = request_obj.get("id") if isinstance(request_obj, dict) else None
    if not (isinstance(expected_id, int) and not isinstance(expected_id, bool) and expected_id >= 0):
        expected_id = 0
    assert reply["id"] == expected_id
    assert await _snapshot(client, conversation) == before


@pytest.mark.parametrize(
    "frame",
    [b"\xc1", b"\x92\x01", b"\x81\xa2id", b"", b"\xdd\xff\xff\xff\xff", b"\x01\x02"],
    ids=["reserved-byte", "truncated-array", "truncated-map", "empty", "huge-array-header", "trailing-bytes"],
)
async def test_unreadable_frame_is_dropped(client: Client, conversation: str, frame: bytes) -> None:
    before = await _snapshot(client, conversation)
    await client.send_raw(frame)
    # The server stays up and answers the next request normally.
    info = await client.call("server.info")
    assert info["protocol"] == 1
    assert await _snapshot(client, conversation) == before


async def test_frame_over_maxmsgsize_drops_connection_and_peer_reconnects(
    sidecar: Sidecar, client: Client, conversation: str, zctx: zmq.asyncio.Context
) -> None:
    before = await _snapshot(client, conversation)
    async with Client(sidecar.endpoint, sidecar.token, context=zctx) as big:
        monitor = big._sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)  # noqa: SLF001
        await big.send_raw(b"\x00" * (MAX_FRAME_BYTES + 1))
        event = await monitor.recv_multipart()
        assert int.from_bytes(event[0][:2], "little") == zmq.EVENT_DISCONNECTED
        # libzmq reconnects on its own; the same client then works again.
        info = await big.call("server.info", timeout=20)
        assert info["protocol"] == 1
        big._sock.disable_monitor()  # noqa: SLF001
        monitor.close(linger=0)
    assert await _snapshot(client, conversation) == before


async def test_many_bad_frames_do_not_kill_the_server(client: Client, conversation: str) -> None:
    for i in range(200):
        await client.send_raw(bytes([0xC1]) * (i % 7 + 1))
        await client.send_raw(msgpack.packb({"id": 10_000 + i, "op": "conversation.say", "args": {"text": i}}))
    info = await client.call("server.info")
    assert info["counts"]["errors"] >= 200


def _request_frame(args: bytes, *, op: str = "server.info", req_id: int = 7) -> bytes:
    """A request envelope whose `args` value is the given raw msgpack bytes."""
    head = b"\x83" + msgpack.packb("id") + msgpack.packb(req_id) + msgpack.packb("op") + msgpack.packb(op)
    return head + msgpack.packb("args") + args


# (frame, the id the reply must carry, the field its problem names, a word of the problem)
READABLE_NOT_PROTOCOL: dict[str, tuple[bytes, int, str, str]] = {
    "ext-in-args": (
        msgpack.packb({"id": 7, "op": "server.info", "args": {"x": msgpack.ExtType(5, b"ab")}}),
        7,
        "args.x",
        "ext type 5",
    ),
    "timestamp-in-args": (
        msgpack.packb({"id": 7, "op": "server.info", "args": {"x": msgpack.Timestamp(1, 0)}}),
        7,
        "args.x",
        "timestamp",
    ),
    "timestamp-of-bad-length": (_request_frame(b"\x81\xa1x\xd4\xff\x00"), 7, "(frame)", "cannot decode"),
    "ext-before-the-id": (
        b"\x83"
        + msgpack.packb("args")
        + b"\x81\xa1x\xd4\x01\x02"
        + msgpack.packb("id")
        + b"\x09"
        + msgpack.packb("op")
        + msgpack.packb("server.info"),
        9,
        "args.x",
        "ext type 1",
    ),
    "ext-as-the-id": (msgpack.packb({"id": msgpack.ExtType(1, b"x"), "op": "server.info"}), 0, "id", "ext type 1"),
    "ext-alone": (b"\xd4\x01\x02", 0, "(root)", "ext type 1"),
    "ext-in-a-list": (
        msgpack.packb({"id": 7, "op": "server.info", "args": {"x": [1, msgpack.ExtType(2, b"")]}}),
        7,
        "args.x.1",
        "ext type 2",
    ),
    "bad-utf8-value": (
        _request_frame(b"\x82\xacconversation\xa3c_1\xa4text\xa2\xc3\x28", op="conversation.say"),
        7,
        "args.text",
        "UTF-8",
    ),
    "bad-utf8-op": (b"\x82\xa2id\x07\xa2op\xa2\xff\xfe", 7, "op", "UTF-8"),
    "bad-utf8-key": (_request_frame(b"\x81\xa2\xff\xfe\x01"), 7, "args", "UTF-8"),
    "array-as-key": (_request_frame(b"\x81\x90\x01"), 7, "args", "an array as a map key"),
    "map-as-key": (_request_frame(b"\x81\x80\x01"), 7, "args", "a map as a map key"),
    "int-key": (_request_frame(b"\x81\x01\x01"), 7, "args", "map keys are str"),
}


@pytest.mark.parametrize(
    ("frame", "want_id", "field", "word"), READABLE_NOT_PROTOCOL.values(), ids=list(READABLE_NOT_PROTOCOL)
)
async def test_readable_frame_with_a_value_outside_the_protocol_gets_one_bad_request(
    client: Client, conversation: str, frame: bytes, want_id: int, field: str, word: str
) -> None:
    """PROTOCOL.md §3: a readable frame is answered exactly once, with its id if usable."""
    before = await _snapshot(client, conversation)
    await client.send_raw(frame)
    async with asyncio.timeout(10):
        reply = await client.unmatched.get()
    assert reply["id"] == want_id, reply
    assert reply["ok"] is False
    assert reply["error"]["code"] == "bad_request", reply
    assert reply["error"]["details"]["errors"][0]["field"] == field, reply
    assert word in reply["error"]["message"], reply
    assert field in reply["error"]["message"], reply
    # Exactly one reply: a request sent after it is answered, and nothing else came.
    assert (await client.call("server.info"))["protocol"] == 1
    assert client.unmatched.empty(), client.unmatched.get_nowait()
    assert await _snapshot(client, conversation) == before


async def test_an_extra_key_of_100_kb_is_not_echoed_back_in_full(client: Client, conversation: str) -> None:
    """The error names the unknown field, cut short: the peer's own 100 KB key name does not
    come back as a 100 KB error."""
    key = "k" * 100_000
    args = {"conversation": conversation, "text": "hi", key: 1}
    await client.send_raw(msgpack.packb({"id": 3, "op": "conversation.say", "args": args}, use_bin_type=True))
    async with asyncio.timeout(10):
        reply = await client.unmatched.get()
    assert reply["error"]["code"] == "bad_request"
    fields = [e["field"] for e in reply["error"]["details"]["errors"]]
    assert fields and all(len(f) <= 128 for f in fields)
    assert fields[0].startswith("kkkk") and fields[0].endswith("\u2026")
    assert len(msgpack.packb(reply, use_bin_type=True)) < 2_000
