"""Emotional arc classification on scores, the seed's patterns, and the once-per-episode bonus."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.engine.arc import (
    ADJUSTMENTS,
    Arc,
    ArcStep,
    adjustment,
    arc_bonus,
    classify,
    coerce,
    label,
    mood,
    next_episode,
    step,
)

# A representative score per label, and a weak one just past VADER's cut-offs.
STRONG = {"positive": 0.6, "neutral": 0.0, "negative": -0.6}
WEAK = {"positive": 0.05, "neutral": 0.04, "negative": -0.05}


def seed_classify(labels: tuple[str, ...]) -> str:
    """The seed's analyze_conversation_arc, verbatim in logic, on labels."""
    if len(labels) >= 3:
        recent = list(labels[-3:])
        if recent == ["negative", "neutral", "positive"]:
            return "reconciliation"
        elif recent == ["positive", "negative", "negative"]:
            return "deteriorating"
        elif all(s == "positive" for s in recent):
            return "bonding"
        elif labels[-1] == "negative" and labels[-2] == "negative":
            return "conflict"
    return "stable"


@pytest.mark.parametrize("table", [STRONG, WEAK], ids=["strong", "weak"])
def test_every_seed_pattern_classifies_as_the_seed_says(table: dict[str, float]) -> None:
    for labels in itertools.product(table, repeat=3):
        expected = seed_classify(labels)
        if expected != "stable":
            assert classify([table[x] for x in labels]) == Arc(expected), labels


@pytest.mark.parametrize(
    ("scores", "arc"),
    [
        ([-0.6, 0.0, 0.5], Arc.RECONCILIATION),
        ([0.5, -0.6, -0.4], Arc.DETERIORATING),
        ([0.6, 0.5, 0.7], Arc.BONDING),
        ([0.0, -0.5, -0.6], Arc.CONFLICT),
        ([-0.5, -0.5, -0.5], Arc.CONFLICT),
    ],
)
def test_seed_examples(scores: list[float], arc: Arc) -> None:
    assert classify(scores) is arc


@pytest.mark.parametrize(
    ("scores", "arc"),
    [
        # heated argument: sign flips, negative mean -> conflict even though it ends kindly
        ([-0.7, 0.3, -0.6, 0.2, -0.6, 0.1], Arc.CONFLICT),
        # reconciliation beyond [neg, neu, pos]
        ([-0.6, 0.4, 0.6], Arc.RECONCILIATION),
        ([0.3, -0.6, 0.5], Arc.RECONCILIATION),
        ([-0.7, -0.5, -0.6, 0.0, 0.02, 0.4], Arc.RECONCILIATION),
        # a fall from warmth into the negative, not the exact [pos, neg, neg]
        ([0.7, 0.4, 0.0, -0.3], Arc.DETERIORATING),
        # hostile with a neutral line in between
        ([-0.7, 0.0, -0.6], Arc.CONFLICT),
        # warm with a neutral line in between
        ([0.6, 0.0, 0.7], Arc.BONDING),
        # stable
        ([0.4, -0.3, 0.0], Arc.STABLE),
        ([0.3, 0.0, -0.1], Arc.STABLE),  # a mild dip is not deterioration
        ([0.0, 0.0, 0.0], Arc.STABLE),
        ([0.1, 0.0, 0.1], Arc.STABLE),  # faintly positive, not bonding
        ([-0.6, -0.5], Arc.STABLE),  # fewer than three lines
        ([], Arc.STABLE),
    ],
)
def test_score_based_definitions(scores: list[float], arc: Arc) -> None:
    assert classify(scores) is arc


def test_only_the_window_counts() -> None:
    old_fight = [-0.9, -0.8, -0.9, -0.8]
    assert classify(old_fight + [0.1, 0.0, 0.1, 0.0, 0.1, 0.0]) is Arc.STABLE
    assert classify(old_fight + [0.0, 0.1, 0.4]) is Arc.RECONCILIATION


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.5, 2.0])
def test_bad_scores_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="-1..1"):
        classify([0.0, 0.0, bad])


def test_label_uses_vader_cutoffs() -> None:
    assert [label(x) for x in (0.05, 0.049, -0.049, -0.05)] == [
        "positive",
        "neutral",
        "neutral",
        "negative",
    ]


def test_adjustment_is_the_seed_table() -> None:
    assert {arc.value: adjustment(arc) for arc in Arc} == {
        "reconciliation": 15,
        "bonding": 8,
        "deteriorating": -10,
        "conflict": -5,
        "stable": 0,
    }
    assert ADJUSTMENTS[Arc.STABLE] == 0


# --- the once-per-episode rule ----------------------------------------------------------


def run(arcs: list[Arc], start: Arc | None = None) -> list[int]:
    episode, paid = start, []
    for arc in arcs:
        paid.append(arc_bonus(episode, arc))
        episode = next_episode(episode, arc)
    return paid


def test_a_ten_turn_bonding_streak_pays_once() -> None:
    assert run([Arc.BONDING] * 10) == [8] + [0] * 9


def test_small_talk_does_not_restart_a_warm_episode() -> None:
    arcs = [Arc.BONDING, Arc.STABLE, Arc.STABLE, Arc.BONDING, Arc.STABLE, Arc.BONDING]
    assert sum(run(arcs)) == 8


def test_conflict_then_reconciliation() -> None:
    assert run([Arc.CONFLICT, Arc.CONFLICT, Arc.RECONCILIATION, Arc.BONDING]) == [-5, 0, 15, 0]


def test_reconciliation_without_a_conflict_pays_as_bonding() -> None:
    assert arc_bonus(None, Arc.RECONCILIATION) == 8
    assert arc_bonus(Arc.STABLE, Arc.RECONCILIATION) == 8
    assert arc_bonus(Arc.BONDING, Arc.RECONCILIATION) == 0


def test_hostile_episode_pays_once() -> None:
    assert run([Arc.DETERIORATING, Arc.CONFLICT, Arc.STABLE, Arc.CONFLICT]) == [-10, 0, 0, 0]


def test_mood_swings_pay_each_swing() -> None:
    assert run([Arc.BONDING, Arc.CONFLICT, Arc.RECONCILIATION, Arc.DETERIORATING]) == [
        8,
        -5,
        15,
        -10,
    ]


def test_naive_caller_passing_last_arc_still_pays_once_per_change() -> None:
    assert arc_bonus(Arc.BONDING, Arc.BONDING) == 0
    assert arc_bonus(Arc.STABLE, Arc.BONDING) == 8
    assert arc_bonus(Arc.CONFLICT, Arc.STABLE) == 0


def test_mood() -> None:
    assert [mood(a) for a in Arc] == [1, 1, -1, -1, 0]
    assert mood(None) == 0


def test_step_threads_the_episode_through_memory_strings() -> None:
    first = step(None, [0.6, 0.5, 0.7])
    assert first == ArcStep(Arc.BONDING, 8, Arc.BONDING)
    stored = first.episode.value if first.episode else None
    second = step(stored, [0.6, 0.5, 0.7, 0.0])
    assert second == ArcStep(Arc.STABLE, 0, Arc.BONDING)
    third = step(second.episode, [0.5, 0.7, 0.0, 0.6, 0.5, 0.8])
    assert third.bonus == 0 and third.arc is Arc.BONDING


def test_step_ignores_garbage_memory() -> None:
    assert step("not-an-arc", [0.6, 0.5, 0.7]).bonus == 8
    assert coerce(3) is None and coerce("conflict") is Arc.CONFLICT


def test_ten_turns_of_warm_conversation_pay_eight_in_total() -> None:
    scores: list[float] = []
    episode: Arc | None = None
    total = 0
    for turn in range(10):
        scores += [0.5 + turn / 100, 0.0 if turn % 3 else 0.6]  # player warm, NPC warm or flat
        result = step(episode, scores)
        total, episode = total + result.bonus, result.episode
    assert total == 8


_score = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(st.lists(_score, max_size=20))
def test_classify_is_total_and_window_bounded(scores: list[float]) -> None:
    arc = classify(scores)
    assert isinstance(arc, Arc)
    if len(scores) < 3:
        assert arc is Arc.STABLE
    if len(scores) >= 6:  # only the last six lines matter
        assert classify([0.9, -0.9] * 5 + scores[-6:]) is arc


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(Arc)), max_size=30))
def test_bonus_is_bounded_by_mood_changes(arcs: list[Arc]) -> None:
    paid = run(arcs)
    changes = sum(1 for x in paid if x != 0)
    moods = [mood(a) for a in arcs if a is not Arc.STABLE]
    swings = sum(1 for a, b in zip([0, *moods], moods, strict=False) if a != b)
    assert changes <= swings
    assert all(abs(x) <= 15 for x in paid)
