"""World facts in a turn: persona topics gated on them (the embedded engine, over a real
store), and what a topic's `when` means."""

from __future__ import annotations

import pytest

from sidecar.engine.turn import Dialogue, PersonaRegistry
from sidecar.engine.world import is_open, persona_in, world_hint
from sidecar.personas.model import Persona, Topic
from sidecar.store import world
from sidecar.store.db import Store

NIGHT_LINE = "The lantern boats sail out past the weir tonight."


def _with_night_topic(registry: PersonaRegistry) -> PersonaRegistry:
    raw = registry.get("ansel").model_dump()
    raw["topics"]["lantern_boats"] = {
        "keywords": ["lantern", "boats"],
        "lines": [NIGHT_LINE],
        "when": {"time_of_day": "night", "festival": True},
    }
    return PersonaRegistry({p.id: p for p in registry.all()} | {"ansel": Persona.model_validate(raw)})


async def _ask(dialogue: Dialogue) -> str:
    started = await dialogue.start("ansel", "mira", seed=4)
    return (await dialogue.say(started.conversation, "Tell me about the lantern boats.")).line.text


async def test_a_topic_opens_only_while_its_world_facts_hold(store: Store, registry: PersonaRegistry) -> None:
    dialogue = Dialogue(store, _with_night_topic(registry))
    assert NIGHT_LINE not in await _ask(dialogue)
    await store.run(world.set_fact, "time_of_day", "night")
    assert NIGHT_LINE not in await _ask(dialogue)  # every fact must hold
    await store.run(world.set_fact, "festival", True)
    assert NIGHT_LINE in await _ask(dialogue)
    await store.run(world.set_fact, "time_of_day", "noon")
    assert NIGHT_LINE not in await _ask(dialogue)


def test_when_compares_values_and_never_takes_true_for_one() -> None:
    topic = Topic(keywords=["x"], lines=["y"], when={"flag": True, "gold": 3})
    assert is_open(topic, {"flag": True, "gold": 3, "other": "z"})
    assert not is_open(topic, {"flag": 1, "gold": 3})
    assert not is_open(topic, {"flag": True, "gold": 3.5})
    assert not is_open(topic, {"gold": 3})
    assert is_open(Topic(keywords=["x"], lines=["y"]), {})


def test_persona_in_copies_only_when_a_topic_is_closed(registry: PersonaRegistry) -> None:
    plain = registry.get("goldie")
    assert persona_in(plain, {"time_of_day": "night"}) is plain
    gated = _with_night_topic(registry).get("ansel")
    assert persona_in(gated, {"time_of_day": "night", "festival": True}) is gated
    view = persona_in(gated, {})
    assert "lantern_boats" not in view.topics and set(view.topics) == set(gated.topics) - {"lantern_boats"}
    assert persona_in(gated, {"time_of_day": "dawn"}) is view  # one view per set of open topics


@pytest.mark.parametrize(
    ("facts", "hint"),
    [
        ({}, None),
        (
            {"time_of_day": "night", "festival": True, "gold": 12},
            "What is true in the world right now: festival: yes; gold: 12; time of day: night.",
        ),
    ],
)
def test_the_prompt_sentence_about_the_world(facts: dict[str, str | int | bool], hint: str | None) -> None:
    assert world_hint(facts) == hint
