"""The draft of one turn: one typed record that the pipeline's steps read and fill.

    read → recall → context → generate → act → settle → offer → remember → persist → announce

`read.read_line` makes the draft (the player's line read for one *speaker*); each later
step returns its own frozen section, which the sequencer (`Dialogue`, sidecar/engine/turn.py)
puts into the draft before the next step runs. A section is read through its property
(`draft.generation`, ...), which raises `StepOrderError` when the step that fills it has not
run: a step that reads ahead of the sequence is a bug, and it fails loudly instead of reading
None.

The speaker is a field, not an assumption: a scene turn (several NPCs) runs the same steps
with one draft per speaker over the same stored conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sidecar.engine import goals as goal_rules
from sidecar.engine.actions import Proposal, Situation
from sidecar.engine.affinity import AffinityChange
from sidecar.engine.arc import ArcStep
from sidecar.engine.emotion import NEUTRAL, Feeling
from sidecar.engine.personality import Tuning
from sidecar.engine.quality import Quality
from sidecar.engine.recollect import Recollection
from sidecar.engine.source import Generated, TurnInput
from sidecar.engine.state import EngineMemory
from sidecar.engine.summary import SummaryView
from sidecar.engine.tone import ToneReading, neutral_reading
from sidecar.engine.types import Option, Sentiment, TurnContext
from sidecar.personas.actions import ActionDef
from sidecar.personas.model import Persona
from sidecar.store.actions import ActionLog
from sidecar.store.db import AffinityResult, ConversationRow, GoalRow, GoalWrite, MessageRow
from sidecar.store.memory import NewMemory
from sidecar.store.summaries import SummaryWrite

T = TypeVar("T")


class StepOrderError(RuntimeError):
    """A step read a section of the draft that no earlier step has filled (a pipeline bug)."""


@dataclass(frozen=True)
class GoalState:
    """The player's goal as a turn result reports it."""

    id: str
    progress: float
    completed: bool
    reason: str
    description: str = ""


@dataclass(frozen=True)
class Recalled:
    """What memory brings to this turn (filled by `recall.Recall`): the speaker's long-term
    memories of the player, best first for the player's line."""

    memories: tuple[Recollection, ...] = ()
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fitted:
    """The conversation's context for this turn (filled by `context.Context`)."""

    view: SummaryView | None
    """The summary in force and the lines after it (None before the first fold); goes to
    the line source as `TurnInput.summary`."""
    write: SummaryWrite | None
    """A new fold made this turn, stored with the turn."""


@dataclass(frozen=True)
class Action:
    """Something the NPC does besides speaking (filled by `actions.Act`): validated, stored
    and announced (`npc.action`); the game answers it with `action.result`."""

    id: str
    """Unique across the store (`a_` + 16 hex digits)."""
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Acting:
    """What the `act` step read before the line was generated (filled by `Act.prepare`):
    the speaker's actions, the situation conditions and limits are judged in, and the
    stored results the line reacts to."""

    available: Mapping[str, ActionDef]
    situation: Situation
    log: ActionLog
    ruled: tuple[Proposal, ...] = ()
    """What the persona's embedded rules propose from the player's line (used when the
    embedded engine writes the line)."""


@dataclass(frozen=True)
class Generation:
    """The line the gate kept (filled by `generate.Generate`) and what it leaves behind."""

    line: Generated
    quality: Quality
    retries: int
    memory: EngineMemory
    """The engine's memory after this line: what the player saw."""
    topic: str | None
    """The persona topic the exchange was about, if any (the affinity's liked-topic bonus)."""
    ending: bool
    """The player said goodbye: the conversation ends with this line."""

    @property
    def text(self) -> str:
        return self.line.text


@dataclass(frozen=True)
class Settled:
    """What the line changes in the relationship (filled by `settle.Settle`)."""

    npc_sentiment: Sentiment
    arc: ArcStep
    change: AffinityChange
    """Every affinity change of the turn, combined (delta and reasons)."""
    goal: GoalState | None = None
    goal_write: GoalWrite | None = None
    goal_events: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """`goal_progressed` / `goal_completed` events, sent after the commit."""
    feeling: Feeling = NEUTRAL
    """The NPC line's emotion and intensity (engine/emotion.py), stored with it."""


@dataclass
class Draft:
    """One speaker's turn in the making."""

    conversation: ConversationRow
    lines: Sequence[MessageRow]
    """The recent stored lines, oldest first (before this turn)."""
    goal_row: GoalRow | None
    speaker: Persona
    """The NPC who answers this draft's player line."""
    player_text: str
    ctx: TurnContext
    sentiment: Sentiment
    """The player's line, read."""
    tuning: Tuning
    goal: goal_rules.GoalDef | None
    turn: TurnInput
    """What the line source is given (the goal hint and the other NPCs' names included)."""
    tone: ToneReading = field(default_factory=neutral_reading)
    """The player's stance toward the speaker and the topic's valence (`read` fills it):
    affinity and the arc follow the stance."""
    witnesses: tuple[Persona, ...] = ()
    """Bystanders the game named for this turn (engine/witness.py): they hear both lines."""
    overheard: tuple[NewMemory, ...] = ()
    """The bystanders' memories of this turn and what was gossiped at it (`overhear`),
    stored with the turn; each names the NPC who holds it (`NewMemory.persona`)."""
    _acting: Acting | None = None
    _recalled: Recalled | None = None
    _context: Fitted | None = None
    _generation: Generation | None = None
    _actions: tuple[Action, ...] | None = None
    _settled: Settled | None = None
    _remembered: tuple[NewMemory, ...] | None = None
    _options: tuple[Option, ...] | None = None
    _stored: AffinityResult | None = None

    @property
    def acting(self) -> Acting:
        return _need(self._acting, "act (prepare)")

    @acting.setter
    def acting(self, value: Acting) -> None:
        self._acting = value

    @property
    def recalled(self) -> Recalled:
        return _need(self._recalled, "recall")

    @recalled.setter
    def recalled(self, value: Recalled) -> None:
        self._recalled = value

    @property
    def context(self) -> Fitted:
        return _need(self._context, "context")

    @context.setter
    def context(self, value: Fitted) -> None:
        self._context = value
        self.turn = replace(self.turn, summary=value.view)

    @property
    def generation(self) -> Generation:
        return _need(self._generation, "generate")

    @generation.setter
    def generation(self, value: Generation) -> None:
        self._generation = value

    @property
    def actions(self) -> tuple[Action, ...]:
        return _need(self._actions, "act")

    @actions.setter
    def actions(self, value: tuple[Action, ...]) -> None:
        self._actions = value

    @property
    def settled(self) -> Settled:
        return _need(self._settled, "settle")

    @settled.setter
    def settled(self, value: Settled) -> None:
        self._settled = value

    @property
    def remembered(self) -> tuple[NewMemory, ...]:
        """The long-term memories this turn leaves (filled by `remember.Remember`)."""
        return _need(self._remembered, "remember")

    @remembered.setter
    def remembered(self, value: tuple[NewMemory, ...]) -> None:
        self._remembered = value

    @property
    def options(self) -> tuple[Option, ...]:
        return _need(self._options, "offer")

    @options.setter
    def options(self, value: Sequence[Option]) -> None:
        self._options = tuple(value)

    @property
    def stored(self) -> AffinityResult:
        return _need(self._stored, "persist")

    @stored.setter
    def stored(self, value: AffinityResult) -> None:
        self._stored = value


def _need(value: T | None, step: str) -> T:
    if value is None:
        raise StepOrderError(f"the {step!r} step has not run on this draft")
    return value


__all__ = [
    "Acting",
    "Action",
    "Draft",
    "Fitted",
    "Generation",
    "GoalState",
    "Recalled",
    "Settled",
    "StepOrderError",
]
