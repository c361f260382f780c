"""Emotional arc of a conversation (seed §6), from per-line scores.

Input: a score (-1..1) per recent line, oldest first. The turn pipeline passes the *stance*
of each of the player's recent lines toward the NPC (engine/tone.py: hostile < 0 < warm),
not VADER's compound: sad news, fears and confessions are no conflict, insults are.
A score is *positive* at >= 0.05, *negative* at <= -0.05, else *neutral* (VADER's own
cut-offs, which tone.py's stance labels share).

`classify()` first applies the seed's label patterns to the last three lines, in the seed's
order, so the seed's cases classify exactly as the seed says:

    [neg, neu, pos]          -> reconciliation   e.g. [-0.6, 0.0, 0.5]
    [pos, neg, neg]          -> deteriorating    e.g. [0.5, -0.6, -0.4]
    [pos, pos, pos]          -> bonding          e.g. [0.6, 0.5, 0.7]
    [*, neg, neg]            -> conflict         e.g. [0.0, -0.5, -0.6]

Cases the seed would call stable are then judged on the scores of a window of the last
`WINDOW` (6) lines, in this order:

- conflict (heated): the window's sign flips `VOLATILE_FLIPS` (3) times or more and its mean
  is <= `VOLATILE_MEAN` (-0.15): an argument that one kind line does not end.
  e.g. [-0.7, 0.3, -0.6, 0.2, -0.6, 0.1]
- reconciliation: the last line is positive and either one of the two before it is negative,
  or the window before the last two lines averages negative while the last two average
  positive. e.g. [-0.6, 0.4, 0.6]; [-0.7, -0.5, -0.6, 0.0, 0.02, 0.4]
- deteriorating: the last line is negative, the window's least-squares slope is
  <= `FALLING_SLOPE` (-0.15 a line), and it fell by >= `FALL` (0.5) from an earlier positive
  peak. e.g. [0.7, 0.4, 0.0, -0.3]
- conflict: the last line is negative and the last three average <= `HOSTILE_MEAN` (-0.3).
  e.g. [-0.7, 0.0, -0.6]
- bonding: the last line is positive, none of the last three is negative, and they average
  >= `WARM_MEAN` (0.3). e.g. [0.6, 0.0, 0.7]
- stable: anything else, and fewer than three lines. e.g. [0.4, -0.3, 0.0]; [0.3, 0.0, -0.1]

Affinity: `adjustment(arc)` is the seed's table. It is paid once per *episode*, not per turn
(the seed paid it every turn: ten bonding turns gave +80). The rule, `arc_bonus(episode, arc)`:

- `episode` is the arc of the current episode: the last non-stable arc of this conversation
  (None before the first). `next_episode()` / `step()` maintain it; stable lines never end an
  episode, so a bonding streak broken by small talk does not pay twice.
- A non-stable arc pays its table value only when its mood (warm: bonding, reconciliation;
  hostile: deteriorating, conflict) differs from the episode's. Staying warm or hostile pays 0.
- Reconciliation pays +15 only after a hostile episode (there was a conflict to resolve);
  entered otherwise it pays as bonding (+8).

So a conflict that is then resolved costs -5 and gains +15; alternating kind and cruel lines
costs the per-turn deltas every time and pays each arc once per swing.

Pure and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Arc(StrEnum):
    RECONCILIATION = "reconciliation"
    BONDING = "bonding"
    DETERIORATING = "deteriorating"
    CONFLICT = "conflict"
    STABLE = "stable"


POSITIVE = 0.05
NEGATIVE = -0.05
WINDOW = 6
VOLATILE_FLIPS = 3
VOLATILE_MEAN = -0.15
FALLING_SLOPE = -0.15
FALL = 0.5
HOSTILE_MEAN = -0.3
WARM_MEAN = 0.3

ADJUSTMENTS: dict[Arc, int] = {
    Arc.RECONCILIATION: 15,
    Arc.BONDING: 8,
    Arc.DETERIORATING: -10,
    Arc.CONFLICT: -5,
    Arc.STABLE: 0,
}
"""The seed's affinity adjustment per arc."""


def label(compound: float) -> str:
    """`positive`, `negative` or `neutral` by VADER's cut-offs."""
    if compound >= POSITIVE:
        return "positive"
    if compound <= NEGATIVE:
        return "negative"
    return "neutral"


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _slope(ys: Sequence[float]) -> float:
    n = len(ys)
    mx, my = (n - 1) / 2, _mean(ys)
    var = sum((x - mx) ** 2 for x in range(n))
    return sum((x - mx) * (y - my) for x, y in enumerate(ys)) / var


def _flips(ys: Sequence[float]) -> int:
    signs = [1 if y >= POSITIVE else -1 for y in ys if y >= POSITIVE or y <= NEGATIVE]
    return sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)


def classify(scores: Sequence[float]) -> Arc:
    """The arc of the recent lines (see the module docstring for the definitions).

    Raises ValueError if a score is not a finite number in -1..1 (a caller bug).
    """
    for s in scores:
        if isinstance(s, bool) or not math.isfinite(s) or not -1.0 <= s <= 1.0:
            raise ValueError(f"sentiment scores must be finite numbers in -1..1, got {s!r}")
    if len(scores) < 3:
        return Arc.STABLE
    w = [float(s) for s in scores[-WINDOW:]]
    last3 = tuple(label(s) for s in w[-3:])
    # The seed's patterns, in the seed's order.
    if last3 == ("negative", "neutral", "positive"):
        return Arc.RECONCILIATION
    if last3 == ("positive", "negative", "negative"):
        return Arc.DETERIORATING
    if last3 == ("positive", "positive", "positive"):
        return Arc.BONDING
    if last3[1:] == ("negative", "negative"):
        return Arc.CONFLICT
    # Generalisations of what the seed calls stable.
    last = w[-1]
    if _flips(w) >= VOLATILE_FLIPS and _mean(w) <= VOLATILE_MEAN:
        return Arc.CONFLICT
    if last >= POSITIVE and (
        min(w[-3], w[-2]) <= NEGATIVE
        or (len(w) >= 4 and _mean(w[:-2]) <= NEGATIVE and _mean(w[-2:]) >= POSITIVE)
    ):
        return Arc.RECONCILIATION
    peak = max(w[:-1])
    if last <= NEGATIVE and _slope(w) <= FALLING_SLOPE and peak >= POSITIVE and peak - last >= FALL:
        return Arc.DETERIORATING
    if last <= NEGATIVE and _mean(w[-3:]) <= HOSTILE_MEAN:
        return Arc.CONFLICT
    if last >= POSITIVE and min(w[-3:]) > NEGATIVE and _mean(w[-3:]) >= WARM_MEAN:
        return Arc.BONDING
    return Arc.STABLE


def adjustment(arc: Arc) -> int:
    """The seed's affinity adjustment for `arc` (+15, +8, -10, -5, 0), before the episode rule."""
    return ADJUSTMENTS[arc]


def mood(arc: Arc | None) -> int:
    """+1 warm (bonding, reconciliation), -1 hostile (deteriorating, conflict), 0 otherwise."""
    if arc in (Arc.BONDING, Arc.RECONCILIATION):
        return 1
    if arc in (Arc.DETERIORATING, Arc.CONFLICT):
        return -1
    return 0


def arc_bonus(previous: Arc | None, arc: Arc) -> int:
    """Affinity change due to entering `arc`, given the current episode's arc `previous`.

    `previous` should be the episode (`next_episode()`), not merely last turn's arc; passing
    last turn's arc still pays once per change but lets small talk restart an episode.
    """
    if arc is Arc.STABLE:
        return 0
    if mood(previous) == mood(arc):
        return 0
    if arc is Arc.RECONCILIATION and mood(previous) >= 0:
        return ADJUSTMENTS[Arc.BONDING]
    return ADJUSTMENTS[arc]


def next_episode(previous: Arc | None, arc: Arc) -> Arc | None:
    """The episode after this turn: stable lines keep the current one."""
    return previous if arc is Arc.STABLE else arc


def coerce(value: object) -> Arc | None:
    """An Arc from stored memory (`"bonding"`), None for anything else."""
    if isinstance(value, Arc):
        return value
    if isinstance(value, str):
        try:
            return Arc(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class ArcStep:
    arc: Arc
    """This turn's arc (goes in the reply)."""
    bonus: int
    """Affinity change due to the arc this turn (0 unless a new episode started)."""
    episode: Arc | None
    """Store this (`.value`) in conversation memory and pass it to the next `step()`."""


def step(episode: Arc | str | None, scores: Sequence[float]) -> ArcStep:
    """One turn: classify, apply the once-per-episode rule, and move the episode on.

    `episode` is what the previous `step()` returned (or its stored string; unknown strings
    count as no episode). Raises ValueError on bad scores, like `classify()`.
    """
    current = coerce(episode)
    arc = classify(scores)
    return ArcStep(arc, arc_bonus(current, arc), next_episode(current, arc))


__all__ = [
    "ADJUSTMENTS",
    "Arc",
    "ArcStep",
    "adjustment",
    "arc_bonus",
    "classify",
    "coerce",
    "label",
    "mood",
    "next_episode",
    "step",
]
