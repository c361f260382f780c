"""The action ops' handlers (sidecar/protocol/actions.py), as functions over `Services`.

A run-time action is validated by the persona file's own model (`ActionDef`), so the game
and a modder get the same rules; its errors come back as `bad_request` naming the field
(`actions.0.arguments.properties.item.pattern`). A registration is all or nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sidecar.engine.pipeline.load import load_conversation
from sidecar.errors import ActionNotFound, BadRequest
from sidecar.personas.actions import ActionDef
from sidecar.protocol import actions as PA
from sidecar.protocol import ops as P
from sidecar.store.actions import ActionStore

if TYPE_CHECKING:
    from sidecar.server.dispatch import Services


def _definition(index: int, spec: PA.RegisteredAction) -> ActionDef:
    try:
        return ActionDef.model_validate(
            {
                "description": spec.description,
                "arguments": spec.arguments,
                "conditions": spec.conditions,
                "limits": spec.limits,
            }
        )
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(["actions", str(index), *(str(p) for p in e["loc"])]),
                "problem": e["msg"].removeprefix("Value error, "),
            }
            for e in exc.errors(include_url=False, include_input=False)
        ][:10]
        raise BadRequest(f"actions.register: action {spec.name!r} is invalid", details={"errors": errors}) from None


async def register(services: Services, args: PA.ActionsRegisterArgs) -> PA.ActionsRegisterResult:
    if args.persona is not None:
        services.personas.get(args.persona)  # persona_not_found before anything is registered
    names = [a.name for a in args.actions]
    if len(set(names)) != len(names):
        raise BadRequest("actions.register: an action name appears twice", details={"names": names})
    defs = {a.name: _definition(i, a) for i, a in enumerate(args.actions)}
    return PA.ActionsRegisterResult(registered=services.dialogue.actions.register(args.persona, defs))


def _info(name: str, action: ActionDef, source: str) -> PA.ActionInfo:
    dump: dict[str, Any] = action.model_dump(mode="json", exclude_defaults=True)
    return PA.ActionInfo(
        name=name,
        description=action.description,
        arguments=action.arguments.as_json_schema(),
        conditions=dump.get("conditions", {}),
        limits=dump.get("limits", {}),
        source=source,
    )


async def list_actions(services: Services, args: PA.ActionsListArgs) -> PA.ActionsListResult:
    persona = services.personas.get(args.persona)
    available = services.dialogue.actions.available(persona)
    return PA.ActionsListResult(
        actions=[
            _info(name, a, "file" if persona.actions.get(name) is a else "runtime") for name, a in available.items()
        ]
    )


async def result(services: Services, args: PA.ActionResultArgs) -> PA.ActionResultResult:
    row = await ActionStore(services.store).record_result(args.id, args.ok, args.detail)
    if row is None:
        raise ActionNotFound(f"no action {args.id!r}", details={"id": args.id})
    return PA.ActionResultResult(accepted=True)


async def pending(services: Services, args: PA.ActionsPendingArgs) -> PA.ActionsPendingResult:
    await load_conversation(services.store, args.conversation, allow_ended=True)  # conversation_not_found
    rows = await ActionStore(services.store).pending(args.conversation)
    return PA.ActionsPendingResult(actions=[P.ActionOut(id=r.id, name=r.name, args=dict(r.args)) for r in rows])


__all__ = ["list_actions", "pending", "register", "result"]
