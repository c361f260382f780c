"""The turn pipeline's sequencer: `Dialogue` runs the named steps of sidecar/engine/pipeline/
over one draft per speaker, and is the one place that orders them:

    load → read → recall → context → generate → act → settle → offer → remember → overhear → persist → announce

`say` and `choose` run the whole sequence; `start` (the greeting) and `end` (the farewell)
compose with the embedded engine, then offer and persist; `regenerate_options` is `offer`
and `persist` on the stored line. Each public method ends with exactly one store
transaction, so a reply is only sent for a turn that is durably stored, and a failure before
that point changes nothing stored. Events go out after the commit and before the reply.
Generation is behind `LineSource` (sidecar/engine/source.py).

Long-term memory joins at `Recall` (what the NPC remembers of this player goes to the line
source, and to the greeting of a new meeting) and `Remember` (what the turn leaves, stored
with it); what bystanders the game named take away, and what NPCs who meet gossip, at
`Overhear`. NPC actions are `Act`: its `prepare` runs before `generate`, the decision after
the gate kept the line; a scene
(several NPCs answering one player line) runs read → … → settle once per speaker over the
same stored conversation, since the speaker is a parameter of `read_line`, not an assumption.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sidecar.engine import goals as goal_rules
from sidecar.engine import options as option_rules
from sidecar.engine import quality as quality_rules
from sidecar.engine.actions import ActionRegistry, WorldFacts
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.emotion import NEUTRAL, Feeling
from sidecar.engine.personality import tune
from sidecar.engine.pipeline.actions import Act
from sidecar.engine.pipeline.announce import announce
from sidecar.engine.pipeline.context import Context
from sidecar.engine.pipeline.draft import Action, Draft, GoalState
from sidecar.engine.pipeline.generate import Generate
from sidecar.engine.pipeline.load import HISTORY_WINDOW, load_conversation, load_turn
from sidecar.engine.pipeline.offer import Offer
from sidecar.engine.pipeline.overhear import Meeting, Overhear
from sidecar.engine.pipeline.persist import offered, persist_farewell, persist_greeting, persist_options, persist_turn
from sidecar.engine.pipeline.read import context, other_names, read_line
from sidecar.engine.pipeline.recall import Recall
from sidecar.engine.pipeline.remember import Remember
from sidecar.engine.pipeline.settle import Settle
from sidecar.engine.recollect import DEFAULT_WEIGHTS, RecallWeights
from sidecar.engine.sentiment import analyze
from sidecar.engine.source import (
    EMBEDDED,
    DeltaSink,
    EmbeddedSource,
    Emit,
    Generated,
    LineSource,
    TurnInput,
    chunks,
)
from sidecar.engine.state import ConversationState
from sidecar.engine.text import SEED_STEP
from sidecar.engine.types import PLAYER, Line, Option, Sentiment, TurnContext
from sidecar.engine.witness import bystanders
from sidecar.engine.world import persona_in
from sidecar.errors import BadRequest, GoalNotFound, PersonaNotFound
from sidecar.personas.model import Persona
from sidecar.store import world as world_facts
from sidecar.store.db import ConversationRow, GoalRow, MessageRow, Store, TurnState
from sidecar.store.memory import MemoryStore
from sidecar.store.relations import NpcRelations


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


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Affinity:
    value: int
    delta: int
    reason: str


@dataclass(frozen=True)
class Started:
    conversation: str
    line: Line
    name: str
    options: list[Option]
    affinity: Affinity
    feeling: Feeling = NEUTRAL


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
    feeling: Feeling = NEUTRAL
    stance: float = 0.0
    """The player's stance toward the NPC (engine/tone.py), -1..1."""
    actions: tuple[Action, ...] = ()
    """What the NPC decided to do with this line (validated, stored, announced)."""


@dataclass(frozen=True)
class GoalSet:
    goal: GoalState
    requirement_met: bool
    requirement: str


def _goal_state(row: GoalRow) -> GoalState:
    return GoalState(row.goal_id, row.progress, row.completed, row.reason, str(row.definition.get("description", "")))


def said(draft: Draft) -> Said:
    """The reply to a finished draft."""
    gen, settled, stored = draft.generation, draft.settled, draft.stored
    return Said(
        line=Line(draft.speaker.id, gen.text),
        name=draft.speaker.name,
        options=list(draft.options),
        sentiment=draft.sentiment,
        affinity=Affinity(stored.new, stored.delta, settled.change.reason),
        provider=gen.line.provider,
        ended=gen.ending,
        arc=settled.arc.arc.value,
        quality_score=gen.quality.score,
        quality_retries=gen.retries,
        goal=settled.goal,
        player_text=draft.player_text,
        feeling=settled.feeling,
        stance=draft.tone.stance,
        actions=draft.actions,
    )


def _last(rows: list[MessageRow], *, npc: bool) -> MessageRow | None:
    return next((r for r in reversed(rows) if (r.speaker != PLAYER) == npc), None)


class Dialogue:
    def __init__(
        self,
        store: Store,
        personas: PersonaRegistry,
        engine: EmbeddedEngine | None = None,
        *,
        source: LineSource | None = None,
        gate: quality_rules.QualityGate | None = None,
        actions: ActionRegistry | None = None,
        world: WorldFacts | None = None,
        recall: RecallWeights = DEFAULT_WEIGHTS,
        context: Context | None = None,
    ) -> None:
        self.store = store
        self.memories = MemoryStore(store)
        self.actions = actions or ActionRegistry()
        """Every persona's actions (file and run-time: `actions.register`)."""
        self.personas = personas
        self.engine = engine or EmbeddedEngine()
        self.source: LineSource = source or EmbeddedSource(self.engine)
        self.gate = gate or quality_rules.QualityGate()
        self.recall = Recall(self.memories, recall)
        self.context = context or Context(store)
        self.generate = Generate(self.source, self.gate, self.engine)
        self.act = Act(store, self.actions, personas.all, world)
        self.settle = Settle(self.source)
        self.remember = Remember(self.source)
        self.overhear = Overhear(self.memories, NpcRelations(store))
        self.offer = Offer(self.source, self.engine)

    # --- a turn --------------------------------------------------------------------------

    async def say(
        self,
        conversation_id: str,
        text: str,
        *,
        stream: bool = False,
        emit: Emit = _no_emit,
        witnesses: Sequence[str] = (),
    ) -> Said:
        """The player's line and the NPC's answer; `witnesses` are bystanders' persona ids
        (both lines are recorded as heard by them). Raises PersonaNotFound for an unknown
        witness, before anything is stored."""
        state = await load_turn(self.store, conversation_id)
        return await self._turn(state, text, stream=stream, emit=emit, witnesses=witnesses)

    async def choose(
        self,
        conversation_id: str,
        index: int,
        *,
        stream: bool = False,
        emit: Emit = _no_emit,
        witnesses: Sequence[str] = (),
    ) -> Said:
        """Say the option the game showed as `index` (0-based) as the player's line."""
        state = await load_turn(self.store, conversation_id)
        shown = ConversationState.from_json(state.conversation.memory).options
        if not 0 <= index < len(shown):
            raise BadRequest(f"no option {index}: the last line offered {len(shown)}", details={"option": index})
        return await self._turn(state, shown[index].text, stream=stream, emit=emit, witnesses=witnesses)

    async def _turn(self, state: TurnState, text: str, *, stream: bool, emit: Emit, witnesses: Sequence[str]) -> Said:
        speaker = self.personas.get(state.conversation.persona_id)
        heard = bystanders(self.personas.get, speaker, witnesses)
        everyone = self.personas.all()
        draft = read_line(
            state, speaker, text, others=other_names(speaker, everyone), neighbours=everyone, witnesses=heard
        )
        draft.acting = await self.act.prepare(draft)
        draft.recalled = await self.recall(draft)
        draft.turn = replace(draft.turn, memories=draft.recalled.memories)
        draft.context = await self.context(draft)
        draft.generation = await self.generate(
            draft, stream=stream, emit=emit, action_problems=functools.partial(self.act.problems, draft)
        )
        draft.actions = await self.act(draft, emit)
        draft.settled = await self.settle(draft)
        draft.options = await self.offer(draft)
        draft.remembered = await self.remember(draft)
        draft.overheard = await self.overhear(Meeting(state.conversation.player_id, speaker, heard), draft.remembered)
        draft.stored = await persist_turn(self.store, draft)
        await announce(draft, emit)
        return said(draft)

    # --- start / end ---------------------------------------------------------------------

    async def start(
        self, persona_id: str, player: str, seed: int | None = None, *, player_name: str | None = None
    ) -> Started:
        """A new conversation; `player_name` is the player's display name, if the game gave one."""
        persona = self.personas.get(persona_id)
        seed = secrets.randbits(31) if seed is None else seed
        affinity = await self.store.affinity(player, persona.id)
        conversation = "c_" + secrets.token_hex(8)
        given = ConversationState(player_name=player_name)
        neighbours = tuple(p for p in self.personas.all() if p.id != persona.id)
        shown = persona_in(persona, await self.store.run(world_facts.facts))
        ctx = TurnContext(
            persona=shown, player=player, affinity=affinity, seed=seed, turn=0, state=given, neighbours=neighbours
        )
        greeting = self.engine.greet(ctx, await self.recall.greeting(player, persona.id))
        if greeting.memory.player_name and not given.known_name:
            # A returning player's remembered name: no "I'm Ana, by the way" option.
            known = replace(ctx.state.engine, player_name=greeting.memory.player_name)
            ctx = replace(ctx, state=replace(given, engine=known))
        options = self.offer.embedded(ctx, greeting.text, None)
        value, feel = await persist_greeting(
            self.store, conversation, ctx, greeting, offered(replace(given, engine=greeting.memory), options)
        )
        return Started(
            conversation, Line(persona.id, greeting.text), persona.name, options, Affinity(value, 0, "greeting"), feel
        )

    async def end(self, conversation_id: str) -> tuple[Line, str, Feeling]:
        state = await load_turn(self.store, conversation_id)
        persona = self.personas.get(state.conversation.persona_id)
        ctx = context(state, persona, self.personas.all())
        farewell = self.engine.farewell(ctx)
        feel = await persist_farewell(
            self.store, conversation_id, ctx, farewell, replace(ctx.state, engine=farewell.memory)
        )
        return Line(persona.id, farewell.text), persona.name, feel

    # --- options ---------------------------------------------------------------------------

    async def regenerate_options(self, conversation_id: str) -> list[Option]:
        """New answer options for the NPC's last line (a different composition each call)."""
        state = await load_turn(self.store, conversation_id)
        conv = state.conversation
        persona = self.personas.get(conv.persona_id)
        npc, player = _last(state.lines, npc=True), _last(state.lines, npc=False)
        if npc is None:
            raise BadRequest("the NPC has not said anything yet")
        ctx = context(state, persona, self.personas.all())
        said_ = player.text if player is not None else ""
        turn = TurnInput(
            ctx=ctx,
            player_text=said_,
            sentiment=analyze(said_),
            tuning=tune(persona, ctx.affinity),
            other_names=other_names(persona, self.personas.all()),
            conversation=conversation_id,
        )
        round_ = ctx.state.options_round + 1
        shown = {option_rules.key(o.text) for o in ctx.state.options}
        fresh = await self.offer.reroll(turn, npc.text, npc.provider or EMBEDDED, round_=round_, shown=shown)
        await persist_options(self.store, conversation_id, ctx.state, fresh, round_)
        return fresh

    # --- goals -----------------------------------------------------------------------------

    async def _open(self, conversation_id: str, *, allow_ended: bool = False) -> tuple[ConversationRow, Persona]:
        conv = await load_conversation(self.store, conversation_id, allow_ended=allow_ended)
        return conv, self.personas.get(conv.persona_id)

    async def set_goal(self, conversation_id: str, spec: str | goal_rules.GoalDef) -> GoalSet:
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


__all__ = [
    "EMBEDDED",
    "Action",
    "HISTORY_WINDOW",
    "SEED_STEP",
    "Affinity",
    "DeltaSink",
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
    "said",
]
