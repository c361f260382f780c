"""The per-turn affinity delta: small, explained, pure.

`turn_delta` looks at one player line only, through its tone reading (engine/tone.py): the
player's *stance toward the NPC* moves affinity, not the mood of the topic. "My mother died
last week." is sad news told in trust (no drop, +1 for confiding); "You are a useless oaf."
is hostility (-5). The emotional-arc adjustments (issue 7, seed §6)
are a separate unit that adds its own `AffinityChange` on top; `combine` sums them and joins
their reasons, and `apply` clamps the result to 0..100.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sidecar.engine.tone import ToneReading
from sidecar.personas.model import Persona

MIN_AFFINITY = 0
MAX_AFFINITY = 100
VERY = 0.6
"""|stance| at or above which a warm / hostile line counts as *very* friendly / rude."""

FRIENDLY, VERY_FRIENDLY, RUDE, VERY_RUDE = 2, 3, -3, -5
CONFIDED = 1
"""A neutral line that shares something personal (grief, a fear, a confession) is trust."""
TOPIC_LIKED = 1
"""Bonus when the player talks about something the NPC enjoys."""


@dataclass(frozen=True)
class AffinityChange:
    """A signed change and a short, human-readable reason (stored and shown to the game)."""

    delta: int
    reason: str


def turn_delta(reading: ToneReading, *, topic_liked: bool = False) -> AffinityChange:
    """The delta for one player line, by its stance: warm +2, very warm +3, hostile −3, very
    hostile −5, neutral 0 (+1 when the player confided something), plus +1 when the line
    touched a subject the NPC enjoys. Never fails."""
    c = reading.stance
    label = reading.stance_label
    if label == "warm":
        delta, reason = (VERY_FRIENDLY, "very friendly") if c >= VERY else (FRIENDLY, "friendly")
    elif label == "hostile":
        delta, reason = (VERY_RUDE, "very rude") if c <= -VERY else (RUDE, "rude")
    elif reading.confiding:
        delta, reason = CONFIDED, "confided in them"
    else:
        delta, reason = 0, "neutral"
    if topic_liked:
        delta += TOPIC_LIKED
        reason += "; talked about something they enjoy"
    return AffinityChange(delta, reason)


def likes_topic(persona: Persona, topic: str | None) -> bool:
    """Whether a topic key (as `Composed.topic` reports it) is among the persona's interests,
    by key or by any of the topic's keywords."""
    if topic is None:
        return False
    interests = {i.lower() for i in persona.interests}
    if topic.lower() in interests:
        return True
    entry = persona.topics.get(topic)
    return entry is not None and any(k in interests for k in entry.keywords)


def combine(changes: Iterable[AffinityChange]) -> AffinityChange:
    """Sum several changes (turn delta, arc adjustment, goal reward); reasons joined by "; "."""
    items = [c for c in changes if c.delta != 0 or c.reason]
    if not items:
        return AffinityChange(0, "neutral")
    return AffinityChange(sum(c.delta for c in items), "; ".join(c.reason for c in items if c.reason))


def clamp(value: float) -> int:
    """Clamp to 0..100 and round. Infinities clamp to the ends.

    Raises:
        ValueError: `value` is NaN (no affinity can be derived from it).
    """
    if math.isnan(value):
        raise ValueError("affinity is NaN")
    return int(round(max(MIN_AFFINITY, min(MAX_AFFINITY, value))))


def apply(value: int, change: AffinityChange) -> int:
    """The new affinity after `change`, clamped to 0..100."""
    return clamp(value + change.delta)


__all__ = [
    "MAX_AFFINITY",
    "MIN_AFFINITY",
    "AffinityChange",
    "apply",
    "clamp",
    "combine",
    "likes_topic",
    "turn_delta",
]
