"""NPC<->NPC affinity (migration 7, `npc_relations`): how one NPC feels about another, 0..100.

Directed: Ansel's feeling for Rook is not Rook's for Ansel. A pair without a row has the
starting affinity its persona file gives (`[relationships.<id>] affinity`, 50 without one);
the caller passes that in (`start`), so this module knows nothing of persona files. The first
change to a pair stores a row; from then on the row wins over the file.

The table is world state, shared by every player profile in the store. Multi-NPC scenes
(issue 14) will move and grow it; callers use only this class.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sidecar.errors import BadRequest
from sidecar.store.db import Store

LOW, HIGH = 0, 100


@dataclass(frozen=True)
class NpcAffinity:
    persona: str
    other: str
    value: int
    stored: bool
    """False while the pair still has its persona file's starting value."""


def _check_pair(persona_id: str, other_id: str) -> None:
    if persona_id == other_id:
        raise BadRequest("an NPC has no affinity with itself", details={"persona": persona_id})


def _clamp(value: int) -> int:
    return max(LOW, min(HIGH, value))


class NpcRelations:
    """Every method may raise `StoreError`; a pair of one persona with itself is `BadRequest`
    and stores nothing."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, persona_id: str, other_id: str, *, start: int) -> NpcAffinity:
        """How `persona_id` feels about `other_id` (`start` when no change was stored)."""
        _check_pair(persona_id, other_id)
        return await self._store._run(self._get_sync, persona_id, other_id, _clamp(start))

    def _get_sync(self, persona_id: str, other_id: str, start: int) -> NpcAffinity:
        rows = self._store.conn.execute(
            "SELECT affinity FROM npc_relations WHERE persona_id=? AND other_id=?", (persona_id, other_id)
        ).fetchall()
        if rows:
            return NpcAffinity(persona_id, other_id, int(rows[0][0]), True)
        return NpcAffinity(persona_id, other_id, start, False)

    async def set(self, persona_id: str, other_id: str, value: int) -> NpcAffinity:
        """Store `value` (clamped to 0..100) as how `persona_id` feels about `other_id`."""
        _check_pair(persona_id, other_id)
        return await self._store._run(self._set_sync, persona_id, other_id, _clamp(value))

    def _set_sync(self, persona_id: str, other_id: str, value: int) -> NpcAffinity:
        with self._store.conn:
            self._store.conn.execute(
                "INSERT INTO npc_relations(persona_id, other_id, affinity, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT(persona_id, other_id) DO UPDATE SET affinity=excluded.affinity,"
                " updated_at=excluded.updated_at",
                (persona_id, other_id, value, time.time()),
            )
        return NpcAffinity(persona_id, other_id, value, True)

    async def adjust(self, persona_id: str, other_id: str, delta: int, *, start: int) -> NpcAffinity:
        """Move the affinity by `delta` (from `start` if nothing is stored), clamped; one
        transaction, so two adjustments never lose one another."""
        _check_pair(persona_id, other_id)
        return await self._store._run(self._adjust_sync, persona_id, other_id, delta, _clamp(start))

    def _adjust_sync(self, persona_id: str, other_id: str, delta: int, start: int) -> NpcAffinity:
        with self._store.conn:
            current = self._get_sync(persona_id, other_id, start).value
            return self._set_sync(persona_id, other_id, _clamp(current + delta))

    async def stored(self, persona_id: str) -> dict[str, int]:
        """Every stored feeling of `persona_id`, by the other persona's id."""
        return await self._store._run(self._stored_sync, persona_id)

    def _stored_sync(self, persona_id: str) -> dict[str, int]:
        rows = self._store.conn.execute(
            "SELECT other_id, affinity FROM npc_relations WHERE persona_id=? ORDER BY other_id", (persona_id,)
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}


__all__ = ["HIGH", "LOW", "NpcAffinity", "NpcRelations"]
