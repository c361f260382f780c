"""The conversation state: one typed shape, read from every stored version, written as the newest."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from sidecar.engine.arc import Arc
from sidecar.engine.state import STATE_VERSION, ConversationState, EngineMemory, Option, Preference
from sidecar.errors import StoreError

# A bag as the sidecar stored it before the state was typed (version 1): the engine's keys
# beside the pipeline's `_`-prefixed ones, in one flat object.
V1_BAG: dict[str, Any] = {
    "v": 1,
    "player_name": "Ana",
    "likes": [{"what": "fishing", "verb": "love", "turn": 2}],
    "dislikes": [{"what": "mornings", "verb": "hate", "turn": 3}],
    "recalled": ["fishing"],
    "said": ["welcome to my forge ana"],
    "cores": ["my forge has burned for thirty years"],
    "topics": {"forge": 2},
    "asked_name": True,
    "quirk_turn": 4,
    "hook_turn": 1,
    "_arc_episode": "bonding",
    "_last_options": [
        {"text": "Tell me more about your forge, please.", "intent": "ask"},
        {"text": "I should be going now. Goodbye!", "intent": "leave"},
    ],
    "_options_round": 2,
}


def test_a_v1_bag_reads_into_every_typed_field() -> None:
    s = ConversationState.from_json(V1_BAG)
    assert s.engine == EngineMemory(
        player_name="Ana",
        likes=(Preference("fishing", "love", 2),),
        dislikes=(Preference("mornings", "hate", 3),),
        recalled=("fishing",),
        said=("welcome to my forge ana",),
        cores=("my forge has burned for thirty years",),
        topics=MappingProxyType({"forge": 2}),
        asked_name=True,
        quirk_turn=4,
        hook_turn=1,
    )
    assert s.arc_episode is Arc.BONDING
    assert s.options == (
        Option("Tell me more about your forge, please.", "ask"),
        Option("I should be going now. Goodbye!", "leave"),
    )
    assert s.options_round == 2
    assert s.player_name is None  # v1 never had the game's display name
    assert s.known_name == "Ana"


def test_a_v1_bag_without_a_version_key_is_v1() -> None:
    bag = {k: v for k, v in V1_BAG.items() if k != "v"}
    assert ConversationState.from_json(bag) == ConversationState.from_json(V1_BAG)


def test_written_state_is_the_current_version_and_round_trips_through_json_text() -> None:
    s = ConversationState.from_json(V1_BAG)
    text = json.dumps(s.to_json())
    assert json.loads(text)["v"] == STATE_VERSION == 2
    assert ConversationState.from_json(text) == s
    assert ConversationState.from_json(json.loads(text)) == s


def test_the_game_given_name_round_trips_and_the_told_name_wins() -> None:
    s = ConversationState(player_name="Ana")
    back = ConversationState.from_json(s.to_json())
    assert back.player_name == "Ana" and back.known_name == "Ana"
    told = ConversationState(engine=EngineMemory(player_name="Annie"), player_name="Ana")
    assert told.known_name == "Annie"


def test_empty_and_missing_state_is_the_default() -> None:
    assert ConversationState.from_json({}) == ConversationState()
    assert ConversationState.from_json(None) == ConversationState()
    fresh = ConversationState()
    assert fresh.version == STATE_VERSION and fresh.engine == EngineMemory() and fresh.options == ()


@pytest.mark.parametrize("version", [1, 2])
def test_garbage_fields_fall_back_to_their_defaults(version: int) -> None:
    junk: dict[str, Any] = {
        "player_name": 7, "likes": "x", "dislikes": [{"what": 3}, {"what": "rain", "turn": "z"}],
        "said": [1, None, "ok"], "topics": {"forge": "2", "mill": True, "well": 1}, "cores": None,
        "asked_name": "yes", "quirk_turn": "z", "hook_turn": 2.5,
    }
    bag: dict[str, Any] = (
        {**junk, "_arc_episode": "furious", "_last_options": [{"intent": "ask"}, "x"], "_options_round": -3}
        if version == 1
        else {"v": 2, "engine": junk, "arc_episode": 3, "options": {"text": "x"}, "options_round": "9",
              "player_name": ""}
    )
    s = ConversationState.from_json(bag)
    assert s.engine == EngineMemory(said=("ok",), topics=MappingProxyType({"well": 1}))
    assert s.arc_episode is None and s.options == () and s.options_round == 0 and s.player_name is None


def test_unknown_v1_keys_are_dropped_on_the_next_write() -> None:
    s = ConversationState.from_json({**V1_BAG, "arc": ["pos"], "mood": "sunny"})
    out = s.to_json()
    assert set(out) == {
        "v", "player_name", "engine", "arc_episode", "options", "options_round", "offered", "introduced"
    }
    assert "arc" not in out["engine"] and "mood" not in out["engine"]


def test_a_newer_version_is_refused_rather_than_silently_truncated() -> None:
    with pytest.raises(StoreError, match="version 3"):
        ConversationState.from_json({"v": 3, "engine": {}})


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", b"42"])
def test_stored_text_that_is_not_a_json_object_is_a_store_error(raw: str | bytes) -> None:
    with pytest.raises(StoreError):
        ConversationState.from_json(raw)


def test_the_state_is_frozen() -> None:
    s = ConversationState()
    with pytest.raises(AttributeError):
        s.options_round = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.engine.topics["forge"] = 1  # type: ignore[index]


def test_the_turn_context_knows_the_players_name_from_the_state() -> None:
    from sidecar.engine.types import TurnContext
    from sidecar.personas.model import Persona

    p = Persona.model_validate(
        {"id": "bram", "name": "Bram", "role": "smith", "bio": "A smith.", "greetings": ["Hello."],
         "farewells": ["Bye."]}
    )
    ctx = TurnContext(persona=p, player="p1", affinity=50, seed=1, turn=1)
    assert ctx.player_name is None
    given = TurnContext(persona=p, player="p1", affinity=50, seed=1, turn=1,
                        state=ConversationState(player_name="Ana"))
    assert given.player_name == "Ana"


def test_offered_options_are_kept_for_this_turn_and_the_three_before() -> None:
    from sidecar.engine.state import OFFERED_TURNS

    s = ConversationState()
    for turn in range(6):
        s = s.offer([Option(f"Ask {turn}?", "ask"), Option(f"Share {turn}.", "share")], introduces=False)
    assert len(s.offered) == OFFERED_TURNS + 1 == 4
    assert s.recently_offered == {f"{k} {t}{p}" for t in range(2, 6) for k, p in (("Ask", "?"), ("Share", "."))}
    rerolled = s.offer([Option("Again?", "ask")], introduces=True, reroll=True)
    assert rerolled.offered[-1][-1] == "Again?" and len(rerolled.offered) == 4
    assert rerolled.introduced and rerolled.options == (Option("Again?", "ask"),)
    back = ConversationState.from_json(json.loads(json.dumps(rerolled.to_json())))
    assert (back.offered, back.introduced) == (rerolled.offered, True)
    assert ConversationState.from_json({"v": 2, "offered": "junk", "introduced": 1}).offered == ()
