"""The per-turn affinity delta and the 0..100 clamp."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.engine.affinity import (
    AffinityChange,
    apply,
    clamp,
    combine,
    likes_topic,
    turn_delta,
)
from sidecar.engine.sentiment import analyze
from sidecar.engine.types import Sentiment
from sidecar.personas.model import Persona


@pytest.mark.parametrize(
    ("sentiment", "delta", "reason"),
    [
        (Sentiment("positive", 0.3), 2, "friendly"),
        (Sentiment("positive", 0.6), 3, "very friendly"),
        (Sentiment("positive", 0.95), 3, "very friendly"),
        (Sentiment("negative", -0.3), -3, "rude"),
        (Sentiment("negative", -0.6), -5, "very rude"),
        (Sentiment("neutral", 0.0), 0, "neutral"),
        (Sentiment("neutral", 0.04), 0, "neutral"),
    ],
)
def test_delta_by_tone(sentiment: Sentiment, delta: int, reason: str) -> None:
    assert turn_delta(sentiment) == AffinityChange(delta, reason)


def test_liked_topic_adds_one_and_says_why() -> None:
    change = turn_delta(Sentiment("positive", 0.3), topic_liked=True)
    assert change.delta == 3
    assert "enjoy" in change.reason and change.reason.startswith("friendly")
    assert turn_delta(Sentiment("neutral", 0.0), topic_liked=True).delta == 1


def test_real_lines_move_affinity_the_expected_way() -> None:
    assert turn_delta(analyze("Thank you, you are wonderful and kind!")).delta == 3
    assert turn_delta(analyze("You are a stupid, useless idiot.")).delta == -5
    assert turn_delta(analyze("Tell me about the forge.")).delta == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-5, 0), (0, 0), (50, 50), (100, 100), (140, 100), (49.6, 50), (math.inf, 100), (-math.inf, 0)],
)
def test_clamp(value: float, expected: int) -> None:
    assert clamp(value) == expected


def test_clamp_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        clamp(math.nan)


@given(st.integers(0, 100), st.integers(-50, 50))
def test_apply_stays_in_range(value: int, delta: int) -> None:
    new = apply(value, AffinityChange(delta, "x"))
    assert 0 <= new <= 100
    assert new == max(0, min(100, value + delta))


def test_combine_sums_and_joins_reasons() -> None:
    total = combine([AffinityChange(2, "friendly"), AffinityChange(8, "bonding")])
    assert total == AffinityChange(10, "friendly; bonding")
    assert combine([]) == AffinityChange(0, "neutral")


def _persona(**extra: object) -> Persona:
    return Persona.model_validate(
        {"id": "bram", "name": "Bram", "role": "smith", "bio": "A smith.",
         "greetings": ["Hello."], "farewells": ["Bye."], **extra}
    )


def test_likes_topic_by_key_or_keyword() -> None:
    p = _persona(
        interests=["smithing"],
        topics={
            "forge": {"keywords": ["smithing", "anvil"], "lines": ["Hot work."]},
            "weather": {"keywords": ["rain"], "lines": ["Wet."]},
        },
    )
    assert likes_topic(p, "forge")
    assert not likes_topic(p, "weather")
    assert not likes_topic(p, None)
    assert not likes_topic(p, "unknown")
