"""A transaction that reads before it writes waits for the write lock instead of failing."""

from __future__ import annotations

from pathlib import Path

import apsw

from sidecar.store.db import NewMessage, Store, TurnWrite


async def test_a_turn_commits_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    """The checkpoint thread's RESTART checkpoint holds the write lock while it waits for
    readers; a turn's commit (which reads first) must wait for it, not fail at once."""
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    try:
        await store.start_conversation(
            conversation_id="c1",
            player_id="p",
            persona_id="ansel",
            seed=1,
            greeting=NewMessage("ansel", "Ansel", "Hello."),
            memory={},
        )
        other = apsw.Connection(str(tmp_path / "parley.sqlite3"))
        other.execute("BEGIN IMMEDIATE")
        waited: list[int] = []

        def busy(tries: int) -> bool:
            """The store's wait for the lock: the other connection lets go, the store retries."""
            waited.append(tries)
            other.execute("COMMIT")
            return True

        store.conn.set_busy_handler(busy)
        try:
            await store.commit_turn(TurnWrite("c1", (NewMessage("player", "p", "Hi."),), {}))
        finally:
            other.close()
        assert waited == [0]
        assert [r.text for r in await store.lines("c1")] == ["Hello.", "Hi."]
    finally:
        await store.close()
