"""Crash in the middle of archiving, restoring and saving: a real subprocess SIGKILLed at a
chosen point (tests/store/crash_child.py), then the files are checked with apsw: integrity,
foreign keys, the search index against its content, and counts (every line once, each
conversation wholly on one side). Running the job again finishes it."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import apsw
import pytest
from history_support import talk

from sidecar.store import saves
from sidecar.store.db import Store

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[2]
ENDED, OPEN, TURNS = 8, 2, 2
LINES = 1 + 2 * TURNS
PER_CONVERSATION = 2 * LINES + 1
"""Row changes archiving one conversation makes: its lines copied, deleted, the flag set."""
TOTAL = (ENDED + OPEN) * LINES
SAID = (ENDED + OPEN) * 2 * TURNS
"""Lines holding the word "lantern" (every one but the greetings)."""


def _run_child(*args: str) -> int:
    done = subprocess.run([sys.executable, str(CHILD), *args], cwd=REPO, timeout=120, capture_output=True)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr.decode()
    return done.returncode


async def _build(path: Path) -> None:
    store = await Store.open(path, checkpoint_interval=None)
    try:
        for i in range(ENDED + OPEN):
            lines = [f"Lantern {i} turn {t} {side}" for t in range(TURNS) for side in ("asks", "answers")]
            await talk(store, f"c{i:02d}", player=f"p{i % 3}", lines=lines, ended=i < ENDED)
    finally:
        await store.close()


def _check(path: Path) -> tuple[int, int]:
    """Every invariant a kill must keep; returns (archived conversations, live ones)."""
    conn = apsw.Connection(str(path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO lines_fts(lines_fts, rank) VALUES ('integrity-check', 1)")  # index == content
        assert conn.execute("SELECT COUNT(*) FROM lines_fts WHERE lines_fts MATCH 'lantern'").fetchall() == [(SAID,)]
        sides = conn.execute(
            "SELECT c.id, c.archived_at IS NOT NULL,"
            " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id),"
            " (SELECT COUNT(*) FROM archive_messages a WHERE a.conversation_id = c.id)"
            " FROM conversations c ORDER BY c.id"
        ).fetchall()
        assert len(sides) == ENDED + OPEN
        for cid, archived, live, gone in sides:
            assert (live, gone) == ((0, LINES) if archived else (LINES, 0)), (cid, archived, live, gone)
        ids = conn.execute("SELECT id FROM messages UNION ALL SELECT id FROM archive_messages").fetchall()
        assert len(ids) == len(set(ids)) == TOTAL  # nothing lost, nothing duplicated
        archived = sum(1 for s in sides if s[1])
        return archived, len(sides) - archived
    finally:
        conn.close()


def _points(seed: int) -> list[int]:
    """Kill moments, as row-change counts: inside the first conversation's transaction at its
    edges (first copy, all copied, all but one deleted, flag set), between transactions, and
    a seeded sample of the rest."""
    edges = [1, LINES, 2 * LINES - 1, PER_CONVERSATION, PER_CONVERSATION + 1]
    rest = random.Random(seed).sample(range(2, ENDED * PER_CONVERSATION), 5)
    return sorted(set(edges + rest))


@pytest.mark.parametrize("point", _points(20261202))
async def test_a_kill_during_archiving_loses_and_duplicates_nothing(tmp_path: Path, point: int) -> None:
    template = tmp_path / "template.sqlite3"
    await _build(template)
    db = tmp_path / "parley.sqlite3"
    shutil.copy(template, db)
    assert _run_child(str(db), "archive", str(point)) == -signal.SIGKILL
    archived, _ = _check(db)
    assert archived == (point - 1) // PER_CONVERSATION  # whole conversations, none half
    assert _run_child(str(db), "archive", "0") == 0  # running again finishes the job
    assert _check(db) == (ENDED, OPEN)
    # ... and a kill while restoring them keeps the same promises.
    assert _run_child(str(db), "restore", str(point)) == -signal.SIGKILL
    archived, _ = _check(db)
    assert archived == ENDED - (point - 1) // PER_CONVERSATION
    assert _run_child(str(db), "restore", "0") == 0
    assert _check(db) == (0, ENDED + OPEN)


def _slot_conversations(path: Path) -> list[str]:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id").fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("point", ["copying:1", "copying:3", "copied", "replaced"])
async def test_a_kill_during_a_save_leaves_the_previous_save_whole(tmp_path: Path, point: str) -> None:
    db = tmp_path / "parley.sqlite3"
    await _build(db)
    store = await Store.open(db, checkpoint_interval=None)
    try:
        await saves.create(store, "main")
        first = _slot_conversations(saves.saves_dir(store) / "main.sqlite3")
        for i in range(6):  # the store grows past a few backup steps
            await talk(store, f"later{i}", lines=["More words " * 40] * 6)
        now = [r[0] for r in store.conn.execute("SELECT id FROM conversations ORDER BY id").fetchall()]
    finally:
        await store.close()
    assert _run_child(str(db), "save", "main", point) == -signal.SIGKILL
    slot = db.parent / saves.SAVES_DIR / "main.sqlite3"
    assert _slot_conversations(slot) == (now if point == "replaced" else first)
    store = await Store.open(db, checkpoint_interval=None)
    try:
        assert [s.slot for s in saves.list_slots(store)] == ["main"]  # a partial copy is never a slot
        assert [r[0] for r in store.conn.execute("SELECT id FROM conversations ORDER BY id").fetchall()] == now
        assert store.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        await saves.create(store, "main")  # the next save replaces a crashed one's leftovers
        assert sorted(p.name for p in saves.saves_dir(store).iterdir()) == ["main.sqlite3"]
        assert _slot_conversations(slot) == now
    finally:
        await store.close()
