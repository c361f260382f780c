"""Requests in an NPC's trade: hearing "Can you fix my sword?" and choosing the answer.

A persona declares what it does in `[requests.<id>]` tables (see `personas.model.Request`).
`hear()` decides whether the player's line asks for something and, if it does, which of this
NPC's requests answers it (`own`, or `refused` for an item it says no to), which neighbour's
(`referral`: "Sorrel makes remedies…"), or nobody's (`nobody`: a sensible "not my trade").
`lines()` gives the answer lines for what was heard, with the item the player named filled
in ("Your sword? Let me see…"); choosing one of them (rotation, no-repeat) is the engine's.

What counts as asking is data (`sidecar/data/requests.toml`): cue phrases ("can you", "I
need", "do you sell"), phrases that turn a cue into a question about the subject ("can you
tell me about…"), and service verbs for requests nobody in the village answers.

Pure: the caller passes the line's tokens and its word-form rule (the embedded engine's
whole-word-with-plurals matching), so a request matches exactly as a topic keyword does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sidecar.engine.data import read_toml
from sidecar.engine.text import fold, straight
from sidecar.errors import ConfigError
from sidecar.personas.model import PRESETS, Persona, Request, uses_item

Forms = Callable[[str], set[str]]
"""A word → the forms that count as the same word (forge/forges, berry/berries)."""
Kind = Literal["own", "refused", "referral", "nobody"]


@dataclass(frozen=True)
class Phrases:
    """The data file, loaded once."""

    cues: tuple[re.Pattern[str], ...]
    not_requests: re.Pattern[str]
    service_verbs: tuple[str, ...]
    weak: frozenset[str]
    """The service verbs: as a request keyword, weaker evidence than a specific word."""
    referral: Mapping[str, tuple[str, ...]]
    not_my_trade: Mapping[str, tuple[str, ...]]
    price_unknown: Mapping[str, tuple[str, ...]]


def _alternation(phrases: Sequence[str]) -> str:
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True))


def _phrase_list(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v == v.lower().strip() and v for v in value)
    ):
        raise ConfigError(f"sidecar/data/{FILE}: {key}: must be a non-empty list of lowercase phrases")
    return tuple(value)


def _voiced(raw: Mapping[str, Any], key: str, placeholders: frozenset[str]) -> Mapping[str, tuple[str, ...]]:
    table = raw.get(key)
    if not isinstance(table, dict):
        raise ConfigError(f"sidecar/data/{FILE}: [{key}]: missing")
    out: dict[str, tuple[str, ...]] = {}
    for voice in PRESETS:
        lines = table.get(voice)
        if not isinstance(lines, list) or not lines or not all(isinstance(x, str) and x.strip() for x in lines):
            raise ConfigError(f"sidecar/data/{FILE}: {key}.{voice}: must be a non-empty list of lines")
        for i, line in enumerate(lines):
            unknown = set(re.findall(r"{(\w*)}", line)) - placeholders
            if unknown:
                raise ConfigError(f"sidecar/data/{FILE}: {key}.{voice}[{i}]: unknown placeholder {{{min(unknown)}}}")
        out[voice] = tuple(lines)
    return out


def load(text: str | None = None) -> Phrases:
    """sidecar/data/requests.toml (or `text`, as if it were that file), checked: a ConfigError
    names the file and the key."""
    raw = read_toml(FILE, text)
    cues = re.compile(rf"(?<![\w'])(?:{_alternation(_phrase_list(raw, 'cues'))})(?![\w'])")
    not_requests = re.compile(rf"(?<![\w'])(?:{_alternation(_phrase_list(raw, 'not_requests'))})(?![\w'])")
    verbs = _phrase_list(raw, "service_verbs")
    return Phrases(
        cues=(cues,),
        not_requests=not_requests,
        service_verbs=verbs,
        weak=frozenset(verbs),
        referral=_voiced(raw, "referral", frozenset({"who", "offer"})),
        not_my_trade=_voiced(raw, "not_my_trade", frozenset()),
        price_unknown=_voiced(raw, "price_unknown", frozenset()),
    )


FILE = "requests.toml"
PHRASES = load()
"""The bundled request phrases, loaded (and checked) at import."""


def phrases() -> Phrases:
    return PHRASES


@dataclass(frozen=True)
class Asked:
    """A request heard in the player's line."""

    kind: Kind
    key: str | None = None
    """The request's id in the persona that answers it (None for `nobody`)."""
    request: Request | None = None
    item: str | None = None
    """The item the player named, in the player's words ("sword", "nails"), if any."""
    listed: str | None = None
    """The same item as the persona lists it ("nail"): said after "a" ("a nail")."""
    who: Persona | None = None
    """For `referral`: the neighbour whose trade it is."""

    @property
    def note(self) -> str:
        """What the engine records in its notes for this answer."""
        if self.kind == "referral" and self.who is not None:
            return f"core:request:referral:{self.who.id}:{self.key}"
        if self.kind == "nobody":
            return "core:request:nobody"
        return f"core:request:{self.kind}:{self.key}"


@dataclass(frozen=True, order=True)
class _Found:
    at: int
    said: str
    """The words as the player said them ("nails")."""
    listed: str
    """The words as the persona lists them ("nail")."""


@dataclass(frozen=True)
class _Line:
    """The player's line as the matching sees it: its tokens and where each starts in
    `padded` (" " + tokens joined by spaces + " "), so a hit has one position however found."""

    tokens: Sequence[str]
    padded: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, tokens: Sequence[str]) -> _Line:
        starts, at = [], 0
        for tok in tokens:
            starts.append(at)
            at += len(tok) + 1
        return cls(tokens, " " + " ".join(tokens) + " ", tuple(starts))


class _Words:
    """One word list (a request's keywords, say), ready to find in a line: single words by
    every form, phrases by their last word's forms."""

    def __init__(self, words: Sequence[str], forms: Forms) -> None:
        self.single: dict[str, str] = {}
        self.multi: list[tuple[str, str]] = []
        vocabulary: set[str] = set()
        for word in words:
            parts = word.split()
            if not parts:
                continue
            last = forms(parts[-1])
            vocabulary |= last
            if len(parts) == 1:
                for form in last:
                    self.single.setdefault(form, word)
            else:
                head = " ".join(parts[:-1])
                self.multi.extend((f" {head} {form} ", word) for form in last)
        self.vocabulary = frozenset(vocabulary)
        """Every form a hit needs in the line (a phrase's by its last word)."""

    def find(self, line: _Line, *, besides: int = -1) -> _Found | None:
        """The earliest of the words in the line (whole words, plurals too), except at
        position `besides`."""
        best: _Found | None = None
        for at, tok in zip(line.starts, line.tokens, strict=True):
            listed = self.single.get(tok)
            if listed is not None and at != besides:
                best = _Found(at, tok, listed)
                break
        for phrase, listed in self.multi:
            at = line.padded.find(phrase)
            if at not in (-1, besides) and (best is None or at < best.at):
                best = _Found(at, phrase.strip(), listed)
        return best


@dataclass(frozen=True)
class _Indexed:
    key: str
    request: Request
    keywords: _Words
    items: _Words
    refuse: _Words
    things: _Words
    """Items and refused items together."""


@dataclass(frozen=True)
class _PersonaRequests:
    requests: tuple[_Indexed, ...]
    vocabulary: frozenset[str]
    """Every word form any of them matches on (a phrase by its last word): a line with none
    of these asks this persona for nothing, and is skipped at the cost of a set lookup."""


_CACHE: dict[int, tuple[Persona, _PersonaRequests]] = {}
_CACHE_MAX = 256


def _indexed(persona: Persona, forms: Forms) -> _PersonaRequests:
    """The persona's requests ready to match, cached by identity (personas are immutable)."""
    hit = _CACHE.get(id(persona))
    if hit is not None and hit[0] is persona:
        return hit[1]
    requests = tuple(
        _Indexed(
            key,
            r,
            _Words(r.keywords, forms),
            _Words(r.items, forms),
            _Words(r.refuse, forms),
            _Words([*r.items, *r.refuse], forms),
        )
        for key, r in persona.requests.items()
    )
    vocabulary = frozenset().union(*(w.vocabulary for r in requests for w in (r.keywords, r.things)))
    built = _PersonaRequests(requests, vocabulary)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(persona)] = (persona, built)
    return built


@dataclass(frozen=True)
class _Score:
    points: int
    key: str
    request: Request
    keyword: _Found | None
    item: _Found | None
    refused: bool


def _score(
    persona: Persona, line: _Line, forms: Forms, *, asking: bool, opening: bool = True, taken: int = -1
) -> _Score | None:
    """This persona's best request for the line, or None.

    A keyword asks when the line asks (a cue, or the keyword opens the line), or when an item
    comes with it ("My sword is chipped."); an item alone asks only in a request. `opening`:
    a keyword that opens the line asks; `taken`: a keyword at that position is another's."""
    indexed = _indexed(persona, forms)
    if indexed.vocabulary.isdisjoint(line.tokens):
        return None
    best: _Score | None = None
    weak = phrases().weak
    for r in indexed.requests:
        keyword = r.keywords.find(line, besides=taken)
        item = r.items.find(line)
        refused = r.refuse.find(line)
        opens = opening and keyword is not None and keyword.at == 0
        # A refused item wins over an accepted one: "the song about the duke" is still a no.
        named = refused or item
        if keyword is None and named is None:
            continue
        # "My sword is chipped": a complaint and a thing, two different words, ask unprompted.
        complaint = (
            keyword is not None
            and named is not None
            and (
                r.keywords.find(line, besides=named.at) is not None
                or r.things.find(line, besides=keyword.at) is not None
            )
        )
        if not (asking or opens or complaint):
            continue
        # A generic service verb ("sell", "make") says less about whose trade it is.
        points = (0 if keyword is None else 1 if keyword.listed in weak else 2) + (
            1 if named is not None and (keyword is None or named.at != keyword.at) else 0
        )
        if best is None or points > best.points:
            best = _Score(points, r.key, r.request, keyword, named, refused is not None)
    return best


def hear(
    text: str, tokens: Sequence[str], persona: Persona, neighbours: Sequence[Persona], forms: Forms
) -> Asked | None:
    """What the line asks for, if anything. `text` is the player's line (any case), `tokens`
    its words as the engine reads them, `neighbours` the other NPCs of the village."""
    data = phrases()
    # Most lines name nothing any request matches on: skip them before any regex runs.
    if all(_indexed(p, forms).vocabulary.isdisjoint(tokens) for p in (persona, *neighbours)) and (
        _service_verbs(forms).vocabulary.isdisjoint(tokens)
    ):
        return None
    lowered = fold(text)
    line = _Line.of(tokens)
    asking = any(cue.search(lowered) for cue in data.cues) and not data.not_requests.search(lowered)
    own = _score(persona, line, forms, asking=asking)
    # The words of the NPC's own keyword are its trade's, not a neighbour's: "broke" in "Someone
    # broke into my shed and took my tools" is the watch's "broke into", so the smith's "broke"
    # (and the tools) do not send a crime report to the forge.
    # A generic service verb ("sell") stays everyone's: "Do you sell horseshoes?" is the smith's.
    taken = -1
    if own is not None and own.keyword is not None and own.keyword.listed not in data.weak:
        taken = own.keyword.at
    # Unasked, only a complaint about a thing ("My horse threw a shoe.") is a neighbour's
    # business: a line that merely opens with their word ("Make yourself at home") is not.
    scored = [
        (s, n)
        for n in neighbours
        if n.id != persona.id
        if (s := _score(n, line, forms, asking=asking, opening=asking, taken=taken)) is not None
    ]
    best = max(scored, key=lambda sn: sn[0].points) if scored else None  # first of equals
    if best is not None and own is None and _own_thing(persona, best[0]):
        # "Will you teach me the lute?" to the bard: a thing the NPC talks of itself, named
        # without the neighbour's trade word, is no errand for the watch (whose reports list
        # a stolen lute).
        best = None
    # The NPC's own trade answers, unless a neighbour's fits better: more points, and a thing
    # named (or nothing named here either). "Do you sell potions?" to the smith (who sells
    # ironwork) is Sorrel's; "Any lullabies? My baby won't sleep." to the bard stays his.
    theirs = (
        own is not None
        and best is not None
        and best[0].points > own.points
        and (best[0].item is not None or own.item is None)
    )
    if own is not None and not theirs:
        return Asked("refused" if own.refused else "own", own.key, own.request, *_said(text, own.item))
    if best is not None:
        s, who = best
        return Asked("referral", s.key, s.request, *_said(text, s.item), who=who)
    if asking and _service_verbs(forms).find(line) is not None:
        return Asked("nobody")
    return None


def _own_thing(persona: Persona, found: _Score) -> bool:
    """Whether the neighbour's request was matched by an item alone that is one of the NPC's
    own topic keywords."""
    if found.keyword is not None or found.item is None:
        return False
    words = set(found.item.listed.lower().split())
    return any(words & {k.lower() for k in topic.keywords} for topic in persona.topics.values())


_VERBS: dict[int, _Words] = {}


def _service_verbs(forms: Forms) -> _Words:
    key = id(forms)
    if key not in _VERBS:
        _VERBS[key] = _Words(phrases().service_verbs, forms)
    return _VERBS[key]


def _said(text: str, found: _Found | None) -> tuple[str | None, str | None]:
    """The item as the player typed it (their capitals: "the Hollins"), and as listed."""
    if found is None:
        return None, None
    words = [re.escape(w) for w in found.said.split()]
    m = re.search(r"(?<!\w)" + r"[\W_]+".join(words) + r"(?!\w)", straight(text), re.IGNORECASE)
    return (m.group(0) if m else found.said), found.listed


_A_ITEM = re.compile(r"\b([Aa])n? \{item\}")


def fill_item(line: str, item: str, listed: str | None = None) -> str:
    """`{item}` filled in with the player's words; after "a" the item as listed, with the
    article it needs ("some nails" → "a nail", "an axe")."""
    one = listed or item
    article = "an" if one[:1].lower() in "aeiou" else "a"
    line = _A_ITEM.sub(lambda m: (article if m.group(1) == "a" else article.capitalize()) + " " + one, line)
    return line.replace("{item}", item)


def lines(asked: Asked, voice: str) -> list[str]:
    """The candidate answers (still holding `{player}` and `{name}`), best fit first: lines
    naming the item when the player named one, else the ones that do without it."""
    data = phrases()
    if asked.kind == "nobody" or asked.request is None:
        return _in_voice(data.not_my_trade, voice)
    request = asked.request
    if asked.kind == "referral":
        who = asked.who.name if asked.who is not None else ""
        return [b.replace("{who}", who).replace("{offer}", request.offer) for b in _in_voice(data.referral, voice)]
    return _for_item(request.refusals if asked.kind == "refused" else request.answers, asked)


def price_lines(asked: Asked, voice: str) -> list[str]:
    """What the NPC says asked the price of its own request `asked`: the request's `prices`
    (those naming the item first, when the player named one), else the voice's general
    "it will be fair"."""
    pool = asked.request.prices if asked.request is not None else []
    return _for_item(pool, asked) if pool else _in_voice(phrases().price_unknown, voice)


def _for_item(pool: Sequence[str], asked: Asked) -> list[str]:
    """The lines naming the item when the player named one (filled), else the ones that do
    without it, else any with "that" for the item."""
    if asked.item:
        with_item = [fill_item(line, asked.item, asked.listed) for line in pool if uses_item(line)]
        if with_item:
            return with_item
    plain = [line for line in pool if not uses_item(line)]
    return plain or [fill_item(line, asked.item or "that") for line in pool]


def _in_voice(table: Mapping[str, tuple[str, ...]], voice: str) -> list[str]:
    return list(table.get(voice, table["outgoing"]))


__all__ = ["PHRASES", "Asked", "Forms", "Phrases", "fill_item", "hear", "lines", "load", "phrases", "price_lines"]
