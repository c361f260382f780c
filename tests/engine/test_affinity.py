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
from sidecar.engine.tone import ToneReading, read
from sidecar.engine.types import Sentiment
from sidecar.personas.model import Persona


def stance(value: float, *, confiding: bool = False) -> ToneReading:
    """A reading with this stance (the valence and VADER's score do not move affinity)."""
    return ToneReading(Sentiment("neutral", 0.0), value, 0.0, confiding=confiding)


@pytest.mark.parametrize(
    ("reading", "delta", "reason"),
    [
        (stance(0.3), 2, "friendly"),
        (stance(0.6), 3, "very friendly"),
        (stance(0.95), 3, "very friendly"),
        (stance(-0.3), -3, "rude"),
        (stance(-0.6), -5, "very rude"),
        (stance(0.0), 0, "neutral"),
        (stance(0.04), 0, "neutral"),
    ],
)
def test_delta_by_tone(reading: ToneReading, delta: int, reason: str) -> None:
    assert turn_delta(reading) == AffinityChange(delta, reason)


def test_liked_topic_adds_one_and_says_why() -> None:
    change = turn_delta(stance(0.3), topic_liked=True)
    assert change.delta == 3
    assert "enjoy" in change.reason and change.reason.startswith("friendly")
    assert turn_delta(stance(0.0), topic_liked=True).delta == 1


def test_real_lines_move_affinity_the_expected_way() -> None:
    assert turn_delta(read("Thank you, you are wonderful and kind!")).delta == 3
    assert turn_delta(read("You are a stupid, useless idiot.")).delta == -5
    assert turn_delta(read("Tell me about the forge.")).delta == 0


@pytest.mark.parametrize(
    "text", ["My mother died last week.", "I'm scared of the dark forest.", "I've never told anyone: I'm ashamed."]
)
def test_sad_news_and_confessions_never_cost_affinity(text: str) -> None:
    change = turn_delta(read(text))
    assert change == AffinityChange(1, "confided in them")


def test_news_about_the_world_is_neutral_and_a_confiding_insult_is_still_rude() -> None:
    assert turn_delta(read("The mill burned down last night.")).delta == 0
    assert turn_delta(stance(-0.7, confiding=True)).delta == -5


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
        {
            "id": "bram",
            "name": "Bram",
            "role": "smith",
            "bio": "A smith.",
            "greetings": ["Hello."],
            "farewells": ["Bye."],
            **extra,
        }
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
