"""The gossip rules (sidecar/engine/gossip.py) over the shipped personas."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sidecar.engine import gossip
from sidecar.engine.turn import PersonaRegistry
from sidecar.store.memory import memory_key


@dataclass(frozen=True)
class Mem:
    text: str
    kind: str = "like"
    importance: int = 5
    at: float = 10.0
    told_by: str | None = None

    @property
    def key(self) -> str:
        return memory_key("like" if self.kind == "like" else "event", self.text)


def _pair(registry: PersonaRegistry, a: str, b: str) -> gossip.Pair:
    pa, pb = registry.get(a), registry.get(b)
    return gossip.Pair(pa, pb, gossip.starting_affinity(pa, b), gossip.starting_affinity(pb, a))


def test_starting_affinity_is_the_files_value_or_fifty(registry: PersonaRegistry) -> None:
    ansel = registry.get("ansel")
    assert gossip.starting_affinity(ansel, "rook") == 35
    assert gossip.starting_affinity(ansel, "stranger") == 50


def test_only_a_gossip_who_likes_and_is_liked_tells(registry: PersonaRegistry) -> None:
    goldie_rook = _pair(registry, "goldie", "rook")  # 70 / 85, both gossip
    assert [(t.id, listener.id) for t, listener in gossip.tellers(goldie_rook)] == [
        ("goldie", "rook"),
        ("rook", "goldie"),
    ]
    ansel_goldie = _pair(registry, "ansel", "goldie")  # 80 / 90, only Goldie gossips
    assert [(t.id, listener.id) for t, listener in gossip.tellers(ansel_goldie)] == [("goldie", "ansel")]
    rook_ansel = _pair(registry, "rook", "ansel")  # Rook likes Ansel (80), Ansel does not (35)
    assert gossip.tellers(rook_ansel) == []
    cooled = gossip.Pair(goldie_rook.a, goldie_rook.b, gossip.LIKES - 1, 100)
    assert gossip.tellers(cooled) == []
    with pytest.raises(ValueError):
        gossip.may_gossip(registry.get("ansel"), goldie_rook)


def test_secrets_later_memories_and_what_the_listener_knows_never_pass() -> None:
    memories = [
        Mem("The player stole the mayor's goose", kind="secret", importance=10),
        Mem("The player loves apple cider", importance=6),
        Mem("The player promised to pay Rook's tab", kind="promise", importance=8),
        Mem("The player is called Mira", kind="name", importance=9, at=20.0),  # after the meeting
        Mem("The player hates geese", kind="dislike", importance=4, told_by="rook"),  # Rook's own news
        Mem("The player loves  Apple cider.", importance=3),  # the same memory, worded alike
        Mem("The player saved the mill", kind="event", importance=2),
    ]
    mill = memory_key("event", "The player saved the mill")
    passed = gossip.passable(memories, listener="rook", before=15.0, known=[mill])
    assert [m.text for m in passed] == ["The player promised to pay Rook's tab", "The player loves apple cider"]
    assert gossip.passable(memories, listener="rook", before=15.0, known=[], limit=1) == [memories[2]]
