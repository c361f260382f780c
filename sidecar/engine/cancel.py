"""Cooperative cancellation of a turn by the game (`request.cancel`).

The server gives each request a token (an `asyncio.Event`) through a context variable; the
turn pipeline runs only its *generation* under `until_cancelled`, never its commit. So a
cancelled turn stores nothing and answers `cancelled`, and a cancel that arrives once the
turn is committing is simply too late: the turn completes and answers normally.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import TypeVar

from sidecar.errors import Cancelled

T = TypeVar("T")

CANCEL: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("parley_cancel", default=None)


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
    waiter = asyncio.ensure_future(token.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        waiter.cancel()
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    raise Cancelled("the game cancelled this request")


__all__ = ["CANCEL", "until_cancelled"]
