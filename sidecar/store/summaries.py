"""Rolling summaries of long conversations (migration 5, table `summaries`).

A summary is written in the same transaction as the turn that made it (`TurnWrite.summary`,
`insert_sync` called from `Store.commit_turn`), so a turn that fails or is cancelled leaves
no summary of lines it did not store, and a stored turn always has the summary its prompt
was built on. Reads go through `SummaryStore.window`: the summary in force for a persona and
the lines after it, in one trip to the store's thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # db.py imports this module (the turn's write calls `insert_sync`).
    from sidecar.store.db import MessageRow, Store

Method = Literal["llm", "extractive"]
WINDOW_LIMIT = 400
"""Most lines after the summary read per turn. A conversation stored before summaries
existed may have thousands; the summary then starts at the oldest of these."""


@dataclass(frozen=True)
class SummaryWrite:
    """A new summary, stored with the turn (`TurnWrite.summary`)."""

    persona_id: str
    from_seq: int
    to_seq: int
    text: str
    method: Method
    facts: tuple[str, ...] = ()
    """The facts the summary was checked to hold (kept by every later fold)."""


@dataclass(frozen=True)
class SummaryRow:
    conversation_id: str
    persona_id: str
    from_seq: int
    to_seq: int
    text: str
    method: Method
    facts: tuple[str, ...]
    at: float


@dataclass(frozen=True)
class Window:
    """The summary in force (None before the first fold) and the stored lines after it,
    oldest first."""

    summary: SummaryRow | None
    lines: list[MessageRow]


def insert_sync(conn: Any, conversation_id: str, s: SummaryWrite, now: float) -> None:
    """Inside the caller's transaction (the store's thread)."""
    conn.execute(
        "INSERT INTO summaries(conversation_id, persona_id, from_seq, to_seq, text, method, facts, at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (conversation_id, s.persona_id, s.from_seq, s.to_seq, s.text, s.method, json.dumps(list(s.facts)), now),
    )


def _row(r: Sequence[Any]) -> SummaryRow:
    return SummaryRow(r[0], r[1], int(r[2]), int(r[3]), r[4], r[5], tuple(json.loads(r[6])), float(r[7]))


class SummaryStore:
    """Summary reads over the store's one connection and thread. Methods may raise
    `StoreError` like every store read."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _latest_sync(self, cid: str, persona_id: str) -> SummaryRow | None:
        rows = self._store.conn.execute(
            "SELECT conversation_id, persona_id, from_seq, to_seq, text, method, facts, at FROM summaries"
            " WHERE conversation_id=? AND persona_id=? ORDER BY to_seq DESC, id DESC LIMIT 1",
            (cid, persona_id),
        ).fetchall()
        return _row(rows[0]) if rows else None

    async def latest(self, conversation_id: str, persona_id: str) -> SummaryRow | None:
        return await self._store._run(self._latest_sync, conversation_id, persona_id)

    async def history(self, conversation_id: str, persona_id: str) -> list[SummaryRow]:
        """Every summary written for this persona in this conversation, oldest first."""

        def q() -> list[SummaryRow]:
            rows = self._store.conn.execute(
                "SELECT conversation_id, persona_id, from_seq, to_seq, text, method, facts, at FROM summaries"
                " WHERE conversation_id=? AND persona_id=? ORDER BY to_seq, id",
                (conversation_id, persona_id),
            ).fetchall()
            return [_row(r) for r in rows]

        return await self._store._run(q)

    async def window(
        self, conversation_id: str, persona_id: str, limit: int = WINDOW_LIMIT, *, loaded: Sequence[MessageRow] = ()
    ) -> Window:
        """The summary in force and the newest `limit` lines after it, oldest first.
        `loaded`: the conversation's newest lines as the caller already read them (oldest
        first); when they reach back to the summary, they are used instead of a second read."""
        latest = await self.latest(conversation_id, persona_id)
        after = latest.to_seq if latest is not None else -1
        if loaded and loaded[0].seq <= after + 1 and len(loaded) <= limit:
            return Window(latest, [r for r in loaded if r.seq > after])
        return Window(latest, await self._store.lines_since(conversation_id, after + 1, limit))


__all__ = ["WINDOW_LIMIT", "Method", "SummaryRow", "SummaryStore", "SummaryWrite", "Window", "insert_sync"]
