"""Long-term memory rows on a real SQLite file (sidecar/store/memory.py)."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from sidecar.errors import StoreError
from sidecar.store.db import NewMessage, Store, TurnWrite
from sidecar.store.memory import _PAIR, MemorySource, MemoryStore, NewMemory, fts_query, pair_token


async def _conversation(store: Store, cid: str = "c1", player: str = "mira", persona: str = "ansel") -> None:
    await store.start_conversation(
        conversation_id=cid, player_id=player, persona_id=persona, seed=1,
        greeting=NewMessage(persona, "Ansel", "Hello."), memory={},
    )


async def test_add_list_forget(store: Store) -> None:
    mem = MemoryStore(store)
    a = await mem.add("mira", "ansel", NewMemory("event", "The player saved the mill.", 7))
    b = await mem.add("mira", "ansel", NewMemory("like", "The player loves fishing.", 4))
    await mem.add("mira", "goldie", NewMemory("like", "The player loves stew.", 4))
    assert a.source is None and a.told_by is None and a.importance == 7
    listed = await mem.for_pair("mira", "ansel")
    assert [m.id for m in listed] == [a.id, b.id]  # most important first
    assert await mem.for_pair("mira", "ansel", limit=1) == [listed[0]]
    assert await mem.forget(a.id) is True
    assert await mem.forget(a.id) is False
    assert [m.id for m in await mem.for_pair("mira", "ansel")] == [b.id]
    assert await mem.get(a.id) is None


async def test_same_key_updates_one_row_and_keeps_the_higher_importance(store: Store) -> None:
    mem = MemoryStore(store)
    first = await mem.add("mira", "ansel", NewMemory("like", "The player loves fishing.", 6, key="pref:fishing"))
    flip = await mem.add("mira", "ansel", NewMemory("dislike", "The player hates fishing.", 4, key="pref:fishing"))
    assert flip.id == first.id
    assert (flip.kind, flip.text, flip.importance) == ("dislike", "The player hates fishing.", 6)
    assert len(await mem.for_pair("mira", "ansel")) == 1
    # The index follows the update: the old words are gone, the new ones found.
    ranked = await mem.candidates("mira", "ansel", ["hates"])
    assert ranked[0][1] > 0
    assert (await mem.candidates("mira", "ansel", ["loves"]))[0][1] == 0


async def test_hearsay_never_overwrites_what_the_npc_witnessed(store: Store) -> None:
    mem = MemoryStore(store)
    own = await mem.add("mira", "goldie", NewMemory("event", "The player saved the mill.", 7))
    told = await mem.add("mira", "goldie", NewMemory("event", "The player saved the mill.", 5, told_by="rook"))
    assert told.id == own.id and told.told_by is None
    other = await mem.add("mira", "goldie", NewMemory("gift", "The player gave Ansel a hammer.", 5, told_by="rook"))
    assert other.told_by == "rook"


async def test_candidates_rank_bm25_within_the_pair_only(store: Store) -> None:
    mem = MemoryStore(store)
    trout = await mem.add("mira", "ansel", NewMemory("promise", "The player promised to bring me a trout.", 8))
    await mem.add("mira", "ansel", NewMemory("like", "The player loves music.", 4))
    await mem.add("bram", "ansel", NewMemory("promise", "The player promised to bring me a trout.", 8))
    ranked = dict((m.id, rel) for m, rel in await mem.candidates("mira", "ansel", ["trout", "river"]))
    assert len(ranked) == 2
    assert ranked[trout.id] > 0
    assert sorted(ranked.values())[0] == 0
    # Stemmed: "promise" finds "promised".
    assert dict((m.id, r) for m, r in await mem.candidates("mira", "ansel", ["promise"]))[trout.id] > 0


def test_fts_query_is_words_not_syntax() -> None:
    assert fts_query([]) is None
    assert fts_query(['a"b', "NEAR", "x*", "x*"]) == '"a""b" OR "NEAR" OR "x*"'


async def test_fts_syntax_in_words_is_literal(store: Store) -> None:
    mem = MemoryStore(store)
    await mem.add("mira", "ansel", NewMemory("event", "The player said NEAR the mill.", 5))
    for words in (['"'], ["*"], ["-"], ["NEAR"], ["(", ")"], ["AND", "OR", "NOT"]):
        await mem.candidates("mira", "ansel", words)  # never an FTS5 syntax error


async def test_a_turn_writes_its_memories_in_its_transaction(store: Store) -> None:
    await _conversation(store)
    await store.commit_turn(
        TurnWrite(
            "c1",
            (NewMessage("player", "mira", "I'm Mira."), NewMessage("ansel", "Ansel", "Hello, Mira.")),
            {},
            memories=(
                NewMemory("name", "The player's name is Mira.", 8, key="name"),
                NewMemory("promise", "I promised to mend the player's sword.", 7, line=1),
                NewMemory("event", "The player came by.", 3, persona="goldie"),
            ),
        )
    )
    mem = MemoryStore(store)
    by_kind = {m.kind: m for m in await mem.for_pair("mira", "ansel")}
    assert by_kind["name"].source == MemorySource("c1", 1)
    assert by_kind["promise"].source == MemorySource("c1", 2)
    lines = await store.lines("c1")
    assert lines[1].text == "I'm Mira."
    assert [m.text for m in await mem.for_pair("mira", "goldie")] == ["The player came by."]


async def test_a_failed_turn_stores_no_memory(store: Store) -> None:
    with pytest.raises(StoreError):
        await store.commit_turn(
            TurnWrite("nope", (NewMessage("player", "mira", "hi"),), {},
                      memories=(NewMemory("event", "x", 3),))
        )
    conn = store.conn
    assert conn.execute("SELECT COUNT(*) FROM memories").fetchall()[0][0] == 0


async def test_integrity_of_the_index_after_updates_and_deletes(store: Store) -> None:
    mem = MemoryStore(store)
    ids = [(await mem.add("mira", "ansel", NewMemory("event", f"Event number {i} at the mill.", 5))).id
           for i in range(20)]
    for i in ids[::2]:
        await mem.forget(i)
    await mem.add("mira", "ansel", NewMemory("event", "Event number 1 at the mill.", 9))
    store.conn.execute("INSERT INTO memories_fts(memories_fts, rank) VALUES ('integrity-check', 1)")
    hits = [m for m, rel in await mem.candidates("mira", "ansel", ["mill"]) if rel > 0]
    assert len(hits) == 10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "gossip", "text": "x", "importance": 5},
        {"kind": "event", "text": "x", "importance": 0},
        {"kind": "event", "text": "x", "importance": 11},
        {"kind": "event", "text": "   ", "importance": 5},
        {"kind": "event", "text": "x" * 401, "importance": 5},
    ],
)
def test_new_memory_refuses_what_the_table_would(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NewMemory(**kwargs)  # type: ignore[arg-type]


async def test_the_table_itself_refuses_bad_rows(tmp_path: Path) -> None:
    s = await Store.open(tmp_path / "p.sqlite3", checkpoint_interval=None)
    await s.close()
    conn = apsw.Connection(str(tmp_path / "p.sqlite3"))
    with pytest.raises(apsw.ConstraintError):
        conn.execute(
            "INSERT INTO memories(player_id, persona_id, kind, text, importance, at, key)"
            " VALUES ('p', 'n', 'event', 'x', 42, 0, 'k')"
        )
    conn.close()


async def test_recall_matches_within_the_pair_even_when_ids_run_together(store: Store) -> None:
    mem = MemoryStore(store)
    mine = await mem.add("ab", "c", NewMemory("event", "The player fed the goose.", 5))
    await mem.add("a", "bc", NewMemory("event", "The player fed the goose.", 5))
    await mem.add("ab", "cd", NewMemory("event", "The player fed the goose.", 5))
    ranked = await mem.candidates("ab", "c", ["goose"])
    assert [(m.id, rel > 0) for m, rel in ranked] == [(mine.id, True)]


async def test_a_memory_keeps_its_source_when_its_lines_leave_the_live_tables(store: Store) -> None:
    """Archiving moves a conversation's rows out of `conversations`/`messages`: a memory
    points at its line by plain columns (no foreign key), so it stays, source and all."""
    await _conversation(store)
    await store.commit_turn(
        TurnWrite("c1", (NewMessage("player", "mira", "I'm Mira."), NewMessage("ansel", "Ansel", "Hello.")), {},
                  memories=(NewMemory("name", "The player's name is Mira.", 8, key="name"),))
    )
    conn = store.conn
    with conn:
        conn.execute("DELETE FROM messages WHERE conversation_id='c1'")
        conn.execute("DELETE FROM conversations WHERE id='c1'")
    [kept] = await MemoryStore(store).for_pair("mira", "ansel")
    assert kept.source == MemorySource("c1", 1) and kept.text == "The player's name is Mira."


@pytest.mark.parametrize(
    ("player", "persona"), [("mira", "ansel"), ("Ana Núñez", "goldie"), ("p 1\u2019s", "rook"), ("", "x")]
)
def test_pair_token_is_the_index_token(player: str, persona: str) -> None:
    # The recall's query token (Python) must be the token the FTS triggers index (SQL).
    conn = apsw.Connection(":memory:")
    sql = f"SELECT {_PAIR.format(row='p')} FROM (SELECT ? AS player_id, ? AS persona_id) p"
    assert pair_token(player, persona) == conn.execute(sql, (player, persona)).fetchall()[0][0]
