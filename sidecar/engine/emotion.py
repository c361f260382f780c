"""The face an NPC line is said with: one of eight emotions and an intensity (issue 11 §4).

Every NPC line in a reply (greeting, answer, farewell) carries `emotion` and `intensity`
(0..1), so a game can pick a portrait or an animation. The embedded engine has no feelings
of its own to report, so they are derived, in one place, from:

- the line's own words (cue lists in `sidecar/data/emotion.toml`) and VADER's score of it
  (shared with the store: VADER runs once per line);
- the player's tone (engine/tone.py): sad news is met with sadness, a threat with fear, an
  insult with anger (or hurt, from a friend), flirting with affection, praise with joy;
- the affinity (a close NPC's warmth is affection, a guarded one's hostility is anger) and
  the arc (a conflict sharpens anger, bonding warms joy).

Each emotion gets a score; the highest wins if it reaches `THRESHOLD`, else the line is
`neutral`. The intensity grows with the winning score, VADER's |compound|, exclamation marks
and a heated or warm arc.

An LLM source may propose an emotion with its line: `settle` accepts it only if it is one of
the eight (any case, surrounding space ignored), and derives one otherwise.

Pure; the word lists are read and checked once, at import. Never raises for any str.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sidecar.engine.data import read_toml
from sidecar.engine.tone import PhraseIndex, ToneReading, line_words
from sidecar.engine.types import Sentiment
from sidecar.errors import ConfigError

Emotion = Literal["neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust", "affection"]
EMOTIONS: tuple[Emotion, ...] = get_args(Emotion)

_FILE = "sidecar/data/emotion.toml"
_IDIOM = "_idiom"
"""The phrase index's name for `idioms` (not an emotion: a leading `_`)."""
THRESHOLD = 0.8
"""Score an emotion needs to be shown at all; below it the line is neutral."""
STRONG_SENTIMENT = 0.3
"""|compound| of the NPC line from which VADER's reading counts toward joy or sadness."""
PLAYER_WEIGHT = 1.8
"""What the player's line calls for counts this much more than one cue word of the NPC's
line: the engine's reaction opens the line ("Whoa, easy there!"), the rest may be chatter."""
DAMPED = 0.5
"""Joy and affection from the NPC's own words and sentiment count half after hostility or sad
news: a cheerful anecdote after an insult is no happy face."""
CLOSE, GUARDED = 70, 30
"""Affinity at or above which warmth reads as affection / at or below which hostility is anger."""
HEATED_ARCS = frozenset({"conflict", "deteriorating"})
WARM_ARCS = frozenset({"bonding", "reconciliation"})


@dataclass(frozen=True)
class Feeling:
    """What the game animates for one NPC line."""

    emotion: Emotion
    intensity: float
    """0..1, two decimals."""


NEUTRAL = Feeling("neutral", 0.0)


@dataclass(frozen=True)
class _Cues:
    weights: dict[str, float]
    max_hits: int
    exclamation: float
    hostility: dict[str, Emotion]
    threat: dict[str, Emotion]
    phrases: PhraseIndex


def _by_voice(raw: Mapping[str, Any], table: str) -> dict[str, Emotion]:
    out: dict[str, Emotion] = {}
    for voice, value in raw.get(table, {}).items():
        emotion = accept(value)
        if emotion is None:
            raise ValueError(f"{_FILE}: [{table}] {voice} = {value!r} is not an emotion")
        out[voice] = emotion
    return out


def load_cues(text: str | None = None) -> _Cues:
    """Read and check sidecar/data/emotion.toml (or `text` in its format, for tests).

    Raises:
        ConfigError: invalid TOML, an emotion that is not one of the eight (or `neutral`,
            which has no cues), or a malformed list (the shipped file is loaded at import).
    """
    raw = read_toml("emotion.toml", text)
    try:
        table = raw["cue"]
        weights: dict[str, float] = {}
        phrases: dict[str, list[str]] = {}
        for name, cue in table.items():
            if name not in EMOTIONS or name == "neutral":
                raise ValueError(f"{_FILE}: [cue.{name}] is not an emotion with cues")
            weights[name] = float(cue["weight"])
            items = cue["phrases"]
            if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
                raise ValueError(f"{_FILE}: [cue.{name}] phrases must be a list of strings")
            phrases[name] = items
        idioms = raw.get("idioms", [])
        if not isinstance(idioms, list) or not all(isinstance(p, str) for p in idioms):
            raise ValueError(f"{_FILE}: idioms must be a list of strings")
        phrases[_IDIOM] = idioms
        return _Cues(
            weights,
            int(raw["max_hits"]),
            float(raw["exclamation"]),
            _by_voice(raw, "hostility"),
            _by_voice(raw, "threat"),
            PhraseIndex.build(phrases, _FILE),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{_FILE}: missing or malformed: {exc}") from exc


def accept(proposed: object) -> Emotion | None:
    """`proposed` as one of the eight emotions, or None (anything else is not trusted)."""
    if not isinstance(proposed, str):
        return None
    value = proposed.strip().lower()
    return next((e for e in EMOTIONS if e == value), None)


CUES = load_cues()
"""The shipped cues, read and checked once, at import."""


def _shipped() -> _Cues:
    return CUES


def _word_scores(text: str) -> dict[str, float]:
    cues = _shipped()
    hits: dict[str, int] = {}
    found = cues.phrases.find(line_words(text))
    idioms = [(i, i + len(phrase)) for name, i, phrase in found if name == _IDIOM]
    for name, i, phrase in found:
        if name == _IDIOM or any(a <= i and i + len(phrase) <= b for a, b in idioms):
            continue
        hits[name] = hits.get(name, 0) + 1
    return {name: cues.weights[name] * min(n, cues.max_hits) for name, n in hits.items()}


def _player_scores(reading: ToneReading, affinity: int, voice: str | None) -> dict[str, float]:
    """What the player's line calls for in the NPC's face."""
    out: dict[str, float] = {}
    cues = set(reading.cues)
    stance = reading.stance_label
    if stance == "hostile":
        if "threat" in cues:
            taken = _shipped().threat.get(voice or "", "fear")
            out[taken] = 1.5  # above what the NPC's own words say: a threat frightens
            if taken != "anger":
                out["anger"] = 0.6
        elif affinity >= CLOSE:
            out["sadness"] = 1.0  # hurt, from a friend
        else:
            out[_shipped().hostility.get(voice or "", "anger")] = 1.0
            if "insult" in cues and affinity <= GUARDED:
                out["disgust"] = 0.5
    elif reading.sad_news:
        out["fear" if "fear" in cues and "grief" not in cues else "sadness"] = 1.2
    elif stance == "warm":
        if "flirt" in cues:
            out["affection"] = 1.0
        elif cues & {"compliment", "thanks", "reassurance", "sympathy"}:
            out["affection" if affinity >= CLOSE else "joy"] = 1.0
        else:  # an apology
            out["affection" if affinity >= CLOSE else "joy"] = 0.6
    elif "good_news" in cues:
        out["joy"] = 1.0
    elif "boast" in cues:
        out["surprise"] = 0.6
    return out


def _add(into: dict[str, float], more: dict[str, float]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0.0) + v


def derive(
    line: str,
    sentiment: Sentiment,
    *,
    reading: ToneReading | None = None,
    affinity: int = 50,
    arc: str | None = None,
    voice: str | None = None,
) -> Feeling:
    """The feeling of an NPC line. `sentiment` is VADER's reading of `line`; `reading` the
    player's line it answers (None for a greeting or a farewell); `voice` the persona's
    preset (`shy`, `sarcastic`…), which colours how it takes hostility."""
    scores = _word_scores(line)
    c = sentiment.compound
    bangs = min(line.count("!"), 2)
    if bangs and c > -0.05:
        _add(scores, {"joy": _shipped().exclamation * bangs})
    if c >= STRONG_SENTIMENT:
        _add(scores, {"affection" if affinity >= CLOSE and "joy" not in scores else "joy": c})
    if reading is not None:
        if reading.stance_label == "hostile" or reading.sad_news:
            for warm in ("joy", "affection"):
                if warm in scores:
                    scores[warm] *= DAMPED
        _add(scores, {k: v * PLAYER_WEIGHT for k, v in _player_scores(reading, affinity, voice).items()})
    elif c <= -STRONG_SENTIMENT and "anger" not in scores and "fear" not in scores:
        _add(scores, {"sadness": -c * 0.8})
    if arc in HEATED_ARCS and "anger" in scores:
        scores["anger"] += 0.4
    if arc in WARM_ARCS:
        for warm in ("joy", "affection"):
            if warm in scores:
                scores[warm] += 0.3
    if "?!" in line or "!?" in line:
        _add(scores, {"surprise": 1.0})
    if not scores:
        return Feeling("neutral", _intensity(0.0, c, line, arc))
    # Ties go to the first in EMOTIONS' order (deterministic).
    best = max(EMOTIONS[1:], key=lambda e: scores.get(e, 0.0))
    if scores.get(best, 0.0) < THRESHOLD:
        return Feeling("neutral", _intensity(0.0, c, line, arc))
    return Feeling(best, _intensity(scores[best], c, line, arc))


def _intensity(score: float, compound: float, line: str, arc: str | None) -> float:
    if score <= 0.0:
        return round(min(0.3, abs(compound) * 0.3), 2)
    value = 0.2 + 0.15 * min(score, 3.0) + 0.25 * abs(compound) + 0.07 * min(line.count("!"), 2)
    if arc in HEATED_ARCS or arc in WARM_ARCS:
        value += 0.1
    return round(max(0.05, min(1.0, value)), 2)


def settle(
    proposed: object,
    line: str,
    sentiment: Sentiment,
    *,
    reading: ToneReading | None = None,
    affinity: int = 50,
    arc: str | None = None,
    voice: str | None = None,
) -> Feeling:
    """An LLM's proposed emotion when it is one of the eight (with a derived intensity), else
    the derived feeling."""
    derived = derive(line, sentiment, reading=reading, affinity=affinity, arc=arc, voice=voice)
    chosen = accept(proposed)
    if chosen is None or chosen == derived.emotion:
        return derived
    if chosen == "neutral":
        return Feeling("neutral", min(derived.intensity, 0.3))
    return Feeling(chosen, max(derived.intensity, 0.4))


__all__ = ["EMOTIONS", "NEUTRAL", "Emotion", "Feeling", "accept", "derive", "load_cues", "settle"]
