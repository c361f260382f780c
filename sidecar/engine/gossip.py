"""Gossip: what one NPC may pass on to another about the player, as pure rules.

Two NPCs meet when the game names one as a bystander of the other's conversation, and when
they are together in a scene (as it starts, or as one of them joins it). At a meeting, a
*teller* passes memories to a *listener* only if all of this holds (`may_gossip`):

- the teller's persona has `gossip = true`;
- they like each other: each one's affinity for the other (NPC<->NPC, store/relations.py,
  seeded from the persona files' `[relationships]`) is at least `LIKES`.

It then passes (`passable`) its memories about the player that were made before the meeting,
never one of kind `secret`, never one the listener gave it (`told_by` the listener), never one
the listener already holds (the same memory key: store/memory.py's dedup key, which stays the
same when a memory is retold), the most important first, at most `LIMIT`. The listener
stores each as its own memory marked `told_by` the teller (pipeline/overhear.py, the one
place the rule is run, for a turn's witnesses and for a scene's meetings).

Nothing here reads the store or the clock: the caller looks up the affinities and memories
and stores what comes out, in the turn's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sidecar.personas.model import Persona

LIKES = 60
"""The affinity (0..100) each NPC must feel for the other before either gossips to the other."""
LIMIT = 5
"""Memories passed per teller per meeting: gossip is the juicy part, not a full report."""
NEVER_PASSED = frozenset({"secret"})
"""Memory kinds no NPC ever passes on."""


class Memory(Protocol):
    """What the rules read of a memory (sidecar/store/memory.py's rows satisfy it)."""

    @property
    def text(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def importance(self) -> int: ...

    @property
    def at(self) -> float: ...

    @property
    def told_by(self) -> str | None: ...

    @property
    def key(self) -> str: ...


M = TypeVar("M", bound=Memory)


@dataclass(frozen=True)
class Pair:
    """Two NPCs at a meeting and how each feels about the other."""

    a: Persona
    b: Persona
    a_feels: int
    """`a`'s affinity for `b`."""
    b_feels: int
    """`b`'s affinity for `a`."""


def starting_affinity(persona: Persona, other_id: str) -> int:
    """How `persona` feels about `other_id` before anything changed it: its file's
    `[relationships.<other_id>] affinity`, 50 without one."""
    rel = persona.relationships.get(other_id)
    return rel.affinity if rel is not None else 50


def like_each_other(pair: Pair) -> bool:
    return pair.a_feels >= LIKES and pair.b_feels >= LIKES


def may_gossip(teller: Persona, pair: Pair) -> bool:
    """Whether `teller` (one of the pair) may pass memories to the other at this meeting."""
    if teller.id not in (pair.a.id, pair.b.id):
        raise ValueError(f"{teller.id!r} is not in this pair")
    return teller.gossip and like_each_other(pair)


def tellers(pair: Pair) -> list[tuple[Persona, Persona]]:
    """(teller, listener) for each direction in which gossip flows at this meeting."""
    out: list[tuple[Persona, Persona]] = []
    for teller, listener in ((pair.a, pair.b), (pair.b, pair.a)):
        if may_gossip(teller, pair):
            out.append((teller, listener))
    return out


def passable(
    memories: Iterable[M], *, listener: str, before: float, known: Iterable[str], limit: int = LIMIT
) -> list[M]:
    """The teller's `memories` it passes to `listener` at a meeting at time `before`; `known`
    are the keys of the memories the listener already holds."""
    held = set(known)
    picked: list[M] = []
    for m in sorted(memories, key=lambda m: (-m.importance, -m.at)):
        if m.kind in NEVER_PASSED or m.at >= before or m.told_by == listener or m.key in held:
            continue
        held.add(m.key)
        picked.append(m)
        if len(picked) >= limit:
            break
    return picked


__all__ = [
    "LIKES",
    "LIMIT",
    "NEVER_PASSED",
    "Memory",
    "Pair",
    "like_each_other",
    "may_gossip",
    "passable",
    "starting_affinity",
    "tellers",
]
