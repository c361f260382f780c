"""The engine's memory as a mutable working copy for the length of one call.

Loaded from the typed `EngineMemory` (sidecar/engine/state.py), changed while a line is
composed (each attempt on its own copy), and frozen back, trimmed to what the rules look back
on. `learn` is what the NPC takes from the player's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from sidecar.engine.reading import Reading
from sidecar.engine.state import EngineMemory, Preference
from sidecar.engine.text import normalize

_SAID_KEEP = 16
_CORES_KEEP = 24
_LIKES_KEEP = 8


@dataclass
class WorkingMemory:
    name: str | None = None
    likes: list[Preference] = field(default_factory=list)
    dislikes: list[Preference] = field(default_factory=list)
    recalled: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    cores: list[str] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)
    asked_name: bool = False
    quirk_turn: int = -10
    hook_turn: int = -10

    @classmethod
    def load(cls, m: EngineMemory) -> WorkingMemory:
        return cls(
            name=m.player_name, likes=list(m.likes), dislikes=list(m.dislikes),
            recalled=list(m.recalled), said=list(m.said), cores=list(m.cores),
            topics=dict(m.topics), asked_name=m.asked_name, quirk_turn=m.quirk_turn,
            hook_turn=m.hook_turn,
        )

    def copy(self) -> WorkingMemory:
        return WorkingMemory(
            name=self.name, likes=list(self.likes), dislikes=list(self.dislikes),
            recalled=list(self.recalled), said=list(self.said), cores=list(self.cores),
            topics=dict(self.topics), asked_name=self.asked_name, quirk_turn=self.quirk_turn,
            hook_turn=self.hook_turn,
        )

    def freeze(self) -> EngineMemory:
        """The memory to store, trimmed to what the rules look back on."""
        return EngineMemory(
            player_name=self.name,
            likes=tuple(self.likes[-_LIKES_KEEP:]),
            dislikes=tuple(self.dislikes[-_LIKES_KEEP:]),
            recalled=tuple(self.recalled[-_LIKES_KEEP * 2:]),
            said=tuple(self.said[-_SAID_KEEP:]),
            cores=tuple(self.cores[-_CORES_KEEP:]),
            topics=MappingProxyType(dict(self.topics)),
            asked_name=self.asked_name,
            quirk_turn=self.quirk_turn,
            hook_turn=self.hook_turn,
        )

    def learn_like(self, verb: str, what: str, turn: int, *, dislike: bool) -> None:
        bucket, other = (self.dislikes, self.likes) if dislike else (self.likes, self.dislikes)
        for lst in (bucket, other):
            lst[:] = [x for x in lst if x.what != what]
        bucket.append(Preference(what, verb, turn))
        if what in self.recalled:
            self.recalled.remove(what)

    def note_said(self, text: str) -> None:
        self.said.append(normalize(text))
        del self.said[:-_SAID_KEEP]

    def note_core(self, key: str) -> None:
        if key in self.cores:
            self.cores.remove(key)
        self.cores.append(key)
        del self.cores[:-_CORES_KEEP]


def learn(mem: WorkingMemory, heard: Reading, turn: int) -> list[str]:
    """Remember what the player said about themself; the notes say what was learned."""
    notes = []
    if heard.name:
        mem.name = heard.name
        notes.append(f"learned:name:{heard.name}")
    for verb, what in heard.likes:
        mem.learn_like(verb, what, turn, dislike=False)
        notes.append(f"learned:likes:{what}")
    for verb, what in heard.dislikes:
        mem.learn_like(verb, what, turn, dislike=True)
        notes.append(f"learned:dislikes:{what}")
    return notes


__all__ = ["WorkingMemory", "learn"]
