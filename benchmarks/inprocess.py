"""The in-process harness shared by the turn benchmarks (turn_cpu.py, server_stages.py): the
dispatcher that sidecar/wiring.py builds over a real SQLite file in a temporary folder and the
sample personas, its reply frames taken by a send function (no socket, no client in the
process's clock). Imported from the benchmark scripts' own folder."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sidecar import wiring
from sidecar.llm.spec import LlmSettings
from sidecar.paths import default_personas_dir
from sidecar.protocol.codec import pack, unpack

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@asynccontextmanager
async def dispatcher_calls(data_dir: Path | None = None, llm: LlmSettings | None = None) -> AsyncIterator[Call]:
    """Yields `call(op, args) -> reply envelope`; drains the dispatcher on the way out. The
    store is in a fresh temporary folder, or in `data_dir` when given; `llm`: a resolved
    provider config (None: the embedded engine alone)."""
    replies: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def send(prefix: Sequence[bytes], frame: bytes) -> None:
        msg = unpack(frame)
        if "event" not in msg:
            replies.pop(msg["id"]).set_result(msg)

    with tempfile.TemporaryDirectory() as tmp:
        async with wiring.services(data_dir or Path(tmp), default_personas_dir(), llm) as services:
            dispatcher = wiring.dispatcher(services, send, started=time.monotonic())
            loop = asyncio.get_running_loop()
            next_id = 0

            async def call(op: str, args: dict[str, Any]) -> dict[str, Any]:
                nonlocal next_id
                next_id += 1
                fut = replies[next_id] = loop.create_future()
                dispatcher.handle([b"peer", pack({"id": next_id, "op": op, "args": args})])
                return await fut

            yield call
            await dispatcher.drain()
