"""Which persona topics and opinion subjects a line names, and how to name them back.

Built once per persona (cached by identity: personas are immutable once loaded) from the
persona's keywords and its own lines, so "my forge" in the NPC's mouth is "your forge" in the
player's. Matching is whole-word with simple plurals (forge/forges, berry/berries).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sidecar.engine.data import read_toml, word_map
from sidecar.engine.text import tokens
from sidecar.personas.model import Persona


def forms(word: str) -> set[str]:
    """Whole-word matching with simple plurals: forge/forges, berry/berries, box/boxes."""
    forms = {word, word + "s", word + "es"}
    if len(word) > 2 and word.endswith("y") and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ies")
    if len(word) > 4 and word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if len(word) > 3 and word.endswith("es"):
        forms.add(word[:-2])
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return forms


class Matcher:
    """Finds which targets (topic keys, opinion subjects) a tokenised line names."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.single: dict[str, list[str]] = {}
        self.multi: list[tuple[str, str]] = []
        self.by_last: dict[str, list[tuple[str, str]]] = {}
        """`multi` by the phrase's last word: a line is searched only for the phrases whose
        last word it holds (a persona has dozens of phrase keywords, a line a dozen words)."""
        self.order: dict[str, int] = {}
        for keyword, target in pairs:
            self.order.setdefault(target, len(self.order))
            words = tokens(keyword)
            if not words:
                continue
            if len(words) == 1:
                for form in forms(words[0]):
                    self.single.setdefault(form, [])
                    if target not in self.single[form]:
                        self.single[form].append(target)
            else:
                head = " ".join(words[:-1])
                for form in forms(words[-1]):
                    self.multi.append((f" {head} {form} ", target))
                    self.by_last.setdefault(form, []).append((f" {head} {form} ", target))

    def find(self, tokens: Sequence[str]) -> list[str]:
        counts: dict[str, int] = {}
        for tok in tokens:
            for target in self.single.get(tok, ()):
                counts[target] = counts.get(target, 0) + 1
        if self.by_last:
            padded = ""
            for tok in set(tokens):
                for phrase, target in self.by_last.get(tok, ()):
                    padded = padded or " " + " ".join(tokens) + " "
                    if phrase in padded:
                        counts[target] = counts.get(target, 0) + 2
        # The order of the counts does not matter: the sort is total (one `order` a target).
        return sorted(counts, key=lambda t: (-counts[t], self.order[t]))


@dataclass(frozen=True)
class PersonaIndex:
    topics: Matcher
    opinions: Matcher
    phrases: Mapping[str, tuple[str, str]]
    """keyword → (determiner, word) as the persona's own lines say it ("my", "forge")."""

    def subject(self, keyword: str, *, said_by_player: bool) -> str:
        """How to name a keyword in a sentence: with the determiner the persona's lines use
        ("my forge" in the NPC's mouth is "your forge" in the player's), else the bare word."""
        kw = keyword.replace("_", " ").lower()
        if kw not in self.phrases:
            return kw
        det, word = self.phrases[kw]
        if said_by_player:
            det = {"my": "your", "our": "your", "your": "my"}.get(det, det)
        return f"{det} {word}" if det else word


_CACHE: dict[int, tuple[Persona, PersonaIndex]] = {}
_CACHE_MAX = 256


def index_for(persona: Persona) -> PersonaIndex:
    """Per-persona matchers, cached by identity (personas are immutable once loaded)."""
    hit = _CACHE.get(id(persona))
    if hit is not None and hit[0] is persona:
        return hit[1]
    topic_pairs = [(k, key) for key, topic in persona.topics.items() for k in (key, *topic.keywords)]
    topic_pairs = [(k.replace("_", " "), key) for k, key in topic_pairs]
    opinion_pairs = [(subject, subject) for subject in persona.opinions]
    texts = " ".join(
        [line for t in persona.topics.values() for line in t.lines]
        + list(persona.facts) + list(persona.opinions.values())
    )
    phrases: dict[str, tuple[str, str]] = {}
    words = {kw for kw, _ in topic_pairs} | set(persona.opinions)
    everything = " ".join([texts, *persona.fallbacks, *persona.greetings, *persona.farewells,
                           persona.bio])
    lowered = texts.lower()
    for kw in words:
        found = determined(texts, lowered, kw)
        if found:
            det, said = found
            phrases[kw.lower()] = (det, said if kw.islower() and said[0].isupper() else said.lower())
            continue
        # A capitalised word mid-sentence is a name ("ask Sorrel"): say it that way, bare. A
        # word the persona also writes in lowercase is no name ("the Blushing Smith", "a smith").
        proper = proper_name(everything, kw.capitalize()) if kw.islower() else None
        if proper and not has_word(everything, kw):
            phrases[kw.lower()] = ("", proper)
    index = PersonaIndex(Matcher(topic_pairs), Matcher(opinion_pairs), phrases)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(persona)] = (persona, index)
    return index


# The persona's own wording of a keyword, found with str.find rather than one regex per keyword:
# a search for r"\b(the|my|our|your)\s+(kw)\b" (IGNORECASE) scanned the persona's text once per
# keyword and compiled a pattern each time, ~1 ms a keyword and 0.1–0.2 s on a persona's first
# turn. These match what those regexes matched (tests/engine/test_compose.py holds them as the
# oracle).

_DETERMINERS = ("the", "my", "our", "your")


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _boundary(text: str, i: int) -> bool:
    r"""`\b` at position `i` of `text`."""
    before = i > 0 and _word_char(text[i - 1])
    after = i < len(text) and _word_char(text[i])
    return before != after


def determined(texts: str, lowered: str, kw: str) -> tuple[str, str] | None:
    """(determiner, keyword as written) of the first "the/my/our/your <kw>" in `texts`
    (`lowered` is `texts.lower()`), case-insensitive; None when there is none."""
    key = kw.lower()
    if not key or len(lowered) != len(texts) or len(key) != len(kw):
        # Case mapping changed a length (a rare letter such as "İ"): the regex knows best.
        m = re.search(r"\b(the|my|our|your)\s+(" + re.escape(kw) + r")\b", texts, re.IGNORECASE)
        return (m.group(1).lower(), m.group(2)) if m else None
    i = lowered.find(key)
    while i != -1:
        end = i + len(key)
        j = i
        while j > 0 and texts[j - 1].isspace():
            j -= 1
        if j < i and _boundary(texts, end):
            for det in _DETERMINERS:
                start = j - len(det)
                if start >= 0 and lowered[start:j] == det and _boundary(texts, start):
                    return det, texts[i:end]
        i = lowered.find(key, i + 1)
    return None


def proper_name(everything: str, name: str) -> str | None:
    r"""`name` where it stands mid-sentence after a word, comma or semicolon and a space, as
    r"(?<=[\w,;] )(name)\b" finds it (case-sensitive); None when it does not."""
    if not name:
        return None
    i = everything.find(name)
    while i != -1:
        if (i >= 2 and everything[i - 1] == " " and (_word_char(everything[i - 2]) or everything[i - 2] in ",;")
                and _boundary(everything, i + len(name))):
            return name
        i = everything.find(name, i + 1)
    return None


def has_word(text: str, word: str) -> bool:
    """Whether `word` stands in `text` as a whole word, case-sensitive (r"\bword\b")."""
    i = text.find(word) if word else -1
    while i != -1:
        if _boundary(text, i) and _boundary(text, i + len(word)):
            return True
        i = text.find(word, i + 1)
    return False


SUBJECT_WORDS: Mapping[str, str] = word_map(read_toml("subjects.toml"), "subjects.toml", "subjects")
"""How the player names a bare topic word ("work" → "your work"): sidecar/data/subjects.toml."""


_PEOPLE: dict[tuple[int, ...], tuple[tuple[Persona, ...], Mapping[str, str]]] = {}


def _people(neighbours: Sequence[Persona]) -> Mapping[str, str]:
    """Every way `person` matches a neighbour (its id with spaces, each name case-folded) →
    that neighbour's display name; the first neighbour wins, as in a scan. Cached by the
    personas' identities (immutable once loaded; the entry holds them, so no id is reused):
    options ask this for every topic keyword of every turn."""
    key = tuple(map(id, neighbours))
    hit = _PEOPLE.get(key)
    if hit is not None:
        return hit[1]
    table: dict[str, str] = {}
    for other in neighbours:
        table.setdefault(other.id.replace("_", " "), other.name)
        for n in other.names:
            table.setdefault(n.casefold(), other.name)
    if len(_PEOPLE) >= _CACHE_MAX:
        _PEOPLE.clear()
    _PEOPLE[key] = (tuple(neighbours), table)
    return table


def person(word: str, persona: Persona, neighbours: Sequence[Persona]) -> str | None:
    """The display name of the villager `word` names (their id, name or an alias), if any:
    the player says "Rook" and "Captain Vane", never the persona id "rook" or "hesper"."""
    name = _people(neighbours).get(word.replace("_", " ").casefold())
    if name is not None:
        return name
    if word in persona.relationships:
        return word.replace("_", " ").title()
    return None


def as_player_says(word: str, persona: Persona, neighbours: Sequence[Persona]) -> str:
    """A topic keyword or opinion subject as the player would name it in an answer option:
    a villager by their display name, else with the determiner the persona's lines use
    ("your forge"), else as `SUBJECT_WORDS` says ("your work"), else the bare word."""
    name = person(word, persona, neighbours)
    if name is not None:
        return name
    said = index_for(persona).subject(word, said_by_player=True)
    said = SUBJECT_WORDS.get(said, said)
    det, _, rest = said.partition(" ")
    # "my Barnaby" in the NPC's mouth is "Barnaby" in the player's, not "your Barnaby".
    return rest if det in {"your", "my"} and rest[:1].isupper() else said


def said_keyword(persona: Persona, subject: str, heard: Sequence[str]) -> str:
    """The keyword of topic (or opinion subject) `subject` that the player actually used
    (`heard`: the tokens of their line)."""
    topic = persona.topics.get(subject)
    if topic is None:
        return subject
    padded = " " + " ".join(heard) + " "
    for kw in sorted(topic.keywords, key=len, reverse=True):
        words = tokens(kw)
        if words and any(f" {' '.join([*words[:-1], form])} " in padded for form in forms(words[-1])):
            return kw
    return subject


__all__ = [
    "SUBJECT_WORDS",
    "Matcher",
    "PersonaIndex",
    "as_player_says",
    "forms",
    "index_for",
    "person",
    "said_keyword",
]
