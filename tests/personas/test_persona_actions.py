"""`[actions.NAME]` in persona files: the schema subset, conditions, limits and embedded
rules; every refused feature is a problem at its file and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from sidecar.engine.reading import read
from sidecar.errors import PersonaInvalid
from sidecar.personas.actions import INTENTS, ActionDef, ArgumentsSchema, check_args
from sidecar.personas.loader import load_persona_text, load_personas

SAMPLES = Path(__file__).resolve().parents[2] / "personas"

BASE = """\
id = "tess"
name = "Tess"
role = "the village tester"
bio = "Tests things."
greetings = ["Hello."]
farewells = ["Bye."]
"""

GOOD = """
[actions.repair_item]
description = "Mend the player's item for a price."
[actions.repair_item.arguments]
type = "object"
required = ["item", "price"]
properties = { item = { type = "string", maxLength = 40 }, price = { type = "integer", minimum = 1 } }
[actions.repair_item.conditions]
affinity_min = 40
goal_completed = "build_trust"
world = { forge_lit = true }
[actions.repair_item.limits]
once_per_conversation = false
cooldown_turns = 2
cooldown_s = 0.0
[actions.repair_item.embedded]
keywords = ["fix", "mend"]
args = { price = 5 }
take = { item = ["sword", "axe"] }
"""


def test_the_issue_example_loads_with_every_key() -> None:
    persona = load_persona_text(BASE + GOOD, "tess.toml")
    action = persona.actions["repair_item"]
    assert action.arguments.required == ["item", "price"]
    assert action.conditions.world == {"forge_lit": True} and action.conditions.affinity_min == 40
    assert action.limits.cooldown_turns == 2
    assert action.embedded is not None and action.embedded.take == {"item": ["sword", "axe"]}


def test_the_sample_blacksmith_innkeeper_and_captain_declare_their_actions() -> None:
    personas = load_personas(SAMPLES)
    assert not personas.errors
    assert {"repair_item", "sell_item"} <= set(personas.get("ansel").actions)
    assert personas.get("goldie").actions["rent_room"].limits.once_per_conversation
    gate = personas.get("hesper").actions["open_gate"]
    assert gate.conditions.goal_completed == "ask_favor" and gate.limits.once_per_conversation


@pytest.mark.parametrize(
    ("line", "field", "why"),
    [
        ('properties = { item = { type = "string", pattern = "^a" } }', "properties.item.pattern", "unknown field"),
        ('properties = { item = { type = "array" } }', "properties.item.type", "Input should be"),
        ('properties = { item = { type = "object" } }', "properties.item.type", "Input should be"),
        ('properties = { item = { "$ref" = "#/x" } }', 'properties.item."$ref"', "unknown field"),
        ("additionalProperties = false", "additionalProperties", "unknown field"),
        ('properties = { item = { type = "string", minimum = 1 } }', "properties.item", "minimum"),
        ('properties = { item = { type = "integer", maxLength = 3 } }', "properties.item", "maxLength"),
        ('properties = { item = { description = "no type" } }', "properties.item", "needs a `type`"),
        ('required = ["ghost"]', "arguments", "not in `properties`"),
        ('properties = { item = { enum = ["a", 1], type = "string" } }', "properties.item", "not of type string"),
    ],
)
def test_a_refused_schema_feature_is_a_problem_at_its_line(line: str, field: str, why: str) -> None:
    text = BASE + '[actions.act]\ndescription = "Do it."\n[actions.act.arguments]\n' + line + "\n"
    with pytest.raises(PersonaInvalid) as caught:
        load_persona_text(text, "tess.toml")
    problem = caught.value.details["problems"][0]
    assert problem["file"] == "tess.toml"
    assert problem["line"] == text.splitlines().index(line) + 1
    assert field in problem["field"] and why in problem["message"]


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ("[actions.act.conditions]\naffinity_min = 101", "less than or equal to 100"),
        ("[actions.act.conditions]\nmood = 3", "unknown field"),
        ("[actions.act.limits]\ncooldown_turns = -1", "greater than or equal to 0"),
        ("[actions.act.embedded]\nargs = { x = 1 }", "keywords` or `intents"),
        ('[actions.act.embedded]\nintents = ["dance"]', "unknown intent 'dance'"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nargs = { ghost = 1 }', "not in `arguments.properties`"),
        ('[actions.act.embedded]\nkeywords = ["go"]\ndone = ["Your {item} is done."]', "names {item}, which is not"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nfailed = [""]', "at least 1 character"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nnot_yet = ["Not your {item}."]', "names {item}, which is not"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nquote = ["{price} coppers."]', "names {price}, which is not"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nagree = ["Your {item}, then."]', "names {item}, which is not"),
        ('[actions.act.embedded]\nintents = ["asks_work"]\noffer = ["{reward} coppers?"]',
         "names {reward}, which is not"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nagain = ["Your {item} again?"]', "names {item}, which is not"),
        ('[actions.act.embedded]\nintents = ["asks_work"]\noffer = [""]', "at least 1 character"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nask = ["Could you help me, please?"]', "would not fire"),
        ('[actions.act.embedded]\nkeywords = ["go"]\ncount = { n = ["night"] }', "needs its default number"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nargs = { n = "one" }\ncount = { n = ["night"] }',
         "needs its default number"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nargs = { p = 5 }\nper = { p = "n" }', "not a counted argument"),
        ('[actions.act.embedded]\nkeywords = ["go"]\nargs = { n = 1, p = "x" }\ncount = { n = ["night"] }\n'
         'per = { p = "n" }', "needs its number per n"),
    ],
)
def test_bad_conditions_limits_and_rules_are_problems(table: str, why: str) -> None:
    with pytest.raises(PersonaInvalid, match=why):
        load_persona_text(BASE + f'[actions.act]\ndescription = "Do it."\n{table}\n', "tess.toml")


def test_an_action_name_must_be_a_tool_name() -> None:
    with pytest.raises(PersonaInvalid, match="actions.Open-Gate"):
        load_persona_text(BASE + '[actions.Open-Gate]\ndescription = "Open it."\n', "tess.toml")


def test_the_embedded_intents_are_the_readings_flags() -> None:
    line = read("Hello! Sorry, thanks, could you help me? I like you, bye. What's your name?")
    assert line.intents <= INTENTS
    # Every name in INTENTS is a flag of the reading (replace raises on an unknown one).
    flags: dict[str, Any] = dict.fromkeys(INTENTS, True)
    assert dataclasses.replace(line, **flags).intents == INTENTS


def test_arguments_are_checked_strictly() -> None:
    schema = ArgumentsSchema.model_validate(
        {
            "required": ["item", "price"],
            "properties": {
                "item": {"type": "string", "maxLength": 5},
                "price": {"type": "integer", "minimum": 1, "maximum": 9},
                "weight": {"type": "number"},
                "kind": {"enum": ["iron", "tin"]},
                "rush": {"type": "boolean"},
            },
        }
    )
    assert check_args(schema, {"item": "axe", "price": 3, "weight": 1.5, "kind": "tin", "rush": False}) == []
    assert check_args(schema, {"item": "axe", "price": 3, "weight": 2}) == []
    bad: dict[str, dict[str, Any]] = {
        "price": {"item": "axe", "price": "3"},
        "price ": {"item": "axe", "price": 3.0},
        "price  ": {"item": "axe", "price": True},
        "item": {"price": 3},
        "ghost": {"item": "axe", "price": 3, "ghost": 1},
        "item ": {"item": "swords", "price": 3},
        "price   ": {"item": "axe", "price": 10},
        "kind": {"item": "axe", "price": 3, "kind": "gold"},
        "weight": {"item": "axe", "price": 3, "weight": None},
    }
    for field, args in bad.items():
        problems = check_args(schema, args)
        assert problems and problems[0].startswith(field.strip()), (args, problems)


def test_a_rules_own_words_fill_the_decided_arguments_and_skip_a_missing_one() -> None:
    act = ActionDef.model_validate(
        {
            "description": "Mend it.",
            "arguments": {"properties": {"item": {"type": "string"}, "price": {"type": "integer"}}},
            "embedded": {
                "keywords": ["fix"],
                "done": ["Your {item} is mended.", "That's {price} coppers, then.", "Done."],
                "failed": ["No {item} today."],
            },
        }
    )
    assert act.said(True, {"item": "axe"}) == ("Your axe is mended.", "Done.")
    assert act.said(False, {"item": "axe", "price": 2}) == ("No axe today.",)
    assert ActionDef.model_validate({"description": "Mend it."}).said(True, {}) == ()

