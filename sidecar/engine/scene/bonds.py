"""NPC↔NPC bonds in a scene (issue 14 §3): the persona files' relationships, at the affinity the
store keeps, moved by the tone of what one NPC says to another.

`StoredBonds` is the turn-taker's `Bonds` (sidecar/engine/scene/turns.py) over
`store.relations.NpcRelations`. The turn-taker asks `bond(of, toward)` synchronously, many
times per exchange, so the bonds of the NPCs present are read once (`load`) into a snapshot.
`tone_move` moves a pair by the tone of a line one NPC said to the other: the snapshot changes
at once (later banter in the same exchange sees it) and the move is kept pending until the
director `commit`s the exchange; a cancelled exchange drops them (`discard`) and stores nothing.

The persona files know ten kinds of relationship (`personas.model.RELATIONSHIP_KINDS`); the
turn-taker four (`turns.BondKind`): `KIND_OF` maps them, and the prompt keeps the file's own
word (`cue.Stance.kind`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sidecar.engine import gossip
from sidecar.engine import tone as tones
from sidecar.engine.scene.turns import Bond, BondKind
from sidecar.personas.model import Persona
from sidecar.store.relations import HIGH, LOW, NpcRelations

KIND_OF: Mapping[str, BondKind] = {
    "friend": "friend",
    "sweetheart": "friend",
    "mentor": "friend",
    "pupil": "friend",
    "family": "family",
    "rival": "rival",
    "enemy": "rival",
    "colleague": "acquaintance",
    "neighbour": "acquaintance",
    "acquaintance": "acquaintance",
}
"""A persona file's relationship kind as the turn-taker's (enemies argue like rivals)."""

MOVE_SCALE = 6
"""Affinity points a line of full stance (±1) moves: a warm remark (stance ~0.5) is +3, an
insult (~-0.8) -5; a neutral line moves nothing."""


@dataclass(frozen=True)
class Move:
    """One change of how `persona` feels about `other`, from a line it heard from `other`."""

    persona: str
    other: str
    delta: int
    value: int
    """The affinity after the move (0..100)."""
    reason: str
    """`warm words`, `hostile words` (the stance of the line)."""


def tone_delta(text: str, toward: Persona) -> tuple[int, str]:
    """How a line said to `toward` moves its feeling for the speaker: (delta, reason). The
    line is read as the player's would be (engine/tone.py), with `toward`'s names as the
    listener's, so only remarks aimed at it count."""
    stance = tones.read(text, toward.names).stance
    if tones.HOSTILE < stance < tones.WARM:
        return 0, "neutral words"
    delta = round(stance * MOVE_SCALE) or (1 if stance > 0 else -1)
    return delta, "warm words" if delta > 0 else "hostile words"


class StoredBonds:
    """The bonds among the NPCs of one scene; satisfies `turns.Bonds`."""

    def __init__(self, relations: NpcRelations, personas: Mapping[str, Persona], values: Mapping[tuple[str, str], int]):
        self._relations = relations
        self._personas = dict(personas)
        self._values = dict(values)
        self._pending: dict[tuple[str, str], int] = {}

    @classmethod
    async def load(cls, relations: NpcRelations, present: Sequence[Persona]) -> StoredBonds:
        """Every directed pair among `present`: the stored affinity, else the persona file's
        start. Raises `StoreError`."""
        by_id = {p.id: p for p in present}
        values: dict[tuple[str, str], int] = {}
        for p in present:
            stored = await relations.stored(p.id)
            for q in present:
                if q.id != p.id:
                    values[(p.id, q.id)] = stored.get(q.id, gossip.starting_affinity(p, q.id))
        return cls(relations, by_id, values)

    def join(self, persona: Persona, stored: Mapping[str, int] | None = None) -> None:
        """Add an NPC that joined the scene (`stored`: its stored feelings, `NpcRelations.stored`)."""
        self._personas[persona.id] = persona
        for other in self._personas.values():
            if other.id == persona.id:
                continue
            mine = (stored or {}).get(other.id, gossip.starting_affinity(persona, other.id))
            self._values.setdefault((persona.id, other.id), mine)
            self._values.setdefault((other.id, persona.id), gossip.starting_affinity(other, persona.id))

    def affinity(self, of: str, toward: str) -> int:
        """How `of` feels about `toward` now (50 for a pair this scene does not know)."""
        return self._values.get((of, toward), 50)

    def bond(self, of: str, toward: str) -> Bond | None:
        persona = self._personas.get(of)
        if persona is None or (of, toward) not in self._values:
            return None
        rel = persona.relationships.get(toward)
        kind = KIND_OF[rel.kind] if rel is not None else None
        return Bond(kind, self._values[(of, toward)])

    def tone_move(self, speaker: str, to: str, text: str) -> Move | None:
        """`to` heard `speaker` say `text` to it: move how `to` feels about `speaker` by the
        line's tone. None when the line is neutral, or either NPC is not in the scene. The
        move is pending until `commit`."""
        listener = self._personas.get(to)
        if listener is None or speaker not in self._personas or speaker == to:
            return None
        delta, reason = tone_delta(text, listener)
        if not delta:
            return None
        key = (to, speaker)
        before = self._values.get(key, gossip.starting_affinity(listener, speaker))
        after = max(LOW, min(HIGH, before + delta))
        self._values[key] = after
        self._pending[key] = self._pending.get(key, 0) + (after - before)
        return Move(to, speaker, after - before, after, reason)

    @property
    def pending(self) -> Mapping[tuple[str, str], int]:
        """(persona, other) → the net change not yet stored."""
        return dict(self._pending)

    async def commit(self) -> None:
        """Store the pending moves (one adjustment per pair). Raises `StoreError`; what was
        not stored stays pending."""
        for (persona, other), delta in list(self._pending.items()):
            if delta:
                start = gossip.starting_affinity(self._personas[persona], other)
                await self._relations.adjust(persona, other, delta, start=start)
            del self._pending[(persona, other)]

    def discard(self) -> None:
        """Forget the pending moves (a cancelled exchange): the snapshot goes back with them."""
        for key, delta in self._pending.items():
            self._values[key] -= delta
        self._pending.clear()


__all__ = ["KIND_OF", "MOVE_SCALE", "Move", "StoredBonds", "tone_delta"]
