"""Sentence helpers: filling a phrase's placeholders, tidying a line, and the parts of one
reply (`Draft`) joined in speaking order within the preset's length budget.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sidecar.engine.data import read_toml, word_list

SAFE_TO_LOWER = frozenset(word_list(read_toml("words.toml"), "words.toml", "safe_to_lower"))
"""A sentence's first word that may be lowercased when a lead-in quirk is put before it."""
_PLACEHOLDER = re.compile(r"\{(player|name)\}")
_NAME_LIKE = re.compile(r"^[^\W\d_][^\W\d_'\- ]{1,23}$")


_ADDR = re.compile(r",?\s*\{addr\}")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:!?…])")
_COMMA_BEFORE_STOP = re.compile(r",+([.!?…])")
_STOP_AFTER_MARK = re.compile(r"([!?])\.+")
_STOP_AFTER_ELLIPSIS = re.compile(r"…\.+")
_DOTS = re.compile(r"\.{2,}")
_LEADING_MARKS = re.compile(r"^[,;:\s]+")
_SENTENCE_START = re.compile(r"([.!?]\s+)([a-z])")
# A stage direction that opens the line is no sentence of its own: what follows it starts one
# ("*rubs the back of his neck* Traveller. Hello.").
_AFTER_LEADING_ACTION = re.compile(r"^(\*[^*]+\*\s+)([a-z])")
_ENDS_WELL = re.compile(r"(?:[.!?…][\"'”’)\]»]*|\*)$")


def fill_template(template: str, addr: str = "", **values: str) -> str:
    if addr:
        values["addr"] = addr
    else:
        template = _ADDR.sub("", template)
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


@functools.lru_cache(maxsize=4096)
def clean(text: str) -> str:
    """One tidy line: single spaces, no space before punctuation, capitalised, ends with
    punctuation. Never returns an empty string for non-blank input. Cached: the option banks
    and the persona's lines are cleaned over and over."""
    t = text.replace("...", "…")
    t = _SPACES.sub(" ", t).strip()
    t = _SPACE_BEFORE_MARK.sub(r"\1", t)
    t = _COMMA_BEFORE_STOP.sub(r"\1", t)
    t = _STOP_AFTER_MARK.sub(r"\1", t)
    t = _STOP_AFTER_ELLIPSIS.sub("…", t)
    t = _DOTS.sub("…", t)
    t = _LEADING_MARKS.sub("", t)
    t = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), t)
    t = _AFTER_LEADING_ACTION.sub(lambda m: m.group(1) + m.group(2).upper(), t)
    for i, ch in enumerate(t):
        if ch.isalpha():
            if ch.islower() and (i == 0 or not t[:i].strip("\"'“‘(—-¡¿ ")):
                t = t[:i] + ch.upper() + t[i + 1:]
            break
    if t and not _ENDS_WELL.search(t):
        t = t.rstrip(",;:—- ") + "."
    return t


def limit_bangs(text: str, keep: int = 3) -> str:
    """No exclamation spam: after `keep` of them, "!" becomes "."."""
    if text.count("!") <= keep:
        return text
    out: list[str] = []
    seen = 0
    for ch in text:
        if ch == "!":
            seen += 1
            if seen > keep:
                ch = "" if out and out[-1] in "?.…" else "."
        out.append(ch)
    return "".join(out)


def end_with(sentence: str, mark: str) -> str:
    """Swap a sentence's final full stop for `mark` ("!" or "…"); other endings stay."""
    s = sentence.rstrip()
    if s.endswith(".") and not s.endswith("…"):
        return s[:-1] + mark
    return s


def render_persona_line(line: str, npc: str, player: str) -> str:
    return _PLACEHOLDER.sub(lambda m: player if m.group(1) == "player" else npc, line)


def name_like(player: str) -> bool:
    p = player.strip()
    return bool(_NAME_LIKE.match(p)) and p[0].isupper() and p.lower() not in {"player", "you"}




@dataclass
class Draft:
    """The parts of one reply, in speaking order."""

    news: str = ""
    """What the NPC says first of all: its reaction to the game's result of its last action
    ("Thank you for the coin."). It takes the place of a voice opener or lead-in quirk, so
    a hesitation is not stacked before or after it, and it is never dropped for length."""
    opener: str = ""
    reaction: str = ""
    ack: str = ""
    core: str = ""
    extras: list[str] = field(default_factory=list)
    aside: str = ""
    question: str = ""
    lead: str = ""
    """A standalone speech quirk said first."""
    tail: str = ""
    """A standalone quirk or catchphrase said last."""
    somber: bool = False
    """An answer to sad news: no bright or dry opener, no added exclamation."""
    punchline: bool = False
    """A joke told as written: no opener that answers the player's line ("A fair point.",
    "Marvellous."), no added exclamation; a shy hesitation still leads in."""
    max_chars: int = 10_000
    """The preset's length budget: optional parts are dropped until the line fits."""

    def _join(self) -> str:
        parts = [self.news, self.lead, self.opener, self.reaction, self.ack, self.core, *self.extras,
                 self.aside, self.question, self.tail]
        return limit_bangs(clean(" ".join(p for p in parts if p)))

    def text(self) -> str:
        text = self._join()
        while len(text) > self.max_chars:
            if self.tail:
                self.tail = ""
            elif self.lead:
                self.lead = ""
            elif self.question:
                self.question = ""
            elif self.aside:
                self.aside = ""
            elif self.extras:
                self.extras.pop()
            else:
                break  # the core (and the reaction to the player's tone) always stay
            text = self._join()
        return text


def word_count(parts: Sequence[str]) -> int:
    return sum(len(p.split()) for p in parts if p)


def join_items(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


__all__ = [
    "Draft",
    "SAFE_TO_LOWER",
    "clean",
    "end_with",
    "fill_template",
    "join_items",
    "limit_bangs",
    "name_like",
    "render_persona_line",
    "word_count",
]
