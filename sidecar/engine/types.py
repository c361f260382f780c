"""Plain data passed between the turn pipeline and the engine units.

Frozen dataclasses, no I/O: the pipeline persists `memory` as JSON and the lines in SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sidecar.personas.model import Persona

PLAYER = "player"


@dataclass(frozen=True)
class Line:
    speaker: str
    """Persona id for NPC lines, `PLAYER` for the player."""
    text: str


@dataclass(frozen=True)
class Option:
    text: str
    intent: str
    """`ask`, `share`, `leave` at least; `topic`, `flirt`, `apologize`… allowed."""


@dataclass(frozen=True)
class Sentiment:
    label: str
    """`positive`, `negative` or `neutral`."""
    compound: float
    """vaderSentiment's compound score, -1..1."""


@dataclass(frozen=True)
class TurnContext:
    persona: Persona
    player: str
    affinity: int
    seed: int
    turn: int
    history: tuple[Line, ...] = ()
    memory: Mapping[str, Any] = field(default_factory=dict)
    others: tuple[Persona, ...] = ()


@dataclass(frozen=True)
class Composed:
    text: str
    memory: Mapping[str, Any] = field(default_factory=dict)
    ending: bool = False
    topic: str | None = None
    notes: tuple[str, ...] = ()


__all__ = ["PLAYER", "Composed", "Line", "Option", "Sentiment", "TurnContext"]
