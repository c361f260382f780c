"""Sentiment labels from vaderSentiment, on lines whose tone is not in doubt."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.engine.sentiment import MAX_SCORED_CHARS, analyze, tone
from sidecar.engine.types import Sentiment


@pytest.mark.parametrize(
    "text",
    ["Thank you so much, you are wonderful!", "I love this village, it's lovely.", "Great work!"],
)
def test_clearly_positive_lines_are_positive_and_friendly(text: str) -> None:
    s = analyze(text)
    assert s.label == "positive" and s.compound >= 0.05
    assert tone(s) == "friendly"


@pytest.mark.parametrize(
    "text", ["You are a stupid, useless idiot.", "I hate you.", "This is terrible and awful."]
)
def test_clearly_negative_lines_are_negative_and_rude(text: str) -> None:
    s = analyze(text)
    assert s.label == "negative" and s.compound <= -0.05
    assert tone(s) == "rude"


@pytest.mark.parametrize("text", ["Tell me about the forge.", "", "   ", "What time is it?"])
def test_plain_lines_are_neutral(text: str) -> None:
    s = analyze(text)
    assert s.label == "neutral" and -0.05 < s.compound < 0.05
    assert tone(s) == "neutral"


def test_thresholds_are_inclusive_at_plus_minus_005() -> None:
    assert tone(Sentiment("positive", 0.05)) == "friendly"
    assert tone(Sentiment("negative", -0.05)) == "rude"
    assert tone(Sentiment("neutral", 0.0)) == "neutral"


def test_only_the_start_of_a_huge_line_is_scored() -> None:
    head = "You are a stupid, useless idiot. "
    huge = head + "x " * MAX_SCORED_CHARS + "I love you, you are wonderful and great!" * 50
    assert analyze(huge).label == "negative"


def test_concurrent_first_use_builds_one_working_analyzer() -> None:
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        label = analyze("What a wonderful, happy day!").label
        with lock:
            results.append(label)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["positive"] * 8


@given(st.text(max_size=300))
def test_any_text_scores_within_range(text: str) -> None:
    s = analyze(text)
    assert s.label in {"positive", "negative", "neutral"}
    assert -1.0 <= s.compound <= 1.0


def test_a_repeated_line_is_read_once_and_gets_the_same_result() -> None:
    from sidecar.engine.sentiment import _get, _scored

    text = "You are a liar and a thief, and I am done with you."
    first = analyze(text)
    hits = _scored.cache_info().hits
    again = analyze(text)
    assert again == first
    assert _scored.cache_info().hits == hits + 1
    # the cached result is VADER's own reading of the text
    assert first.compound == max(-1.0, min(1.0, float(_get().polarity_scores(text)["compound"])))
