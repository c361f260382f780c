"""Step overhear (after remember): what the turn's bystanders take away (stored with the turn's memories,
in its transaction, sourced to the turn's player line).

Two parts, both only when the game named witnesses:
- each bystander remembers what it overheard: its copy of the memories the turn left for the
  NPC spoken to (engine/witness.py `overheard`);
- the NPC spoken to and each bystander *meet*: where the gossip rules allow it
  (engine/gossip.py: a `gossip = true` persona, mutual NPC<->NPC affinity), the teller passes
  on memories it made before this turn, never a secret, marked `told_by` the teller and
  retold in the listener's words.

`Overhear.meet` is the same gossip for NPCs that meet with no player line (together in a
scene: engine/scene/director.py); the director stores what it returns with the scene's start
or join.

Reads happen here, before the commit: the memories each NPC holds (store/memory.py) and how
the two NPCs feel about each other (store/relations.py, starting from the persona files).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sidecar.engine import gossip, witness
from sidecar.personas.model import Persona
from sidecar.store.memory import CANDIDATES, Memory, MemoryStore, NewMemory
from sidecar.store.relations import NpcRelations

TELLER_READS = 200
"""A teller's memories considered per meeting (gossip passes at most `gossip.LIMIT` of them)."""
HEARSAY_DISCOUNT = 1
"""A memory passed on weighs this much less (importance, never below 1) than the teller's own."""


@dataclass(frozen=True)
class Meeting:
    """One turn's witnesses: who spoke, to which player, who stood by."""

    player: str
    speaker: Persona
    bystanders: tuple[Persona, ...]


class Overhear:
    def __init__(self, memories: MemoryStore, relations: NpcRelations) -> None:
        self.memories = memories
        self.relations = relations

    async def __call__(self, meeting: Meeting, remembered: Sequence[NewMemory]) -> tuple[NewMemory, ...]:
        """The bystanders' memories of this turn and what was gossiped; `remembered` is what
        the turn left for the NPC spoken to."""
        if not meeting.bystanders:
            return ()
        out = witness.overheard(remembered, meeting.speaker, meeting.bystanders)
        held = {meeting.speaker.id: {m.key for m in remembered}}
        for b in meeting.bystanders:
            held[b.id] = {m.key for m in out if m.persona == b.id}
        pairs = [(meeting.speaker, b) for b in meeting.bystanders]
        out.extend(await self._gossip(meeting.player, pairs, held, time.time()))
        return tuple(out)

    async def meet(self, player: str, pairs: Sequence[tuple[Persona, Persona]]) -> tuple[NewMemory, ...]:
        """What is gossiped when each of `pairs` meets now with no line of the player's (NPCs
        together in a scene: engine/scene/director.py, as it starts and as an NPC joins):
        each memory is the listener's (`persona`), marked `told_by` its teller."""
        return tuple(await self._gossip(player, pairs, {}, time.time()))

    async def _gossip(
        self, player: str, pairs: Sequence[tuple[Persona, Persona]], held: dict[str, set[str]], before: float
    ) -> list[NewMemory]:
        """The one gossip step over meeting `pairs`: for each, in the directions the rules allow
        (engine/gossip.py `tellers`), what the teller passes on; `held` (persona -> memory
        keys it is getting at this meeting) grows with what is passed, so nobody is told a
        fact twice at one meeting."""
        out: list[NewMemory] = []
        for a, b in pairs:
            for teller, listener in gossip.tellers(await self._pair(a, b)):
                out.extend(await self._told(player, teller, listener, before, held.setdefault(listener.id, set())))
        return out

    async def _pair(self, a: Persona, b: Persona) -> gossip.Pair:
        a_feels = await self.relations.get(a.id, b.id, start=gossip.starting_affinity(a, b.id))
        b_feels = await self.relations.get(b.id, a.id, start=gossip.starting_affinity(b, a.id))
        return gossip.Pair(a, b, a_feels.value, b_feels.value)

    async def _told(
        self, player: str, teller: Persona, listener: Persona, before: float, held: set[str]
    ) -> list[NewMemory]:
        """What `teller` passes to `listener`; adds the passed keys to `held`."""
        # Both reads are bounded (most important, then newest, first: the order gossip picks
        # in), so a turn with witnesses costs the same on a store with years of memories.
        theirs = await self.memories.for_pair(player, teller.id, limit=TELLER_READS)
        known = {m.key for m in await self.memories.for_pair(player, listener.id, limit=CANDIDATES)} | held
        passed = gossip.passable(theirs, listener=listener.id, before=before, known=known)
        held.update(m.key for m in passed)
        return [_hearsay(m, teller, listener) for m in passed]


def _hearsay(m: Memory, teller: Persona, listener: Persona) -> NewMemory:
    """The listener's memory of what `teller` said, in the listener's words and marked
    `told_by` (an LLM prompt says who told it: engine/witness.py `attributed`); same key, so
    the listener never holds one fact twice."""
    return NewMemory(
        m.kind,
        witness.retell(m.text, teller.name),
        max(1, m.importance - HEARSAY_DISCOUNT),
        key=m.key,
        persona=listener.id,
        told_by=teller.id,
    )


__all__ = ["HEARSAY_DISCOUNT", "TELLER_READS", "Meeting", "Overhear"]
