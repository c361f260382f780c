"""Steps 7 and 8, persist and announce (sidecar/engine/pipeline/persist.py, announce.py),
against a real SQLite store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sidecar.engine.actions import ActionRegistry
from sidecar.engine.embedded import EmbeddedEngine
from sidecar.engine.pipeline.actions import Act
from sidecar.engine.pipeline.announce import announce
from sidecar.engine.pipeline.context import Context
from sidecar.engine.pipeline.draft import Draft
from sidecar.engine.pipeline.generate import Generate
from sidecar.engine.pipeline.offer import Offer
from sidecar.engine.pipeline.persist import persist_options, persist_turn
from sidecar.engine.pipeline.recall import NOTHING
from sidecar.engine.pipeline.remember import Remember
from sidecar.engine.pipeline.settle import Settle
from sidecar.engine.quality import QualityGate
from sidecar.engine.source import EmbeddedSource
from sidecar.engine.state import STATE_VERSION, ConversationState, Option
from sidecar.engine.text import normalize
from sidecar.engine.turn import Dialogue
from sidecar.engine.types import PLAYER
from sidecar.store.db import Store

MakeDraft = Callable[..., Awaitable[Draft]]
ENGINE = EmbeddedEngine()
SOURCE = EmbeddedSource(ENGINE)


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, name: str, data: Mapping[str, Any]) -> None:
        self.items.append((name, dict(data)))


async def settled(draft: Draft, store: Store) -> Draft:
    draft.acting = await Act(store, ActionRegistry(), lambda: ()).prepare(draft)
    draft.recalled = NOTHING
    draft.context = await Context(store)(draft)
    draft.generation = await Generate(SOURCE, QualityGate(), ENGINE)(draft, stream=False, emit=Events())
    draft.actions = ()
    draft.settled = await Settle(SOURCE)(draft)
    draft.options = await Offer(SOURCE, ENGINE)(draft)
    draft.remembered = await Remember(SOURCE)(draft)
    return draft


async def test_a_turn_is_stored_in_one_write_with_the_state_the_player_saw(make_draft: MakeDraft, store: Store) -> None:
    draft = await settled(await make_draft("You are a wonderful smith, thank you!"), store)
    before = await store.affinity("p1", "ansel")
    stored = await persist_turn(store, draft)
    assert stored.old == before and stored.delta == draft.settled.change.delta != 0
    conv = await store.conversation(draft.conversation.id)
    assert conv is not None and conv.turns == 1 and conv.ended_at is None
    rows = await store.lines(draft.conversation.id)
    assert [(r.speaker, r.text) for r in rows[-2:]] == [(PLAYER, draft.player_text), ("ansel", draft.generation.text)]
    assert rows[-1].provider == "embedded" and rows[-1].quality == draft.generation.quality.score
    assert conv.memory["v"] == STATE_VERSION
    state = ConversationState.from_json(conv.memory)
    assert state.options == draft.options and state.options_round == 0
    assert state.engine == draft.generation.memory
    assert state.arc_episode == draft.settled.arc.episode


async def test_a_goodbye_ends_the_conversation_when_stored(make_draft: MakeDraft, store: Store) -> None:
    draft = await settled(await make_draft("Goodbye!"), store)
    await persist_turn(store, draft)
    conv = await store.conversation(draft.conversation.id)
    assert conv is not None and conv.ended_at is not None
    assert ConversationState.from_json(conv.memory).options == ()


async def test_rerolled_options_replace_the_shown_ones_and_count_the_round(
    make_draft: MakeDraft, store: Store
) -> None:
    draft = await make_draft("Hello.")
    fresh = [Option("What is that smell?", "ask"), Option("I like iron.", "share"), Option("Bye.", "leave")]
    await persist_options(store, draft.conversation.id, draft.ctx.state, fresh, 2)
    conv = await store.conversation(draft.conversation.id)
    assert conv is not None and conv.turns == 0, "no line is added"
    state = ConversationState.from_json(conv.memory)
    assert state.options == tuple(fresh) and state.options_round == 2
    assert state.engine == draft.ctx.state.engine


async def test_announce_sends_the_affinity_change_then_the_goal_events(
    dialogue: Dialogue, make_draft: MakeDraft, store: Store
) -> None:
    started = await dialogue.start("ansel", "p1", seed=2)
    await dialogue.set_goal(started.conversation, "build_trust")
    draft = await settled(await make_draft("You are wonderful, thank you!", conversation=started.conversation), store)
    draft.stored = await persist_turn(store, draft)
    events = Events()
    await announce(draft, events)
    names = [n for n, _ in events.items]
    assert names[0] == "affinity_changed" and events.items[0][1]["delta"] == draft.stored.delta
    assert names[1:] == [n for n, _ in draft.settled.goal_events]


async def test_no_affinity_event_when_the_stored_affinity_did_not_move(make_draft: MakeDraft, store: Store) -> None:
    draft = await settled(await make_draft("I walked here from the mill."), store)
    draft.stored = await persist_turn(store, draft)
    events = Events()
    await announce(draft, events)
    assert draft.settled.change.delta == draft.stored.delta == 0
    assert "affinity_changed" not in [n for n, _ in events.items]


async def test_a_greeting_and_a_farewell_are_stored_as_one_write_each(dialogue: Dialogue, store: Store) -> None:
    started = await dialogue.start("ansel", "p1", seed=4)
    rows = await store.lines(started.conversation)
    assert [(r.speaker, r.text, r.provider) for r in rows] == [("ansel", started.line.text, "embedded")]
    assert rows[0].sentiment in {"positive", "negative", "neutral"}
    conv = await store.conversation(started.conversation)
    assert conv is not None and ConversationState.from_json(conv.memory).options == tuple(started.options)

    line, name, _ = await dialogue.end(started.conversation)
    rows = await store.lines(started.conversation)
    assert name == "Ansel" and rows[-1].text == line.text and len(rows) == 2
    conv = await store.conversation(started.conversation)
    assert conv is not None and conv.ended_at is not None
    state = ConversationState.from_json(conv.memory)
    assert state.options == tuple(started.options), "the pipeline's part of the state is kept"
    assert state.engine.said[-1] == normalize(line.text)
