"""The persona JSON Schema for modders, and the model's own rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sidecar.personas.loader import (
    persona_json_schema,
    render_schema,
    schema_is_current,
    write_schema,
)
from sidecar.personas.model import PRESETS, Persona, render_line

REPO = Path(__file__).resolve().parents[2]
CHECKED_IN = REPO / "personas" / "persona.schema.json"


def test_checked_in_schema_is_up_to_date() -> None:
    assert schema_is_current(CHECKED_IN), (
        "personas/persona.schema.json is stale: run `parley schema` (or `make schema`) "
        "and commit the result"
    )


def test_schema_describes_the_model() -> None:
    schema = persona_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == set(Persona.model_fields)
    assert set(schema["required"]) == {"id", "name", "role", "bio", "greetings", "farewells"}
    assert schema["additionalProperties"] is False
    preset = schema["$defs"]["Personality"]["properties"]["preset"]
    assert preset["enum"] == [*PRESETS, "custom"]
    line = schema["properties"]["greetings"]["items"]
    assert "{player}" in line["pattern"].replace("\\", "")
    assert schema["properties"]["greetings"]["description"]
    assert json.loads(render_schema()) == schema


def test_write_schema_writes_once_then_reports_no_change(tmp_path: Path) -> None:
    target = tmp_path / "persona.schema.json"
    assert not schema_is_current(target)
    assert write_schema(target) is True
    assert schema_is_current(target)
    assert write_schema(target) is False
    target.write_text("{}", encoding="utf-8")
    assert not schema_is_current(target)
    assert write_schema(tmp_path) is True  # a directory gets persona.schema.json inside
    assert target.read_text(encoding="utf-8") == render_schema()


def minimal(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "tess",
        "name": "Tess",
        "role": "r",
        "bio": "b",
        "greetings": ["Hi, {player}."],
        "farewells": ["Bye from {name}."],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "line",
    ["Hi.", "Hi, {player}!", "{name} here, {player}.", "no braces at all: (fine) [fine]"],
)
def test_lines_with_known_placeholders_are_accepted(line: str) -> None:
    Persona.model_validate(minimal(greetings=[line], facts=[line], opinions={"x": line}))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Hi, {Player}.", "unknown placeholder {Player}"),
        ("Hi, {}.", "unknown placeholder {}"),
        ("Hi, {player.name}.", "unknown placeholder {player.name}"),
        ("Hi, {{player}}.", "stray brace"),
        ("Hi, }player{.", "stray brace"),
        ("Hi, {player.", "stray brace"),
    ],
)
def test_lines_with_other_braces_are_refused(line: str, message: str) -> None:
    for field in ("greetings", "farewells", "fallbacks", "facts"):
        with pytest.raises(ValidationError, match=message):
            Persona.model_validate(minimal(**{field: [line]}))
    with pytest.raises(ValidationError, match=message):
        Persona.model_validate(minimal(topics={"t": {"keywords": ["k"], "lines": [line]}}))


def test_render_line_fills_placeholders_verbatim() -> None:
    assert render_line("Hi {player}, I'm {name}.", player="Wren", name="Ansel") == (
        "Hi Wren, I'm Ansel."
    )
    assert render_line("{player}{player}", player="{name}", name="X") == "{name}{name}"
    assert render_line("no placeholders", player="a", name="b") == "no placeholders"


def test_model_rules_still_hold() -> None:
    with pytest.raises(ValidationError, match="repeats the name"):
        Persona.model_validate(minimal(aliases=["tess"]))
    with pytest.raises(ValidationError, match="unknown placeholder"):
        Persona.model_validate(minimal(system_prompt="Hi {nope}"))
    with pytest.raises(ValidationError, match="relationship with itself"):
        Persona.model_validate(minimal(relationships={"tess": {}}))
    with pytest.raises(ValidationError, match="unknown preset"):
        Persona.model_validate(minimal(personality={"preset": "grumpy"}))
    p = Persona.model_validate(minimal(personality={"preset": "custom", "custom": {}}))
    assert p.personality.custom is not None and p.personality.traits.social == 50
