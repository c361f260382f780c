"""History: the conversations of a store, page by page; a conversation's lines, paged back
by `seq`; full-text search over every line, live or archived.

Lines are searched with SQLite FTS5 (`lines_fts`, migration 5: an external-content index
over the `all_lines` view, porter stemming, diacritics folded) and ranked by BM25. A query
is words, never FTS5 syntax: each run of letters and digits becomes a quoted FTS5 string
and the strings are ANDed, so quotes, `*`, `-`, `NEAR`, `AND`, `:` and parentheses are
taken as the text they are and can never make the query an error.

Every function here is sync over an apsw connection (`Store.run` calls it), reads only,
and holds no transaction open across calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sidecar.errors import BadRequest
from sidecar.store.db import MessageRow

MAX_QUERY_WORDS = 16
"""Words of a search query beyond this are ignored (each one is another index lookup)."""
MAX_RANKED = 10_000
"""Matches scored per search: the newest this many. A word in a third of a million lines
would otherwise be scored a third of a million times (1.7 s at p99 on the 1,000,000-line
benchmark); a line older than the newest 10,000 matches of a query is not found by it."""
SNIPPET_TOKENS = 16
"""Tokens of context around the match in a hit's snippet."""
_WORD = re.compile(r"[^\W_]+")
_OPEN, _CLOSE = "\x02", "\x03"
"""Match markers snippet() puts around a hit, replaced by BBCode after escaping: control
characters no line a game sends holds in practice (one that did would show a stray bold)."""

_LINE_COLUMNS = (
    "seq, speaker, name, text, at, sentiment, compound, provider, quality, retries, stance, emotion, intensity"
)


@dataclass(frozen=True)
class ConversationSummary:
    conversation: str
    persona: str
    player: str
    started_at: float
    updated_at: float
    lines: int
    ended: bool
    archived: bool
    kind: str


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[ConversationSummary]
    cursor: str | None
    """Where the next page starts; None on the last page."""


@dataclass(frozen=True)
class Hit:
    conversation: str
    seq: int
    speaker: str
    text: str
    snippet: str
    at: float
    archived: bool


# --- conversation.list ---------------------------------------------------------------------


def encode_cursor(updated_at: float, conversation: str) -> str:
    """The position after a conversation in newest-first order: its `updated_at` (exactly, as
    `repr` round-trips a float) and its id, which orders conversations updated at once."""
    return f"{updated_at!r}/{conversation}"


def decode_cursor(cursor: str) -> tuple[float, str]:
    """Raises BadRequest for a cursor this module did not make."""
    when, sep, conversation = cursor.partition("/")
    try:
        value = float(when)
    except ValueError:
        value = float("nan")
    if not sep or not conversation or value != value:
        raise BadRequest("not a cursor from conversation.list", details={"field": "cursor"})
    return value, conversation


def list_conversations(
    conn: Any, *, player: str | None, persona: str | None, limit: int, cursor: str | None
) -> ConversationPage:
    """Newest first (by `updated_at`, then id), `limit` per page (keyset paging: a page costs
    the same however deep it is)."""
    where: list[str] = []
    params: list[Any] = []
    if player is not None:
        where.append("c.player_id = ?")
        params.append(player)
    if persona is not None:
        where.append("c.persona_id = ?")
        params.append(persona)
    if cursor is not None:
        where.append("(c.updated_at, c.id) < (?, ?)")
        params.extend(decode_cursor(cursor))
    rows = conn.execute(
        "SELECT c.id, c.persona_id, c.player_id, c.started_at, c.updated_at, c.ended_at, c.archived_at, c.kind,"
        " CASE WHEN c.archived_at IS NULL"
        "  THEN (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
        "  ELSE (SELECT COUNT(*) FROM archive_messages a WHERE a.conversation_id = c.id) END"
        " FROM conversations c"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    page = [
        ConversationSummary(
            conversation=r[0],
            persona=r[1],
            player=r[2],
            started_at=r[3],
            updated_at=r[4],
            ended=r[5] is not None,
            archived=r[6] is not None,
            kind=r[7],
            lines=int(r[8]),
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return ConversationPage(page, encode_cursor(page[-1].updated_at, page[-1].conversation) if more else None)


# --- conversation.history ------------------------------------------------------------------


def lines(conn: Any, conversation: str, *, limit: int | None, before: int | None) -> list[MessageRow]:
    """A conversation's lines, oldest first, live or archived: those with `seq` < `before`
    (all when None), the newest `limit` of them (all when None)."""
    archived = conn.execute(
        "SELECT archived_at IS NOT NULL FROM conversations WHERE id = ?", (conversation,)
    ).fetchall()
    table = "archive_messages" if archived and archived[0][0] else "messages"
    rows = conn.execute(
        f"SELECT {_LINE_COLUMNS} FROM {table} WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        (conversation, 2**62 if before is None else before, -1 if limit is None else limit),
    ).fetchall()
    return list(map(MessageRow._make, reversed(rows)))


def exists(conn: Any, conversation: str) -> bool:
    return bool(conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation,)).fetchall())


def line_at(conn: Any, conversation: str, seq: int) -> MessageRow | None:
    """One line by its place, live or archived: where a memory's source (conversation, seq)
    points, whether or not its conversation has been archived since."""
    rows = conn.execute(
        f"SELECT {_LINE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq = ?"
        f" UNION ALL SELECT {_LINE_COLUMNS} FROM archive_messages WHERE conversation_id = ? AND seq = ?",
        (conversation, seq, conversation, seq),
    ).fetchall()
    return MessageRow._make(rows[0]) if rows else None


# --- history.search ------------------------------------------------------------------------


def match_expression(query: str) -> str | None:
    """The FTS5 expression for a query of words: each word quoted (so nothing in it is
    syntax), all of them required. None when the query has no word to look for ("*", "--")."""
    words = _WORD.findall(query)[:MAX_QUERY_WORDS]
    return " ".join(f'"{w}"' for w in words) if words else None


def bbcode_snippet(marked: str) -> str:
    """snippet()'s output as BBCode for a Godot RichTextLabel: the line's own `[` escaped as
    `[lb]` (a line can never open a tag), the match markers made `[b]`…`[/b]`."""
    return marked.replace("[", "[lb]").replace(_OPEN, "[b]").replace(_CLOSE, "[/b]")


def search(conn: Any, query: str, *, persona: str | None, player: str | None, limit: int) -> list[Hit]:
    """Lines matching every word of `query`, best first (BM25), live and archived. Raises
    BadRequest for a query with nothing in it but spaces.

    Three short reads instead of one join: the ranked ids (only these pay for the filters),
    then snippets for those ids alone (snippet() in the ranking query would be computed for
    every match before the sort), then the lines themselves by primary key. The `all_lines`
    view is never joined: SQLite materialises a UNION ALL view in a join, where a `WHERE id`
    on it goes straight to each table's key."""
    if not query.strip():
        raise BadRequest("history.search: the query is empty", details={"field": "query"})
    expression = match_expression(query)
    if expression is None:
        return []
    ids = [r[0] for r in _ranked(conn, expression, persona=persona, player=player, limit=limit)]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    snippets = dict(
        conn.execute(
            f"SELECT rowid, snippet(lines_fts, 0, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_TOKENS}) FROM lines_fts"
            f" WHERE lines_fts MATCH ? AND rowid IN ({marks})",
            (expression, *ids),
        ).fetchall()
    )
    rows = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, conversation_id, seq, speaker, text, at, archived FROM all_lines WHERE id IN ({marks})", ids
        ).fetchall()
    }
    return [
        Hit(
            conversation=r[1],
            seq=r[2],
            speaker=r[3],
            text=r[4],
            at=r[5],
            archived=bool(r[6]),
            snippet=bbcode_snippet(snippets.get(i, r[4])),
        )
        for i in ids
        if (r := rows.get(i)) is not None
    ]


def _ranked(conn: Any, expression: str, *, persona: str | None, player: str | None, limit: int) -> Any:
    """The best `limit` ids among the newest `MAX_RANKED` matches (the index hands matches
    out newest first, so only those are scored)."""
    where = ["lines_fts MATCH ?"]
    params: list[Any] = [expression]
    joins = ""
    if persona is not None or player is not None:
        joins = (
            " LEFT JOIN messages m ON m.id = lines_fts.rowid LEFT JOIN archive_messages a ON a.id = lines_fts.rowid"
            " JOIN conversations c ON c.id = COALESCE(m.conversation_id, a.conversation_id)"
        )
    if persona is not None:
        # A scene (store/scenes.py) has no persona of its own: its members' lines are theirs.
        where.append(
            "(c.persona_id = ? OR (c.kind = 'scene' AND c.id IN"
            " (SELECT conversation_id FROM scene_members WHERE persona_id = ?)))"
        )
        params.extend((persona, persona))
    if player is not None:
        where.append("c.player_id = ?")
        params.append(player)
    return conn.execute(
        "SELECT id FROM (SELECT lines_fts.rowid AS id, bm25(lines_fts) AS score FROM lines_fts"
        + joins
        + " WHERE "
        + " AND ".join(where)
        + " ORDER BY lines_fts.rowid DESC LIMIT ?) ORDER BY score, id LIMIT ?",
        (*params, MAX_RANKED, limit),
    )


__all__ = [
    "ConversationPage",
    "ConversationSummary",
    "Hit",
    "bbcode_snippet",
    "decode_cursor",
    "encode_cursor",
    "exists",
    "line_at",
    "lines",
    "list_conversations",
    "match_expression",
    "search",
]
