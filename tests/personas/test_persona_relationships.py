"""`[relationships.<id>]` (kind, affinity) and `gossip` in persona files: file:line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.errors import PersonaInvalid
from sidecar.personas.loader import load_persona_text, load_personas
from sidecar.personas.model import RELATIONSHIP_KINDS

SAMPLES = Path(__file__).resolve().parents[2] / "personas"

BASE = """\
id = "tess"
name = "Tess"
role = "the village tester"
bio = "Tests things."
greetings = ["Hello, {player}."]
farewells = ["Bye."]
gossip = true

[relationships.ansel]
kind = "friend"
affinity = 70
"""
# 7 gossip   9 [relationships.ansel]   10 kind   11 affinity


def problems_of(text: str) -> list[str]:
    with pytest.raises(PersonaInvalid) as info:
        load_persona_text(text, "tess.toml")
    return [f"{p['file']}:{p['line']}: {p['field']}: {p['message']}" for p in info.value.details["problems"]]


def test_kind_affinity_and_gossip_are_read() -> None:
    tess = load_persona_text(BASE, "tess.toml")
    assert tess.gossip is True
    rel = tess.relationships["ansel"]
    assert (rel.kind, rel.affinity) == ("friend", 70)


def test_defaults_keep_older_files_valid() -> None:
    text = BASE.replace("gossip = true\n", "").replace('kind = "friend"\n', "")
    tess = load_persona_text(text, "tess.toml")
    assert tess.gossip is False
    assert tess.relationships["ansel"].kind == "acquaintance"


def test_unknown_kind_is_an_error_at_its_line() -> None:
    assert problems_of(BASE.replace('"friend"', '"bestie"')) == [
        f"tess.toml:10: relationships.ansel.kind: unknown kind 'bestie'; use one of {', '.join(RELATIONSHIP_KINDS)}"
    ]


def test_affinity_out_of_range_is_an_error_at_its_line() -> None:
    (problem,) = problems_of(BASE.replace("affinity = 70", "affinity = 101"))
    assert problem.startswith("tess.toml:11: relationships.ansel.affinity: ")
    assert "100" in problem


def test_gossip_must_be_a_boolean() -> None:
    (problem,) = problems_of(BASE.replace("gossip = true", 'gossip = "yes"'))
    assert problem.startswith("tess.toml:7: gossip: ")


def test_a_relationship_with_itself_is_an_error() -> None:
    (problem,) = problems_of(BASE.replace("[relationships.ansel]", "[relationships.tess]"))
    assert "relationship with itself" in problem


def test_samples_name_a_kind_for_every_relationship_and_two_gossips() -> None:
    loaded = load_personas(SAMPLES)
    assert not loaded.problems
    kinds = {(p.id, o): r.kind for p in loaded.personas.values() for o, r in p.relationships.items()}
    assert kinds and set(kinds.values()) <= set(RELATIONSHIP_KINDS)
    assert "acquaintance" != kinds[("ansel", "goldie")]
    assert {p.id for p in loaded.personas.values() if p.gossip} == {"goldie", "rook"}
