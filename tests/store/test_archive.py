"""Archiving on real SQLite files: lines move whole, stay searchable and listable, come back
on restore; per-message tables move with their lines."""

from __future__ import annotations

import time
from typing import Any

import pytest
from history_support import talk

from sidecar.errors import ConversationNotFound
from sidecar.store import archive, history
from sidecar.store.db import Store


def _count(store: Store, sql: str, *args: Any) -> int:
    return int(store.conn.execute(sql, args).fetchall()[0][0])


async def _archive_all(store: Store, days: float = 0) -> int:
    done = 0
    for cid in await store.run(archive.candidates, days, time.time()):
        done += await store.run(archive.archive_one, cid)
    return done


async def test_archive_moves_ended_conversations_and_restore_brings_them_back(store: Store) -> None:
    await talk(store, "old", lines=["Mend my sword?", "Aye, the sword will shine."])
    await talk(store, "open", lines=["A sword for sale?", "No."], ended=False)
    before = await store.run(history.lines, "old", limit=None, before=None)
    assert await _archive_all(store) == 1
    assert await _archive_all(store) == 0  # idempotent
    assert _count(store, "SELECT COUNT(*) FROM messages WHERE conversation_id='old'") == 0
    assert _count(store, "SELECT COUNT(*) FROM archive_messages WHERE conversation_id='old'") == 3
    assert await store.run(history.lines, "old", limit=None, before=None) == before  # same seqs, same text
    assert await store.run(history.line_at, "old", 2) == before[2]  # a memory's source still resolves
    (listed,) = [
        c
        for c in (
            await store.run(history.list_conversations, player=None, persona=None, limit=9, cursor=None)
        ).conversations
        if c.conversation == "old"
    ]
    assert listed.archived and listed.lines == 3
    hits = await store.run(history.search, "sword", persona=None, player=None, limit=10)
    assert {(h.conversation, h.seq, h.archived) for h in hits} == {
        ("old", 1, True),
        ("old", 2, True),
        ("open", 1, False),
    }
    assert await store.run(archive.restore, "old") is True
    assert await store.run(archive.restore, "old") is False  # restoring twice is a no-op
    assert _count(store, "SELECT COUNT(*) FROM messages WHERE conversation_id='old'") == 3
    assert _count(store, "SELECT COUNT(*) FROM archive_messages") == 0
    again = await store.run(history.search, "sword", persona=None, player=None, limit=10)
    assert sorted((h.conversation, h.seq, h.archived) for h in again) == [  # each line once, not re-indexed
        ("old", 1, False),
        ("old", 2, False),
        ("open", 1, False),
    ]
    with pytest.raises(ConversationNotFound):
        await store.run(archive.restore, "nope")


async def test_older_than_days_counts_from_when_the_conversation_ended(store: Store) -> None:
    for cid in ("a", "b", "c"):
        await talk(store, cid)
    now = time.time()
    store.conn.execute("UPDATE conversations SET ended_at = ? WHERE id = 'a'", (now - 10 * archive.DAY_S,))
    store.conn.execute("UPDATE conversations SET ended_at = ? WHERE id = 'b'", (now - 2 * archive.DAY_S,))
    assert await _archive_all(store, 5) == 1
    assert await _archive_all(store, 1) == 1
    assert await _archive_all(store, 0) == 1
    assert _count(store, "SELECT COUNT(*) FROM conversations WHERE archived_at IS NULL") == 0


async def test_a_registered_per_message_table_moves_with_its_lines(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table added later (here: witnesses keyed by message id, with a foreign key) is one
    registry entry; its archive mirror is made from its columns, and gains columns it gains."""
    store.conn.execute(
        "CREATE TABLE witnesses (message_id INTEGER NOT NULL REFERENCES messages(id), persona_id TEXT NOT NULL,"
        " PRIMARY KEY (message_id, persona_id))"
    )
    monkeypatch.setattr(archive, "PER_MESSAGE", (archive.PerMessage("witnesses"),))
    await talk(store, "c1", lines=["A secret.", "Safe with me."])
    await talk(store, "c2", lines=["Hello.", "Hi."])
    store.conn.execute("INSERT INTO witnesses SELECT id, 'goldie' FROM messages")
    assert await _archive_all(store) == 2
    assert _count(store, "SELECT COUNT(*) FROM witnesses") == 0
    assert _count(store, "SELECT COUNT(*) FROM archive_witnesses") == 6
    store.conn.execute("ALTER TABLE witnesses ADD COLUMN heard_at REAL")
    assert await store.run(archive.restore, "c1")
    rows = store.conn.execute(
        "SELECT w.persona_id FROM witnesses w JOIN messages m ON m.id = w.message_id WHERE m.conversation_id='c1'"
    ).fetchall()
    assert rows == [("goldie",)] * 3
    assert _count(store, "SELECT COUNT(*) FROM archive_witnesses") == 3
    assert "heard_at" in {r[1] for r in store.conn.execute("PRAGMA table_info(archive_witnesses)").fetchall()}
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_a_column_the_lines_gain_later_is_archived_too(store: Store) -> None:
    store.conn.execute("ALTER TABLE messages ADD COLUMN scene_speaker TEXT")
    await talk(store, "c1", lines=["Hello.", "Hi."])
    store.conn.execute("UPDATE messages SET scene_speaker = 'rook' WHERE seq = 2")
    assert await _archive_all(store) == 1
    assert await store.run(archive.restore, "c1")
    assert store.conn.execute("SELECT scene_speaker FROM messages WHERE seq = 2").fetchall() == [("rook",)]
