"""Per-line sentiment with vaderSentiment (a maintained lexicon model, not a hand word list).

VADER's analyzer reads two lexicon files when it is built (about 25 ms), so it is created once,
lazily, on first use, under a lock: the sidecar may score lines from several threads. Scoring
itself only reads the lexicon, so one analyzer is shared by every caller.

A turn scores the player's line and the NPC's, and the tone reading, the goal heuristics and
option rerolls score lines again; lines recur (options the player picks, phrases the embedded
engine composes from). VADER is a pure function of the text and costs ~0.3 ms a line, so the
last `CACHED_LINES` results are kept, keyed by the exact (capped) text: the same text always
gets the same result, whether cached or not.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Literal, Protocol

from sidecar.engine.types import Sentiment

POSITIVE = 0.05
"""Compound score at or above which a line is `positive` (VADER's own recommended cut-off)."""
NEGATIVE = -0.05
"""Compound score at or below which a line is `negative`."""
MAX_SCORED_CHARS = 4_000
"""Only this much of a line is scored: VADER's cost grows with length, and the wire already
caps a player's line well below this, so the cap only bounds the cost of unexpected input."""
CACHED_LINES = 4_096
"""How many distinct lines' results are kept (least recently used go first): a few MB at most,
since every key is capped at `MAX_SCORED_CHARS`."""

Tone = Literal["friendly", "rude", "neutral"]



class _Analyzer(Protocol):
    """The part of vaderSentiment's (untyped) analyzer that is used here."""

    def polarity_scores(self, text: str) -> dict[str, float]: ...

    lexicon: dict[str, float]
    """VADER's word → valence table (-4..4), as loaded."""


_lock = threading.Lock()
_analyzer: _Analyzer | None = None


def _get() -> _Analyzer:
    global _analyzer
    analyzer = _analyzer
    if analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import (
                    SentimentIntensityAnalyzer,
                )

                _analyzer = SentimentIntensityAnalyzer()
            analyzer = _analyzer
        assert analyzer is not None
    return analyzer


def analyze(text: str) -> Sentiment:
    """Score `text`: label `positive` / `negative` / `neutral` and VADER's compound (-1..1).

    Never fails on any str (empty, emoji, control characters): empty text is neutral, 0.0.
    The first call pays for loading the lexicon.
    """
    return _scored(text[:MAX_SCORED_CHARS])


@lru_cache(maxsize=CACHED_LINES)
def _scored(text: str) -> Sentiment:
    """VADER's reading of `text` (already capped); `lru_cache` is safe across threads."""
    scores = _get().polarity_scores(text)
    compound = max(-1.0, min(1.0, float(scores["compound"])))
    if compound >= POSITIVE:
        label = "positive"
    elif compound <= NEGATIVE:
        label = "negative"
    else:
        label = "neutral"
    return Sentiment(label=label, compound=compound)


def word_valence(word: str) -> float:
    """VADER's own valence of one lowercased word (-4..4), 0.0 when VADER does not know it."""
    return float(_get().lexicon.get(word, 0.0))


def tone(sentiment: Sentiment) -> Tone:
    """How the player came across: `friendly`, `rude` or `neutral` (from the label)."""
    if sentiment.label == "positive":
        return "friendly"
    if sentiment.label == "negative":
        return "rude"
    return "neutral"


__all__ = ["CACHED_LINES", "MAX_SCORED_CHARS", "NEGATIVE", "POSITIVE", "Tone", "analyze", "tone", "word_valence"]
