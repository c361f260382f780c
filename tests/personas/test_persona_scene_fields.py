"""Persona fields for multi-NPC scenes (issue 14): talkativeness and interests, with file:line problems."""

from __future__ import annotations

import pytest

from sidecar.errors import PersonaInvalid
from sidecar.personas.loader import load_persona_text

BASE = """\
id = "tess"
name = "Tess"
role = "the village tester"
bio = "Tests things."
greetings = ["Hello, {player}."]
farewells = ["Bye."]
interests = ["tests", "bugs"]
talkativeness = 0.8
"""
# 7 interests   8 talkativeness


def problems_of(text: str) -> list[str]:
    with pytest.raises(PersonaInvalid) as info:
        load_persona_text(text, "tess.toml")
    return [f"{p['file']}:{p['line']}: {p['field']}: {p['message']}" for p in info.value.details["problems"]]


def test_talkativeness_and_interests_are_read() -> None:
    tess = load_persona_text(BASE, "tess.toml")
    assert tess.talkativeness == 0.8 and tess.interests == ["tests", "bugs"]
    plain = load_persona_text(BASE.replace("talkativeness = 0.8\n", ""), "tess.toml")
    assert plain.talkativeness == 0.5


@pytest.mark.parametrize("value", ["1.5", "-0.1", '"chatty"'])
def test_talkativeness_outside_zero_to_one_is_refused_at_its_line(value: str) -> None:
    (problem,) = problems_of(BASE.replace("talkativeness = 0.8", f"talkativeness = {value}"))
    assert problem.startswith("tess.toml:8: talkativeness: ")


def test_an_interest_that_is_not_a_word_is_refused_at_its_line() -> None:
    (problem,) = problems_of(BASE.replace('["tests", "bugs"]', '["tests", ""]'))
    assert problem.startswith("tess.toml:7: interests[1]: ")
