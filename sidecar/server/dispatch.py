"""Envelope handling and dispatch: bytes in, one reply frame out, every error typed.

This is the only place that builds error frames. A ParleyError becomes its own code; a
validation error becomes `bad_request` (or `too_large` for an over-long field); anything
else becomes `internal`, with the traceback in the log and never on the wire.

The dispatcher builds nothing: sidecar/wiring.py hands it the services (the conversation
service and what `server.info` / `stats.costs` read) and the function that sends a frame.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from sidecar import __version__
from sidecar.engine.cancel import CANCEL, CancelToken
from sidecar.engine.emotion import Feeling
from sidecar.engine.goals import GoalDef
from sidecar.engine.scene.director import SceneDirector
from sidecar.engine.turn import Dialogue, GoalState, PersonaRegistry, Said
from sidecar.engine.types import Line
from sidecar.errors import BadRequest, Busy, Cancelled, ParleyError, TooLarge, UnknownOp
from sidecar.protocol import ops as P
from sidecar.protocol import scenes as S
from sidecar.protocol.codec import FrameError, UnsupportedValue, pack, request_id, unpack
from sidecar.protocol.codes import PROTOCOL_VERSION, ErrorCode
from sidecar.server import ops_actions, ops_history, ops_memory, ops_saves, ops_scenes
from sidecar.server.ordering import KeyedSerializer
from sidecar.store.db import Store
from sidecar.store.saves import Activity

if TYPE_CHECKING:
    from sidecar.llm.costs import CostBucket
    from sidecar.llm.router import Router
    from sidecar.store.costs import SqliteCostLedger

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 1024
"""Queued + running requests beyond this get `busy` at once instead of queueing."""
DRAIN_S = 5.0

Emit = Callable[[str, Mapping[str, Any]], Awaitable[None]]
Handler = Callable[[Any, Emit], Awaitable[P.OutModel]]
Send = Callable[[Sequence[bytes], bytes], Awaitable[None]]
"""Sends one reply or event frame (already packed) to the peer named by the identity frames."""
Key = tuple[bytes | int, ...]
"""A request in flight: the peer's identity frames, then the request id."""


@dataclass(frozen=True)
class Services:
    """What the ops answer from, built once by sidecar/wiring.py."""

    dialogue: Dialogue
    """The conversation service: every conversation, goal and options op."""
    store: Store
    personas: PersonaRegistry
    persona_problems: int
    router: Router | None
    """The LLM provider chain (None: the embedded engine alone answers)."""
    ledger: Callable[[], SqliteCostLedger]
    """The cost ledger over the store (made on first use: a sidecar without a provider
    config does not load the LLM package at start-up)."""
    scenes: SceneDirector
    """Every scene op (multi-NPC scenes over the conversation service's steps)."""
    activity: Activity = field(default_factory=Activity)
    """Requests in flight (a save slot loads only when no other one is)."""


@dataclass
class InFlight:
    """One request between its arrival and its reply: its cancel token and where it is."""

    token: CancelToken = field(default_factory=CancelToken)
    state: Literal["queued", "running"] = "queued"


class Dispatcher:
    def __init__(self, services: Services, send: Send, *, started: float) -> None:
        """`started`: the monotonic time the process started (`server.info`'s uptime)."""
        self.services = services
        self._send_frame = send
        self.started = started
        self.requests = 0
        self.errors = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._order = KeyedSerializer(self._tasks)
        self._flight: dict[Key, InFlight] = {}
        self._scene_says: dict[str, InFlight] = {}
        """The newest `scene.say` of each scene (queued, running or just done)."""
        self._handlers: dict[str, Handler] = {
            "server.info": self._server_info,
            "persona.list": self._persona_list,
            "conversation.start": self._start,
            "conversation.say": self._say,
            "conversation.end": self._end,
            "conversation.history": self._over(ops_history.conversation_history),
            "conversation.list": self._over(ops_history.conversation_list),
            "history.search": self._over(ops_history.history_search),
            "archive.run": self._over(ops_history.archive_run),
            "archive.restore": self._over(ops_history.archive_restore),
            "save.create": self._over(ops_saves.save_create),
            "save.load": self._over(ops_saves.save_load),
            "save.list": self._over(ops_saves.save_list),
            "save.delete": self._over(ops_saves.save_delete),
            "world.set": self._over(ops_saves.world_set),
            "world.get": self._over(ops_saves.world_get),
            "world.clear": self._over(ops_saves.world_clear),
            "conversation.choose": self._choose,
            "request.cancel": self._cancel_op,
            "options.generate": self._options,
            "goal.set": self._goal_set,
            "goal.status": self._goal_status,
            "goal.clear": self._goal_clear,
            "stats.costs": self._stats_costs,
            "actions.register": self._over(ops_actions.register),
            "actions.list": self._over(ops_actions.list_actions),
            "action.result": self._over(ops_actions.result),
            "actions.pending": self._over(ops_actions.pending),
            "memory.list": self._over(ops_memory.memory_list),
            "memory.add": self._over(ops_memory.memory_add),
            "memory.forget": self._over(ops_memory.memory_forget),
            "scene.start": self._over(ops_scenes.scene_start),
            "scene.join": self._over(ops_scenes.scene_join),
            "scene.leave": self._over(ops_scenes.scene_leave),
            "scene.say": self._scene_say,
            "scene.end": self._over(ops_scenes.scene_end),
            "scene.history": self._over(ops_scenes.scene_history),
        }
        missing = set(P.OPS) ^ set(self._handlers)
        assert not missing, f"ops without handler or spec: {missing}"

    def _over(self, fn: Callable[[Services, Any], Awaitable[P.OutModel]]) -> Handler:
        """A handler from a function over the services (sidecar/server/ops_<topic>.py)."""

        async def handle(args: Any, emit: Emit) -> P.OutModel:
            return await fn(self.services, args)

        return handle

    @property
    def dialogue(self) -> Dialogue:
        return self.services.dialogue

    # --- frames ------------------------------------------------------------------------------

    def handle(self, frames: list[bytes]) -> None:
        """Called by the receive loop for each message; never raises, never awaits."""
        if len(frames) < 2:
            log.warning("dropped a message without an identity frame")
            return
        prefix, payload = frames[:-1], frames[-1]
        try:
            raw = unpack(payload)
        except FrameError as exc:
            log.warning("dropped an unreadable frame", extra={"bytes": len(payload), "why": str(exc)})
            return
        except UnsupportedValue as exc:  # readable, so it is answered (PROTOCOL.md §3)
            self.requests += 1
            self._reply_error(prefix, exc.request_id, BadRequest(exc.message, details=exc.details))
            return
        self.requests += 1
        req_id = request_id(raw)
        try:
            env = P.Envelope.model_validate(raw)
        except ValidationError as exc:
            self._reply_error(
                prefix,
                req_id,
                BadRequest(
                    "a request is a map {id: int >= 0, op: str, args: map}",
                    details={"errors": _errors(exc)},
                ),
            )
            return
        spec = P.OPS.get(env.op)
        handler = self._handlers.get(env.op)
        if spec is None or handler is None:
            self._reply_error(
                prefix, req_id, UnknownOp(f"unknown op {env.op!r}", details={"op": env.op, "known": sorted(P.OPS)})
            )
            return
        try:
            args = spec.args.model_validate(env.args)
        except ValidationError as exc:
            self._reply_error(prefix, req_id, _validation_error(env.op, exc))
            return
        if len(self._tasks) + self._order.pending() >= MAX_IN_FLIGHT:
            self._reply_error(prefix, req_id, Busy("too many requests in flight; retry later"))
            return
        if isinstance(args, P.CancelArgs):
            self._cancel(prefix, req_id, args.id)
            return
        record = InFlight()
        self._flight[(*prefix, req_id)] = record
        if isinstance(args, S.SceneSayArgs):
            self._interrupt(args.scene, record)
        self._order.submit(
            args.conversation_key(), functools.partial(self._execute, prefix, req_id, env.op, handler, args, record)
        )

    def _interrupt(self, scene: str, newer: InFlight) -> None:
        """A new player line to a scene cancels the rest of the exchange the scene is running
        (and an older line still queued): set on arrival, since the new line itself waits in
        the scene's queue behind the running one."""
        older = self._scene_says.get(scene)
        if older is not None:
            older.token.set()
        self._scene_says[scene] = newer

    def _cancel(self, prefix: list[bytes], req_id: int, target: int) -> None:
        """`request.cancel`: answered at once, outside any conversation's queue."""
        record = self._flight.get((*prefix, target))
        if record is None:
            result = P.CancelResult(cancelled=False, state="unknown")
        else:
            record.token.set()
            result = P.CancelResult(cancelled=True, state=record.state)
        task = asyncio.ensure_future(
            self._send(prefix, {"id": req_id, "ok": True, "result": result.model_dump(mode="json")})
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(
        self, prefix: list[bytes], req_id: int, op: str, handler: Handler, args: Any, record: InFlight
    ) -> None:
        async def emit(event: str, data: Mapping[str, Any]) -> None:
            await self._send(prefix, {"id": req_id, "event": event, "data": dict(data)})

        record.state = "running"
        token = record.token
        reset = CANCEL.set(token)
        try:
            if token.is_set():
                raise Cancelled("the game cancelled this request before it started")
            with self.services.activity.request():
                result = await handler(args, emit)
        except ParleyError as exc:
            await self._send_error(prefix, req_id, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("internal error", extra={"op": op, "req_id": req_id})
            self.errors += 1
            await self._send(
                prefix,
                {
                    "id": req_id,
                    "ok": False,
                    "error": {"code": ErrorCode.INTERNAL.value, "message": "internal error (see the sidecar log)"},
                },
            )
            return
        finally:
            CANCEL.reset(reset)
            self._flight.pop((*prefix, req_id), None)
            if isinstance(args, S.SceneSayArgs) and self._scene_says.get(args.scene) is record:
                del self._scene_says[args.scene]
        await self._send(prefix, {"id": req_id, "ok": True, "result": result.model_dump(mode="json")})

    def _reply_error(self, prefix: list[bytes], req_id: int, exc: ParleyError) -> None:
        task = asyncio.ensure_future(self._send_error(prefix, req_id, exc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_error(self, prefix: list[bytes], req_id: int, exc: ParleyError) -> None:
        self.errors += 1
        log.info("request failed", extra={"req_id": req_id, "code": exc.code.value})
        error: dict[str, Any] = {"code": exc.code.value, "message": exc.message}
        if exc.details:
            error["details"] = exc.details
        await self._send(prefix, {"id": req_id, "ok": False, "error": error})

    async def _send(self, prefix: list[bytes], obj: dict[str, Any]) -> None:
        await self._send_frame(prefix, pack(obj))

    async def drain(self) -> None:
        """Let in-flight requests finish (bounded), so an acknowledged turn is complete."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_S)
            for task in pending:
                task.cancel()

    # --- ops ---------------------------------------------------------------------------------

    async def _server_info(self, args: P.Empty, emit: Emit) -> P.ServerInfoResult:
        counts = await self.services.store.counts()
        return P.ServerInfoResult(
            version=__version__,
            protocol=PROTOCOL_VERSION,
            uptime=round(time.monotonic() - self.started, 3),
            pid=os.getpid(),
            counts=P.ServerCounts(
                personas=len(self.services.personas),
                persona_problems=self.services.persona_problems,
                players=counts["players"],
                conversations=counts["conversations"],
                messages=counts["messages"],
                requests=self.requests,
                errors=self.errors,
                quality_retries=counts["quality_retries"],
                quality_scored=counts["quality_scored"],
                quality_retried_lines=counts["quality_retried_lines"],
            ),
            ops=sorted(P.OPS),
            providers=self._providers(),
        )

    def _providers(self) -> list[P.ProviderOut]:
        router = self.services.router
        if router is None:
            return [P.ProviderOut(name="embedded", kind="embedded", model="embedded", state="embedded")]
        return [
            P.ProviderOut(name=s.name, kind=s.kind, model=s.model, state=s.state, reason=s.reason)
            for s in router.states()
        ]

    async def _stats_costs(self, args: P.StatsCostsArgs, emit: Emit) -> P.StatsCostsResult:
        report = await self.services.ledger().report(since=args.since)

        def out(buckets: Mapping[str, CostBucket]) -> dict[str, P.CostBucketOut]:
            return {k: P.CostBucketOut(**v.to_wire()) for k, v in sorted(buckets.items())}

        return P.StatsCostsResult(
            total_usd=round(report.total_usd, 6),
            calls=report.calls,
            by_provider=out(report.by_provider),
            by_day=out(report.by_day),
            by_persona=out(report.by_persona),
            estimated_calls=report.estimated_calls,
            since=args.since,
        )

    async def _persona_list(self, args: P.Empty, emit: Emit) -> P.PersonaListResult:
        from sidecar.engine.personality import infer_preset

        return P.PersonaListResult(
            personas=[
                P.PersonaSummary(
                    id=p.id,
                    name=p.name,
                    aliases=list(p.aliases),
                    role=p.role,
                    preset=infer_preset(p),
                )
                for p in self.services.personas.all()
            ]
        )

    async def _start(self, args: P.StartArgs, emit: Emit) -> P.StartResult:
        s = await self.dialogue.start(args.persona, args.player, args.seed, player_name=args.player_name)
        return P.StartResult(
            conversation=s.conversation,
            line=_npc_line(s.line, s.name, s.feeling),
            options=[P.OptionOut(text=o.text, intent=o.intent) for o in s.options],
            affinity=P.AffinityOut(value=s.affinity.value, delta=s.affinity.delta, reason=s.affinity.reason),
        )

    async def _say(self, args: P.SayArgs, emit: Emit) -> P.SayResult:
        return _said(
            await self.dialogue.say(
                args.conversation, args.text, stream=args.stream, emit=emit, witnesses=tuple(args.witnesses)
            )
        )

    async def _scene_say(self, args: S.SceneSayArgs, emit: Emit) -> S.SceneSayResult:
        return await ops_scenes.scene_say(self.services, args, emit)

    async def _cancel_op(self, args: P.CancelArgs, emit: Emit) -> P.CancelResult:
        raise AssertionError("request.cancel is answered in handle(), never queued")

    async def _choose(self, args: P.ChooseArgs, emit: Emit) -> P.SayResult:
        return _said(
            await self.dialogue.choose(
                args.conversation, args.option, stream=args.stream, emit=emit, witnesses=tuple(args.witnesses)
            )
        )

    async def _options(self, args: P.OptionsArgs, emit: Emit) -> P.OptionsResult:
        options = await self.dialogue.regenerate_options(args.conversation)
        return P.OptionsResult(options=[P.OptionOut(text=o.text, intent=o.intent) for o in options])

    async def _goal_set(self, args: P.GoalSetArgs, emit: Emit) -> P.GoalSetResult:
        spec = args.goal if isinstance(args.goal, str) else custom_goal(args.goal)
        result = await self.dialogue.set_goal(args.conversation, spec)
        return P.GoalSetResult(
            goal=_goal(result.goal), requirement_met=result.requirement_met, requirement=result.requirement
        )

    async def _goal_status(self, args: P.GoalStatusArgs, emit: Emit) -> P.GoalStatusResult:
        state = await self.dialogue.goal_status(args.conversation)
        return P.GoalStatusResult(goal=_goal(state) if state else None)

    async def _goal_clear(self, args: P.GoalStatusArgs, emit: Emit) -> P.GoalClearResult:
        await self.dialogue.clear_goal(args.conversation)
        return P.GoalClearResult(cleared=True)

    async def _end(self, args: P.EndArgs, emit: Emit) -> P.EndResult:
        line, name, feel = await self.dialogue.end(args.conversation)
        return P.EndResult(line=_npc_line(line, name, feel))


def _npc_line(line: Line, name: str, feel: Feeling) -> P.NpcLine:
    return P.NpcLine(speaker=line.speaker, name=name, text=line.text, emotion=feel.emotion, intensity=feel.intensity)


def custom_goal(goal: P.CustomGoal) -> GoalDef:
    """The game's goal, already validated by its wire model, as the engine's type."""
    return GoalDef(
        id=goal.id,
        description=goal.description,
        success_criteria=goal.success_criteria or goal.description,
        affinity_requirement=goal.affinity_requirement,
        affinity_bonus=goal.affinity_bonus,
        success_keywords=tuple(goal.success_keywords),
    )


def _goal(state: GoalState) -> P.GoalDetail:
    return P.GoalDetail(
        id=state.id,
        description=state.description,
        progress=round(state.progress, 3),
        completed=state.completed,
        reason=state.reason,
    )


def _said(s: Said) -> P.SayResult:
    return P.SayResult(
        line=_npc_line(s.line, s.name, s.feeling),
        options=[P.OptionOut(text=o.text, intent=o.intent) for o in s.options],
        sentiment=s.sentiment.label,
        arc=s.arc,
        affinity=P.AffinityOut(value=s.affinity.value, delta=s.affinity.delta, reason=s.affinity.reason),
        goal=(
            P.GoalOut(
                id=s.goal.id, progress=round(s.goal.progress, 3), completed=s.goal.completed, reason=s.goal.reason
            )
            if s.goal
            else None
        ),
        quality=P.QualityOut(score=s.quality_score, retries=s.quality_retries),
        provider=s.provider,
        ended=s.ended,
        player_text=s.player_text,
        actions=[P.ActionOut(id=a.id, name=a.name, args=dict(a.args)) for a in s.actions],
    )


MAX_FIELD_CHARS = 128
"""A field path echoed in an error is cut to this: an extra key is the peer's own text, and a
100 KB key name must not come back as a 100 KB error."""


def _field(loc: Sequence[int | str]) -> str:
    path = ".".join(str(p) for p in loc) or "(root)"
    return path if len(path) <= MAX_FIELD_CHARS else path[: MAX_FIELD_CHARS - 1] + "\u2026"


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": _field(e["loc"]), "problem": e["msg"]} for e in exc.errors(include_url=False, include_input=False)
    ][:10]


def _validation_error(op: str, exc: ValidationError) -> ParleyError:
    errors = exc.errors(include_url=False, include_input=False)
    too_long = [e for e in errors if e["type"] in ("string_too_long", "too_long")]
    if too_long:
        field = _field(too_long[0]["loc"])
        limit = (too_long[0].get("ctx") or {}).get("max_length")
        return TooLarge(
            f"{op}: {field} is longer than {limit}",
            details={"field": field, "limit": limit},
        )
    return BadRequest(f"{op}: invalid args", details={"errors": _errors(exc)})


__all__ = ["MAX_IN_FLIGHT", "Dispatcher", "InFlight", "Send", "Services", "custom_goal"]
