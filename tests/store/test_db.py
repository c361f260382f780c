"""The apsw store on real SQLite files."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from sidecar.errors import StoreError
from sidecar.store.db import CHECKPOINT_FRAMES, AffinityWrite, NewMessage, Store, TurnWrite
from sidecar.store.migrations import SCHEMA_VERSION


async def _store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "parley.sqlite3")


async def test_pragmas_and_migrations(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        assert await store.schema_version() == SCHEMA_VERSION
    finally:
        await store.close()
    conn = apsw.Connection(str(tmp_path / "parley.sqlite3"))
    assert conn.execute("PRAGMA journal_mode").fetchall()[0][0] == "wal"
    conn.close()
    again = await _store(tmp_path)  # reopening runs no migration twice
    assert await again.schema_version() == SCHEMA_VERSION
    await again.close()


async def test_the_query_planner_stability_guarantee_is_on(tmp_path: Path) -> None:
    """With it, a cached statement keeps its plan when another conversation's id is bound;
    without it this SQLite build (STAT4) parses a turn's joins again for every new id (seen
    under callgrind: sqlite3Reprepare on each execution; SQLite's own re-prepare counter
    does not show it, the counter goes with the statement it replaces)."""
    store = await _store(tmp_path)
    try:
        assert store.conn.config(apsw.SQLITE_DBCONFIG_ENABLE_QPSG, -1) == 1
    finally:
        await store.close()


async def test_newer_schema_refused(tmp_path: Path) -> None:
    conn = apsw.Connection(str(tmp_path / "parley.sqlite3"))
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        await _store(tmp_path)


async def test_turn_is_atomic_and_affinity_clamped(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.start_conversation(
            conversation_id="c1",
            player_id="p",
            persona_id="n",
            seed=1,
            greeting=NewMessage("n", "N", "Hello."),
            memory={},
            initial_affinity=98,
        )
        res = await store.commit_turn(
            TurnWrite(
                "c1",
                (NewMessage("player", "p", "hi"), NewMessage("n", "N", "yo")),
                {"k": 1},
                AffinityWrite(5, "friendly"),
            )
        )
        assert (res.old, res.new, res.delta) == (98, 100, 2)
        # A turn whose second message violates a constraint stores nothing at all.
        with pytest.raises(StoreError):
            await store.commit_turn(
                TurnWrite(
                    "c1",
                    (NewMessage("player", "p", "again"), NewMessage("n", "N", None)),  # type: ignore[arg-type]
                    {"k": 2},
                    AffinityWrite(-50, "rude"),
                )
            )
        lines = await store.lines("c1")
        assert [m.text for m in lines] == ["Hello.", "hi", "yo"]
        conv = await store.conversation("c1")
        assert conv is not None and conv.memory == {"k": 1} and conv.turns == 1
        assert await store.affinity("p", "n") == 100
    finally:
        await store.close()


async def test_lines_limit_keeps_oldest_first(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.start_conversation(
            conversation_id="c1",
            player_id="p",
            persona_id="n",
            seed=1,
            greeting=NewMessage("n", "N", "g"),
            memory={},
        )
        for i in range(5):
            await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", f"l{i}"),), {}))
        assert [m.text for m in await store.lines("c1", 2)] == ["l3", "l4"]
        assert [m.seq for m in await store.lines("c1")] == list(range(6))
    finally:
        await store.close()


async def test_background_checkpoint_folds_the_wal(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    try:
        await store.start_conversation(
            conversation_id="c1",
            player_id="p",
            persona_id="n",
            seed=1,
            greeting=NewMessage("n", "N", "g"),
            memory={},
        )
        for i in range(50):
            await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", f"line {i}" * 20),), {}))
        frames, done = await store.checkpoint()
        assert frames > 0 and done == frames  # nothing else was reading: all of it folded
        # Automatic checkpoints are off on the writer's connection (they ran inside commits).
        assert await store._run(lambda: store.conn.execute("PRAGMA wal_autocheckpoint").fetchall()[0][0]) == 0
    finally:
        await store.close()
    assert not (tmp_path / "parley.sqlite3-wal").exists() or (tmp_path / "parley.sqlite3-wal").stat().st_size == 0


async def test_a_restart_checkpoint_starts_the_wal_over_and_writes_go_on(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    wal = tmp_path / "parley.sqlite3-wal"
    try:
        await store.start_conversation(
            conversation_id="c1",
            player_id="p",
            persona_id="n",
            seed=1,
            greeting=NewMessage("n", "N", "g"),
            memory={},
        )
        for i in range(50):
            await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", f"line {i}" * 20),), {}))
        frames, done = await store.restart_wal()
        assert frames > 0 and done == frames
        grown = wal.stat().st_size
        # The next write starts the WAL from its beginning: the file does not grow.
        await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", "after the restart"),), {}))
        assert wal.stat().st_size == grown
        assert (await store.lines("c1"))[-1].text == "after the restart"
    finally:
        await store.close()


async def test_a_growing_wal_calls_for_a_checkpoint_before_the_interval(tmp_path: Path) -> None:
    """Each commit reports the WAL's length; past CHECKPOINT_FRAMES since the last checkpoint
    the checkpointer is due (it would otherwise fsync a much longer WAL at once)."""
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    try:
        await store.start_conversation(
            conversation_id="c1", player_id="p", persona_id="n", seed=1, greeting=NewMessage("n", "N", "g"), memory={}
        )
        wal = tmp_path / "parley.sqlite3-wal"

        def frames() -> int:  # the WAL's header is 32 bytes, each frame's 24 and a page
            return (wal.stat().st_size - 32) // (24 + 4096)

        while frames() < CHECKPOINT_FRAMES - 64:
            assert not store.checkpoint_due
            await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", "a line " * 400),), {}))
        while frames() < CHECKPOINT_FRAMES:
            await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", "a line " * 400),), {}))
        assert store.checkpoint_due
    finally:
        await store.close()


async def test_a_v3_database_gains_the_tone_columns_and_keeps_its_lines(tmp_path: Path) -> None:
    from sidecar.store.migrations import MIGRATIONS

    v3 = MIGRATIONS.index(next(m for m in MIGRATIONS if "stance" in m))
    conn = apsw.Connection(str(tmp_path / "parley.sqlite3"))
    for k, sql in enumerate(MIGRATIONS[:v3]):
        with conn:
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version={k + 1}")
    with conn:
        conn.execute("INSERT INTO players VALUES ('p', 0)")
        conn.execute("INSERT INTO relationships VALUES ('p', 'n', 50, 0)")
        conn.execute(
            "INSERT INTO conversations(id, player_id, persona_id, seed, started_at, updated_at)"
            " VALUES ('c1', 'p', 'n', 1, 0, 0)"
        )
        conn.execute(
            "INSERT INTO messages(conversation_id, seq, speaker, name, text, at, compound)"
            " VALUES ('c1', 0, 'player', 'p', 'My mother died.', 0, -0.6)"
        )
    conn.close()
    store = await _store(tmp_path)
    try:
        assert await store.schema_version() == SCHEMA_VERSION
        (old,) = await store.lines("c1")
        assert (old.text, old.compound, old.stance, old.emotion, old.intensity) == (
            "My mother died.",
            -0.6,
            None,
            None,
            None,
        )
        await store.commit_turn(
            TurnWrite(
                "c1",
                (
                    NewMessage("player", "p", "You oaf.", compound=-0.4, stance=-0.7),
                    NewMessage("n", "N", "How dare you.", emotion="anger", intensity=0.8),
                ),
                {},
            )
        )
        rows = await store.lines("c1")
        assert [(r.stance, r.emotion, r.intensity) for r in rows[1:]] == [(-0.7, None, None), (None, "anger", 0.8)]
        assert [(r.stance, r.emotion) for r in await store.lines_since("c1", 2)] == [(None, "anger")]
    finally:
        await store.close()
