"""A ZMTP 3.1 DEALER client with PLAIN auth on a bare TCP socket, written from the specs:

- rfc 23/ZMTP  https://rfc.zeromq.org/spec/23/  (greeting, framing, commands, metadata)
- rfc 37/ZMTP  https://rfc.zeromq.org/spec/37/  (ZMTP 3.1: PING / PONG)
- rfc 24/ZMTP-PLAIN  https://rfc.zeromq.org/spec/24/  (HELLO, WELCOME, INITIATE, READY)

It sends byte for byte what godot_addon/addons/parley/net/zmtp.gd sends (both are checked
against engine_bindings/vectors/zmtp/handshake.json), so a test that drives the real sidecar
with it proves the sidecar accepts what the Godot addon will send. No zmq import here: that
is the point.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

FLAG_MORE = 0x01
FLAG_LONG = 0x02
FLAG_COMMAND = 0x04


def greeting(mechanism: bytes = b"PLAIN", as_server: bool = False) -> bytes:
    """rfc 23 §"The Greeting": signature %xFF 8%x00 %x7F, version 3.1 (rfc 37), mechanism
    padded with NULs to 20 octets, as-server, 31 octets of filler."""
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 1]) + mechanism.ljust(20, b"\x00")
            + bytes([1 if as_server else 0]) + b"\x00" * 31)


def frame(body: bytes, flags: int = 0) -> bytes:
    """rfc 23 §"Framing": flags, then size as 1 octet, or 8 octets (network order) with the
    LONG flag when the body is over 255 octets."""
    if len(body) > 255:
        return bytes([flags | FLAG_LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def command(name: bytes, data: bytes = b"") -> bytes:
    """rfc 23 §"Commands": a command frame holds the name as a short string, then data."""
    return frame(bytes([len(name)]) + name + data, FLAG_COMMAND)


def hello(username: bytes, password: bytes) -> bytes:
    """rfc 24: HELLO carries the username and the password, each a short string."""
    return command(b"HELLO", bytes([len(username)]) + username + bytes([len(password)])
                   + password)


def metadata(props: dict[bytes, bytes]) -> bytes:
    """rfc 23 §"The Metadata": name as a short string, value with a 4-octet length."""
    return b"".join(bytes([len(k)]) + k + struct.pack(">I", len(v)) + v
                    for k, v in props.items())


def parse_metadata(data: bytes) -> dict[str, bytes]:
    props: dict[str, bytes] = {}
    i = 0
    while i < len(data):
        n = data[i]
        name = data[i + 1:i + 1 + n].decode("ascii").lower()  # names are case-insensitive
        i += 1 + n
        (vlen,) = struct.unpack(">I", data[i:i + 4])
        i += 4
        props[name] = data[i:i + vlen]
        i += vlen
    return props


def initiate() -> bytes:
    """rfc 24: INITIATE carries the client's metadata; the addon sends only Socket-Type."""
    return command(b"INITIATE", metadata({b"Socket-Type": b"DEALER"}))


@dataclass(frozen=True)
class Frame:
    flags: int
    body: bytes

    @property
    def is_command(self) -> bool:
        return bool(self.flags & FLAG_COMMAND)

    @property
    def more(self) -> bool:
        return bool(self.flags & FLAG_MORE)

    def command_name(self) -> bytes:
        assert self.is_command
        return self.body[1:1 + self.body[0]]

    def command_data(self) -> bytes:
        return self.body[1 + self.body[0]:]

    def is_error(self) -> bool:
        """An ERROR command (rfc 23: %d5 "ERROR" error-reason). libzmq 4.3.5 sends it to a
        refused PLAIN client as 0x5e "RROR" 0x03 "400": the name's size octet and first
        letter are mangled, so a client must also accept that form."""
        return self.is_command and (self.command_name() == b"ERROR"
                                    or self.body[1:5] == b"RROR")

    def error_reason(self) -> bytes:
        start = self.body.find(b"RROR") + 4
        n = self.body[start] if start < len(self.body) else 0
        return self.body[start + 1:start + 1 + n]


class Closed(Exception):
    """The peer closed the connection."""


class RawDealer:
    """One TCP connection; every read has a timeout, so a test can never hang."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""

    @classmethod
    def to_endpoint(cls, endpoint: str, timeout: float = 10.0) -> RawDealer:
        assert endpoint.startswith("tcp://")
        host, _, port = endpoint[len("tcp://"):].rpartition(":")
        return cls(host, int(port), timeout)

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(f"peer closed with {len(self._buf)} of {n} bytes read")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_frame(self) -> Frame:
        flags = self.recv_exact(1)[0]
        assert flags & 0xF8 == 0, f"reserved flag bits set: {flags:#x}"
        if flags & FLAG_LONG:
            (size,) = struct.unpack(">Q", self.recv_exact(8))
        else:
            size = self.recv_exact(1)[0]
        return Frame(flags, self.recv_exact(size))

    def recv_message(self) -> list[bytes]:
        """The frames of the next message, answering PINGs (rfc 37) on the way."""
        parts: list[bytes] = []
        while True:
            f = self.recv_frame()
            if f.is_command:
                if f.command_name() == b"PING":
                    self.send(command(b"PONG", f.command_data()[2:]))
                    continue
                if f.is_error():
                    raise Closed(f"ERROR {f.error_reason()!r}")
                continue
            parts.append(f.body)
            if not f.more:
                return parts

    def handshake(self, username: bytes, password: bytes) -> dict[str, bytes]:
        """Greeting, HELLO, WELCOME, INITIATE, READY. Returns the peer's READY metadata;
        raises Closed (carrying the ERROR reason) when the credentials are refused."""
        self.send(greeting())
        peer = self.recv_exact(64)
        assert peer[0] == 0xFF and peer[9] == 0x7F, "not a ZMTP peer"
        assert peer[10] == 3, f"ZMTP major version {peer[10]}"
        assert peer[12:32].rstrip(b"\x00") == b"PLAIN", peer[12:32]
        self.send(hello(username, password))
        reply = self.recv_frame()
        assert reply.is_command
        if reply.is_error():
            raise Closed(f"ERROR {reply.error_reason()!r}")
        assert reply.command_name() == b"WELCOME", reply.command_name()
        self.send(initiate())
        ready = self.recv_frame()
        if ready.is_error():
            raise Closed(f"ERROR {ready.error_reason()!r}")
        assert ready.command_name() == b"READY", ready.command_name()
        return parse_metadata(ready.command_data())
