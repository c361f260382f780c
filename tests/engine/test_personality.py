"""Presets (seed §3), inference from traits, custom presets and affinity tuning."""

from __future__ import annotations

import dataclasses

import pytest

from sidecar.engine.personality import (
    PRESETS,
    Preset,
    band_for,
    infer_preset,
    preset_for,
    tune,
    voice_for,
)
from sidecar.personas.model import Persona


def _persona(personality: dict[str, object] | None = None) -> Persona:
    return Persona.model_validate(
        {"id": "bram", "name": "Bram", "role": "smith", "bio": "A smith.",
         "greetings": ["Hello."], "farewells": ["Bye."], "personality": personality or {}}
    )


def _traits(**traits: int) -> Persona:
    return _persona({"traits": traits})


def test_seed_values_of_the_five_presets() -> None:
    assert PRESETS["shy"] == Preset("shy", 0.6, 0.3, 80, "brief and hesitant")
    assert PRESETS["outgoing"] == Preset("outgoing", 0.9, 1.2, 150, "enthusiastic and detailed")
    assert PRESETS["intellectual"] == Preset(
        "intellectual", 0.7, 1.0, 140, "thoughtful and articulate"
    )
    assert PRESETS["flirty"] == Preset("flirty", 0.8, 0.8, 100, "playful with subtle innuendo")
    assert PRESETS["sarcastic"] == Preset("sarcastic", 0.85, 1.1, 90, "witty and slightly mocking")


def test_presets_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["shy"].temperature = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        ({"social": 71}, "outgoing"),
        ({"social": 71, "intelligence": 90}, "outgoing"),  # social is checked first
        ({"social": 70, "intelligence": 71}, "intellectual"),
        ({"social": 20, "intelligence": 90}, "intellectual"),  # intelligence before shyness
        ({"social": 29}, "shy"),
        ({"social": 30}, "outgoing"),
        ({"social": 50, "intelligence": 70}, "outgoing"),
        ({}, "outgoing"),
    ],
)
def test_inference_follows_the_seed_rules(traits: dict[str, int], expected: str) -> None:
    assert infer_preset(_traits(**traits)) == expected


def test_named_preset_wins_over_traits() -> None:
    p = _persona({"preset": "sarcastic", "traits": {"social": 95}})
    assert infer_preset(p) == "sarcastic"
    assert preset_for(p) is PRESETS["sarcastic"]


def test_custom_preset_from_the_persona() -> None:
    p = _persona({
        "preset": "custom",
        "custom": {"temperature": 0.5, "frequency_penalty": 0.2, "max_tokens": 60,
                   "style": "dry and mocking, never warm"},
    })
    assert infer_preset(p) == "custom"
    assert preset_for(p) == Preset("custom", 0.5, 0.2, 60, "dry and mocking, never warm")
    t = tune(p, 50)
    assert (t.preset, t.temperature, t.max_tokens) == ("custom", 0.5, 60)
    assert t.voice == "sarcastic"  # from the style words
    assert t.style_text == "dry and mocking, never warm"


def test_custom_preset_without_style_words_speaks_by_traits() -> None:
    p = _persona({"preset": "custom", "traits": {"social": 10},
                  "custom": {"style": "plain"}})
    assert voice_for(p) == "shy"


@pytest.mark.parametrize(("affinity", "band"), [(0, "guarded"), (19, "guarded"), (20, "neutral"),
                                                (80, "neutral"), (81, "close"), (100, "close")])
def test_bands(affinity: int, band: str) -> None:
    assert band_for(affinity) == band


def test_affinity_above_80_is_more_expressive() -> None:
    p = _persona({"preset": "shy"})
    t = tune(p, 81)
    assert t.temperature == pytest.approx(0.7) and t.max_tokens == 100
    assert t.style_text == "brief and hesitant; more expressive and talkative"
    base = tune(p, 50)
    assert base.temperature == pytest.approx(0.6) and base.max_tokens == 80
    assert base.style_text == "brief and hesitant"
    assert t.knobs.max_parts > base.knobs.max_parts
    assert t.knobs.warmth > base.knobs.warmth


def test_affinity_below_20_is_guarded_and_brief() -> None:
    p = _persona({"preset": "outgoing"})
    t = tune(p, 19)
    assert t.temperature == pytest.approx(0.8) and t.max_tokens == 130
    assert t.style_text.endswith("guarded and brief")
    base = tune(p, 50)
    assert t.knobs.max_parts < base.knobs.max_parts
    assert t.knobs.asks_back < base.knobs.asks_back


def test_tuning_never_mutates_the_presets() -> None:
    p = _persona({"preset": "flirty"})
    for _ in range(5):
        tune(p, 95)
        tune(p, 5)
    assert PRESETS["flirty"].temperature == 0.8 and PRESETS["flirty"].max_tokens == 100


def test_results_are_clamped_to_schema_ranges() -> None:
    hot = _persona({"preset": "custom", "custom": {"temperature": 2.0, "max_tokens": 1024}})
    t = tune(hot, 100)
    assert t.temperature == 2.0 and t.max_tokens == 1024
    cold = _persona({"preset": "custom", "custom": {"temperature": 0.0, "max_tokens": 16}})
    t = tune(cold, 0)
    assert t.temperature == 0.0 and t.max_tokens == 16


def test_out_of_range_affinity_is_clamped_first() -> None:
    p = _persona({"preset": "shy"})
    assert tune(p, 500) == tune(p, 100)
    assert tune(p, -3) == tune(p, 0)


def test_knobs_differ_by_voice() -> None:
    shy = tune(_persona({"preset": "shy"}), 50).knobs
    out = tune(_persona({"preset": "outgoing"}), 50).knobs
    sar = tune(_persona({"preset": "sarcastic"}), 50).knobs
    assert shy.hesitation > out.hesitation and shy.max_parts < out.max_parts
    assert out.exclamation > shy.exclamation and out.asks_back > sar.asks_back
    assert sar.sarcasm > out.sarcasm
    assert shy.target_words < out.target_words
