"""Step 1, read (sidecar/engine/pipeline/read.py), and the draft's step order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from sidecar.engine.actions import ActionRegistry
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.pipeline.actions import Act
from sidecar.engine.pipeline.draft import Draft, StepOrderError
from sidecar.engine.pipeline.generate import Generate
from sidecar.engine.pipeline.load import load_turn
from sidecar.engine.pipeline.read import read_line
from sidecar.engine.pipeline.recall import Recall
from sidecar.engine.quality import QualityGate
from sidecar.engine.source import EmbeddedSource
from sidecar.engine.state import ConversationState
from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.engine.types import PLAYER
from sidecar.store.db import Store
from sidecar.store.memory import MemoryStore

MakeDraft = Callable[..., Awaitable[Draft]]


async def _quiet(event: str, data: Mapping[str, Any]) -> None:
    return None


async def test_the_players_line_is_read_for_the_speaker(make_draft: MakeDraft, registry: PersonaRegistry) -> None:
    draft = await make_draft("You are a wonderful smith, thank you!", persona="ansel")
    assert draft.speaker.id == "ansel" and draft.turn.ctx.persona is draft.speaker
    assert draft.sentiment.label == "positive" and draft.turn.sentiment == draft.sentiment
    assert draft.ctx.turn == draft.conversation.turns + 1 == 1
    assert [line.speaker for line in draft.ctx.history] == ["ansel"], "the greeting is the history"
    assert isinstance(draft.ctx.state, ConversationState) and len(draft.ctx.state.options) == 3
    assert draft.turn.conversation == draft.conversation.id
    ansel = registry.get("ansel")
    assert not set(ansel.names) & set(draft.turn.other_names), "the speaker's own names are not 'others'"
    assert set(registry.get("goldie").names) <= set(draft.turn.other_names)


async def test_the_speaker_is_a_parameter_not_the_conversations_persona(
    make_draft: MakeDraft, registry: PersonaRegistry
) -> None:
    own = await make_draft("Hello there.", persona="ansel")
    other = await make_draft("Hello there.", conversation=own.conversation.id, speaker="goldie")
    assert other.speaker.id == "goldie" and other.ctx.persona.id == "goldie"
    assert other.conversation.id == own.conversation.id and other.ctx.history == own.ctx.history
    assert set(registry.get("ansel").names) <= set(other.turn.other_names)
    assert not set(registry.get("goldie").names) & set(other.turn.other_names)


async def test_without_a_goal_there_is_no_goal_and_no_hint(make_draft: MakeDraft) -> None:
    draft = await make_draft("Hello.")
    assert draft.goal is None and draft.goal_row is None and draft.turn.goal_hint is None


async def test_a_goal_in_force_is_read_and_hinted_only_where_the_persona_allows(
    make_draft: MakeDraft, dialogue: Dialogue, store: Store, registry: PersonaRegistry
) -> None:
    started = await dialogue.start("ansel", "p1", seed=1)
    await dialogue.set_goal(started.conversation, "build_trust")
    draft = await make_draft("Hello.", conversation=started.conversation)
    assert draft.goal is not None and draft.goal.id == "build_trust"
    assert draft.goal_row is not None and draft.goal_row.goal_id == "build_trust"
    assert not draft.speaker.reveal_goals and draft.turn.goal_hint is None

    open_book = registry.get("ansel").model_copy(update={"reveal_goals": True})
    state = await load_turn(store, started.conversation)
    told = read_line(state, open_book, "Hello.", others=())
    assert told.turn.goal_hint is not None and draft.goal.description in told.turn.goal_hint


async def test_a_step_that_reads_ahead_of_the_sequence_fails_loudly(make_draft: MakeDraft) -> None:
    draft = await make_draft("Hello.")
    for section in ("acting", "recalled", "generation", "actions", "settled", "options", "stored"):
        with pytest.raises(StepOrderError, match="has not run"):
            getattr(draft, section)


async def test_recall_of_a_new_player_is_empty_and_act_decides_nothing_for_a_persona_without_actions(
    make_draft: MakeDraft, store: Store, registry: PersonaRegistry
) -> None:
    draft = await make_draft("Do you remember me?", persona="rook")
    draft.speaker = draft.speaker.model_copy(update={"actions": {}})  # Rook, without his errand
    assert not draft.speaker.actions
    act = Act(store, ActionRegistry(), registry.all)
    draft.acting = await act.prepare(draft)
    draft.recalled = await Recall(MemoryStore(store))(draft)
    draft.generation = await Generate(EmbeddedSource(EmbeddedEngine()), QualityGate(), EmbeddedEngine())(
        draft, stream=False, emit=_quiet
    )
    draft.actions = await act(draft, _quiet)
    assert draft.recalled.memories == () and draft.recalled.hints == () and draft.actions == ()
    assert draft.ctx.history[-1].speaker != PLAYER
