"""Every op of wire protocol v1 as pydantic models: its args and its result.

The envelope is `{"id": int, "op": str, "args": map}`; `OPS` maps each op name to its
`OpSpec` (args model, result model, one-line doc). Names and fields here are a contract:
add fields freely, rename none. `engine_bindings/schema/` is generated from these models
(`parley schema`) and CI checks it is up to date.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag

MAX_TEXT = 2_000
"""Longest player line, in characters. Longer gets `too_large`."""
MAX_ID = 64
MAX_PLAYER_NAME = 40
"""Longest player display name, in characters (after trimming surrounding spaces)."""
_JOINERS = frozenset("\u200c\u200d")
"""Zero-width (non-)joiners: format characters that some scripts need inside a name."""


class WireModel(BaseModel):
    """Strict on input: no coercion ("5" is not 5), no unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    def conversation_key(self) -> str | None:
        """The conversation this request acts on: requests of one conversation run one at a
        time, in arrival order; requests without one (None) run at once."""
        return None


class OutModel(BaseModel):
    """Results: the sidecar writes them, clients must ignore fields they don't know."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


Id = Annotated[str, Field(min_length=1, max_length=MAX_ID)]
PersonaId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
PlayerText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
MAX_WITNESSES = 16
"""Bystanders one line may name: more NPCs than a scene in any village square holds."""


def _distinct(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("witnesses name the same persona twice")
    return ids


Witnesses = Annotated[
    list[PersonaId],
    Field(max_length=MAX_WITNESSES, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]
"""Persona ids of the NPCs who overhear a line besides the one the player talks to."""


class ConversationArgs(WireModel):
    """Args of an op on one conversation."""

    conversation: Id

    def conversation_key(self) -> str | None:
        return self.conversation


def _player_name(value: str) -> str:
    """A display name is shown in NPC lines and LLM prompts, so it must be printable text:
    control, format (bidi overrides), surrogate and unassigned characters are refused, and
    surrounding spaces are trimmed."""
    name = value.strip()
    if not name:
        raise ValueError("player_name is blank")
    for ch in name:
        if unicodedata.category(ch).startswith("C") and ch not in _JOINERS:
            raise ValueError(f"player_name holds a control character (U+{ord(ch):04X})")
    return name


PlayerName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_PLAYER_NAME, json_schema_extra={"pattern": r"^[^\x00-\x1f\x7f]+$"}),
    AfterValidator(_player_name),
]
"""The player's display name: 1–40 printable characters, surrounding spaces trimmed."""


class Envelope(BaseModel):
    """A request frame. `args` is validated separately, by the op's own model."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    id: int = Field(ge=0, le=2**53)
    op: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


# --- shared result pieces ----------------------------------------------------------------


Emotion = Literal["neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust", "affection"]
"""The face an NPC line is said with (sidecar/engine/emotion.py derives it)."""
Intensity = Annotated[float, Field(ge=0.0, le=1.0)]


class NpcLine(OutModel):
    speaker: str
    """Persona id of the NPC, or "player"."""
    name: str
    """Display name of the speaker."""
    text: str
    emotion: Emotion
    """How the NPC says it, for a portrait or an animation: one of `neutral`, `joy`,
    `sadness`, `anger`, `fear`, `surprise`, `disgust`, `affection`."""
    intensity: Intensity
    """How strongly, 0 (barely) to 1 (overwhelming)."""


class HistoryLine(OutModel):
    seq: int = Field(ge=0)
    """The line's place in its conversation: 0 for the greeting, then one per line."""
    speaker: str
    name: str
    text: str
    at: float
    """Unix time (seconds, UTC) the line was stored."""
    emotion: Emotion | None = None
    """An NPC line's emotion as it was sent; None for the player's lines and for lines
    stored before protocol 1 carried emotions."""
    intensity: Intensity | None = None


class OptionOut(OutModel):
    text: str
    intent: str
    """`ask`, `share` or `leave` at least."""


class AffinityOut(OutModel):
    value: int = Field(ge=0, le=100)
    delta: int
    reason: str


class QualityOut(OutModel):
    score: int = Field(ge=0, le=100)
    retries: int = Field(ge=0)


class ActionOut(OutModel):
    """An action the NPC decided (issue 15): the game carries it out and answers
    `action.result` with this `id`."""

    id: str
    name: str
    args: dict[str, Any]


class GoalOut(OutModel):
    id: str
    progress: float = Field(ge=0.0, le=1.0)
    completed: bool
    reason: str = ""


# --- ops ---------------------------------------------------------------------------------


class Empty(WireModel):
    pass


class PersonaSummary(OutModel):
    id: str
    name: str
    aliases: list[str]
    role: str
    preset: str


class PersonaListResult(OutModel):
    personas: list[PersonaSummary]


class StartArgs(WireModel):
    persona: PersonaId
    player: Id
    seed: int | None = Field(None, ge=0, le=2**53)
    """Fixes the embedded engine's choices for this conversation (tests, demos)."""
    player_name: PlayerName | None = None
    """The player's display name ("Ana"), if the game knows it: the NPC addresses the player
    by it and never asks for it. Omitted, the NPC learns a name only when the player says it."""


class StartResult(OutModel):
    conversation: str
    line: NpcLine
    options: list[OptionOut]
    affinity: AffinityOut


class SayArgs(ConversationArgs):
    text: PlayerText
    stream: bool = False
    """Emit `line.delta` events as the line is generated, then the reply."""
    witnesses: Witnesses = Field(default_factory=list)
    """Bystanders (persona ids) who hear the player's line and the NPC's answer: each
    remembers what it overheard. Unknown ids get `persona_not_found` and store nothing."""


class SayResult(OutModel):
    line: NpcLine
    options: list[OptionOut]
    sentiment: str
    """The player's line: `positive`, `negative` or `neutral`."""
    arc: str = "stable"
    affinity: AffinityOut
    goal: GoalOut | None = None
    quality: QualityOut
    provider: str
    ended: bool = False
    """The NPC said goodbye; further `say` gets `conversation_ended`."""
    player_text: str = ""
    """The player's line as stored (for `conversation.choose`: the chosen option's text)."""
    actions: list[ActionOut] = Field(default_factory=list)
    """What the NPC decided to do with this line (each also sent as an `npc.action` event
    before the reply)."""


class ChooseArgs(ConversationArgs):
    option: int = Field(ge=0, le=31)
    """0-based index into the options of the NPC's last line."""
    stream: bool = False
    witnesses: Witnesses = Field(default_factory=list)
    """As `conversation.say`'s: bystanders who hear the chosen line and the answer."""


class OptionsArgs(ConversationArgs):
    pass


class OptionsResult(OutModel):
    options: list[OptionOut]


GoalSpec = Annotated[str, Field(min_length=1, max_length=MAX_ID)]


def _not_blank(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def _keyword(text: str) -> str:
    return _not_blank(text).lower()


class CustomGoal(WireModel):
    """A goal the game defines on the spot, validated here once: the dispatcher makes it the
    engine's `GoalDef` without checking it again. Text is stripped (blank is refused) and
    keywords are lower-cased, as the engine matches them."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    description: Annotated[str, Field(min_length=1, max_length=400), AfterValidator(_not_blank)]
    success_criteria: Annotated[str, Field(max_length=400), AfterValidator(str.strip)] = ""
    """Default (empty): the description."""
    success_keywords: list[Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_keyword)]] = Field(
        default_factory=list, max_length=30
    )
    affinity_requirement: int = Field(0, ge=0, le=100)
    affinity_bonus: int = Field(0, ge=0, le=50)


def _goal_kind(value: Any) -> str:
    return "id" if isinstance(value, str) else "custom"


class GoalSetArgs(ConversationArgs):
    goal: Annotated[
        Annotated[GoalSpec, Tag("id")] | Annotated[CustomGoal, Tag("custom")],
        Discriminator(_goal_kind),
    ]
    """A goal id (the persona's own goals, then `build_trust`, `ask_favor`, `flirt`,
    `apologize`) or a custom goal map. A map's errors name its field (`goal.custom.NAME`)."""


class GoalStatusArgs(ConversationArgs):
    pass


class GoalDetail(OutModel):
    id: str
    description: str
    progress: float = Field(ge=0.0, le=1.0)
    completed: bool
    reason: str = ""


class GoalSetResult(OutModel):
    goal: GoalDetail
    requirement_met: bool
    requirement: str
    """Why the goal can (or cannot yet) complete, e.g. "needs affinity 50, is 42"."""


class GoalStatusResult(OutModel):
    goal: GoalDetail | None


class GoalClearResult(OutModel):
    cleared: bool


class CancelArgs(WireModel):
    id: int = Field(ge=0, le=2**53)
    """The id of an earlier request of this same connection."""


class CancelResult(OutModel):
    cancelled: bool
    """True when the request was still queued or generating: it answers `cancelled` and
    stores nothing. False when it was unknown or already done (or committing: too late)."""
    state: str
    """`queued`, `running` or `unknown`."""


class EndArgs(ConversationArgs):
    pass


class EndResult(OutModel):
    line: NpcLine


class HistoryArgs(ConversationArgs):
    limit: int | None = Field(None, ge=1, le=1000)
    """The newest `limit` lines (still oldest first). Default: all."""
    before: int | None = Field(None, ge=0, le=2**53)
    """Only lines with `seq` below this (with `limit`: the newest `limit` of those), to page
    back through a long conversation. Default: up to the newest line."""


class HistoryResult(OutModel):
    lines: list[HistoryLine]


class ServerCounts(OutModel):
    personas: int
    persona_problems: int
    players: int
    conversations: int
    messages: int
    requests: int
    errors: int
    quality_retries: int = 0
    quality_scored: int = 0
    quality_retried_lines: int = 0


class ProviderOut(OutModel):
    name: str
    """Config name (what a reply's `provider` field says)."""
    kind: str
    """`openai`, `anthropic` or `embedded`."""
    model: str
    state: str
    """`ready`, `cooling` (failing; retried later), `unusable` (no or rejected key) or `embedded`."""
    reason: str = ""


class ServerInfoResult(OutModel):
    version: str
    protocol: int
    uptime: float
    pid: int
    counts: ServerCounts
    ops: list[str]
    providers: list[ProviderOut] = Field(default_factory=list)
    """The provider chain in the order tried, the embedded engine last."""


class StatsCostsArgs(WireModel):
    since: float | None = Field(None, ge=0)
    """Only calls at or after this Unix time (seconds). Default: all."""


class CostBucketOut(OutModel):
    calls: int = Field(ge=0)
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    usd: float = Field(ge=0)


class StatsCostsResult(OutModel):
    total_usd: float = Field(ge=0)
    calls: int = Field(ge=0)
    """Provider calls recorded (lines, answer options, goal verdicts; the embedded engine's
    included, at $0)."""
    by_provider: dict[str, CostBucketOut]
    """By provider config name."""
    by_day: dict[str, CostBucketOut] = Field(default_factory=dict)
    """By local calendar day of the sidecar's machine, `YYYY-MM-DD`."""
    by_persona: dict[str, CostBucketOut] = Field(default_factory=dict)
    estimated_calls: int = 0
    """Calls whose token counts were estimated (the provider reported none)."""
    since: float | None = None


@dataclass(frozen=True)
class OpSpec:
    args: type[WireModel]
    result: type[OutModel]
    doc: str


OPS: dict[str, OpSpec] = {
    "server.info": OpSpec(Empty, ServerInfoResult, "Version, protocol, uptime and counts."),
    "persona.list": OpSpec(Empty, PersonaListResult, "Every loaded persona."),
    "conversation.start": OpSpec(StartArgs, StartResult, "Start a conversation: the NPC's greeting and options."),
    "conversation.say": OpSpec(SayArgs, SayResult, "The player's line; the NPC's answer."),
    "conversation.end": OpSpec(EndArgs, EndResult, "End a conversation: the NPC's farewell."),
    "conversation.choose": OpSpec(
        ChooseArgs, SayResult, "Say the NPC's offered option number `option` (0-based) as the player's line."
    ),
    "request.cancel": OpSpec(
        CancelArgs, CancelResult, "Cancel an earlier request of this connection (e.g. a turn still generating)."
    ),
    "options.generate": OpSpec(OptionsArgs, OptionsResult, "New answer options for the NPC's last line."),
    "goal.set": OpSpec(GoalSetArgs, GoalSetResult, "Set (or replace) what the player is trying to achieve."),
    "goal.status": OpSpec(GoalStatusArgs, GoalStatusResult, "The conversation's goal and its progress, or nil."),
    "goal.clear": OpSpec(GoalStatusArgs, GoalClearResult, "Drop the conversation's goal."),
    "conversation.history": OpSpec(HistoryArgs, HistoryResult, "Stored lines of a conversation, oldest first."),
    "stats.costs": OpSpec(
        StatsCostsArgs, StatsCostsResult, "What provider calls cost: totals, by provider, by day, by persona."
    ),
}

__all__ = [
    "MAX_TEXT",
    "ActionOut",
    "Id",
    "PersonaId",
    "OPS",
    "AffinityOut",
    "CancelArgs",
    "CancelResult",
    "ChooseArgs",
    "ConversationArgs",
    "CustomGoal",
    "GoalClearResult",
    "GoalDetail",
    "GoalSetArgs",
    "GoalSetResult",
    "GoalStatusArgs",
    "GoalStatusResult",
    "OptionsArgs",
    "OptionsResult",
    "EndArgs",
    "EndResult",
    "Emotion",
    "Envelope",
    "GoalOut",
    "HistoryArgs",
    "HistoryLine",
    "HistoryResult",
    "Intensity",
    "NpcLine",
    "OpSpec",
    "OptionOut",
    "OutModel",
    "CostBucketOut",
    "ProviderOut",
    "StatsCostsArgs",
    "StatsCostsResult",
    "PersonaListResult",
    "PersonaSummary",
    "QualityOut",
    "SayArgs",
    "SayResult",
    "ServerCounts",
    "ServerInfoResult",
    "StartArgs",
    "StartResult",
    "WireModel",
]
