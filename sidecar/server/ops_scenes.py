"""Op handlers of multi-NPC scenes (issue 14 §1): functions over `Services`, registered in
`Dispatcher._handlers`. A newer `scene.say` cancelling a running one is the dispatcher's
(it happens on arrival, before the request is queued behind the running exchange)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from sidecar.engine.scene.director import SceneLine, SceneSettings
from sidecar.engine.turn import Affinity
from sidecar.protocol import ops as P
from sidecar.protocol import scenes as S
from sidecar.server.ops_history import history_result
from sidecar.store import history

if TYPE_CHECKING:
    from sidecar.server.dispatch import Services

Emit = Callable[[str, Mapping[str, Any]], Awaitable[None]]


def _line(line: SceneLine) -> S.SceneLineOut:
    return S.SceneLineOut.model_validate(line.wire())


def _affinity(values: Mapping[str, Affinity]) -> dict[str, P.AffinityOut]:
    return {p: P.AffinityOut(value=a.value, delta=a.delta, reason=a.reason) for p, a in values.items()}


async def scene_start(services: Services, args: S.SceneStartArgs) -> S.SceneStartResult:
    started = await services.scenes.start(
        args.personas,
        args.player,
        seed=args.seed,
        player_name=args.player_name,
        settings=SceneSettings(args.strategy, args.max_lines, args.max_tokens, args.talkativeness, args.max_usd),
    )
    return S.SceneStartResult(
        scene=started.scene,
        lines=[_line(x) for x in started.lines],
        options=[P.OptionOut(text=o.text, intent=o.intent) for o in started.options],
        affinity=_affinity(started.affinity),
    )


async def scene_join(services: Services, args: S.SceneJoinArgs) -> S.SceneMembersResult:
    return S.SceneMembersResult(scene=args.scene, present=list(await services.scenes.join(args.scene, args.persona)))


async def scene_leave(services: Services, args: S.SceneJoinArgs) -> S.SceneMembersResult:
    return S.SceneMembersResult(scene=args.scene, present=list(await services.scenes.leave(args.scene, args.persona)))


async def scene_say(services: Services, args: S.SceneSayArgs, emit: Emit) -> S.SceneSayResult:
    said = await services.scenes.say(args.scene, args.text, stream=args.stream, emit=emit, speaker=args.speaker)
    return S.SceneSayResult(
        lines=[_line(x) for x in said.lines],
        options=[P.OptionOut(text=o.text, intent=o.intent) for o in said.options],
        affinity=_affinity(said.affinity),
        ended=said.ended,
        interrupted=said.interrupted,
    )


async def scene_end(services: Services, args: S.SceneArgs) -> S.SceneEndResult:
    return S.SceneEndResult(lines=[_line(x) for x in await services.scenes.end(args.scene)])


async def scene_history(services: Services, args: S.SceneHistoryArgs) -> P.HistoryResult:
    await services.scenes.history_exists(args.scene)
    rows = await services.store.run(history.lines, args.scene, limit=args.limit, before=args.before)
    return history_result(rows)


__all__ = ["scene_end", "scene_history", "scene_join", "scene_leave", "scene_say", "scene_start"]
