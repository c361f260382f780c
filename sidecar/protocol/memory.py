"""Wire models of the long-term memory ops: `memory.list`, `memory.add`, `memory.forget`.

Registered into `ops.OPS` on import (sidecar/protocol/__init__.py imports this module, so
every user of `OPS` sees them). The kinds and limits are the store's too (sidecar/store/memory.py
imports them from here: the protocol layer depends on nothing else of the sidecar).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field

from sidecar.protocol.ops import OPS, Id, OpSpec, OutModel, PersonaId, WireModel

MemoryKind = Literal["name", "like", "dislike", "promise", "gift", "favour", "quarrel", "secret", "event"]
MEMORY_KINDS: tuple[MemoryKind, ...] = get_args(MemoryKind)
MIN_IMPORTANCE, MAX_IMPORTANCE = 1, 10
MAX_MEMORY_TEXT = 400
"""Longest memory text, in characters."""
MAX_MEMORY_ID = 2**53


def _memory_text(value: str) -> str:
    """A memory goes into LLM prompts and NPC lines: printable text, surrounding spaces trimmed."""
    text = value.strip()
    if not text:
        raise ValueError("text is blank")
    for ch in text:
        if unicodedata.category(ch).startswith("C") and ch not in "\u200c\u200d":
            raise ValueError(f"text holds a control character (U+{ord(ch):04X})")
    return text


MemoryText = Annotated[str, Field(min_length=1, max_length=MAX_MEMORY_TEXT), AfterValidator(_memory_text)]
Importance = Annotated[int, Field(ge=MIN_IMPORTANCE, le=MAX_IMPORTANCE)]
MemoryId = Annotated[int, Field(ge=1, le=MAX_MEMORY_ID)]


class MemorySourceOut(OutModel):
    conversation: str
    """The conversation of the line the memory came from (kept when it is archived)."""
    seq: int = Field(ge=0)
    """The line's `seq` in it (0: the greeting)."""


class MemoryOut(OutModel):
    id: int = Field(ge=1)
    text: str
    """From the NPC's side: "I" is the NPC, "the player" the player."""
    kind: MemoryKind
    importance: Importance
    at: float
    """Unix time (seconds, UTC) it was made or last confirmed."""
    source: MemorySourceOut | None
    """The line it came from; nil for a memory the game added with `memory.add`."""
    told_by: str | None = None
    """The persona id of the NPC who passed it on; nil when this NPC witnessed it."""


class MemoryListArgs(WireModel):
    persona: PersonaId
    player: Id
    limit: int | None = Field(None, ge=1, le=1000)
    """At most this many (the first of the order). Default: all."""


class MemoryListResult(OutModel):
    memories: list[MemoryOut]
    """Most important first, then most recent."""


class MemoryAddArgs(WireModel):
    persona: PersonaId
    player: Id
    text: MemoryText
    """What the NPC should remember, e.g. "The player saved the mill." (1–400 characters)."""
    kind: MemoryKind = "event"
    importance: Importance | None = None
    """1–10. Default: the kind's (event 5, promise 8, secret 9, ...)."""


class MemoryAddResult(OutModel):
    memory: MemoryOut


class MemoryForgetArgs(WireModel):
    id: MemoryId


class MemoryForgetResult(OutModel):
    forgotten: bool


MEMORY_OPS: dict[str, OpSpec] = {
    "memory.list": OpSpec(
        MemoryListArgs, MemoryListResult, "What an NPC remembers of a player, most important and most recent first."
    ),
    "memory.add": OpSpec(
        MemoryAddArgs, MemoryAddResult, "Give an NPC a memory of a player (a game event: 'the player saved the mill')."
    ),
    "memory.forget": OpSpec(MemoryForgetArgs, MemoryForgetResult, "Delete one memory (unknown id: memory_not_found)."),
}
OPS.update(MEMORY_OPS)

__all__ = [
    "MAX_IMPORTANCE",
    "MAX_MEMORY_TEXT",
    "MEMORY_KINDS",
    "MEMORY_OPS",
    "MIN_IMPORTANCE",
    "MemoryAddArgs",
    "MemoryAddResult",
    "MemoryForgetArgs",
    "MemoryForgetResult",
    "MemoryKind",
    "MemoryListArgs",
    "MemoryListResult",
    "MemoryOut",
    "MemorySourceOut",
]
