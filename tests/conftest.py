"""Shared fixtures: a real sidecar subprocess on 127.0.0.1 with a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import zmq.asyncio

from parley_client import Client, Sidecar

REPO = Path(__file__).resolve().parent.parent
PERSONAS = REPO / "personas"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def sidecar(data_dir: Path) -> Iterator[Sidecar]:
    proc = Sidecar(data_dir, PERSONAS).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def zctx() -> AsyncIterator[zmq.asyncio.Context]:
    ctx = zmq.asyncio.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
async def client(sidecar: Sidecar, zctx: zmq.asyncio.Context) -> AsyncIterator[Client]:
    async with Client(sidecar.endpoint, sidecar.token, context=zctx) as c:
        yield c
