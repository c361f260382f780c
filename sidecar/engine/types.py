"""Plain data passed between the turn pipeline and the engine units.

Frozen dataclasses, no I/O: the pipeline persists the `ConversationState` (sidecar/engine/state.py)
and the lines in SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sidecar.engine.state import ConversationState, EngineMemory, Option
from sidecar.personas.model import Persona

PLAYER = "player"


@dataclass(frozen=True)
class Line:
    speaker: str
    """Persona id for NPC lines, `PLAYER` for the player."""
    text: str


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
    state: ConversationState = field(default_factory=ConversationState)
    """What the conversation carried over from its previous turns."""
    others: tuple[Persona, ...] = ()
    """NPCs present in the scene (they hear and may speak)."""
    neighbours: tuple[Persona, ...] = ()
    """The other NPCs of the world, not present: whom the NPC may send the player to for a
    request that is not its trade ("Sorrel makes remedies…")."""

    def exchanges(self) -> Iterator[tuple[str, str]]:
        """(a player's line, the NPC's answer to it), newest first: each NPC line in `history`
        with the player's line before it. What a yes ("Deal!") or a "How much?" follows up."""
        h = self.history
        i = len(h) - 1
        while i > 0:
            if h[i].speaker == self.persona.id:
                j = next((k for k in range(i - 1, -1, -1) if h[k].speaker == PLAYER), None)
                if j is None:
                    return
                yield h[j].text, h[i].text
                i = j
            i -= 1

    def last_exchange(self) -> tuple[str, str] | None:
        """The newest of `exchanges()`, or None."""
        return next(self.exchanges(), None)

    @property
    def player_name(self) -> str | None:
        """The player's name once known: told in the conversation, else the display name the
        game gave at `conversation.start` (`ConversationState.known_name`)."""
        return self.state.known_name


@dataclass(frozen=True)
class Composed:
    text: str
    memory: EngineMemory = field(default_factory=EngineMemory)
    """The engine's memory after this line (the pipeline stores it in the state)."""
    ending: bool = False
    topic: str | None = None
    notes: tuple[str, ...] = ()
    emotion: str | None = None
    """The face the composition asks for when its words would not show it (a joke told is
    told smiling, even one about weeping); None: the pipeline derives one from the line."""


__all__ = ["PLAYER", "Composed", "Line", "Option", "Sentiment", "TurnContext"]
