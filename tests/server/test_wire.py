"""The ROUTER's receive/send path without zmq.asyncio futures (sidecar/server/wire.py), on
real sockets over 127.0.0.1, and the zmq.asyncio path a loop without `add_reader` keeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgpack
import pytest
import zmq
import zmq.asyncio

from sidecar import wiring
from sidecar.paths import default_personas_dir
from sidecar.server import app
from sidecar.server.wire import BATCH, Wire


@pytest.fixture
async def pair(zctx: zmq.asyncio.Context) -> AsyncIterator[tuple[zmq.asyncio.Socket, zmq.asyncio.Socket]]:
    router = zctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = zctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    yield router, dealer
    dealer.close(linger=0)
    router.close(linger=0)


class Got(list[list[bytes]]):
    """The messages handled; `all_in` is set once `n` of them are."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.all_in = asyncio.Event()

    def __call__(self, frames: list[bytes]) -> None:
        self.append(frames)
        if len(self) >= self.n:
            self.all_in.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.all_in.wait(), 10)


async def test_every_message_is_handled_once_in_order_and_replies_reach_the_peer(
    pair: tuple[zmq.asyncio.Socket, zmq.asyncio.Socket],
) -> None:
    router, dealer = pair
    wire = Wire.open(router)
    assert wire is not None
    n = 3 * BATCH + 5  # more than one pass reads
    got = Got(n)
    # Sent before the reader is added: they raised their edge before anyone watched.
    for i in range(3):
        await dealer.send(msgpack.packb(i))
    assert await router.poll(10_000, zmq.POLLIN)  # queued at the socket, nobody watching yet
    wire.start(got)
    for i in range(3, n):
        await dealer.send(msgpack.packb(i))
    await got.wait()
    assert [msgpack.unpackb(frames[-1]) for frames in got] == list(range(n))
    for frames in got[:10]:
        await wire.send(frames[:-1], msgpack.packb({"echo": msgpack.unpackb(frames[-1])}))
    replies = [msgpack.unpackb(await asyncio.wait_for(dealer.recv(), 10)) for _ in range(10)]
    assert replies == [{"echo": i} for i in range(10)]
    wire.close()
    assert wire.closed.is_set()


async def test_input_that_arrives_while_replying_is_not_missed(
    pair: tuple[zmq.asyncio.Socket, zmq.asyncio.Socket],
) -> None:
    """Ping-pong: each reply is sent from inside the handler; a send can take the socket's
    edge, and the next request must still be read."""
    router, dealer = pair
    wire = Wire.open(router)
    assert wire is not None
    got: list[list[bytes]] = []

    def handle(frames: list[bytes]) -> None:
        got.append(frames)
        asyncio.ensure_future(wire.send(frames[:-1], frames[-1]))

    wire.start(handle)
    for i in range(200):
        await dealer.send(msgpack.packb(i))
        assert msgpack.unpackb(await asyncio.wait_for(dealer.recv(), 10)) == i
    wire.close()


async def test_a_handler_bug_does_not_stop_the_reading(pair: tuple[zmq.asyncio.Socket, zmq.asyncio.Socket]) -> None:
    router, dealer = pair
    wire = Wire.open(router)
    assert wire is not None
    got = Got(3)

    def handle(frames: list[bytes]) -> None:
        got(frames)
        if len(got) == 1:
            raise RuntimeError("a bug in handle()")

    wire.start(handle)
    for i in range(3):
        await dealer.send(msgpack.packb(i))
    await got.wait()
    assert not wire.closed.is_set()
    wire.close()


class _NoReaders(asyncio.SelectorEventLoop):
    """A real loop that, like Windows' Proactor loop, cannot watch a file descriptor."""

    def add_reader(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise NotImplementedError


def test_a_loop_without_add_reader_gets_no_wire() -> None:
    async def main() -> Wire | None:
        ctx = zmq.asyncio.Context()
        router = ctx.socket(zmq.ROUTER)
        try:
            return Wire.open(router)
        finally:
            router.close(linger=0)
            ctx.term()

    loop = _NoReaders()
    try:
        assert loop.run_until_complete(main()) is None
    finally:
        loop.close()


async def test_the_zmq_asyncio_path_serves_requests(tmp_path: Path, zctx: zmq.asyncio.Context) -> None:
    """What a loop without `add_reader` runs (`_run` without a wire): a real dispatcher over a
    real store answers through zmq.asyncio's receive loop and `socket_sender`."""
    router = zctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = zctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    stop = asyncio.Event()
    async with wiring.services(tmp_path, default_personas_dir(), None) as services:
        dispatcher = wiring.dispatcher(services, app.socket_sender(router), started=0.0)
        server = asyncio.ensure_future(app._run(router, dispatcher, stop, None, None))
        try:
            await dealer.send(msgpack.packb({"id": 7, "op": "persona.list", "args": {}}))
            reply = msgpack.unpackb(await asyncio.wait_for(dealer.recv(), 10))
        finally:
            stop.set()
            await asyncio.wait_for(server, 10)
            dealer.close(linger=0)
            router.close(linger=0)
    assert reply["id"] == 7 and reply["ok"] is True
    assert "ansel" in [p["id"] for p in reply["result"]["personas"]]
