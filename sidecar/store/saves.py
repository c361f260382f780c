"""Save slots: the whole store copied to a file with SQLite's online backup API, and copied
back on load.

A slot is `DATA_DIR/saves/<slot>.sqlite3`, one self-contained SQLite file (rollback journal,
no WAL beside it). Every player profile, conversation, line, memory, relationship and world
fact is in it: a slot is the game's whole save.

What can fail, and what it leaves:
- A crash during `create` (anywhere, `kill -9` included) leaves the slot's previous file
  untouched: the copy goes to `.<slot>.partial`, is made durable (fsync), and only then
  renamed over the slot (an atomic rename; the directory is fsynced after it).
- `load` copies the slot into the live store in one step of the backup API, which is one
  write transaction: it applies whole or not at all (a crash mid-load rolls back at the
  next open). It runs only when no other request is in flight (`Activity.alone`: a turn
  between its read and its commit would otherwise write into the loaded store), else `busy`.
- A slot that is not a Parley store, is damaged, or is newer than this sidecar's schema is
  refused with `store_error` before anything is copied.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import apsw

from sidecar.errors import BadRequest, Busy, SlotNotFound, StoreError
from sidecar.protocol.saves import SLOT_PATTERN
from sidecar.store.db import Store
from sidecar.store.migrations import SCHEMA_VERSION

SAVES_DIR = "saves"
SUFFIX = ".sqlite3"
PARTIAL = ".partial"
log = logging.getLogger(__name__)
_SLOT = re.compile(SLOT_PATTERN)
PAGES_PER_STEP = 1024
"""Pages copied per backup step of `create` (4 MiB at 4 KiB pages); the event loop runs
other requests between steps."""

_SAVING: set[Path] = set()
"""Slots a save is being written to (two saves of one slot at once would share the partial
file)."""

Progress = Callable[[str], None]
"""Told each stage of `create`: `copying` (after each step), `copied` (the partial file is
durable), `replaced` (the slot now holds the new save)."""


@dataclass(frozen=True)
class SlotInfo:
    slot: str
    created_at: float
    bytes: int


class Activity:
    """Requests in flight, as the dispatcher counts them, so that a load runs alone."""

    def __init__(self) -> None:
        self.running = 0

    @contextmanager
    def request(self) -> Iterator[None]:
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1

    def alone(self) -> None:
        """Called from inside a request: raises Busy while any other one is in flight."""
        others = self.running - 1
        if others > 0:
            raise Busy(
                f"cannot load a save while {others} other request(s) are in flight; retry when the turns finish",
                details={"in_flight": others},
            )


def check_slot(slot: str) -> str:
    """The protocol's rule (1–64 letters, digits, `_`, `-`; never a path), checked again here
    for callers that are not the protocol (the CLI) before a name becomes a file name."""
    if not _SLOT.fullmatch(slot):
        raise BadRequest("a slot name is 1-64 letters, digits, '_' or '-'", details={"field": "slot"})
    return slot


def saves_dir(store: Store) -> Path:
    return store.path.parent / SAVES_DIR


def _slot_path(store: Store, slot: str) -> Path:
    return saves_dir(store) / (check_slot(slot) + SUFFIX)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _info(path: Path) -> SlotInfo:
    st = path.stat()
    return SlotInfo(slot=path.name.removesuffix(SUFFIX), created_at=st.st_mtime, bytes=st.st_size)


async def create(
    store: Store, slot: str, *, progress: Progress | None = None, pages_per_step: int = PAGES_PER_STEP
) -> SlotInfo:
    """Save the whole store into `slot` (replacing what it held)."""
    final = _slot_path(store, slot)
    if final in _SAVING:
        raise Busy(f"slot {slot!r} is being saved already; retry when that save answers", details={"slot": slot})
    _SAVING.add(final)
    try:
        return await _create(store, final, progress, pages_per_step)
    finally:
        _SAVING.discard(final)


async def _create(store: Store, final: Path, progress: Progress | None, pages_per_step: int) -> SlotInfo:
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.stem}{PARTIAL}")
    partial.unlink(missing_ok=True)  # a crashed save's leftover
    tell = progress or (lambda stage: None)
    dest = apsw.Connection(str(partial))
    try:
        with dest.backup("main", store.conn, "main") as backup:
            while not backup.done:
                backup.step(pages_per_step)
                tell("copying")
                await asyncio.sleep(0)
        # The copy carries the live store's WAL flag; a save is one file, so it gets a
        # rollback journal (converting also folds any WAL the copy made into the file).
        dest.execute("PRAGMA journal_mode=DELETE").fetchall()
    except apsw.Error as exc:
        raise StoreError(f"save failed: {type(exc).__name__}: {exc}") from exc
    finally:
        dest.close()
    _fsync(partial)
    tell("copied")
    os.replace(partial, final)
    _fsync(final.parent)
    tell("replaced")
    return _info(final)


def _open_slot(path: Path) -> apsw.Connection:
    """The slot, read-only, checked: a Parley store, undamaged, not newer than this schema."""
    try:
        src = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        ok = src.execute("PRAGMA quick_check").fetchall()
        version = src.execute("PRAGMA user_version").fetchall()[0][0]
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_schema WHERE type='table'").fetchall()}
    except apsw.Error as exc:
        raise StoreError(f"{path.name} is not a readable save: {type(exc).__name__}: {exc}") from exc
    if ok != [("ok",)] or "conversations" not in tables:
        src.close()
        raise StoreError(f"{path.name} is damaged or not a Parley save")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        src.close()
        raise StoreError(f"{path.name} has schema version {version}, newer than this sidecar's {SCHEMA_VERSION}")
    return src


async def load(store: Store, slot: str, activity: Activity) -> SlotInfo:
    """Replace the whole live store with `slot`. Raises SlotNotFound, Busy, StoreError; on
    any of them the live store is as it was."""
    path = _slot_path(store, slot)
    if not path.is_file():
        raise SlotNotFound(f"no save slot {slot!r}", details={"slot": slot})
    src = _open_slot(path)
    try:
        activity.alone()
        try:
            with store.conn.backup("main", src, "main") as backup:
                backup.step(-1)  # one step: one transaction, whole or nothing
        except apsw.Error as exc:
            raise StoreError(f"load failed: {type(exc).__name__}: {exc}") from exc
        _fold_wal(store)
    finally:
        src.close()
    await store.migrate()  # a slot saved by an older sidecar
    return _info(path)


def _fold_wal(store: Store) -> None:
    """The load wrote the whole store into the WAL: fold it into the file now, while the load
    still runs alone, rather than leave the checkpoint thread a WAL past its RESTART size
    (a RESTART holds the write lock a turn's commit needs). The load has committed either
    way: a failure here only leaves that work to the checkpoint thread."""
    try:
        store.conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
    except apsw.Error as exc:
        log.warning("could not fold the WAL after a load", extra={"why": f"{type(exc).__name__}: {exc}"})


def list_slots(store: Store) -> list[SlotInfo]:
    """Every slot, newest first."""
    folder = saves_dir(store)
    if not folder.is_dir():
        return []
    found = [_info(p) for p in folder.iterdir() if p.suffix == SUFFIX and _SLOT.fullmatch(p.stem)]
    return sorted(found, key=lambda s: (-s.created_at, s.slot))


def delete(store: Store, slot: str) -> None:
    path = _slot_path(store, slot)
    try:
        path.unlink()
    except FileNotFoundError:
        raise SlotNotFound(f"no save slot {slot!r}", details={"slot": slot}) from None


__all__ = [
    "PAGES_PER_STEP",
    "SLOT_PATTERN",
    "Activity",
    "Progress",
    "SlotInfo",
    "check_slot",
    "create",
    "delete",
    "list_slots",
    "load",
    "saves_dir",
]
