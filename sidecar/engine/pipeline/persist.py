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

from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.state import ConversationState
from sidecar.engine.types import PLAYER, Option
from sidecar.store.db import AffinityResult, AffinityWrite, NewMessage, Store, TurnWrite


def state_after(draft: Draft) -> ConversationState:
    return replace(
        draft.ctx.state,
        engine=draft.generation.memory,
        arc_episode=draft.settled.arc.episode,
        options=draft.options,
        options_round=0,
    )


def turn_write(draft: Draft) -> TurnWrite:
    """The turn as one write: the player's line, the NPC's, state, affinity, goal."""
    gen, settled, speaker = draft.generation, draft.settled, draft.speaker
    rules = json.dumps([[h.name, h.points] for h in gen.quality.rules])
    return TurnWrite(
        conversation_id=draft.conversation.id,
        messages=(
            NewMessage(
                PLAYER,
                draft.conversation.player_id,
                draft.player_text,
                sentiment=draft.sentiment.label,
                compound=draft.sentiment.compound,
            ),
            NewMessage(
                speaker.id,
                speaker.name,
                gen.text,
                sentiment=settled.npc_sentiment.label,
                compound=settled.npc_sentiment.compound,
                provider=gen.line.provider,
                quality=gen.quality.score,
                retries=gen.retries,
                quality_rules=rules,
                arc=settled.arc.arc.value,
            ),
        ),
        memory=state_after(draft).to_json(),
        affinity=AffinityWrite(settled.change.delta, settled.change.reason),
        ended=gen.ending,
        goal=settled.goal_write,
    )


async def persist_turn(store: Store, draft: Draft) -> AffinityResult:
    return await store.commit_turn(turn_write(draft))


async def persist_options(
    store: Store, conversation_id: str, state: ConversationState, options: Sequence[Option], round_: int
) -> None:
    """Re-rolled options replace the shown ones (no line is added)."""
    await store.set_memory(conversation_id, replace(state, options=tuple(options), options_round=round_).to_json())


__all__ = ["persist_options", "persist_turn", "state_after", "turn_write"]
