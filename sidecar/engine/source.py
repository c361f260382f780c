"""The generation seam: what the turn pipeline asks of whoever writes the NPC's lines.

`LineSource` is everything the pipeline calls on a source: the line for one attempt of the
quality gate, candidates for the player's answer options, and a verdict on the player's goal.
Two implementations: `EmbeddedSource` here (offline, deterministic) and `RoutedSource`
(sidecar/engine/routed.py, the LLM router with the embedded engine as its last link).

The embedded composition of a turn is made only when the embedded engine is the one that
answers (`compose`): an LLM turn that a provider answered never composes an unused line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sidecar.engine import goals as goal_rules
from sidecar.engine import tone as tones
from sidecar.engine.actions import Outcome, Proposal, acknowledge, doing, not_now
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.personality import Tuning
from sidecar.engine.reading import read
from sidecar.engine.recollect import Recollection
from sidecar.engine.scene.cue import SceneCue
from sidecar.engine.summary import SummaryView
from sidecar.engine.text import SEED_STEP
from sidecar.engine.types import Composed, Line, Option, Sentiment, TurnContext
from sidecar.personas.actions import ActionDef
from sidecar.store.memory import NewMemory

EMBEDDED = "embedded"
AGREES = "core:request:own:"
"""The note of an embedded line that agrees to one of the persona's own requests."""
DISCLAIMS = ("core:request:referral:", "core:request:nobody")
"""Notes of an embedded line that says the request is not this NPC's trade."""
QUOTED = "core:quote"
"""The note of an embedded line that names the price of one of the persona's actions."""

Emit = Callable[[str, Mapping[str, Any]], Awaitable[None]]
DeltaSink = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class TurnInput:
    """What a line source needs to produce the NPC's next line."""

    ctx: TurnContext
    player_text: str
    sentiment: Sentiment
    tuning: Tuning
    composed: Composed | None = None
    """Attempt 0's embedded composition when the caller already made one; otherwise the
    source composes it (`compose`) only if the embedded engine is the one answering."""
    goal_hint: str | None = None
    other_names: tuple[str, ...] = ()
    conversation: str | None = None
    """For cost rows and per-conversation budgets of an LLM source."""
    tone: tones.ToneReading | None = None
    """The player's line's tone reading (stance, valence): the embedded engine reacts to it."""
    actions: Mapping[str, ActionDef] = field(default_factory=dict)
    """What the speaker may do this turn (sidecar/engine/actions.py): a provider is offered
    them as tools; the embedded engine's rules are applied by the `act` step."""
    action_results: tuple[Outcome, ...] = ()
    """The game's results of earlier actions that no line has reacted to yet."""
    action_problems: tuple[str, ...] = ()
    """Why the previous attempt's proposed actions were dropped (a quality-gate retry)."""
    actions_refused: bool = False
    """A persona rule would decide an action from this line, but its conditions or limits
    refuse it now: the embedded engine does not agree to the request."""
    asks: tuple[str, ...] = ()
    """Options that ask for an action the speaker may still decide (its rule's `ask`), first
    of the answer options' candidates: a player who only clicks finds the way to it too."""
    not_yet: tuple[str, ...] = ()
    """The refused rules' own words for "not yet" (`[actions.NAME.embedded] not_yet`, or
    `again` when a limit refused it), said
    instead of the general "not now" when there are any."""
    actions_decided: bool = False
    """A persona rule decides an action from this line: the embedded engine does not answer
    that it is not its trade."""
    quotes: tuple[str, ...] = ()
    """The price the persona names for what the player asked the price of, or the errand
    it proposes (its rules' `quote` or `offer`, filled): the embedded engine says one instead
    of agreeing or disclaiming."""
    accepted: bool = False
    """The player said yes to the price or the offer the NPC's last line named: the decided
    action is answered as a request agreed to."""
    agreed: tuple[str, ...] = ()
    """The accepted action's own words for deciding it (`[actions.NAME.embedded] agree`,
    filled), said instead of the general "I'll see to it"."""
    memories: tuple[Recollection, ...] = ()
    """Long-term memories of this player recalled for this line, best first (the recall step):
    an LLM prompt lists them, the embedded engine brings them up."""
    summary: SummaryView | None = None
    """The conversation's rolling summary and the recent lines after it (the context step,
    pipeline/context.py); None before the first fold, when the prompt takes `ctx.history`."""
    world: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    """The game's world facts (`world.set`): an LLM prompt is told them (the embedded engine
    sees them as the persona topics they open, `engine/world.py`)."""
    scene: SceneCue | None = None
    """In a multi-NPC scene (issue 14), who this line addresses, who else is present, how the
    speaker stands toward the addressee and the line it answers (engine/scene/cue.py); None in
    a one-to-one conversation, which it leaves unchanged."""


@dataclass(frozen=True)
class Generated:
    text: str
    provider: str
    composed: Composed | None
    """The embedded composition this line came from (memory, ending, topic), or the caller's
    `TurnInput.composed`; None when a provider wrote the line and nothing was composed."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    emotion: str | None = None
    """An emotion the source proposes for its line; used only if it is one of the eight
    (engine/emotion.py `settle`), else the pipeline derives one."""
    proposals: tuple[Proposal, ...] = ()
    """Actions a provider proposed with the line (its tool calls), not yet validated."""

    @property
    def from_provider(self) -> bool:
        """Whether a remote provider, not the embedded engine, wrote the line."""
        return bool(self.meta.get("kind", EMBEDDED) != EMBEDDED)

    @property
    def composition(self) -> Composed | None:
        """The composition only if it is the line the player sees (not an unused one)."""
        return self.composed if self.composed is not None and self.composed.text == self.text else None


class LineSource(Protocol):
    """Produces the NPC's line for one attempt. `attempt` 0 is the first try; a higher one is
    a quality-gate retry and should produce something different. `on_delta` (if given)
    receives the line's text as it is produced."""

    async def generate(self, turn: TurnInput, attempt: int, *, on_delta: DeltaSink | None, emit: Emit) -> Generated: ...

    async def options(self, turn: TurnInput, line: Generated, fallback: Sequence[Option]) -> list[Option]:
        """Candidates for the player's answer options; `fallback` (the embedded engine's) when
        the source has nothing better. Never raises except `CancelledError`."""
        ...

    async def judge(
        self, turn: TurnInput, line: Generated, goal: goal_rules.GoalDef, lines: Sequence[Line]
    ) -> goal_rules.GoalCheck | None:
        """A verdict on the player's goal over `lines` (oldest first, this turn included),
        unsettled; None when the source has none, so the pipeline's heuristics decide."""
        ...

    async def extract(self, turn: TurnInput, line: Generated) -> list[NewMemory] | None:
        """The turn's long-term memories as the source reads them (structured output), or
        None when it has no reading of its own or it failed: the pipeline's heuristics decide.
        Never raises except `CancelledError`."""
        ...


def compose(engine: EmbeddedEngine, turn: TurnInput, attempt: int) -> Composed:
    """The embedded engine's line for one attempt (another seed per retry)."""
    if not attempt and turn.composed is not None:
        return turn.composed
    ctx = replace(turn.ctx, seed=turn.ctx.seed + attempt * SEED_STEP) if attempt else turn.ctx
    # The line reacts to what the game did with the NPC's last action, first of all.
    news = acknowledge(turn.action_results, ctx.seed)
    if turn.scene is not None:
        made = engine.scene_reply(
            ctx, turn.scene, turn.player_text, turn.sentiment, turn.tone, turn.memories, news=news
        )
    else:
        made = engine.reply(ctx, turn.player_text, turn.sentiment, turn.tone, turn.memories, news=news)
    # A refused rule's request is this NPC's own, even when the request words send the
    # player elsewhere ("open the gate" → "Wrong door. Ansel mends…") or name nothing the
    # request engine knows ("Please, I need to get through"): not now, not "not mine", and
    # not a stray anecdote, so asking again is a request put off (the ask_favor goal).
    heard = read(turn.player_text)
    # A price asked of a rule that may not be decided now is answered as the request refused.
    asked = (heard.requests or heard.asks_price or heard.asks_work or turn.accepted
             or any(note.startswith((AGREES, *DISCLAIMS)) for note in made.notes))
    if turn.quotes:
        # "How much for a room?" is answered with the price, not with the key handed over.
        made = replace(made, text=_after(news, turn.quotes[ctx.seed % len(turn.quotes)]),
                       notes=(*made.notes, QUOTED), emotion=None)
    elif turn.actions_decided and turn.accepted:
        # A yes to the quote: the action's own words, not a request answer found in the
        # talk ("OK, deal." to the horseshoe's price is no horseshoe to mend).
        said = turn.agreed[ctx.seed % len(turn.agreed)] if turn.agreed else doing(ctx.seed)
        made = replace(made, text=_after(news, said))
    elif turn.actions_refused and asked and (turn.not_yet or not heard.asks_work):
        # An errand given already (a limit) is answered by the composed "nothing more for
        # you today", not a "not now" that promises one.
        wait = turn.not_yet[ctx.seed % len(turn.not_yet)] if turn.not_yet else not_now(ctx.seed)
        made = replace(made, text=_after(news, wait))
    elif turn.actions_decided and asked and not any(note.startswith(AGREES) for note in made.notes):
        # Deciding it, the NPC says so, unless the request engine already agreed in its words.
        made = replace(made, text=_after(news, doing(ctx.seed)))
    return made


def _after(news: str, line: str) -> str:
    return f"{news} {line}" if news else line


def chunks(text: str, words: int = 3) -> list[str]:
    """Split a finished line into word groups, so the embedded engine streams like an LLM."""
    parts = text.split(" ")
    return [
        " ".join(parts[i : i + words]) + (" " if i + words < len(parts) else "") for i in range(0, len(parts), words)
    ]


class EmbeddedSource:
    """The offline engine: no network, no key, deterministic per seed."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self.engine = engine

    async def generate(self, turn: TurnInput, attempt: int, *, on_delta: DeltaSink | None, emit: Emit) -> Generated:
        composed = compose(self.engine, turn, attempt)
        if on_delta is not None:
            for chunk in chunks(composed.text):
                await on_delta(chunk)
        return Generated(composed.text, EMBEDDED, composed, emotion=composed.emotion)

    async def options(self, turn: TurnInput, line: Generated, fallback: Sequence[Option]) -> list[Option]:
        return list(fallback)

    async def judge(
        self, turn: TurnInput, line: Generated, goal: goal_rules.GoalDef, lines: Sequence[Line]
    ) -> goal_rules.GoalCheck | None:
        """The embedded engine has no verdict of its own: the goal heuristics decide."""
        return None

    async def extract(self, turn: TurnInput, line: Generated) -> list[NewMemory] | None:
        """The embedded engine has no reader of its own: the memory heuristics decide."""
        return None


__all__ = [
    "EMBEDDED",
    "SEED_STEP",
    "DeltaSink",
    "EmbeddedSource",
    "Emit",
    "Generated",
    "LineSource",
    "TurnInput",
    "chunks",
    "compose",
]
