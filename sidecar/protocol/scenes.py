"""Ops of multi-NPC scenes (issue 14 §1): `scene.start`, `scene.join`, `scene.leave`,
`scene.say`, `scene.end`, `scene.history`.

A scene is a conversation of kind "scene" with several NPCs: it appears in
`conversation.list` and `history.search` like any conversation. Requests of one scene run one
at a time in arrival order, except that a `scene.say` cancels the rest of the exchange its
scene is running (the server does that on arrival; the interrupted request answers with the
lines it stored, `interrupted: true`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from sidecar.protocol.ops import (
    OPS,
    AffinityOut,
    Emotion,
    HistoryResult,
    Id,
    Intensity,
    OpSpec,
    OptionOut,
    OutModel,
    PersonaId,
    PlayerName,
    PlayerText,
    WireModel,
)

MAX_SCENE_PERSONAS = 8
"""NPCs one scene may start with (more may join, up to the same number present)."""
MAX_LINES = 32
"""The highest `max_lines` a scene may ask for (the default is 6)."""

SceneStrategy = Literal["natural", "list", "pooled", "manual"]


def _distinct(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("personas name the same persona twice")
    return ids


class SceneArgs(WireModel):
    """Args of an op on one scene: requests of a scene run in arrival order."""

    scene: Id

    def conversation_key(self) -> str | None:
        return self.scene


class SceneStartArgs(WireModel):
    personas: Annotated[
        list[PersonaId],
        Field(min_length=1, max_length=MAX_SCENE_PERSONAS, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]
    """The NPCs within earshot, in the scene's fixed order (the `list` strategy's order, and
    the order they greet in). Unknown ids get `persona_not_found` and store nothing."""
    player: Id
    player_name: PlayerName | None = None
    seed: int | None = Field(None, ge=0, le=2**53)
    """Fixes every random choice of the scene (who banters, the embedded engine's lines): the
    same seed and the same player lines replay the same scene."""
    strategy: SceneStrategy = "natural"
    """Who answers a player line: `natural` (the NPCs it names, in mention order; with none
    named, the best-interested, else the last addressed), `list` (every present NPC in the
    scene's order), `pooled` (every present NPC once, seeded random order), `manual` (the
    game names the speaker in `scene.say`)."""
    max_lines: int = Field(6, ge=1, le=MAX_LINES)
    """The hard cap on NPC lines per player line."""
    max_tokens: int | None = Field(None, ge=1, le=100_000)
    """A budget of NPC output tokens per player line (estimated): the exchange stops before
    a line once its lines have used it. Default: no budget beyond `max_lines`."""
    talkativeness: float | None = Field(None, ge=0.0, le=1.0)
    """The chance that an addressed NPC answers in banter, for every NPC of this scene
    (default: each persona's own, 0.5 without one)."""
    max_usd: float | None = Field(None, ge=0.0, le=100.0)
    """A budget of what the provider calls of one player line's exchange may cost (USD, as
    `stats.costs` counts it): the exchange stops before a line once its lines cost this.
    Default: none (the provider config's own budgets still apply)."""


class SceneLineOut(OutModel):
    speaker: str
    """Persona id of the NPC who says it."""
    name: str
    text: str
    addressed_to: list[str]
    """Persona ids the line is spoken to; empty: the player."""
    seq: int = Field(ge=0)
    """The line's place in the scene (as `scene.history` gives it)."""
    emotion: Emotion
    intensity: Intensity


class SceneStartResult(OutModel):
    scene: str
    lines: list[SceneLineOut]
    """The greetings: one per NPC, in the scene's order."""
    options: list[OptionOut]
    affinity: dict[str, AffinityOut]
    """The player's affinity with each NPC (delta 0)."""


class SceneJoinArgs(SceneArgs):
    persona: PersonaId


class SceneMembersResult(OutModel):
    scene: str
    present: list[str]
    """Persona ids within earshot now, in the scene's order."""


class SceneSayArgs(SceneArgs):
    text: PlayerText
    stream: bool = False
    """Emit `line.delta` / `line.reset` events (each carrying `speaker`) as each line is
    generated, besides the `scene.line` event per line."""
    speaker: PersonaId | None = None
    """Who answers: only (and required) with the `manual` strategy; it must be present."""


class SceneSayResult(OutModel):
    lines: list[SceneLineOut]
    """The NPC lines of this exchange, in order (each was sent as a `scene.line` event first)."""
    options: list[OptionOut]
    """The player's answer options for the last line."""
    affinity: dict[str, AffinityOut]
    """Each NPC that spoke: the player's affinity with it after the exchange, and the change."""
    ended: bool
    """Every NPC present has said goodbye: further `scene.say` gets `conversation_ended`."""
    interrupted: bool = False
    """A newer `scene.say` for this scene cut the exchange short: `lines` are the ones stored
    before it arrived (a line being generated then was dropped, nothing of it stored)."""


class SceneEndResult(OutModel):
    lines: list[SceneLineOut]
    """Each present NPC's farewell."""


class SceneHistoryArgs(SceneArgs):
    """As `conversation.history`'s args, with `scene` for `conversation`."""

    limit: int | None = Field(None, ge=1, le=1000)
    before: int | None = Field(None, ge=0, le=2**53)


OPS.update(
    {
        "scene.start": OpSpec(SceneStartArgs, SceneStartResult, "Start a scene with several NPCs: their greetings."),
        "scene.join": OpSpec(SceneJoinArgs, SceneMembersResult, "An NPC comes within earshot of a scene."),
        "scene.leave": OpSpec(SceneJoinArgs, SceneMembersResult, "An NPC goes out of earshot of a scene."),
        "scene.say": OpSpec(SceneSayArgs, SceneSayResult, "The player's line to a scene; the NPCs' exchange."),
        "scene.end": OpSpec(SceneArgs, SceneEndResult, "End a scene: each present NPC's farewell."),
        "scene.history": OpSpec(SceneHistoryArgs, HistoryResult, "Stored lines of a scene, oldest first."),
    }
)

__all__ = [
    "MAX_LINES",
    "MAX_SCENE_PERSONAS",
    "SceneArgs",
    "SceneEndResult",
    "SceneHistoryArgs",
    "SceneJoinArgs",
    "SceneLineOut",
    "SceneMembersResult",
    "SceneSayArgs",
    "SceneSayResult",
    "SceneStartArgs",
    "SceneStartResult",
    "SceneStrategy",
]
