"""Cooperative cancellation of a turn by the game (`request.cancel`).

The server gives each request a `CancelToken` through a context variable; the turn pipeline
runs only its *generation* under `until_cancelled`, never its commit. So a cancelled turn
stores nothing and answers `cancelled`, and a cancel that arrives once the turn is committing
is simply too late: the turn completes and answers normally.

The token calls back instead of being waited on: every turn runs its generation under
`until_cancelled`, and waiting on an `asyncio.Event` beside the work cost a second task and
an `asyncio.wait` per turn (~25 µs of CPU) for a cancel that almost never comes.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sidecar.errors import Cancelled

T = TypeVar("T")


class CancelToken:
    """Set once by the server when the game cancels the request; tells its watchers then."""

    def __init__(self) -> None:
        self._set = False
        self._watchers: list[Callable[[], object]] = []

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            watcher()

    def is_set(self) -> bool:
        return self._set

    def watch(self, watcher: Callable[[], object]) -> None:
        """Call `watcher` when the token is set (at once if it already is)."""
        if self._set:
            watcher()
        else:
            self._watchers.append(watcher)

    def unwatch(self, watcher: Callable[[], object]) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)


CANCEL: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("parley_cancel", default=None)


async def until_cancelled(work: Awaitable[T]) -> T:
    """Await `work`, or stop it and raise `Cancelled` when this request's token is set."""
    token = CANCEL.get()
    if token is None:
        return await work
    if token.is_set():
        if asyncio.iscoroutine(work):
            work.close()
        raise Cancelled("the game cancelled this request")
    task = asyncio.ensure_future(work)
    token.watch(task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if token.is_set() and (current is None or not current.cancelling()):
            # Our work was stopped by the token, not our caller by its own cancellation.
            raise Cancelled("the game cancelled this request") from None
        raise
    finally:
        token.unwatch(task.cancel)


__all__ = ["CANCEL", "CancelToken", "until_cancelled"]
