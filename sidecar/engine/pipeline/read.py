"""Step 1, read: the player's line, read for one speaker, becomes the turn's draft.

Its tone (engine/tone.py: the stance toward the speaker and the topic's valence, with VADER's
sentiment computed once inside), the speaker's tuning at the current affinity, the goal in force and its hint, and
the names of the other NPCs (the quality gate and the stream cleaner flag lines spoken under
them). Pure: no I/O, no randomness.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.engine import goals as goal_rules
from sidecar.engine import tone as tones
from sidecar.engine.personality import tune
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.source import TurnInput
from sidecar.engine.state import ConversationState
from sidecar.engine.types import Line, TurnContext
from sidecar.engine.world import persona_in
from sidecar.personas.model import Persona
from sidecar.store.db import MessageRow, TurnState


def history(rows: Sequence[MessageRow]) -> tuple[Line, ...]:
    return tuple(Line(r.speaker, r.text) for r in rows)


def context(state: TurnState, speaker: Persona, neighbours: Sequence[Persona] = ()) -> TurnContext:
    """The engine's view of the conversation before this turn, for `speaker`; `neighbours` are
    the other NPCs it may send the player to or name in an option."""
    conv = state.conversation
    return TurnContext(
        persona=persona_in(speaker, state.world),
        player=conv.player_id,
        affinity=state.affinity,
        seed=conv.seed,
        turn=conv.turns + 1,
        history=history(state.lines),
        state=ConversationState.from_json(conv.memory),
        neighbours=tuple(p for p in neighbours if p.id != speaker.id),
    )


def other_names(speaker: Persona, everyone: Sequence[Persona]) -> tuple[str, ...]:
    """Every name of every NPC but `speaker`."""
    return tuple(n for p in everyone if p.id != speaker.id for n in p.names)


def read_line(
    state: TurnState,
    speaker: Persona,
    text: str,
    *,
    others: tuple[str, ...],
    neighbours: Sequence[Persona] = (),
    witnesses: tuple[Persona, ...] = (),
) -> Draft:
    ctx = context(state, speaker, neighbours)
    tone = tones.read(text, speaker.names)
    sentiment = tone.sentiment
    tuning = tune(speaker, ctx.affinity)
    goal = goal_rules.from_dict(state.goal.definition) if state.goal is not None else None
    turn = TurnInput(
        ctx=ctx,
        player_text=text,
        sentiment=sentiment,
        tuning=tuning,
        goal_hint=goal_rules.npc_hint(goal, speaker) if goal is not None else None,
        other_names=others,
        conversation=state.conversation.id,
        tone=tone,
        world=state.world,
    )
    return Draft(
        conversation=state.conversation,
        lines=state.lines,
        goal_row=state.goal,
        speaker=speaker,
        player_text=text,
        ctx=ctx,
        sentiment=sentiment,
        tuning=tuning,
        goal=goal,
        turn=turn,
        tone=tone,
        witnesses=witnesses,
    )


__all__ = ["context", "history", "other_names", "read_line"]
