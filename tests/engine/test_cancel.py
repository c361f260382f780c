"""until_cancelled: the token stops the work it guards; the caller's own cancellation stays a
cancellation; a token set late changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from sidecar.engine.cancel import CANCEL, CancelToken, until_cancelled
from sidecar.errors import Cancelled


async def test_setting_the_token_stops_running_work_and_raises_cancelled() -> None:
    token = CancelToken()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def work() -> str:
        started.set()
        try:
            await asyncio.get_running_loop().create_future()  # never resolves
        except asyncio.CancelledError:
            stopped.set()
            raise
        return "never"

    async def guarded() -> str:
        CANCEL.set(token)
        return await until_cancelled(work())

    run = asyncio.ensure_future(guarded())
    await started.wait()
    token.set()
    with pytest.raises(Cancelled):
        await run
    assert stopped.is_set()


async def test_the_callers_own_cancellation_is_not_turned_into_cancelled() -> None:
    token = CancelToken()
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.get_running_loop().create_future()

    async def guarded() -> None:
        CANCEL.set(token)
        await until_cancelled(work())

    run = asyncio.ensure_future(guarded())
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not token.is_set()


async def test_a_token_set_after_the_work_finished_changes_nothing() -> None:
    token = CancelToken()

    async def work() -> int:
        return 7

    reset = CANCEL.set(token)
    try:
        assert await until_cancelled(work()) == 7
    finally:
        CANCEL.reset(reset)
    token.set()  # the watcher was removed: nothing left to cancel
    assert token.is_set()
