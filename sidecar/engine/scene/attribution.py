"""Nobody speaks for anyone else (issue 14 §4): lines a speaker wrote for others, cut out.

An LLM asked to voice one NPC of a scene often writes the others' lines too:

    Ansel, you heard her. Goldie: Oh, Ansel, don't be so gloomy! Rook: I'll sing to that.

`split_foreign` finds the script-style labels ("Goldie:", "**Rook:**", "[Captain Vane]:",
"Goldie (laughing):") at the start of a line or after a sentence's end, and splits the text
at them: what precedes the first label, and what follows the speaker's own labels, is the
speaker's; what follows a label of another present NPC, or of the player (its name, or
"Player", "User", "You"), is that one's, and the director lets it speak for itself in its own
turn. What this misses (narrated speech, '"Oh!" Goldie says.') is scored by the quality rule
`voices_other` (sidecar/engine/quality.py), so the gate asks again.

With a provider, the stream cleaner (llm/prompt.py) already cuts a reply at the first foreign
label, so the player never sees those lines; in a scene the routed source keeps the reply as it
came (`Recorder`) and puts what `split_foreign` finds in it on the line's
`Generated.meta[VOICED]`, for the director.

Pure; never raises for any text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sidecar.engine.types import PLAYER

GENERIC_PLAYER_LABELS = ("Player", "User", "You")
"""Labels that stand for the player whatever its name."""
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"


@dataclass(frozen=True)
class Split:
    own: str
    """The speaker's own words, labels removed (may be empty: it only voiced others)."""
    foreign: tuple[tuple[str, str], ...] = ()
    """(persona id or `PLAYER`, text) for each line written for someone else, in order."""

    @property
    def voiced(self) -> tuple[str, ...]:
        """Who the speaker wrote lines for, each once, in order of their first line."""
        return tuple(dict.fromkeys(who for who, _ in self.foreign))


@functools.lru_cache(maxsize=256)
def _labels(names: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """A pattern for `Name:` labels of any of `names` ((owner, name) pairs) and the owner of
    each casefolded name. Longest names first, so "Captain Vane" wins over "Captain"."""
    owners: dict[str, str] = {}
    for owner, name in names:
        key = " ".join(name.split()).casefold()
        if key:
            owners.setdefault(key, owner)
    if not owners:
        return None
    alts = "|".join(
        r"\s+".join(re.escape(w) for w in n.split()) for n in sorted(owners, key=lambda n: (-len(n), n))
    )
    pattern = re.compile(
        r"(?:^|(?<=[\r\n])|(?<=[.!?\u2026\"\u201d)*]))[ \t]*"  # a line start, or after a sentence
        r"[*_\[(\"\u201c]*[ \t]*"  # **Name:**, [Name]:, "Name":
        rf"(?P<who>{alts})(?!\w)"
        r"[*_\])\"\u201d]*[ \t]*(?:\([^()\n]{0,40}\))?"  # Goldie (laughing):, [Goldie] (sternly):
        r"[ \t]*[*_\])\"\u201d]*[ \t]*:",
        re.IGNORECASE,
    )
    return pattern, owners


def _owner_pairs(speaker: Sequence[str], others: Mapping[str, Sequence[str]]) -> tuple[tuple[str, str], ...]:
    own = tuple(("", n) for n in speaker)  # the speaker's names first: they win a clash
    rest = tuple((who, n) for who, names in others.items() for n in names)
    if PLAYER in others:
        rest += tuple((PLAYER, n) for n in GENERIC_PLAYER_LABELS)
    return own + rest


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    text = text.strip(" *_")
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def split_foreign(text: str, speaker: Sequence[str], others: Mapping[str, Sequence[str]]) -> Split:
    """Split `text` (a line written for the NPC called `speaker`: its name and aliases) into
    the speaker's words and the lines it wrote under `others`' labels (persona id or `PLAYER`
    → names; with `PLAYER` among them, "Player:", "User:" and "You:" are the player's too).

    Only labels count: naming someone in a sentence ("Goldie, you're wrong.") is addressing
    them, not speaking for them."""
    found = _labels(_owner_pairs(tuple(speaker), {k: tuple(v) for k, v in others.items()}))
    if found is None:
        return Split(_tidy(text))
    pattern, owners = found
    own: list[str] = []
    foreign: list[tuple[str, str]] = []

    def keep(who: str, segment: str) -> None:
        if segment and not who:
            own.append(segment)
        elif segment:
            foreign.append((who, segment))

    who, start = "", 0
    for m in pattern.finditer(text):
        keep(who, _tidy(text[start : m.start()]))
        who = owners[" ".join(m.group("who").split()).casefold()]
        start = m.end()
    keep(who, _tidy(text[start:]))
    return Split(" ".join(own), tuple(foreign))


VOICED = "voiced"
"""`Generated.meta` key of a provider's scene line: [[persona id or `PLAYER`, text], ...], the
lines the provider wrote for others (the stream cleaner cut them; the director lets each of
them speak for itself). Absent when nothing was written for anyone else."""


class Recorder:
    """A `TextFilter` (llm/router.py) that passes a reply through `inner` (the stream cleaner)
    and keeps what came in (`raw`), so the lines the cleaner cut can be attributed after."""

    def __init__(self, inner: TextFilter) -> None:
        self._inner = inner
        self._raw: list[str] = []

    @property
    def raw(self) -> str:
        return "".join(self._raw)

    def feed(self, chunk: str) -> str:
        self._raw.append(chunk)
        return self._inner.feed(chunk)

    def finish(self) -> str:
        return self._inner.finish()


class TextFilter(Protocol):
    def feed(self, chunk: str) -> str: ...

    def finish(self) -> str: ...


__all__ = ["GENERIC_PLAYER_LABELS", "VOICED", "Recorder", "Split", "TextFilter", "split_foreign"]
