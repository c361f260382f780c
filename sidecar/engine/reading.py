"""Reading the player's line: who they say they are, what they like, what they ask, how
they take their leave — as one typed `Reading`.

Used by the embedded engine (what to answer), the goal rules (did the player apologise, ask a
favour, flirt) and, later, long-term memory (facts the player stated). Regexes, no model:
cheap enough to run on every line, wrong in the ways regexes are (see the tests for what is
and is not recognised). The patterns are data (sidecar/data/reading.toml, compiled once at
import into `Patterns`); this module is what is done with their matches. A persona cannot
extend them yet. Pure and deterministic; `read` caches by text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields, replace

from sidecar.engine.data import read_toml, word_list, word_map
from sidecar.engine.sentiment import Tone, tone
from sidecar.engine.text import straight, tokens
from sidecar.engine.text import words as text_words
from sidecar.engine.types import Sentiment
from sidecar.errors import ConfigError

MAX_PARSED_CHARS = 2_000
"""Only the start of a (huge) player line is read for names, likes and keywords."""


@dataclass(frozen=True)
class Patterns:
    """sidecar/data/reading.toml's [patterns], compiled: one per reading of the line."""

    name_explicit: re.Pattern[str]
    name_implicit: re.Pattern[str]
    like: re.Pattern[str]
    like_into: re.Pattern[str]
    object_stop: re.Pattern[str]
    goodbye: re.Pattern[str]
    not_goodbye: re.Pattern[str]
    asks_name: re.Pattern[str]
    asks_likes: re.Pattern[str]
    asks_memory: re.Pattern[str]
    asks_npc_name: re.Pattern[str]
    asks_joke: re.Pattern[str]
    laughs: re.Pattern[str]
    unamused: re.Pattern[str]
    applauds: re.Pattern[str]
    asks_price: re.Pattern[str]
    agrees: re.Pattern[str]
    not_agreeing: re.Pattern[str]
    declines: re.Pattern[str]
    more: re.Pattern[str]
    asks_self: re.Pattern[str]
    asks_work: re.Pattern[str]
    asks_opinion: re.Pattern[str]
    greeting: re.Pattern[str]
    thanks: re.Pattern[str]
    how: re.Pattern[str]
    sorry: re.Pattern[str]
    request: re.Pattern[str]
    flirt: re.Pattern[str]
    question_start: re.Pattern[str]
    addressed: re.Pattern[str]
    asking_start: re.Pattern[str]


FILE = "reading.toml"


def load_patterns(text: str | None = None) -> Patterns:
    """Read and compile sidecar/data/reading.toml (or `text` in its format, for tests): each
    pattern's pieces joined, `{{part}}` replaced by [parts], case-insensitive.

    Raises:
        ConfigError: a pattern or part is missing, unknown, not a list of strings, names an
            unknown part, or does not compile; the message names the file and the key.
    """
    raw = read_toml(FILE, text)
    try:
        parts = {k: _joined(v, f"parts.{k}") for k, v in raw["parts"].items()}
        table = raw["patterns"]
        wanted = {f.name for f in fields(Patterns)}
        unknown, missing = sorted(set(table) - wanted), sorted(wanted - set(table))
        if unknown or missing:
            raise ValueError(f"patterns: unknown {unknown}" if unknown else f"patterns: missing {missing}")
        compiled: dict[str, re.Pattern[str]] = {}
        for key in wanted:
            where = f"patterns.{key}"
            pattern = _PART.sub(functools.partial(_part, parts, where), _joined(table[key], where))
            try:
                compiled[key] = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"{where}: {exc}") from exc
        return Patterns(**compiled)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ConfigError(f"sidecar/data/{FILE}: {exc}") from exc


_PART = re.compile(r"\{\{(\w+)\}\}")


def _joined(pieces: object, where: str) -> str:
    if not isinstance(pieces, list) or not pieces or not all(isinstance(x, str) for x in pieces):
        raise ValueError(f"{where}: must be a non-empty list of strings")
    return "".join(pieces)


def _part(parts: dict[str, str], where: str, found: re.Match[str]) -> str:
    name = found.group(1)
    if name not in parts:
        raise ValueError(f"{where}: unknown part {{{{{name}}}}}")
    return parts[name]


_P = load_patterns()
"""The bundled patterns, compiled (and checked) at import."""
_WORDS = read_toml("words.toml")
_NOT_NAMES = frozenset(word_list(_WORDS, "words.toml", "not_names"))
"""After "I'm" / "I am": not a name ("I'm tired")."""
_OBJECT_BAD_START = frozenset(word_list(_WORDS, "words.toml", "object_bad_start"))
_SWAP = word_map(_WORDS, "words.toml", "swap")
"""First person to second ("my dog" → "your dog")."""
_POSITIVE_VERBS = frozenset(word_list(_WORDS, "words.toml", "positive_verbs"))


@dataclass(frozen=True)
class Reading:
    """What one player line says, as far as the rules can tell without a model."""

    tokens: tuple[str, ...]
    """The line's words for topic matching (`text.tokens`), with the verb of a like or dislike
    left out: "I love fishing" is about fishing, not about love."""
    name: str | None
    """A name the player gave themself ("I'm Ana", "call me Wren"), capitalised."""
    likes: tuple[tuple[str, str], ...]
    """(verb, object) in second person, e.g. ("love", "your dog")."""
    dislikes: tuple[tuple[str, str], ...]
    """(verb, object): verb is `hate`, `don't like` or `can't stand`."""
    goodbye: bool
    asks_name: bool
    """Asks the NPC for the player's own name ("What's my name?")."""
    asks_likes: bool
    """Asks what the player said they like ("What do I like?")."""
    asks_npc_name: bool
    asks_self: bool
    """Asks about the NPC: their work, life, news ("Tell me about yourself")."""
    asks_opinion: bool
    greeting: bool
    thanks: bool
    how: bool
    """Asks how the NPC is ("How are you?")."""
    sorry: bool
    """Apologises ("sorry", "forgive me", "my fault", "I was wrong")."""
    question: bool
    affection: bool
    """The player said they like/love the NPC ("I like you")."""
    addressed: bool
    """The line speaks to the NPC ("you", "your", or thanks)."""
    requests: bool = False
    """Asks the NPC for something ("please", "could you", "help", "a favour")."""
    flirts: bool = False
    """Compliments the NPC's looks or asks them out."""
    asks_only: bool = False
    """Every sentence is a question ("Could you tell me about your lovely garden?"): kind
    words in it are politeness, not a compliment to answer."""
    asks_memory: bool = False
    """Asks what the NPC remembers of the player ("Do you remember me?", "What did I promise?")."""
    asks_joke: bool = False
    """Asks the NPC for a joke, a riddle or something funny ("Tell me a joke.", "Make me laugh.")."""
    asks_price: bool = False
    """Asks what something costs ("How much for a room?"): a persona rule with a `quote`
    names its price instead of deciding the action."""
    declines: bool = False
    """Says no to what the NPC just offered ("No thanks.", "Not today.", "Maybe later.")."""
    applauds: bool = False
    """The whole line praises what the NPC just did ("That was beautiful.", "Bravo!")."""
    asks_work: bool = False
    """Offers to work for the NPC ("Do you have any work for me?", "Can I help with
    anything?"): a persona rule with `offer` lines proposes its errand."""
    agrees: bool = False
    """Says yes to what the NPC just offered ("Yes, I'll take it.", "Deal!"), without a "but"."""
    laughs: bool = False
    """Laughs or praises a joke ("Haha, good one!"); the NPC hears it so only after one."""
    unamused: bool = False
    """A joke fell flat ("That wasn't funny.", "Terrible joke."); wins over `laughs`."""
    more: bool = False
    """The whole line asks for the same again ("Another one!", "One more, please."): another
    joke when the NPC's last line was one."""
    tone: Tone = "neutral"
    """How the line treats the listener. Today VADER's friendly/rude/neutral (`sentiment.tone`),
    filled when `read` is given the line's sentiment; the stance-vs-valence reading
    (sidecar/engine/tone.py) takes this slot."""

    @functools.cached_property
    def intents(self) -> frozenset[str]:
        """The names of the flags that are set (for notes and logs)."""
        flags = {
            "goodbye": self.goodbye, "asks_name": self.asks_name, "asks_likes": self.asks_likes,
            "asks_npc_name": self.asks_npc_name, "asks_self": self.asks_self,
            "asks_opinion": self.asks_opinion, "greeting": self.greeting, "thanks": self.thanks,
            "how": self.how, "sorry": self.sorry, "question": self.question,
            "affection": self.affection, "addressed": self.addressed, "requests": self.requests,
            "flirts": self.flirts, "asks_only": self.asks_only, "asks_memory": self.asks_memory,
            "asks_joke": self.asks_joke, "more": self.more, "laughs": self.laughs,
            "unamused": self.unamused, "asks_price": self.asks_price, "agrees": self.agrees,
            "asks_work": self.asks_work, "applauds": self.applauds, "declines": self.declines,
        }
        return frozenset(k for k, v in flags.items() if v)


def _clean_object(raw: str) -> str | None:
    text = _P.object_stop.sub("", raw.strip().lower())
    words = text_words(text)[:6]
    if not words or words[0] in _OBJECT_BAD_START:
        return None
    words = [_SWAP.get(w, w) for w in words]
    obj = " ".join(words)
    return obj if 1 <= len(obj) <= 60 else None


def _valid_name(raw: str, *, implicit: bool) -> str | None:
    if not 2 <= len(raw) <= 24 or raw.lower() in _NOT_NAMES:
        return None
    if implicit and not raw[0].isupper():
        return None
    return raw[0].upper() + raw[1:]


def read(text: str, sentiment: Sentiment | None = None) -> Reading:
    """Read one player line. Never raises for any str; only the first `MAX_PARSED_CHARS`
    characters are read. `sentiment` (VADER's, if the caller has it) fills `tone`."""
    lexical = _read(text)
    return replace(lexical, tone=tone(sentiment)) if sentiment is not None else lexical


@functools.lru_cache(maxsize=2048)
def _read(text: str) -> Reading:
    # The same line is read by the reply, the options and the goal rules of one turn.
    text = straight(text[:MAX_PARSED_CHARS])
    name = None
    for m in _P.name_explicit.finditer(text):
        name = _valid_name(m.group(1), implicit=False) or name
    if name is None:
        for m in _P.name_implicit.finditer(text):
            name = _valid_name(m.group(1), implicit=True) or name
            if name:
                break
    likes: list[tuple[str, str]] = []
    dislikes: list[tuple[str, str]] = []
    affection = False
    for m in _P.like.finditer(text):
        verb = re.sub(r"\s+", " ", m.group(1).lower())
        raw = m.group(2)
        if re.match(r"\s*you\b", raw, re.IGNORECASE) and verb in _POSITIVE_VERBS:
            affection = True
        obj = _clean_object(raw)
        if obj is None:
            continue
        if verb in _POSITIVE_VERBS:
            likes.append((verb, obj))
        else:
            dislikes.append(("hate" if verb in {"hate", "detest", "loathe", "despise"}
                             else "don't like" if "like" in verb or "enjoy" in verb
                             else "can't stand", obj))
    for m in _P.like_into.finditer(text):
        obj = _clean_object(m.group(1))
        if obj is not None:
            likes.append(("like", obj))
    goodbye = bool(_P.goodbye.search(text)) and not _P.not_goodbye.search(text)
    stripped = text.strip()
    unamused = bool(_P.unamused.search(text))
    # "I love fishing" is about fishing, not about love: the verb is no topic keyword.
    topical = _P.like.sub(lambda m: " " + m.group(2), text) if likes or dislikes else text
    return Reading(
        tokens=tuple(tokens(topical)),
        name=name,
        likes=tuple(likes),
        dislikes=tuple(dislikes),
        goodbye=goodbye,
        asks_name=bool(_P.asks_name.search(text)),
        asks_likes=bool(_P.asks_likes.search(text)),
        asks_npc_name=bool(_P.asks_npc_name.search(text)),
        asks_self=bool(_P.asks_self.search(text)),
        asks_opinion=bool(_P.asks_opinion.search(text)),
        greeting=bool(_P.greeting.search(text)),
        thanks=bool(_P.thanks.search(text)),
        how=bool(_P.how.search(text)),
        sorry=bool(_P.sorry.search(text)),
        question="?" in stripped or bool(_P.question_start.search(stripped)),
        affection=affection,
        addressed=bool(_P.addressed.search(text)),
        requests=bool(_P.request.search(text)),
        flirts=bool(_P.flirt.search(text)),
        asks_only=_asks_only(stripped),
        asks_memory=bool(_P.asks_memory.search(text)),
        asks_joke=bool(_P.asks_joke.search(text)),
        more=bool(_P.more.match(stripped)),
        asks_price=bool(_P.asks_price.search(text)),
        asks_work=bool(_P.asks_work.search(text)),
        applauds=bool(_P.applauds.match(stripped)),
        declines=bool(_P.declines.match(stripped)) and not _P.agrees.match(stripped),
        agrees=bool(_P.agrees.match(stripped)) and not _P.not_agreeing.search(stripped),
        laughs=not unamused and bool(_P.laughs.search(text)),
        unamused=unamused,
    )


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+")


def _asks_only(text: str) -> bool:
    sentences = [s for s in _SENTENCE_END.split(text) if any(ch.isalnum() for ch in s)]
    return bool(sentences) and all(
        s.rstrip().endswith("?") or bool(_P.question_start.search(s) or _P.asking_start.search(s))
        for s in sentences
    )


__all__ = ["MAX_PARSED_CHARS", "Reading", "read"]
