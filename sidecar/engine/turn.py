"""The turn pipeline: from a player's line to a stored, answered turn.

`Dialogue` is the one place that sequences the units and the store:

    sentiment → tuning → generate (quality gate, bounded retry) → NPC sentiment → arc
    → affinity (turn delta + arc bonus + goal reward) → goal progress → options → persist

Each public method ends with exactly one store transaction, so a reply is only sent for a
turn that is durably stored, and a failure before that point changes nothing stored.
Events (`affinity_changed`, `goal_progressed`, `goal_completed`) go out after the commit
and before the reply. Generation is behind `LineSource`: the embedded engine here, the LLM
router (sidecar/llm) when a provider chain is configured.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sidecar.engine import arc as arcs
from sidecar.engine import goals as goal_rules
from sidecar.engine import options as option_rules
from sidecar.engine import quality as quality_rules
from sidecar.engine.affinity import AffinityChange, combine, likes_topic, turn_delta
from sidecar.engine.cancel import until_cancelled
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.personality import Tuning, tune
from sidecar.engine.sentiment import analyze
from sidecar.engine.state import ConversationState
from sidecar.engine.text import SEED_STEP
from sidecar.engine.types import PLAYER, Composed, Line, Option, Sentiment, TurnContext
from sidecar.errors import BadRequest, ConversationEnded, ConversationNotFound, GoalNotFound, PersonaNotFound
from sidecar.personas.model import Persona
from sidecar.store.db import (
    AffinityWrite,
    ConversationRow,
    GoalRow,
    GoalWrite,
    MessageRow,
    NewMessage,
    Store,
    TurnWrite,
)

log = logging.getLogger(__name__)

HISTORY_WINDOW = 24
"""Lines of context given to the engine each turn."""
ARC_WINDOW = 8
"""Recent player-line scores the arc is classified on."""
EMBEDDED = "embedded"

Emit = Callable[[str, Mapping[str, Any]], Awaitable[None]]
DeltaSink = Callable[[str], Awaitable[None]]


async def _no_emit(event: str, data: Mapping[str, Any]) -> None:
    return None


class PersonaRegistry:
    """The loaded personas; swapped whole on reload so a turn sees one consistent set."""

    def __init__(self, personas: Mapping[str, Persona]) -> None:
        self._personas = dict(personas)

    def replace(self, personas: Mapping[str, Persona]) -> None:
        self._personas = dict(personas)

    def get(self, persona_id: str) -> Persona:
        try:
            return self._personas[persona_id]
        except KeyError:
            raise PersonaNotFound(f"no persona {persona_id!r}", details={"persona": persona_id}) from None

    def all(self) -> list[Persona]:
        return sorted(self._personas.values(), key=lambda p: p.id)

    def __len__(self) -> int:
        return len(self._personas)


# --- generation seam ------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnInput:
    """What a line source needs to produce the NPC's next line."""

    ctx: TurnContext
    player_text: str
    sentiment: Sentiment
    tuning: Tuning
    composed: Composed
    """The embedded engine's composition for attempt 0 (its text is the offline answer)."""
    goal_hint: str | None = None
    other_names: tuple[str, ...] = ()
    conversation: str | None = None
    """For cost rows and per-conversation budgets of an LLM source."""


@dataclass(frozen=True)
class Generated:
    text: str
    provider: str
    composed: Composed
    """The embedded composition that goes with this line (memory, ending, topic)."""
    meta: Mapping[str, Any] = field(default_factory=dict)


class LineSource(Protocol):
    """Produces the NPC's line for one attempt. `attempt` 0 is the first try; a higher one is
    a quality-gate retry and should produce something different. `on_delta` (if given)
    receives the line's text as it is produced."""

    async def generate(self, turn: TurnInput, attempt: int, *, on_delta: DeltaSink | None, emit: Emit) -> Generated: ...

    async def options(self, turn: TurnInput, line: Generated, fallback: Sequence[Option]) -> list[Option]: ...


class EmbeddedSource:
    """The offline engine: no network, no key, deterministic per seed."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self.engine = engine

    async def generate(self, turn: TurnInput, attempt: int, *, on_delta: DeltaSink | None, emit: Emit) -> Generated:
        composed = turn.composed
        if attempt:
            ctx = replace(turn.ctx, seed=turn.ctx.seed + attempt * SEED_STEP)
            composed = self.engine.reply(ctx, turn.player_text, turn.sentiment)
        if on_delta is not None:
            for chunk in chunks(composed.text):
                await on_delta(chunk)
        return Generated(composed.text, EMBEDDED, composed)

    async def options(self, turn: TurnInput, line: Generated, fallback: Sequence[Option]) -> list[Option]:
        return list(fallback)


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Affinity:
    value: int
    delta: int
    reason: str


@dataclass(frozen=True)
class GoalState:
    id: str
    progress: float
    completed: bool
    reason: str
    description: str = ""


@dataclass(frozen=True)
class Started:
    conversation: str
    line: Line
    name: str
    options: list[Option]
    affinity: Affinity


@dataclass(frozen=True)
class Said:
    line: Line
    name: str
    options: list[Option]
    sentiment: Sentiment
    affinity: Affinity
    provider: str
    ended: bool
    arc: str = "stable"
    quality_score: int = 100
    quality_retries: int = 0
    goal: GoalState | None = None
    player_text: str = ""


@dataclass(frozen=True)
class GoalSet:
    goal: GoalState
    requirement_met: bool
    requirement: str


def _history(rows: Sequence[MessageRow]) -> tuple[Line, ...]:
    return tuple(Line(r.speaker, r.text) for r in rows)


def _goal_state(row: GoalRow) -> GoalState:
    return GoalState(row.goal_id, row.progress, row.completed, row.reason, str(row.definition.get("description", "")))


class Dialogue:
    def __init__(
        self,
        store: Store,
        personas: PersonaRegistry,
        engine: EmbeddedEngine | None = None,
        *,
        source: LineSource | None = None,
        gate: quality_rules.QualityGate | None = None,
    ) -> None:
        self.store = store
        self.personas = personas
        self.engine = engine or EmbeddedEngine()
        self.source: LineSource = source or EmbeddedSource(self.engine)
        self.gate = gate or quality_rules.QualityGate()

    # --- start / end ---------------------------------------------------------------------

    async def start(self, persona_id: str, player: str, seed: int | None = None) -> Started:
        persona = self.personas.get(persona_id)
        seed = secrets.randbits(31) if seed is None else seed
        affinity = await self.store.affinity(player, persona.id)
        ctx = TurnContext(persona=persona, player=player, affinity=affinity, seed=seed, turn=0)
        greeting = self.engine.greet(ctx)
        options = self.engine.options(ctx, greeting.text, None)
        cid = "c_" + secrets.token_hex(8)
        state = ConversationState(engine=greeting.memory, options=tuple(options))
        g = analyze(greeting.text)
        value = await self.store.start_conversation(
            conversation_id=cid,
            player_id=player,
            persona_id=persona.id,
            seed=seed,
            greeting=NewMessage(
                persona.id, persona.name, greeting.text, sentiment=g.label, compound=g.compound, provider=EMBEDDED
            ),
            memory=state.to_json(),
            initial_affinity=affinity,
        )
        return Started(cid, Line(persona.id, greeting.text), persona.name, options, Affinity(value, 0, "greeting"))

    async def _open(self, conversation_id: str, *, allow_ended: bool = False) -> tuple[ConversationRow, Persona]:
        conv = await self.store.conversation(conversation_id)
        if conv is None:
            raise ConversationNotFound(
                f"no conversation {conversation_id!r}", details={"conversation": conversation_id}
            )
        if conv.ended_at is not None and not allow_ended:
            raise ConversationEnded(
                f"conversation {conversation_id!r} has ended", details={"conversation": conversation_id}
            )
        return conv, self.personas.get(conv.persona_id)

    async def _context(self, conv: ConversationRow, persona: Persona) -> tuple[TurnContext, list[MessageRow]]:
        rows = await self.store.lines(conv.id, HISTORY_WINDOW)
        affinity = await self.store.affinity(conv.player_id, persona.id)
        ctx = TurnContext(
            persona=persona,
            player=conv.player_id,
            affinity=affinity,
            seed=conv.seed,
            turn=conv.turns + 1,
            history=_history(rows),
            state=ConversationState.from_json(conv.memory),
        )
        return ctx, rows

    async def end(self, conversation_id: str) -> tuple[Line, str]:
        conv, persona = await self._open(conversation_id)
        ctx, _ = await self._context(conv, persona)
        farewell = self.engine.farewell(ctx)
        await self.store.commit_turn(
            TurnWrite(
                conversation_id=conversation_id,
                messages=(NewMessage(persona.id, persona.name, farewell.text, provider=EMBEDDED),),
                memory=replace(ctx.state, engine=farewell.memory).to_json(),
                ended=True,
            )
        )
        return Line(persona.id, farewell.text), persona.name

    async def history(self, conversation_id: str, limit: int | None) -> list[MessageRow]:
        if await self.store.conversation(conversation_id) is None:
            raise ConversationNotFound(
                f"no conversation {conversation_id!r}", details={"conversation": conversation_id}
            )
        return await self.store.lines(conversation_id, limit)

    # --- a turn --------------------------------------------------------------------------

    async def choose(self, conversation_id: str, index: int, *, stream: bool = False, emit: Emit = _no_emit) -> Said:
        """Say the option the game showed as `index` (0-based) as the player's line."""
        conv, _ = await self._open(conversation_id)
        shown = ConversationState.from_json(conv.memory).options
        if not 0 <= index < len(shown):
            raise BadRequest(
                f"no option {index}: the last line offered {len(shown)}",
                details={"option": index},
            )
        return await self.say(conversation_id, shown[index].text, stream=stream, emit=emit)

    async def say(self, conversation_id: str, text: str, *, stream: bool = False, emit: Emit = _no_emit) -> Said:
        state = await self.store.turn_state(conversation_id, HISTORY_WINDOW)
        if state is None:
            raise ConversationNotFound(
                f"no conversation {conversation_id!r}", details={"conversation": conversation_id}
            )
        conv, rows, goal_row = state.conversation, state.lines, state.goal
        if conv.ended_at is not None:
            raise ConversationEnded(
                f"conversation {conversation_id!r} has ended", details={"conversation": conversation_id}
            )
        persona = self.personas.get(conv.persona_id)
        ctx = TurnContext(
            persona=persona,
            player=conv.player_id,
            affinity=state.affinity,
            seed=conv.seed,
            turn=conv.turns + 1,
            history=_history(rows),
            state=ConversationState.from_json(conv.memory),
        )
        sentiment = analyze(text)
        tuning = tune(persona, ctx.affinity)
        others = self._other_names(persona)
        goal = goal_rules.from_dict(goal_row.definition) if goal_row else None
        composed = self.engine.reply(ctx, text, sentiment)
        turn = TurnInput(
            ctx=ctx,
            player_text=text,
            sentiment=sentiment,
            tuning=tuning,
            composed=composed,
            goal_hint=goal_rules.npc_hint(goal, persona) if goal else None,
            other_names=others,
            conversation=conversation_id,
        )

        # Generate through the quality gate. Streamed text of a rejected attempt is reset.
        generated: dict[int, Generated] = {}
        streamed = False

        async def on_delta(chunk: str) -> None:
            nonlocal streamed
            streamed = True
            await emit("line.delta", {"text": chunk})

        async def attempt(n: int) -> str:
            nonlocal streamed
            if n and streamed:
                await emit("line.reset", {"reason": "quality", "attempt": n})
                streamed = False
            g = await self.source.generate(turn, n, on_delta=on_delta if stream else None, emit=emit)
            generated[n] = g
            return g.text

        history = ctx.history + (Line(PLAYER, text),)

        def score(line: str) -> quality_rules.Quality:
            return quality_rules.score(
                line,
                persona=persona,
                history=history,
                preset_max_tokens=tuning.max_tokens,
                player_name=conv.player_id,
                other_names=others,
            )

        gate = await until_cancelled(self.gate.run(attempt, score))
        best = next(g for g in generated.values() if g.text == gate.best_text)
        if stream and gate.best_text != generated[max(generated)].text:
            # The kept line is not the one streamed last: show the kept one.
            await emit("line.reset", {"reason": "quality", "attempt": max(generated)})
            for chunk in chunks(best.text):
                await emit("line.delta", {"text": chunk})
        line_text, used = best.text, best.composed
        npc_sentiment = analyze(line_text)

        # Emotional arc over the player's recent lines: how the player treats this NPC. NPC
        # lines are left out on purpose: NPCs (embedded and LLM alike) tend to answer an
        # insult kindly, which would make every insult look like a "reconciliation".
        scores = [r.compound for r in rows if r.speaker == PLAYER and r.compound is not None]
        step = arcs.step(ctx.state.arc_episode, [*scores[-(ARC_WINDOW - 1) :], sentiment.compound])

        # Affinity: the per-turn delta, the arc's once-per-episode bonus, then the goal.
        changes = [turn_delta(sentiment, topic_liked=likes_topic(persona, used.topic))]
        if step.bonus:
            changes.append(AffinityChange(step.bonus, f"{step.arc.value} arc"))
        provisional = max(0, min(100, ctx.affinity + sum(c.delta for c in changes)))
        goal_write, goal_state, goal_events = None, None, []
        if goal_row is not None and goal is not None:
            since = [r for r in rows if r.seq >= goal_row.set_at_seq]
            npc_lines = [r.text for r in since if r.speaker != PLAYER] + [line_text]
            npc_scores = [
                (r.compound if r.compound is not None else analyze(r.text).compound)
                for r in since
                if r.speaker != PLAYER
            ] + [npc_sentiment.compound]
            player_lines = [r.text for r in since if r.speaker == PLAYER] + [text]
            check = goal_rules.check(
                goal,
                npc_lines=npc_lines,
                player_lines=player_lines,
                sentiments=npc_scores,
                affinity=provisional,
                persona=persona,
                previous_progress=goal_row.progress,
            )
            judge = getattr(self.source, "judge", None)  # an LLM source's goal judge (routed.py)
            if judge is not None:
                lines = [Line(r.speaker, r.text) for r in since] + [Line(PLAYER, text), Line(persona.id, line_text)]
                found = await judge(turn, best, goal, lines)
                if found is not None:
                    check = goal_rules.settle(goal, found, affinity=provisional, previous_progress=goal_row.progress)
            bonus = goal_rules.reward(goal, check, rewarded=goal_row.rewarded)
            due = goal_rules.reward_due(check, rewarded=goal_row.rewarded)
            if bonus:
                changes.append(AffinityChange(bonus, f"goal {goal.id} completed"))
            goal_write = GoalWrite(check.progress, check.completed, goal_row.rewarded or due, check.reason)
            goal_state = GoalState(goal.id, check.progress, check.completed, check.reason, goal.description)
            if check.progress > goal_row.progress:
                goal_events.append(
                    ("goal_progressed", {"id": goal.id, "progress": round(check.progress, 3), "reason": check.reason})
                )
            if due:
                goal_events.append(("goal_completed", {"id": goal.id, "reward": bonus, "reason": check.reason}))
        change = combine(changes)

        # Options: the embedded composition is the fallback; an LLM source may do better.
        fallback = [] if used.ending else self.engine.options(ctx, line_text, text)
        options = (
            []
            if used.ending
            else option_rules.finalize(
                await self.source.options(turn, best, fallback), last_player_line=text, fallback=fallback
            )
        )
        state_after = replace(
            ctx.state, engine=used.memory, arc_episode=step.episode, options=tuple(options), options_round=0
        )
        rules = json.dumps([[h.name, h.points] for h in gate.best_quality.rules])
        result = await self.store.commit_turn(
            TurnWrite(
                conversation_id=conversation_id,
                messages=(
                    NewMessage(PLAYER, conv.player_id, text, sentiment=sentiment.label, compound=sentiment.compound),
                    NewMessage(
                        persona.id,
                        persona.name,
                        line_text,
                        sentiment=npc_sentiment.label,
                        compound=npc_sentiment.compound,
                        provider=best.provider,
                        quality=gate.best_quality.score,
                        retries=gate.retries,
                        quality_rules=rules,
                        arc=step.arc.value,
                    ),
                ),
                memory=state_after.to_json(),
                affinity=AffinityWrite(change.delta, change.reason),
                ended=used.ending,
                goal=goal_write,
            )
        )
        if result.delta:
            await emit(
                "affinity_changed",
                {"old": result.old, "new": result.new, "delta": result.delta, "reason": change.reason},
            )
        for name, data in goal_events:
            await emit(name, data)
        if gate.retries:
            log.info(
                "quality retry",
                extra={"conversation": conversation_id, "retries": gate.retries, "score": gate.best_quality.score},
            )
        return Said(
            line=Line(persona.id, line_text),
            name=persona.name,
            options=options,
            sentiment=sentiment,
            affinity=Affinity(result.new, result.delta, change.reason),
            provider=best.provider,
            ended=used.ending,
            arc=step.arc.value,
            quality_score=gate.best_quality.score,
            quality_retries=gate.retries,
            goal=goal_state,
            player_text=text,
        )

    def _other_names(self, persona: Persona) -> tuple[str, ...]:
        """Names of every other NPC (the quality gate flags lines spoken under them)."""
        return tuple(n for p in self.personas.all() if p.id != persona.id for n in p.names)

    # --- options ---------------------------------------------------------------------------

    async def regenerate_options(self, conversation_id: str) -> list[Option]:
        """New answer options for the NPC's last line (a different composition each call)."""
        conv, persona = await self._open(conversation_id)
        ctx, rows = await self._context(conv, persona)
        npc = next((r for r in reversed(rows) if r.speaker != PLAYER), None)
        player = next((r.text for r in reversed(rows) if r.speaker == PLAYER), None)
        if npc is None:
            raise BadRequest("the NPC has not said anything yet")
        rounds = ctx.state.options_round + 1
        shown = {option_rules.key(o.text) for o in ctx.state.options}
        fresh: list[Option] = []
        for k in range(rounds, rounds + 4):  # a few seeds until something new comes up
            round_ctx = replace(ctx, seed=ctx.seed + k * SEED_STEP)
            fresh = self.engine.options(round_ctx, npc.text, player)
            if {option_rules.key(o.text) for o in fresh} != shown:
                break
        if npc.provider not in (None, EMBEDDED):
            # A provider wrote the line: ask it (the embedded options are the fallback).
            said = player or ""
            turn = TurnInput(
                ctx=ctx,
                player_text=said,
                sentiment=analyze(said),
                tuning=tune(persona, ctx.affinity),
                composed=Composed(npc.text, ctx.state.engine),
                other_names=self._other_names(persona),
                conversation=conversation_id,
            )
            line = Generated(npc.text, npc.provider or EMBEDDED, turn.composed, meta={"kind": "remote"})
            candidates = await self.source.options(turn, line, fresh)
            fresh = option_rules.finalize(candidates, last_player_line=player, fallback=fresh)
        state = replace(ctx.state, options=tuple(fresh), options_round=rounds)
        await self.store.set_memory(conversation_id, state.to_json())
        return fresh

    # --- goals -----------------------------------------------------------------------------

    async def set_goal(self, conversation_id: str, spec: str | Mapping[str, Any]) -> GoalSet:
        conv, persona = await self._open(conversation_id)
        goal = goal_rules.resolve(spec, persona)
        affinity = await self.store.affinity(conv.player_id, persona.id)
        met, why = goal_rules.requirement_met(goal, affinity)
        row = await self.store.set_goal(conversation_id, goal.id, goal.as_dict())
        return GoalSet(_goal_state(row), met, why)

    async def goal_status(self, conversation_id: str) -> GoalState | None:
        await self._open(conversation_id, allow_ended=True)
        row = await self.store.goal(conversation_id)
        return _goal_state(row) if row else None

    async def clear_goal(self, conversation_id: str) -> None:
        await self._open(conversation_id, allow_ended=True)
        if not await self.store.clear_goal(conversation_id):
            raise GoalNotFound("this conversation has no goal", details={"conversation": conversation_id})


def chunks(text: str, words: int = 3) -> list[str]:
    """Split a finished line into word groups, so the embedded engine streams like an LLM."""
    parts = text.split(" ")
    return [
        " ".join(parts[i : i + words]) + (" " if i + words < len(parts) else "") for i in range(0, len(parts), words)
    ]


__all__ = [
    "EMBEDDED",
    "Affinity",
    "Dialogue",
    "EmbeddedSource",
    "Emit",
    "Generated",
    "GoalSet",
    "GoalState",
    "LineSource",
    "PersonaRegistry",
    "Said",
    "Started",
    "TurnInput",
    "chunks",
]
