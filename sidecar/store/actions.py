"""Decided NPC actions and the game's results (migration 5), over the `Store`'s connection.

An action never runs twice: its id is the table's primary key (ids are random, 64 bits, and
a collision fails the insert instead of reusing a row); `decide` commits the rows before the
game is told (`npc.action`), so a crash between the decision and the result loses nothing
(`pending` lists them after a restart); `record_result` fills a result once and answers
every repeat with the first one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sidecar.store.db import Store
from sidecar.store.memory import ACTION_KEY, MAX_MEMORY_TEXT, NewMemory, memory_key, write_turn_memories


@dataclass(frozen=True)
class NewAction:
    id: str
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class ActionRow:
    id: str
    conversation_id: str
    persona_id: str
    turn: int
    name: str
    args: Mapping[str, Any]
    decided_at: float
    ok: bool | None = None
    """None while the game has not answered."""
    detail: str | None = None
    result_at: float | None = None
    told: bool = False
    """Whether a later turn's prompt carried the result."""


@dataclass(frozen=True)
class Logged:
    """A decided action as a turn reads it."""

    id: str
    name: str
    turn: int
    decided_at: float
    ok: bool | None
    detail: str | None
    answered: bool
    """Whether the game has given its result."""
    told: bool
    args: Mapping[str, Any] = field(default_factory=dict)
    """As decided (the embedded engine's words about the result name them: "your sword")."""


@dataclass(frozen=True)
class ActionLog:
    """What a turn reads about its conversation's actions, in one go."""

    decided: tuple[Logged, ...]
    """Every action decided in the conversation, oldest first (the limits read them)."""

    @property
    def untold(self) -> tuple[Logged, ...]:
        """Results the game gave that no NPC line has reacted to yet."""
        return tuple(r for r in self.decided if r.answered and not r.told)


_COLUMNS = "id, conversation_id, persona_id, turn, name, args, decided_at, ok, detail, result_at, told"


def _row(r: Sequence[Any]) -> ActionRow:
    return ActionRow(
        id=r[0],
        conversation_id=r[1],
        persona_id=r[2],
        turn=int(r[3]),
        name=r[4],
        args=json.loads(r[5]),
        decided_at=float(r[6]),
        ok=None if r[7] is None else bool(r[7]),
        detail=r[8],
        result_at=r[9],
        told=bool(r[10]),
    )


class ActionStore:
    """Every method may raise `StoreError`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def decide(self, conversation_id: str, persona_id: str, turn: int, actions: Sequence[NewAction]) -> float:
        """Store decided actions in one transaction; returns their decision time."""
        now = time.time()

        def q() -> None:
            c = self._store.conn
            with c:
                c.executemany(
                    "INSERT INTO actions(id, conversation_id, persona_id, turn, name, args, decided_at)"
                    " VALUES (?,?,?,?,?,?,?)",
                    [(a.id, conversation_id, persona_id, turn, a.name, json.dumps(dict(a.args)), now) for a in actions],
                )

        await self._store._run(q)
        return now

    async def log(self, conversation_id: str) -> ActionLog:
        def q() -> ActionLog:
            rows = self._store.conn.execute(
                "SELECT id, name, turn, decided_at, ok, detail, result_at IS NOT NULL, told, args FROM actions"
                " WHERE conversation_id=? ORDER BY decided_at, rowid",
                (conversation_id,),
            ).fetchall()
            return ActionLog(
                tuple(
                    Logged(
                        r[0],
                        r[1],
                        int(r[2]),
                        float(r[3]),
                        None if r[4] is None else bool(r[4]),
                        r[5],
                        bool(r[6]),
                        bool(r[7]),
                        json.loads(r[8]),
                    )
                    for r in rows
                )
            )

        return await self._store._run(q)

    async def pending(self, conversation_id: str) -> list[ActionRow]:
        """Decided actions of a conversation still without a result, oldest first."""

        def q() -> list[ActionRow]:
            rows = self._store.conn.execute(
                f"SELECT {_COLUMNS} FROM actions WHERE conversation_id=? AND result_at IS NULL"
                " ORDER BY decided_at, rowid",
                (conversation_id,),
            ).fetchall()
            return list(map(_row, rows))

        return await self._store._run(q)

    async def record_result(self, action_id: str, ok: bool, detail: str | None) -> ActionRow | None:
        """The game's result, stored if it is the first for that id; returns the row as
        stored (the first result stands), or None when no action has that id."""
        now = time.time()

        def q() -> ActionRow | None:
            c = self._store.conn
            with c:
                c.execute(
                    "UPDATE actions SET ok=?, detail=?, result_at=? WHERE id=? AND result_at IS NULL",
                    (int(ok), detail, now, action_id),
                )
                first = c.changes() == 1
                rows = c.execute(f"SELECT {_COLUMNS} FROM actions WHERE id=?", (action_id,)).fetchall()
                row = _row(rows[0]) if rows else None
                if row is not None and first and ok:
                    _remember_accepted(c, row, now)
            return row

        return await self._store._run(q)


EVENT_IMPORTANCE = 6
"""An accepted action is something the NPC did for the player: above small talk, below a
promise or a secret."""


def event_text(row: ActionRow) -> str:
    """The memory an accepted action leaves: what was done, with its arguments and the game's
    detail ("repair item (item: sword, price: 2), done: the player paid two coppers")."""
    args = ", ".join(f"{k}: {row.args[k]}" for k in sorted(row.args))
    text = row.name.replace("_", " ") + (f" ({args})" if args else "") + ", done"
    if row.detail:
        text += f": {row.detail}"
    return text if len(text) <= MAX_MEMORY_TEXT else text[: MAX_MEMORY_TEXT - 1] + "\u2026"


def _remember_accepted(c: Any, row: ActionRow, now: float) -> None:
    """An accepted action becomes an `event` memory of the NPC about this player (issue 15
    §3), in the result's own transaction: the first result writes it, a repeat cannot. Its
    source is the NPC line that decided it (the first line of that NPC stored at or after the
    decision), or the conversation's newest line if the game answered before that line was
    stored."""
    conv = c.execute("SELECT player_id FROM conversations WHERE id=?", (row.conversation_id,)).fetchall()
    if not conv:
        return
    seq = c.execute(
        "SELECT MIN(seq) FROM messages WHERE conversation_id=? AND speaker=? AND at>=?",
        (row.conversation_id, row.persona_id, row.decided_at),
    ).fetchall()[0][0]
    if seq is None:
        newest = c.execute("SELECT MAX(seq) FROM messages WHERE conversation_id=?", (row.conversation_id,))
        seq = newest.fetchall()[0][0]
    text = event_text(row)
    memory = NewMemory(kind="event", text=text, importance=EVENT_IMPORTANCE, key=ACTION_KEY + memory_key("event", text))
    write_turn_memories(c, conv[0][0], row.persona_id, row.conversation_id, int(seq or 0), [memory], now)


__all__ = ["EVENT_IMPORTANCE", "ActionLog", "ActionRow", "ActionStore", "Logged", "NewAction", "event_text"]
