"""The action ops (issue 15): the game declares what NPCs may do, answers what they did.

    actions.register  {"persona"?, "actions": [{"name", "description", "arguments"?,
                       "conditions"?, "limits"?}]}          → {"registered": [names]}
    actions.list      {"persona"}                          → {"actions": [ActionInfo]}
    action.result     {"id", "ok", "detail"?}              → {"accepted": true}
    actions.pending   {"conversation"}                     → {"actions": [ActionOut]}

An action's `arguments`, `conditions` and `limits` are maps here: their one validator is the
persona file's (sidecar/personas/actions.py), which the handler runs, so a run-time
registration and a `[actions.NAME]` table accept exactly the same keys. Registered into
`OPS` on import (sidecar/protocol/__init__.py imports this module, so every op is there).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sidecar.protocol.ops import OPS, ActionOut, ConversationArgs, Id, OpSpec, OutModel, PersonaId, WireModel

ActionName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
MAX_DETAIL = 500


class RegisteredAction(WireModel):
    name: ActionName
    description: Annotated[str, Field(min_length=1, max_length=300)]
    """What the action does, for the model deciding it."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """A JSON Schema subset: `{"type": "object", "properties": {...}, "required": [...]}` of
    string / integer / number / boolean / enum properties with `minimum` / `maximum` /
    `maxLength`. Anything else is `bad_request`."""
    conditions: dict[str, Any] = Field(default_factory=dict)
    """`affinity_min` (0–100), `goal_completed` (a goal id), `world` (facts → values)."""
    limits: dict[str, Any] = Field(default_factory=dict)
    """`once_per_conversation`, `cooldown_turns`, `cooldown_s`."""


class ActionsRegisterArgs(WireModel):
    persona: PersonaId | None = None
    """Whose actions these are; omitted: every persona's."""
    actions: list[RegisteredAction] = Field(min_length=1, max_length=32)


class ActionsRegisterResult(OutModel):
    registered: list[str]


class ActionsListArgs(WireModel):
    persona: PersonaId


class ActionInfo(OutModel):
    name: str
    description: str
    arguments: dict[str, Any]
    conditions: dict[str, Any]
    limits: dict[str, Any]
    source: str
    """`file` (the persona file) or `runtime` (`actions.register`)."""


class ActionsListResult(OutModel):
    actions: list[ActionInfo]


class ActionResultArgs(WireModel):
    id: Id
    """The action's id, from `npc.action` or a reply's `actions`."""
    ok: bool
    """Whether the game carried it out."""
    detail: Annotated[str, Field(max_length=MAX_DETAIL)] | None = None
    """What happened, in words the NPC's next line is told as given ("the player paid five
    silver", "the door is locked")."""


class ActionResultResult(OutModel):
    accepted: bool


class ActionsPendingArgs(ConversationArgs):
    pass


class ActionsPendingResult(OutModel):
    actions: list[ActionOut]
    """Decided actions still without a result, oldest first."""


OPS.update(
    {
        "actions.register": OpSpec(
            ActionsRegisterArgs, ActionsRegisterResult, "Declare (or replace by name) actions NPCs may take."
        ),
        "actions.list": OpSpec(ActionsListArgs, ActionsListResult, "A persona's actions (file and run-time)."),
        "action.result": OpSpec(
            ActionResultArgs, ActionResultResult, "What the game did with a decided action (the first result stands)."
        ),
        "actions.pending": OpSpec(
            ActionsPendingArgs, ActionsPendingResult, "A conversation's decided actions still without a result."
        ),
    }
)

__all__ = [
    "ActionInfo",
    "ActionResultArgs",
    "ActionResultResult",
    "ActionsListArgs",
    "ActionsListResult",
    "ActionsPendingArgs",
    "ActionsPendingResult",
    "ActionsRegisterArgs",
    "ActionsRegisterResult",
    "RegisteredAction",
]
