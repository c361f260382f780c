"""Gossip between NPCs together in a scene (sidecar/engine/scene/director.py over
pipeline/overhear.py `Overhear.meet`): in process, a real SQLite store, the shipped personas
with Ansel made a gossip (`gossip = true`) where a test says so."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sidecar.engine.scene.director import SceneDirector
from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.errors import BadRequest
from sidecar.store.db import Store
from sidecar.store.memory import Memory, MemoryStore, NewMemory

PLAYER = "p_gossip"
SECRET = NewMemory("secret", 'The player told me a secret: "I hid the spoons in the well"', 9)
PROMISE = NewMemory("promise", "The player promised to bring me quince jam.", 8)
LIKE = NewMemory("like", "The player loves pickled walnuts.", 5)


def _director(store: Store, registry: PersonaRegistry, *, ansel_gossips: bool) -> SceneDirector:
    personas = {p.id: p for p in registry.all()}
    personas["ansel"] = personas["ansel"].model_copy(update={"gossip": ansel_gossips})
    return SceneDirector(Dialogue(store, PersonaRegistry(personas)))


async def _told(store: Store) -> list[Memory]:
    memories = MemoryStore(store)
    out: list[Memory] = []
    for persona in ("ansel", "goldie", "rook"):
        out.extend(m for m in await memories.for_pair(PLAYER, persona) if m.told_by is not None)
    return out


async def _count(store: Store) -> int:
    def q(conn: Any) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM memories").fetchall()[0][0])

    return await store.run(q)


@pytest.fixture
async def known(store: Store) -> None:
    """Before the scene: the player told Ansel a secret and a promise, and Goldie a like."""
    memories = MemoryStore(store)
    earlier = time.time() - 60
    for m in (SECRET, PROMISE):
        await memories.add(PLAYER, "ansel", m, at=earlier)
    await memories.add(PLAYER, "goldie", LIKE, at=earlier)


@pytest.mark.usefixtures("known")
async def test_starting_together_a_liked_gossip_passes_what_it_knew_never_a_secret(
    store: Store, registry: PersonaRegistry
) -> None:
    director = _director(store, registry, ansel_gossips=True)
    s = await director.start(["ansel", "goldie"], PLAYER, seed=2)
    told = {(m.persona, m.told_by, m.kind, m.key, m.source.seq if m.source else None) for m in await _told(store)}
    # Each passed memory is sourced to its teller's greeting (Ansel's is seq 0, Goldie's 1).
    assert told == {
        ("goldie", "ansel", "promise", PROMISE.key, 0),
        ("ansel", "goldie", "like", LIKE.key, 1),
    }
    assert all(m.source is not None and m.source.conversation == s.scene for m in await _told(store))
    goldie = {m.key: m for m in await MemoryStore(store).for_pair(PLAYER, "goldie")}
    assert SECRET.key not in goldie and goldie[PROMISE.key].text == "The player promised to bring Ansel quince jam."
    assert goldie[PROMISE.key].importance == PROMISE.importance - 1  # hearsay weighs a little less
    # The line Goldie is given next recalls it as hearsay; nothing of the secret.
    recalled = await director.dialogue.recall.ranked(PLAYER, "goldie", "What did I promise Ansel?")
    assert [(r.memory.key, r.memory.told_by) for r in recalled if r.memory.key == PROMISE.key] == [
        (PROMISE.key, "ansel")
    ]
    assert not [r for r in recalled if "spoons" in r.memory.text]


@pytest.mark.usefixtures("known")
async def test_a_non_gossip_passes_nothing_but_hears_the_gossip_who_likes_it(
    store: Store, registry: PersonaRegistry
) -> None:
    director = _director(store, registry, ansel_gossips=False)  # the shipped Ansel
    s = await director.start(["goldie"], PLAYER, seed=3)
    await director.join(s.scene, "ansel")
    told = await _told(store)
    assert [(m.persona, m.told_by, m.key, m.source) for m in told] == [("ansel", "goldie", LIKE.key, None)]


@pytest.mark.usefixtures("known")
async def test_nothing_passes_to_or_from_an_npc_not_liked(store: Store, registry: PersonaRegistry) -> None:
    director = _director(store, registry, ansel_gossips=True)
    # Rook gossips and likes Ansel (80); Ansel does not like Rook (35): not at a start, not at a join.
    await director.start(["ansel", "rook"], PLAYER, seed=4)
    s = await director.start(["ansel"], PLAYER, seed=5)
    await director.join(s.scene, "rook")
    assert await _told(store) == []


@pytest.mark.usefixtures("known")
async def test_a_joiner_meets_each_npc_present_once_and_a_refused_join_stores_nothing(
    store: Store, registry: PersonaRegistry
) -> None:
    director = _director(store, registry, ansel_gossips=True)
    s = await director.start(["ansel"], PLAYER, seed=6)
    await director.join(s.scene, "goldie")
    first = {(m.persona, m.told_by, m.key) for m in await _told(store)}
    assert first == {("goldie", "ansel", PROMISE.key), ("ansel", "goldie", LIKE.key)}
    count = await _count(store)
    with pytest.raises(BadRequest):
        await director.join(s.scene, "goldie")
    assert await _count(store) == count
    # Leaving and coming back is a new meeting, but nobody is told what it already holds.
    await director.leave(s.scene, "goldie")
    await director.join(s.scene, "goldie")
    assert await _count(store) == count
    assert {(m.persona, m.told_by, m.key) for m in await _told(store)} == first


async def test_what_was_said_in_the_scene_passes_to_a_later_joiner_once(
    store: Store, registry: PersonaRegistry
) -> None:
    director = _director(store, registry, ansel_gossips=True)
    s = await director.start(["ansel", "rook"], PLAYER, seed=7)
    # Said with Rook present (he overhears it, his own memory); Goldie is not there yet.
    await director.say(s.scene, "Ansel, I promise to bring you a jar of quince jam.")
    memories = MemoryStore(store)
    assert await memories.for_pair(PLAYER, "goldie") == []
    await director.join(s.scene, "goldie")
    # Made before she came, so it passes (from Ansel and from Rook, who both like her and
    # gossip): one memory, hearsay, never her own.
    quince = [m for m in await memories.for_pair(PLAYER, "goldie") if "quince" in m.text]
    assert len(quince) == 1 and quince[0].told_by in {"ansel", "rook"}, quince
