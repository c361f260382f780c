"""An asyncio DEALER client: request ids, one future per request, events routed by id."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
import zmq
import zmq.asyncio

PLAIN_USER = "parley"


@dataclass(frozen=True)
class Event:
    id: int
    event: str
    data: dict[str, Any]


class RemoteError(Exception):
    """The sidecar answered `ok: false`. `code` is the protocol's stable error code."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class RequestTimeout(Exception):
    """No reply within the request's timeout (the sidecar may be gone or busy)."""


class Client:
    """`async with Client(endpoint, token) as c: await c.call("persona.list")`.

    `token=None` connects without PLAIN (only for a sidecar started with --no-auth).
    """

    def __init__(
        self,
        endpoint: str,
        token: str | None,
        *,
        timeout: float = 10.0,
        context: zmq.asyncio.Context | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._ctx = context or zmq.asyncio.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        if token is not None:
            self._sock.plain_username = PLAIN_USER.encode()
            self._sock.plain_password = token.encode()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[int, Callable[[Event], None]] = {}
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        """Events whose request has no listener (and id-0 events)."""
        self.unmatched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        """Replies that match no pending request (e.g. to frames sent with `send_raw`)."""
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Client:
        self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def connect(self) -> None:
        self._sock.connect(self.endpoint)
        self._reader = asyncio.ensure_future(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
        self._sock.close(linger=0)
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()

    async def send_raw(self, frame: bytes) -> None:
        """Send arbitrary bytes as one frame (tests of bad input)."""
        await self._sock.send(frame)

    async def request(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per-request deadline is the API
        on_event: Callable[[Event], None] | None = None,
        req_id: int | None = None,
    ) -> dict[str, Any]:
        """Send one request; return the whole reply envelope (`ok` true or false)."""
        rid = next(self._ids) if req_id is None else req_id
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        if on_event is not None:
            self._listeners[rid] = on_event
        try:
            payload = {"id": rid, "op": op, "args": args or {}}
            try:
                # The send is inside the deadline too: a DEALER with no live peer (sidecar
                # gone, or our handshake refused) blocks on send until one appears.
                async with asyncio.timeout(self.timeout if timeout is None else timeout):
                    await self._sock.send(msgpack.packb(payload, use_bin_type=True))
                    return await fut
            except TimeoutError:
                raise RequestTimeout(f"{op}: no reply in time") from None
        finally:
            self._pending.pop(rid, None)
            self._listeners.pop(rid, None)

    async def call(self, op: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """Like `request`, but returns `result` and raises RemoteError on `ok: false`."""
        reply = await self.request(op, args, **kw)
        if reply.get("ok"):
            return dict(reply["result"])
        err = reply.get("error") or {}
        raise RemoteError(str(err.get("code")), str(err.get("message")), err.get("details"))

    async def _read(self) -> None:
        while True:
            frame = await self._sock.recv()
            try:
                msg = msgpack.unpackb(frame, raw=False)
            except Exception:
                continue
            if not isinstance(msg, dict):
                continue
            rid = msg.get("id")
            if "event" in msg:
                ev = Event(int(rid or 0), str(msg["event"]), dict(msg.get("data") or {}))
                listener = self._listeners.get(ev.id)
                if listener is not None:
                    listener(ev)
                else:
                    self.events.put_nowait(ev)
                continue
            fut = self._pending.get(rid) if isinstance(rid, int) else None
            if fut is not None and not fut.done():
                fut.set_result(msg)
            else:
                self.unmatched.put_nowait(msg)


__all__ = ["Client", "Event", "RemoteError", "RequestTimeout"]
