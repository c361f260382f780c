"""Per-stage cost of a turn on the server side, in-process (no socket): the dispatcher that
sidecar/wiring.py builds over a real SQLite file and the sample personas, its frames taken by
a send function. Each stage is timed by wrapping the function that does it:

- `handle`: unpack + envelope and args validation + queueing (synchronous, per request);
- `store trip`: `Store._run`, one call on the store's thread, as the event loop waits for it
  (thread hand-off both ways + the SQL);
- `store sql`: the SQL alone, on the store's thread;
- `dialogue.say`: the whole turn (engine, quality gate, both store trips);
- `reply`: building the result model, `model_dump` and msgpack (`Dispatcher._send`);
- `request`: handle() to the reply frame, as the event loop sees it.

Usage: .venv/bin/python benchmarks/server_stages.py [--turns 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from inprocess import dispatcher_calls  # the harness beside this script

from sidecar.bench import LINES
from sidecar.server.dispatch import Dispatcher
from sidecar.store.db import Store

TIMES: dict[str, list[float]] = defaultdict(list)


def timed_sync(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name].append(time.perf_counter() - t0)

    return wrapper


def timed_async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            TIMES[name].append(time.perf_counter() - t0)

    return wrapper


def instrument() -> None:
    Dispatcher.handle = timed_sync("handle", Dispatcher.handle)  # type: ignore[method-assign]
    Dispatcher._send = timed_async("reply (dump + pack + send)", Dispatcher._send)  # type: ignore[method-assign]
    Store._run = timed_async("store trip", Store._run)  # type: ignore[method-assign]
    Store._guarded = staticmethod(timed_sync("store sql", Store._guarded))  # type: ignore[method-assign]
    from sidecar.engine.turn import Dialogue

    Dialogue.say = timed_async("dialogue.say", Dialogue.say)  # type: ignore[method-assign]


async def run(turns: int) -> None:
    async with dispatcher_calls() as call:
        persona = "ansel"
        cid = ""
        for i in range(turns + 200):
            if i == 200:
                TIMES.clear()
            if i % 200 == 0:
                cid = (await call("conversation.start", {"persona": persona, "player": f"p{i}"}))["result"][
                    "conversation"
                ]
            t0 = time.perf_counter()
            r = await call("conversation.say", {"conversation": cid, "text": LINES[i % len(LINES)]})
            if i >= 200:
                TIMES["request"].append(time.perf_counter() - t0)
            if r["ok"] and r["result"]["ended"]:
                cid = (await call("conversation.start", {"persona": persona, "player": f"p{i}b"}))["result"][
                    "conversation"
                ]
    n = len(TIMES["request"])
    print(f"{n} turns; per turn: total ms (calls per turn), median ms per call")
    for name, values in sorted(TIMES.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {name:<28} {sum(values) * 1000 / n:8.4f} ms/turn  ({len(values) / n:4.2f}/turn)"
            f"  median {statistics.median(values) * 1000:7.4f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=2000)
    args = ap.parse_args()
    instrument()
    asyncio.run(run(args.turns))


if __name__ == "__main__":
    main()
