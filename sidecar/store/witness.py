"""Who heard each stored line (migration 7, `message_witnesses`).

A line is heard by its conversation's participants (the player and the conversation's
persona, known from the `conversations` row and never repeated here) and by the bystanders
the game named for it (`conversation.say`'s `witnesses`), one row per bystander, keyed by
the message's id. Everything about one line lives in that one table under its message id,
so archiving can move a line's witnesses together with the line; the foreign key makes a
delete of a line that still has witness rows fail rather than orphan them.

The rows are written inside the turn's own transaction (`record_sync`, called from
`Store._commit_turn_sync`), so a line never exists without the record of who heard it.
The readers are the one answer to "did this NPC hear that line?" that memory, recall and
summaries ask (`heard_by`, `lines_heard`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.store.db import Store


@dataclass(frozen=True)
class Hearers:
    """Everyone who heard one line: the conversation's player and persona, and bystanders."""

    player: str
    persona: str
    bystanders: tuple[str, ...]

    @property
    def personas(self) -> tuple[str, ...]:
        """Every NPC who heard the line, the conversation's own first."""
        return (self.persona, *self.bystanders)


@dataclass(frozen=True)
class HeardLine:
    """One line an NPC heard, wherever it was said."""

    conversation: str
    seq: int
    speaker: str
    text: str
    at: float
    overheard: bool
    """True when the NPC was a bystander, not the conversation's own persona."""


def record_sync(conn: Any, conversation_id: str, first_seq: int, count: int, bystanders: Sequence[str]) -> None:
    """Record `bystanders` as having heard lines `first_seq` .. `first_seq + count - 1` of the
    conversation; runs inside the caller's transaction (the lines were just inserted)."""
    if not bystanders or count <= 0:
        return
    conn.executemany(
        "INSERT OR IGNORE INTO message_witnesses(message_id, persona_id)"
        " SELECT id, ? FROM messages WHERE conversation_id=? AND seq BETWEEN ? AND ?",
        [(persona, conversation_id, first_seq, first_seq + count - 1) for persona in bystanders],
    )


class Witnesses:
    """Reads over `message_witnesses`. Every method may raise `StoreError`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def heard_by(self, conversation_id: str, seq: int) -> Hearers | None:
        """Who heard line `seq` of the conversation; None if there is no such line."""
        return await self._store._run(self._heard_by_sync, conversation_id, seq)

    def _heard_by_sync(self, cid: str, seq: int) -> Hearers | None:
        rows = self._store.conn.execute(
            "SELECT c.player_id, c.persona_id, m.id FROM messages m JOIN conversations c"
            " ON c.id=m.conversation_id WHERE m.conversation_id=? AND m.seq=?",
            (cid, seq),
        ).fetchall()
        if not rows:
            return None
        player, persona, message_id = rows[0]
        names = self._store.conn.execute(
            "SELECT persona_id FROM message_witnesses WHERE message_id=? ORDER BY persona_id", (message_id,)
        ).fetchall()
        return Hearers(player, persona, tuple(n[0] for n in names))

    async def lines_heard(self, persona_id: str, player_id: str, limit: int = 200) -> list[HeardLine]:
        """The newest `limit` lines between `player_id` and anyone that `persona_id` heard
        (said in its own conversations, or overheard as a bystander), oldest first."""
        return await self._store._run(self._lines_heard_sync, persona_id, player_id, limit)

    def _lines_heard_sync(self, persona_id: str, player_id: str, limit: int) -> list[HeardLine]:
        # Two index walks (own conversations; witness rows by persona) instead of one OR over
        # every line of the player: a bystander row never names the conversation's own persona
        # (the turn refuses that), so the two halves never overlap.
        rows = self._store.conn.execute(
            "SELECT m.conversation_id, m.seq, m.speaker, m.text, m.at, 0, m.id FROM conversations c"
            " JOIN messages m ON m.conversation_id=c.id WHERE c.player_id=? AND c.persona_id=?"
            " UNION ALL"
            " SELECT m.conversation_id, m.seq, m.speaker, m.text, m.at, 1, m.id FROM message_witnesses w"
            " JOIN messages m ON m.id=w.message_id JOIN conversations c ON c.id=m.conversation_id"
            " WHERE w.persona_id=? AND c.player_id=?"
            " ORDER BY 5 DESC, 7 DESC LIMIT ?",
            (player_id, persona_id, persona_id, player_id, limit),
        ).fetchall()
        return [HeardLine(r[0], int(r[1]), r[2], r[3], float(r[4]), bool(r[5])) for r in reversed(rows)]

    async def heard(self, persona_id: str, conversation_id: str, seq: int) -> bool:
        """Whether `persona_id` heard line `seq` of the conversation."""
        hearers = await self.heard_by(conversation_id, seq)
        return hearers is not None and persona_id in hearers.personas


__all__ = ["HeardLine", "Hearers", "Witnesses", "record_sync"]
