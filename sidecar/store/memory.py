"""Long-term memory in the store: what an NPC remembers about one player, across conversations.

One `memories` row per (player, persona, key): a fact about the player or an event between
them (`Memory`), with its importance (1–10), when it was made, the line it came from
(`MemorySource`: conversation and seq; None for one the game added) and, for a memory another
NPC passed on, who told it (`told_by`). The text is written from the NPC's side: "I" is the
NPC, "the player" the player ("The player promised to bring me a trout.").

`key` deduplicates: the same fact told twice is one memory (updated: newest text, time and
source; the higher importance), and a later "I hate fishing" replaces "I love fishing" (both
have the key `pref:fishing`). A memory the NPC witnessed itself is never turned into hearsay
by a `told_by` copy of the same key.

`memories_fts` is a contentless FTS5 index over the text and a token naming the pair (kept in
step by triggers): recall reads BM25 relevance from it, matching within the pair only. Sources
are plain columns, not foreign keys, so a memory keeps its conversation and seq when that
conversation is archived.

A turn's memories are written inside the turn's own transaction (`write_turn_memories`, called
by `Store.commit_turn`); `MemoryStore` is everything else (the ops, the CLI, recall).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sidecar.engine.text import normalize
from sidecar.protocol.memory import MAX_IMPORTANCE, MAX_MEMORY_TEXT, MEMORY_KINDS, MIN_IMPORTANCE, MemoryKind

if TYPE_CHECKING:
    from sidecar.store.db import Store

KINDS: tuple[MemoryKind, ...] = MEMORY_KINDS
"""Every kind (the protocol's: sidecar/protocol/memory.py is their one home)."""
CANDIDATES = 500
"""At most this many memories of a pair are ranked per recall (most important, then newest)."""

_PAIR = "'k' || hex({row}.player_id || char(31) || {row}.persona_id)"
"""The one FTS token that names a (player, persona) pair, so a recall matches only that pair's
memories inside the index (a store of 10^5 memories made an unfiltered match cost ~60 ms).
`pair_token` makes the same token in Python for a query."""


def pair_token(player: str, persona: str) -> str:
    """`_PAIR` of a (player, persona) pair, without a statement per recall: SQLite's `hex()` of
    a text value is its UTF-8 bytes in upper-case hex (tests/store/test_memory.py checks the
    two agree)."""
    return "k" + (player + "\x1f" + persona).encode("utf-8").hex().upper()

MIGRATION = f"""
    CREATE TABLE memories (
        id               INTEGER PRIMARY KEY,
        player_id        TEXT NOT NULL,
        persona_id       TEXT NOT NULL,
        kind             TEXT NOT NULL,
        text             TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND {MAX_MEMORY_TEXT}),
        importance       INTEGER NOT NULL CHECK (importance BETWEEN {MIN_IMPORTANCE} AND {MAX_IMPORTANCE}),
        at               REAL NOT NULL,
        conversation_id  TEXT,
        seq              INTEGER,
        told_by          TEXT,
        key              TEXT NOT NULL,
        UNIQUE (player_id, persona_id, key)
    );
    CREATE INDEX memories_pair ON memories(player_id, persona_id, importance, at);
    CREATE VIRTUAL TABLE memories_fts USING fts5(
        text, pair, content='', contentless_delete=1, tokenize='porter unicode61'
    );
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text, pair) VALUES (new.id, new.text, {_PAIR.format(row="new")});
    END;
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        DELETE FROM memories_fts WHERE rowid = old.id;
    END;
    CREATE TRIGGER memories_au AFTER UPDATE OF text ON memories BEGIN
        DELETE FROM memories_fts WHERE rowid = old.id;
        INSERT INTO memories_fts(rowid, text, pair) VALUES (new.id, new.text, {_PAIR.format(row="new")});
    END;
"""
"""The schema (migration 5 -> 6, appended to sidecar/store/migrations.py). Kinds are checked
in Python (`NewMemory`), not by a CHECK: a later kind must not need a table rebuild."""


@dataclass(frozen=True)
class MemorySource:
    """The stored line a memory came from."""

    conversation: str
    seq: int


@dataclass(frozen=True)
class Memory:
    """One stored memory of `persona` about `player`."""

    id: int
    player: str
    persona: str
    kind: MemoryKind
    text: str
    importance: int
    at: float
    """Unix time (seconds) it was made or last confirmed."""
    source: MemorySource | None
    """The line it came from; None for a memory the game added (`memory.add`)."""
    told_by: str | None = None
    """The persona id of the NPC who passed it on; None when this NPC witnessed it."""
    key: str = ""


ACTION_KEY = "action:"
"""Key prefix of the memory an accepted NPC action leaves (store/actions.py): a record for
prompts and the game ("rent room (nights: 1, price: 5), done"), not words to say aloud."""


def memory_key(kind: MemoryKind, text: str) -> str:
    """The default dedup key: the kind and the text's words."""
    return f"{kind}:{normalize(text)}"


@dataclass(frozen=True)
class NewMemory:
    """A memory to write. Raises ValueError on a kind, importance or text out of range (a
    caller bug: wire input is validated by its model first)."""

    kind: MemoryKind
    text: str
    importance: int
    key: str = ""
    """Default: `memory_key(kind, text)`."""
    line: int = 0
    """Within a turn: which of the turn's lines it came from (0 the player's, 1 the NPC's)."""
    persona: str | None = None
    """The NPC who remembers it; None: the conversation's NPC (a bystander's otherwise)."""
    told_by: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown memory kind {self.kind!r}")
        if not MIN_IMPORTANCE <= self.importance <= MAX_IMPORTANCE:
            raise ValueError(f"importance {self.importance} is outside {MIN_IMPORTANCE}..{MAX_IMPORTANCE}")
        if not self.text.strip() or len(self.text) > MAX_MEMORY_TEXT:
            raise ValueError(f"memory text must be 1..{MAX_MEMORY_TEXT} characters")
        if not self.key:
            object.__setattr__(self, "key", memory_key(self.kind, self.text))


_COLUMNS = "id, player_id, persona_id, kind, text, importance, at, conversation_id, seq, told_by, key"


def _row(r: Sequence[Any]) -> Memory:
    source = MemorySource(r[7], int(r[8])) if r[7] is not None and r[8] is not None else None
    return Memory(
        id=int(r[0]), player=r[1], persona=r[2], kind=r[3], text=r[4], importance=int(r[5]),
        at=float(r[6]), source=source, told_by=r[9], key=r[10],
    )


def _upsert(conn: Any, player: str, persona: str, m: NewMemory, source: MemorySource | None, now: float) -> int:
    """Insert or refresh one memory; returns its id."""
    rows = conn.execute(
        "INSERT INTO memories(player_id, persona_id, kind, text, importance, at, conversation_id, seq,"
        " told_by, key) VALUES (?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(player_id, persona_id, key) DO UPDATE SET kind=excluded.kind, text=excluded.text,"
        " importance=max(memories.importance, excluded.importance), at=excluded.at,"
        " conversation_id=excluded.conversation_id, seq=excluded.seq,"
        " told_by=CASE WHEN memories.told_by IS NULL THEN NULL ELSE excluded.told_by END"
        " RETURNING id",
        (
            player, persona, m.kind, m.text.strip(), m.importance, now,
            source.conversation if source else None, source.seq if source else None, m.told_by, m.key,
        ),
    ).fetchall()
    return int(rows[0][0])


def write_turn_memories(
    conn: Any, player: str, persona: str, conversation: str, first_seq: int, memories: Iterable[NewMemory], now: float
) -> None:
    """A turn's memories, inside the turn's transaction (the caller holds it): each sourced to
    the turn's line `first_seq + m.line`."""
    for m in memories:
        _upsert(conn, player, m.persona or persona, m, MemorySource(conversation, first_seq + m.line), now)


def write_told(conn: Any, player: str, memories: Iterable[NewMemory], now: float) -> None:
    """Memories passed on between NPCs with no line to source them to (gossip as an NPC joins
    a scene: store/scenes.py `join`), inside the caller's transaction; each names the NPC
    who remembers it (`persona`) and its teller (`told_by`). Raises ValueError otherwise (a
    caller bug: such a memory would read as one the game added)."""
    for m in memories:
        if m.persona is None or m.told_by is None:
            raise ValueError("a memory passed on names who remembers it and who told it")
        _upsert(conn, player, m.persona, m, None, now)


def fts_query(words: Iterable[str]) -> str | None:
    """An FTS5 query matching any of `words`, each quoted so nothing in it is FTS syntax;
    None when there is no word."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in dict.fromkeys(w for w in words if w)]
    return " OR ".join(quoted) if quoted else None


class MemoryStore:
    """Memories over the store's one connection (every method is one transaction or one read;
    each may raise `StoreError`)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(
        self,
        player: str,
        persona: str,
        memory: NewMemory,
        source: MemorySource | None = None,
        *,
        at: float | None = None,
    ) -> Memory:
        """Store one memory (or refresh the one with its key); `at` defaults to now."""

        def q() -> Memory:
            conn = self._store.conn
            with conn:
                mid = _upsert(conn, player, persona, memory, source, time.time() if at is None else at)
                return _row(conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id=?", (mid,)).fetchall()[0])

        return await self._store._run(q)

    async def get(self, memory_id: int) -> Memory | None:
        def q() -> Memory | None:
            rows = self._store.conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id=?", (memory_id,)).fetchall()
            return _row(rows[0]) if rows else None

        return await self._store._run(q)

    async def for_pair(self, player: str, persona: str, limit: int | None = None) -> list[Memory]:
        """Most important first, then most recent."""

        def q() -> list[Memory]:
            rows = self._store.conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE player_id=? AND persona_id=?"
                " ORDER BY importance DESC, at DESC, id DESC LIMIT ?",
                (player, persona, -1 if limit is None else limit),
            ).fetchall()
            return [_row(r) for r in rows]

        return await self._store._run(q)

    async def forget(self, memory_id: int) -> bool:
        """Delete one memory; False when there was none with that id."""

        def q() -> bool:
            conn = self._store.conn
            with conn:
                conn.execute("DELETE FROM memories WHERE id=?", (memory_id,))
                return bool(conn.changes())

        return await self._store._run(q)

    async def candidates(
        self, player: str, persona: str, words: Iterable[str], limit: int = CANDIDATES
    ) -> list[tuple[Memory, float]]:
        """The pair's memories to rank (the `limit` most important, then newest), each with its
        relevance to `words`, in one read: 0 for no match, else 1 + its BM25 score (higher is
        more relevant). The 1 is there because FTS5 clamps the IDF of a word found in half the
        indexed rows or more to 1e-6: in a young store BM25 alone cannot tell such a match
        from none, while among matches it still orders them."""
        query = fts_query(words)

        def q() -> list[tuple[Memory, float]]:
            conn = self._store.conn
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM memories WHERE player_id=? AND persona_id=?"
                " ORDER BY importance DESC, at DESC, id DESC LIMIT ?",
                (player, persona, limit),
            ).fetchall()
            relevance: dict[int, float] = {}
            if query is not None and rows:
                # bm25() is lower for a better match (negative): negated, higher is better.
                # The pair's token is matched in its own column, weighted 0: it filters, the
                # text's words score.
                token = pair_token(player, persona)
                for mid, score in conn.execute(
                    "SELECT rowid, bm25(memories_fts, 1.0, 0.0) FROM memories_fts WHERE memories_fts MATCH ?",
                    (f'pair : "{token}" AND text : ({query})',),
                ).fetchall():
                    relevance[int(mid)] = 1.0 + max(0.0, -float(score))
            return [(m, relevance.get(m.id, 0.0)) for m in map(_row, rows)]

        return await self._store._run(q)


__all__ = [
    "ACTION_KEY",
    "CANDIDATES",
    "KINDS",
    "MAX_IMPORTANCE",
    "MAX_MEMORY_TEXT",
    "MIGRATION",
    "MIN_IMPORTANCE",
    "Memory",
    "MemoryKind",
    "MemorySource",
    "MemoryStore",
    "NewMemory",
    "fts_query",
    "pair_token",
    "memory_key",
    "write_told",
    "write_turn_memories",
]
