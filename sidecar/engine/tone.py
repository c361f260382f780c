"""The tone of a player's line: its stance toward the listener, apart from its topic's mood.

VADER's compound score says how a line *sounds*; it cannot tell "My mother died last week"
(sad news, told in trust) from "You are a useless oaf" (hostility aimed at the NPC). Affinity
and the emotional arc must follow the second, not the first, so a line is read on two axes:

- **stance** (-1..1): how the speaker treats the listener. Hostile (< -0.05): insults,
  threats, contempt, mockery aimed at the NPC or what is theirs. Warm (> 0.05): compliments,
  thanks, apologies, sympathy, flirting. Everything else is neutral, including sad news,
  fears, confessions and boasts that are not aimed at the NPC.
- **valence** (-1..1): the mood of what the line is about (sad/bad news < 0 < good news).

The reading combines, in this order of trust: cue phrases from the lexicon
`sidecar/data/tone.toml` (threats, insults, contempt, sarcasm, thanks, apologies, sympathy,
reassurance, compliments, flirting; grief, fear, confession, bad and good news, boasting);
second-person targeting ("you", "your", the NPC's names), which decides whether an insult or
a compliment word is aimed at the listener at all; negation ("you're not useless"); and
VADER's compound, which gives the valence when no topic cue matched and a stance only to a
targeted line no cue explains. VADER runs once per line; the `Sentiment` rides along in the
reading so nothing scores the line twice.

Known limits (see the labelled set tests/engine/tone_labelled.toml and its accuracy test):
sarcasm without a stock phrase ("Lovely service, truly.") reads as warm; a complaint about
the NPC's goods without "you"/"your" or a lexicon word reads as neutral. Persona files cannot
extend the lexicon yet.

Pure; the lexicon is read and checked once, at import. `read` never raises for any str.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sidecar.engine import sentiment as vader
from sidecar.engine.data import read_toml
from sidecar.engine.sentiment import Tone
from sidecar.engine.text import words as text_words
from sidecar.engine.types import Sentiment
from sidecar.errors import ConfigError

Stance = Literal["hostile", "warm", "neutral"]
Valence = Literal["negative", "positive", "neutral"]

WARM = 0.05
"""Stance at or above which a line is warm (the arc's positive cut-off)."""
HOSTILE = -0.05
"""Stance at or below which a line is hostile (the arc's negative cut-off)."""
VADER_STANCE = 0.6
"""Share of VADER's compound taken as stance for a targeted line no cue explains."""
VADER_STANCE_MIN = 0.3
_REFUSALS = frozenset({"no", "nah", "nope"})
PLAIN_NO_WORDS = 4
"""A line this short that starts with a no ("No thanks.") is a refusal, whatever VADER makes
of it: no stance toward the listener (an insult in it is a cue's: "No, you idiot.")."""
_YES_NO = frozenset({"are", "is", "do", "does", "did", "was", "were", "have", "has", "can", "could", "will", "would"})
"""First words of a yes/no question: VADER's reading of one is no stance toward the listener."""
"""|compound| a targeted line needs before VADER alone gives it a stance."""
NEGATED_HOSTILE = 0.35
"""Stance of a negated insult or threat ("you're not useless", "I won't hurt you")."""
NEGATED_WARM = -0.3
"""Stance of a negated compliment aimed at the listener ("you're not kind")."""
EXTRA_CUE = 0.1
"""Each further cue of the winning side adds this much strength (capped at 1)."""
SHORT_LINE = 3
"""A line of at most this many words with no other subject is aimed at the listener
("Idiot!", "What a fool.")."""

_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "my", "me", "mine", "we", "we're", "our", "us"})
_OTHER_SUBJECT = frozenset({"he", "she", "they", "he's", "she's", "they're", "his", "her", "their", "it", "it's"})
_DEICTIC = frozenset({"this", "that", "these", "those", "what"})


@dataclass(frozen=True)
class Cue:
    name: str
    weight: float
    targeted: bool
    confiding: bool


_Phrase = tuple[str, ...]
"""Words of a phrase; a word ending in `*` matches any word it starts (without the `*`)."""


Match = tuple[str, int, _Phrase]
"""(name of the list the phrase is in, position of its first word, the phrase)."""


@dataclass(frozen=True)
class PhraseIndex:
    """Named phrase lists, indexed for matching on a line's words (`line_words(text)`).

    Matching walks the line's words once and looks each up in `index` (phrases by first
    word, or by their first two words when the second has no `*`: most words start no
    phrase, and a two-word key rarely misses) and `wild` (phrases whose first word has a
    `*`, keyed by its first `WILD_KEY` letters), so the cost grows with the line, not with
    the lexicon. Also used by engine/emotion.py for its own word lists."""

    index: dict[str, tuple[tuple[_Phrase, str], ...]]
    wild: dict[str, tuple[tuple[str, _Phrase, str], ...]]
    pairs: frozenset[str] = frozenset()
    """First words of the phrases `index` keys by two words (only those build a two-word key)."""

    @classmethod
    def build(
        cls,
        phrases: Mapping[str, Sequence[str]],
        source: str,
        contractions: Mapping[str, str] | None = None,
    ) -> PhraseIndex:
        """`contractions` ("i'll" → "i will") make each phrase match in either form, so a
        list need not spell both. Raises ValueError (naming `source` and the list) for a
        phrase that is not words."""
        index: dict[str, list[tuple[_Phrase, str]]] = {}
        wild: dict[str, list[tuple[str, _Phrase, str]]] = {}
        pairs = [(short, tuple(long.split())) for short, long in (contractions or {}).items()]
        for name, items in phrases.items():
            for words in {v for phrase in items for v in _variants(_words_of(source, name, phrase), pairs)}:
                if words[0].endswith("*"):
                    prefix = words[0][:-1]
                    if len(prefix) < WILD_KEY:
                        raise ValueError(
                            f"{source}: [{name}] {' '.join(words)!r}: a `*` needs {WILD_KEY} letters before it"
                        )
                    wild.setdefault(prefix[:WILD_KEY], []).append((prefix, words, name))
                elif len(words) > 1 and not words[1].endswith("*"):
                    index.setdefault(f"{words[0]} {words[1]}", []).append((words, name))
                else:
                    index.setdefault(words[0], []).append((words, name))
        return cls(
            # Longest phrase first at each word, so "sorry for your loss" wins over "sorry".
            index={w: tuple(sorted(v, key=lambda e: -len(e[0]))) for w, v in index.items()},
            wild={k: tuple(v) for k, v in wild.items()},
            pairs=frozenset(k.split(" ")[0] for k in index if " " in k),
        )

    def find(self, words: Sequence[str]) -> list[Match]:
        """Every match in the line, in word order."""
        found: list[Match] = []
        index, wild, pairs, last = self.index, self.wild, self.pairs, len(words) - 1
        for i, w in enumerate(words):
            hits = index.get(w)
            if hits is not None:
                for phrase, name in hits:
                    if len(phrase) == 1 or _phrase_at(words, i, phrase):
                        found.append((name, i, phrase))
            if i < last and w in pairs:
                for phrase, name in index.get(f"{w} {words[i + 1]}", ()):
                    if len(phrase) == 2 or _phrase_at(words, i, phrase):
                        found.append((name, i, phrase))
            starred = wild.get(w[:WILD_KEY])
            if starred is not None:
                for prefix, phrase, name in starred:
                    if w.startswith(prefix) and _phrase_at(words, i, phrase):
                        found.append((name, i, phrase))
        return found


@dataclass(frozen=True)
class Lexicon:
    """The parsed tone.toml."""

    target: frozenset[str]
    negations: frozenset[str]
    window: int
    stance: tuple[Cue, ...]
    valence: tuple[Cue, ...]
    phrases: PhraseIndex
    """Every cue's phrases, plus `SOFTENER`, `COMPARISON` and `SIMILE`."""
    praise: frozenset[str]
    """Words that make a comparison kind ("you sing like an angel")."""
    disparaging: float
    """Stance of a comparison aimed at the listener with nothing kind in it."""
    sensed: frozenset[str] = frozenset()
    """Verbs of taste and smell ("tastes", "smells"): "This ale tastes like vinegar" is said of
    what the listener serves, so it is aimed at the listener as "your ale" would be."""
    served: frozenset[str] = frozenset()
    """Determiners that put the thing tasted in front of the speaker ("this", "that")."""
    spoiled: frozenset[str] = frozenset()
    """Words for food gone wrong that VADER does not score ("off", "sour", "stale")."""


WILD_KEY = 3
_FILE = "sidecar/data/tone.toml"
SOFTENER = "_softener"
COMPARISON = "_comparison"
SIMILE = "_simile"
DISPARAGING = "disparaging"


@dataclass(frozen=True)
class ToneReading:
    """How the player came across in one line. `stance` drives affinity and the arc;
    `valence` and the cues let the NPC answer sad news with sympathy."""

    sentiment: Sentiment
    """VADER's reading of the same line (computed once, shared)."""
    stance: float
    valence: float
    targeted: bool = False
    """The line is aimed at the listener ("you", "your", the NPC's name, or a bare "Idiot!")."""
    confiding: bool = False
    """The player shared something personal: grief, a fear, a confession."""
    cues: tuple[str, ...] = ()
    """Names of the lexicon cues that fired, e.g. ("insult",), ("grief", "apology")."""

    @property
    def stance_label(self) -> Stance:
        if self.stance >= WARM:
            return "warm"
        if self.stance <= HOSTILE:
            return "hostile"
        return "neutral"

    @property
    def valence_label(self) -> Valence:
        if self.valence >= vader.POSITIVE:
            return "positive"
        if self.valence <= vader.NEGATIVE:
            return "negative"
        return "neutral"

    @property
    def tone(self) -> Tone:
        """The stance as the embedded engine's reaction key: friendly, rude or neutral."""
        label = self.stance_label
        return "friendly" if label == "warm" else "rude" if label == "hostile" else "neutral"

    @property
    def sad_news(self) -> bool:
        """Sad or frightening news told without hostility: it calls for sympathy."""
        return self.valence_label == "negative" and self.stance_label != "hostile" and any(c in _SAD for c in self.cues)


    @property
    def jab(self) -> bool:
        """Hostility the lexicon found in the words (an insult, a jab, contempt, a threat), not
        only VADER's score: the line is about the listener, whatever topic word it holds."""
        return self.stance_label == "hostile" and any(c in _HOSTILE for c in self.cues)


_SAD = frozenset({"grief", "fear", "confession", "bad_news", "ailment", "sympathy"})
_HOSTILE = frozenset({"insult", "jab", "contempt", "sarcasm", "threat", DISPARAGING})


def neutral_reading(sentiment: Sentiment | None = None) -> ToneReading:
    """The reading of a line with nothing in it (and of no line at all)."""
    return ToneReading(sentiment or Sentiment("neutral", 0.0), 0.0, 0.0)


# --- the lexicon -----------------------------------------------------------------------------


def _variants(words: _Phrase, pairs: Sequence[tuple[str, _Phrase]]) -> set[_Phrase]:
    """`words` and its spellings with each contraction expanded or contracted."""
    out = {words}
    for short, long in pairs:
        for w in list(out):
            if short in w:
                k = w.index(short)
                out.add(w[:k] + long + w[k + 1 :])
            for k in range(len(w) - len(long) + 1):
                if w[k : k + len(long)] == long:
                    out.add(w[:k] + (short,) + w[k + len(long) :])
                    break
    return out


def _longest(found: Sequence[Match]) -> list[Match]:
    """Matches not inside a longer one: "good evening" is a greeting, not the compliment
    "good"; "sorry to say" is a courtesy, not the apology "sorry"."""
    spans = [(i, i + len(p)) for _, i, p in found]
    return [
        m
        for m, (a, b) in zip(found, spans, strict=True)
        if not any(c <= a and b <= d and d - c > b - a for c, d in spans)
    ]


def _words_of(source: str, name: str, phrase: str) -> _Phrase:
    words = tuple(phrase.lower().replace("’", "'").split())
    if not words:
        raise ValueError(f"{source}: [{name}] has an empty phrase")
    for w in words:
        if text_words(w.removesuffix("*")) != [w.removesuffix("*")]:
            raise ValueError(f"{source}: [{name}] {phrase!r}: {w!r} is not a word (letters, digits, ')")
    return words


def _phrases(name: str, raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValueError(f"{_FILE}: [{name}] phrases must be a list of strings")
    return [p for p in raw if p.strip()]


def _cues(table: dict[str, object], *, stance: bool, phrases: dict[str, list[str]]) -> tuple[Cue, ...]:
    out = []
    for name, raw in table.items():
        if not isinstance(raw, dict):
            raise ValueError(f"{_FILE}: [{name}] must be a table")
        weight = float(raw["weight"])
        if not -1.0 <= weight <= 1.0:
            raise ValueError(f"{_FILE}: [{name}] weight {weight} is outside -1..1")
        phrases[name] = _phrases(name, raw.get("phrases", []))
        out.append(Cue(name, weight, bool(raw.get("targeted", False)) and stance, bool(raw.get("confiding", False))))
    return tuple(out)


def _contractions(raw: Mapping[str, object]) -> dict[str, str]:
    table = raw.get("contractions", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError(f"{_FILE}: [contractions] must map a contraction to its words")
    return {str(k).lower(): v.lower() for k, v in table.items()}


def load_lexicon(text: str | None = None) -> Lexicon:
    """Read and check sidecar/data/tone.toml (or `text` in its format, for tests).

    Raises:
        ConfigError: the file is not valid TOML or a section is malformed, naming the file and
            the section (the shipped file is loaded at import: a broken one stops the sidecar).
    """
    raw = read_toml("tone.toml", text)
    try:
        phrases: dict[str, list[str]] = {}
        stance = _cues(raw["stance"], stance=True, phrases=phrases)
        valence = _cues(raw["valence"], stance=False, phrases=phrases)
        if {c.name for c in stance} & {c.name for c in valence}:
            raise ValueError(f"{_FILE}: a cue name is both a stance and a valence cue")
        phrases[SOFTENER] = _phrases("softener", raw["softener"]["phrases"])
        phrases[COMPARISON] = _phrases("comparison", raw["comparison"]["phrases"])
        phrases[SIMILE] = _phrases("comparison", raw["comparison"]["similes"])
        disparaging = float(raw["comparison"]["disparaging"])
        if not -1.0 <= disparaging < 0.0:
            raise ValueError(f"{_FILE}: [comparison] disparaging {disparaging} is not in -1..0")
        return Lexicon(
            target=frozenset(w.lower() for w in raw["target"]["words"]),
            negations=frozenset(w.lower() for w in raw["negation"]["words"]),
            window=int(raw["negation"]["window"]),
            stance=stance,
            valence=valence,
            phrases=PhraseIndex.build(phrases, _FILE, _contractions(raw)),
            praise=frozenset(w.lower() for w in raw["comparison"]["praise"]),
            disparaging=disparaging,
            sensed=frozenset(w.lower() for w in raw["fare"]["sensed"]),
            served=frozenset(w.lower() for w in raw["fare"]["served"]),
            spoiled=frozenset(w.lower() for w in raw["fare"]["spoiled"]),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{_FILE}: missing or malformed: {exc}") from exc


LEXICON = load_lexicon()
"""The shipped lexicon, read and checked once, at import."""


def lexicon() -> Lexicon:
    """The shipped lexicon."""
    return LEXICON


@lru_cache(maxsize=256)
def _name_words(names: tuple[str, ...]) -> tuple[_Phrase, ...]:
    return tuple(w for w in (tuple(line_words(n)) for n in names) if w)


# --- reading a line --------------------------------------------------------------------------


def line_words(text: str) -> list[str]:
    """The words a line is matched on: engine/text.py's words (the one normaliser) of the
    part of the line VADER scores."""
    return text_words(text[: vader.MAX_SCORED_CHARS])


def _word_matches(pattern: str, word: str) -> bool:
    return word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern


def _phrase_at(words: Sequence[str], i: int, phrase: _Phrase) -> bool:
    """Whether `phrase` starts at word `i` (its first word is known to match)."""
    if i + len(phrase) > len(words):
        return False
    return all(_word_matches(p, words[i + k]) for k, p in enumerate(phrase) if k)


def _negated(words: Sequence[str], i: int, lex: Lexicon) -> bool:
    # "no" turns round only the word right after it ("you're no idiot"): "No, you idiot." is
    # a "no" and then an insult.
    start = max(0, i - lex.window)
    return any(
        (w in lex.negations and (w != "no" or k == i - 1)) or w.endswith("n't")
        for k, w in enumerate(words[start:i], start)
    )


def _targeted(words: Sequence[str], names: tuple[str, ...], lex: Lexicon) -> bool:
    if not lex.target.isdisjoint(words):
        return True
    for name in _name_words(names):
        if name[0] in words and any(w == name[0] and _phrase_at(words, i, name) for i, w in enumerate(words)):
            return True
    return len(words) <= SHORT_LINE and _FIRST_PERSON.isdisjoint(words) and _OTHER_SUBJECT.isdisjoint(words)


def _owned(words: Sequence[str], i: int) -> bool:
    """The word at `i` describes the speaker's own thing: "my" just before it ("my stupid
    cart"), or "I have" / "I've got" a few words before ("I have a terrible headache")."""
    before = words[max(0, i - 4) : i]
    return before[-1:] == ["my"] or any(
        before[k] in {"i", "i've", "we", "we've"} and before[k + 1] in {"have", "got", "had"}
        for k in range(len(before) - 1)
    )


def _disparaging(words: Sequence[str], found: Sequence[Match], lex: Lexicon) -> bool:
    """A comparison ("…tastes like…") followed by nothing kind: no VADER-positive word, no
    praise word ("like an angel")."""
    for name, i, phrase in found:
        if name != COMPARISON:
            continue
        tail = words[i + len(phrase) :]
        if tail and not any(w in lex.praise or vader.word_valence(w) > 0 for w in tail):
            return True
    return False


def _slights_the_fare(words: Sequence[str], lex: Lexicon) -> bool:
    """"This ale tastes like vinegar", "That stew smells off": a taste or smell of what is in
    front of the speaker ("this"/"that" a few words before the verb), likened to nothing kind
    or called spoiled. Not "The air smells like rain" (no "this"), nor "This tastes like
    home" (kind)."""
    for i, w in enumerate(words):
        if w not in lex.sensed or lex.served.isdisjoint(words[max(0, i - 3) : i]):
            continue
        tail = [t for t in words[i + 1 : i + 6] if t not in _INTENSIFIERS]
        if not tail:
            continue
        if tail[0] in {"like", "of"}:
            rest = tail[1:]
            if rest and not any(t in lex.praise or vader.word_valence(t) > 0 for t in rest):
                return True
        elif tail[0] in lex.spoiled or vader.word_valence(tail[0]) < 0:
            return not _negated(words, i, lex)
    return False


_INTENSIFIERS = frozenset({"so", "really", "very", "a", "bit", "little", "kind", "sort", "rather", "quite", "too",
                           "slightly", "totally", "absolutely", "just", "all"})


def read(text: str, names: Sequence[str] = (), *, sentiment: Sentiment | None = None) -> ToneReading:
    """Read one player line addressed to an NPC called `names` (its name and aliases).

    `sentiment` is VADER's reading of `text` if the caller already has it; otherwise it is
    computed here (once). Never raises for any str."""
    s = sentiment if sentiment is not None else vader.analyze(text)
    lex = lexicon()
    words = line_words(text)
    if not words:
        return neutral_reading(s)
    targeted = _targeted(words, tuple(names), lex)
    deictic = words[0] in _DEICTIC and s.compound >= vader.POSITIVE
    found = lex.phrases.find(words)
    hits = {name for name, _, _ in found}
    found = _longest(found)
    at: dict[str, list[int]] = {}
    for name, i, _ in found:
        at.setdefault(name, []).append(i)
    # VADER's "like" is praise; in a comparison it is not, so the compound is not trusted upward.
    compound = min(s.compound, 0.0) if hits & {COMPARISON, SIMILE} else s.compound

    hostile: list[float] = []
    warm: list[float] = []
    fired: list[str] = []
    owned = False
    for cue in lex.stance:
        for i in at.get(cue.name, ()):
            if cue.targeted and not (targeted or (deictic and cue.weight > 0)):
                continue
            if cue.targeted and cue.weight < 0 and _owned(words, i):
                owned = True
                continue  # "I have a terrible headache, can you help?" insults no one
            weight, label = cue.weight, cue.name
            if _negated(words, i, lex):
                if weight < 0 and (cue.targeted or cue.name == "threat"):
                    weight, label = NEGATED_HOSTILE, "reassurance"  # "you're not useless"
                elif weight > 0 and cue.targeted:
                    weight, label = NEGATED_WARM, "insult"  # "you're not kind"
                else:
                    continue
            (hostile if weight < 0 else warm).append(weight)
            fired.append(label)
            break

    valence_weights: list[float] = []
    confiding = False
    for cue in lex.valence:
        if any(not _negated(words, i, lex) for i in at.get(cue.name, ())):
            valence_weights.append(cue.weight)
            fired.append(cue.name)
            confiding = confiding or cue.confiding

    if not hostile and not warm and (
        (targeted and _disparaging(words, found, lex)) or _slights_the_fare(words, lex)
    ):
        hostile.append(lex.disparaging)
        fired.append(DISPARAGING)
        targeted = True
    if hostile:
        stance = min(hostile) - EXTRA_CUE * (len(hostile) - 1)
    elif warm:
        stance = max(warm) + EXTRA_CUE * (len(warm) - 1)
    elif (targeted and not valence_weights and not owned and abs(compound) >= VADER_STANCE_MIN
          and not (compound < 0 and words[0] in _YES_NO and text.rstrip().endswith("?"))
          and not (compound < 0 and words[0] in _REFUSALS and len(words) <= PLAIN_NO_WORDS)):
        # VADER's "awful" in "I've got an awful cough, do you have…" is the cough's, not a
        # stance: a hard word on the speaker's own trouble leaves the stance to the cues. Nor
        # is a hard word in a plain yes/no question ("Are you a witch?" to the herbalist):
        # an insult there is a cue's ("Are you stupid?").
        stance = compound * VADER_STANCE
    else:
        stance = 0.0

    if valence_weights:
        valence = sum(valence_weights) / len(valence_weights)
    elif hostile:
        valence = min(compound, min(hostile))
    elif warm and "apology" in fired and "compliment" not in fired:
        valence = min(compound, -0.3)
    elif warm and set(fired) <= {"reassurance"}:
        valence = compound
    elif warm:
        valence = max(compound, max(warm))
    else:
        valence = compound
    confiding = confiding and not _FIRST_PERSON.isdisjoint(words)
    return ToneReading(s, max(-1.0, min(1.0, stance)), max(-1.0, min(1.0, valence)), targeted, confiding, tuple(fired))


__all__ = [
    "HOSTILE",
    "LEXICON",
    "WARM",
    "Cue",
    "Lexicon",
    "Match",
    "PhraseIndex",
    "ToneReading",
    "Stance",
    "Valence",
    "lexicon",
    "load_lexicon",
    "neutral_reading",
    "line_words",
    "read",
]
