"""The real sidecar subprocess, driven by a raw-socket ZMTP client written from the specs
(raw_zmtp.py) that sends exactly the bytes the Godot addon's zmtp.gd sends.

If these pass, the sidecar accepts what the addon puts on the wire: the PLAIN handshake,
short and long frames, PING; and a wrong password gets a ZMTP ERROR and no reply.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import msgpack
import pytest
from raw_zmtp import (
    Closed,
    RawDealer,
    command,
    frame,
    greeting,
    hello,
    initiate,
)

from parley_client import Sidecar

HANDSHAKE = json.loads(
    (Path(__file__).resolve().parents[2] / "engine_bindings/vectors/zmtp/handshake.json")
    .read_text(encoding="utf-8")
)


def _connect(sidecar: Sidecar, password: str | None = None) -> tuple[RawDealer, dict[str, bytes]]:
    dealer = RawDealer.to_endpoint(sidecar.endpoint)
    meta = dealer.handshake(b"parley", (password or sidecar.token).encode())
    return dealer, meta


def _call(dealer: RawDealer, req_id: int, op: str, args: dict[str, Any]) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    """Send one request frame; return its reply and the events that came before it."""
    dealer.send(frame(msgpack.packb({"id": req_id, "op": op, "args": args})))
    events: list[dict[str, Any]] = []
    while True:
        parts = dealer.recv_message()
        assert len(parts) == 1, "one message = one frame"
        msg = msgpack.unpackb(parts[0], raw=False)
        assert msg["id"] == req_id
        if "event" in msg:
            events.append(msg)
            continue
        return msg, events


def test_client_bytes_match_the_shared_vector() -> None:
    """The raw client and zmtp.gd are checked against the same handshake bytes."""
    user = HANDSHAKE["username"].encode()
    password = HANDSHAKE["password"].encode()
    assert greeting().hex() == HANDSHAKE["greeting"]
    assert hello(user, password).hex() == HANDSHAKE["hello"]
    assert initiate().hex() == HANDSHAKE["initiate"]
    assert frame(bytes.fromhex(HANDSHAKE["short_message_body"])).hex() == HANDSHAKE[
        "short_message"]
    assert frame(bytes.fromhex(HANDSHAKE["long_message_body"])).hex() == HANDSHAKE[
        "long_message"]
    assert frame(b"\xc0", 0x01).hex() == HANDSHAKE["more_frame"]
    assert command(b"PONG", b"ctx42").hex() == HANDSHAKE["pong_reply"]


def test_handshake_and_a_conversation(sidecar: Sidecar) -> None:
    dealer, meta = _connect(sidecar)
    try:
        assert meta["socket-type"] == b"ROUTER"
        reply, _ = _call(dealer, 1, "persona.list", {})
        assert reply["ok"] is True
        ids = {p["id"] for p in reply["result"]["personas"]}
        assert "ansel" in ids
        reply, _ = _call(dealer, 2, "conversation.start", {"persona": "ansel", "player": "ada"})
        assert reply["ok"] is True, reply
        conversation = reply["result"]["conversation"]
        assert reply["result"]["line"]["text"]
        # A long frame (> 255 bytes: the LONG flag and an 8-byte size) with streaming on.
        text = "Hello Ansel, I have a question about horseshoes. " * 8
        assert len(msgpack.packb({"id": 3, "op": "conversation.say", "args": {
            "conversation": conversation, "text": text, "stream": True}})) > 255
        reply, events = _call(dealer, 3, "conversation.say",
                              {"conversation": conversation, "text": text, "stream": True})
        assert reply["ok"] is True, reply
        deltas = "".join(e["data"]["text"] for e in events if e["event"] == "line.delta")
        assert deltas.strip() == reply["result"]["line"]["text"].strip()
        reply, _ = _call(dealer, 4, "conversation.history", {"conversation": conversation})
        assert [line["text"] for line in reply["result"]["lines"]][1] == text
    finally:
        dealer.close()


def test_ping_gets_pong(sidecar: Sidecar) -> None:
    """ZMTP 3.1 (rfc 37): the sidecar's libzmq answers PING with PONG and the context."""
    dealer, _ = _connect(sidecar)
    try:
        dealer.send(command(b"PING", b"\x00\x64" + b"ctx42"))
        f = dealer.recv_frame()
        assert f.is_command and f.command_name() == b"PONG"
        assert f.command_data() == b"ctx42"
        reply, _ = _call(dealer, 1, "server.info", {})
        assert reply["ok"] is True
    finally:
        dealer.close()


def test_frame_split_across_writes(sidecar: Sidecar) -> None:
    """Partial writes: a request sent one byte at a time is still one frame."""
    dealer, _ = _connect(sidecar)
    try:
        data = frame(msgpack.packb({"id": 9, "op": "persona.list", "args": {}}))
        for i in range(len(data)):
            dealer.send(data[i:i + 1])
        msg = msgpack.unpackb(dealer.recv_message()[0], raw=False)
        assert msg["id"] == 9 and msg["ok"] is True
    finally:
        dealer.close()


def test_wrong_password_gets_error_and_no_reply(sidecar: Sidecar) -> None:
    dealer = RawDealer.to_endpoint(sidecar.endpoint)
    try:
        with pytest.raises(Closed, match="ERROR b'400'"):
            dealer.handshake(b"parley", b"not-the-token")
        # Nothing else comes: a request sent now gets no application message, only a
        # closed connection.
        try:
            dealer.send(frame(msgpack.packb({"id": 1, "op": "persona.list", "args": {}})))
        except OSError:
            pass  # already reset by the peer
        with pytest.raises((Closed, ConnectionResetError, socket.timeout)):
            dealer.recv_message()
    finally:
        dealer.close()
    # The sidecar still serves the right token afterwards.
    good, _ = _connect(sidecar)
    try:
        reply, _ = _call(good, 1, "persona.list", {})
        assert reply["ok"] is True
    finally:
        good.close()


def test_wrong_username_is_refused(sidecar: Sidecar) -> None:
    dealer = RawDealer.to_endpoint(sidecar.endpoint)
    try:
        with pytest.raises(Closed, match="ERROR"):
            dealer.handshake(b"someone", sidecar.token.encode())
    finally:
        dealer.close()
