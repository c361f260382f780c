"""The turn pipeline over stored state: a database written before the state was typed (v1 bags)
keeps working, and every write stores the current version."""

from __future__ import annotations

from pathlib import Path

from sidecar.engine.state import STATE_VERSION, ConversationState, Option
from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.personas.loader import load_personas
from sidecar.store.db import Store

PERSONAS = Path(__file__).resolve().parents[2] / "personas"

V1_OPTIONS = [
    {"text": "What do you think about the mayor?", "intent": "ask"},
    {"text": "I love fishing on the lake, honestly.", "intent": "share"},
    {"text": "I should be going now. Goodbye!", "intent": "leave"},
]


async def _dialogue(tmp_path: Path) -> tuple[Dialogue, Store]:
    store = await Store.open(tmp_path / "parley.sqlite3", checkpoint_interval=None)
    return Dialogue(store, PersonaRegistry(load_personas(PERSONAS).personas)), store


async def test_a_v1_conversation_is_continued_and_rewritten_as_the_current_version(tmp_path: Path) -> None:
    dialogue, store = await _dialogue(tmp_path)
    try:
        started = await dialogue.start("ansel", "p1", seed=4)
        v1 = {
            "v": 1,
            "player_name": "Ana",
            "likes": [{"what": "fishing", "verb": "love", "turn": 0}],
            "said": [],
            "topics": {},
            "_arc_episode": "bonding",
            "_last_options": V1_OPTIONS,
            "_options_round": 0,
        }
        await store.set_memory(started.conversation, v1)

        said = await dialogue.choose(started.conversation, 1)  # the option stored in the v1 bag
        assert said.player_text == V1_OPTIONS[1]["text"]
        row = await store.conversation(started.conversation)
        assert row is not None and row.memory["v"] == STATE_VERSION
        state = ConversationState.from_json(row.memory)
        assert state.engine.player_name == "Ana"  # what the NPC learned under v1 is remembered
        assert [p.what for p in state.engine.likes][0] == "fishing"
        assert state.options == tuple(said.options)

        again = await dialogue.say(started.conversation, "What's my name?")
        assert "Ana" in again.line.text
    finally:
        await store.close()


async def test_start_stores_the_greetings_options_and_regenerate_counts_rounds(tmp_path: Path) -> None:
    dialogue, store = await _dialogue(tmp_path)
    try:
        started = await dialogue.start("sorrel", "p1", seed=2)
        row = await store.conversation(started.conversation)
        assert row is not None
        state = ConversationState.from_json(row.memory)
        assert state.options == tuple(started.options) and state.options_round == 0
        assert all(isinstance(o, Option) for o in state.options)

        fresh = await dialogue.regenerate_options(started.conversation)
        row = await store.conversation(started.conversation)
        assert row is not None
        state = ConversationState.from_json(row.memory)
        assert state.options == tuple(fresh) and state.options_round == 1

        await dialogue.end(started.conversation)
        row = await store.conversation(started.conversation)
        assert row is not None
        assert ConversationState.from_json(row.memory).options_round == 1  # end keeps the pipeline's part
    finally:
        await store.close()
