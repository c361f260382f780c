"""Save slots and world facts on real SQLite files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import pytest
from history_support import talk

from sidecar.errors import BadRequest, Busy, SlotNotFound, StoreError, TooLarge
from sidecar.store import saves, world
from sidecar.store.db import Store
from sidecar.store.migrations import SCHEMA_VERSION


def _conversations(store: Store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.conn.execute("SELECT id, player_id FROM conversations ORDER BY id").fetchall()]


async def _load(store: Store, slot: str) -> saves.SlotInfo:
    activity = saves.Activity()
    with activity.request():
        return await saves.load(store, slot, activity)


async def test_a_slot_holds_every_profile_and_the_world_and_load_brings_them_back(store: Store) -> None:
    await talk(store, "m1", player="mira", lines=["I will bring you iron.", "I'll hold you to it."])
    await talk(store, "t1", player="tom", persona="goldie")
    await store.run(world.set_fact, "time_of_day", "dusk")
    info = await saves.create(store, "slot_1")
    assert info.slot == "slot_1" and info.bytes > 0
    saved = _conversations(store)
    await talk(store, "m2", player="mira")
    await store.run(world.set_fact, "time_of_day", "night")
    await store.run(world.set_fact, "quest_sword", True)
    await _load(store, "slot_1")
    assert _conversations(store) == saved == [("m1", "mira"), ("t1", "tom")]
    assert await store.run(world.facts) == {"time_of_day": "dusk"}
    assert store.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert await store.schema_version() == SCHEMA_VERSION
    # The store goes on after a load: new turns, search over the loaded lines.
    await talk(store, "m3", player="mira", lines=["Iron, as promised."])
    assert store.conn.execute("SELECT COUNT(*) FROM lines_fts WHERE lines_fts MATCH 'iron'").fetchall() == [(2,)]


async def test_a_slot_is_one_self_contained_file(store: Store, tmp_path: Path) -> None:
    await talk(store, "c1")
    await saves.create(store, "a")
    folder = saves.saves_dir(store)
    assert sorted(p.name for p in folder.iterdir()) == ["a.sqlite3"]
    conn = apsw.Connection(str(folder / "a.sqlite3"), flags=apsw.SQLITE_OPEN_READONLY)
    assert conn.execute("PRAGMA journal_mode").fetchall() == [("delete",)]
    assert conn.execute("SELECT id FROM conversations").fetchall() == [("c1",)]
    conn.close()


async def test_list_delete_and_unknown_slots(store: Store) -> None:
    assert saves.list_slots(store) == []
    await saves.create(store, "one")
    await saves.create(store, "two")
    (saves.saves_dir(store) / ".three.partial").write_bytes(b"left by a crash")
    assert sorted(s.slot for s in saves.list_slots(store)) == ["one", "two"]
    saves.delete(store, "one")
    assert [s.slot for s in saves.list_slots(store)] == ["two"]
    with pytest.raises(SlotNotFound):
        saves.delete(store, "one")
    with pytest.raises(SlotNotFound):
        await _load(store, "one")


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a.b", "x" * 65, "é", "a b", "..", "C:"])
async def test_a_slot_name_is_never_a_path(store: Store, name: str) -> None:
    with pytest.raises(BadRequest):
        await saves.create(store, name)
    assert not saves.saves_dir(store).exists() or list(saves.saves_dir(store).iterdir()) == []


async def test_load_is_refused_while_another_request_is_in_flight(store: Store) -> None:
    await talk(store, "c1")
    await saves.create(store, "s")
    await talk(store, "c2")
    activity = saves.Activity()
    with activity.request():  # a turn between its read and its commit
        with activity.request(), pytest.raises(Busy):
            await saves.load(store, "s", activity)
    assert [c for c, _ in _conversations(store)] == ["c1", "c2"]  # nothing applied


async def test_a_damaged_or_foreign_or_newer_slot_is_refused_and_changes_nothing(store: Store) -> None:
    await talk(store, "c1")
    folder = saves.saves_dir(store)
    folder.mkdir()
    (folder / "junk.sqlite3").write_bytes(b"not a database at all" * 100)
    other = apsw.Connection(str(folder / "foreign.sqlite3"))
    other.execute("CREATE TABLE t(x)")
    other.close()
    await saves.create(store, "newer")
    newer = apsw.Connection(str(folder / "newer.sqlite3"))
    newer.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    newer.close()
    for slot in ("junk", "foreign", "newer"):
        with pytest.raises(StoreError):
            await _load(store, slot)
    assert _conversations(store) == [("c1", "mira")]


async def test_world_facts_set_get_clear(store: Store) -> None:
    assert await store.run(world.facts) == {}
    await store.run(world.set_fact, "time_of_day", "night")
    await store.run(world.set_fact, "gold", 12)
    await store.run(world.set_fact, "rain", 0.5)
    assert await store.run(world.set_fact, "quest.sword:found", False) == {
        "gold": 12,
        "quest.sword:found": False,
        "rain": 0.5,
        "time_of_day": "night",
    }
    await store.run(world.set_fact, "gold", 13)
    assert world.pick(await store.run(world.facts), "gold") == {"gold": 13}
    assert world.pick(await store.run(world.facts), "nope") == {}
    assert await store.run(world.clear, "gold") == 1
    assert await store.run(world.clear, "gold") == 0
    assert await store.run(world.clear, None) == 3
    assert await store.run(world.facts) == {}


async def test_the_world_holds_a_bounded_number_of_facts(store: Store) -> None:
    for i in range(world.MAX_FACTS):
        await store.run(world.set_fact, f"k{i}", i)
    with pytest.raises(TooLarge):
        await store.run(world.set_fact, "one_more", 1)
    await store.run(world.set_fact, "k0", "changed")  # an existing key can still change
    assert len(await store.run(world.facts)) == world.MAX_FACTS


async def test_two_saves_of_one_slot_at_once_are_one_save_and_one_busy(store: Store) -> None:
    await talk(store, "c1")
    for i in range(4):
        await talk(store, f"more{i}", lines=["Words " * 50] * 4)
    copying = asyncio.Event()
    first = asyncio.ensure_future(saves.create(store, "s", pages_per_step=1, progress=lambda _: copying.set()))
    await copying.wait()  # the first save has copied a page and lets the loop run
    with pytest.raises(Busy):
        await saves.create(store, "s")
    assert (await first).slot == "s"
    other = await saves.create(store, "s")  # once it answered, the slot can be saved again
    assert other.bytes == (await first).bytes
