"""Per-key ordering: jobs with the same key run one at a time in arrival order; jobs with
different keys (or no key) run concurrently."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

Job = Callable[[], Awaitable[None]]


class KeyedSerializer:
    def __init__(self, tasks: set[asyncio.Task[None]]) -> None:
        self._queues: dict[str, deque[Job]] = {}
        self._tasks = tasks

    def submit(self, key: str | None, job: Job) -> None:
        """Queue `job`; never blocks. The caller keeps `tasks` to await them on shutdown."""
        if key is None:
            self._spawn(job())
            return
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        self._spawn(self._drain(key))

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                await queue[0]()
                queue.popleft()
        finally:
            del self._queues[key]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())


__all__ = ["KeyedSerializer"]
