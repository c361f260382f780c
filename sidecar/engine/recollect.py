"""Recall ranking, as the Generative Agents paper does it (Park et al., 2023, §4.1):

    score = w_recency · recency + w_importance · importance + w_relevance · relevance

each part normalised to 0..1. Recency decays exponentially with the hours since the memory
was made (`decay_per_hour` ** hours: already 0..1); importance is the stored 1–10 on its
fixed scale ((i - 1) / 9); relevance is SQLite FTS5's BM25 of the memory's text against the
player's line (sidecar/store/memory.py: 0 for no shared word, else 1 + BM25), min-max
normalised over the memories being ranked, as the paper normalises. Recency and importance
are not min-max normalised: over memories made minutes apart that would stretch a moment's
difference into the whole range, and "Do you remember me?" would be answered with the
last small thing said instead of the player's name. The paper's relevance is
an embedding cosine; BM25 is what runs offline in the store, with no model.

Pure: no I/O. Weights and the decay come from sidecar/data/memory.toml `[recall]` and may be
overridden per `Dialogue` (`RecallWeights`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sidecar.engine.data import read_toml
from sidecar.engine.text import tokens
from sidecar.errors import ConfigError
from sidecar.store.memory import MAX_IMPORTANCE, MIN_IMPORTANCE, Memory

_FILE = "memory.toml"
_WORDS = read_toml(_FILE).get("words", {})
_STOP = frozenset(_WORDS.get("stop_words", ())) if isinstance(_WORDS, dict) else frozenset()
if not _STOP or not all(isinstance(w, str) and w == w.strip().lower() for w in _STOP):
    raise ConfigError(f"sidecar/data/{_FILE}: words.stop_words: must be a non-empty list of lowercase words")


@dataclass(frozen=True)
class RecallWeights:
    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0
    decay_per_hour: float = 0.995
    limit: int = 5
    """How many memories a turn is given."""

    def __post_init__(self) -> None:
        if min(self.recency, self.importance, self.relevance) < 0:
            raise ConfigError("recall weights must be >= 0")
        if not 0 < self.decay_per_hour <= 1:
            raise ConfigError("recall decay_per_hour must be in (0, 1]")
        if self.limit < 0:
            raise ConfigError("recall limit must be >= 0")


def _defaults() -> RecallWeights:
    table = read_toml(_FILE).get("recall")
    if not isinstance(table, dict):
        raise ConfigError(f"sidecar/data/{_FILE}: recall: must be a table")
    try:
        return RecallWeights(
            recency=float(table["recency"]),
            importance=float(table["importance"]),
            relevance=float(table["relevance"]),
            decay_per_hour=float(table["decay_per_hour"]),
            limit=int(table["limit"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"sidecar/data/{_FILE}: recall: {exc}") from exc


DEFAULT_WEIGHTS = _defaults()


@dataclass(frozen=True)
class Recollection:
    """A memory recalled for one turn, with how it ranked."""

    memory: Memory
    score: float
    relevance: float
    """The normalised BM25 part, 0..1: above 0 the memory shares a word with the player's line."""
    earlier: bool = True
    """Made before this conversation (in an earlier meeting, or added by the game)."""

    @property
    def relevant(self) -> bool:
        return self.relevance > 0


def _normalised(values: Sequence[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if hi - lo <= 1e-12:
        # All equal: the part cannot tell them apart; it counts fully if it is there at all.
        return [1.0 if hi > 0 else 0.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def rank(
    candidates: Iterable[tuple[Memory, float]],
    *,
    now: float,
    weights: RecallWeights = DEFAULT_WEIGHTS,
    conversation: str | None = None,
) -> list[Recollection]:
    """`candidates` (memory, raw BM25 relevance ≥ 0) best first; ties go to the newer memory.
    `conversation`: the one being spoken in (its own memories are not `earlier`)."""
    items = list(candidates)
    if not items:
        return []
    recency = [weights.decay_per_hour ** (max(0.0, now - m.at) / 3600.0) for m, _ in items]
    importance = [(m.importance - MIN_IMPORTANCE) / (MAX_IMPORTANCE - MIN_IMPORTANCE) for m, _ in items]
    relevance = _normalised([rel for _, rel in items])
    scored = [
        Recollection(
            m,
            weights.recency * rec + weights.importance * imp + weights.relevance * rel_n,
            rel_n if raw > 0 else 0.0,
            m.source is None or m.source.conversation != conversation,
        )
        for (m, raw), rec, imp, rel_n in zip(items, recency, importance, relevance, strict=True)
    ]
    return sorted(scored, key=lambda r: (-r.score, -r.memory.at, -r.memory.id))


def query_words(text: str) -> list[str]:
    """The words of a player's line that recall matches memories on: function and filler
    words (memory.toml `stop_words`) left out, since any match makes a memory relevant (in a
    young store BM25 cannot weigh a common word down: see `MemoryStore.candidates`)."""
    return [w for w in tokens(text) if len(w) > 1 and w not in _STOP]


__all__ = ["DEFAULT_WEIGHTS", "RecallWeights", "Recollection", "query_words", "rank"]
