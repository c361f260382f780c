"""Who heard each line (`message_witnesses`) and NPC<->NPC affinity (`npc_relations`), on
real SQLite files."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from sidecar.errors import BadRequest, StoreError
from sidecar.store.db import NewMessage, Store, TurnWrite
from sidecar.store.relations import NpcRelations
from sidecar.store.witness import Hearers, Witnesses


async def _start(store: Store, cid: str, persona: str, player: str = "p1") -> None:
    await store.start_conversation(
        conversation_id=cid,
        player_id=player,
        persona_id=persona,
        seed=1,
        greeting=NewMessage(persona, persona.title(), f"hello from {persona}"),
        memory={},
    )


def _turn(cid: str, said: str, answer: str, persona: str, witnesses: tuple[str, ...] = ()) -> TurnWrite:
    return TurnWrite(
        cid,
        (NewMessage("player", "p1", said), NewMessage(persona, persona.title(), answer)),
        {},
        witnesses=witnesses,
    )


async def test_a_turn_records_its_bystanders_on_both_lines(store: Store) -> None:
    await _start(store, "c1", "goldie")
    await store.commit_turn(_turn("c1", "I love cider", "Heron's Kick it is", "goldie", ("rook", "hesper")))
    seen = Witnesses(store)
    assert await seen.heard_by("c1", 0) == Hearers("p1", "goldie", ())
    for seq in (1, 2):
        hearers = await seen.heard_by("c1", seq)
        assert hearers == Hearers("p1", "goldie", ("hesper", "rook"))
        assert hearers is not None and hearers.personas == ("goldie", "hesper", "rook")
    assert await seen.heard_by("c1", 3) is None
    assert await seen.heard("rook", "c1", 1) and not await seen.heard("rook", "c1", 0)
    assert not await seen.heard("ansel", "c1", 1)


async def test_lines_heard_are_own_lines_and_overheard_ones_never_others(store: Store) -> None:
    await _start(store, "ca", "ansel")
    await store.commit_turn(_turn("ca", "Keep this secret: I took the goose", "I won't tell", "ansel"))
    await _start(store, "cg", "goldie")
    await store.commit_turn(_turn("cg", "Just a pint", "Coming up", "goldie"))
    await store.commit_turn(_turn("cg", "I promise to pay Rook's tab", "Bless you", "goldie", ("rook",)))
    await _start(store, "cx", "rook", player="someone_else")
    await store.commit_turn(_turn("cx", "Play me a song", "La la", "rook"))
    seen = Witnesses(store)
    rook = await seen.lines_heard("rook", "p1")
    assert [(h.conversation, h.seq, h.text, h.overheard) for h in rook] == [
        ("cg", 3, "I promise to pay Rook's tab", True),
        ("cg", 4, "Bless you", True),
    ]
    goldie = [h.text for h in await seen.lines_heard("goldie", "p1")]
    assert "Just a pint" in goldie and not any("goose" in t for t in goldie)
    ansel = [h.text for h in await seen.lines_heard("ansel", "p1")]
    assert ansel == ["hello from ansel", "Keep this secret: I took the goose", "I won't tell"]
    assert [h.text for h in await seen.lines_heard("ansel", "p1", limit=1)] == ["I won't tell"]


async def test_a_line_with_witnesses_cannot_be_deleted_out_from_under_them(store: Store) -> None:
    await _start(store, "c1", "goldie")
    await store.commit_turn(_turn("c1", "hi", "hello", "goldie", ("rook",)))
    with pytest.raises(apsw.ConstraintError):
        with store.conn:
            store.conn.execute("DELETE FROM messages WHERE conversation_id='c1' AND seq=1")
    rows = store.conn.execute("SELECT COUNT(*) FROM message_witnesses").fetchall()[0][0]
    assert rows == 2


async def test_a_failed_turn_records_no_witnesses(store: Store) -> None:
    with pytest.raises(StoreError):
        await store.commit_turn(_turn("nope", "hi", "hello", "goldie", ("rook",)))
    assert store.conn.execute("SELECT COUNT(*) FROM message_witnesses").fetchall()[0][0] == 0


async def test_npc_affinity_starts_from_the_file_value_then_keeps_its_changes(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    relations = NpcRelations(store)
    first = await relations.get("ansel", "rook", start=35)
    assert (first.value, first.stored) == (35, False)
    assert (await relations.adjust("ansel", "rook", +10, start=35)).value == 45
    assert (await relations.adjust("ansel", "rook", +80, start=35)).value == 100
    assert (await relations.get("rook", "ansel", start=80)).value == 80  # directed
    await relations.set("rook", "ansel", -5)
    await store.close()
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    relations = NpcRelations(store)
    assert (await relations.get("ansel", "rook", start=0)).value == 100
    assert await relations.stored("rook") == {"ansel": 0}
    with pytest.raises(BadRequest):
        await relations.set("rook", "rook", 50)
    assert await relations.stored("rook") == {"ansel": 0}
    await store.close()
