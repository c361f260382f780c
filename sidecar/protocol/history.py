"""Ops of history (issue 13 §4): listing conversations, searching lines, archiving."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from sidecar.protocol.ops import OPS, Id, OpSpec, OutModel, PersonaId, WireModel

MAX_QUERY = 200
"""Longest search query, in characters. Longer gets `too_large`."""


def _has_text(query: str) -> str:
    if not query.strip():
        raise ValueError("the query is empty")
    return query


class ConversationListArgs(WireModel):
    player: Id | None = None
    persona: PersonaId | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """The previous page's `cursor`, for the next (older) page."""


class ConversationOut(OutModel):
    conversation: str
    persona: str
    player: str
    started_at: float
    updated_at: float
    """Unix time of the last stored line; the list is newest first by this."""
    lines: int = Field(ge=0)
    """Stored lines, the greeting included."""
    ended: bool
    archived: bool
    kind: Literal["conversation", "scene"]
    personas: list[str] = Field(default_factory=list)
    """Every NPC of it: the one persona of a conversation; a scene's members (present or
    gone), in joining order (a scene's `persona` is "")."""


class ConversationListResult(OutModel):
    conversations: list[ConversationOut]
    cursor: str | None
    """Pass it back for the next page; nil on the last page."""


class SearchArgs(WireModel):
    query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY), AfterValidator(_has_text)]
    """Words to find (all of them, any order, word forms folded: "swords" finds "sword").
    Taken literally: quotes, `*`, `-`, `NEAR` are never search syntax."""
    persona: PersonaId | None = None
    player: Id | None = None
    limit: int = Field(20, ge=1, le=100)


class HitOut(OutModel):
    conversation: str
    seq: int = Field(ge=0)
    speaker: str
    text: str
    snippet: str
    """The text around the match, matched words in `[b]`…`[/b]` (BBCode; the line's own `[`
    is escaped as `[lb]`), `…` where it was cut."""
    at: float
    archived: bool


class SearchResult(OutModel):
    hits: list[HitOut]
    """Best first (BM25)."""


class ArchiveRunArgs(WireModel):
    older_than_days: float = Field(ge=0, le=1e6)
    """Archive ended conversations that ended at least this long ago; 0: every ended one."""


class ArchiveRunResult(OutModel):
    archived: int = Field(ge=0)


class ArchiveRestoreArgs(WireModel):
    conversation: Id


class ArchiveRestoreResult(OutModel):
    restored: bool
    """False when it was not archived (nothing to do)."""


OPS.update(
    {
        "conversation.list": OpSpec(
            ConversationListArgs, ConversationListResult, "Conversations, newest first, a page at a time."
        ),
        "history.search": OpSpec(SearchArgs, SearchResult, "Search every stored line, live or archived; best first."),
        "archive.run": OpSpec(ArchiveRunArgs, ArchiveRunResult, "Move ended conversations into the archive."),
        "archive.restore": OpSpec(ArchiveRestoreArgs, ArchiveRestoreResult, "Bring an archived conversation back."),
    }
)

__all__ = [
    "MAX_QUERY",
    "ArchiveRestoreArgs",
    "ArchiveRestoreResult",
    "ArchiveRunArgs",
    "ArchiveRunResult",
    "ConversationListArgs",
    "ConversationListResult",
    "ConversationOut",
    "HitOut",
    "SearchArgs",
    "SearchResult",
]
