"""Step overhear (sidecar/engine/pipeline/overhear.py): bystanders' copies of a turn's memories
and gossip at a meeting, over a real SQLite store and the shipped personas."""

from __future__ import annotations

from sidecar.engine.pipeline.overhear import Meeting, Overhear
from sidecar.engine.turn import PersonaRegistry
from sidecar.engine.witness import attributed, retell
from sidecar.store.db import Store
from sidecar.store.memory import MemoryStore, NewMemory
from sidecar.store.relations import NpcRelations


def _step(store: Store) -> Overhear:
    return Overhear(MemoryStore(store), NpcRelations(store))


async def test_without_bystanders_nothing_is_overheard(store: Store, registry: PersonaRegistry) -> None:
    made = (NewMemory("like", "The player loves apple cider.", 4),)
    assert await _step(store)(Meeting("p1", registry.get("goldie"), ()), made) == ()


async def test_a_bystander_remembers_the_turn_in_its_own_words(store: Store, registry: PersonaRegistry) -> None:
    made = (
        NewMemory("promise", "The player promised to bring me a trout.", 8),
        NewMemory("secret", 'The player told me a secret: "I fear geese"', 9),
    )
    out = await _step(store)(Meeting("p1", registry.get("hesper"), (registry.get("sorrel"),)), made)
    assert [(m.persona, m.kind, m.text, m.key, m.told_by) for m in out] == [
        ("sorrel", "promise", "The player promised to bring Captain Vane a trout.", made[0].key, None),
        ("sorrel", "secret", 'The player told Captain Vane a secret: "I fear geese"', made[1].key, None),
    ]
    assert retell("I'm sure my word holds.", "Rook") == "Rook is sure Rook's word holds."


async def test_two_gossips_who_like_each_other_swap_what_they_knew_but_never_secrets(
    store: Store, registry: PersonaRegistry
) -> None:
    memories = MemoryStore(store)
    await memories.add("p1", "goldie", NewMemory("like", "The player loves apple cider.", 4))
    await memories.add("p1", "goldie", NewMemory("secret", 'The player told me a secret: "I fear geese"', 9))
    await memories.add("p1", "goldie", NewMemory("gift", "The player gave me a pie.", 6))
    await memories.add("p1", "rook", NewMemory("name", "The player's name is Mira.", 8, key="name"))
    await memories.add("p2", "goldie", NewMemory("like", "The player loves mead.", 4))  # another player
    made = (NewMemory("event", "The player asked for a song.", 5),)
    out = await _step(store)(Meeting("p1", registry.get("rook"), (registry.get("goldie"),)), made)
    told = {(m.persona, m.told_by, m.text, m.importance) for m in out if m.told_by}
    assert told == {
        ("rook", "goldie", "The player gave Goldie a pie.", 5),
        ("rook", "goldie", "The player loves apple cider.", 3),
        ("goldie", "rook", "The player's name is Mira.", 7),
    }
    overheard = [(m.persona, m.text) for m in out if not m.told_by]
    assert overheard == [("goldie", "The player asked for a song.")]


async def test_no_gossip_without_mutual_liking_or_a_gossip(store: Store, registry: PersonaRegistry) -> None:
    memories = MemoryStore(store)
    await memories.add("p1", "rook", NewMemory("like", "The player loves sea shanties.", 4))
    await memories.add("p1", "ansel", NewMemory("like", "The player loves iron roses.", 4))
    step = _step(store)
    # Rook gossips and likes Ansel (80), but Ansel does not like Rook (35): nothing passes.
    out = await step(Meeting("p1", registry.get("ansel"), (registry.get("rook"),)), ())
    assert [m for m in out if m.told_by] == []
    # Sorrel and Hesper like each other, but neither gossips.
    await memories.add("p1", "hesper", NewMemory("like", "The player loves drills.", 4))
    assert await step(Meeting("p1", registry.get("sorrel"), (registry.get("hesper"),)), ()) == ()
    # Once Ansel warms to Rook (stored NPC<->NPC affinity wins over the file), Rook tells.
    await NpcRelations(store).set("ansel", "rook", 75)
    out = await step(Meeting("p1", registry.get("ansel"), (registry.get("rook"),)), ())
    assert [(m.persona, m.told_by, m.text) for m in out] == [
        ("ansel", "rook", "The player loves sea shanties.")
    ]


async def test_what_the_listener_already_knows_is_not_told_again(store: Store, registry: PersonaRegistry) -> None:
    memories = MemoryStore(store)
    name = NewMemory("name", "The player's name is Mira.", 8, key="name")
    await memories.add("p1", "goldie", name)
    await memories.add("p1", "rook", name)
    out = await _step(store)(Meeting("p1", registry.get("goldie"), (registry.get("rook"),)), ())
    assert out == ()


async def test_hearsay_passes_on_again_from_the_last_teller(store: Store, registry: PersonaRegistry) -> None:
    memories = MemoryStore(store)
    heard = NewMemory("promise", "The player promised to bring Goldie a pie.", 7, told_by="goldie")
    await memories.add("p1", "rook", heard)
    await NpcRelations(store).set("ansel", "rook", 75)
    out = await _step(store)(Meeting("p1", registry.get("ansel"), (registry.get("rook"),)), ())
    assert [(m.persona, m.told_by, m.text, m.key) for m in out] == [
        ("ansel", "rook", "The player promised to bring Goldie a pie.", heard.key)
    ]


def test_a_prompt_says_who_told_a_memory(registry: PersonaRegistry) -> None:
    everyone = registry.all()
    assert attributed("The player loves pies.", None, everyone) == "The player loves pies."
    said = attributed("The player loves pies.", "hesper", everyone)
    assert said == "The player loves pies. (Captain Vane told you this.)"
    assert attributed("The player loves pies.", "gone", everyone) == "The player loves pies. (gone told you this.)"
