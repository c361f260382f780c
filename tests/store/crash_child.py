"""The process the crash tests kill: it archives, restores or saves a store and SIGKILLs
itself at the point the test chose (run as a script by tests/store/test_crash.py).

    crash_child.py DB archive|restore KILL_AT_CHANGE   (the Nth row change; 0: never)
    crash_child.py DB save SLOT STAGE:N                (the Nth `STAGE` of saves.create)

The kill is a real SIGKILL of this process (no handler, no flush, no atexit), at a chosen row
change inside a transaction (SQLite's update hook) or at a chosen stage of a save.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from sidecar.store import archive, saves
from sidecar.store.db import Store


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def _move(store: Store, mode: str, kill_at: int) -> None:
    changes = 0

    def hook(kind: int, db: str, table: str, rowid: int) -> None:
        nonlocal changes
        changes += 1
        if changes == kill_at:
            _die()

    store.conn.set_update_hook(hook)
    if mode == "archive":
        for cid in await store.run(archive.candidates, 0, time.time()):
            await store.run(archive.archive_one, cid)
    else:
        rows = store.conn.execute("SELECT id FROM conversations WHERE archived_at IS NOT NULL ORDER BY id").fetchall()
        for (cid,) in rows:
            await store.run(archive.restore, cid)


async def _save(store: Store, slot: str, point: str) -> None:
    stage, _, nth = point.partition(":")
    seen = 0

    def progress(at: str) -> None:
        nonlocal seen
        if at == stage:
            seen += 1
            if seen == int(nth or 1):
                _die()

    await saves.create(store, slot, progress=progress, pages_per_step=2)


async def main(argv: list[str]) -> None:
    store = await Store.open(Path(argv[0]), checkpoint_interval=None)
    try:
        if argv[1] == "save":
            await _save(store, argv[2], argv[3])
        else:
            await _move(store, argv[1], int(argv[2]))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
