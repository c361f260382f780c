"""Step 7, persist: one store transaction per public call, so a reply is only sent for what
is durably stored and a failure before this point changes nothing stored.

What a turn stores as the conversation's state (sidecar/engine/state.py) is what the player
saw: the engine's memory after the kept line (`Generation.memory`), the arc episode, and the
options the game is shown (so `conversation.choose` says exactly the option the game showed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from sidecar.engine import emotion as feelings
from sidecar.engine import options as option_rules
from sidecar.engine.emotion import Feeling
from sidecar.engine.personality import tune
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.sentiment import analyze
from sidecar.engine.source import EMBEDDED
from sidecar.engine.state import ConversationState
from sidecar.engine.types import PLAYER, Composed, Option, Sentiment, TurnContext
from sidecar.personas.model import Persona
from sidecar.store.db import AffinityResult, AffinityWrite, NewMessage, Store, TurnWrite


def offered(state: ConversationState, options: Sequence[Option], *, reroll: bool = False) -> ConversationState:
    """`state` once `options` are shown: remembered so they are not offered again soon, and
    whether one of them introduced the player ("I'm Ana, by the way": once per conversation)."""
    return state.offer(options, introduces=any(option_rules.introduces(o.text) for o in options), reroll=reroll)


def state_after(draft: Draft) -> ConversationState:
    return offered(
        replace(
            draft.ctx.state, engine=draft.generation.memory, arc_episode=draft.settled.arc.episode, options_round=0
        ),
        draft.options,
    )


def player_message(draft: Draft, player: str, text: str) -> NewMessage:
    """The player's line of a turn (or of a scene's exchange) as stored, with how it read."""
    return NewMessage(
        PLAYER, player, text, sentiment=draft.sentiment.label, compound=draft.sentiment.compound,
        stance=draft.tone.stance,
    )


def npc_message(draft: Draft) -> NewMessage:
    """The NPC's line of a turn as stored: what it said, how it was made and how it felt."""
    gen, settled, speaker = draft.generation, draft.settled, draft.speaker
    return NewMessage(
        speaker.id,
        speaker.name,
        gen.text,
        sentiment=settled.npc_sentiment.label,
        compound=settled.npc_sentiment.compound,
        provider=gen.line.provider,
        quality=gen.quality.score,
        retries=gen.retries,
        quality_rules=json.dumps([[h.name, h.points] for h in gen.quality.rules]),
        arc=settled.arc.arc.value,
        emotion=settled.feeling.emotion,
        intensity=settled.feeling.intensity,
    )


def turn_write(draft: Draft) -> TurnWrite:
    """The turn as one write: the player's line, the NPC's, state, affinity, goal."""
    gen, settled = draft.generation, draft.settled
    return TurnWrite(
        conversation_id=draft.conversation.id,
        messages=(player_message(draft, draft.conversation.player_id, draft.player_text), npc_message(draft)),
        memory=state_after(draft).to_json(),
        affinity=AffinityWrite(settled.change.delta, settled.change.reason),
        ended=gen.ending,
        goal=settled.goal_write,
        told_actions=tuple(r.id for r in draft.acting.log.untold),
        memories=(*draft.remembered, *draft.overheard),
        witnesses=tuple(p.id for p in draft.witnesses),
        summary=draft.context.write,
    )


async def persist_turn(store: Store, draft: Draft) -> AffinityResult:
    return await store.commit_turn(turn_write(draft))


def embedded_message(persona: Persona, text: str, tone: Sentiment, feel: Feeling) -> NewMessage:
    """A greeting or farewell as stored: always the embedded engine's, with its emotion (a
    scene's greetings and farewells too)."""
    return NewMessage(
        persona.id,
        persona.name,
        text,
        sentiment=tone.label,
        compound=tone.compound,
        provider=EMBEDDED,
        emotion=feel.emotion,
        intensity=feel.intensity,
    )


async def persist_greeting(
    store: Store, conversation_id: str, ctx: TurnContext, greeting: Composed, state: ConversationState
) -> tuple[int, Feeling]:
    """A new conversation and its greeting (`conversation.start`); returns the affinity and
    the greeting's emotion (stored with it)."""
    tone = analyze(greeting.text)
    persona = ctx.persona
    feel = feelings.derive(greeting.text, tone, affinity=ctx.affinity, voice=tune(persona, ctx.affinity).voice)
    value = await store.start_conversation(
        conversation_id=conversation_id,
        player_id=ctx.player,
        persona_id=persona.id,
        seed=ctx.seed,
        greeting=embedded_message(persona, greeting.text, tone, feel),
        memory=state.to_json(),
        initial_affinity=ctx.affinity,
    )
    return value, feel


async def persist_farewell(
    store: Store, conversation_id: str, ctx: TurnContext, farewell: Composed, state: ConversationState
) -> Feeling:
    """The NPC's farewell and the end of the conversation (`conversation.end`); returns the
    farewell's emotion (stored with it, from its words, the affinity and the last arc)."""
    speaker = ctx.persona
    tone = analyze(farewell.text)
    episode = state.arc_episode
    feel = feelings.derive(
        farewell.text,
        tone,
        affinity=ctx.affinity,
        arc=episode.value if episode else None,
        voice=tune(speaker, ctx.affinity).voice,
    )
    await store.commit_turn(
        TurnWrite(
            conversation_id=conversation_id,
            messages=(embedded_message(speaker, farewell.text, tone, feel),),
            memory=state.to_json(),
            ended=True,
        )
    )
    return feel


async def persist_options(
    store: Store, conversation_id: str, state: ConversationState, options: Sequence[Option], round_: int
) -> None:
    """Re-rolled options replace the shown ones (no line is added)."""
    await store.set_memory(
        conversation_id, offered(replace(state, options_round=round_), options, reroll=True).to_json()
    )


__all__ = [
    "embedded_message",
    "npc_message",
    "offered",
    "persist_farewell",
    "persist_greeting",
    "player_message",
    "persist_options",
    "persist_turn",
    "state_after",
    "turn_write",
]
