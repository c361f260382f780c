"""Rolling summaries: the oldest lines of a long conversation, folded into a short text.

A summary covers a range of stored lines (`from_seq`..`to_seq`) for one persona; each new
one folds the previous summary and the next lines into one text (so it rolls forward and
stays about `max_tokens` long). Two summarisers:

- `extractive`: no model. It keeps whole sentences of the folded lines, chosen by how much
  they say (names, numbers, content words), within the token budget, in their order;
  the sentences that hold a fact to keep are always kept, and placed last, so a prompt that
  has to trim the summary from its start trims them last.
- `RoutedSummariser` (engine/routed_summary.py): asks the provider chain (a side request, `purpose = "summary"`) and
  falls back to `extractive` on any failure, an empty answer, or when no provider is ready.

A summary never drops a fact a memory holds: the facts covering the folded range are given
to the summariser, and the result is checked for each (`holds`: every key word of the fact
is in the summary; sidecar/data/summary.toml lists the words that are not key). A fact the
text lost is appended as a sentence of its own. Until long-term memory lands, the facts are
what the line-reading module finds in the player's lines (`reading_facts`: the name they
gave, what they like and dislike).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from sidecar.engine import reading
from sidecar.engine.data import read_toml, word_list
from sidecar.engine.text import sentences, tokens
from sidecar.engine.tokens import ESTIMATE, TokenCounter
from sidecar.engine.types import PLAYER, Line

log = logging.getLogger(__name__)

Method = Literal["llm", "extractive"]

_DATA = read_toml("summary.toml")
_NOT_KEY = frozenset(word_list(_DATA, "summary.toml", "not_key"))
_WEIGHTY = tuple(word_list(_DATA, "summary.toml", "weighty"))
WEIGHTY_SCORE = 4
_CAPITAL = re.compile(r"(?<=\s)[A-Z][a-z]+")
_DIGIT = re.compile(r"\d")


class LineRow(Protocol):
    """A stored line as the summariser reads it (`store.db.MessageRow` fits)."""

    @property
    def seq(self) -> int: ...

    @property
    def speaker(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Fact:
    """Something a memory holds, and the line it came from."""

    text: str
    seq: int


@dataclass(frozen=True)
class Folded:
    """A summariser's result."""

    text: str
    method: Method


@functools.lru_cache(maxsize=4096)
def key_words(text: str) -> frozenset[str]:
    """The words a summary must contain to hold `text` as a fact (cached: a conversation's
    memories are the facts of every fold)."""
    return frozenset(w for w in tokens(text) if len(w) >= 3 and w not in _NOT_KEY)


def holds(summary: str, fact: str) -> bool:
    """Whether `summary` still says `fact`: every key word of the fact is in it. A fact
    with no key word (all generic words) is held by anything."""
    return key_words(fact) <= frozenset(tokens(summary))


def missing(summary: str, facts: Sequence[str], said: frozenset[str] | None = None) -> list[str]:
    """The facts `summary` does not hold (`holds`), each once. `said`: the summary's
    `tokens` when the caller has them already."""
    if said is None:
        said = frozenset(tokens(summary))
    return [f for f in dict.fromkeys(facts) if not key_words(f) <= said]


def with_facts(summary: str, facts: Sequence[str], said: frozenset[str] | None = None) -> str:
    """`summary` with every fact it does not hold appended, one sentence each (`said` as
    for `missing`)."""
    lost = missing(summary, facts, said)
    if not lost:
        return summary
    tail = " ".join(_sentence(f) for f in lost)
    return f"{summary} {tail}".strip()


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1:] in ".!?\u2026" else text + "."


def reading_facts(rows: Sequence[LineRow]) -> list[Fact]:
    """The facts the line-reading module finds in the player's lines of `rows`: the name
    they gave, what they like and what they dislike (`pipeline.context.MemoryFacts` adds
    them after the speaker's memories: facts no memory took)."""
    found: list[Fact] = []
    for row in rows:
        if row.speaker != PLAYER:
            continue
        read = reading.read(row.text)
        if read.name:
            found.append(Fact(f"The player's name is {read.name}.", row.seq))
        for verb, obj in (*read.likes, *read.dislikes):
            found.append(Fact(f"The player said: I {verb} {obj}.", row.seq))
    return found


def transcript(rows: Sequence[LineRow]) -> list[str]:
    """`rows` as "Name: text" lines (a player line under the player's stored name)."""
    return [f"{r.name}: {' '.join(r.text.split())}" for r in rows]


@functools.lru_cache(maxsize=4096)
def _said(sentence: str) -> frozenset[str]:
    return frozenset(tokens(sentence))


@functools.lru_cache(maxsize=4096)
def _score(sentence: str) -> float:
    """How much a sentence says (cached: a rolling summary's sentences are scored again at
    every fold)."""
    said = tokens(sentence)
    content = [w for w in said if len(w) >= 4 and w not in _NOT_KEY]
    weighty = sum(1 for w in said if w.startswith(_WEIGHTY))
    return (
        len(content)
        + 2 * len(_CAPITAL.findall(" " + sentence))
        + len(_DIGIT.findall(sentence))
        + WEIGHTY_SCORE * weighty
    )


def extractive(
    previous: str,
    rows: Sequence[LineRow],
    facts: Sequence[str],
    max_tokens: int,
    counter: TokenCounter = ESTIMATE,
) -> Folded:
    """The previous summary and `rows` folded by picking whole sentences, within about
    `max_tokens` (more only when the facts to keep need it: they are never cut)."""
    # (label, sentence): a fact is looked for in the sentence only, since the player's
    # stored name as a label would otherwise "hold" their name fact everywhere.
    candidates: list[tuple[str, str]] = [("", s) for s in sentences(previous)]
    for row in rows:
        candidates.extend((f"{row.name}: ", s) for s in sentences(" ".join(row.text.split())))
    candidates = list(dict.fromkeys(candidates))
    text = [label + s for label, s in candidates]
    said = [_said(s) for _, s in candidates]
    keep: list[int] = []
    for key in (key_words(f) for f in dict.fromkeys(facts)):
        first = next((i for i, words in enumerate(said) if key and key <= words), None)
        if first is not None and first not in keep:
            keep.append(first)
    keep.sort()
    chosen = set(keep)
    used = sum(counter.count(text[i]) + 1 for i in keep)
    ranked = sorted((i for i in range(len(text)) if i not in chosen), key=lambda i: (-_score(text[i]), -i))
    for i in ranked:
        cost = counter.count(text[i]) + 1
        if used + cost > max_tokens:
            continue
        chosen.add(i)
        used += cost
    story = [text[i] for i in sorted(chosen) if i not in keep]
    kept = [text[i] for i in keep]
    # The summary's words are its sentences' and labels' words (no word spans the spaces
    # that join them): the union of what was read already, not a second read of the text.
    told = frozenset().union(*(said[i] | _said(candidates[i][0]) for i in chosen))
    return Folded(with_facts(" ".join(story + kept), facts, told), "extractive")


@dataclass(frozen=True)
class Fold:
    """What a summariser is asked to fold."""

    previous: str
    """The summary in force ("" before the first fold)."""
    rows: Sequence[LineRow]
    """The lines to fold, oldest first."""
    facts: Sequence[str]
    """What the result must still say (memories covering the whole range)."""
    max_tokens: int
    counter: TokenCounter = ESTIMATE
    persona: str = ""
    conversation: str = ""


class Summariser(Protocol):
    async def fold(self, job: Fold) -> Folded:
        """The new summary of the previous one and the rows; never raises except
        `CancelledError` (a failure gives the extractive summary)."""
        ...


class Extractive:
    """The embedded engine's summariser (no model)."""

    async def fold(self, job: Fold) -> Folded:
        return extractive(job.previous, job.rows, job.facts, job.max_tokens, job.counter)


@dataclass(frozen=True)
class SummaryView:
    """What a turn's prompt gets from the context step (`TurnInput.summary`): the summary in
    force and the recent lines after the range it covers."""

    text: str
    from_seq: int
    to_seq: int
    recent: tuple[Line, ...]
    """The lines after `to_seq` that the persona heard, oldest first (the prompt's history)."""


__all__ = [
    "Extractive",
    "Fact",
    "Fold",
    "Folded",
    "LineRow",
    "Method",
    "Summariser",
    "SummaryView",
    "extractive",
    "holds",
    "key_words",
    "missing",
    "reading_facts",
    "transcript",
    "with_facts",
]
