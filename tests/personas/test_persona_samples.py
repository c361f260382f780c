"""The sample villagers of Thimbleford: valid, complete, distinct, and consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidecar.personas.loader import PersonaSet, load_personas, validate_paths
from sidecar.personas.model import PRESETS, PROMPT_PLACEHOLDERS, Persona, render_line

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "personas"
FILES = sorted(SAMPLES.glob("*.toml"))


@pytest.fixture(scope="module")
def village() -> PersonaSet:
    return load_personas(SAMPLES)


def test_every_sample_validates_without_errors_or_warnings() -> None:
    assert [str(p) for p in validate_paths([SAMPLES])] == []
    for path in FILES:  # one at a time too: neighbours named in relationships exist
        assert [str(p) for p in validate_paths([path])] == []


def test_five_villagers_one_per_preset(village: PersonaSet) -> None:
    assert sorted(village.personas) == ["ansel", "goldie", "hesper", "rook", "sorrel"]
    assert sorted(p.personality.preset or "" for p in village) == sorted(PRESETS)
    assert [p.stem for p in FILES] == sorted(village.personas)


@pytest.mark.parametrize("pid", ["ansel", "goldie", "hesper", "rook", "sorrel"])
def test_each_villager_is_complete(village: PersonaSet, pid: str) -> None:
    p = village.get(pid)
    assert p.aliases and p.role and len(p.bio) > 200
    assert p.speech.quirks and p.speech.catchphrases
    assert len(p.greetings) >= 6 and len(p.farewells) >= 6 and len(p.fallbacks) >= 6
    assert len(p.topics) >= 8
    assert all(len(t.lines) >= 3 and len(t.keywords) >= 3 for t in p.topics.values())
    assert len(p.opinions) >= 6 and len(p.facts) >= 8 and p.interests
    assert set(p.relationships) == set(village.personas) - {pid}
    assert all(r.note for r in p.relationships.values())
    assert len(p.goals) == 1
    assert all(g.success_keywords for g in p.goals.values())
    personal = [f for f in p.facts if re.search(r"\b(I feel|My|my)\b", f)]
    assert len(personal) >= 3, "personal facts are what a build_trust goal looks for"
    assert any("Thimbleford" in f or "village" in f.lower() for f in p.facts)


@pytest.mark.parametrize("pid", ["ansel", "goldie", "hesper", "rook", "sorrel"])
def test_lines_render_and_topics_match_common_words(village: PersonaSet, pid: str) -> None:
    p = village.get(pid)
    spoken = [
        *p.greetings,
        *p.farewells,
        *p.fallbacks,
        *p.facts,
        *p.opinions.values(),
        *(line for t in p.topics.values() for line in t.lines),
    ]
    for line in spoken:
        rendered = render_line(line, player="Wren", name=p.name)
        assert "{" not in rendered and "}" not in rendered
    assert any("{player}" in g for g in p.greetings)
    assert len(set(spoken)) == len(spoken), "a line appears twice"
    keywords = {k for t in p.topics.values() for k in t.keywords}
    for word in ("weather", "rain", "food", "village", "rumours", "family", "danger"):
        assert word in keywords, f"{pid} has no topic for {word!r}"
    for topic in p.topics.values():
        assert len(set(topic.keywords)) == len(topic.keywords)


def test_relationships_have_friends_and_tensions(village: PersonaSet) -> None:
    affinities = [r.affinity for p in village for r in p.relationships.values()]
    assert min(affinities) < 50 and max(affinities) >= 80
    # Feelings need not be mutual, but the notes must be about people who exist.
    for p in village:
        for other in p.relationships:
            assert other in village


def test_system_prompts_fill_in(village: PersonaSet) -> None:
    values = {k: f"<{k}>" for k in PROMPT_PLACEHOLDERS}
    for p in village:
        prompt = p.system_prompt.format_map(values)
        assert "<name>" in prompt and "<player>" in prompt and "AI" in prompt


def test_names_are_distinct_across_the_village(village: PersonaSet) -> None:
    names = [n.casefold() for p in village for n in p.names]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_are_commented_for_modders(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#:schema persona.schema.json\n")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 15
    for section in ("Identity", "Spoken lines", "Facts", "Personality", "Topics", "Goals"):
        assert f"# ── {section}" in text


def test_model_objects_are_plain_personas(village: PersonaSet) -> None:
    assert all(isinstance(p, Persona) for p in village)
